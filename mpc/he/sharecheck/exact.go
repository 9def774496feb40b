package sharecheck

import (
	"fmt"
	"math/big"
	"math/bits"

	"github.com/tuneinsight/lattigo/v5/ring"
)

// The member-side products Σ ±A·x of a relation are exact integers of at
// most about 2^80 (|A| < q < 2^62, ternary x, N ≤ 2^16, two terms): the
// witness needs them exactly to derive its errors and the quotients m_k =
// R_k/q_j. They are computed with 64-bit NTTs modulo two auxiliary
// NTT-friendly primes (auxBits each, product far above 2^81) and recovered
// by CRT, instead of over BN254's Fr (four-word Montgomery arithmetic): the
// same integers, about ten times cheaper. The public side (combine) stays
// over Fr: its coefficients are random field elements.
const auxBits = 58

// i128 is a signed 128-bit integer in two's complement.
type i128 struct{ lo, hi uint64 }

func (x i128) neg() bool { return int64(x.hi) < 0 }

func (x i128) negate() i128 {
	lo, b := bits.Sub64(0, x.lo, 0)
	hi, _ := bits.Sub64(0, x.hi, b)
	return i128{lo, hi}
}

func (x i128) add(y i128) i128 {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	hi, _ := bits.Add64(x.hi, y.hi, c)
	return i128{lo, hi}
}

func i128Of(v int64) i128 {
	if v < 0 {
		return i128{uint64(v), ^uint64(0)}
	}
	return i128{uint64(v), 0}
}

// mulU64 returns c·m for c < 2^64 and |m| < 2^63.
func mulU64(c uint64, m int64) i128 {
	a := m
	if a < 0 {
		a = -a
	}
	hi, lo := bits.Mul64(c, uint64(a))
	x := i128{lo, hi}
	if m < 0 {
		x = x.negate()
	}
	return x
}

// mod returns x mod q in [0, q).
func (x i128) mod(q uint64) uint64 {
	a := x
	if x.neg() {
		a = x.negate()
	}
	r := bits.Rem64(a.hi%q, a.lo, q)
	if x.neg() && r != 0 {
		r = q - r
	}
	return r
}

// divExact returns x/q when q divides x and the quotient fits an int64
// below 2^62; ok is false otherwise (a witness that does not fit).
func (x i128) divExact(q uint64) (int64, bool) {
	a := x
	if x.neg() {
		a = x.negate()
	}
	if a.hi >= q {
		return 0, false
	}
	quo, rem := bits.Div64(a.hi, a.lo, q)
	if rem != 0 || quo >= 1<<62 {
		return 0, false
	}
	if x.neg() {
		return -int64(quo), true
	}
	return int64(quo), true
}

func (x i128) big() *big.Int {
	a := x
	if x.neg() {
		a = x.negate()
	}
	b := new(big.Int).SetUint64(a.hi)
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(a.lo))
	if x.neg() {
		b.Neg(b)
	}
	return b
}

// exactRing multiplies in Z[X]/(X^N+1) exactly, by CRT over two primes.
type exactRing struct {
	r          *ring.Ring
	q1, q2     uint64
	q1InvMod2  uint64 // q1^-1 mod q2
	prod, half i128   // q1·q2 and ⌊q1·q2/2⌋
}

func newExactRing(n int) (*exactRing, error) {
	gen := ring.NewNTTFriendlyPrimesGenerator(auxBits, uint64(2*n))
	ps, err := gen.NextDownstreamPrimes(2)
	if err != nil {
		return nil, fmt.Errorf("sharecheck: auxiliary primes: %w", err)
	}
	r, err := ring.NewRing(n, ps)
	if err != nil {
		return nil, fmt.Errorf("sharecheck: auxiliary ring: %w", err)
	}
	e := &exactRing{r: r, q1: ps[0], q2: ps[1]}
	e.q1InvMod2 = ring.ModExp(e.q1%e.q2, e.q2-2, e.q2)
	hi, lo := bits.Mul64(e.q1, e.q2)
	e.prod = i128{lo, hi}
	e.half = i128{lo>>1 | hi<<63, hi >> 1}
	return e, nil
}

// liftU64 writes v (each below 2^64) into p reduced mod both primes.
func (e *exactRing) liftU64(p ring.Poly, v []uint64) {
	for k, x := range v {
		p.Coeffs[0][k] = x % e.q1
		p.Coeffs[1][k] = x % e.q2
	}
}

