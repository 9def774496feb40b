package ss

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestCheckRounds: a MAC check costs four rounds once its random sharings
// are dealt (coin opening, α·w, s·T, the opening of s·T with all n shares),
// and it passes for honest parties, also for even n.
func TestCheckRounds(t *testing.T) {
	for _, n := range []int{3, 4, 5} {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 3))
		as := shareAll(t, prm, randField(r, 5), 1)
		bs := shareAll(t, prm, randField(r, 5), 2)
		res, errs, _ := runMal(t, transport.NewMemoryNetwork(), n, nil, func(ctx context.Context, p *Party) (int, error) {
			v, err := authShares(ctx, p, as, bs)
			if err != nil {
				return 0, err
			}
			if _, err := p.MulVec(ctx, v[0], v[1]); err != nil {
				return 0, err
			}
			if err := p.Verify(ctx); err != nil { // deals the pool
				return 0, err
			}
			if _, err := p.MulVec(ctx, v[0], v[1]); err != nil {
				return 0, err
			}
			before := p.Stats.Rounds
			if err := p.Verify(ctx); err != nil {
				return 0, err
			}
			return p.Stats.Rounds - before, nil
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("n=%d party %d: %v", n, i, err)
			}
			if res[i] != 4 {
				t.Fatalf("n=%d party %d: check took %d rounds, want 4", n, i, res[i])
			}
		}
	}
}

// TestCheckCatchesItsCheaters: a member that shifts its share of the check
// opening (degree 2t: no consistency check sees it), or that adds an error to
// the MAC half only of its products (the values stay right), makes every
// honest member abort without naming anyone, before anything is opened.
func TestCheckCatchesItsCheaters(t *testing.T) {
	for _, n := range []int{3, 4, 5} {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 5))
		a, b := comparisonInputs(r, 6)
		as, bs := shareAll(t, prm, field.FromUint64s(a), 1), shareAll(t, prm, field.FromUint64s(b), 2)
		for _, c := range []struct {
			name    string
			cheater int
			plan    cheat.Plan
		}{
			{"shift-check-share", 1, cheat.Plan{ShiftCheck: true}},
			{"shift-check-share-first-opener", 0, cheat.Plan{ShiftCheck: true}},
			{"mac-only-offset", n - 1, cheat.Plan{MacOffset: true, Offset: 1}},
			{"mac-only-offset-in-lt", n - 1, cheat.Plan{MacOffset: true, MulOp: "lt", Offset: 3}},
		} {
			plan := c.plan
			_, errs, seen := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{c.cheater: &plan}, adversarialJob(as, bs))
			checkAbort(t, c.name, n, errs, seen, c.cheater, -1)
			for i, err := range errs {
				var ce *CheckError
				if i != c.cheater && errors.As(err, &ce) && ce.Culprit >= 0 {
					t.Fatalf("%s n=%d: party %d names party %d: %v", c.name, n, i, ce.Culprit, err)
				}
			}
		}
	}
}

