package sealedinput

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
)

// Pedersen commitments to a sealed input's sharing polynomials (doc.go).

// PointBytes is the size of one commitment: a compressed BN254 G1 point.
const PointBytes = bn254.SizeOfG1AffineCompressed

// ErrCommitments is returned for commitments that are not well formed for
// the job: another count, or a point that is not the canonical compressed
// encoding of a point of G1.
var ErrCommitments = errors.New("sealed input: malformed share commitments")

// ErrOffCommitments is returned for a well-formed share that is not on the
// polynomials the provider committed to: the provider dealt it so (the
// share and the commitments are both its, in the job input it signed).
var ErrOffCommitments = errors.New("sealed input: the share is not on the provider's committed polynomials")

// hDST is the hash-to-curve domain of the second generator H.
const hDST = "cohort/sealedinput/pedersen/v1/H"

// generators returns G (the group's standard generator) and H =
// HashToG1("H", hDST): a nothing-up-my-sleeve point whose discrete
// logarithm to G nobody knows (RFC 9380 hash to curve, gnark-crypto's
// SVDW map for BN254). Both are constants; they are computed once.
var generators = sync.OnceValues(func() (bn254.G1Affine, bn254.G1Affine) {
	_, _, g, _ := bn254.Generators()
	h, err := bn254.HashToG1([]byte("H"), []byte(hDST))
	if err != nil {
		// A fixed input that does not hash is a broken library, not a
		// runtime condition.
		panic(fmt.Sprintf("sealedinput: hash H to G1: %v", err))
	}
	return g, h
})

// Threshold is the SS engine's degree t for a committee of n members
// (mpc/ss Params: t = ⌊(n−1)/2⌋): the degree of a provider's sharing
// polynomials, and t+1 the number of commitments per shared element.
// (Computed here rather than with ss.NewParams, which builds the engine's
// tables; TestThresholdIsTheEngines checks they agree.)
func Threshold(n int) (int, error) {
	if n < ss.MinParties || n > ss.MaxParties {
		return 0, fmt.Errorf("sealedinput: committee of %d members, the engine runs %d..%d", n, ss.MinParties, ss.MaxParties)
	}
	return (n - 1) / 2, nil
}

// Width is how many field elements one provider shares for an input of
// fields elements: the fields and the Poseidon2 commitment's salt, each on
// its own polynomial and each committed.
func Width(fields int) int { return fields + 1 }

// CommitmentsLen is the size of an input's share commitments: t+1 points
// per shared element (Width), for a committee of n. It returns an error for
// a committee size the engine does not run or a bad field count.
func CommitmentsLen(n, fields int) (int, error) {
	t, err := Threshold(n)
	if err != nil {
		return 0, err
	}
	if fields < 1 || fields > jobs.MaxInputFields {
		return 0, fmt.Errorf("%w: %d fields", ErrCommitments, fields)
	}
	return (t + 1) * Width(fields) * PointBytes, nil
}

// Commitments are one input's parsed share commitments: for shared element
// m (the fields, then the salt) and degree k, the point C[m·(t+1)+k] =
// a_{m,k}·G + b_{m,k}·H.
type Commitments struct {
	n, t, width int
	pts         []bn254.G1Affine
	raw         []byte
}

// ParseCommitments decodes an input's share commitments for a committee of
// n and an input of fields elements, refusing (ErrCommitments) any other
// length — checked before anything is allocated — and any point that is
// not the canonical compressed encoding of a point of G1 (on the curve; G1
// of BN254 has cofactor 1, and gnark-crypto checks the subgroup too). The
// identity is a point of G1 and is taken. Deterministic; about one square
// root per point.
func ParseCommitments(b []byte, n, fields int) (*Commitments, error) {
	want, err := CommitmentsLen(n, fields)
	if err != nil {
		return nil, err
	}
	if len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes, want %d ((t+1)·(fields+1) = %d points for %d fields and a committee of %d)",
			ErrCommitments, len(b), want, want/PointBytes, fields, n)
	}
	t, _ := Threshold(n)
	// raw is a copy: the challenge hashes it, and the caller's buffer may
	// change after the parse.
	c := &Commitments{n: n, t: t, width: Width(fields), pts: make([]bn254.G1Affine, want/PointBytes), raw: bytes.Clone(b)}
	for i := range c.pts {
		enc := b[i*PointBytes : (i+1)*PointBytes]
		if _, err := c.pts[i].SetBytes(enc); err != nil {
			return nil, fmt.Errorf("%w: point %d: %v", ErrCommitments, i, err)
		}
		if re := c.pts[i].Bytes(); string(re[:]) != string(enc) {
			return nil, fmt.Errorf("%w: point %d is not canonically encoded", ErrCommitments, i)
		}
	}
	return c, nil
}