// liftInt writes small signed integers into p.
func (e *exactRing) liftInt(p ring.Poly, v []int64) {
	for i, q := range []uint64{e.q1, e.q2} {
		for k, x := range v {
			if x < 0 {
				p.Coeffs[i][k] = q - uint64(-x)%q
				if p.Coeffs[i][k] == q {
					p.Coeffs[i][k] = 0
				}
			} else {
				p.Coeffs[i][k] = uint64(x) % q
			}
		}
	}
}

// crt returns the integer of residues (a1, a2), centred in (−q1q2/2, q1q2/2].
func (e *exactRing) crt(a1, a2 uint64) i128 {
	t := (a2 + e.q2 - a1%e.q2) % e.q2
	t = mulMod(t, e.q1InvMod2, e.q2)
	hi, lo := bits.Mul64(e.q1, t)
	x := i128{lo, hi}.add(i128{a1, 0})
	if x.hi > e.half.hi || (x.hi == e.half.hi && x.lo > e.half.lo) {
		x = x.add(e.prod.negate())
	}
	return x
}

// exactProducts returns, per relation and limb, the exact integers Σ ±A·x
// (and the scalar terms) of the relation, from the witness's secrets.
func (s *System) exactProducts(w *Witness) ([][][]i128, error) {
	er, err := newExactRing(s.N)
	if err != nil {
		return nil, err
	}
	type key struct {
		secret int
		auto   uint64
	}
	plain := make(map[key][]int64)     // the secrets as the terms use them
	secrets := make(map[key]ring.Poly) // and their transforms
	for _, rel := range s.Rels {
		for _, t := range rel.Terms {
			k := key{t.Secret, t.Auto}
			if _, ok := plain[k]; !ok {
				x := w.Secrets[t.Secret]
				if t.Auto != 0 {
					x = automorphism(x, t.Auto)
				}
				plain[k] = x
			}
			if _, ok := secrets[k]; !ok && t.Poly >= 0 {
				p := er.r.NewPoly()
				er.liftInt(p, plain[k])
				er.r.NTT(p, p)
				secrets[k] = p
			}
		}
	}
	out := make([][][]i128, len(s.Rels))
	for r := range out {
		out[r] = make([][]i128, len(s.Moduli))
	}
	acc, tmp := er.r.NewPoly(), er.r.NewPoly()
	for j := range s.Moduli {
		fa := make(map[int]ring.Poly) // NTT(A) per public polynomial, this limb
		for r, rel := range s.Rels {
			acc.Zero()
			for _, t := range rel.Terms {
				if t.Poly < 0 {
					continue
				}
				a, ok := fa[t.Poly]
				if !ok {
					a = er.r.NewPoly()
					er.liftU64(a, s.Polys[t.Poly][j])
					er.r.NTT(a, a)
					fa[t.Poly] = a
				}
				if t.Neg {
					er.r.MulCoeffsBarrett(a, secrets[key{t.Secret, t.Auto}], tmp)
					er.r.Sub(acc, tmp, acc)
				} else {
					er.r.MulCoeffsBarrettThenAdd(a, secrets[key{t.Secret, t.Auto}], acc)
				}
			}
			er.r.INTT(acc, acc)
			res := make([]i128, s.N)
			for k := range res {
				res[k] = er.crt(acc.Coeffs[0][k], acc.Coeffs[1][k])
			}
			for _, t := range rel.Terms {
				if t.Poly >= 0 {
					continue
				}
				x := plain[key{t.Secret, t.Auto}]
				for k := range res {
					v := mulU64(t.Scalar[j], x[k]) // |x| ≤ 1 for an honest secret
					if t.Neg {
						v = v.negate()
					}
					res[k] = res[k].add(v)
				}
			}
			out[r][j] = res
		}
	}
	return out, nil
}

// quotientsOf returns the integers m_k = R_k/q_j, R_k = prod_k + e_k − p_k,
// per relation and limb; ok is false when some R_k is not a multiple of q_j
// or m_k is out of range (the witness does not satisfy the relation: its m
// is then meaningless, and the check fails).
func (s *System) quotientsOf(st Statement, w *Witness, prod [][][]i128) ([][][]int64, bool) {
	ok := true
	out := make([][][]int64, len(s.Rels))
	for r := range s.Rels {
		out[r] = make([][]int64, len(s.Moduli))
		e := w.Errors[r]
		for j, q := range s.Moduli {
			m := make([]int64, s.N)
			for k := range m {
				R := prod[r][j][k].add(i128Of(e[k])).add(i128{st[r][j][k], 0}.negate())
				v, fits := R.divExact(q)
				ok = ok && fits
				m[k] = v
			}
			out[r][j] = m
		}
	}
	return out, ok
}
