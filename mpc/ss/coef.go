package ss

import (
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// coef is a public coefficient of the engine's linear maps. Interpolation
// coefficients over the points 0, 1, …, n are small rationals; the ones with
// |num| ≤ maxSmallNum and den ∈ {1, 2} are applied with vector additions (and
// a halving), several times cheaper than a field multiplication. For n = 3
// every coefficient of the multiplication kernel is small (see Params).
type coef struct {
	e        fr.Element // the value in the field
	num, den int64      // valid when small
	small    bool
}

const maxSmallNum = 4

func newCoef(r *big.Rat) coef {
	var c coef
	num, den := new(big.Int).Set(r.Num()), new(big.Int).Set(r.Denom())
	c.e.SetBigInt(num)
	var d fr.Element
	d.SetBigInt(den)
	d.Inverse(&d)
	c.e.Mul(&c.e, &d)
	if num.IsInt64() && den.IsInt64() {
		n, dd := num.Int64(), den.Int64()
		if n >= -maxSmallNum && n <= maxSmallNum && (dd == 1 || dd == 2) {
			c.num, c.den, c.small = n, dd, true
		}
	}
	return c
}

// The field modulus q in 64-bit limbs, least significant first
// (TestModulusLimbs checks them against gnark-crypto's).
const (
	q0 uint64 = 0x43e1f593f0000001
	q1 uint64 = 0x2833e84879b97091
	q2 uint64 = 0xb85045b68181585d
	q3 uint64 = 0x30644e72e131a029
)

// addBF sets z = x + y, branch-free: fr.Element.Add branches on whether
// the sum reaches q, which for random shares mispredicts every other time.
func addBF(z, x, y *fr.Element) {
	s0, c := bits.Add64(x[0], y[0], 0)
	s1, c := bits.Add64(x[1], y[1], c)
	s2, c := bits.Add64(x[2], y[2], c)
	s3, _ := bits.Add64(x[3], y[3], c) // < 2q < 2^255: no carry out
	t0, b := bits.Sub64(s0, q0, 0)
	t1, b := bits.Sub64(s1, q1, b)
	t2, b := bits.Sub64(s2, q2, b)
	t3, b := bits.Sub64(s3, q3, b)
	keep := -b // all ones when s < q
	*z = fr.Element{s0&keep | t0&^keep, s1&keep | t1&^keep, s2&keep | t2&^keep, s3&keep | t3&^keep}
}

// subBF sets z = x − y, branch-free (see addBF).
func subBF(z, x, y *fr.Element) {
	d0, b := bits.Sub64(x[0], y[0], 0)
	d1, b := bits.Sub64(x[1], y[1], b)
	d2, b := bits.Sub64(x[2], y[2], b)
	d3, b := bits.Sub64(x[3], y[3], b)
	m := -b // all ones when x < y: add q back
	d0, c := bits.Add64(d0, q0&m, 0)
	d1, c = bits.Add64(d1, q1&m, c)
	d2, c = bits.Add64(d2, q2&m, c)
	d3, _ = bits.Add64(d3, q3&m, c)
	*z = fr.Element{d0, d1, d2, d3}
}

// halveInto sets dst = src/2 (dst may be src). In Montgomery form x·R/2 is
// the halving of the representation itself: (x + q)/2 for odd x, x/2 for
// even. Branch-free (fr.Element.Halve branches on the parity, which is
// random here: a misprediction every other element made it cost as much
// as a multiplication); q < 2^254 so x + q never carries out.
func halveInto(dst, src fr.Vector) {
	dst = dst[:len(src)]
	for i := range src {
		s := &src[i]
		mask := -(s[0] & 1)
		a0, c := bits.Add64(s[0], q0&mask, 0)
		a1, c := bits.Add64(s[1], q1&mask, c)
		a2, c := bits.Add64(s[2], q2&mask, c)
		a3, _ := bits.Add64(s[3], q3&mask, c)
		dst[i] = fr.Element{a0>>1 | a1<<63, a1>>1 | a2<<63, a2>>1 | a3<<63, a3 >> 1}
	}
}

// setScaled sets dst = c·src; tmp is scratch of the same length (distinct
// from dst and src).
func setScaled(dst, src fr.Vector, c *coef, tmp fr.Vector) {
	var half fr.Vector
	if c.small && c.den == 2 {
		halveInto(tmp, src)
		half = tmp
	}
	setScaledHalf(dst, src, half, c)
}

// setScaledHalf is setScaled given half = src/2 when c's denominator is 2
// (computed once for several coefficients).
func setScaledHalf(dst, src, half fr.Vector, c *coef) {
	if !c.small {
		dst.ScalarMul(src, &c.e)
		return
	}
	s := src
	if c.den == 2 {
		s = half
	}
	n := c.num
	if n < 0 {
		n = -n
	}
	switch n {
	case 0:
		clear(dst)
	case 1:
		copy(dst, s)
	case 2:
		dst.Add(s, s)
	case 3:
		dst.Add(s, s)
		dst.Add(dst, s)
	case 4:
		dst.Add(s, s)
		dst.Add(dst, dst)
	}
	if c.num < 0 {
		for i := range dst {
			dst[i].Neg(&dst[i])
		}
	}
}

// addScaled sets dst += c·src; tmp is scratch of the same length (distinct
// from dst and src).
func addScaled(dst, src fr.Vector, c *coef, tmp fr.Vector) {
	if !c.small {
		tmp.ScalarMul(src, &c.e)
		dst.Add(dst, tmp)
		return
	}
	s := src
	if c.den == 2 {
		halveInto(tmp, src)
		s = tmp
	}
	n := c.num
	neg := n < 0
	if neg {
		n = -n
	}
	for ; n > 0; n-- {
		if neg {
			dst.Sub(dst, s)
		} else {
			dst.Add(dst, s)
		}
	}
}

// linTerm is one term c·srcs[src] of a linear combination (linComb) with a
// small integer coefficient c ≠ 0, |c| ≤ maxSmallNum.
type linTerm struct {
	src int
	c   int64
}

// linComb sets dst = Σ t.c·srcs[t.src] over terms (small integer
// coefficients), by Horner's rule over the bits of |c| from the top: the
// accumulator is doubled once per bit and the terms whose |c| has that bit
// are added or subtracted. The accumulator may stand for its own negation
// (neg), so that a negative leading term costs no negation: adding a
// positive term to a negated accumulator is one subtraction the other way,
// and only a combination with no positive term at all ends with a
// negation. Until the first operation the accumulator aliases a source.
// For the re-sharing kernel of n = 3 this takes 2 to 5 vector passes per
// sub-share where scaling each term separately took 3 to 8. dst must not
// alias any source.
func linComb(dst fr.Vector, srcs []fr.Vector, terms []linTerm) {
	var cur fr.Vector // the accumulator (value, or its negation when neg)
	neg, inDst := false, false
	top := 0
	for _, t := range terms {
		top = max(top, bits.Len64(uint64(abs64(t.c))))
	}
	for b := top - 1; b >= 0; b-- {
		if cur != nil {
			dst.Add(cur, cur)
			cur, inDst = dst, true
		}
		// Positive terms first: one of them un-negates the accumulator.
		for pass := 0; pass < 2; pass++ {
			for _, t := range terms {
				if uint64(abs64(t.c))>>uint(b)&1 == 0 || (t.c > 0) != (pass == 0) {
					continue
				}
				s := srcs[t.src]
				switch {
				case cur == nil:
					cur, neg = s, t.c < 0
					continue
				case t.c > 0 && neg: // −cur + s
					dst.Sub(s, cur)
					neg = false
				case t.c > 0, neg: // cur + s, or −cur − s = −(cur + s)
					dst.Add(cur, s)
				default: // cur − s
					dst.Sub(cur, s)
				}
				cur, inDst = dst, true
			}
		}
	}
	switch {
	case cur == nil:
		clear(dst)
	case neg:
		for i := range dst {
			dst[i].Neg(&cur[i])
		}
	case !inDst:
		copy(dst, cur)
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
