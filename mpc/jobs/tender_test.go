package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// tenderCase is one tender: public spec, plaintext quotes.
type tenderCase struct {
	name               string
	spec               TenderSpec
	prices, capacities []uint64
}

// quotesOf shares a case's quotes for a committee of n: out[i] is party i's
// view, provider names are the slots "q<k>/price", "q<k>/capacity".
func quotesOf(t testing.TB, n int, c tenderCase, seed uint64) [][]TenderQuote {
	t.Helper()
	fields := make([][]uint64, 0, 2*len(c.prices))
	for k := range c.prices {
		fields = append(fields, []uint64{c.prices[k]}, []uint64{c.capacities[k]})
	}
	in := provide(t, n, fields, seed)
	out := make([][]TenderQuote, n)
	for i := range out {
		for k := range c.prices {
			pr, cp := in[i][2*k], in[i][2*k+1]
			pr.Provider, cp.Provider = fmt.Sprintf("q%d/price", k), fmt.Sprintf("q%d/capacity", k)
			out[i] = append(out[i], TenderQuote{Price: pr, Capacity: cp})
		}
	}
	return out
}

// randomTender draws Q quotes with many ties (few distinct prices and
// factors), zero capacities, and a quantity that under- or over-fills.
func randomTender(r *rand.Rand, Q int) tenderCase {
	c := tenderCase{spec: TenderSpec{MaxPrice: 1000, MaxPartners: 1 + r.IntN(Q)}}
	var total uint64
	for k := 0; k < Q; k++ {
		c.spec.PriceFactors = append(c.spec.PriceFactors, []uint64{10, 12, 15}[r.IntN(3)])
		c.prices = append(c.prices, []uint64{0, 100, 120, 150, 1000}[r.IntN(5)])
		cp := uint64(r.IntN(60))
		if r.IntN(4) == 0 {
			cp = 0
		}
		c.capacities = append(c.capacities, cp)
		total += cp
	}
	switch r.IntN(3) {
	case 0: // under-filled
		c.spec.Quantity = total + 1 + uint64(r.IntN(50))
	case 1: // over-supplied
		c.spec.Quantity = 1 + uint64(r.IntN(int(max(total/2, 1))))
	default:
		c.spec.Quantity = 1 + uint64(r.IntN(int(total+1)))
	}
	for k := range c.capacities { // capacities are proven ≤ quantity
		c.capacities[k] = min(c.capacities[k], c.spec.Quantity)
	}
	return c
}

func tenderCases(n int) []tenderCase {
	r := rand.New(rand.NewPCG(uint64(n), 12))
	cases := []tenderCase{
		{name: "P=1 tie at the top", spec: TenderSpec{Quantity: 50, MaxPartners: 1, MaxPrice: 1000, PriceFactors: []uint64{10, 10, 10}},
			prices: []uint64{200, 100, 100}, capacities: []uint64{50, 20, 30}},
		{name: "P=quotes over-supplied", spec: TenderSpec{Quantity: 40, MaxPartners: 4, MaxPrice: 1000, PriceFactors: []uint64{12, 10, 15, 10}},
			prices: []uint64{100, 120, 80, 130}, capacities: []uint64{25, 10, 40, 40}},
		{name: "under-filled with zero capacity", spec: TenderSpec{Quantity: 500, MaxPartners: 3, MaxPrice: 1000, PriceFactors: []uint64{10, 11, 12, 13}},
			prices: []uint64{10, 10, 10, 10}, capacities: []uint64{0, 100, 0, 200}},
		{name: "extreme weights", spec: TenderSpec{Quantity: 1 << 40, MaxPartners: 2, MaxPrice: 1 << 40, PriceFactors: []uint64{1 << 20, 1, 1 << 20}},
			prices: []uint64{1 << 40, 1 << 40, 1<<40 - 1}, capacities: []uint64{1 << 40, 1 << 40, 1 << 39}},
	}
	for i := 0; i < 3; i++ {
		c := randomTender(r, 3+r.IntN(5))
		c.name = fmt.Sprintf("random %d", i)
		cases = append(cases, c)
	}
	return cases
}

