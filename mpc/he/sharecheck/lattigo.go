package sharecheck

import (
	"fmt"
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"

	"github.com/cohortnet/cohort/mpc/transport"
)

// Setup is the statement of lattigo v5's mhe setup shares that the check
// covers: the collective-public-key share (CKG) and, when RKG is set, the
// first relinearisation round. In the coefficient domain, with s the
// member's secret, u its ephemeral secret, a and c_i the common reference
// polynomials (all as lattigo stores them, see the conversions below):
//
//	pk share:            p     = −a·s + e                 (a = IMForm(crp))
//	RKG round 1, row i:  h0_i  = −c_i·u + P·s·1[j ∈ i] + e0_i
//	                     h1_i  =  c_i·s + e1_i
//
// where 1[j ∈ i] selects the limbs q_j of row i's RNS gadget group (the
// scalar P mod q_j there, 0 elsewhere, P's limbs included).
type Setup struct {
	Params rlwe.Parameters
	PKCRP  mhe.PublicKeyGenCRP
	RKGCRP *mhe.RelinearizationKeyGenCRP // nil: the public-key share only
	// Rounds reported on failure.
	PKRound, RKGRound transport.Round
}

// System builds the check's public system.
func (su *Setup) System() (*System, error) {
	params := su.Params
	moduli := params.QP()
	sys := &System{N: params.N(), Moduli: moduli, Secrets: []string{"s"}}
	sys.Groups = append(sys.Groups, Group{Name: "public key share", Round: su.PKRound})
	a, err := limbs(params, su.PKCRP.Value, true)
	if err != nil {
		return nil, err
	}
	sys.Polys = append(sys.Polys, a)
	sys.Rels = append(sys.Rels, Relation{Name: "public key share", Group: 0, Terms: []Term{{Secret: 0, Poly: 0, Neg: true}}})
	if su.RKGCRP == nil {
		return sys, sys.init()
	}
	sys.Secrets = append(sys.Secrets, "u")
	sys.Groups = append(sys.Groups, Group{Name: "relinearisation share (round 1)", Round: su.RKGRound})
	rows, cols := len(su.RKGCRP.Value), 0
	if rows > 0 {
		cols = len(su.RKGCRP.Value[0])
	}
	if rows != params.BaseRNSDecompositionVectorSize(params.MaxLevelQ(), params.MaxLevelP()) || cols != 1 {
		return nil, fmt.Errorf("sharecheck: relinearisation CRP of %d×%d: base-2 decomposition not implemented", rows, cols)
	}
	qCount, pCount := params.QCount(), params.PCount()
	pMod := params.PBigInt()
	for i := 0; i < rows; i++ {
		c, err := limbs(params, su.RKGCRP.Value[i][0], false)
		if err != nil {
			return nil, err
		}
		sys.Polys = append(sys.Polys, c)
		pi := len(sys.Polys) - 1
		g := make([]uint64, len(moduli))
		for k := 0; k < max(pCount, 1); k++ {
			if idx := i*max(pCount, 1) + k; idx < qCount {
				g[idx] = new(big.Int).Mod(pMod, new(big.Int).SetUint64(moduli[idx])).Uint64()
			}
		}
		sys.Rels = append(sys.Rels,
			Relation{Name: fmt.Sprintf("relinearisation share (round 1) row %d h0", i), Group: 1,
				Terms: []Term{{Secret: 1, Poly: pi, Neg: true}, {Secret: 0, Poly: -1, Scalar: g}}},
			Relation{Name: fmt.Sprintf("relinearisation share (round 1) row %d h1", i), Group: 1,
				Terms: []Term{{Secret: 0, Poly: pi}}})
	}
	return sys, sys.init()
}

