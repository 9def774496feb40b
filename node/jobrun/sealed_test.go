package jobrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"go.dedis.ch/kyber/v3"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/supervision"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
)

// sealedTender is a 5-quote sample tender where quoters q1, q2 and q3 run no
// node: their four slots each are sealed on the "ledger".
func sealedTender(t *testing.T, c *Cluster) (*Spec, map[string][]byte, func(*RunReport) error, []string) {
	t.Helper()
	spec, inputs, check, err := SampleJob(Tender, 5, c.Members, rand.New(rand.NewPCG(5, 12)))
	if err != nil {
		t.Fatal(err)
	}
	spec.Nodeless = []string{"q1", "q2", "q3"}
	var sealed []string
	for _, q := range spec.Nodeless {
		price, capacity := jobspec.TenderSlots(q)
		sealed = append(sealed, price, capacity)
	}
	return spec, inputs, check, sealed
}

// TestTenderSealedQuotes: a tender where three of five quoters have no node
// and post their shares sealed equals its plaintext reference; the quoters
// with a node get their assignments, those without are no session party.
func TestTenderSealedQuotes(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, check, sealed := sealedTender(t, c)
	parties, _ := SessionParties(spec, SessionIO)
	for _, q := range spec.Nodeless {
		if slices.Contains(parties, q) {
			t.Fatalf("%s, without a node, is a party of the io session %v", q, parties)
		}
	}
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Sealed: sealed})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if err := check(rep); err != nil {
		t.Fatal(err)
	}
	checkTenderOpening(t, rep.Result.Tender, rep.Outcomes[c.Members[0]].OutputCommitment)
}

// TestSealedShareNotOpeningNamesProvider: one member's sealed share of a
// slot that does not open (sealbox.SealCorrupt: a sender that knows r and
// alters the body; the ledger cannot tell) makes the
// whole committee abort naming that slot, proven: the claimant's opening
// proof (the evidence job.abort carries) verifies against the ciphertext the
// ledger keeps and shows the share does not open.
func TestSealedShareNotOpeningNamesProvider(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	bad := sealed[2] // q2/price
	var posted [][]byte
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Sealed: sealed, TamperSealed: func(slot string, shares [][]byte) {
		if slot == bad {
			shares[1] = corruptShare(t, c, spec, slot, 1)
			posted = shares
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultBadInput, bad)
		var fe *FaultError
		errors.As(rep.MemberErrs[m], &fe)
		if !slices.Equal(fe.Claimants, []string{c.Members[1]}) || !strings.Contains(fe.Reason(), "proven by "+c.Members[1]) {
			t.Errorf("member %s: claimants %v, reason %q; want proven by %s", m, fe.Claimants, fe.Reason(), c.Members[1])
		}
		ev := fe.Evidence
		if ev == nil || ev.Claimant != c.Members[1] || spec.Providers[ev.Slot] != bad {
			t.Fatalf("member %s: evidence %+v, want %s's on %s", m, ev, c.Members[1], bad)
		}
		wantProvenNotOpening(t, c, spec, m, bad, 1, posted[1], ev)
	}
	if rep.Result != nil {
		t.Fatal("the demander got a result of an aborted job")
	}
}

// TestSealedShareMalformedProven: a provider that seals share messages
// that open but are no share of the job (truncated) is named, proven: every
// member's proven opening shows a malformed plaintext.
func TestSealedShareMalformedProven(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	bad := sealed[3] // q2/capacity
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Sealed: sealed, TamperSealedPlain: func(slot string, _ int, msg []byte) []byte {
		if slot == bad {
			return msg[:len(msg)-1]
		}
		return msg
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultBadInput, bad)
		var fe *FaultError
		errors.As(rep.MemberErrs[m], &fe)
		if !slices.Equal(fe.Claimants, c.Members) || fe.Evidence == nil || fe.Evidence.Claimant != c.Members[0] || spec.Providers[fe.Evidence.Slot] != bad {
			t.Fatalf("member %s: claimants %v, evidence %+v; want every member, proven by %s", m, fe.Claimants, fe.Evidence, c.Members[0])
		}
		if !strings.Contains(fe.Error(), "proven malformed") {
			t.Errorf("member %s: %v; want proven malformed", m, fe)
		}
	}
}

