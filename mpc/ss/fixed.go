package ss

import (
	"context"
	"math"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// FixedBits bounds the magnitude of fixed-point values: |x·2^f| < 2^(FixedBits−1).
// A product of two such values fits in 2·FixedBits bits, which TruncPr handles.
const FixedBits = 64

// EncodeFixed returns round(x·2^f) as a field element (negative values as
// q − |·|).
func EncodeFixed(x float64, f int) fr.Element {
	v := math.Round(x * math.Ldexp(1, f))
	bf := new(big.Float).SetFloat64(v)
	bi, _ := bf.Int(nil)
	var e fr.Element
	e.SetBigInt(bi) // SetBigInt reduces negatives modulo q
	return e
}

// DecodeFixed interprets e as a signed fixed-point value with f fractional
// bits (values above (q−1)/2 are negative).
func DecodeFixed(e fr.Element, f int) float64 {
	var bi big.Int
	e.BigInt(&bi)
	half := new(big.Int).Rsh(fr.Modulus(), 1)
	if bi.Cmp(half) > 0 {
		bi.Sub(&bi, fr.Modulus())
	}
	x, _ := new(big.Float).SetInt(&bi).Float64()
	return x / math.Ldexp(1, f)
}

// FixMul is FixMulVec in semi-honest mode.
func (p *Party) FixMul(ctx context.Context, x, y fr.Vector, f int) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	z, err := p.FixMulVec(ctx, Vec{V: x}, Vec{V: y}, f)
	return z.V, err
}

// FixMulVec multiplies fixed-point values with f fractional bits: one
// multiplication, then probabilistic truncation by f bits (the result may be
// one unit of 2^−f above the rounded-down product).
func (p *Party) FixMulVec(ctx context.Context, x, y Vec, f int) (Vec, error) {
	z, err := p.mulVec(ctx, x, y)
	if err != nil {
		return Vec{}, err
	}
	return p.TruncPrVec(ctx, z, 2*FixedBits, f)
}