// TestCheckValueHidesMacError: the check opens s·T, not T. A member adds 1 to
// the MAC of z = x·y only; the next product z·v then carries the MAC error
// 1·v for an honest v (and the member's own +1), so T = X + v + 1 with X the
// coin-derived coefficient, which the member knows: opening T would hand it
// v. The job must abort, and the value the member sees must be neither 0 nor
// T.
func TestCheckValueHidesMacError(t *testing.T) {
	const n, cheater = 3, 2
	prm := mustParams(t, n)
	r := rand.New(rand.NewPCG(9, 9))
	secrets := randField(r, 3) // x, y, v
	sh := make([][]fr.Vector, 3)
	for k := range sh {
		sh[k] = shareAll(t, prm, secrets[k:k+1], uint64(10+k))
	}
	var mu sync.Mutex
	var coins, checks []fr.Vector
	onOpen := func(party int, label string, v fr.Vector) {
		if party != cheater {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch label {
		case "mask:coin":
			coins = append(coins, append(fr.Vector(nil), v...))
		case "check:mac":
			checks = append(checks, append(fr.Vector(nil), v...))
		}
	}
	plan := &cheat.Plan{MacOffset: true, Offset: 1}
	_, errs := runObserved(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: plan}, onOpen, func(ctx context.Context, p *Party) (struct{}, error) {
		v, err := authShares(ctx, p, sh[0], sh[1], sh[2])
		if err != nil {
			return struct{}{}, err
		}
		z, err := p.MulVec(ctx, v[0], v[1])
		if err != nil {
			return struct{}{}, err
		}
		if _, err := p.MulVec(ctx, z, v[2]); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, p.Verify(ctx)
	})
	for i, err := range errs {
		var ce *CheckError
		if i != cheater && (!errors.As(err, &ce) || ce.Check != "mac") {
			t.Fatalf("honest party %d: want a failed MAC check, got %v", i, err)
		}
	}
	if len(checks) != 1 || len(coins) == 0 {
		t.Fatalf("cheater saw %d check openings and %d coins", len(checks), len(coins))
	}
	var seed [field.SeedBytes]byte
	b := coins[len(coins)-1][0].Bytes()
	copy(seed[:], b[:])
	var x, T fr.Element
	field.NewPRG(seed, "cohort/ss/coin").Element(&x)
	one := fr.One()
	T.Add(&x, &secrets[2]).Add(&T, &one)
	got := checks[0][0]
	if got.IsZero() {
		t.Fatal("the check opened 0 despite the MAC error")
	}
	if got.Equal(&T) {
		t.Fatalf("the check opened T = X + v + 1 itself: the cheater learns v (%s)", fmt.Sprint(secrets[2].String()))
	}
}

// TestHornerPendingMatchesHorner: the vectorised check sums (powers table
// and inner products per segment) equal one plain Horner pass over the
// pending pairs in order, for vectors of lengths that cut segments short;
// and the bitness sums equal theirs.
func TestHornerPendingMatchesHorner(t *testing.T) {
	prg := field.NewPRG([32]byte{9}, "horner")
	p := &Party{workers: []*worker{{stream: make([]byte, field.StreamBufBytes)}, {stream: make([]byte, field.StreamBufBytes)}}}
	var x fr.Element
	prg.Element(&x)
	var wantU, wantW fr.Element
	for _, n := range []int{1, chunkSize - 1, chunkSize, 3*chunkSize + 5, 0, 17} {
		z, m := field.New(n), field.New(n)
		prg.FillVector(z)
		prg.FillVector(m)
		p.pend.z = append(p.pend.z, z)
		p.pend.m = append(p.pend.m, m)
		for j := range z {
			wantU.Mul(&wantU, &x).Add(&wantU, &m[j])
			wantW.Mul(&wantW, &x).Add(&wantW, &z[j])
		}
	}
	u, w := p.hornerPending(&x)
	if !u.Equal(&wantU) || !w.Equal(&wantW) {
		t.Fatalf("hornerPending differs from Horner")
	}
	bitsOf := make([]Vec, len(p.pend.z))
	for i := range bitsOf {
		bitsOf[i] = Vec{V: p.pend.z[i], M: p.pend.m[i]}
	}
	h := bitnessSums(p, &x, bitsOf)
	one := fr.One()
	for i, b := range bitsOf {
		var a, mm, u, e fr.Element
		for j := range b.V {
			u.Sub(&one, &b.V[j])
			e.Mul(&u, &b.V[j])
			a.Mul(&a, &x).Add(&a, &e)
			e.Mul(&u, &b.M[j])
			mm.Mul(&mm, &x).Add(&mm, &e)
		}
		if !h[i].Equal(&a) || !h[len(bitsOf)+i].Equal(&mm) {
			t.Fatalf("bitness sums of vector %d differ from Horner", i)
		}
	}
}