// TestSealedShareOffPolynomialNamesProvider: a provider that commits to
// its sharing honestly but seals member 2 a share off its polynomial (well
// formed, sealed properly: it opens) is named by the whole committee,
// proven: member 2's opening shows a share off the provider's commitments,
// which the ledger judges the same way (sealedinput.Judge) and charges the
// provider for. Before the commitments the engine's degree check caught
// such a share and named nobody.
func TestSealedShareOffPolynomialNamesProvider(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	bad := sealed[5] // q3/capacity
	const victim = 2
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Sealed: sealed, TamperSealedPlain: func(slot string, m int, msg []byte) []byte {
		if slot == bad && m == victim {
			return ShiftSealedShare(t, msg, 1)
		}
		return msg
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultBadInput, bad)
		var fe *FaultError
		errors.As(rep.MemberErrs[m], &fe)
		ev := fe.Evidence
		if ev == nil || ev.Claimant != c.Members[victim] || spec.Providers[ev.Slot] != bad || ev.Culprit != bad {
			t.Fatalf("member %s: evidence %+v, want %s's on %s convicting it", m, ev, c.Members[victim], bad)
		}
		if !slices.Equal(fe.Claimants, []string{c.Members[victim]}) || !strings.Contains(fe.Error(), "proven off the provider's committed polynomials") {
			t.Errorf("member %s: %v, claimants %v; want proven off the commitments by %s", m, fe, fe.Claimants, c.Members[victim])
		}
	}
	if rep.Result != nil {
		t.Fatal("the demander got a result of an aborted job")
	}
}

// TestSealedShareSubstitutedByMember: a member that judges its sealed
// share good and then feeds the engine another one makes the engine's
// consistency check of dealt inputs fail: the job aborts naming nobody (the
// member is not identified), but, the slot being sealed under commitments
// every member checked, the members' error clears the provider and says a
// member substituted its share (the ledger's short reason stays
// "mpc-check-failed:", naming nobody).
func TestSealedShareSubstitutedByMember(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	slot := spec.ProviderIndex(sealed[1]) // q1/capacity
	rep, err := c.Run(WithSubstitutedShare(ctx, c.Members[3], slot), spec, inputs, RunOptions{Sealed: sealed})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		var fe *FaultError
		if !errors.As(rep.MemberErrs[m], &fe) || fe.Kind != FaultCheckFailed || len(fe.Parties) != 0 {
			t.Fatalf("member %s: %v; want mpc-check-failed naming nobody", m, rep.MemberErrs[m])
		}
		if !strings.Contains(fe.Error(), "a committee member deviated (fed the engine another share than it was dealt") || !strings.Contains(fe.Error(), sealed[1]) {
			t.Errorf("member %s: %v does not clear the provider", m, fe)
		}
	}
	if rep.Result != nil {
		t.Fatal("the demander got a result of an aborted job")
	}
}

// TestSealedFalseClaimNamesClaimant: a member whose sealed share is fine but
// claims it bad is named itself, not the provider, by every member (the
// liar included): its own proven opening shows the share opens well
// formed, and that proof is the evidence against it.
func TestSealedFalseClaimNamesClaimant(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	liar := c.Members[2]
	slot := spec.ProviderIndex(sealed[0])
	rep, err := c.Run(WithFalseClaim(ctx, liar, []int{slot}, false), spec, inputs, RunOptions{Sealed: sealed})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultFalseClaim, liar)
		var fe *FaultError
		errors.As(rep.MemberErrs[m], &fe)
		if ev := fe.Evidence; ev == nil || ev.Claimant != liar || ev.Slot != slot {
			t.Fatalf("member %s: evidence %+v, want %s's proof on slot %d", m, fe.Evidence, liar, slot)
		}
	}
	if rep.Result != nil {
		t.Fatal("the demander got a result of an aborted job")
	}
}

