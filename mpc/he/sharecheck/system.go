package sharecheck

import (
	"errors"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/transport"
)

// Witness encoding: an error coefficient e ∈ [−ErrOffset, ErrOffset) is
// input as the ErrBits bits of e + ErrOffset; a secret coefficient as the
// field element itself (checked ternary).
const (
	ErrBits   = 6
	ErrOffset = 1 << (ErrBits - 1)
)

// DefaultReps is the number of evaluation points per relation and limb: a
// false relation survives each with probability ≤ (N−1)/q_j, so with N =
// 2^14 and the smallest prime of QP (45 bits) three points leave ≤ 2^-92.
const DefaultReps = 3

// System is the public part of the statement every member proves about its
// setup shares: for each relation ρ, each limb j (prime q_j of QP) and
// member D,
//
//	p_{D,ρ} ≡ Σ_terms ±A_term·x_{D,term} + e_{D,ρ}   (mod q_j, in Z[X]/(X^N+1))
//
// with x ternary secrets of D, e_{D,ρ} an integer polynomial with
// coefficients in [−ErrOffset, ErrOffset) (the same in every limb), A public
// (a common reference polynomial or a scalar) and p_{D,ρ} D's public share.
type System struct {
	N       int
	Moduli  []uint64     // q_j of QP: Q's primes, then P's
	Secrets []string     // names of the members' ternary secrets
	Polys   [][][]uint64 // public polynomials: Polys[i][j] coefficients in [0, q_j)
	Rels    []Relation
	Groups  []Group
	Reps    int // evaluation points per relation and limb (DefaultReps if 0)
	// FailRound, if not 0, is the round CheckRound reports instead of the
	// last group's: for a part of a batch (CheckBatch) that re-proves an
	// earlier share on behalf of the later rounds the batch checks.
	FailRound transport.Round

	wb       []int // per limb: |W| < 2^wb[j]
	maxTerms int   // the most terms of a relation
}

// mBound bounds an honest witness's quotients: |m_k| ≤ terms·N + 2.
func (s *System) mBound() int { return s.maxTerms*s.N + 2 }

// Term is one public-times-secret product of a relation.
type Term struct {
	Secret int      // index into System.Secrets
	Poly   int      // index into System.Polys, or −1 for a scalar term
	Scalar []uint64 // per limb, the scalar (in [0, q_j)) when Poly < 0
	Neg    bool     // the term is subtracted
	// Auto, if not 0, applies the automorphism X → X^Auto (Auto odd, below
	// 2N) to the secret first: a signed permutation of its coefficients.
	Auto uint64
}

// automorphism returns x(X^k) mod X^N+1 for small integer coefficients.
func automorphism(x []int64, k uint64) []int64 {
	n := uint64(len(x))
	out := make([]int64, n)
	for i, v := range x {
		j := uint64(i) * k % (2 * n)
		if j < n {
			out[j] = v
		} else {
			out[j-n] = -v
		}
	}
	return out
}

// automorphismT applies the transpose of automorphism(·, k) to y:
// ⟨automorphism(x, k), y⟩ = ⟨x, automorphismT(y, k)⟩.
func automorphismT(y fr.Vector, k uint64) fr.Vector {
	n := uint64(len(y))
	out := make(fr.Vector, n)
	for i := range out {
		j := uint64(i) * k % (2 * n)
		if j < n {
			out[i] = y[j]
		} else {
			out[i].Neg(&y[j-n])
		}
	}
	return out
}

// Relation is one share polynomial's relation (see System).
type Relation struct {
	Name  string
	Group int // index into System.Groups
	Terms []Term
}

// Group gathers the relations of one setup round: a failure is reported per
// member and group, as a *transport.PartyError for Round — or, for a group
// Reproven from an earlier check (binding the secrets to it), for the round
// of the check that ran (System.CheckRound).
type Group struct {
	Name     string
	Round    transport.Round
	Reproven bool
}