// Statement converts a member's public shares into the check's statement
// (rkg1 must be set iff the system covers the relinearisation round).
func (su *Setup) Statement(pk mhe.PublicKeyGenShare, rkg1 *mhe.RelinearizationKeyGenShare) (Statement, error) {
	p, err := limbs(su.Params, pk.Value, true)
	if err != nil {
		return nil, err
	}
	st := Statement{p}
	if (rkg1 == nil) != (su.RKGCRP == nil) {
		return nil, fmt.Errorf("sharecheck: relinearisation share given %v, expected %v", rkg1 != nil, su.RKGCRP != nil)
	}
	if rkg1 == nil {
		return st, nil
	}
	if len(rkg1.Value) != len(su.RKGCRP.Value) {
		return nil, fmt.Errorf("sharecheck: relinearisation share of %d rows, want %d", len(rkg1.Value), len(su.RKGCRP.Value))
	}
	for i := range rkg1.Value {
		if len(rkg1.Value[i]) != 1 || len(rkg1.Value[i][0]) != 2 {
			return nil, fmt.Errorf("sharecheck: relinearisation share row %d malformed", i)
		}
		for _, v := range rkg1.Value[i][0] {
			h, err := limbs(su.Params, v, false)
			if err != nil {
				return nil, err
			}
			st = append(st, h)
		}
	}
	return st, nil
}

// SystemRoundTwo builds the system of the second relinearisation round,
// whose shares are, with R0_i, R1_i the rows of the first round's aggregate
// (public: every member aggregated them),
//
//	RKG round 2, row i:  h2_0_i = R0_i·s + e2_i
//	                     h2_1_i = R1_i·(u − s) + e3_i
//
// The secrets are input afresh, so the system also re-proves the public-key
// share (which fixes s: a uniform a admits two short solutions only with
// probability about (5·65)^N/q_j^N per limb) and the first row's h0 (which
// fixes u given s): the round-two shares are thus proven for the same s and
// u as the first check.
func (su *Setup) SystemRoundTwo(round1 *mhe.RelinearizationKeyGenShare, round transport.Round) (*System, error) {
	if su.RKGCRP == nil || round1 == nil {
		return nil, fmt.Errorf("sharecheck: the second relinearisation round needs the first's CRP and aggregate")
	}
	full, err := su.System()
	if err != nil {
		return nil, err
	}
	sys := &System{N: full.N, Moduli: full.Moduli, Secrets: full.Secrets}
	sys.Groups = []Group{full.Groups[0], full.Groups[1], {Name: "relinearisation share (round 2)", Round: round}}
	sys.Groups[0].Reproven, sys.Groups[1].Reproven = true, true
	// Public polynomials: a, c_0 (for the pk and row-0 h0 relations), then
	// R0_i, R1_i per row.
	sys.Polys = append(sys.Polys, full.Polys[0], full.Polys[1])
	sys.Rels = append(sys.Rels, full.Rels[0], full.Rels[1])
	if len(round1.Value) != len(su.RKGCRP.Value) {
		return nil, fmt.Errorf("sharecheck: first-round aggregate of %d rows, want %d", len(round1.Value), len(su.RKGCRP.Value))
	}
	for i := range round1.Value {
		if len(round1.Value[i]) != 1 || len(round1.Value[i][0]) != 2 {
			return nil, fmt.Errorf("sharecheck: first-round aggregate row %d malformed", i)
		}
		r0, err := limbs(su.Params, round1.Value[i][0][0], false)
		if err != nil {
			return nil, err
		}
		r1, err := limbs(su.Params, round1.Value[i][0][1], false)
		if err != nil {
			return nil, err
		}
		sys.Polys = append(sys.Polys, r0, r1)
		p0, p1 := len(sys.Polys)-2, len(sys.Polys)-1
		sys.Rels = append(sys.Rels,
			Relation{Name: fmt.Sprintf("relinearisation share (round 2) row %d h0", i), Group: 2,
				Terms: []Term{{Secret: 0, Poly: p0}}},
			Relation{Name: fmt.Sprintf("relinearisation share (round 2) row %d h1", i), Group: 2,
				Terms: []Term{{Secret: 1, Poly: p1}, {Secret: 0, Poly: p1, Neg: true}}})
	}
	return sys, sys.init()
}