// Deal commits to the sharing behind shares (shares[j] is member j's
// vector: the input's fields then its salt, at the engine's point j+1) and
// draws its blinding: it interpolates each element's polynomial f_m of
// degree t from the first t+1 shares, refuses shares that are not all on
// them, draws a random blinding polynomial g_m of degree t per element
// (rnd; nil: crypto/rand), and returns the commitments C_{m,k} = a_{m,k}·G +
// b_{m,k}·H (encoded as ParseCommitments takes them) and each member's
// blinding shares g_m(j+1). What the provider posts is the commitments;
// member j's share message carries its shares and blinding[j] (Encode).
func Deal(shares []fr.Vector, t int, rnd io.Reader) (commitments []byte, blinding []fr.Vector, err error) {
	n := len(shares)
	if tt, err := Threshold(n); err != nil || tt != t {
		return nil, nil, fmt.Errorf("sealedinput: deal %d shares of degree %d: the engine's degree for %d members is %d (%v)", n, t, n, tt, err)
	}
	w := len(shares[0])
	if w < 2 || w > Width(jobs.MaxInputFields) {
		return nil, nil, fmt.Errorf("sealedinput: deal a vector of %d elements", w)
	}
	for j, s := range shares {
		if len(s) != w {
			return nil, nil, fmt.Errorf("sealedinput: member %d's share has %d elements, member 0's %d", j, len(s), w)
		}
	}
	// a[m·(t+1)+k]: coefficient k of element m's polynomial.
	basis := monomialBasis(t)
	a := make(fr.Vector, w*(t+1))
	var tmp fr.Element
	for m := 0; m < w; m++ {
		for i := 0; i <= t; i++ {
			for k := 0; k <= t; k++ {
				tmp.Mul(&shares[i][m], &basis[i][k])
				a[m*(t+1)+k].Add(&a[m*(t+1)+k], &tmp)
			}
		}
	}
	for j := t + 1; j < n; j++ {
		for m := 0; m < w; m++ {
			if v := eval(a[m*(t+1):(m+1)*(t+1)], j); !v.Equal(&shares[j][m]) {
				return nil, nil, fmt.Errorf("sealedinput: member %d's share of element %d is not on the polynomial of degree %d through the others", j, m, t)
			}
		}
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	// The blinding coefficients come straight from rnd, not from a PRG
	// seeded by it: hiding is then as perfect as rnd is uniform
	// (doc.go), at W·(t+1) reads of 32 bytes: about 1 µs for a scalar input
	// on a committee of 4, against the deal's 0.7 ms (BenchmarkBlinding).
	b := make(fr.Vector, len(a))
	if err := randomVector(rnd, b); err != nil {
		return nil, nil, fmt.Errorf("sealedinput: blinding: %w", err)
	}
	blinding = make([]fr.Vector, n)
	for j := range blinding {
		blinding[j] = make(fr.Vector, w)
		for m := range blinding[j] {
			blinding[j][m] = eval(b[m*(t+1):(m+1)*(t+1)], j)
		}
	}
	g, h := generators()
	aG := bn254.BatchScalarMultiplicationG1(&g, a)
	bH := bn254.BatchScalarMultiplicationG1(&h, b)
	sum := make([]bn254.G1Jac, len(a))
	for i := range sum {
		sum[i].FromAffine(&aG[i])
		sum[i].AddMixed(&bH[i])
	}
	pts := bn254.BatchJacobianToAffineG1(sum)
	commitments = make([]byte, 0, len(pts)*PointBytes)
	for i := range pts {
		enc := pts[i].Bytes()
		commitments = append(commitments, enc[:]...)
	}
	return commitments, blinding, nil
}

// Verify checks that member's share (its fields then salt) and blinding
// share lie on the committed polynomials at the engine's point x =
// member+1: for every element m, Σ_k x^k·C_{m,k} = f_m(x)·G + g_m(x)·H. The
// equations are checked together, with one multi-scalar multiplication:
// Σ_m ρ^m·(Σ_k x^k·C_{m,k} − f_m(x)·G − g_m(x)·H) = 0, for ρ a hash of the
// commitments, x and the share (Fiat–Shamir). A share off the commitments
// in any element passes only if ρ is a root of a non-zero polynomial of
// degree < Width: probability below Width/r ≈ 2⁻²³⁸ per hash evaluation.
// It returns ErrOffCommitments otherwise. Deterministic.
func (c *Commitments) Verify(member int, share jobs.InputShare, blinding fr.Vector) error {
	if len(share.Fields)+1 != c.width || len(blinding) != c.width {
		return fmt.Errorf("%w: a share of %d fields and %d blinding elements, commitments for %d", ErrOffCommitments, len(share.Fields), len(blinding), c.width)
	}
	if member < 0 || member >= c.n {
		return fmt.Errorf("%w: member %d of a committee of %d", ErrOffCommitments, member, c.n)
	}
	f := append(append(make(fr.Vector, 0, c.width), share.Fields...), share.Salt)
	rho := c.challenge(member, f, blinding)
	var x fr.Element
	x.SetUint64(uint64(member) + 1)
	t1 := c.t + 1
	scalars := make(fr.Vector, len(c.pts)+2)
	points := make([]bn254.G1Affine, len(c.pts)+2)
	copy(points, c.pts)
	g, h := generators()
	points[len(c.pts)], points[len(c.pts)+1] = g, h
	var rm, xk, tmp, fSum, gSum fr.Element
	rm.SetOne()
	for m := 0; m < c.width; m++ {
		xk.Set(&rm)
		for k := 0; k < t1; k++ {
			scalars[m*t1+k] = xk
			xk.Mul(&xk, &x)
		}
		tmp.Mul(&rm, &f[m])
		fSum.Add(&fSum, &tmp)
		tmp.Mul(&rm, &blinding[m])
		gSum.Add(&gSum, &tmp)
		rm.Mul(&rm, &rho)
	}
	scalars[len(c.pts)].Neg(&fSum)
	scalars[len(c.pts)+1].Neg(&gSum)
	var acc bn254.G1Jac
	if _, err := acc.MultiExp(points, scalars, ecc.MultiExpConfig{NbTasks: 1}); err != nil {
		return fmt.Errorf("sealedinput: verify share: %w", err)
	}
	if !acc.Z.IsZero() { // the identity in Jacobian coordinates
		return ErrOffCommitments
	}
	return nil
}

// challenge is Verify's ρ: SHA-256 over a domain tag, the commitments, the
// member's point and its shares, reduced into fr.
func (c *Commitments) challenge(member int, f, g fr.Vector) fr.Element {
	h := sha256.New()
	h.Write([]byte("cohort/sealedinput/pedersen/v1/batch\x00"))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(c.raw))))
	h.Write(c.raw)
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(member)+1))
	h.Write(field.EncodeVector(f))
	h.Write(field.EncodeVector(g))
	var rho fr.Element
	rho.SetBytes(h.Sum(nil))
	return rho
}

