package sharecheck

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// MaxThreshold is the largest HE threshold t for which the check keeps the
// committee's privacy: every member deals its secrets (s_i, u_i, error
// bits) into the SS engine, which shares them with degree
// ⌊(n−1)/2⌋ (mpc/ss: honest majority, the largest degree that can still
// multiply), so any ⌊(n−1)/2⌋+1 members pooling their shares rebuild every
// member's s_i, hence the collective secret. That coalition is no smaller
// than t only when t ≤ ⌊(n−1)/2⌋+1 = ⌈n/2⌉; for a larger t the check must not
// run (he.Setup then runs unchecked).
func MaxThreshold(n int) int { return (n-1)/2 + 1 }

// Stats reports the size of a check.
type Stats struct {
	Inputs   int // field elements input by all members
	BitCheck int // bits and ternary values checked
}

// Check runs the committee's check that every member's public shares
// (stmts[D], known to every member) satisfy sys with a short witness. own is
// this member's witness. Every member must call it with the same system and
// statements. It returns nil when every member's shares pass; a
// *transport.PartyError (joined with errors.Join when several) naming each
// member and round (System.Groups; System.CheckRound for a bit check or a
// re-proven group) whose relations or bit checks failed
// after the engine's MAC check passed; or the engine's error (a failed MAC
// check or inconsistent opening aborts naming nobody, see mpc/ss).
//
// The party must run in malicious mode for the check to be sound: in
// semi-honest mode it only shows that honest members' shares are short.
func Check(ctx context.Context, p *ss.Party, sys *System, stmts []Statement, own *Witness) (Stats, error) {
	var stats Stats
	if err := sys.init(); err != nil {
		return stats, err
	}
	n := p.N()
	if err := checkLen("statements", len(stmts), n); err != nil {
		return stats, err
	}
	for d, st := range stmts {
		if err := sys.checkStatement(st); err != nil {
			return stats, fmt.Errorf("sharecheck: member %d: %w", d, err)
		}
	}
	mine, err := sys.phase1(own)
	if err != nil {
		return stats, err
	}

	// Phase 1: every member inputs its secrets and error bits. They are
	// fixed (degree-t, authenticated) before any point is drawn.
	m1, N := sys.phase1Len(), sys.N
	xs := make([]ss.Vec, n)
	for d := 0; d < n; d++ {
		var vals fr.Vector
		if d == p.Self() {
			vals = mine
		}
		if xs[d], err = p.InputVec(ctx, d, vals, m1); err != nil {
			return stats, fmt.Errorf("sharecheck: witness of member %d: %w", d, err)
		}
	}
	prg, err := coin(ctx, p, "points")
	if err != nil {
		return stats, err
	}
	pts := &points{c: make([][][]uint64, len(sys.Moduli))}
	for j, q := range sys.Moduli {
		pts.c[j] = make([][]uint64, sys.Reps)
		for rep := range pts.c[j] {
			pts.c[j][rep] = powers(uniformMod(prg, q), q, N)
		}
	}

	// Phase 2: every member inputs the bits of its quotients W at these
	// points (a member whose witness does not fit inputs wrapped bits and
	// fails below).
	mineW, _ := sys.quotients(stmts[p.Self()], own, pts)
	if own.tamper != nil {
		own.tamper(2, mineW)
	}
	m2 := sys.phase2Len()
	ws := make([]ss.Vec, n)
	for d := 0; d < n; d++ {
		var vals fr.Vector
		if d == p.Self() {
			vals = mineW
		}
		if ws[d], err = p.InputVec(ctx, d, vals, m2); err != nil {
			return stats, fmt.Errorf("sharecheck: quotients of member %d: %w", d, err)
		}
	}
	stats.Inputs = n * (m1 + m2)

	// Squares of the secrets, for x³ − x = 0.
	sN := len(sys.Secrets) * N
	secs := make([]ss.Vec, n)
	for d := range secs {
		secs[d] = xs[d].Slice(0, sN)
	}
	all := ss.ConcatVecs(secs...)
	sq, err := p.MulVec(ctx, all, all)
	if err != nil {
		return stats, fmt.Errorf("sharecheck: squares: %w", err)
	}

	// Coefficients of the random linear combinations, drawn after every
	// input is fixed.
	prg2, err := coin(ctx, p, "combination")
	if err != nil {
		return stats, err
	}
	lin := sys.combine(prg2, pts, stmts)

	// Per member: Z_{D,g} = Σ ρ·σ·(L − q·W) over group g's relations
	// (linear), and B_D = Σ w_i·b_i(b_i−1) over its bits + Σ w_i·(x_i²·x_i −
	// x_i) over its secret coefficients, as dot products (w⊙b)·b and
	// (w⊙x²)·x less the linear ⟨w, b⟩ and ⟨w, x⟩.
	stats.BitCheck = n * (m1 + m2)
	zs := make([]ss.Vec, 0, n*len(sys.Groups)+n)
	for d := 0; d < n; d++ {
		for g := range sys.Groups {
			z := linear(xs[d], lin.gamma[g])
			z.AddInPlace(linear(ws[d], lin.gammaW[g]))
			zs = append(zs, p.AddConst(z, &lin.kappa[g][d]))
		}
	}
	// One dot product per member, so that the scaled copies of only one
	// member's inputs exist at a time. The coefficients are the powers of
	// one random ρ: a non-zero vector of M values passes with probability
	// ≤ M/r (Schwartz–Zippel).
	var rho fr.Element
	prg2.Element(&rho)
	for d := 0; d < n; d++ {
		ys := []ss.Vec{xs[d].Slice(sN, m1), ws[d], secs[d]}
		sqd := sq.Slice(d*sN, (d+1)*sN)
		lsum := p.NewVec(1)
		cur := rho // the pieces take consecutive powers: no two values share one
		dx := make([]ss.Vec, len(ys))
		for i, y := range ys {
			w := powersOf(&cur, &rho, y.Len())
			lsum.AddInPlace(linear(y, w))
			x := y
			if i == 2 {
				x = sqd
			}
			dx[i] = scaleEach(x, w)
		}
		dots, err := p.DotVec(ctx, dx, ys)
		if err != nil {
			return stats, fmt.Errorf("sharecheck: bit checks: %w", err)
		}
		b := p.NewVec(1)
		for i := range ys {
			b.AddInPlace(dots.Slice(i, i+1))
		}
		zs = append(zs, b.Sub(lsum))
	}
	open := ss.ConcatVecs(zs...)
	// Non-masked label: the engine runs its MAC check first, so a value that
	// opens non-zero is what member D input, not a product someone shifted.
	res, err := p.OpenVec(ctx, "hezk:shares", open)
	if err != nil {
		return stats, fmt.Errorf("sharecheck: %w", err)
	}
	var errs []error
	for d := 0; d < n; d++ {
		var fails []string
		for g, grp := range sys.Groups {
			if !res[d*len(sys.Groups)+g].IsZero() {
				round, what := grp.Round, grp.Name
				if grp.Reproven {
					// The share passed its own check: what failed is the
					// binding of this check's witness to it.
					round, what = sys.CheckRound(), "re-proven "+grp.Name
				}
				errs = append(errs, &transport.PartyError{Party: transport.PartyID(d), Round: round,
					Err: fmt.Errorf("sharecheck: %s does not satisfy its relations with a short witness", what)})
				fails = append(fails, grp.Name)
			}
		}
		if !res[n*len(sys.Groups)+d].IsZero() && len(fails) == 0 {
			errs = append(errs, &transport.PartyError{Party: transport.PartyID(d), Round: sys.CheckRound(),
				Err: errors.New("sharecheck: setup witness is not short (a non-bit or non-ternary value)")})
		}
	}
	return stats, errors.Join(errs...)
}