// StatementRoundTwo converts a member's shares into the statement of
// SystemRoundTwo.
func (su *Setup) StatementRoundTwo(pk mhe.PublicKeyGenShare, rkg1, rkg2 *mhe.RelinearizationKeyGenShare) (Statement, error) {
	st1, err := su.Statement(pk, rkg1)
	if err != nil {
		return nil, err
	}
	st := Statement{st1[0], st1[1]}
	if rkg2 == nil || len(rkg2.Value) != len(su.RKGCRP.Value) {
		return nil, fmt.Errorf("sharecheck: second relinearisation share missing or of the wrong size")
	}
	for i := range rkg2.Value {
		if len(rkg2.Value[i]) != 1 || len(rkg2.Value[i][0]) != 2 {
			return nil, fmt.Errorf("sharecheck: second relinearisation share row %d malformed", i)
		}
		for _, v := range rkg2.Value[i][0] {
			h, err := limbs(su.Params, v, false)
			if err != nil {
				return nil, err
			}
			st = append(st, h)
		}
	}
	return st, nil
}

// SystemGalois builds the system of one Galois key share. lattigo's share
// of element g, row i, is (in Montgomery form: e·R + P·s·R − c·π(s)), in
// the coefficient domain
//
//	h_i = −c_i·π(s) + P·s·1[q_j in row i's RNS group] + e_i   (c_i = IMForm(crp))
//
// with π the automorphism X → X^(g^-1 mod 2N) that lattigo applies to the
// output key. The public-key share is re-proven so that s is the member's
// proven secret.
func (su *Setup) SystemGalois(galEl uint64, crp mhe.GaloisKeyGenCRP, round transport.Round) (*System, error) {
	params := su.Params
	full := &Setup{Params: params, PKCRP: su.PKCRP, PKRound: su.PKRound}
	sys, err := full.System()
	if err != nil {
		return nil, err
	}
	rows := len(crp.Value)
	if rows != params.BaseRNSDecompositionVectorSize(params.MaxLevelQ(), params.MaxLevelP()) || rows == 0 || len(crp.Value[0]) != 1 {
		return nil, fmt.Errorf("sharecheck: Galois CRP of %d rows: base-2 decomposition not implemented", rows)
	}
	twoN := uint64(2 * params.N())
	if galEl%2 == 0 || galEl >= twoN {
		return nil, fmt.Errorf("sharecheck: Galois element %d", galEl)
	}
	inv := ring.ModExp(galEl, twoN-1, twoN)
	sys.Groups[0].Reproven = true
	sys.Groups = append(sys.Groups, Group{Name: fmt.Sprintf("Galois key share (element %d)", galEl), Round: round})
	moduli := sys.Moduli
	qCount, pCount := params.QCount(), params.PCount()
	pMod := params.PBigInt()
	for i := 0; i < rows; i++ {
		c, err := limbs(params, crp.Value[i][0], true)
		if err != nil {
			return nil, err
		}
		sys.Polys = append(sys.Polys, c)
		pi := len(sys.Polys) - 1
		g := make([]uint64, len(moduli))
		for k := 0; k < max(pCount, 1); k++ {
			if idx := i*max(pCount, 1) + k; idx < qCount {
				g[idx] = new(big.Int).Mod(pMod, new(big.Int).SetUint64(moduli[idx])).Uint64()
			}
		}
		sys.Rels = append(sys.Rels, Relation{Name: fmt.Sprintf("Galois key share (element %d) row %d", galEl, i), Group: 1,
			Terms: []Term{{Secret: 0, Poly: pi, Neg: true, Auto: inv}, {Secret: 0, Poly: -1, Scalar: g}}})
	}
	return sys, sys.init()
}

// StatementGalois converts a member's public-key and Galois key shares into
// the statement of SystemGalois.
func (su *Setup) StatementGalois(pk mhe.PublicKeyGenShare, gk mhe.GaloisKeyGenShare) (Statement, error) {
	p, err := limbs(su.Params, pk.Value, true)
	if err != nil {
		return nil, err
	}
	st := Statement{p}
	for i := range gk.Value {
		if len(gk.Value[i]) != 1 || len(gk.Value[i][0]) < 1 {
			return nil, fmt.Errorf("sharecheck: Galois share row %d malformed", i)
		}
		h, err := limbs(su.Params, gk.Value[i][0][0], true)
		if err != nil {
			return nil, err
		}
		st = append(st, h)
	}
	return st, nil
}

