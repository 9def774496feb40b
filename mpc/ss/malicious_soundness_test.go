package ss

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
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

// TestCollusionFramesNobody (review M3): with n = 5 (t = 2) two colluders
// shift their shares of an output opening onto the polynomial through the
// honest shares of parties 0 and 1 plus a multiple of (X−x_0)(X−x_1), so
// that party 2's honest share is the only one off: exactly what a single
// deviation by party 2 looks like. No honest member may be named (a name
// costs credit); the suspect may appear in the text only.
func TestCollusionFramesNobody(t *testing.T) {
	const n = 5
	prm := mustParams(t, n)
	as := shareAll(t, prm, field.FromUint64s([]uint64{3, 4}), 1)
	bs := shareAll(t, prm, field.FromUint64s([]uint64{5, 6}), 2)
	plans := map[int]*cheat.Plan{}
	for _, c := range []int{3, 4} {
		plans[c] = &cheat.Plan{ShiftOpen: true, ShiftTo: -1, ShiftLabel: "out", ShiftAt: []int{0, 1}}
	}
	_, errs, seen := runMal(t, transport.NewMemoryNetwork(), n, plans, adversarialJob(as, bs))
	if u := seen.unmasked(-1); len(u) > 0 {
		t.Fatalf("honest parties opened %v", u)
	}
	for i := 0; i < 3; i++ {
		var pe *transport.PartyError
		var ce *CheckError
		switch {
		case errs[i] == nil:
			t.Fatalf("honest party %d finished despite the deviation", i)
		case errors.As(errs[i], &pe):
			t.Fatalf("honest party %d names party %d: %v", i, pe.Party, errs[i])
		case !errors.As(errs[i], &ce):
			t.Fatalf("honest party %d: want a check failure, got %v", i, errs[i])
		}
	}
	// The recipient side: the same shares at ReconstructChecked.
	v := field.FromUint64s([]uint64{42})
	sh := shareAll(t, prm, v, 9)
	for _, c := range []int{3, 4} {
		xc, x0, x1 := point(c), point(0), point(1)
		var d, f fr.Element
		d.Sub(&xc, &x0)
		f.Sub(&xc, &x1)
		d.Mul(&d, &f)
		sh[c][0].Add(&sh[c][0], &d)
	}
	_, err := ReconstructChecked(prm, sh)
	var pe *transport.PartyError
	var ce *CheckError
	if errors.As(err, &pe) || !errors.As(err, &ce) {
		t.Fatalf("ReconstructChecked: want an unidentified check error, got %v", err)
	}
}

// TestLyingAbortNoticeNamesNobody (review M2): a member sends every other
// member an abort notice blaming honest party h (or "unidentified") and
// leaves. In malicious mode no honest member may be named on that word;
// a member that leaves without a notice is still named (TestLeaverNamed).
func TestLyingAbortNoticeNamesNobody(t *testing.T) {
	for _, n := range committeeSizes {
		prm := mustParams(t, n)
		as := shareAll(t, prm, field.FromUint64s([]uint64{3, 4}), 1)
		bs := shareAll(t, prm, field.FromUint64s([]uint64{5, 6}), 2)
		const cheater, h = 1, 2
		for _, blame := range []int{h, -1} {
			plan := &cheat.Plan{LeaveAt: "out", NoticeBlames: blame}
			_, errs, _ := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: plan}, adversarialJob(as, bs))
			for i, err := range errs {
				if i == cheater {
					continue
				}
				var pe *transport.PartyError
				if err == nil {
					t.Fatalf("n=%d blame=%d: party %d finished", n, blame, i)
				}
				if errors.As(err, &pe) && int(pe.Party) != cheater {
					t.Fatalf("n=%d blame=%d: party %d names honest party %d: %v", n, blame, i, pe.Party, err)
				}
			}
		}
	}
}

// TestLeaverNamed: in malicious mode a member that leaves without a notice
// is named by every other member, also those that learn of it through
// another member's notice (which they confirm on their own connection).
func TestLeaverNamed(t *testing.T) {
	for _, n := range committeeSizes {
		prm := mustParams(t, n)
		as := shareAll(t, prm, field.FromUint64s([]uint64{3, 4}), 1)
		bs := shareAll(t, prm, field.FromUint64s([]uint64{5, 6}), 2)
		const leaver = 1
		_, errs, _ := runMal(t, transport.NewMemoryNetwork(), n, nil, func(ctx context.Context, p *Party) (fr.Vector, error) {
			if p.Self() == leaver {
				v, err := authShares(ctx, p, as, bs)
				if err != nil {
					return nil, err
				}
				_ = v
				p.failure.aborted.Store(true) // leave without a notice
				return nil, p.Close()
			}
			return adversarialJob(as, bs)(ctx, p)
		})
		for i, err := range errs {
			if i == leaver {
				continue
			}
			var pe *transport.PartyError
			if !errors.As(err, &pe) || pe.Party != leaver {
				t.Fatalf("n=%d party %d: want party %d named, got %v", n, i, leaver, err)
			}
		}
	}
}

// TestInconsistentMemberInput (review, minor): a member sharing its own
// input (InputVec) off degree t makes the job abort at the input, with the
// dealt-input check, naming no one.
func TestInconsistentMemberInput(t *testing.T) {
	for _, n := range committeeSizes {
		const owner = 1
		plan := &cheat.Plan{BadInput: true}
		_, errs, seen := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{owner: plan}, func(ctx context.Context, p *Party) (fr.Vector, error) {
			x, err := p.InputVec(ctx, owner, ifSelf(p, owner, field.FromUint64s([]uint64{7, 8})), 2)
			if err != nil {
				return nil, err
			}
			y, err := p.MulVec(ctx, x, x)
			if err != nil {
				return nil, err
			}
			return p.OpenVec(ctx, "out", y)
		})
		checkAbort(t, "member input", n, errs, seen, owner, -1)
		for i, err := range errs {
			var ce *CheckError
			if i != owner && (!errors.As(err, &ce) || !strings.Contains(err.Error(), "dealt inputs")) {
				t.Fatalf("n=%d party %d: want the dealt-input check to fail, got %v", n, i, err)
			}
		}
	}
}

// TestSecurityModeMismatch (review, nit): members that disagree on the
// security mode fail at setup with an error saying so.
func TestSecurityModeMismatch(t *testing.T) {
	_, errs := runPartiesCfg(t, transport.NewMemoryNetwork(), 3, func(i int) Config {
		c := Config{Rand: newSeeded(uint64(i))}
		if i == 0 {
			c.Security = SemiHonest
		}
		return c
	}, func(ctx context.Context, p *Party) (fr.Vector, error) { return nil, nil })
	said := false
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), "must agree on the security mode") {
			said = true
		}
	}
	if !said {
		t.Fatalf("no member reported the mode mismatch: %v", errs)
	}
}