// coin opens a joint random field element (uniform whatever a minority
// does; its opening uses all n shares) and expands it.
func coin(ctx context.Context, p *ss.Party, what string) (*field.PRG, error) {
	r, err := p.RandomVec(ctx, 1)
	if err != nil {
		return nil, fmt.Errorf("sharecheck: coin: %w", err)
	}
	v, err := p.OpenVec(ctx, "mask:hezk-coin", r)
	if err != nil {
		return nil, fmt.Errorf("sharecheck: coin: %w", err)
	}
	b := v[0].Bytes()
	seed := sha256.Sum256(append([]byte("cohort/he/sharecheck/"+what+"\x00"), b[:]...))
	return field.NewPRG(seed, "cohort/he/sharecheck/"+what), nil
}

// uniformMod draws a uniform residue mod q by rejection.
func uniformMod(prg *field.PRG, q uint64) uint64 {
	shift := 64 - bits.Len64(q)
	for {
		if x := prg.Uint64() >> shift; x < q {
			return x
		}
	}
}

// scaleEach returns c⊙x for public c (both halves).
func scaleEach(x ss.Vec, c fr.Vector) ss.Vec {
	y := ss.Vec{V: field.Mul(x.V, c)}
	if x.M != nil {
		y.M = field.Mul(x.M, c)
	}
	return y
}

// linear returns the one-element sharing of ⟨c, x⟩ for public c.
func linear(x ss.Vec, c fr.Vector) ss.Vec {
	y := ss.Vec{V: fr.Vector{x.V.InnerProduct(c)}}
	if x.M != nil {
		y.M = fr.Vector{x.M.InnerProduct(c)}
	}
	return y
}

// powersOf returns cur, cur·ρ, …, cur·ρ^(m−1) and advances cur to cur·ρ^m.
func powersOf(cur, rho *fr.Element, m int) fr.Vector {
	out := make(fr.Vector, m)
	for i := range out {
		out[i] = *cur
		cur.Mul(cur, rho)
	}
	return out
}
