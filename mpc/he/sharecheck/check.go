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
	return CheckBatch(ctx, p, []Part{{
		Sys:        sys,
		Statements: func() ([]Statement, error) { return stmts, nil },
		Witness:    func(Statement) (*Witness, error) { return own, nil },
	}})
}

// Part is one part of a batched check (CheckBatch): a system, every
// member's statements of it and this member's witness. The statements and
// the witness are made only when the part runs, so that one part's public
// data and input shares are in memory at a time.
type Part struct {
	Sys *System
	// Statements returns every member's statement of Sys (the shares as
	// this member received them).
	Statements func() ([]Statement, error)
	// Witness returns this member's witness of Sys given its own statement.
	Witness func(own Statement) (*Witness, error)
}

// CheckBatch is Check over several systems on the same secrets (same ring,
// moduli and secret names), run as one check: the secrets are input and
// checked ternary once, with the first part, and every later part inputs
// only its error bits and proves its relations on those same secret
// sharings (so no part needs to re-prove a share to bind its secrets).
// Each part draws its own evaluation points and combination after its own
// inputs (the soundness argument of one check, per part), and its shares are
// folded into its opened values Z and B before the next part is input:
// memory holds one part's inputs, not the batch's. One opening at the end
// (one MAC check of every product) opens every part's values; a non-zero
// value names its member in its part's round (the group's, or the part's
// System.CheckRound for a bit check or a re-proven group).
func CheckBatch(ctx context.Context, p *ss.Party, parts []Part) (Stats, error) {
	var stats Stats
	if len(parts) == 0 {
		return stats, errors.New("sharecheck: empty batch")
	}
	for k, pt := range parts {
		if err := pt.Sys.init(); err != nil {
			return stats, err
		}
		if k > 0 && !sameShape(parts[0].Sys, pt.Sys) {
			return stats, fmt.Errorf("sharecheck: part %d: another ring, moduli or secrets than part 0", k)
		}
	}
	n, self := p.N(), p.Self()
	N := parts[0].Sys.N
	sN := len(parts[0].Sys.Secrets) * N

	// Per member: the secrets' sharings (input with part 0, used by every
	// part) and their squares, for x³ − x = 0.
	secs := make([]ss.Vec, n)
	var sq ss.Vec
	var ownSecrets [][]int64
	// What each opened value is: member, part, group (−1: the bit check).
	type tag struct{ d, part, group int }
	var zs []ss.Vec
	var tags []tag
	for k, pt := range parts {
		sys := pt.Sys
		stmts, err := pt.Statements()
		if err != nil {
			return stats, err
		}
		if err := checkLen("statements", len(stmts), n); err != nil {
			return stats, err
		}
		for d, st := range stmts {
			if err := sys.checkStatement(st); err != nil {
				return stats, fmt.Errorf("sharecheck: member %d: %w", d, err)
			}
		}
		own, err := pt.Witness(stmts[self])
		if err != nil {
			return stats, err
		}
		mine, err := sys.phase1(own)
		if err != nil {
			return stats, err
		}
		m1 := sys.phase1Len()
		if k == 0 {
			ownSecrets = own.Secrets
		} else {
			if !sameInts(own.Secrets, ownSecrets) {
				return stats, fmt.Errorf("sharecheck: part %d: witness on other secrets than part 0's", k)
			}
			mine, m1 = mine[sN:], m1-sN
		}

		// Phase 1: every member inputs its error bits (and, in part 0, its
		// secrets). They are fixed (degree-t, authenticated) before any
		// point of this part is drawn.
		xs := make([]ss.Vec, n) // the error bits
		for d := 0; d < n; d++ {
			var vals fr.Vector
			if d == self {
				vals = mine
			}
			if xs[d], err = p.InputVec(ctx, d, vals, m1); err != nil {
				return stats, fmt.Errorf("sharecheck: witness of member %d: %w", d, err)
			}
			if k == 0 {
				// A copy: the slice would keep the whole input alive.
				secs[d], xs[d] = xs[d].Slice(0, sN).Clone(), xs[d].Slice(sN, m1)
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
		// points (a member whose witness does not fit inputs wrapped bits
		// and fails below).
		mineW, _, err := sys.quotients(stmts[self], own, pts)
		if err != nil {
			return stats, err
		}
		if own.tamper != nil {
			own.tamper(2, mineW)
		}
		m2 := sys.phase2Len()
		ws := make([]ss.Vec, n)
		for d := 0; d < n; d++ {
			var vals fr.Vector
			if d == self {
				vals = mineW
			}
			if ws[d], err = p.InputVec(ctx, d, vals, m2); err != nil {
				return stats, fmt.Errorf("sharecheck: quotients of member %d: %w", d, err)
			}
		}
		stats.Inputs += n * (m1 + m2)
		stats.BitCheck += n * (m1 + m2)

		if k == 0 {
			all := ss.ConcatVecs(secs...)
			if sq, err = p.MulVec(ctx, all, all); err != nil {
				return stats, fmt.Errorf("sharecheck: squares: %w", err)
			}
		}

		// Coefficients of the random linear combinations, drawn after every
		// input of this part is fixed.
		prg2, err := coin(ctx, p, "combination")
		if err != nil {
			return stats, err
		}
		lin := sys.combine(prg2, pts, stmts)
		stmts = nil // the public side of this part is folded into lin

		// Per member: Z_{D,g} = Σ ρ·σ·(L − q·W) over group g's relations
		// (linear), and B_D = Σ w_i·b_i(b_i−1) over its bits (+ Σ
		// w_i·(x_i²·x_i − x_i) over its secret coefficients, in part 0), as
		// dot products (w⊙b)·b and (w⊙x²)·x less the linear ⟨w, b⟩ and ⟨w,
		// x⟩.
		for d := 0; d < n; d++ {
			for g := range sys.Groups {
				z := linear(secs[d], lin.gamma[g][:sN])
				z.AddInPlace(linear(xs[d], lin.gamma[g][sN:]))
				z.AddInPlace(linear(ws[d], lin.gammaW[g]))
				zs = append(zs, p.AddConst(z, &lin.kappa[g][d]))
				tags = append(tags, tag{d, k, g})
			}
		}
		// The coefficients are the powers of one random ρ, the same for
		// every member (each member's B is its own value): a non-zero
		// vector of M values passes with probability ≤ M/r
		// (Schwartz–Zippel).
		var rho fr.Element
		prg2.Element(&rho)
		lens := []int{xs[self].Len(), m2}
		if k == 0 {
			lens = append(lens, sN)
		}
		weights := make([]fr.Vector, len(lens))
		cur := rho // the pieces take consecutive powers: no two values share one
		for i, m := range lens {
			weights[i] = powersOf(&cur, &rho, m)
		}
		// The scaled copies w⊙x, one member at a time, in buffers reused
		// across members (DotVec keeps no reference to its inputs).
		dx := make([]ss.Vec, len(lens))
		for d := 0; d < n; d++ {
			ys := []ss.Vec{xs[d], ws[d]}
			if k == 0 {
				ys = append(ys, secs[d])
			}
			lsum := p.NewVec(1)
			for i, y := range ys {
				lsum.AddInPlace(linear(y, weights[i]))
				x := y
				if i == 2 {
					x = sq.Slice(d*sN, (d+1)*sN)
				}
				dx[i] = scaleInto(dx[i], x, weights[i])
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
			tags = append(tags, tag{d, k, -1})
		}
	}
	open := ss.ConcatVecs(zs...)
	// Non-masked label: the engine runs its MAC check first, so a value that
	// opens non-zero is what member D input, not a product someone shifted.
	res, err := p.OpenVec(ctx, "hezk:shares", open)
	if err != nil {
		return stats, fmt.Errorf("sharecheck: %w", err)
	}
	var errs []error
	failed := make(map[[2]int]bool) // (member, part) with a failing relation
	for i, tg := range tags {
		if tg.group < 0 || res[i].IsZero() {
			continue
		}
		sys := parts[tg.part].Sys
		grp := sys.Groups[tg.group]
		round, what := grp.Round, grp.Name
		if grp.Reproven {
			// The share passed its own check: what failed is the binding
			// of this check's witness to it.
			round, what = sys.CheckRound(), "re-proven "+grp.Name
		}
		errs = append(errs, &transport.PartyError{Party: transport.PartyID(tg.d), Round: round,
			Err: fmt.Errorf("sharecheck: %s does not satisfy its relations with a short witness", what)})
		failed[[2]int{tg.d, tg.part}] = true
	}
	for i, tg := range tags {
		if tg.group >= 0 || res[i].IsZero() || failed[[2]int{tg.d, tg.part}] {
			continue
		}
		errs = append(errs, &transport.PartyError{Party: transport.PartyID(tg.d), Round: parts[tg.part].Sys.CheckRound(),
			Err: errors.New("sharecheck: setup witness is not short (a non-bit or non-ternary value)")})
	}
	return stats, errors.Join(errs...)
}

// sameShape reports whether two systems share the ring, moduli and secrets.
func sameShape(a, b *System) bool {
	if a.N != b.N || len(a.Moduli) != len(b.Moduli) || len(a.Secrets) != len(b.Secrets) {
		return false
	}
	for j := range a.Moduli {
		if a.Moduli[j] != b.Moduli[j] {
			return false
		}
	}
	for i := range a.Secrets {
		if a.Secrets[i] != b.Secrets[i] {
			return false
		}
	}
	return true
}

// sameInts reports whether two witnesses' secrets are equal.
func sameInts(a, b [][]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for k := range a[i] {
			if a[i][k] != b[i][k] {
				return false
			}
		}
	}
	return true
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

// scaleInto returns c⊙x for public c (both halves), in dst's storage when
// it is large enough.
func scaleInto(dst, x ss.Vec, c fr.Vector) ss.Vec {
	m := x.Len()
	if cap(dst.V) < m || (x.M != nil && cap(dst.M) < m) {
		dst = ss.Vec{V: make(fr.Vector, m)}
		if x.M != nil {
			dst.M = make(fr.Vector, m)
		}
	}
	y := ss.Vec{V: dst.V[:m]}
	y.V.Mul(x.V, c)
	if x.M != nil {
		y.M = dst.M[:m]
		y.M.Mul(x.M, c)
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

// Split partitions s into parts for CheckBatch: relation r goes to part
// partOf[r] (parts numbered from 0, each non-empty), with the groups and
// public polynomials its relations use. Every part keeps s's secrets and
// reports a failure no group accounts for in s.CheckRound(), as one check
// of s would. Checking the parts in a batch proves what one check of s
// proves, with one part's input shares in memory at a time (at the cost of
// two coins and one bit-check product round per part).
func (s *System) Split(partOf []int) ([]*System, error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	if err := checkLen("partition", len(partOf), len(s.Rels)); err != nil {
		return nil, err
	}
	nParts := 0
	for _, k := range partOf {
		if k < 0 || k >= len(s.Rels) {
			return nil, fmt.Errorf("sharecheck: relation in part %d", k)
		}
		nParts = max(nParts, k+1)
	}
	parts := make([]*System, nParts)
	groupIdx := make([]map[int]int, nParts)
	polyIdx := make([]map[int]int, nParts)
	for k := range parts {
		parts[k] = &System{N: s.N, Moduli: s.Moduli, Secrets: s.Secrets, Reps: s.Reps, FailRound: s.CheckRound()}
		groupIdx[k], polyIdx[k] = make(map[int]int), make(map[int]int)
	}
	for r, rel := range s.Rels {
		k, pt := partOf[r], parts[partOf[r]]
		g, ok := groupIdx[k][rel.Group]
		if !ok {
			g = len(pt.Groups)
			pt.Groups = append(pt.Groups, s.Groups[rel.Group])
			groupIdx[k][rel.Group] = g
		}
		terms := make([]Term, len(rel.Terms))
		for i, t := range rel.Terms {
			if t.Poly >= 0 {
				pi, ok := polyIdx[k][t.Poly]
				if !ok {
					pi = len(pt.Polys)
					pt.Polys = append(pt.Polys, s.Polys[t.Poly])
					polyIdx[k][t.Poly] = pi
				}
				t.Poly = pi
			}
			terms[i] = t
		}
		pt.Rels = append(pt.Rels, Relation{Name: rel.Name, Group: g, Terms: terms})
	}
	for k, pt := range parts {
		if len(pt.Rels) == 0 {
			return nil, fmt.Errorf("sharecheck: part %d of %d is empty", k, nParts)
		}
		if err := pt.init(); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// SplitStatement selects a statement of s's relations for each part of
// s.Split(partOf) (sharing, not copying, the polynomials).
func SplitStatement(st Statement, partOf []int) ([]Statement, error) {
	if err := checkLen("statement", len(st), len(partOf)); err != nil {
		return nil, err
	}
	var out []Statement
	for r, k := range partOf {
		if k < 0 || k >= len(partOf) {
			return nil, fmt.Errorf("sharecheck: relation in part %d", k)
		}
		for len(out) <= k {
			out = append(out, nil)
		}
		out[k] = append(out[k], st[r])
	}
	return out, nil
}
