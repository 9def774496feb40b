package ss

import (
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Two partial rounds per opening.
//
// A partial round of Poseidon2 maps the state (a, b) to (2y + b, y + 3b),
// y = (a + k)⁵. Two in a row, with keys k and k′:
//
//	y = (a + k)⁵,  u = 2y + b + k′,  z = u⁵,
//	(a, b) ↦ (2z + b₁, z + 3b₁),  b₁ = y + 3b.
//
// Opening c = a + k + r and d = b + s for fresh joint random r and s (both
// uniform over the field, so c and d are uniform whatever a and b are — the
// opening reveals nothing, like the single masked S-box's), every quantity
// above is a polynomial in r and s with coefficients the parties compute
// from c, d and the keys: y = (c − r)⁵ has degree 5 in r; u = Q(r) − s with
// Q(r) = 2(c − r)⁵ + d + k′; z = Σ_j C(5,j)·Q(r)^{5−j}·(−s)^j involves the
// 80 monomials r^i·s^j, 0 ≤ j ≤ 5, 0 ≤ i ≤ 5(5−j), besides 1. With shares of
// those monomials (and their MACs) prepared ahead, both rounds are linear in
// them: one opening instead of two. The monomials cost 78 multiplications
// per instance and pair of rounds (8 rounds of preparation for all of them),
// against 8 for two masked S-boxes, so the engine uses pairs only for tiny
// batches (PairBatch) in malicious mode, where a commitment's latency is its
// openings (each with all n shares): a job's output commitment (m = 1, 3
// permutations) takes 93 openings instead of 168. The coefficients cost
// about 500 field multiplications per instance and pair (≈ 10 µs). Every monomial is a product covered by the engine's next MAC check,
// which precedes any opening of a value not under a uniform mask; an error
// in one only changes what the commitment computes, and that check catches
// it before the commitment is opened.

// PairBatch is the largest batch whose permutations run their partial rounds
// in pairs (see above; malicious mode): beyond it the pairs' preparation (78
// multiplications per instance and pair) and local work cost more than the
// openings they save (BenchmarkCommitSmall: 4 instances were slower paired).
const PairBatch = 1

// pairDeg is the S-box degree; the monomials of a pair of rounds are r^i·s^j
// with j ≤ pairDeg and i ≤ pairDeg·(pairDeg − j).
const pairDeg = 5

// pairMono lists the monomials (i, j) of a pair of rounds, without (0, 0);
// pairIndex[j][i] is a monomial's position in it.
var pairMono, pairIndex = func() ([][2]int, [][]int) {
	var mono [][2]int
	index := make([][]int, pairDeg+1)
	for j := 0; j <= pairDeg; j++ {
		index[j] = make([]int, pairDeg*(pairDeg-j)+1)
		for i := range index[j] {
			index[j][i] = -1
			if i == 0 && j == 0 {
				continue
			}
			index[j][i] = len(mono)
			mono = append(mono, [2]int{i, j})
		}
	}
	return mono, index
}()

// pairMasks holds, for cnt pairs of rounds, shares of every monomial:
// mono[q] (length cnt) is monomial pairMono[q] of each pair.
type pairMasks struct {
	cnt  int
	mono []Vec
}

func (w pairMasks) slice(from, to int) pairMasks {
	out := pairMasks{cnt: to - from, mono: make([]Vec, len(w.mono))}
	for q := range w.mono {
		out.mono[q] = w.mono[q].Slice(from, to)
	}
	return out
}

// pairsPerPermutation is the number of pairs of partial rounds of one
// permutation (an odd last partial round, if any, uses a single mask).
var pairsPerPermutation = p2params.NbPartialRounds / 2

// singlesPerPairedPermutation counts the single S-box masks of a permutation
// whose partial rounds run in pairs.
var singlesPerPairedPermutation = 2*p2params.NbFullRounds + p2params.NbPartialRounds%2

// randomPairMasks prepares the monomials of cnt pairs of rounds: a joint
// random r and s per pair, then 6 multiplication rounds (r², s²; r³, r⁴,
// s³, s⁴; r⁵…r⁸, s⁵; r⁹…r¹⁶; r¹⁷…r²⁵; the mixed r^i·s^j).
func (p *Party) randomPairMasks(ctx context.Context, cnt int) (pairMasks, error) {
	rs, err := p.RandomVec(ctx, 2*cnt)
	if err != nil {
		return pairMasks{}, err
	}
	p.op = opSboxPowers
	defer func() { p.op = "" }()
	maxR := pairDeg * pairDeg
	rp := make([]Vec, maxR+1) // rp[i] = r^i
	sp := make([]Vec, pairDeg+1)
	rp[1], sp[1] = rs.Slice(0, cnt), rs.Slice(cnt, 2*cnt)
	// mul computes, in one round, xs[q]·ys[q] for every q.
	mul := func(xs, ys []Vec) ([]Vec, error) {
		z, err := p.mulVec(ctx, ConcatVecs(xs...), ConcatVecs(ys...))
		if err != nil {
			return nil, err
		}
		out := make([]Vec, len(xs))
		for q := range out {
			out[q] = z.Slice(q*cnt, (q+1)*cnt)
		}
		return out, nil
	}
	// Powers of r by doubling (r^(2^e + i) = r^(2^e)·r^i), with those of s
	// alongside in the first rounds.
	z, err := mul([]Vec{rp[1], sp[1]}, []Vec{rp[1], sp[1]})
	if err != nil {
		return pairMasks{}, err
	}
	rp[2], sp[2] = z[0], z[1]
	z, err = mul([]Vec{rp[2], rp[2], sp[2], sp[2]}, []Vec{rp[1], rp[2], sp[1], sp[2]})
	if err != nil {
		return pairMasks{}, err
	}
	rp[3], rp[4], sp[3], sp[4] = z[0], z[1], z[2], z[3]
	for top := 4; top < maxR; top *= 2 {
		var xs, ys []Vec
		for i := 1; i <= top && top+i <= maxR; i++ {
			xs, ys = append(xs, rp[top]), append(ys, rp[i])
		}
		if top == 4 {
			xs, ys = append(xs, sp[4]), append(ys, sp[1])
		}
		if z, err = mul(xs, ys); err != nil {
			return pairMasks{}, err
		}
		for i := 1; i <= top && top+i <= maxR; i++ {
			rp[top+i] = z[i-1]
		}
		if top == 4 {
			sp[5] = z[len(z)-1]
		}
	}
	var xs, ys []Vec
	var at [][2]int
	for _, ij := range pairMono {
		if i, j := ij[0], ij[1]; i > 0 && j > 0 {
			xs, ys, at = append(xs, rp[i]), append(ys, sp[j]), append(at, ij)
		}
	}
	if z, err = mul(xs, ys); err != nil {
		return pairMasks{}, err
	}
	w := pairMasks{cnt: cnt, mono: make([]Vec, len(pairMono))}
	for q, ij := range pairMono {
		switch i, j := ij[0], ij[1]; {
		case j == 0:
			w.mono[q] = rp[i]
		case i == 0:
			w.mono[q] = sp[j]
		}
	}
	for q, ij := range at {
		w.mono[pairIndex[ij[1]][ij[0]]] = z[q]
	}
	return w, nil
}

// binom5 holds C(5, j).
var binom5 = [pairDeg + 1]uint64{1, 5, 10, 10, 5, 1}

// pairTerms is the number of monomials of a pair of rounds, 1 included.
const pairTerms = (pairDeg + 1) * (pairDeg*pairDeg + 2) / 2

// pairCoefficients returns, for opened c and d and the second key k2, the
// coefficients of y = (c − r)⁵ (index i: of r^i) and of z = u⁵ over the
// monomials (zc[q] of pairMono[q], z0 the constant term). Fixed-size
// arrays: it runs once per instance and pair of rounds.
func pairCoefficients(c, d, k2 *fr.Element, zc *[pairTerms - 1]fr.Element) (y [pairDeg + 1]fr.Element, z0 fr.Element) {
	// y_i = C(5,i)·c^(5−i)·(−1)^i
	var cp [pairDeg + 1]fr.Element
	cp[0].SetOne()
	for e := 1; e <= pairDeg; e++ {
		cp[e].Mul(&cp[e-1], c)
	}
	for i := 0; i <= pairDeg; i++ {
		var b fr.Element
		b.SetUint64(binom5[i])
		y[i].Mul(&b, &cp[pairDeg-i])
		if i%2 == 1 {
			y[i].Neg(&y[i])
		}
	}
	// Q(r) = 2·y(r) + d + k2 and its powers Q^e (degree 5e), kept in one
	// row per e.
	var q [pairDeg + 1]fr.Element
	for i := range q {
		q[i].Double(&y[i])
	}
	q[0].Add(&q[0], d)
	q[0].Add(&q[0], k2)
	var qp [pairDeg + 1][pairDeg*pairDeg + 1]fr.Element
	qp[0][0].SetOne()
	var t fr.Element
	for e := 1; e <= pairDeg; e++ {
		for i := 0; i <= pairDeg*(e-1); i++ {
			for k := 0; k <= pairDeg; k++ {
				t.Mul(&qp[e-1][i], &q[k])
				qp[e][i+k].Add(&qp[e][i+k], &t)
			}
		}
	}
	// z = Σ_j C(5,j)·(−1)^j·Q^(5−j)·s^j
	for j := 0; j <= pairDeg; j++ {
		var f fr.Element
		f.SetUint64(binom5[j])
		if j%2 == 1 {
			f.Neg(&f)
		}
		for i := 0; i <= pairDeg*(pairDeg-j); i++ {
			t.Mul(&f, &qp[pairDeg-j][i])
			if idx := pairIndex[j][i]; idx >= 0 {
				zc[idx] = t
			} else {
				z0 = t
			}
		}
	}
	return y, z0
}

// pairRounds applies two partial rounds with keys k1 and k2 to the states
// (s0, s1) in place, with one opening and the prepared monomials w.
func (p *Party) pairRounds(ctx context.Context, s0, s1 Vec, k1, k2 *fr.Element, w pairMasks) error {
	m := s0.Len()
	if w.cnt != m {
		return fmt.Errorf("ss: poseidon2: %d pair masks for %d states", w.cnt, m)
	}
	x := s0.Clone()
	p.addKey(x, k1)
	r, s := w.mono[pairIndex[0][1]], w.mono[pairIndex[1][0]]
	// c = x + r and d = b + s, both uniform: r and s are fresh joint random
	// values no coalition of t members knows.
	opened, err := p.Open(ctx, "mask:poseidon2", ConcatVecs(x.Add(r), s1.Add(s)).V)
	if err != nil {
		return err
	}
	var zc [pairTerms - 1]fr.Element
	for j := 0; j < m; j++ {
		c, d := &opened[j], &opened[m+j]
		y, z0 := pairCoefficients(c, d, k2, &zc)
		for h := 0; h < p.halves(); h++ {
			unit := p.unit(h)
			var yv, zv, t fr.Element
			// y = Σ y_i·r^i (r^0 = 1)
			yv.Mul(&y[0], &unit)
			for i := 1; i <= pairDeg; i++ {
				t.Mul(&y[i], &w.mono[pairIndex[0][i]].half(h)[j])
				yv.Add(&yv, &t)
			}
			zv.Mul(&z0, &unit)
			for q := range zc {
				t.Mul(&zc[q], &w.mono[q].half(h)[j])
				zv.Add(&zv, &t)
			}
			// b = d − s, b₁ = y + 3b, then (2z + b₁, z + 3b₁).
			var b, b1 fr.Element
			b.Mul(d, &unit)
			b.Sub(&b, &s.half(h)[j])
			b1.Double(&b).Add(&b1, &b).Add(&b1, &yv)
			a2 := s0.half(h)
			b2 := s1.half(h)
			a2[j].Double(&zv).Add(&a2[j], &b1)
			b2[j].Double(&b1).Add(&b2[j], &b1).Add(&b2[j], &zv)
		}
	}
	return nil
}

// poseidon2Paired runs the permutation with masked S-boxes in the full
// rounds (single masks w, singlesPerPairedPermutation·m of them) and its
// partial rounds in pairs (pm, pairsPerPermutation·m).
func (p *Party) poseidon2Paired(ctx context.Context, s0, s1 Vec, w powers, pm pairMasks) error {
	m := s0.Len()
	rf := p2params.NbFullRounds / 2
	keys := p2params.RoundKeys
	used := 0
	single := func(x Vec) error {
		err := p.sbox(ctx, x, w.slice(used, used+x.Len()))
		used += x.Len()
		return err
	}
	both := p.NewVec(2 * m)
	full := func(round int) error {
		p.addKey(s0, &keys[round][0])
		p.addKey(s1, &keys[round][1])
		for h := 0; h < p.halves(); h++ {
			copy(both.half(h), s0.half(h))
			copy(both.half(h)[m:], s1.half(h))
		}
		if err := single(both); err != nil {
			return err
		}
		for h := 0; h < p.halves(); h++ {
			copy(s0.half(h), both.half(h)[:m])
			copy(s1.half(h), both.half(h)[m:])
			externalLayer(s0.half(h), s1.half(h))
		}
		return nil
	}
	for h := 0; h < p.halves(); h++ {
		externalLayer(s0.half(h), s1.half(h))
	}
	for i := 0; i < rf; i++ {
		if err := full(i); err != nil {
			return err
		}
	}
	i := rf
	for q := 0; q < pairsPerPermutation; q++ {
		if err := p.pairRounds(ctx, s0, s1, &keys[i][0], &keys[i+1][0], pm.slice(q*m, (q+1)*m)); err != nil {
			return err
		}
		i += 2
	}
	if i < rf+p2params.NbPartialRounds { // an odd last partial round
		p.addKey(s0, &keys[i][0])
		if err := single(s0); err != nil {
			return err
		}
		for h := 0; h < p.halves(); h++ {
			internalLayer(s0.half(h), s1.half(h))
		}
		i++
	}
	for ; i < p2params.NbFullRounds+p2params.NbPartialRounds; i++ {
		if err := full(i); err != nil {
			return err
		}
	}
	return nil
}
