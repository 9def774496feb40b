package jobrun

import (
	"errors"
	"testing"

	"github.com/cohortnet/cohort/mpc/transport"
)

// TestCheckReformBound: a member follows a re-form only if it leaves out
// every member left out before plus at least one more, keeps more than t
// members and stays within maxReforms(n, t); a re-form leaving this member
// out ends its part of the job with ErrExcluded, naming nobody (node/sched
// posts nothing for it).
func TestCheckReformBound(t *testing.T) {
	ids := func(xs ...int) []transport.PartyID {
		var out []transport.PartyID
		for _, x := range xs {
			out = append(out, transport.PartyID(x))
		}
		return out
	}
	committee := []string{"n0", "n1", "n2", "n3", "n4"}
	for _, tc := range []struct {
		name       string
		n, t       int
		epoch      int
		prev, next []transport.PartyID
		kind       FaultKind // "" = accepted, "excluded" = ErrExcluded
	}{
		{"4-of-2 drops one", 4, 2, 0, nil, ids(3), ""},
		{"4-of-2 would keep t", 4, 2, 0, nil, ids(2, 3), FaultRecipient},
		{"4-of-2 second re-form", 4, 2, 1, ids(3), ids(2, 3), FaultRecipient},
		{"4-of-3 none", 4, 3, 0, nil, ids(3), FaultRecipient},
		{"5-of-2 twice", 5, 2, 1, ids(4), ids(3, 4), ""},
		{"5-of-2 no new member", 5, 2, 1, ids(4), ids(4), FaultRecipient},
		{"5-of-2 takes one back", 5, 2, 1, ids(4), ids(2, 3), FaultRecipient},
		{"excludes me", 4, 2, 0, nil, ids(0), "excluded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &Spec{ID: "j", Committee: committee[:tc.n], Threshold: tc.t, Recipient: "r"}
			err := checkReform(spec, 0, tc.epoch, tc.prev, tc.next)
			var fe *FaultError
			switch {
			case tc.kind == "excluded":
				if !errors.Is(err, ErrExcluded) || errors.As(err, &fe) {
					t.Fatalf("want ErrExcluded and no fault, got %v", err)
				}
			case tc.kind == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.kind != "" && (!errors.As(err, &fe) || fe.Kind != tc.kind):
				t.Fatalf("want a %s fault, got %v", tc.kind, err)
			}
		})
	}
}
