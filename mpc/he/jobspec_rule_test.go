package he_test

import (
	"testing"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// TestHESetupCheckedRuleMatchesShareCheck: the ledger and the nodes decide
// which committees may run HE jobs with jobspec.HESetupChecked (jobspec may
// not import mpc/he: the ledger imports it); it must be exactly the condition under which
// the setup runs the share checks, ShareCheckRuns, for every committee size
// the limits allow and every threshold (in range or not).
func TestHESetupCheckedRuleMatchesShareCheck(t *testing.T) {
	for n := 0; n <= jobspec.MaxCommittee+1; n++ {
		for th := -1; th <= n+1; th++ {
			if got, want := jobspec.HESetupChecked(n, th), he.ShareCheckRuns(n, th); got != want {
				t.Errorf("%d-of-%d: jobspec.HESetupChecked %v, he.ShareCheckRuns %v", th, n, got, want)
			}
		}
		if m := jobspec.MaxHEThreshold(n); m > 0 && (!he.ShareCheckRuns(n, m) || he.ShareCheckRuns(n, m+1)) {
			t.Errorf("n = %d: MaxHEThreshold %d is not the share check's bound", n, m)
		}
	}
}
