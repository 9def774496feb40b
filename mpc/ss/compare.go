package ss

import (
	"context"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

// Comparison parameters. Values compared are unsigned integers below
// 2^ValueBits; masked openings hide them with statistical distance at most
// 2^−Kappa. Every mask is r' + 2^m·r” with r' uniform on m bits (from random
// bits) and r” a sum of t+1 parties' uniform MaskBits-bit integers, so
// opened values stay below 2^(66+MaskBits+4) — far below the 254-bit field.
const (
	ValueBits = 64
	Kappa     = 40
	MaskBits  = Kappa + 2
)

var (
	pow2    [256]fr.Element // pow2[i] = 2^i
	inv2_64 fr.Element
	inv2_65 fr.Element
)

func init() {
	pow2[0].SetOne()
	for i := 1; i < len(pow2); i++ {
		pow2[i].Double(&pow2[i-1])
	}
	inv2_64.Inverse(&pow2[64])
	inv2_65.Inverse(&pow2[65])
}

// genMasks makes nbits random bits and nmasks bounded masks (each a sum of
// t+1 uniform integers below 2^boundBits). Parties 0..t each share their own
// random bits and integers in one round; a bit is the XOR of the t+1 parties'
// bits (b⊕b' = b+b'−2bb', ⌈log2(t+1)⌉ multiplication rounds), so it is
// uniform and unknown as long as one contributor is honest.
func (p *Party) genMasks(ctx context.Context, nbits, nmasks int, boundBits uint) (fr.Vector, fr.Vector, error) {
	prm := p.params
	counts := make([]int, prm.N)
	for i := 0; i <= prm.T; i++ {
		counts[i] = nbits + nmasks
	}
	mine := field.New(counts[p.self])
	if p.self <= prm.T {
		p.own.FillBits(mine[:nbits])
		fillBoundedWide(p, mine[nbits:], boundBits)
	}
	contrib, err := p.inputs(ctx, mine, counts)
	if err != nil {
		return nil, nil, fmt.Errorf("ss: random bits: %w", err)
	}
	masks := field.New(nmasks)
	layer := make([]fr.Vector, 0, prm.T+1)
	for i := 0; i <= prm.T; i++ {
		masks.Add(masks, contrib[i][nbits:])
		layer = append(layer, contrib[i][:nbits])
	}
	for len(layer) > 1 && nbits > 0 {
		pairs := len(layer) / 2
		xs := make([]fr.Vector, pairs)
		ys := make([]fr.Vector, pairs)
		for k := 0; k < pairs; k++ {
			xs[k], ys[k] = layer[2*k], layer[2*k+1]
		}
		prod, err := p.Mul(ctx, concat(xs), concat(ys))
		if err != nil {
			return nil, nil, fmt.Errorf("ss: random bits: %w", err)
		}
		next := make([]fr.Vector, 0, pairs+1)
		for k := 0; k < pairs; k++ {
			pr := prod[k*nbits : (k+1)*nbits]
			x := field.Add(xs[k], ys[k])
			pr.Add(pr, pr)
			x.Sub(x, pr)
			next = append(next, x)
		}
		if len(layer)%2 == 1 {
			next = append(next, layer[len(layer)-1])
		}
		layer = next
	}
	p.Stats.Bits += nbits
	return layer[0], masks, nil
}

// fillBoundedWide fills v with uniform integers below 2^bits (bits ≤ 192).
func fillBoundedWide(p *Party, v fr.Vector, bits uint) {
	for i := range v {
		var acc fr.Element
		left := bits
		for left > 0 {
			w := left
			if w > 64 {
				w = 64
			}
			x := p.own.Uint64()
			if w < 64 {
				x &= 1<<w - 1
			}
			var e fr.Element
			e.SetUint64(x)
			acc.Mul(&acc, &pow2[w])
			acc.Add(&acc, &e)
			left -= w
		}
		v[i] = acc
	}
}

// Prepare generates nbits random bits ahead of the online phase, for
// truncations (1 + ⌈log2(t+1)⌉ rounds for any amount). Comparisons have their
// own preprocessing, PrepareComparisons.
func (p *Party) Prepare(ctx context.Context, nbits int) error {
	bits, _, err := p.genMasks(ctx, nbits, 0, MaskBits)
	if err != nil {
		return err
	}
	p.bitPool = append(p.bitPool, bits...)
	return nil
}

// cmpPool holds prepared comparison randomness, comparison-major: for
// comparison j, bits[j·k+i] is bit i of its mask r', pairs[j·(k/2)+q] is the
// product of its bits 2q and 2q+1, and masks[j] its bounded high part r”.
type cmpPool struct {
	k                  int
	bits, pairs, masks fr.Vector
}

func (c *cmpPool) len() int { return len(c.masks) }

// PrepareComparisons prepares the randomness of lt less-than and eq equality
// comparisons: the mask bits (1 sharing round and ⌈log2(t+1)⌉ XOR rounds)
// and the products of adjacent bit pairs (1 more round), which take the
// first level of the online comparison trees off the online phase.
func (p *Party) PrepareComparisons(ctx context.Context, lt, eq int) error {
	kl, ke := ValueBits, ValueBits+1
	nbits := kl*lt + ke*eq
	bits, masks, err := p.genMasks(ctx, nbits, lt+eq, MaskBits)
	if err != nil {
		return err
	}
	np := kl/2*lt + ke/2*eq
	xs, ys := field.New(np), field.New(np)
	q := 0
	for j := 0; j < lt; j++ {
		for i := 0; i < kl/2; i++ {
			xs[q], ys[q] = bits[j*kl+2*i], bits[j*kl+2*i+1]
			q++
		}
	}
	off := kl * lt
	for j := 0; j < eq; j++ {
		for i := 0; i < ke/2; i++ {
			xs[q], ys[q] = bits[off+j*ke+2*i], bits[off+j*ke+2*i+1]
			q++
		}
	}
	pairs, err := p.Mul(ctx, xs, ys)
	if err != nil {
		return fmt.Errorf("ss: comparison preprocessing: %w", err)
	}
	p.ltPool.k, p.eqPool.k = kl, ke
	// Full slice expressions: an append to one pool must not run into the other.
	p.ltPool.add(bits[:kl*lt:kl*lt], pairs[:kl/2*lt:kl/2*lt], masks[:lt:lt])
	p.eqPool.add(bits[kl*lt:], pairs[kl/2*lt:], masks[lt:])
	return nil
}

// add appends prepared randomness, without copying into an empty pool.
func (c *cmpPool) add(bits, pairs, masks fr.Vector) {
	if len(c.masks) == 0 {
		c.bits, c.pairs, c.masks = bits, pairs, masks
		return
	}
	c.bits = append(c.bits, bits...)
	c.pairs = append(c.pairs, pairs...)
	c.masks = append(c.masks, masks...)
}

// takeCmp returns the randomness of m comparisons from pool, preparing any
// shortfall first, in the pool's comparison-major layout.
func (p *Party) takeCmp(ctx context.Context, pool *cmpPool, m int, lt bool) (bits, pairs, masks fr.Vector, err error) {
	if short := m - pool.len(); short > 0 {
		l, e := 0, 0
		if lt {
			l = short
		} else {
			e = short
		}
		if err := p.PrepareComparisons(ctx, l, e); err != nil {
			return nil, nil, nil, err
		}
	}
	k := pool.k
	h := k / 2
	bits, pairs, masks = pool.bits[:k*m:k*m], pool.pairs[:h*m:h*m], pool.masks[:m:m]
	pool.bits = pool.bits[k*m:]
	pool.pairs = pool.pairs[h*m:]
	pool.masks = pool.masks[m:]
	return bits, pairs, masks, nil
}

// takeBits returns n prepared random bits, generating any shortfall first.
func (p *Party) takeBits(ctx context.Context, n int) (fr.Vector, error) {
	if short := n - len(p.bitPool); short > 0 {
		if err := p.Prepare(ctx, short); err != nil {
			return nil, err
		}
	}
	bits := p.bitPool[:n:n]
	p.bitPool = p.bitPool[n:]
	return bits, nil
}

// composeBits returns, for each of m values, Σ_i 2^i·bits[j·k + i] over its
// k bits (comparison-major layout; Horner, additions only).
func composeBits(bits fr.Vector, m, k int) fr.Vector {
	acc := field.New(m)
	for j := range acc {
		b := bits[j*k : (j+1)*k]
		var a fr.Element
		for i := k - 1; i >= 0; i-- {
			a.Double(&a)
			a.Add(&a, &b[i])
		}
		acc[j] = a
	}
	return acc
}

// maskedOpen opens x + r' + 2^m·masks under the label and returns the opened
// values, with r' composed from k bits per value.
func (p *Party) maskedOpen(ctx context.Context, label string, x, bits, masks fr.Vector, m, k int) (fr.Vector, fr.Vector, error) {
	rp := composeBits(bits, len(x), k)
	c := field.Add(x, rp)
	hi := field.Scale(masks, &pow2[m])
	c.Add(c, hi)
	opened, err := p.Open(ctx, label, c)
	if err != nil {
		return nil, nil, err
	}
	return opened, rp, nil
}

// LessThan returns shares of [a < b] for unsigned a, b below 2^64
// (Catrina–de Hoogh: x = a − b + 2^64 has bit 64 equal to [a ≥ b]; the masked
// opening of x gives x mod 2^64 up to a bitwise comparison with the mask's
// bits, done by a log-depth tree; 1 opening + 5 multiplication rounds online).
func (p *Party) LessThan(ctx context.Context, a, b fr.Vector) (fr.Vector, error) {
	m := len(a)
	if len(b) != m {
		return nil, fmt.Errorf("ss: less-than of %d and %d values", len(a), len(b))
	}
	if m == 0 {
		return fr.Vector{}, nil
	}
	bits, pairs, masks, err := p.takeCmp(ctx, &p.ltPool, m, true)
	if err != nil {
		return nil, fmt.Errorf("ss: less-than: %w", err)
	}
	x := field.Sub(a, b)
	field.AddConst(x, x, &pow2[ValueBits])
	c, rp, err := p.maskedOpen(ctx, "mask:lt", x, bits, masks, ValueBits, ValueBits)
	if err != nil {
		return nil, fmt.Errorf("ss: less-than: %w", err)
	}
	low := make([]uint64, m)
	for j := range c {
		low[j] = c[j].Uint64()
	}
	u, err := p.bitLessThan(ctx, low, bits, pairs, m)
	if err != nil {
		return nil, fmt.Errorf("ss: less-than: %w", err)
	}
	// x mod 2^64 = c' − r' + 2^64·[c' < r'];  [a ≥ b] = (x − x mod 2^64)/2^64.
	xmod := field.Scale(u, &pow2[ValueBits])
	xmod.Sub(xmod, rp)
	for j := range xmod {
		var cj fr.Element
		cj.SetUint64(low[j])
		xmod[j].Add(&xmod[j], &cj)
	}
	x.Sub(x, xmod)
	x.ScalarMul(x, &inv2_64)
	// [a < b] = 1 − [a ≥ b]
	one := fr.One()
	for j := range x {
		x[j].Sub(&one, &x[j])
	}
	return x, nil
}

// pairNode returns, for public bits ch, cl and shared bits rh, rl with
// product pr, shares of E = [ch = rh]·[cl = rl] and L = [ch < rh] +
// [ch = rh]·[cl < rl] — both linear in (1, rh, rl, pr) since c is public.
func pairNode(ch, cl uint64, rh, rl, pr *fr.Element, E, L *fr.Element) {
	one := fr.One()
	// [c = r] = a + s·r with (a, s) = (0, +1) if c = 1 and (1, −1) if c = 0.
	var e fr.Element
	switch {
	case ch == 1 && cl == 1: // rh·rl
		e = *pr
	case ch == 1 && cl == 0: // rh·(1−rl)
		e.Sub(rh, pr)
	case ch == 0 && cl == 1: // (1−rh)·rl
		e.Sub(rl, pr)
	default: // (1−rh)(1−rl)
		e.Sub(&one, rh).Sub(&e, rl).Add(&e, pr)
	}
	*E = e
	var l fr.Element
	if ch == 0 {
		l = *rh // [0 < rh] = rh
	}
	if cl == 0 { // + [ch = rh]·rl
		if ch == 1 {
			l.Add(&l, pr)
		} else {
			l.Add(&l, rl).Sub(&l, pr)
		}
	}
	*L = l
}

// bitLessThan returns shares of [c_j < r_j] for public 64-bit c_j and r_j
// given by its shared bits (bits[j·64 + i] is bit i of r_j, pairs[j·32 + q]
// the product of its bits 2q and 2q+1). The 32 leaves are bit pairs, computed
// without interaction from the prepared products; a node combines (hi, lo) as
// L = L_hi + E_hi·L_lo, E = E_hi·E_lo; one batched multiplication per level.
// Nodes are stored comparison-major: node q of comparison j at j·nodes + q.
func (p *Party) bitLessThan(ctx context.Context, c []uint64, bits, pairs fr.Vector, m int) (fr.Vector, error) {
	const k = ValueBits
	nodes := k / 2
	E := field.New(nodes * m)
	L := field.New(nodes * m)
	for j := 0; j < m; j++ {
		b := bits[j*k : (j+1)*k]
		pr := pairs[j*nodes : (j+1)*nodes]
		for q := 0; q < nodes; q++ {
			ch, cl := c[j]>>uint(2*q+1)&1, c[j]>>uint(2*q)&1
			pairNode(ch, cl, &b[2*q+1], &b[2*q], &pr[q], &E[j*nodes+q], &L[j*nodes+q])
		}
	}
	for nodes > 1 {
		half := nodes / 2
		if nodes == 2 {
			X, Y := field.New(m), field.New(m)
			for j := 0; j < m; j++ {
				X[j], Y[j] = E[2*j+1], L[2*j]
			}
			prod, err := p.Mul(ctx, X, Y)
			if err != nil {
				return nil, err
			}
			for j := range prod {
				prod[j].Add(&prod[j], &L[2*j+1])
			}
			return prod, nil
		}
		// X = [E_hi | E_hi], Y = [L_lo | E_lo], each half comparison-major.
		X, Y := field.New(2*half*m), field.New(2*half*m)
		for j := 0; j < m; j++ {
			for q := 0; q < half; q++ {
				hi, lo := j*nodes+2*q+1, j*nodes+2*q
				X[j*half+q] = E[hi]
				X[(m+j)*half+q] = E[hi]
				Y[j*half+q] = L[lo]
				Y[(m+j)*half+q] = E[lo]
			}
		}
		prod, err := p.Mul(ctx, X, Y)
		if err != nil {
			return nil, err
		}
		next := (nodes + 1) / 2
		nE := field.New(next * m)
		nL := field.New(next * m)
		for j := 0; j < m; j++ {
			for q := 0; q < half; q++ {
				nL[j*next+q].Add(&L[j*nodes+2*q+1], &prod[j*half+q])
				nE[j*next+q] = prod[(m+j)*half+q]
			}
			if nodes%2 == 1 {
				nE[j*next+half] = E[j*nodes+nodes-1]
				nL[j*next+half] = L[j*nodes+nodes-1]
			}
		}
		E, L, nodes = nE, nL, next
	}
	return L, nil
}

// Equal returns shares of [a = b] for unsigned a, b below 2^64: with
// x = a − b + 2^65 > 0, the masked opening c of x + r' + 2^65·r” satisfies
// c mod 2^65 = r' iff a = b. The 65 bit-equalities are paired without
// interaction (prepared products) and the 33 factors multiplied in a
// log-depth tree (1 opening + 6 multiplication rounds online).
func (p *Party) Equal(ctx context.Context, a, b fr.Vector) (fr.Vector, error) {
	m := len(a)
	if len(b) != m {
		return nil, fmt.Errorf("ss: equality of %d and %d values", len(a), len(b))
	}
	if m == 0 {
		return fr.Vector{}, nil
	}
	const k = ValueBits + 1
	bits, pairs, masks, err := p.takeCmp(ctx, &p.eqPool, m, false)
	if err != nil {
		return nil, fmt.Errorf("ss: equal: %w", err)
	}
	x := field.Sub(a, b)
	field.AddConst(x, x, &pow2[k])
	c, _, err := p.maskedOpen(ctx, "mask:eq", x, bits, masks, k, k)
	if err != nil {
		return nil, fmt.Errorf("ss: equal: %w", err)
	}
	one := fr.One()
	const f = k/2 + 1 // factors per comparison: 32 pairs and the top bit
	factors := field.New(f * m)
	var unused fr.Element
	for j := 0; j < m; j++ {
		b := bits[j*k : (j+1)*k]
		pr := pairs[j*(k/2) : (j+1)*(k/2)]
		limbs := c[j].Bits()
		bit := func(i int) uint64 { return limbs[i/64] >> uint(i%64) & 1 }
		for q := 0; q < k/2; q++ {
			pairNode(bit(2*q+1), bit(2*q), &b[2*q+1], &b[2*q], &pr[q], &factors[j*f+q], &unused)
		}
		if bit(k-1) == 1 {
			factors[j*f+f-1] = b[k-1]
		} else {
			factors[j*f+f-1].Sub(&one, &b[k-1])
		}
	}
	return p.productGroups(ctx, factors, m, f)
}

// productGroups returns, for each of m groups of f consecutive values, their
// product (log-depth tree, one batched multiplication per level).
func (p *Party) productGroups(ctx context.Context, v fr.Vector, m, f int) (fr.Vector, error) {
	for f > 1 {
		half := f / 2
		X, Y := field.New(half*m), field.New(half*m)
		for j := 0; j < m; j++ {
			for q := 0; q < half; q++ {
				X[j*half+q] = v[j*f+2*q]
				Y[j*half+q] = v[j*f+2*q+1]
			}
		}
		prod, err := p.Mul(ctx, X, Y)
		if err != nil {
			return nil, err
		}
		next := (f + 1) / 2
		nv := field.New(next * m)
		for j := 0; j < m; j++ {
			copy(nv[j*next:j*next+half], prod[j*half:(j+1)*half])
			if f%2 == 1 {
				nv[j*next+half] = v[j*f+f-1]
			}
		}
		v, f = nv, next
	}
	return v, nil
}

// Select returns c·a + (1−c)·b for shared bits c (one multiplication round).
func (p *Party) Select(ctx context.Context, c, a, b fr.Vector) (fr.Vector, error) {
	d := field.Sub(a, b)
	prod, err := p.Mul(ctx, c, d)
	if err != nil {
		return nil, err
	}
	prod.Add(prod, b)
	return prod, nil
}

// TruncPr returns shares of ⌊x/2^m⌋ + u, u ∈ {0,1} with Pr[u=1] = (x mod 2^m)/2^m,
// for signed x in [−2^(k−1), 2^(k−1)) (probabilistic truncation of Catrina and
// Saxena; one preprocessing round for the wide masks and one opening).
// Requires 1 ≤ m < k ≤ 128.
func (p *Party) TruncPr(ctx context.Context, x fr.Vector, k, m int) (fr.Vector, error) {
	if m < 1 || m >= k || k > 128 {
		return nil, fmt.Errorf("ss: truncation with k=%d m=%d unsupported", k, m)
	}
	n := len(x)
	bits, err := p.takeBits(ctx, m*n)
	if err != nil {
		return nil, fmt.Errorf("ss: truncate: %w", err)
	}
	_, wide, err := p.genMasks(ctx, 0, n, uint(k-m+Kappa+1))
	if err != nil {
		return nil, fmt.Errorf("ss: truncate: %w", err)
	}
	y := append(fr.Vector(nil), x...)
	field.AddConst(y, y, &pow2[k-1])
	c, rp, err := p.maskedOpen(ctx, "mask:trunc", y, bits, wide, m, m)
	if err != nil {
		return nil, fmt.Errorf("ss: truncate: %w", err)
	}
	// d = (x − (c mod 2^m − r')) / 2^m
	var inv fr.Element
	inv.Inverse(&pow2[m])
	out := append(fr.Vector(nil), x...)
	out.Add(out, rp)
	mod := new(big.Int).Lsh(big.NewInt(1), uint(m))
	cb := new(big.Int)
	for j := range c {
		c[j].BigInt(cb)
		cb.Mod(cb, mod)
		var cm fr.Element
		cm.SetBigInt(cb)
		out[j].Sub(&out[j], &cm)
	}
	out.ScalarMul(out, &inv)
	return out, nil
}

// concat concatenates vectors, without copying a single one.
func concat(vs []fr.Vector) fr.Vector {
	if len(vs) == 1 {
		return vs[0]
	}
	return field.Concat(vs...)
}
