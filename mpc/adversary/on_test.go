//go:build cohort_adversary

package adversary

import (
	"context"
	"fmt"
	"testing"

	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/jobs"
)

// TestTaggedParsesEnv: with the tag, EnvVar selects the deviations; an
// unknown or doubled one fails the node's start.
func TestTaggedParsesEnv(t *testing.T) {
	if !Built {
		t.Fatal("Built is false in a tagged build")
	}
	t.Setenv(EnvVar, "")
	if a, err := FromEnv(); a != nil || err != nil {
		t.Fatalf("empty %s: %v, %v", EnvVar, a, err)
	}
	for v, want := range map[string]cheat.Plan{
		"ss-mul-offset":                     {MulOffset: true, Offset: 1},
		"ss-flip-bit":                       {MulOffset: true, MulOp: "lt", Offset: 1},
		"ss-bad-bit":                        {BadBit: true},
		"ss-shift-open, he-keyswitch-shift": {ShiftOpen: true, ShiftTo: -1, ShiftLabel: jobs.LabelAuctionCommitment},
	} {
		t.Setenv(EnvVar, v)
		a, err := FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		p := cheat.From(a.Context(context.Background()))
		// Plan holds a callback (OnDeviate), so compare its printed fields.
		if p == nil || fmt.Sprintf("%+v", *p) != fmt.Sprintf("%+v", want) {
			t.Fatalf("%s: plan %+v, want %+v", v, p, want)
		}
	}
	a, err := Parse("he-keyswitch-random")
	if err != nil || a.he == nil || a.ss != nil {
		t.Fatalf("he-keyswitch-random: %+v, %v", a, err)
	}
	for _, bad := range []string{"bogus", "ss-mul-offset,ss-shift-open", "he-keyswitch-shift,he-keyswitch-random"} {
		if _, err := Parse(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
