package ss

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestRushingCheckAborts: a member that sends last in the MAC check's
// opening (it reads every other share of s·T first and sends the share that
// makes its own reconstruction 0) cannot hide a product offset (here a
// comparison result shifted by 2^110): the t+1 honest shares fix s·T, so
// every honest member aborts, naming no one. Found by review: when the check
// opened the degree-2t products T_i·s_i, this member forced the value to 0
// and every honest member accepted the wrong result.
func TestRushingCheckAborts(t *testing.T) {
	for _, n := range []int{3, 5} {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 5))
		a, b := comparisonInputs(r, 6)
		as, bs := shareAll(t, prm, field.FromUint64s(a), 1), shareAll(t, prm, field.FromUint64s(b), 2)
		plan := cheat.Plan{MulOffset: true, MulOp: "lt", Offset: 1, OffsetShift: 110, RushCheck: true}
		res, errs, _ := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{1: &plan}, adversarialJob(as, bs))
		for i := 0; i < n; i++ {
			if i == 1 {
				continue
			}
			requireAnonymousAbort(t, n, i, errs[i])
			// The forged share is off the polynomial the honest shares fix.
			var ce *CheckError
			if errors.As(errs[i], &ce); ce.Check != "open check:mac" {
				t.Fatalf("n=%d honest party %d: %v, want inconsistent check shares", n, i, errs[i])
			}
			if res[i] != nil {
				t.Fatalf("n=%d honest party %d accepted a result: %v", n, i, res[i])
			}
		}
	}
}

// TestRushingCheckStopsTheMaskedLeak: the sending-last member shifts the
// first comparison result by δ = 2^150 and tries to pass the check that runs
// before the next bounded-mask opening, which would carry δ·(b−a) (so
// round(opened/δ) is the difference of two honest inputs): the check aborts
// and the second mask:lt opening never happens. (Found by review: with the
// degree-2t check opening the difference was recovered exactly.)
func TestRushingCheckStopsTheMaskedLeak(t *testing.T) {
	const n = 3
	prm := mustParams(t, n)
	r := rand.New(rand.NewPCG(11, 5))
	a, b := comparisonInputs(r, 6)
	c, _ := comparisonInputs(r, 6)
	a[0], b[0] = 123456789012345, 987654321098765 // two honest inputs (dealt by providers)
	as, bs, cs := shareAll(t, prm, field.FromUint64s(a), 1), shareAll(t, prm, field.FromUint64s(b), 2), shareAll(t, prm, field.FromUint64s(c), 3)
	plan := cheat.Plan{MulOffset: true, MulOp: "lt", Offset: 1, OffsetShift: 150, RushCheck: true}
	var opened []fr.Vector
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nw := transport.NewMemoryNetwork()
	job := nextJob()
	errs := make([]error, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cctx := ctx
			if i == 1 {
				cctx = cheat.With(ctx, &plan)
			}
			conn, err := nw.Open(cctx, job, transport.PartyID(i), n)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close()
			cfg := Config{Rand: newSeeded(uint64(99 + i))}
			if i == 0 {
				cfg.OnOpen = func(label string, v fr.Vector) {
					if label == "mask:lt" {
						mu.Lock()
						opened = append(opened, append(fr.Vector(nil), v...))
						mu.Unlock()
					}
				}
			}
			p, err := NewParty(cctx, conn, cfg)
			if err != nil {
				errs[i] = err
				return
			}
			v, err := authShares(cctx, p, as, bs, cs)
			if err != nil {
				errs[i] = err
				return
			}
			lt, err := p.LessThanVec(cctx, v[0], v[1])
			if err != nil {
				errs[i] = err
				return
			}
			sel, err := p.SelectVec(cctx, lt, v[1], v[0])
			if err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = p.LessThanVec(cctx, sel, v[2])
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if i != 1 {
			requireAnonymousAbort(t, n, i, errs[i])
		}
	}
	if len(opened) > 1 {
		t.Fatalf("the bounded-mask opening after the deviation happened (%d mask:lt openings)", len(opened))
	}
}

// TestRushingCheckFramesNobody: the sending-last member shifts dealer 0's
// bitness sum (a MAC error) and tries to hide it in the check, which would
// make the non-zero result name the honest dealer 0 as the dealer of a
// non-bit: the check aborts first and names no one. (Found by review.)
func TestRushingCheckFramesNobody(t *testing.T) {
	for _, n := range []int{3, 5} {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 5))
		a, b := comparisonInputs(r, 6)
		as, bs := shareAll(t, prm, field.FromUint64s(a), 1), shareAll(t, prm, field.FromUint64s(b), 2)
		plan := cheat.Plan{FrameBits: true, RushCheck: true}
		_, errs, _ := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{1: &plan}, adversarialJob(as, bs))
		for i := 0; i < n; i++ {
			if i != 1 {
				requireAnonymousAbort(t, n, i, errs[i])
			}
		}
	}
}

// requireAnonymousAbort fails unless err is a failed check that names no one.
func requireAnonymousAbort(t *testing.T, n, party int, err error) {
	t.Helper()
	var ce *CheckError
	var pe *transport.PartyError
	switch {
	case err == nil:
		t.Fatalf("n=%d honest party %d did not abort", n, party)
	case errors.As(err, &pe):
		t.Fatalf("n=%d honest party %d names party %d: %v", n, party, pe.Party, err)
	case !errors.As(err, &ce) || ce.Culprit != -1:
		t.Fatalf("n=%d honest party %d: %v, want a failed check naming no one", n, party, err)
	}
}
