package ss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/transport"
)

// runObserved is runMal where every party, the cheaters included, reports
// its openings to onOpen(party, label, values).
func runObserved[T any](t testing.TB, nw transport.Network, n int, plans map[int]*cheat.Plan, onOpen func(party int, label string, v fr.Vector), fn func(ctx context.Context, p *Party) (T, error)) ([]T, []error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	job := nextJob()
	res := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cctx := ctx
			if pl := plans[i]; pl != nil {
				cctx = cheat.With(ctx, pl)
			}
			conn, err := nw.Open(cctx, job, transport.PartyID(i), n)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close()
			cfg := Config{Rand: newSeeded(uint64(9100*n + i)), OnOpen: func(label string, v fr.Vector) { onOpen(i, label, v) }}
			p, err := NewParty(cctx, conn, cfg)
			if err != nil {
				errs[i] = err
				return
			}
			res[i], errs[i] = fn(cctx, p)
		}(i)
	}
	wg.Wait()
	return res, errs
}

// TestBoundedMaskOpenedOnlyAfterCheck (review C1): a member that adds a huge
// known offset (2^110, a field element far beyond any 64-bit value) to a
// comparison result makes the next value it feeds a comparison, equality
// test or truncation huge (max = a + (w+δ)(b−a)); were that opened under the
// bounded mask r′ + 2^m·r″ (≈ 2^106), the opening divided by δ would be b−a,
// an honest input. The test asserts, from the cheater's own view, that no
// bounded-mask opening follows a deviation without a check in between, and
// that the job aborts.
func TestBoundedMaskOpenedOnlyAfterCheck(t *testing.T) {
	for _, n := range committeeSizes {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 110))
		a, b := comparisonInputs(r, 8)
		as, bs := shareAll(t, prm, field.FromUint64s(a), 1), shareAll(t, prm, field.FromUint64s(b), 2)
		for _, next := range []string{"lt", "eq", "trunc"} {
			cheater := n - 1
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
					deviated.Store(false) // the check covering the deviation ran (and failed)
				case (label == "mask:lt" || label == "mask:eq" || label == "mask:trunc") && deviated.Load():
					mu.Lock()
					leaks = append(leaks, label)
					mu.Unlock()
				}
			}
			_, errs := runObserved(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: plan}, onOpen, func(ctx context.Context, p *Party) (fr.Vector, error) {
				v, err := authShares(ctx, p, as, bs)
				if err != nil {
					return nil, err
				}
				A, B := v[0], v[1]
				// All comparison randomness up front, as the jobs do: its
				// bitness check must not be what saves the day.
				if err := p.PrepareComparisons(ctx, 2*A.Len(), A.Len()); err != nil {
					return nil, err
				}
				w, err := p.LessThanVec(ctx, A, B)
				if err != nil {
					return nil, err
				}
				d, err := p.MulVec(ctx, w, B.Sub(A))
				if err != nil {
					return nil, err
				}
				mx := A.Add(d)
				var z Vec
				switch next {
				case "lt":
					z, err = p.LessThanVec(ctx, mx, B)
				case "eq":
					z, err = p.EqualVec(ctx, mx, B)
				case "trunc":
					z, err = p.TruncPrVec(ctx, mx, ValueBits+1, 16)
				}
				if err != nil {
					return nil, err
				}
				return p.OpenVec(ctx, "out", z)
			})
			what := fmt.Sprintf("n=%d then %s", n, next)
			if len(leaks) > 0 {
				t.Fatalf("%s: the cheater saw bounded-mask openings %v after its deviation, before any check", what, leaks)
			}
			for i, err := range errs {
				if i != cheater && err == nil {
					t.Fatalf("%s: honest party %d finished despite the deviation", what, i)
				}
			}
		}
	}
}

// TestHiddenInconsistencyFramesNobody (review M1): with n = 4 (t = 1) a
// member adds D(X) = X·(X − x_p) (p its PRG partner) to its re-sharing of a
// product: the value is unchanged and GRR cannot see it, so the MAC check
// passes, but the sharing is not of degree 1. Opening the product, it moves
// its own share onto the line through two honest shares, so that the third
// honest share alone looks off. Nobody honest may be named.
func TestHiddenInconsistencyFramesNobody(t *testing.T) {
	const n = 4
	prm := mustParams(t, n)
	as := shareAll(t, prm, field.FromUint64s([]uint64{3, 4}), 1)
	bs := shareAll(t, prm, field.FromUint64s([]uint64{5, 6}), 2)
	cheater := 0
	var deviated atomic.Bool
	plan := &cheat.Plan{HiddenOffset: true, Offset: 7, FrameLabel: "out", OnDeviate: func() { deviated.Store(true) }}
	_, errs, seen := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: plan}, func(ctx context.Context, p *Party) (fr.Vector, error) {
		v, err := authShares(ctx, p, as, bs)
		if err != nil {
			return nil, err
		}
		z, err := p.MulVec(ctx, v[0], v[1])
		if err != nil {
			return nil, err
		}
		return p.OpenVec(ctx, "out", z)
	})
	if !deviated.Load() {
		t.Fatal("the cheater never deviated")
	}
	checkAbort(t, "hidden inconsistency", n, errs, seen, cheater, -1)
}