// Witness extracts a member's witness from its secrets and its own
// statement: s (and u) in the coefficient domain, and each relation's error
// e = p − Σ terms, centred. ok reports that every secret is ternary and the
// same in every limb and every error is the same integer polynomial in every
// limb and within [−ErrOffset, ErrOffset): an honest member's always is
// (lattigo bounds its Gaussian at 6σ ≈ 19); a witness that is not ok is
// still returned (clamped), and the check names its member.
func (su *Setup) Witness(sys *System, st Statement, sk, u *rlwe.SecretKey) (*Witness, bool, error) {
	params := su.Params
	ok := true
	secret := func(k *rlwe.SecretKey) ([]int64, error) {
		l, err := limbs(params, k.Value, true)
		if err != nil {
			return nil, err
		}
		x, same := centred(l, sys.Moduli)
		for _, v := range x {
			if v < -1 || v > 1 {
				same = false
			}
		}
		ok = ok && same
		return x, nil
	}
	w := &Witness{}
	x, err := secret(sk)
	if err != nil {
		return nil, false, err
	}
	w.Secrets = append(w.Secrets, x)
	if len(sys.Secrets) > 1 {
		if u == nil {
			return nil, false, fmt.Errorf("sharecheck: the relinearisation check needs the ephemeral secret")
		}
		if x, err = secret(u); err != nil {
			return nil, false, err
		}
		w.Secrets = append(w.Secrets, x)
	}
	if err := sys.checkStatement(st); err != nil {
		return nil, false, err
	}
	prod := sys.products(w)
	for r := range sys.Rels {
		e := make([][]uint64, len(sys.Moduli))
		for j, q := range sys.Moduli {
			e[j] = make([]uint64, sys.N)
			for k := range e[j] {
				v := modQ(&prod[r][j][k], q)
				e[j][k] = (st[r][j][k] + q - v) % q
			}
		}
		ev, same := centred(e, sys.Moduli)
		for k, v := range ev {
			if v < -ErrOffset || v >= ErrOffset {
				same = false
				ev[k] = 0
			}
		}
		ok = ok && same
		w.Errors = append(w.Errors, ev)
	}
	w.m = sys.residues(st, w, prod)
	return w, ok, nil
}

// limbs returns the coefficient-domain limbs (Q's, then P's) of an NTT-form
// polynomial of QP, leaving it unchanged; imform also leaves the Montgomery
// form.
func limbs(params rlwe.Parameters, p ringqp.Poly, imform bool) ([][]uint64, error) {
	var out [][]uint64
	conv := func(r *ring.Ring, x ring.Poly) error {
		if r == nil {
			return nil
		}
		if x.N() != r.N() || x.Level() != r.Level() {
			return fmt.Errorf("sharecheck: polynomial of degree %d level %d, want %d, %d", x.N(), x.Level(), r.N(), r.Level())
		}
		y := *x.CopyNew()
		if imform {
			r.IMForm(y, y)
		}
		r.INTT(y, y)
		out = append(out, y.Coeffs...)
		return nil
	}
	if err := conv(params.RingQ(), p.Q); err != nil {
		return nil, err
	}
	if err := conv(params.RingP(), p.P); err != nil {
		return nil, err
	}
	return out, nil
}

// centred returns the centred representative of limb 0 and whether every
// limb holds the same integer polynomial.
func centred(l [][]uint64, moduli []uint64) ([]int64, bool) {
	out := make([]int64, len(l[0]))
	q0 := moduli[0]
	for k, v := range l[0] {
		if v > q0/2 {
			out[k] = -int64(q0 - v)
		} else {
			out[k] = int64(v)
		}
	}
	same := true
	for j := 1; j < len(l) && same; j++ {
		q := moduli[j]
		for k, v := range out {
			var w uint64
			if v >= 0 {
				w = uint64(v) % q
			} else {
				w = (q - uint64(-v)%q) % q
			}
			if l[j][k] != w {
				same = false
				break
			}
		}
	}
	return out, same
}

// modQ reduces a field element holding a signed integer of magnitude below
// 2^192 mod q.
func modQ(e *fr.Element, q uint64) uint64 {
	b := e.Bits()
	neg := b[3] != 0
	if neg {
		var m fr.Element
		m.Neg(e)
		b = m.Bits()
	}
	var rem uint64
	for i := 3; i >= 0; i-- {
		rem = bits.Rem64(rem, b[i], q)
	}
	if neg && rem != 0 {
		rem = q - rem
	}
	return rem
}