func TestPlainTender(t *testing.T) {
	// Weighted: 1200, 1000, 1200, 900 → order 3, 1, 0, 2 (0 before 2 on the
	// tie); 3 takes 30, 1 takes 20 of its 25, the rest gets nothing.
	spec := TenderSpec{Quantity: 50, MaxPartners: 3, MaxPrice: 1000, PriceFactors: []uint64{12, 10, 12, 9}}
	q, p := PlainTender(spec, []uint64{100, 100, 100, 100}, []uint64{10, 25, 10, 30})
	if !slices.Equal(q, []uint64{0, 20, 0, 30}) || !slices.Equal(p, []uint64{0, 100, 0, 100}) {
		t.Fatalf("quantities %v prices %v", q, p)
	}
	spec.Quantity = 65 // room for 0 (third), not for 2 (fourth, beyond MaxPartners)
	q, _ = PlainTender(spec, []uint64{100, 100, 100, 100}, []uint64{10, 25, 10, 30})
	if !slices.Equal(q, []uint64{10, 25, 0, 30}) {
		t.Fatalf("quantities %v", q)
	}
}

func TestTenderMatchesPlaintext(t *testing.T) {
	for _, n := range []int{3, 5} {
		for ci, c := range tenderCases(n) {
			if testing.Short() && n == 5 && ci > 1 {
				continue
			}
			in := quotesOf(t, n, c, uint64(100*n+ci))
			res, errs := committee(t, transport.NewMemoryNetwork(), n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (*TenderResult, error) {
				return RunTender(ctx, p, c.spec, in[p.Self()])
			})
			mustAll(t, errs)
			checkTenderOutput(t, fmt.Sprintf("n=%d %s", n, c.name), n, c, res)
		}
	}
}

func TestTenderSemiHonest(t *testing.T) {
	n := 3
	c := tenderCases(n)[1]
	in := quotesOf(t, n, c, 5)
	cfg := func(i int) ss.Config { return ss.Config{Rand: newSeeded(uint64(i)), Security: ss.SemiHonest} }
	res, errs := committee(t, transport.NewMemoryNetwork(), n, cfg, func(ctx context.Context, p *ss.Party) (*TenderResult, error) {
		return RunTender(ctx, p, c.spec, in[p.Self()])
	})
	mustAll(t, errs)
	checkTenderOutput(t, "semi-honest", n, c, res)
}

// checkTenderOutput plays the demander and each quoter: the parties agree on
// the commitments, the award opens commitment 0 to the plaintext award, and
// each assignment its own commitment to the plaintext assignment.
func checkTenderOutput(t *testing.T, what string, n int, c tenderCase, res []*TenderResult) {
	t.Helper()
	Q := len(c.prices)
	wantQ, wantP := PlainTender(c.spec, c.prices, c.capacities)
	var sum uint64
	for k := range wantQ {
		sum += wantQ[k]
		if wantQ[k] == 0 && wantP[k] != 0 {
			t.Fatalf("%s: reference inconsistent at quote %d", what, k)
		}
	}
	if sum > c.spec.Quantity {
		t.Fatalf("%s: reference assigns %d > %d", what, sum, c.spec.Quantity)
	}
	for i, r := range res {
		if len(r.Commitments) != Q+1 || !slices.EqualFunc(r.Commitments, res[0].Commitments, func(a, b fr.Element) bool { return a.Equal(&b) }) {
			t.Fatalf("%s: party %d disagrees on the commitments", what, i)
		}
	}
	parts := make([]*OutputShare, n)
	for i := range res {
		parts[i] = &res[i].Award
	}
	award, salt, err := OpenTender(n, Q, parts, res[0].Commitments[0])
	if err != nil {
		t.Fatalf("%s: demander: %v", what, err)
	}
	for k := 0; k < Q; k++ {
		if award[2*k] != wantQ[k] || award[2*k+1] != wantP[k] {
			t.Fatalf("%s: award of quote %d: (%d, %d), want (%d, %d); all %v", what, k, award[2*k], award[2*k+1], wantQ[k], wantP[k], award)
		}
	}
	vals := make(fr.Vector, 2*Q)
	for i, a := range award {
		vals[i].SetUint64(a)
	}
	if cm := ss.NativeCommit(vals, salt); !cm.Equal(&res[0].Commitments[0]) {
		t.Fatalf("%s: award commitment is not NativeCommit(award, salt)", what)
	}
	for k := 0; k < Q; k++ {
		for i := range res {
			parts[i] = &res[i].Assignments[k]
		}
		q, p, _, err := OpenTenderAssignment(n, parts, res[0].Commitments[1+k])
		if err != nil {
			t.Fatalf("%s: quoter %d: %v", what, k, err)
		}
		if q != wantQ[k] || p != wantP[k] {
			t.Fatalf("%s: quoter %d got (%d, %d), want (%d, %d)", what, k, q, p, wantQ[k], wantP[k])
		}
	}
	// A tampered share among t+1 never opens the award.
	prm, _ := ss.NewParams(n)
	last := make([]*OutputShare, n)
	for i := n - (prm.T + 1); i < n; i++ {
		last[i] = &res[i].Award
	}
	bad := res[n-1].Award
	bad.Values = append(fr.Vector(nil), bad.Values...)
	one := fr.One()
	bad.Values[0].Add(&bad.Values[0], &one)
	last[n-1] = &bad
	if _, _, err := OpenTender(n, Q, last, res[0].Commitments[0]); err == nil {
		t.Fatalf("%s: a tampered award share opened the commitment", what)
	}
}

