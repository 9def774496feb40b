package jobrun_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/transport"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
	. "github.com/cohortnet/cohort/node/jobrun/plainref"
)

// TestTenderEndToEnd runs a 20-quote tender through jobrun on the in-process
// cluster: every quoting member's price slot gets its own assignment, the
// capacity slot nothing, the demander the award, which opens the signed
// output commitment as the ledger checks it.
func TestTenderEndToEnd(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec, inputs, check, err := SampleJob(Tender, 20, c.Members, rand.New(rand.NewPCG(20, 20)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Run(ctx, spec, inputs, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if err := check(rep); err != nil {
		t.Fatal(err)
	}
	out := rep.Outcomes[c.Members[0]]
	if out.Public != nil {
		t.Fatalf("the committee learnt %+v", out.Public)
	}
	checkTenderOpening(t, rep.Result.Tender, out.OutputCommitment)
	if len(rep.Result.Tender.Partners) == 0 {
		t.Fatal("the sample tender chose nobody")
	}
}

// TestTenderQuoteNotMatchingCommitment: a quoter that posts a commitment to
// one capacity and sends another makes the job abort naming its slot.
func TestTenderQuoteNotMatchingCommitment(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec, inputs, _, err := SampleJob(Tender, 4, c.Members, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	cheat := spec.Providers[3] // q1/capacity
	zero := uint64(0)
	other, _ := json.Marshal(TenderInput{Capacity: &zero})
	if string(other) == string(inputs[cheat]) {
		one := uint64(1)
		other, _ = json.Marshal(TenderInput{Capacity: &one})
	}
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Commitments: map[string][]byte{cheat: otherCommitment(t, c, spec, cheat, other)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultCommitmentMismatch, cheat)
	}
	if rep.Result != nil {
		t.Fatal("the demander got a result of an aborted job")
	}
}

// TestTenderInputFiles: a slot's file gives exactly its own value, within the
// slot's proven range.
func TestTenderInputFiles(t *testing.T) {
	c := testCluster(t)
	spec, _, _, err := SampleJob(Tender, 3, c.Members, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	p := spec.TenderParams()
	for _, tc := range []struct {
		slot int
		file string
		ok   bool
	}{
		{0, `{"price": 1000}`, true},
		{0, `{"price": 1001}`, false}, // above max_price
		{0, `{"capacity": 5}`, false}, // the wrong value for the slot
		{0, `{"price": 5, "capacity": 5}`, false},
		{1, `{"capacity": 0}`, true},
		{1, `{"capacity": ` + jsonU64(p.Quantity) + `}`, true},
		{1, `{"capacity": ` + jsonU64(p.Quantity+1) + `}`, false},
		{1, `{}`, false},
		{1, `{"capacity": 1, "bid": 2}`, false},
	} {
		in, err := PrepareInput(spec, spec.Providers[tc.slot], []byte(tc.file), ProviderKeys{})
		if (err == nil) != tc.ok {
			t.Errorf("slot %d file %s: err %v, want ok=%v", tc.slot, tc.file, err, tc.ok)
			continue
		}
		if err != nil {
			continue
		}
		// The witness of the slot's range proof: the value in [0, bound].
		w, err := in.InputWitness()
		if err != nil {
			t.Fatalf("slot %d: %v", tc.slot, err)
		}
		_, hi, _ := spec.SlotRange(tc.slot)
		if uint64(w.Hi) != hi || w.Lo != 0 {
			t.Errorf("slot %d: witness range [%d, %d], want [0, %d]", tc.slot, w.Lo, w.Hi, hi)
		}
	}
}

func jsonU64(v uint64) string {
	b, _ := json.Marshal(v)
	return strings.TrimSpace(string(b))
}

// TestTenderOverLibp2p runs a tender with every party on its own
// member-gated libp2p host on loopback, as nodes do: the four members quote
// (two slots each) and sit on the committee, n1 is the demander.
func TestTenderOverLibp2p(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nets, register := p2pNetworks(ctx, t, c.Members)
	c.NetworkOf = func(party string) transport.Network { return nets[party] }

	p := TenderParams{Order: "o-p2p", Quantity: 60, MaxPartners: 2, MaxPrice: 500, PriceFactors: []uint64{100, 120, 100, 90}}
	prices := []uint64{300, 240, 310, 400} // weighted 30000, 28800, 31000, 36000
	capacities := []uint64{50, 40, 60, 60} // n1 first (40), then n0 (20 of 50)
	spec := &Spec{ID: "p2p-tender", Type: Tender, Committee: c.Members, Threshold: 3, Recipient: "n1"}
	inputs := map[string][]byte{}
	for k, m := range c.Members {
		price, capacity := jobspec.TenderSlots(m)
		spec.Providers = append(spec.Providers, price, capacity)
		inputs[price], _ = json.Marshal(TenderInput{Price: &prices[k]})
		inputs[capacity], _ = json.Marshal(TenderInput{Capacity: &capacities[k]})
	}
	spec.Params, _ = json.Marshal(p)
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	register(spec)
	rep, err := c.Run(ctx, spec, inputs, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	want := []uint64{20, 300, 40, 240, 0, 0, 0, 0}
	if got := rep.Result.Tender; got == nil || !slices.Equal(got.Award, want) || len(got.Partners) != 2 {
		t.Fatalf("tender over libp2p: %+v, want award %v", got, want)
	}
	if !slices.Equal(PlainTender(p, prices, capacities), want) {
		t.Fatal("plaintext reference disagrees with the hand-computed award")
	}
	for k, m := range c.Members {
		a := rep.ProviderResult[m+"/price"]
		if a == nil || a.Tender == nil || a.Tender.Quantity != want[2*k] || a.Tender.Price != want[2*k+1] {
			t.Fatalf("%s's assignment %+v", m, a)
		}
	}
	checkTenderOpening(t, rep.Result.Tender, rep.Outcomes[c.Members[0]].OutputCommitment)
	t.Logf("4 quotes over libp2p: prepare %v, job %v", rep.Prepare, rep.Job)
}
