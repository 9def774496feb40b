//go:build !cohort_adversary

package adversary

import (
	"context"
	"testing"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
)

// TestUntaggedIgnoresEnv: without the cohort_adversary tag, EnvVar has no
// effect: FromEnv returns an honest (nil) adversary for every deviation
// name, whose Context and HE change nothing.
func TestUntaggedIgnoresEnv(t *testing.T) {
	if Built {
		t.Fatal("Built is true in an untagged build")
	}
	for _, v := range []string{"ss-mul-offset", "ss-shift-open,he-keyswitch-shift", "he-keyswitch-random", "bogus"} {
		t.Setenv(EnvVar, v)
		a, err := FromEnv()
		if err != nil || a != nil {
			t.Fatalf("%s=%s: FromEnv = %v, %v; want nil, nil", EnvVar, v, a, err)
		}
		ctx := context.Background()
		if got := a.Context(ctx); got != ctx || cheat.From(got) != nil {
			t.Fatalf("%s=%s: Context changed the context", EnvVar, v)
		}
		m := new(he.Member)
		if a.HE(m) != m {
			t.Fatalf("%s=%s: HE changed the keys", EnvVar, v)
		}
	}
}