// TestSealedBogusProofNamesClaimant: a member that claims its fine sealed
// share bad with a made-up shared point (its proof does not verify) is
// named by every member; there is no evidence for the ledger (a proof that
// does not verify convicts nobody there).
func TestSealedBogusProofNamesClaimant(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	liar := c.Members[3]
	rep, err := c.Run(WithFalseClaim(ctx, liar, []int{spec.ProviderIndex(sealed[4])}, true), spec, inputs, RunOptions{Sealed: sealed})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultFalseClaim, liar)
		var fe *FaultError
		errors.As(rep.MemberErrs[m], &fe)
		if fe.Evidence != nil || !strings.Contains(fe.Error(), "does not verify") {
			t.Fatalf("member %s: %v, evidence %+v; want a proof that does not verify, no evidence", m, fe, fe.Evidence)
		}
	}
}

// TestSealedClaimUncheckedWithoutLedgerData: members given only their own
// sealed shares (no SealedShares, no SealingKeys) cannot check each other's
// claims: a claim names the provider unproven, with the claimant in the
// reason and no evidence for the ledger — for an honest claim and, the
// weakness the proofs remove, for a lying one alike.
func TestSealedClaimUncheckedWithoutLedgerData(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	bad := sealed[2]
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Sealed: sealed, OwnSealedOnly: true, TamperSealed: func(slot string, shares [][]byte) {
		if slot == bad {
			shares[1] = corruptShare(t, c, spec, slot, 1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	liar := c.Members[2]
	lied, err := c.Run(WithFalseClaim(ctx, liar, []int{spec.ProviderIndex(sealed[0])}, false), spec, inputs, RunOptions{Sealed: sealed, OwnSealedOnly: true, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		for _, tc := range []struct {
			rep       *RunReport
			slot      string
			claimant  string
			situation string
		}{{rep, bad, c.Members[1], "honest claim"}, {lied, sealed[0], liar, "false claim"}} {
			wantFault(t, tc.situation+", member "+m, tc.rep.MemberErrs[m], FaultBadInput, tc.slot)
			var fe *FaultError
			errors.As(tc.rep.MemberErrs[m], &fe)
			if fe.Evidence != nil || !strings.Contains(fe.Reason(), "claimed by "+tc.claimant) {
				t.Errorf("%s, member %s: reason %q, evidence %+v; want unproven, claimed by %s", tc.situation, m, fe.Reason(), fe.Evidence, tc.claimant)
			}
		}
	}
}

// TestSealedShareMovedDoesNotOpen: a sealed share opens only for the member,
// slot, job and chain it was sealed for; a share sealed for another slot
// (copied by a cheating provider or a replay) names the provider it is
// posted under.
func TestSealedShareMovedDoesNotOpen(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	var q1price [][]byte
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Sealed: sealed, TamperSealed: func(slot string, shares [][]byte) {
		switch slot {
		case sealed[0]: // q1/price comes first
			q1price = slices.Clone(shares)
		case sealed[2]: // q2/price posts q1's ciphertexts
			copy(shares, q1price)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultBadInput, sealed[2])
	}
}

// TestSealedQuoteView: the sealed shares of a quote (a losing one no less)
// open for the committee member each was sealed to and for nobody else:
// not the demander, not another quoter, not another member with its own
// key, not under another slot's, job's or chain's binding. Each member
// opens one share of a degree-t sharing: t of them say nothing of the
// quote (Shamir), t+1 only inside the MPC.
func TestSealedQuoteView(t *testing.T) {
	c := testCluster(t)
	spec, inputs, _, _ := sealedTender(t, c)
	slot := spec.Providers[2] // q1/price
	in, err := PrepareInput(spec, slot, inputs[slot], ProviderKeys{})
	if err != nil {
		t.Fatal(err)
	}
	points := make([]kyber.Point, len(c.SealingKeys))
	for m, k := range c.SealingKeys {
		points[m] = k.Public
	}
	shares, _, err := in.SealShares(spec, c.ChainID, points)
	if err != nil {
		t.Fatal(err)
	}
	outsiders := []supervision.KeyPair{supervision.GenerateKey(), supervision.GenerateKey(), supervision.GenerateKey()} // demander, q0, q2
	for j, share := range shares {
		for m, k := range c.SealingKeys {
			_, err := sealbox.Open(k.Private, SealedShareAAD(c.ChainID, spec.ID, slot, spec.Committee[j]), share)
			if (err == nil) != (m == j) {
				t.Errorf("share of member %d opened by member %d: %v", j, m, err)
			}
		}
		for o, k := range outsiders {
			if _, err := sealbox.Open(k.Private, SealedShareAAD(c.ChainID, spec.ID, slot, spec.Committee[j]), share); err == nil {
				t.Errorf("outsider %d opened member %d's share", o, j)
			}
		}
		own := c.SealingKeys[j].Private
		for name, aad := range map[string][]byte{
			"slot":   SealedShareAAD(c.ChainID, spec.ID, spec.Providers[3], spec.Committee[j]),
			"job":    SealedShareAAD(c.ChainID, spec.ID+"x", slot, spec.Committee[j]),
			"chain":  SealedShareAAD(c.ChainID+"x", spec.ID, slot, spec.Committee[j]),
			"member": SealedShareAAD(c.ChainID, spec.ID, slot, spec.Committee[(j+1)%len(spec.Committee)]),
		} {
			if _, err := sealbox.Open(own, aad, share); err == nil {
				t.Errorf("member %d's share opened under another %s", j, name)
			}
		}
	}
}

// TestRebindPreparedInput: a quote prepared on a draft of the tender (its
// slot, the committee's size, the slot's range) moves onto the job as it
// appears, at its index there; a job whose range or committee size differ
// is refused.
func TestRebindPreparedInput(t *testing.T) {
	c := testCluster(t)
	spec, inputs, _, _ := sealedTender(t, c)
	slot := spec.Providers[4] // q2/price, index 4 in the job
	var p TenderParams
	if err := json.Unmarshal(spec.Params, &p); err != nil {
		t.Fatal(err)
	}
	draft := func(maxPrice uint64, committee []string) *Spec {
		dp := TenderParams{Order: p.Order, Quantity: p.Quantity, MaxPartners: 1, MaxPrice: maxPrice, PriceFactors: []uint64{10000, 10000}}
		raw, _ := json.Marshal(dp)
		other, otherCap := jobspec.TenderSlots("draft")
		s := &Spec{ID: "draft", Type: Tender, Params: raw, Providers: []string{slot, spec.Providers[5], other, otherCap},
			Committee: committee, Threshold: len(committee) - 1, Recipient: "draft"}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	in, err := PrepareInput(draft(p.MaxPrice, spec.Committee), slot, inputs[slot], ProviderKeys{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Index != 0 {
		t.Fatalf("draft index %d", in.Index)
	}
	if err := in.Rebind(spec); err != nil || in.Index != 4 {
		t.Fatalf("Rebind: index %d, %v", in.Index, err)
	}
	for name, d := range map[string]*Spec{
		"another range":     draft(p.MaxPrice+1, spec.Committee),
		"another committee": draft(p.MaxPrice, spec.Committee[:3]),
	} {
		in, err := PrepareInput(d, slot, inputs[slot], ProviderKeys{})
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Rebind(spec); err == nil {
			t.Errorf("%s: rebound", name)
		}
	}
}

// corruptShare is what a dishonest provider seals to member k for slot: a
// publicly valid ciphertext (the ledger takes it) that opens for nobody.
func corruptShare(t *testing.T, c *Cluster, spec *Spec, slot string, k int) []byte {
	t.Helper()
	b, err := sealbox.SealCorrupt(c.SealingKeys[k].Public, SealedShareAAD(c.ChainID, spec.ID, slot, c.Members[k]), []byte("not a share"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantProvenNotOpening fails the test unless member m's evidence is
// committee member k's proof, checkable by anyone, that its sealed share of
// slot (the ciphertext posted) does not open.
func wantProvenNotOpening(t *testing.T, c *Cluster, spec *Spec, m, slot string, k int, posted []byte, ev *SealedEvidence) {
	t.Helper()
	aad := SealedShareAAD(c.ChainID, spec.ID, slot, c.Members[k])
	if _, opened, err := sealbox.VerifyOpening(c.SealingKeys[k].Public, aad, posted, ev.Point(), ev.Proof()); err != nil || opened {
		t.Fatalf("member %s: the evidence checks as opened=%v, %v; want proven not opening", m, opened, err)
	}
}
