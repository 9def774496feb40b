package jobs

import (
	"context"
	"fmt"
	"testing"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestClearingRationEdges runs the MPC rationing on one-level grids (each
// bidder's quantity at the clearing price is its curve) where a side's
// running total lands exactly on the volume, passes it inside a bidder's
// quantity, starts with zero quantities, interleaves the sides, or runs near
// 2^64 — and checks every allocation against PlainRation.
func TestClearingRationEdges(t *testing.T) {
	const top = 1<<63 + 12345
	cases := []struct {
		sides []Side
		q     []uint64
	}{
		{[]Side{Buyer, Buyer, Buyer, Seller}, []uint64{5, 5, 5, 10}},                       // a buyer ends exactly at V
		{[]Side{Buyer, Seller, Buyer, Seller, Buyer}, []uint64{10, 4, 5, 7, 3}},            // V inside a buyer's quantity
		{[]Side{Seller, Buyer, Seller, Buyer, Seller, Buyer}, []uint64{3, 12, 4, 4, 9, 5}}, // sellers first, a buyer ends exactly at V = 16
		{[]Side{Buyer, Seller, Seller, Buyer}, []uint64{0, 0, 6, 6}},                       // zero quantities first
		{[]Side{Buyer, Seller, Buyer, Seller}, []uint64{7, 7, 0, 0}},                       // D = S
		{[]Side{Buyer, Buyer, Seller, Seller}, []uint64{top, 1 << 62, 1 << 62, 1 << 61}},   // near 2^64
		{[]Side{Seller, Seller, Buyer}, []uint64{0, 0, 9}},                                 // nothing sold
		{[]Side{Buyer, Seller, Buyer, Buyer, Seller, Buyer}, []uint64{1, 3, 1, 1, 0, 1}},   // V = 3: the last buyer gets nothing
	}
	prices := []uint64{100}
	for k, c := range cases {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			n := 3
			curves := make([][]uint64, len(c.q))
			for i, q := range c.q {
				curves[i] = []uint64{q}
			}
			level, alloc := plainClearing(prices, curves, c.sides)
			inputs := provide(t, n, curves, uint64(k+700))
			res, errs := committee(t, transport.NewMemoryNetwork(), n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (*ClearingResult, error) {
				bids := make([]ClearingBid, len(curves))
				for i := range bids {
					bids[i] = ClearingBid{Input: inputs[p.Self()][i], Side: c.sides[i]}
				}
				return Clear(ctx, p, ClearingSpec{Prices: prices}, bids)
			})
			mustAll(t, errs)
			if res[0].Level != level {
				t.Fatalf("level %d, want %d", res[0].Level, level)
			}
			for b := range curves {
				parts := make([]*OutputShare, n)
				for i := range res {
					parts[i] = &res[i].Allocations[b]
				}
				vals, _, err := ReconstructOutput(n, parts, res[0].Commitments[1+b])
				if err != nil {
					t.Fatalf("bidder %d: %v", b, err)
				}
				if !vals[0].IsUint64() || vals[0].Uint64() != alloc[b] {
					t.Fatalf("bidder %d: allocation %s, want %d (all: %v)", b, vals[0].String(), alloc[b], alloc)
				}
			}
		})
	}
}
