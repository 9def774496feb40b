package ss

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

// Vec is a vector of shared values as the engine's protocols and the jobs
// handle them: V holds this party's shares of the values x and, in malicious
// mode, M its shares of the MACs α·x under the job's secret key [α]. In
// semi-honest mode M is nil and every operation acts on V alone, so both modes
// run one code path.
//
// Linear operations act on both halves. A public constant c is the trivial
// sharing of c, whose MAC is c·[α]: constants therefore go through the Party
// (AddConst, Public), which holds this party's share of α.
type Vec struct {
	V, M fr.Vector
}

// Len is the number of values.
func (x Vec) Len() int { return len(x.V) }

// Authenticated reports whether x carries MAC shares.
func (x Vec) Authenticated() bool { return x.M != nil }

// half returns the value (h = 0) or MAC (h = 1) half.
func (x Vec) half(h int) fr.Vector {
	if h == 0 {
		return x.V
	}
	return x.M
}

// Slice returns values [from, to) (sharing memory with x).
func (x Vec) Slice(from, to int) Vec {
	y := Vec{V: x.V[from:to:to]}
	if x.M != nil {
		y.M = x.M[from:to:to]
	}
	return y
}

// Clone returns a copy of x.
func (x Vec) Clone() Vec {
	y := Vec{V: append(fr.Vector(nil), x.V...)}
	if x.M != nil {
		y.M = append(fr.Vector(nil), x.M...)
	}
	return y
}

// Add returns x + y.
func (x Vec) Add(y Vec) Vec {
	z := Vec{V: field.Add(x.V, y.V)}
	if x.M != nil {
		z.M = field.Add(x.M, y.M)
	}
	return z
}

// Sub returns x − y.
func (x Vec) Sub(y Vec) Vec {
	z := Vec{V: field.Sub(x.V, y.V)}
	if x.M != nil {
		z.M = field.Sub(x.M, y.M)
	}
	return z
}

// Scale returns c·x for a public c.
func (x Vec) Scale(c *fr.Element) Vec {
	z := Vec{V: field.Scale(x.V, c)}
	if x.M != nil {
		z.M = field.Scale(x.M, c)
	}
	return z
}

// AddInPlace sets x += y.
func (x Vec) AddInPlace(y Vec) {
	x.V.Add(x.V, y.V)
	if x.M != nil {
		x.M.Add(x.M, y.M)
	}
}

// Set copies element j of y to element i of x.
func (x Vec) Set(i int, y Vec, j int) {
	x.V[i] = y.V[j]
	if x.M != nil {
		x.M[i] = y.M[j]
	}
}

// ConcatVecs concatenates vectors of one mode.
func ConcatVecs(vs ...Vec) Vec {
	if len(vs) == 1 {
		return vs[0]
	}
	vals := make([]fr.Vector, len(vs))
	macs := make([]fr.Vector, len(vs))
	auth := len(vs) > 0 && vs[0].M != nil
	for i, v := range vs {
		vals[i], macs[i] = v.V, v.M
	}
	z := Vec{V: field.Concat(vals...)}
	if auth {
		z.M = field.Concat(macs...)
	}
	return z
}

// NewVec returns m zero shares in the party's mode (the MAC of 0 is 0).
func (p *Party) NewVec(m int) Vec {
	x := Vec{V: field.New(m)}
	if p.malicious() {
		x.M = field.New(m)
	}
	return x
}

// Public returns the trivial sharing of public values, with their MACs.
func (p *Party) Public(values fr.Vector) Vec {
	x := Vec{V: append(fr.Vector(nil), values...)}
	if p.malicious() {
		x.M = field.Scale(values, &p.alpha)
	}
	return x
}

// AddConst returns x + c for a public c.
func (p *Party) AddConst(x Vec, c *fr.Element) Vec {
	z := Vec{V: append(fr.Vector(nil), x.V...)}
	field.AddConst(z.V, z.V, c)
	if x.M != nil {
		var a fr.Element
		a.Mul(c, &p.alpha)
		z.M = append(fr.Vector(nil), x.M...)
		field.AddConst(z.M, z.M, &a)
	}
	return z
}

// AddConsts returns x + c for public c (one constant per value).
func (p *Party) AddConsts(x Vec, c fr.Vector) Vec {
	z := Vec{V: field.Add(x.V, c)}
	if x.M != nil {
		z.M = append(fr.Vector(nil), x.M...)
		field.AddScaled(z.M, c, &p.alpha, field.New(len(c)))
	}
	return z
}

// halves is the number of halves this party's vectors carry (1 or 2).
func (p *Party) halves() int {
	if p.malicious() {
		return 2
	}
	return 1
}

// unit returns this party's share of the constant 1 in half h: 1 for values,
// its share of α for MACs. Element-level code adds c·unit(h) for a constant c.
func (p *Party) unit(h int) fr.Element {
	if h == 0 {
		return fr.One()
	}
	return p.alpha
}

// checkMode reports a vector whose mode does not match the party's.
func (p *Party) checkMode(op string, xs ...Vec) error {
	for _, x := range xs {
		if (x.M != nil) != p.malicious() {
			return fmt.Errorf("ss: %s: vector authenticated=%v in %s mode", op, x.M != nil, p.sec)
		}
		if x.M != nil && len(x.M) != len(x.V) {
			return fmt.Errorf("ss: %s: %d MACs for %d values", op, len(x.M), len(x.V))
		}
	}
	return nil
}

// innerProduct returns Σ a_i·b_i.
func innerProduct(a, b fr.Vector) fr.Element { return a.InnerProduct(b) }
