package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// tenderJob returns a tender case's job for a committee of n; its result is
// an untyped nil on failure (checkJobAbort's isNilResult).
func tenderJob(t *testing.T, n int, seed uint64) (run func(ctx context.Context, p *ss.Party) (any, error), in [][]TenderQuote) {
	c := tenderCases(n)[1]
	in = quotesOf(t, n, c, seed)
	return func(ctx context.Context, p *ss.Party) (any, error) {
		r, err := RunTender(ctx, p, c.spec, in[p.Self()])
		if r == nil {
			return nil, err
		}
		return r, err
	}, in
}

// TestAdversarialTender: a member that deviates in a multiplication, flips a
// comparison bit, deals a non-bit, or shifts its share of a masked or of the
// output opening makes the tender abort for every honest member with nothing
// opened; only the dealer of a non-bit is named, nobody honest ever is.
func TestAdversarialTender(t *testing.T) {
	for _, n := range []int{3, 5} {
		devs := []struct {
			name    string
			cheater int
			plan    cheat.Plan
			named   bool
		}{
			{"mul-offset", 1, cheat.Plan{MulOffset: true, Offset: 1}, false},
			{"flipped-comparison-bit", n - 1, cheat.Plan{MulOffset: true, MulOp: "lt", Offset: 1}, false},
			{"non-bit-dealt", 0, cheat.Plan{BadBit: true}, true},
			{"shifted-masked-share", 1, cheat.Plan{ShiftOpen: true, ShiftTo: -1, ShiftLabel: "mask:lt"}, false},
			{"shifted-output-share", 2, cheat.Plan{ShiftOpen: true, ShiftTo: -1, ShiftLabel: LabelTenderCommitments}, false},
		}
		for _, d := range devs {
			if testing.Short() && n == 5 && d.name != "shifted-output-share" {
				continue
			}
			run, _ := tenderJob(t, n, uint64(n))
			plan := d.plan
			res, errs, opened := adversarialCommittee(t, transport.NewMemoryNetwork(), n, d.cheater, &plan, run)
			checkJobAbort(t, fmt.Sprintf("tender n=%d %s", n, d.name), n, res, errs, opened, d.cheater, d.named)
		}
		// A provider deals one member an inconsistent share: the input is
		// reported, nobody is named.
		run, in := tenderJob(t, n, uint64(n+10))
		one := fr.One()
		f := append(fr.Vector(nil), in[n-1][1].Price.Share.Fields...)
		f[0].Add(&f[0], &one)
		in[n-1][1].Price.Share.Fields = f
		res, errs, opened := adversarialCommittee(t, transport.NewMemoryNetwork(), n, -1, nil, run)
		checkJobAbort(t, fmt.Sprintf("tender n=%d inconsistent-input", n), n, res, errs, opened, -1, false)
		for i, err := range errs {
			var ic *InputCheckError
			if !errors.As(err, &ic) && !strings.Contains(err.Error(), "reported by party") {
				t.Fatalf("tender n=%d member %d: want the provider's input reported, got %v", n, i, err)
			}
			if ic != nil && ic.Provider != "q1/price" {
				t.Fatalf("tender n=%d member %d: input of %s reported, want q1/price", n, i, ic.Provider)
			}
		}
	}
}

// TestTenderNoBoundedOpeningAfterDeviation (review C1): a member adds 2^110
// to comparison results; no bounded-mask opening follows the deviation
// before a check covers it, and the job aborts.
func TestTenderNoBoundedOpeningAfterDeviation(t *testing.T) {
	n := 3
	run, _ := tenderJob(t, n, 77)
	cheater := 1
	var deviated atomic.Bool
	var mu sync.Mutex
	var leaks []string
	plan := &cheat.Plan{MulOffset: true, MulOp: "lt", Offset: 1, OffsetShift: 110, OnDeviate: func() { deviated.Store(true) }}
	onOpen := func(party int, label string, _ fr.Vector) {
		if party != cheater {
			return
		}
		switch {
		case label == "check:mac":
			deviated.Store(false)
		case boundedLabel(label) && deviated.Load():
			mu.Lock()
			leaks = append(leaks, label)
			mu.Unlock()
		}
	}
	res, errs := observedCommittee(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: plan}, onOpen, run)
	if len(leaks) > 0 {
		t.Fatalf("the cheater saw bounded-mask openings %v after deviating, before a check", leaks)
	}
	checkJobAbort(t, "tender", n, res, errs, nil, cheater, false)
}

