package jobrun_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/he"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
)

// withDeviant returns a copy of the cluster whose member index dev sends
// wrong key-switching shares (the shared keys are not modified).
func withDeviant(c *Cluster, dev int, d he.Deviation) *Cluster {
	keys := slices.Clone(c.Keys)
	keys[dev] = &CommitteeKeys{HE: he.Deviant(c.Keys[dev].HE, d), BLS: c.Keys[dev].BLS}
	return &Cluster{Preset: c.Preset, Members: c.Members, Keys: keys, Record: c.Record, Network: c.Network}
}

// wantUnnamedBadOutput checks that err is a bad-output fault naming nobody.
func wantUnnamedBadOutput(t *testing.T, who string, err error) {
	t.Helper()
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Kind != FaultBadOutput || len(fe.Parties) != 0 {
		t.Fatalf("%s: want a bad-output fault naming nobody, got %v", who, err)
	}
}

// TestHEDeviantKeySwitchAborts: member n1 sends wrong key-switching shares
// (CKKS: every score shifted by 0.01; BGV: a random polynomial). All four
// members are online (t = 2), so the family's two disjoint 2-subsets' key
// switches reach the recipient, which finds them inconsistent and rejects
// them before anyone signs: every member aborts with bad-output, no outcome
// carries a signature, the recipient returns no result. With two subsets
// any single member explains the disagreement (each is left out of one
// subset), so the deviant cannot be identified and nobody is named.
func TestHEDeviantKeySwitchAborts(t *testing.T) {
	c := testCluster24(t)
	for _, tc := range []struct {
		typ Type
		dev he.Deviation
	}{
		{CreditScore, he.Deviation{Shift: uint64(0.01 * c.Preset.OutputScale().Float64())}},
		{Aggregate, he.Deviation{Random: true}},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			spec, inputs, _, err := SampleJob(tc.typ, sizeFor(tc.typ), c.Members, rand.New(rand.NewPCG(10, 10)))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := withDeviant(c, 1, tc.dev).Run(ctx, spec, inputs, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range c.Members {
				wantUnnamedBadOutput(t, "member "+m, rep.MemberErrs[m])
				// Review M2: the reason names who rejected it, as text only.
				if want := "rejected by recipient " + spec.Recipient + "; unverifiable"; !strings.Contains(rep.MemberErrs[m].Error(), want) {
					t.Fatalf("member %s: reason %q does not say %q", m, rep.MemberErrs[m], want)
				}
				if out := rep.Outcomes[m]; out != nil && out.Signature != nil {
					t.Fatalf("member %s signed a rejected result", m)
				}
			}
			wantUnnamedBadOutput(t, "recipient", rep.RecipientErr)
			if !errors.Is(rep.RecipientErr, he.ErrKeySwitchMismatch) {
				t.Fatalf("recipient: want he.ErrKeySwitchMismatch, got %v", rep.RecipientErr)
			}
			if rep.Result != nil {
				t.Fatal("the recipient accepted a result")
			}
			t.Logf("recipient: %v", rep.RecipientErr)
		})
	}
}

// TestHEDeviantKeySwitchExactlyT: with exactly t members online there is
// one key-switching subset and nothing to compare, so a deviant in it would
// make the recipient accept a wrong aggregate. Review M1: one deviant can
// force that case (withholding its hello from some members), so with n > t
// the recipient rejects a single-subset result: nothing is signed.
func TestHEDeviantKeySwitchExactlyT(t *testing.T) {
	c := testCluster24(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	spec, inputs, _ := heSpecWithOutsideProviders(t, c, "deviant-exactly-t")
	rep, err := withDeviant(c, 1, he.Deviation{Random: true}).Run(ctx, spec, inputs, RunOptions{Offline: []string{"n2", "n3"}, StepTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Result != nil || !errors.Is(rep.RecipientErr, he.ErrSingleSubset) {
		t.Fatalf("recipient: want he.ErrSingleSubset and no result, got %v (result %+v)", rep.RecipientErr, rep.Result)
	}
	for _, m := range c.Members {
		if out := rep.Outcomes[m]; out != nil && out.Signature != nil {
			t.Fatalf("member %s signed a single-subset result", m)
		}
	}
}

// TestHEJobRefusedOnUncheckedKeyRecord: defence in depth behind the
// ledger's rule (jobspec.CheckHECommittee). Members whose HE key record
// says the setup did not check the key shares — here a 2-of-4 committee's
// records as a node that set it up before the share check existed wrote
// them (CHK1, which loads as unchecked) — refuse the HE job at once with
// ErrHESetupUnchecked: no key switch is made, nothing is signed, the
// recipient gets no result, and the run ends at the output grace rather
// than at the job's deadline (node/sched posts the error as the abort
// reason).
func TestHEJobRefusedOnUncheckedKeyRecord(t *testing.T) {
	c := testCluster24(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	keys := make([]*CommitteeKeys, len(c.Members))
	for i := range keys {
		k, err := LoadCommittee(ctx, LegacyHEStore(cluster24Val.Stores[i]), c.Preset, LocalCommitteeID, i)
		if err != nil {
			t.Fatal(err)
		}
		if k.HE.SharesChecked() || !c.Keys[i].HE.SharesChecked() {
			t.Fatalf("member %d: the legacy record loads as checked", i)
		}
		keys[i] = k
	}
	c.Keys = keys
	spec, inputs, _ := heSpecWithOutsideProviders(t, c, "unchecked-keys")
	start := time.Now()
	rep, err := c.Run(ctx, spec, inputs, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		if err := rep.MemberErrs[m]; !errors.Is(err, ErrHESetupUnchecked) || !strings.Contains(err.Error(), "did not check every member's key shares") {
			t.Fatalf("member %s: want ErrHESetupUnchecked, got %v", m, err)
		}
		if out := rep.Outcomes[m]; out != nil && out.Signature != nil {
			t.Fatalf("member %s signed", m)
		}
	}
	if rep.Result != nil {
		t.Fatal("the recipient got a result from unchecked keys")
	}
	if took := time.Since(start); took > 60*time.Second {
		t.Fatalf("the refused job took %v", took)
	}
	t.Logf("member n0: %v; recipient: %v", rep.MemberErrs["n0"], rep.RecipientErr)
}
