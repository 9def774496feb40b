package jobrun_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cohortnet/cohort/internal/sealbox"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
)

// TestSealedOpeningOracleClosed is the regression test of the review's
// committee opening oracle (C1): nodeless quoter q2 seals, as its "shares"
// of q2/price, the ephemeral keys R_j of q1/price's honest ciphertexts
// followed by bytes of its own. Before the sender's proof of knowledge,
// every member failed to open, proved so and broadcast S_j = x_j·R_j, and
// the abort carried one: q1's share to that member opened for anyone. Now
// no member proves a ciphertext without a valid PoK: q2 is named (its
// shares are publicly invalid; the ledger would have refused them at
// input), and no S in the evidence is the DH secret of any of q1's shares.
func TestSealedOpeningOracleClosed(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	victimSlot, atkSlot := sealed[0], sealed[2] // q1/price, q2/price
	var victim [][]byte
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Sealed: sealed, TamperSealed: func(slot string, shares [][]byte) {
		switch slot {
		case victimSlot:
			victim = shares
		case atkSlot:
			for j := range shares {
				shares[j] = append(bytes.Clone(victim[j][:sealbox.PointBytes]), shares[j][sealbox.PointBytes:]...)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The victim's DH secrets, which must appear nowhere.
	secrets := make([][]byte, len(c.Members))
	for j := range c.Members {
		R := c.SealingKeys[j].Public.Clone()
		if err := R.UnmarshalBinary(victim[j][:sealbox.PointBytes]); err != nil {
			t.Fatal(err)
		}
		if secrets[j], err = R.Mul(c.SealingKeys[j].Private, R).MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultBadInput, atkSlot)
		var fe *FaultError
		errors.As(rep.MemberErrs[m], &fe)
		if ev := fe.Evidence; ev != nil {
			for j, s := range secrets {
				if bytes.Equal(ev.Point(), s) {
					t.Fatalf("member %s: the abort's evidence carries the DH secret of %s's share to %s", m, victimSlot, c.Members[j])
				}
			}
			if !bytes.Equal(ev.Opening, make([]byte, len(ev.Opening))) {
				t.Errorf("member %s: evidence %x on a publicly invalid share; want none proven", m, ev.Opening)
			}
		}
	}
}

// TestSealedLiarDoesNotShieldProvenProvider is the regression test of the
// review's M1: q2's share to member 1 really does not open (proven), and
// member 3 adds a claim with a made-up S on another slot. Before, every
// member aborted false-input-claim naming member 3 with no evidence, so the
// ledger charged neither. Now the abort still names the liar, and carries
// member 1's proof against q2, which the ledger checks and charges.
func TestSealedLiarDoesNotShieldProvenProvider(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	bad, liar := sealed[2], c.Members[3]
	var posted [][]byte
	rep, err := c.Run(WithFalseClaim(ctx, liar, []int{spec.ProviderIndex(sealed[4])}, true), spec, inputs, RunOptions{Sealed: sealed,
		TamperSealed: func(slot string, shares [][]byte) {
			if slot == bad {
				shares[1] = corruptShare(t, c, spec, slot, 1)
				posted = shares
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultFalseClaim, liar)
		var fe *FaultError
		errors.As(rep.MemberErrs[m], &fe)
		ev := fe.Evidence
		if ev == nil || ev.Claimant != c.Members[1] || ev.Culprit != bad || spec.Providers[ev.Slot] != bad {
			t.Fatalf("member %s: evidence %+v; want %s's proof against %s", m, ev, c.Members[1], bad)
		}
		if r := fe.Reason(); !strings.Contains(r, liar) || !strings.Contains(r, bad+" proven bad by "+c.Members[1]) {
			t.Errorf("member %s: reason %q names not both the liar and the proven provider", m, r)
		}
		wantProvenNotOpening(t, c, spec, m, bad, 1, posted[1], ev)
	}
}
