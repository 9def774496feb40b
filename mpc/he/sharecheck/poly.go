package sharecheck

import (
	"fmt"
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
)

// negacyclic computes exact integer products in Z[X]/(X^N+1) over BN254's
// scalar field with a negacyclic FFT of length N: coefficients are twisted
// by powers of ψ, a primitive 2N-th root of unity (Fr has 2-adicity 28, so
// it exists for every ring lattigo supports), and ψ² generates the length-N
// domain. The products the check needs have integer coefficients far below
// r/2 (|a_k| < q < 2^62 against ternary or bounded operands, N ≤ 2^16), so
// the field result is the integer result.
type negacyclic struct {
	n       int
	dom     *fft.Domain
	tw, itw fr.Vector // ψ^i, ψ^{-i}/… (the inverse FFT scales by 1/N itself)
	twR     fr.Vector // ψ^i·2^256: the twist of a rawU64 vector (see forwardRaw)
}

// montR has the value 2^256 mod r (Montgomery's R): multiplying a result of
// rawU64 inputs by it undoes their R^-1.
var montR = func() fr.Element {
	var e fr.Element
	e.SetBigInt(new(big.Int).Lsh(big.NewInt(1), 256))
	return e
}()

// rawU64 writes v (each below 2^64 < r) into dst as raw Montgomery
// representations, without the conversion multiply: dst[i] has the value
// v[i]·R^-1. A linear function of dst is thus R^-1 times that of v, undone
// by one multiplication by montR (or by the twist, forwardRaw).
func rawU64(dst fr.Vector, v []uint64) {
	for i, x := range v {
		dst[i] = fr.Element{x, 0, 0, 0}
	}
}

func newNegacyclic(n int) *negacyclic {
	ng := &negacyclic{n: n, dom: fft.NewDomain(uint64(n))}
	psi, err := fr.Generator(uint64(2 * n))
	var sq fr.Element
	sq.Square(&psi)
	if err != nil || !sq.Equal(&ng.dom.Generator) {
		// fr.Generator(2N)² is the length-N domain's generator for every
		// N the field supports; anything else is a library change.
		panic("sharecheck: no 2N-th root of unity matching the FFT domain")
	}
	var psiInv fr.Element
	psiInv.Inverse(&psi)
	ng.tw, ng.itw, ng.twR = make(fr.Vector, n), make(fr.Vector, n), make(fr.Vector, n)
	ng.tw[0].SetOne()
	ng.itw[0].SetOne()
	for i := 1; i < n; i++ {
		ng.tw[i].Mul(&ng.tw[i-1], &psi)
		ng.itw[i].Mul(&ng.itw[i-1], &psiInv)
	}
	ng.twR.ScalarMul(ng.tw, &montR)
	return ng
}

// forwardRaw is forward of a vector written by rawU64 (possibly negated
// or permuted since, as adjoint does): the twist by ψ^i·R restores the
// values, so the result is the transform of the integers themselves.
func (ng *negacyclic) forwardRaw(a fr.Vector) fr.Vector {
	a.Mul(a, ng.twR)
	ng.dom.FFT(a, fft.DIF)
	return a
}

// forward returns the negacyclic transform of a (length N), in the
// domain's bit-reversed order.
func (ng *negacyclic) forward(a fr.Vector) fr.Vector {
	out := make(fr.Vector, ng.n)
	out.Mul(a, ng.tw)
	ng.dom.FFT(out, fft.DIF)
	return out
}

// inverse turns an accumulated product of transforms back into the
// negacyclic product's N coefficients.
func (ng *negacyclic) inverse(h fr.Vector) fr.Vector {
	t := append(fr.Vector(nil), h...)
	ng.dom.FFTInverse(t, fft.DIT)
	t.Mul(t, ng.itw)
	return t
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
