package sharecheck

import (
	"fmt"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
)

// negacyclic computes exact integer products in Z[X]/(X^N+1) over BN254's
// scalar field: a cyclic convolution of length 2N (Fr has 2-adicity 28, so
// the domain exists for every ring lattigo supports) folded by X^N = −1.
// The products the check needs have integer coefficients far below r/2
// (|a_k| < q < 2^61 against ternary or bounded operands, N ≤ 2^16), so the
// field result is the integer result.
type negacyclic struct {
	n   int
	dom *fft.Domain
}

func newNegacyclic(n int) *negacyclic {
	return &negacyclic{n: n, dom: fft.NewDomain(uint64(2 * n))}
}

// forward returns the transform of a (length N, zero-padded to 2N), in the
// domain's bit-reversed order.
func (ng *negacyclic) forward(a fr.Vector) fr.Vector {
	out := make(fr.Vector, 2*ng.n)
	copy(out, a)
	ng.dom.FFT(out, fft.DIF)
	return out
}

// inverse turns an accumulated product of transforms back into the
// negacyclic product's N coefficients.
func (ng *negacyclic) inverse(h fr.Vector) fr.Vector {
	t := append(fr.Vector(nil), h...)
	ng.dom.FFTInverse(t, fft.DIT)
	out := make(fr.Vector, ng.n)
	for i := range out {
		out[i].Sub(&t[i], &t[i+ng.n])
	}
	return out
}

// mulAcc adds x⊙y to acc (transforms).
func mulAcc(acc, x, y fr.Vector, neg bool) {
	var t fr.Element
	for i := range acc {
		t.Mul(&x[i], &y[i])
		if neg {
			acc[i].Sub(&acc[i], &t)
		} else {
			acc[i].Add(&acc[i], &t)
		}
	}
}

// adjoint returns a*(X) = a(X^{-1}) mod X^N+1 (a*_0 = a_0, a*_i = −a_{N−i}):
// multiplication by a* is the transpose of multiplication by a, so
// Σ_k c_k·(a·x)_k = ⟨x, a*·c⟩.
func adjoint(a fr.Vector) fr.Vector {
	n := len(a)
	out := make(fr.Vector, n)
	out[0] = a[0]
	for i := 1; i < n; i++ {
		out[i].Neg(&a[n-i])
	}
	return out
}

// liftU64 embeds residues in [0, q) as field elements.
func liftU64(v []uint64) fr.Vector {
	out := make(fr.Vector, len(v))
	for i, x := range v {
		out[i].SetUint64(x)
	}
	return out
}

// liftInt embeds small signed integers.
func liftInt(v []int64) fr.Vector {
	out := make(fr.Vector, len(v))
	for i, x := range v {
		setInt(&out[i], x)
	}
	return out
}

func setInt(e *fr.Element, x int64) {
	if x >= 0 {
		e.SetUint64(uint64(x))
	} else {
		e.SetUint64(uint64(-x))
		e.Neg(e)
	}
}

// mulMod returns a·b mod q.
func mulMod(a, b, q uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return bits.Rem64(hi, lo, q)
}

// powers returns z^0, …, z^{n−1} mod q.
func powers(z, q uint64, n int) []uint64 {
	out := make([]uint64, n)
	out[0] = 1 % q
	for k := 1; k < n; k++ {
		out[k] = mulMod(out[k-1], z, q)
	}
	return out
}

// checkLen is a shape check on public data.
func checkLen(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("sharecheck: %s has %d entries, want %d", what, got, want)
	}
	return nil
}
