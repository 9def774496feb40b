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

// qLimbs is the field modulus q in 64-bit limbs, least significant first.
var qLimbs = func() [4]uint64 {
	var l [4]uint64
	m := fr.Modulus()
	for i := range l {
		l[i] = new(big.Int).Rsh(m, uint(64*i)).Uint64()
	}
	return l
}()

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
		a0, c := bits.Add64(s[0], qLimbs[0]&mask, 0)
		a1, c := bits.Add64(s[1], qLimbs[1]&mask, c)
		a2, c := bits.Add64(s[2], qLimbs[2]&mask, c)
		a3, _ := bits.Add64(s[3], qLimbs[3]&mask, c)
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
