package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestTenderRushingMemberLearnsNothing: a committee member that shifts a
// ranking comparison by 2^150 and sends last in the MAC check (n = 3) would
// read the capacity of the losing quote 0 from the next bounded-mask opening
// (found by review, when the check opened degree-2t shares): the check
// aborts first, so that opening never happens and nothing is committed.
// Quote 0 loses (weighted 1300, last of four; Quantity is filled before it).
func TestTenderRushingMemberLearnsNothing(t *testing.T) {
	tenderRush(t, 150, true, tenderCase{spec: TenderSpec{Quantity: 40, MaxPartners: 4, MaxPrice: 1000, PriceFactors: []uint64{10, 12, 10, 15}},
		prices: []uint64{130, 100, 120, 80}, capacities: []uint64{37, 25, 10, 40}})
}

// TestTenderRushingFlipAborts: one flipped comparison bit hidden by a member
// that sends last in the MAC check would commit a wrong but well-formed award
// (found by review): every honest member aborts instead.
func TestTenderRushingFlipAborts(t *testing.T) {
	tenderRush(t, 0, false, tenderCase{spec: TenderSpec{Quantity: 50, MaxPartners: 4, MaxPrice: 1000, PriceFactors: []uint64{10, 10, 10, 10}},
		prices: []uint64{100, 110, 200, 300}, capacities: []uint64{30, 30, 30, 30}})
}

// tenderRush runs a tender with member 1 shifting the first ranking
// comparison by 2^shift (only once unless leak) and sending last in every
// MAC check; party 0 records the mask:lt openings it sees.
func tenderRush(t *testing.T, shift uint, leak bool, c tenderCase) {
	const n, cheater = 3, 1
	in := quotesOf(t, n, c, 77)
	plan := cheat.Plan{MulOffset: true, MulOp: "lt", Offset: 1, OffsetShift: shift, RushCheck: true, MulOnce: !leak}
	var mu sync.Mutex
	var lt []fr.Vector
	res := make([]*TenderResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	nw := transport.NewMemoryNetwork()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx := context.Background()
			cfg := ss.Config{Rand: newSeeded(uint64(4242 + i))}
			if i == cheater {
				ctx = cheat.With(ctx, &plan)
			} else if i == 0 {
				cfg.OnOpen = func(label string, v fr.Vector) {
					if label == "mask:lt" {
						mu.Lock()
						lt = append(lt, append(fr.Vector(nil), v...))
						mu.Unlock()
					}
				}
			}
			errs[i] = RunSSParty(ctx, nw, "tender-rush", i, n, cfg, func(ctx context.Context, p *ss.Party) error {
				var err error
				res[i], err = RunTender(ctx, p, c.spec, in[i])
				return err
			})
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if i == cheater {
			continue
		}
		var ce *ss.CheckError
		if !errors.As(errs[i], &ce) || ce.Culprit != -1 {
			t.Fatalf("honest party %d: %v, want a failed check naming no one", i, errs[i])
		}
		if res[i] != nil {
			t.Fatalf("honest party %d committed an award: %+v", i, res[i].Commitments)
		}
	}
	if leak && len(lt) > 1 {
		t.Fatalf("the bounded-mask opening after the deviation happened (%d mask:lt openings)", len(lt))
	}
}