// Judge is the one judgment of an opened sealed share, by the member that
// opens it (node/jobrun), every member checking another's proven claim
// (agreeInputs) and the ledger (checkSealedOpening): msg must be a
// well-formed share message of an input of fields elements (DecodeShare;
// ErrMalformed otherwise) whose share and blinding share are on the
// provider's commitments at member's point (Verify; ErrOffCommitments
// otherwise). Either error is the provider's fault. It returns the share
// without its blinding: the blinding share is for this check only.
func Judge(msg []byte, fields, member int, c *Commitments) (jobs.InputShare, error) {
	s, blinding, err := DecodeShare(msg, fields)
	if err != nil {
		return jobs.InputShare{}, err
	}
	if c == nil {
		return jobs.InputShare{}, fmt.Errorf("%w: no commitments", ErrOffCommitments)
	}
	if err := c.Verify(member, s, blinding); err != nil {
		return jobs.InputShare{}, err
	}
	return s, nil
}

// randomVector sets every element of v to a uniform field element read
// from rnd, by rejection sampling of 254-bit strings (acceptance ≈ 0.76:
// r > 2²⁵³). It reads all candidates in one call, then one more per
// rejected element.
func randomVector(rnd io.Reader, v fr.Vector) error {
	buf := make([]byte, len(v)*fr.Bytes)
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return fmt.Errorf("read randomness: %w", err)
	}
	for i := range v {
		b := buf[i*fr.Bytes : (i+1)*fr.Bytes]
		for {
			b[0] &= 0x3f // 254 bits, big-endian
			if err := v[i].SetBytesCanonical(b); err == nil {
				break
			}
			if _, err := io.ReadFull(rnd, b); err != nil {
				return fmt.Errorf("read randomness: %w", err)
			}
		}
	}
	clear(buf)
	return nil
}