// CheckRound is the round a failure that no newly checked group accounts for
// is reported in: a failed bit or ternary check (one aggregate per member,
// which cannot tell whose round's witness holds the bad value) and a
// re-proven group's failure. It is the round of the last group, the one
// the check was built for (round one: the first relinearisation round, or
// the public-key share alone; round two; a Galois element), unless
// FailRound is set.
func (s *System) CheckRound() transport.Round {
	if s.FailRound != 0 {
		return s.FailRound
	}
	if len(s.Groups) == 0 {
		return 0
	}
	return s.Groups[len(s.Groups)-1].Round
}

// Statement is a member's public shares, Statement[ρ][j] the coefficients
// (in [0, q_j)) of relation ρ's share polynomial in limb j.
type Statement [][][]uint64

// Witness is what a member proves knowledge of: its ternary secrets
// (Secrets[i], N coefficients in {−1, 0, 1}) and one error polynomial per
// relation (Errors[ρ], N coefficients).
type Witness struct {
	Secrets [][]int64
	Errors  [][]int64

	// m caches the quotients m_k = R_k/q_j per relation and limb
	// (Setup.Witness computes them with the errors); nil: computed when
	// needed.
	m [][][]int64
	// tamper, set only by this package's tests, edits the encoded input of
	// phase 1 (secrets, error bits) or 2 (quotient bits).
	tamper func(phase int, v fr.Vector)
}

// init validates the system and derives the bounds on W.
func (s *System) init() error {
	if s.N < 2 || s.N&(s.N-1) != 0 || s.N > 1<<16 {
		return fmt.Errorf("sharecheck: ring degree %d", s.N)
	}
	if len(s.Moduli) == 0 || len(s.Rels) == 0 || len(s.Secrets) == 0 || len(s.Groups) == 0 {
		return errors.New("sharecheck: empty system")
	}
	if s.Reps == 0 {
		s.Reps = DefaultReps
	}
	for j, q := range s.Moduli {
		if q < 3 || q >= 1<<62 {
			return fmt.Errorf("sharecheck: modulus %d of limb %d", q, j)
		}
	}
	for i, p := range s.Polys {
		if err := checkLen("public polynomial", len(p), len(s.Moduli)); err != nil {
			return err
		}
		for j, c := range p {
			if err := checkLen(fmt.Sprintf("public polynomial %d limb %d", i, j), len(c), s.N); err != nil {
				return err
			}
		}
	}
	maxTerms := 0
	for r, rel := range s.Rels {
		if rel.Group < 0 || rel.Group >= len(s.Groups) {
			return fmt.Errorf("sharecheck: relation %d in group %d", r, rel.Group)
		}
		for _, t := range rel.Terms {
			if t.Secret < 0 || t.Secret >= len(s.Secrets) {
				return fmt.Errorf("sharecheck: relation %d: secret %d", r, t.Secret)
			}
			if t.Poly >= len(s.Polys) || (t.Poly < 0 && len(t.Scalar) != len(s.Moduli)) ||
				(t.Auto != 0 && (t.Auto%2 == 0 || t.Auto >= uint64(2*s.N))) {
				return fmt.Errorf("sharecheck: relation %d: malformed term", r)
			}
		}
		maxTerms = max(maxTerms, len(rel.Terms))
	}
	// L = Σ_k c_k·R_k with R_k = q_j·m_k the integer residual of
	// coefficient k: |R_k| ≤ terms·N·(q_j−1) + ErrOffset + q_j, so
	// |m_k| ≤ terms·N + 2 and |W| = |Σ c_k m_k| ≤ N·q_j·(terms·N + 2).
	s.maxTerms = maxTerms
	m := uint64(s.mBound())
	s.wb = make([]int, len(s.Moduli))
	for j, q := range s.Moduli {
		s.wb[j] = bits.Len(uint(s.N)) + bits.Len64(q) + bits.Len64(m)
		// |L − q·W| < 2^(wb+len(q)+1) must stay below r/2 ≈ 2^253 for the
		// field identity to be an integer identity.
		if s.wb[j]+bits.Len64(q)+2 > 250 {
			return fmt.Errorf("sharecheck: limb %d: integer bound 2^%d too large for the field", j, s.wb[j]+bits.Len64(q))
		}
	}
	return nil
}

// phase1Len is the number of field elements a member inputs first: its
// secrets, then the bits of every error polynomial (relation-major,
// coefficient, bit).
func (s *System) phase1Len() int { return len(s.Secrets)*s.N + len(s.Rels)*s.N*ErrBits }

