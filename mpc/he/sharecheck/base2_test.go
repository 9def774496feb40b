package sharecheck

import (
	"math/big"
	"math/bits"
	"slices"
	"strings"
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// base2W is the base-2 decomposition of the tests below: with q_i of 60
// and 45 bits, every row has two columns.
const base2W = 30

// testParamsBase2 is a small ring whose gadget lattigo decomposes in base 2
// (it does only when P has at most one prime): N = 2^12, three Q primes,
// one P prime, so three RNS rows of ⌈log2 q_i / 30⌉ = 2 columns each.
func testParamsBase2(t testing.TB) rlwe.Parameters {
	t.Helper()
	p, err := rlwe.NewParametersFromLiteral(rlwe.ParametersLiteral{
		LogN: 12, LogQ: []int{60, 45, 45}, LogP: []int{54}, NTTFlag: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// addError adds v to coefficient 3 of every limb of an NTT-form share
// polynomial (Montgomery form if mont): the share of a member whose error
// there is larger by v.
func addError(params rlwe.Parameters, p ringqp.Poly, mont bool, v uint64) {
	rq := params.RingQP()
	if mont {
		rq.IMForm(p, p)
	}
	rq.INTT(p, p)
	for j, q := range params.Q() {
		p.Q.Coeffs[j][3] = (p.Q.Coeffs[j][3] + v%q) % q
	}
	for j, q := range params.P() {
		p.P.Coeffs[j][3] = (p.P.Coeffs[j][3] + v%q) % q
	}
	rq.NTT(p, p)
	if mont {
		rq.MForm(p, p)
	}
}

// TestBaseTwoGadgetShape: the system has one pair of relations per (row,
// column) of lattigo's base-2 gadget, with the scalar P·2^(w·k) on row i's
// limb only, and CRPs or shares of another decomposition are refused.
func TestBaseTwoGadgetShape(t *testing.T) {
	params := testParamsBase2(t)
	f := newGadgetFixture(t, params, 1, true, base2W)
	cols, err := f.su.gadgetColumns()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cols, []int{2, 2, 2}) {
		t.Fatalf("gadget columns %v, want [2 2 2]", cols)
	}
	sys, err := f.su.System()
	if err != nil {
		t.Fatal(err)
	}
	if len(sys.Rels) != 1+2*6 || sys.Rels[1+2*(2*1+1)].Name != "relinearisation share (round 1) row 1 column 1 h0" {
		t.Fatalf("%d relations, relation 7 %q", len(sys.Rels), sys.Rels[7].Name)
	}
	// Row 1, column 1: P·2^30 mod q_1 on limb 1, 0 on every other limb
	// (worked out here with 64-bit modular arithmetic, not big integers).
	g := sys.Rels[7].Terms[1].Scalar
	q1, P := params.Q()[1], params.P()[0]
	hi, lo := bits.Mul64(P%q1, (1<<base2W)%q1)
	if want := bits.Rem64(hi, lo, q1); g[1] != want {
		t.Fatalf("scalar on limb 1: %d, want %d", g[1], want)
	}
	for j, v := range g {
		if j != 1 && v != 0 {
			t.Fatalf("scalar on limb %d: %d, want 0", j, v)
		}
	}
	// Without base-2 decomposition (column 0) the scalar is P alone.
	if g0 := sys.Rels[5].Terms[1].Scalar; g0[1] != P%q1 || !strings.HasSuffix(sys.Rels[5].Name, "row 1 column 0 h0") {
		t.Fatalf("relation 5 %q scalar %d, want P mod q_1 = %d", sys.Rels[5].Name, g0[1], P%q1)
	}

	// The RNS-only gadget of the same ring: one column, the old names.
	rns := newGadgetFixture(t, params, 1, true, 0)
	rsys, err := rns.su.System()
	if err != nil {
		t.Fatal(err)
	}
	if len(rsys.Rels) != 1+2*3 || rsys.Rels[3].Name != "relinearisation share (round 1) row 1 h0" {
		t.Fatalf("RNS gadget: %d relations, relation 3 %q", len(rsys.Rels), rsys.Rels[3].Name)
	}
	// A setup that expects one decomposition refuses the other's CRP and
	// shares.
	mixed := *rns.su
	mixed.RKGCRP = f.su.RKGCRP
	if _, err := mixed.System(); err == nil || !strings.Contains(err.Error(), "row 0 has 2 columns, want 1") {
		t.Fatalf("RNS setup, base-2 CRP: %v", err)
	}
	if _, err := f.su.Statement(rns.members[0].pk, rns.members[0].rkg1); err == nil || !strings.Contains(err.Error(), "w = 0, want 30") {
		t.Fatalf("base-2 setup, RNS share: %v", err)
	}
	for _, w := range []int{-1, 64} {
		bad := *f.su
		bad.BaseTwoDecomposition = w
		if _, err := bad.System(); err == nil || !strings.Contains(err.Error(), "base-2 decomposition w =") {
			t.Fatalf("w = %d: %v", w, err)
		}
	}
	// With two P primes lattigo does not decompose in base 2: one column.
	two := &Setup{Params: testParams(t, 12), BaseTwoDecomposition: base2W}
	if cols, err := two.gadgetColumns(); err != nil || slices.ContainsFunc(cols, func(c int) bool { return c != 1 }) {
		t.Fatalf("two P primes: columns %v, %v", cols, err)
	}
	// A Galois CRP of the other decomposition is refused too.
	gkg := mhe.NewGaloisKeyGenProtocol(params)
	prng, _ := sampling.NewKeyedPRNG([]byte("galois crs"))
	if _, err := rns.su.SystemGalois(params.GaloisElement(1), gkg.SampleCRP(prng, evk(base2W)), 7); err == nil || !strings.Contains(err.Error(), "Galois CRP row 0 has 2 columns, want 1") {
		t.Fatalf("RNS setup, base-2 Galois CRP: %v", err)
	}
}

// TestBaseTwoRoundOne: with a base-2 gadget, honest public-key and first
// relinearisation shares pass (one check), and a member whose share has a
// larger error in a column other than 0 (row 1, column 1, h1) has no short
// witness and is named in round 3, by the row-split batch the setup runs,
// and nobody else is.
func TestBaseTwoRoundOne(t *testing.T) {
	params := testParamsBase2(t)
	t.Run("honest", func(t *testing.T) {
		f := newGadgetFixture(t, params, 4, true, base2W)
		sys := f.system(t)
		for d, st := range f.statements(t) {
			if _, ok, err := f.su.Witness(sys, st, f.members[d].sk, f.members[d].u); err != nil || !ok {
				t.Fatalf("member %d: honest witness ok=%v err=%v", d, ok, err)
			}
		}
		for d, err := range f.run(t, nil) {
			if err != nil {
				t.Fatalf("member %d: %v", d, err)
			}
		}
	})
	t.Run("inflated error in column 1", func(t *testing.T) {
		f := newGadgetFixture(t, params, 3, true, base2W)
		addError(params, f.members[1].rkg1.Value[1][1][1], false, 1<<20)
		sys := f.system(t)
		if _, ok, _ := f.su.Witness(sys, f.statements(t)[1], f.members[1].sk, f.members[1].u); ok {
			t.Fatal("inflated share has a short witness")
		}
		namedOnly(t, runSplit(t, f), 1, 3)
	})
}

// TestBaseTwoRoundTwo: honest second-round shares of a base-2 gadget pass;
// a random second-round share in row 2, column 1 is named in round 4.
func TestBaseTwoRoundTwo(t *testing.T) {
	params := testParamsBase2(t)
	t.Run("honest", func(t *testing.T) {
		f := newGadgetFixture(t, params, 3, true, base2W)
		f.withRoundTwo(t, params, -1, nil)
		for d, err := range runSplit(t, f) {
			if err != nil {
				t.Fatalf("member %d: %v", d, err)
			}
		}
	})
	t.Run("random share", func(t *testing.T) {
		f := newGadgetFixture(t, params, 3, true, base2W)
		f.withRoundTwo(t, params, -1, nil)
		prng, _ := sampling.NewKeyedPRNG([]byte("noise"))
		ring.NewUniformSampler(prng, params.RingQ()).ReadAndAdd(f.members[2].rkg2.Value[2][1][0].Q)
		namedOnly(t, runSplit(t, f), 2, 4)
	})
}

// TestBaseTwoGalois: a batched check of two Galois elements' base-2 shares
// passes honest members and names, in one run of four, member 1 whose
// second element's share has a larger error in row 2, column 1 (in that
// element's round) and nobody else.
func TestBaseTwoGalois(t *testing.T) {
	params := testParamsBase2(t)
	els := []uint64{params.GaloisElement(1), params.GaloisElement(4)}
	b := newGadgetGaloisBatch(t, params, 4, els, base2W, func(d, i int, share *mhe.GaloisKeyGenShare) {
		if d == 1 && i == 1 {
			addError(params, share.Value[2][1][0], true, 1<<20)
		}
	})
	if got := len(b.parts[1].Rels); got != 6 {
		t.Fatalf("Galois part of %d relations, want 6 (3 rows × 2 columns)", got)
	}
	_, errs := b.run(t, nil)
	namedOnly(t, errs, 1, b.rounds[1])
}

// TestGadgetScalarBig pins gadgetScalar against the definition with big
// integers for every entry of the base-2 gadget, including P·2^(w·k) above
// 2^64.
func TestGadgetScalarBig(t *testing.T) {
	params := testParamsBase2(t)
	moduli := params.QP()
	for i := 0; i < 3; i++ {
		for k := 0; k < 2; k++ {
			g := gadgetScalar(params, moduli, i, k, base2W)
			for j, q := range moduli {
				want := uint64(0)
				if j == i {
					s := new(big.Int).Mul(params.PBigInt(), new(big.Int).Exp(big.NewInt(2), big.NewInt(int64(base2W*k)), nil))
					want = s.Mod(s, new(big.Int).SetUint64(q)).Uint64()
				}
				if g[j] != want {
					t.Fatalf("row %d column %d limb %d: %d, want %d", i, k, j, g[j], want)
				}
			}
		}
	}
}