func TestTenderRejectsQuoteNotMatchingCommitment(t *testing.T) {
	n := 3
	c := tenderCases(n)[1]
	in := quotesOf(t, n, c, 9)
	// Quote 2's capacity is dealt as 41 while its commitment is to 40.
	bad := provide(t, n, [][]uint64{{41}}, 10)
	for i := 0; i < n; i++ {
		in[i][2].Capacity.Share = bad[i][0].Share
	}
	var opened sync.Map
	cfg := func(i int) ss.Config {
		return ss.Config{Rand: newSeeded(uint64(i)), OnOpen: func(label string, v fr.Vector) {
			opened.Store(fmt.Sprintf("%d/%s", i, label), true)
		}}
	}
	_, errs := committee(t, transport.NewMemoryNetwork(), n, cfg, func(ctx context.Context, p *ss.Party) (*TenderResult, error) {
		return RunTender(ctx, p, c.spec, in[p.Self()])
	})
	for i, err := range errs {
		var mm *CommitmentMismatchError
		if !errors.As(err, &mm) || !slices.Equal(mm.Providers, []string{"q2/capacity"}) {
			t.Fatalf("party %d: want a mismatch naming q2/capacity, got %v", i, err)
		}
	}
	opened.Range(func(k, _ any) bool {
		l := k.(string)[2:]
		if !strings.HasPrefix(l, "check:") && !strings.HasPrefix(l, "mask:") || l == "mask:lt" || l == "mask:eq" {
			t.Errorf("aborted tender opened %s", k)
		}
		return true
	})
}

func TestTenderSpecCheck(t *testing.T) {
	ok := TenderSpec{Quantity: 10, MaxPartners: 2, MaxPrice: 100, PriceFactors: []uint64{1, 2, 3}}
	if err := ok.Check(3); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]TenderSpec{
		"factors short":  {Quantity: 10, MaxPartners: 2, MaxPrice: 100, PriceFactors: []uint64{1, 2}},
		"zero partners":  {Quantity: 10, MaxPartners: 0, MaxPrice: 100, PriceFactors: []uint64{1, 2, 3}},
		"too many":       {Quantity: 10, MaxPartners: 4, MaxPrice: 100, PriceFactors: []uint64{1, 2, 3}},
		"zero factor":    {Quantity: 10, MaxPartners: 2, MaxPrice: 100, PriceFactors: []uint64{1, 0, 3}},
		"weights ≥ 2^63": {Quantity: 10, MaxPartners: 2, MaxPrice: 1 << 62, PriceFactors: []uint64{1, 2, 3}},
		"sums ≥ 2^63":    {Quantity: 1 << 62, MaxPartners: 2, MaxPrice: 100, PriceFactors: []uint64{1, 2, 3}},
		"zero quantity":  {Quantity: 0, MaxPartners: 2, MaxPrice: 100, PriceFactors: []uint64{1, 2, 3}},
	} {
		if err := s.Check(3); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (&TenderSpec{Quantity: 1, MaxPartners: 1, MaxPrice: 1, PriceFactors: make([]uint64, 65)}).Check(65); err == nil {
		t.Error("65 quotes accepted")
	}
}