// monomialBasis returns, for the points 1..t+1, the monomial coefficients
// of each Lagrange basis polynomial: basis[i][k] is the coefficient of X^k
// in L_i(X) = Π_{j≠i} (X − x_j)/(x_i − x_j).
func monomialBasis(t int) [][]fr.Element {
	out := make([][]fr.Element, t+1)
	for i := range out {
		poly := []fr.Element{fr.One()}
		var den fr.Element
		den.SetOne()
		xi := fr.NewElement(uint64(i) + 1)
		for j := 0; j <= t; j++ {
			if j == i {
				continue
			}
			xj := fr.NewElement(uint64(j) + 1)
			// poly *= (X − x_j)
			next := make([]fr.Element, len(poly)+1)
			var tmp fr.Element
			for k := range poly {
				next[k+1].Add(&next[k+1], &poly[k])
				tmp.Mul(&poly[k], &xj)
				next[k].Sub(&next[k], &tmp)
			}
			poly = next
			tmp.Sub(&xi, &xj)
			den.Mul(&den, &tmp)
		}
		den.Inverse(&den)
		for k := range poly {
			poly[k].Mul(&poly[k], &den)
		}
		out[i] = poly
	}
	return out
}

// eval evaluates the polynomial with coefficients coef at the engine's
// point of member j (j+1), by Horner's rule.
func eval(coef []fr.Element, j int) fr.Element {
	x := fr.NewElement(uint64(j) + 1)
	var acc fr.Element
	for k := len(coef) - 1; k >= 0; k-- {
		acc.Mul(&acc, &x)
		acc.Add(&acc, &coef[k])
	}
	return acc
}

// Messages is the provider's side of a sealed input: from each member's
// encoded input share (jobs.ShareInput's messages, one per member, in
// committee order) of an input of fields elements, it deals the Pedersen
// commitments (Deal) and returns them with each member's share message
// (Encode: its share and its blinding shares), to be sealed to that
// member. rnd draws the blinding (nil: crypto/rand).
func Messages(shares [][]byte, fields int, rnd io.Reader) (commitments []byte, msgs [][]byte, err error) {
	n := len(shares)
	t, err := Threshold(n)
	if err != nil {
		return nil, nil, err
	}
	vecs := make([]fr.Vector, n)
	for j, b := range shares {
		s, err := jobs.DecodeInputShare(b, fields)
		if err != nil {
			return nil, nil, fmt.Errorf("sealedinput: member %d's share: %w", j, err)
		}
		if len(s.Fields) != fields {
			return nil, nil, fmt.Errorf("sealedinput: member %d's share has %d fields, want %d", j, len(s.Fields), fields)
		}
		vecs[j] = append(s.Fields, s.Salt)
	}
	commitments, blinding, err := Deal(vecs, t, rnd)
	if err != nil {
		return nil, nil, err
	}
	msgs = make([][]byte, n)
	for j := range msgs {
		msgs[j] = Encode(shares[j], blinding[j])
		// The ledger takes sealed shares of exactly SealedLen(fields)
		// bytes: a message of another size would be refused there.
		if len(msgs[j]) != MessageLen(fields) {
			return nil, nil, fmt.Errorf("sealedinput: member %d's share message has %d bytes, want %d", j, len(msgs[j]), MessageLen(fields))
		}
	}
	return commitments, msgs, nil
}