// phase2Len is the number of bits of the quotients W (relation, limb,
// point), input once the points are known.
func (s *System) phase2Len() int {
	n := 0
	for range s.Rels {
		for j := range s.Moduli {
			n += s.Reps * (s.wb[j] + 1)
		}
	}
	return n
}

// checkStatement validates a member's public shares against the system.
func (s *System) checkStatement(st Statement) error {
	if err := checkLen("statement", len(st), len(s.Rels)); err != nil {
		return err
	}
	for r := range st {
		if err := checkLen("statement relation", len(st[r]), len(s.Moduli)); err != nil {
			return err
		}
		for j, c := range st[r] {
			if err := checkLen("statement limb", len(c), s.N); err != nil {
				return err
			}
			for _, x := range c {
				if x >= s.Moduli[j] {
					return fmt.Errorf("sharecheck: relation %d limb %d: coefficient not reduced", r, j)
				}
			}
		}
	}
	return nil
}

// phase1 encodes a witness (wrapping out-of-range errors: such a witness
// fails the check, which is the point).
func (s *System) phase1(w *Witness) (fr.Vector, error) {
	if err := checkLen("witness secrets", len(w.Secrets), len(s.Secrets)); err != nil {
		return nil, err
	}
	if err := checkLen("witness errors", len(w.Errors), len(s.Rels)); err != nil {
		return nil, err
	}
	out := make(fr.Vector, 0, s.phase1Len())
	for _, x := range w.Secrets {
		if err := checkLen("witness secret", len(x), s.N); err != nil {
			return nil, err
		}
		out = append(out, liftInt(x)...)
	}
	var one fr.Element
	one.SetOne()
	for _, e := range w.Errors {
		if err := checkLen("witness error", len(e), s.N); err != nil {
			return nil, err
		}
		for _, x := range e {
			v := uint64(x + ErrOffset)
			for i := 0; i < ErrBits; i++ {
				if v>>i&1 == 1 {
					out = append(out, one)
				} else {
					out = append(out, fr.Element{})
				}
			}
		}
	}
	if w.tamper != nil {
		w.tamper(1, out)
	}
	return out, nil
}

// points are the evaluation points z[j][rep] and their power vectors.
type points struct {
	c [][][]uint64 // c[j][rep][k] = z_{j,rep}^k mod q_j
}

// quotients computes, member-side, the bits of W_{ρ,j,rep} = L/q_j for each
// relation, limb and point, where L = Σ_k c_k·R_k and R_k = q_j·m_k is the
// integer residual of the relation at coefficient k. ok is false when the
// witness does not satisfy the relations with bounded W (the bits are then
// wrapped and the check will fail).
func (s *System) quotients(st Statement, w *Witness, pts *points) (fr.Vector, bool, error) {
	if w.m == nil {
		prod, err := s.exactProducts(w)
		if err != nil {
			return nil, false, err
		}
		w.m, _ = s.quotientsOf(st, w, prod)
	}
	out := make(fr.Vector, 0, s.phase2Len())
	ok := true
	var one fr.Element
	one.SetOne()
	bound := int64(s.mBound())
	for r := range s.Rels {
		for j := range s.Moduli {
			m := w.m[r][j]
			for rep := 0; rep < s.Reps; rep++ {
				// |c_k·m_k| < 2^62·2^18 and N ≤ 2^16 terms: W fits in
				// 128 bits whenever every m_k is in bound.
				var acc i128
				for k, c := range pts.c[j][rep] {
					if m[k] > bound || m[k] < -bound {
						ok = false
					}
					acc = acc.add(mulU64(c, m[k]))
				}
				b := acc.big()
				b.Add(b, new(big.Int).Lsh(big.NewInt(1), uint(s.wb[j])))
				if b.Sign() < 0 || b.BitLen() > s.wb[j]+1 {
					ok = false
				}
				for i := 0; i <= s.wb[j]; i++ {
					if b.Bit(i) == 1 {
						out = append(out, one)
					} else {
						out = append(out, fr.Element{})
					}
				}
			}
		}
	}
	return out, ok, nil
}
