package field

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Bytes is the size of one encoded element.
const Bytes = fr.Bytes

// New returns a zero vector of length n.
func New(n int) fr.Vector { return make(fr.Vector, n) }

// FromUint64s lifts small integers into the field.
func FromUint64s(vals []uint64) fr.Vector {
	v := make(fr.Vector, len(vals))
	for i, x := range vals {
		v[i].SetUint64(x)
	}
	return v
}

// Uint64s returns the low 64 bits of each element's canonical value; it is
// meant for values known to be below 2^64.
func Uint64s(v fr.Vector) []uint64 {
	out := make([]uint64, len(v))
	for i := range v {
		out[i] = v[i].Uint64()
	}
	return out
}

// Concat returns the concatenation of the given vectors in a fresh vector.
func Concat(vs ...fr.Vector) fr.Vector {
	n := 0
	for _, v := range vs {
		n += len(v)
	}
	out := make(fr.Vector, 0, n)
	for _, v := range vs {
		out = append(out, v...)
	}
	return out
}

// Add returns a+b in a fresh vector.
func Add(a, b fr.Vector) fr.Vector {
	out := make(fr.Vector, len(a))
	out.Add(a, b)
	return out
}

// Sub returns a-b in a fresh vector.
func Sub(a, b fr.Vector) fr.Vector {
	out := make(fr.Vector, len(a))
	out.Sub(a, b)
	return out
}

// Mul returns the element-wise product a*b in a fresh vector.
func Mul(a, b fr.Vector) fr.Vector {
	out := make(fr.Vector, len(a))
	out.Mul(a, b)
	return out
}

// Scale returns c*a in a fresh vector.
func Scale(a fr.Vector, c *fr.Element) fr.Vector {
	out := make(fr.Vector, len(a))
	out.ScalarMul(a, c)
	return out
}

// AddScaled sets dst += c*a using tmp (len(a)) as scratch; it avoids a fresh
// allocation in hot loops.
func AddScaled(dst, a fr.Vector, c *fr.Element, tmp fr.Vector) {
	tmp.ScalarMul(a, c)
	dst.Add(dst, tmp)
}

// AddConst sets dst[i] = a[i] + c.
func AddConst(dst, a fr.Vector, c *fr.Element) {
	for i := range a {
		dst[i].Add(&a[i], c)
	}
}

// BatchInvert returns the element-wise inverses of v (zero maps to zero)
// with one field inversion for the whole batch (Montgomery's trick).
func BatchInvert(v fr.Vector) fr.Vector {
	return fr.Vector(fr.BatchInvert(v))
}

// CheckLen returns an error unless every vector has length n.
func CheckLen(n int, vs ...fr.Vector) error {
	for i, v := range vs {
		if len(v) != n {
			return fmt.Errorf("field: vector %d has length %d, want %d", i, len(v), n)
		}
	}
	return nil
}