// TestTenderOutOfRangeInputNotCompared (review C2): a quoter deals
// consistent shares of 2^184 as its capacity; nothing is compared before the
// commitment check fails, which names the slot.
func TestTenderOutOfRangeInputNotCompared(t *testing.T) {
	n := 3
	run, in := tenderJob(t, n, 78)
	var huge fr.Element
	huge.Exp(fr.NewElement(2), big184)
	prm, _ := ss.NewParams(n)
	sh, err := ss.Share(prm, fr.Vector{huge}, newSeeded(4))
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i][0].Capacity.Share.Fields = fr.Vector{sh[i][0]}
	}
	var mu sync.Mutex
	var seen []string
	onOpen := func(party int, label string, _ fr.Vector) {
		if boundedLabel(label) {
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%d/%s", party, label))
			mu.Unlock()
		}
	}
	res, errs := observedCommittee(t, transport.NewMemoryNetwork(), n, nil, onOpen, run)
	if len(seen) > 0 {
		t.Fatalf("bounded-mask openings %v before the commitment check failed", seen)
	}
	for i, err := range errs {
		var mm *CommitmentMismatchError
		if res[i] != nil || !errors.As(err, &mm) || !slices.Equal(mm.Providers, []string{"q0/capacity"}) {
			t.Fatalf("member %d: want a commitment mismatch of q0/capacity, got %v", i, err)
		}
	}
}

// TestTenderOpensOnlyItsCommitments: besides masked values and checks that
// open zero, a tender opens only its quotes+1 commitments, once.
func TestTenderOpensOnlyItsCommitments(t *testing.T) {
	n := 3
	run, in := tenderJob(t, n, 79)
	var mu sync.Mutex
	seen := make([][]string, n)
	onOpen := func(party int, label string, v fr.Vector) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(label, "mask:"):
		case label == "check:input-commitment", label == "check:mac", label == "check:bits":
			for _, e := range v {
				if !e.IsZero() {
					t.Errorf("party %d: check %s opened a non-zero value", party, label)
				}
			}
		case label == LabelTenderCommitments && len(v) == len(in[0])+1:
			seen[party] = append(seen[party], label)
		default:
			t.Errorf("party %d: tender opened undeclared value %q (%d values)", party, label, len(v))
		}
	}
	_, errs := observedCommittee(t, transport.NewMemoryNetwork(), n, nil, onOpen, run)
	mustAll(t, errs)
	for i, s := range seen {
		if len(s) != 1 {
			t.Fatalf("party %d: commitments opened %d times", i, len(s))
		}
	}
}

// TestPrivacyTender: what t corrupted members see (every message and
// opening) does not depend on the losing quotes. X and Y choose the same
// partners with the same quantities and prices; the two losing quotes
// differ in price, capacity and their order.
func TestPrivacyTender(t *testing.T) {
	spec := TenderSpec{Quantity: 50, MaxPartners: 2, MaxPrice: 1000, PriceFactors: []uint64{10, 10, 10, 10}}
	X := tenderCase{spec: spec, prices: []uint64{100, 300, 120, 500}, capacities: []uint64{30, 40, 30, 10}}
	Y := tenderCase{spec: spec, prices: []uint64{100, 900, 120, 200}, capacities: []uint64{30, 5, 30, 50}}
	qx, px := PlainTender(spec, X.prices, X.capacities)
	qy, py := PlainTender(spec, Y.prices, Y.capacities)
	if !slices.Equal(qx, qy) || !slices.Equal(px, py) || qx[0] == 0 || qx[2] == 0 {
		t.Fatalf("test inputs award differently: %v %v / %v %v", qx, px, qy, py)
	}
	mk := func(c tenderCase, n int) func(run uint64) func(ctx context.Context, p *ss.Party) error {
		return func(run uint64) func(ctx context.Context, p *ss.Party) error {
			in := quotesOf(t, n, c, run+7000)
			return func(ctx context.Context, p *ss.Party) error {
				res, err := RunTender(ctx, p, c.spec, in[p.Self()])
				if err == nil && len(res.Commitments) != 5 {
					err = fmt.Errorf("%d commitments", len(res.Commitments))
				}
				return err
			}
		}
	}
	sizes := []int{3, 5}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		privacyCase(t, n, corruptSets[n][0], mk(X, n), mk(Y, n))
	}
}
