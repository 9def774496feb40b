package sharecheck

import (
	"errors"
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
// member's secret, u its ephemeral secret, a and c_i,k the common reference
// polynomials (all as lattigo stores them, see the conversions below):
//
//	pk share:                     p       = −a·s + e          (a = IMForm(crp))
//	RKG round 1, row i, column k: h0_i,k  = −c_i,k·u + g_i,k·s + e0_i,k
//	                              h1_i,k  =  c_i,k·s + e1_i,k
//
// with the gadget scalar g_i,k = P·2^(w·k) mod q_j on the limbs q_j of row
// i's RNS group and 0 elsewhere (P's limbs included): lattigo's gadget
// (rlwe.GadgetCiphertext; mhe's GenShareRoundOne and the evaluation-key
// GenShare multiply P·s by 2^w after each column). Without base-2
// decomposition (w = BaseTwoDecomposition = 0, the presets) every row has
// one column, k = 0; with it (lattigo applies it only when P has at most
// one prime, so that each row is one q_i) row i has ⌈log2 q_i / w⌉ columns,
// each a relation of its own with its own error.
type Setup struct {
	Params rlwe.Parameters
	PKCRP  mhe.PublicKeyGenCRP
	RKGCRP *mhe.RelinearizationKeyGenCRP // nil: the public-key share only
	// BaseTwoDecomposition is the gadget's w (lattigo's
	// rlwe.EvaluationKeyParameters.BaseTwoDecomposition) with which the
	// relinearisation and Galois CRPs and shares were made; 0: RNS
	// decomposition only. CRPs and shares of another shape are refused.
	BaseTwoDecomposition int
	// Rounds reported on failure.
	PKRound, RKGRound transport.Round
}

// maxBaseTwo bounds BaseTwoDecomposition: lattigo multiplies by 1<<w in a
// uint64.
const maxBaseTwo = 63

// gadgetColumns returns the number of columns of each row of the setup's
// gadget (lattigo's BaseTwoDecompositionVectorSize at the top levels), as
// many entries as rows (BaseRNSDecompositionVectorSize).
func (su *Setup) gadgetColumns() ([]int, error) {
	w := su.BaseTwoDecomposition
	if w < 0 || w > maxBaseTwo {
		return nil, fmt.Errorf("sharecheck: base-2 decomposition w = %d, want 0..%d", w, maxBaseTwo)
	}
	p := su.Params
	rows := p.BaseRNSDecompositionVectorSize(p.MaxLevelQ(), p.MaxLevelP())
	cols := p.BaseTwoDecompositionVectorSize(p.MaxLevelQ(), p.MaxLevelP(), w)
	if len(cols) < rows {
		return nil, fmt.Errorf("sharecheck: %d gadget rows, %d column counts", rows, len(cols))
	}
	return cols[:rows], nil
}

// checkGadget checks that a CRP or share matrix has the setup's gadget
// shape: one row per RNS row, each with its number of columns.
func (su *Setup) checkGadget(what string, rows int, colsOf func(i int) int) ([]int, error) {
	cols, err := su.gadgetColumns()
	if err != nil {
		return nil, err
	}
	if rows != len(cols) {
		return nil, fmt.Errorf("sharecheck: %s of %d rows, want %d (base-2 decomposition w = %d)", what, rows, len(cols), su.BaseTwoDecomposition)
	}
	for i, c := range cols {
		if got := colsOf(i); got != c {
			return nil, fmt.Errorf("sharecheck: %s row %d has %d columns, want %d (base-2 decomposition w = %d)", what, i, got, c, su.BaseTwoDecomposition)
		}
	}
	return cols, nil
}

// gadgetName names the relations of gadget entry (i, k): "row i" when every
// row has one column (the names of the RNS-only gadget), else "row i
// column k".
func gadgetName(cols []int, i, k int) string {
	for _, c := range cols {
		if c != 1 {
			return fmt.Sprintf("row %d column %d", i, k)
		}
	}
	return fmt.Sprintf("row %d", i)
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
	crp := su.RKGCRP.Value
	cols, err := su.checkGadget("relinearisation CRP", len(crp), func(i int) int { return len(crp[i]) })
	if err != nil {
		return nil, err
	}
	for i := range crp {
		for k := range crp[i] {
			c, err := limbs(params, crp[i][k], false)
			if err != nil {
				return nil, err
			}
			sys.Polys = append(sys.Polys, c)
			pi := len(sys.Polys) - 1
			g := gadgetScalar(params, moduli, i, k, su.BaseTwoDecomposition)
			name := gadgetName(cols, i, k)
			sys.Rels = append(sys.Rels,
				Relation{Name: fmt.Sprintf("relinearisation share (round 1) %s h0", name), Group: 1,
					Terms: []Term{{Secret: 1, Poly: pi, Neg: true}, {Secret: 0, Poly: -1, Scalar: g}}},
				Relation{Name: fmt.Sprintf("relinearisation share (round 1) %s h1", name), Group: 1,
					Terms: []Term{{Secret: 0, Poly: pi}}})
		}
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
	return su.gadgetRows(st, "relinearisation share", rkg1.GadgetCiphertext, 2, false)
}

// gadgetRows appends to st the coefficient limbs of a gadget share's
// entries, row by row and column by column (width polynomials per entry: h0
// and h1 of a relinearisation share, h of a Galois share); the share must
// have the setup's gadget shape (its rows, each row's columns, and the
// setup's w).
func (su *Setup) gadgetRows(st Statement, what string, g rlwe.GadgetCiphertext, width int, imform bool) (Statement, error) {
	params := su.Params
	if g.BaseTwoDecomposition != su.BaseTwoDecomposition {
		return nil, fmt.Errorf("sharecheck: %s with base-2 decomposition w = %d, want %d", what, g.BaseTwoDecomposition, su.BaseTwoDecomposition)
	}
	if _, err := su.checkGadget(what, len(g.Value), func(i int) int { return len(g.Value[i]) }); err != nil {
		return nil, err
	}
	for i := range g.Value {
		for k := range g.Value[i] {
			if len(g.Value[i][k]) != width {
				return nil, fmt.Errorf("sharecheck: %s row %d column %d malformed", what, i, k)
			}
			for _, v := range g.Value[i][k] {
				h, err := limbs(params, v, imform)
				if err != nil {
					return nil, err
				}
				st = append(st, h)
			}
		}
	}
	return st, nil
}

// gadgetScalar is the gadget's scalar of row i, column k in every limb of
// QP: P·2^(w·k) mod q_j on the limbs q_j of row i's RNS group, 0 elsewhere
// (P's limbs included); P is 1 when there is no P modulus, as in lattigo.
func gadgetScalar(params rlwe.Parameters, moduli []uint64, i, k, w int) []uint64 {
	qCount, group := params.QCount(), max(params.PCount(), 1)
	scalar := new(big.Int).Lsh(params.PBigInt(), uint(w*k))
	g := make([]uint64, len(moduli))
	for l := 0; l < group; l++ {
		if idx := i*group + l; idx < qCount {
			g[idx] = new(big.Int).Mod(scalar, new(big.Int).SetUint64(moduli[idx])).Uint64()
		}
	}
	return g
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
	// Public polynomials: a, c_0,0 (for the pk and row-0 h0 relations),
	// then R0_i,k, R1_i,k per gadget entry.
	sys.Polys = append(sys.Polys, full.Polys[0], full.Polys[1])
	sys.Rels = append(sys.Rels, full.Rels[0], full.Rels[1])
	if round1.BaseTwoDecomposition != su.BaseTwoDecomposition {
		return nil, fmt.Errorf("sharecheck: first-round aggregate with base-2 decomposition w = %d, want %d", round1.BaseTwoDecomposition, su.BaseTwoDecomposition)
	}
	cols, err := su.checkGadget("first-round aggregate", len(round1.Value), func(i int) int { return len(round1.Value[i]) })
	if err != nil {
		return nil, err
	}
	for i := range round1.Value {
		for k := range round1.Value[i] {
			if len(round1.Value[i][k]) != 2 {
				return nil, fmt.Errorf("sharecheck: first-round aggregate row %d column %d malformed", i, k)
			}
			r0, err := limbs(su.Params, round1.Value[i][k][0], false)
			if err != nil {
				return nil, err
			}
			r1, err := limbs(su.Params, round1.Value[i][k][1], false)
			if err != nil {
				return nil, err
			}
			sys.Polys = append(sys.Polys, r0, r1)
			p0, p1 := len(sys.Polys)-2, len(sys.Polys)-1
			name := gadgetName(cols, i, k)
			sys.Rels = append(sys.Rels,
				Relation{Name: fmt.Sprintf("relinearisation share (round 2) %s h0", name), Group: 2,
					Terms: []Term{{Secret: 0, Poly: p0}}},
				Relation{Name: fmt.Sprintf("relinearisation share (round 2) %s h1", name), Group: 2,
					Terms: []Term{{Secret: 1, Poly: p1}, {Secret: 0, Poly: p1, Neg: true}}})
		}
	}
	return sys, sys.init()
}

// RowParts partitions a system of System or SystemRoundTwo into one part
// per relinearisation gadget row, all its columns together (for
// System.Split): the public-key (and re-proven) relations go with row 0.
// Checked in parts, a relinearisation round holds one row's input shares in
// memory at a time.
func (su *Setup) RowParts(sys *System) ([]int, error) {
	if su.RKGCRP == nil {
		return nil, errors.New("sharecheck: row parts of a system without relinearisation rows")
	}
	crp := su.RKGCRP.Value
	entries := 0
	for i := range crp {
		entries += len(crp[i])
	}
	lead := len(sys.Rels) - 2*entries
	if lead < 1 || lead > 2 {
		return nil, fmt.Errorf("sharecheck: %d relations for %d relinearisation gadget entries", len(sys.Rels), entries)
	}
	partOf := make([]int, len(sys.Rels))
	r := lead
	for i := range crp {
		for range 2 * len(crp[i]) {
			partOf[r] = i
			r++
		}
	}
	return partOf, nil
}

// StatementRoundTwo converts a member's shares into the statement of
// SystemRoundTwo.
func (su *Setup) StatementRoundTwo(pk mhe.PublicKeyGenShare, rkg1, rkg2 *mhe.RelinearizationKeyGenShare) (Statement, error) {
	st1, err := su.Statement(pk, rkg1)
	if err != nil {
		return nil, err
	}
	st := Statement{st1[0], st1[1]}
	if rkg2 == nil {
		return nil, fmt.Errorf("sharecheck: second relinearisation share missing")
	}
	return su.gadgetRows(st, "second relinearisation share", rkg2.GadgetCiphertext, 2, false)
}

// SystemGalois builds the system of one Galois key share. lattigo's share
// of element g, row i, column k, is (in Montgomery form: e·R + g_i,k·s·R −
// c·π(s)), in the coefficient domain
//
//	h_i,k = −c_i,k·π(s) + g_i,k·s + e_i,k   (c_i,k = IMForm(crp))
//
// with g_i,k the gadget scalar of Setup (P·2^(w·k) on row i's limbs; one
// column k = 0 without base-2 decomposition) and π the automorphism X → X^(g^-1 mod 2N) that lattigo applies to the
// output key. The public-key share is re-proven so that s is the member's
// proven secret. (A setup checks all its Galois elements at once:
// SystemsGalois.)
func (su *Setup) SystemGalois(galEl uint64, crp mhe.GaloisKeyGenCRP, round transport.Round) (*System, error) {
	full := &Setup{Params: su.Params, PKCRP: su.PKCRP, PKRound: su.PKRound}
	sys, err := full.System()
	if err != nil {
		return nil, err
	}
	sys.Groups[0].Reproven = true
	if err := su.addGalois(sys, galEl, crp, round); err != nil {
		return nil, err
	}
	return sys, sys.init()
}

// SystemsGalois builds the parts of one batched check (CheckBatch) of
// several Galois key shares: part 0 re-proves the public-key share (which
// fixes s, input once for the batch; its failures, and a non-ternary s, are
// reported in rounds[0]), and part 1+i proves element galEls[i]'s rows on
// that s, reporting in rounds[i] (its relations and its own bit check).
func (su *Setup) SystemsGalois(galEls []uint64, crps []mhe.GaloisKeyGenCRP, rounds []transport.Round) ([]*System, error) {
	if len(galEls) == 0 || len(crps) != len(galEls) || len(rounds) != len(galEls) {
		return nil, fmt.Errorf("sharecheck: %d Galois elements, %d CRPs, %d rounds", len(galEls), len(crps), len(rounds))
	}
	pk := &Setup{Params: su.Params, PKCRP: su.PKCRP, PKRound: su.PKRound}
	sys0, err := pk.System()
	if err != nil {
		return nil, err
	}
	sys0.Groups[0].Reproven = true
	sys0.FailRound = rounds[0]
	out := []*System{sys0}
	for i, g := range galEls {
		sys := &System{N: sys0.N, Moduli: sys0.Moduli, Secrets: sys0.Secrets}
		if err := su.addGalois(sys, g, crps[i], rounds[i]); err != nil {
			return nil, err
		}
		if err := sys.init(); err != nil {
			return nil, err
		}
		out = append(out, sys)
	}
	return out, nil
}

// addGalois appends a group of Galois element galEl's relations (on secret
// 0) to sys.
func (su *Setup) addGalois(sys *System, galEl uint64, crp mhe.GaloisKeyGenCRP, round transport.Round) error {
	params := su.Params
	cols, err := su.checkGadget("Galois CRP", len(crp.Value), func(i int) int { return len(crp.Value[i]) })
	if err != nil {
		return err
	}
	twoN := uint64(2 * params.N())
	if galEl%2 == 0 || galEl >= twoN {
		return fmt.Errorf("sharecheck: Galois element %d", galEl)
	}
	inv := ring.ModExp(galEl, twoN-1, twoN)
	sys.Groups = append(sys.Groups, Group{Name: fmt.Sprintf("Galois key share (element %d)", galEl), Round: round})
	group := len(sys.Groups) - 1
	for i := range crp.Value {
		for k := range crp.Value[i] {
			c, err := limbs(params, crp.Value[i][k], true)
			if err != nil {
				return err
			}
			sys.Polys = append(sys.Polys, c)
			pi := len(sys.Polys) - 1
			g := gadgetScalar(params, sys.Moduli, i, k, su.BaseTwoDecomposition)
			sys.Rels = append(sys.Rels, Relation{Name: fmt.Sprintf("Galois key share (element %d) %s", galEl, gadgetName(cols, i, k)), Group: group,
				Terms: []Term{{Secret: 0, Poly: pi, Neg: true, Auto: inv}, {Secret: 0, Poly: -1, Scalar: g}}})
		}
	}
	return nil
}

// StatementGalois converts a member's public-key and Galois key shares into
// the statement of SystemGalois.
func (su *Setup) StatementGalois(pk mhe.PublicKeyGenShare, gk mhe.GaloisKeyGenShare) (Statement, error) {
	p, err := limbs(su.Params, pk.Value, true)
	if err != nil {
		return nil, err
	}
	return su.gadgetRows(Statement{p}, "Galois share", gk.GadgetCiphertext, 1, true)
}

// StatementPublicKey is a member's statement of part 0 of SystemsGalois
// (its public-key share).
func (su *Setup) StatementPublicKey(pk mhe.PublicKeyGenShare) (Statement, error) {
	p, err := limbs(su.Params, pk.Value, true)
	if err != nil {
		return nil, err
	}
	return Statement{p}, nil
}

// StatementGaloisRows is a member's statement of a Galois part of
// SystemsGalois (its share of that element's key).
func (su *Setup) StatementGaloisRows(gk mhe.GaloisKeyGenShare) (Statement, error) {
	return su.gadgetRows(nil, "Galois share", gk.GadgetCiphertext, 1, true)
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
	prod, err := sys.exactProducts(w)
	if err != nil {
		return nil, false, err
	}
	for r := range sys.Rels {
		e := make([][]uint64, len(sys.Moduli))
		for j, q := range sys.Moduli {
			e[j] = make([]uint64, sys.N)
			for k := range e[j] {
				e[j][k] = (st[r][j][k] + q - prod[r][j][k].mod(q)) % q
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
	w.m, _ = sys.quotientsOf(st, w, prod)
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
