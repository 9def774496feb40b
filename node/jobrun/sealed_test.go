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
// slot that does not open (a flipped bit; the ledger cannot tell) makes the
// whole committee abort naming that slot, as a malformed libp2p share does,
// and naming the member that claims it (its claim is unproven: the abort
// reason says whose word it is).
func TestSealedShareNotOpeningNamesProvider(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, _, sealed := sealedTender(t, c)
	bad := sealed[2] // q2/price
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Sealed: sealed, TamperSealed: func(slot string, shares [][]byte) {
		if slot == bad {
			shares[1][len(shares[1])-1] ^= 1
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultBadInput, bad)
		var fe *FaultError
		errors.As(rep.MemberErrs[m], &fe)
		if !slices.Equal(fe.Claimants, []string{c.Members[1]}) || !strings.Contains(fe.Reason(), "claimed by "+c.Members[1]) {
			t.Errorf("member %s: claimants %v, reason %q; want %s", m, fe.Claimants, fe.Reason(), c.Members[1])
		}
	}
	if rep.Result != nil {
		t.Fatal("the demander got a result of an aborted job")
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
	shares, err := in.SealShares(spec, c.ChainID, points)
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
