package sharecheck

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestNegacyclicAdjoint checks the Fr negacyclic product and the adjoint
// identity Σ_k c_k·(a·x)_k = ⟨x, a*·c⟩ against schoolbook arithmetic.
func TestNegacyclicAdjoint(t *testing.T) {
	const N = 16
	rng := rand.New(rand.NewPCG(1, 2))
	a := make([]int64, N)
	x := make([]int64, N)
	c := make([]int64, N)
	for i := range a {
		a[i] = rng.Int64N(1 << 40)
		x[i] = rng.Int64N(3) - 1
		c[i] = rng.Int64N(1 << 40)
	}
	want := make([]int64, N) // a·x mod X^N+1, schoolbook
	for i := 0; i < N; i++ {
		for j := 0; j < N; j++ {
			if k := i + j; k < N {
				want[k] += a[i] * x[j]
			} else {
				want[k-N] -= a[i] * x[j]
			}
		}
	}
	ng := newNegacyclic(N)
	acc := make(fr.Vector, N)
	mulAcc(acc, ng.forward(liftInt(a)), ng.forward(liftInt(x)), false)
	got := ng.inverse(acc)
	w := liftInt(want)
	for k := range got {
		if !got[k].Equal(&w[k]) {
			t.Fatalf("coefficient %d: got %s want %d", k, got[k].String(), want[k])
		}
	}
	// ⟨c, a·x⟩ = ⟨x, a*·c⟩.
	acc = make(fr.Vector, N)
	mulAcc(acc, ng.forward(adjoint(liftInt(a))), ng.forward(liftInt(c)), false)
	adj := ng.inverse(acc)
	cv := liftInt(c)
	xv := liftInt(x)
	lhs := cv.InnerProduct(got)
	rhs := xv.InnerProduct(adj)
	if !lhs.Equal(&rhs) {
		t.Fatal("adjoint identity fails")
	}
	// The raw lift (no Montgomery conversion) transforms to the same, and
	// an inner product of raw values times montR is the integers'.
	au := make([]uint64, N)
	for i, v := range a {
		au[i] = uint64(v)
	}
	raw := make(fr.Vector, N)
	rawU64(raw, au)
	fa, fr0 := ng.forward(liftInt(a)), ng.forwardRaw(append(fr.Vector(nil), raw...))
	for i := range fa {
		if !fa[i].Equal(&fr0[i]) {
			t.Fatalf("forwardRaw differs at %d", i)
		}
	}
	ip := raw.InnerProduct(cv)
	ip.Mul(&ip, &montR)
	av := liftInt(a)
	if want := av.InnerProduct(cv); !ip.Equal(&want) {
		t.Fatal("raw inner product differs")
	}
}

// testParams is the ring of he.InsecureTestPreset (N = 2^12, the secure
// preset's moduli).
func testParams(t testing.TB, logN int) rlwe.Parameters {
	t.Helper()
	p, err := rlwe.NewParametersFromLiteral(rlwe.ParametersLiteral{
		LogN: logN, LogQ: []int{60, 45, 45, 45, 45, 45, 45}, LogP: []int{54, 54}, NTTFlag: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// member is one member's setup material, made with lattigo's mhe.
type member struct {
	sk, u *rlwe.SecretKey
	pk    mhe.PublicKeyGenShare
	rkg1  *mhe.RelinearizationKeyGenShare
	rkg2  *mhe.RelinearizationKeyGenShare
}

// fixture is a committee's public CRPs and members.
type fixture struct {
	su      *Setup
	members []member
	agg1    *mhe.RelinearizationKeyGenShare // first-round aggregate (round2)
	round2  bool                            // check the second round's system
}

func newFixture(t testing.TB, params rlwe.Parameters, n int, rkg bool) *fixture {
	t.Helper()
	return newGadgetFixture(t, params, n, rkg, 0)
}

// evk is the evaluation-key parameters of a gadget with base-2
// decomposition w (0: RNS only) at the top levels.
func evk(w int) rlwe.EvaluationKeyParameters {
	return rlwe.EvaluationKeyParameters{BaseTwoDecomposition: &w}
}

// newGadgetFixture is newFixture with relinearisation CRPs and shares of
// base-2 decomposition w.
func newGadgetFixture(t testing.TB, params rlwe.Parameters, n int, rkg bool, w int) *fixture {
	t.Helper()
	prng, err := sampling.NewKeyedPRNG([]byte("sharecheck test crs"))
	if err != nil {
		t.Fatal(err)
	}
	ckg := mhe.NewPublicKeyGenProtocol(params)
	rkgP := mhe.NewRelinearizationKeyGenProtocol(params)
	f := &fixture{su: &Setup{Params: params, PKCRP: ckg.SampleCRP(prng), PKRound: 2, RKGRound: 3, BaseTwoDecomposition: w}}
	var rcrp mhe.RelinearizationKeyGenCRP
	if rkg {
		rcrp = rkgP.SampleCRP(prng, evk(w))
		f.su.RKGCRP = &rcrp
	}
	for d := 0; d < n; d++ {
		m := member{sk: rlwe.NewKeyGenerator(params).GenSecretKeyNew(), pk: ckg.AllocateShare()}
		ckg.GenShare(m.sk, f.su.PKCRP, &m.pk)
		if rkg {
			eph, r1, _ := rkgP.AllocateShare(evk(w))
			rkgP.GenShareRoundOne(m.sk, rcrp, eph, &r1)
			m.u, m.rkg1 = eph, &r1
		}
		f.members = append(f.members, m)
	}
	return f
}

// withRoundTwo aggregates the first relinearisation round and makes every
// member's second-round share; ephemeral, if set, replaces member d's
// ephemeral secret in round two (a member that does not use the u it
// proved).
func (f *fixture) withRoundTwo(t testing.TB, params rlwe.Parameters, d int, ephemeral *rlwe.SecretKey) {
	t.Helper()
	rkgP := mhe.NewRelinearizationKeyGenProtocol(params)
	w := f.su.BaseTwoDecomposition
	_, agg, _ := rkgP.AllocateShare(evk(w))
	for i, m := range f.members {
		if i == 0 {
			agg = mhe.RelinearizationKeyGenShare{GadgetCiphertext: *m.rkg1.CopyNew()}
			continue
		}
		rkgP.AggregateShares(agg, *m.rkg1, &agg)
	}
	f.agg1, f.round2 = &agg, true
	for i := range f.members {
		m := &f.members[i]
		_, _, r2 := rkgP.AllocateShare(evk(w))
		u := m.u
		if i == d && ephemeral != nil {
			u = ephemeral
		}
		rkgP.GenShareRoundTwo(u, m.sk, agg, &r2)
		m.rkg2 = &r2
	}
}

// system returns the fixture's system.
func (f *fixture) system(t testing.TB) *System {
	t.Helper()
	var sys *System
	var err error
	if f.round2 {
		sys, err = f.su.SystemRoundTwo(f.agg1, 4)
	} else {
		sys, err = f.su.System()
	}
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

// statements returns every member's public statement.
func (f *fixture) statements(t testing.TB) []Statement {
	t.Helper()
	out := make([]Statement, len(f.members))
	for d, m := range f.members {
		var st Statement
		var err error
		if f.round2 {
			st, err = f.su.StatementRoundTwo(m.pk, m.rkg1, m.rkg2)
		} else {
			st, err = f.su.Statement(m.pk, m.rkg1)
		}
		if err != nil {
			t.Fatal(err)
		}
		out[d] = st
	}
	return out
}

// run runs the check among the fixture's members (malicious SS engine over
// an in-memory network); wit may replace a member's witness.
func (f *fixture) run(t *testing.T, wit func(d int, w *Witness)) []error {
	t.Helper()
	sys := f.system(t)
	stmts := f.statements(t)
	n := len(f.members)
	wits := make([]*Witness, n)
	for d, m := range f.members {
		w, _, err := f.su.Witness(sys, stmts[d], m.sk, m.u)
		if err != nil {
			t.Fatal(err)
		}
		if wit != nil {
			wit(d, w)
			w.m = nil // recomputed from the edited witness, as a cheater would
		}
		wits[d] = w
	}
	_, errs := mpctest.Run(t, n, func(ctx context.Context, conn transport.Conn) (Stats, error) {
		d := int(conn.Self())
		p, err := ss.NewParty(ctx, conn, ss.Config{Security: ss.Malicious, Rand: mpctest.Rand(t, fmt.Sprintf("party %d", d))})
		if err != nil {
			return Stats{}, err
		}
		return Check(ctx, p, sys, stmts, wits[d])
	}, mpctest.Timeout(3*time.Minute)) // generous under CI load
	return errs
}

// named asserts that every member's error names exactly the culprit.
func named(t *testing.T, errs []error, culprit int, round transport.Round) {
	t.Helper()
	for d, err := range errs {
		var pe *transport.PartyError
		if !errors.As(err, &pe) {
			t.Fatalf("member %d: error %v names nobody", d, err)
		}
		if int(pe.Party) != culprit || pe.Round != round {
			t.Fatalf("member %d: names member %d round %d (%v), want %d round %d", d, pe.Party, pe.Round, err, culprit, round)
		}
	}
}

func TestHonestMembersPass(t *testing.T) {
	params := testParams(t, 12)
	for _, tc := range []struct {
		n   int
		rkg bool
	}{{3, false}, {4, true}} {
		t.Run(fmt.Sprintf("n=%d/rkg=%v", tc.n, tc.rkg), func(t *testing.T) {
			f := newFixture(t, params, tc.n, tc.rkg)
			sys, err := f.su.System()
			if err != nil {
				t.Fatal(err)
			}
			stmts := f.statements(t)
			for d, m := range f.members {
				if _, ok, err := f.su.Witness(sys, stmts[d], m.sk, m.u); err != nil || !ok {
					t.Fatalf("member %d: honest witness ok=%v err=%v", d, ok, err)
				}
			}
			for d, err := range f.run(t, nil) {
				if err != nil {
					t.Fatalf("member %d: %v", d, err)
				}
			}
		})
	}
}

// inflate adds v to coefficient k (all limbs) of an NTT-form share
// polynomial, as a deviant with a larger error would.
func inflate(params rlwe.Parameters, p *mhe.PublicKeyGenShare, spread bool, v uint64) {
	rq := params.RingQP()
	rq.INTT(p.Value, p.Value)
	rq.IMForm(p.Value, p.Value)
	add := func(coeffs [][]uint64, moduli []uint64) {
		for j, q := range moduli {
			for k := range coeffs[j] {
				if k == 0 || (spread && k%7 == 0) {
					coeffs[j][k] = (coeffs[j][k] + v%q) % q
				}
			}
		}
	}
	add(p.Value.Q.Coeffs, params.Q())
	add(p.Value.P.Coeffs, params.P())
	rq.MForm(p.Value, p.Value)
	rq.NTT(p.Value, p.Value)
}

func TestInflatedPublicKeyShareIsNamed(t *testing.T) {
	params := testParams(t, 12)
	for _, tc := range []struct {
		name   string
		spread bool
		v      uint64
	}{{"2^40 on one coefficient", false, 1 << 40}, {"2^10 spread", true, 1 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, params, 3, false)
			inflate(params, &f.members[1].pk, tc.spread, tc.v)
			sys, _ := f.su.System()
			st, _ := f.su.Statement(f.members[1].pk, nil)
			if _, ok, _ := f.su.Witness(sys, st, f.members[1].sk, nil); ok {
				t.Fatal("inflated share has a short witness")
			}
			named(t, f.run(t, nil), 1, 2)
		})
	}
}

func TestInconsistentWitnessIsNamed(t *testing.T) {
	params := testParams(t, 12)
	f := newFixture(t, params, 4, true)
	// Member 2 inputs a secret other than the one behind its shares (short
	// and ternary, so only the relations can catch it).
	errs := f.run(t, func(d int, w *Witness) {
		if d == 2 {
			w.Secrets[0][5] = (w.Secrets[0][5]+2)%3 - 1
		}
	})
	named(t, errs, 2, 2)
}

func TestWrongBitIsNamed(t *testing.T) {
	params := testParams(t, 12)
	f := newFixture(t, params, 3, false)
	sys, err := f.su.System()
	if err != nil {
		t.Fatal(err)
	}
	// Member 0 encodes one error coefficient with a non-bit that keeps its
	// integer value (bit 0 := 2, bit 1 := 0 where they were 0 and 1), so the
	// relations hold and only the bit check catches it.
	errs := f.run(t, func(d int, w *Witness) {
		if d != 0 {
			return
		}
		w.tamper = func(phase int, v fr.Vector) {
			if phase != 1 {
				return
			}
			off := len(sys.Secrets) * sys.N
			for k := 0; k < sys.N; k++ {
				b0, b1 := &v[off+k*ErrBits], &v[off+k*ErrBits+1]
				if !b1.IsZero() && b0.IsZero() {
					b0.SetUint64(2)
					b1.SetZero()
					return
				}
			}
			t.Error("no coefficient with bit 1 set and bit 0 clear")
		}
	})
	named(t, errs, 0, 2)
}

// TestWrongQuotientIsNamed: member 2's witness is right but one bit of one
// quotient W is flipped (L ≠ q·W for that relation, limb and point); then a
// member that inputs an integer for W's lowest bit that is not a bit but
// keeps q·W right is caught by the bit check. Both name member 2.
func TestWrongQuotientIsNamed(t *testing.T) {
	params := testParams(t, 12)
	f := newFixture(t, params, 3, false)
	for name, edit := range map[string]func(v fr.Vector){
		"flipped bit": func(v fr.Vector) {
			var one fr.Element
			one.SetOne()
			v[3].Sub(&one, &v[3])
		},
		"non-bit": func(v fr.Vector) {
			// bits (b0, b1) = (0, 1) → (2, 0): same W, b0 not a bit.
			for i := 0; i+1 < len(v); i++ {
				if v[i].IsZero() && v[i+1].IsOne() {
					v[i].SetUint64(2)
					v[i+1].SetZero()
					return
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			errs := f.run(t, func(d int, w *Witness) {
				if d == 2 {
					w.tamper = func(phase int, v fr.Vector) {
						if phase == 2 {
							edit(v)
						}
					}
				}
			})
			named(t, errs, 2, 2)
		})
	}
}

// TestRoundTwo: honest second-round shares pass; a random second-round
// share, and one made with another ephemeral secret than the u the member
// proved (its first row's h0 binds u), are named in round 4.
func TestRoundTwo(t *testing.T) {
	params := testParams(t, 12)
	t.Run("honest", func(t *testing.T) {
		f := newFixture(t, params, 3, true)
		f.withRoundTwo(t, params, -1, nil)
		for d, err := range f.run(t, nil) {
			if err != nil {
				t.Fatalf("member %d: %v", d, err)
			}
		}
	})
	t.Run("other ephemeral", func(t *testing.T) {
		f := newFixture(t, params, 3, true)
		kg := rlwe.NewKeyGenerator(params)
		f.withRoundTwo(t, params, 1, kg.GenSecretKeyNew())
		named(t, f.run(t, nil), 1, 4)
	})
	t.Run("random share", func(t *testing.T) {
		f := newFixture(t, params, 3, true)
		f.withRoundTwo(t, params, -1, nil)
		prng, _ := sampling.NewKeyedPRNG([]byte("noise"))
		ring.NewUniformSampler(prng, params.RingQ()).ReadAndAdd(f.members[2].rkg2.Value[1][0][1].Q)
		named(t, f.run(t, nil), 2, 4)
	})
}

// TestAutomorphismTranspose checks ⟨π(x), y⟩ = ⟨x, πᵀ(y)⟩ and that π is
// the ring automorphism X → X^k (π(x·z) = π(x)·π(z) on a product).
func TestAutomorphismTranspose(t *testing.T) {
	const N = 16
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]int64, N)
	y := make([]int64, N)
	for i := range x {
		x[i] = rng.Int64N(201) - 100
		y[i] = rng.Int64N(201) - 100
	}
	for _, k := range []uint64{3, 5, 2*N - 1} {
		px := liftInt(automorphism(x, k))
		yv := liftInt(y)
		l := px.InnerProduct(yv)
		xv := liftInt(x)
		ty := automorphismT(yv, k)
		r := xv.InnerProduct(ty)
		if !l.Equal(&r) {
			t.Fatalf("k=%d: transpose identity fails", k)
		}
		// π(x·y) = π(x)·π(y).
		ng := newNegacyclic(N)
		mul := func(a, b fr.Vector) fr.Vector {
			acc := make(fr.Vector, N)
			mulAcc(acc, ng.forward(a), ng.forward(b), false)
			return ng.inverse(acc)
		}
		xy := mul(liftInt(x), liftInt(y))
		xyInt := make([]int64, N)
		for i := range xy {
			xyInt[i] = int64(modQ(&xy[i], 1<<61)) // small: exact
			if xyInt[i] > 1<<60 {
				xyInt[i] -= 1 << 61
			}
		}
		lhs := liftInt(automorphism(xyInt, k))
		rhs := mul(liftInt(automorphism(x, k)), liftInt(automorphism(y, k)))
		for i := range lhs {
			if !lhs[i].Equal(&rhs[i]) {
				t.Fatalf("k=%d: not a ring automorphism at %d", k, i)
			}
		}
	}
}

// TestGalois: honest Galois key shares pass; a share with an inflated error
// (2^20 on one coefficient) is named in the Galois round.
func TestGalois(t *testing.T) {
	params := testParams(t, 12)
	galEl := params.GaloisElement(1)
	for _, bad := range []bool{false, true} {
		t.Run(fmt.Sprintf("inflated=%v", bad), func(t *testing.T) {
			f := newFixture(t, params, 3, false)
			prng, err := sampling.NewKeyedPRNG([]byte("galois crs"))
			if err != nil {
				t.Fatal(err)
			}
			gkg := mhe.NewGaloisKeyGenProtocol(params)
			crp := gkg.SampleCRP(prng)
			sys, err := f.su.SystemGalois(galEl, crp, 7)
			if err != nil {
				t.Fatal(err)
			}
			stmts := make([]Statement, len(f.members))
			wits := make([]*Witness, len(f.members))
			for d, m := range f.members {
				share := gkg.AllocateShare()
				if err := gkg.GenShare(m.sk, galEl, crp, &share); err != nil {
					t.Fatal(err)
				}
				if bad && d == 1 {
					v := share.Value[0][0][0]
					rq := params.RingQP()
					rq.IMForm(v, v)
					rq.INTT(v, v)
					for j, q := range params.Q() {
						v.Q.Coeffs[j][3] = (v.Q.Coeffs[j][3] + (1<<20)%q) % q
					}
					for j, q := range params.P() {
						v.P.Coeffs[j][3] = (v.P.Coeffs[j][3] + (1<<20)%q) % q
					}
					rq.NTT(v, v)
					rq.MForm(v, v)
				}
				if stmts[d], err = f.su.StatementGalois(m.pk, share); err != nil {
					t.Fatal(err)
				}
				w, ok, err := f.su.Witness(sys, stmts[d], m.sk, nil)
				if err != nil {
					t.Fatal(err)
				}
				if ok == (bad && d == 1) {
					t.Fatalf("member %d: witness ok=%v", d, ok)
				}
				wits[d] = w
			}
			_, errs := mpctest.Run(t, len(f.members), func(ctx context.Context, conn transport.Conn) (Stats, error) {
				d := int(conn.Self())
				p, err := ss.NewParty(ctx, conn, ss.Config{Security: ss.Malicious, Rand: mpctest.Rand(t, fmt.Sprintf("party %d", d))})
				if err != nil {
					return Stats{}, err
				}
				return Check(ctx, p, sys, stmts, wits[d])
			}, mpctest.Timeout(3*time.Minute))
			if bad {
				named(t, errs, 1, 7)
				return
			}
			for d, err := range errs {
				if err != nil {
					t.Fatalf("member %d: %v", d, err)
				}
			}
		})
	}
}

// partyErrors lists the *transport.PartyErrors joined in err.
func partyErrors(err error) []*transport.PartyError {
	var out []*transport.PartyError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, partyErrors(e)...)
		}
		return out
	}
	var pe *transport.PartyError
	if errors.As(err, &pe) {
		out = append(out, pe)
	}
	return out
}

// galoisBatch is a committee's Galois key shares of several elements, for
// the batched check (SystemsGalois, CheckBatch).
type galoisBatch struct {
	f      *fixture
	parts  []*System
	stmts  [][]Statement // [part][member]
	rounds []transport.Round
}

func newGaloisBatch(t testing.TB, params rlwe.Parameters, n int, els []uint64, edit func(d, i int, share *mhe.GaloisKeyGenShare)) *galoisBatch {
	t.Helper()
	return newGadgetGaloisBatch(t, params, n, els, 0, edit)
}

// newGadgetGaloisBatch is newGaloisBatch with CRPs and shares of base-2
// decomposition w.
func newGadgetGaloisBatch(t testing.TB, params rlwe.Parameters, n int, els []uint64, w int, edit func(d, i int, share *mhe.GaloisKeyGenShare)) *galoisBatch {
	t.Helper()
	f := newGadgetFixture(t, params, n, false, w)
	prng, err := sampling.NewKeyedPRNG([]byte("galois batch crs"))
	if err != nil {
		t.Fatal(err)
	}
	gkg := mhe.NewGaloisKeyGenProtocol(params)
	b := &galoisBatch{f: f}
	crps := make([]mhe.GaloisKeyGenCRP, len(els))
	for i := range els {
		crps[i] = gkg.SampleCRP(prng, evk(w))
		b.rounds = append(b.rounds, transport.Round(7+i))
	}
	if b.parts, err = f.su.SystemsGalois(els, crps, b.rounds); err != nil {
		t.Fatal(err)
	}
	b.stmts = make([][]Statement, len(b.parts))
	for d, m := range f.members {
		st, err := f.su.StatementPublicKey(m.pk)
		if err != nil {
			t.Fatal(err)
		}
		b.stmts[0] = append(b.stmts[0], st)
		for i, g := range els {
			share := gkg.AllocateShare(evk(w))
			if err := gkg.GenShare(m.sk, g, crps[i], &share); err != nil {
				t.Fatal(err)
			}
			if edit != nil {
				edit(d, i, &share)
			}
			st, err := f.su.StatementGaloisRows(share)
			if err != nil {
				t.Fatal(err)
			}
			b.stmts[1+i] = append(b.stmts[1+i], st)
		}
	}
	return b
}

// run runs the batched check; wit may edit member d's witness of part k.
func (b *galoisBatch) run(t *testing.T, wit func(d, k int, sys *System, w *Witness)) ([]Stats, []error) {
	t.Helper()
	n := len(b.f.members)
	return mpctest.Run(t, n, func(ctx context.Context, conn transport.Conn) (Stats, error) {
		d := int(conn.Self())
		p, err := ss.NewParty(ctx, conn, ss.Config{Security: ss.Malicious, Rand: mpctest.Rand(t, fmt.Sprintf("party %d", d))})
		if err != nil {
			return Stats{}, err
		}
		parts := make([]Part, len(b.parts))
		for k, sys := range b.parts {
			parts[k] = Part{
				Sys:        sys,
				Statements: func() ([]Statement, error) { return b.stmts[k], nil },
				Witness: func(own Statement) (*Witness, error) {
					w, _, err := b.f.su.Witness(sys, own, b.f.members[d].sk, nil)
					if err == nil && wit != nil {
						wit(d, k, sys, w)
					}
					return w, err
				},
			}
		}
		return CheckBatch(ctx, p, parts)
	}, mpctest.Timeout(3*time.Minute))
}

// TestGaloisBatch: one batched check of two Galois elements passes honest
// shares with fewer inputs than two separate checks, and names each deviant
// in the round of what it got wrong, in one run of four members: member 0
// a non-bit in the public-key part (re-proven there: the first element's
// round), member 1 an inflated error in the second element's share, member
// 2 a non-bit in the second element's error bits (that part's own bit
// check: its round), member 3 another secret than its public-key share's
// (every part fails: the first element's round and the second's).
func TestGaloisBatch(t *testing.T) {
	params := testParams(t, 12)
	els := []uint64{params.GaloisElement(1), params.GaloisElement(4)}
	t.Run("honest", func(t *testing.T) {
		b := newGaloisBatch(t, params, 3, els, nil)
		stats, errs := b.run(t, nil)
		for d, err := range errs {
			if err != nil {
				t.Fatalf("member %d: %v", d, err)
			}
		}
		// s once, the public-key error once; two SystemGalois checks input
		// both twice.
		n, sN := 3, params.N()
		size := func(sys *System) int { return sys.phase1Len() + sys.phase2Len() }
		want := n * (size(b.parts[0]) + size(b.parts[1]) - sN + size(b.parts[2]) - sN)
		two := n * (size(b.parts[0]) + size(b.parts[1]) - sN + size(b.parts[0]) + size(b.parts[2]) - sN)
		if stats[0].Inputs != want || want >= two {
			t.Fatalf("batch inputs %d, want %d (two checks: %d)", stats[0].Inputs, want, two)
		}
	})
	t.Run("deviants", func(t *testing.T) {
		b := newGaloisBatch(t, params, 4, els, func(d, i int, share *mhe.GaloisKeyGenShare) {
			if d != 1 || i != 1 {
				return
			}
			v := share.Value[2][0][0]
			rq := params.RingQP()
			rq.IMForm(v, v)
			rq.INTT(v, v)
			for j, q := range params.Q() {
				v.Q.Coeffs[j][3] = (v.Q.Coeffs[j][3] + (1<<20)%q) % q
			}
			for j, q := range params.P() {
				v.P.Coeffs[j][3] = (v.P.Coeffs[j][3] + (1<<20)%q) % q
			}
			rq.NTT(v, v)
			rq.MForm(v, v)
		})
		nonBit := func(sys *System, w *Witness) {
			w.tamper = func(phase int, v fr.Vector) {
				if phase != 1 {
					return
				}
				off := len(sys.Secrets) * sys.N // the first relation's error bits
				for k := 0; k < sys.N; k++ {
					b0, b1 := &v[off+k*ErrBits], &v[off+k*ErrBits+1]
					if !b1.IsZero() && b0.IsZero() {
						b0.SetUint64(2)
						b1.SetZero()
						return
					}
				}
				t.Error("no coefficient with bit 1 set and bit 0 clear")
			}
		}
		_, errs := b.run(t, func(d, k int, sys *System, w *Witness) {
			switch {
			case d == 0 && k == 0, d == 2 && k == 2:
				nonBit(sys, w)
			case d == 3:
				w.Secrets[0][5] = (w.Secrets[0][5]+2)%3 - 1
				w.m = nil // recomputed from the edited witness, as a cheater would
			}
		})
		want := map[int][]transport.Round{0: {b.rounds[0]}, 1: {b.rounds[1]}, 2: {b.rounds[1]}, 3: {b.rounds[0], b.rounds[1]}}
		for d, err := range errs {
			got := make(map[int]map[transport.Round]bool)
			for _, pe := range partyErrors(err) {
				if got[int(pe.Party)] == nil {
					got[int(pe.Party)] = make(map[transport.Round]bool)
				}
				got[int(pe.Party)][pe.Round] = true
			}
			for culprit, rounds := range want {
				if len(got[culprit]) != len(rounds) {
					t.Fatalf("member %d: member %d named in rounds %v, want %v (%v)", d, culprit, got[culprit], rounds, err)
				}
				for _, r := range rounds {
					if !got[culprit][r] {
						t.Fatalf("member %d: member %d not named in round %d (%v)", d, culprit, r, err)
					}
				}
			}
		}
		t.Log(errs[0])
	})
}

// namedOnly asserts that every member's error names the culprit, in round,
// and nobody else.
func namedOnly(t *testing.T, errs []error, culprit int, round transport.Round) {
	t.Helper()
	for d, err := range errs {
		pes := partyErrors(err)
		if len(pes) == 0 {
			t.Fatalf("member %d: %v names nobody", d, err)
		}
		for _, pe := range pes {
			if int(pe.Party) != culprit || pe.Round != round {
				t.Fatalf("member %d: names member %d round %d (%v), want %d round %d", d, pe.Party, pe.Round, pe, culprit, round)
			}
		}
	}
}

// TestExactProducts checks the member-side exact products (two-prime CRT
// over 64-bit NTTs) against schoolbook big-integer arithmetic, for a
// negated product on an automorphism of the secret plus a scalar term, and
// the quotients m_k = R_k/q_j.
func TestExactProducts(t *testing.T) {
	const N = 32
	rng := rand.New(rand.NewPCG(5, 6))
	moduli := []uint64{(1 << 61) - 1, (1 << 59) - 55}
	a := make([][]uint64, len(moduli))
	for j, q := range moduli {
		a[j] = make([]uint64, N)
		for k := range a[j] {
			a[j][k] = rng.Uint64N(q)
		}
	}
	scalar := []uint64{rng.Uint64N(moduli[0]), rng.Uint64N(moduli[1])}
	const auto = 5
	sys := &System{N: N, Moduli: moduli, Secrets: []string{"s"}, Polys: [][][]uint64{a},
		Groups: []Group{{Name: "g"}},
		Rels:   []Relation{{Name: "r", Terms: []Term{{Secret: 0, Poly: 0, Neg: true, Auto: auto}, {Secret: 0, Poly: -1, Scalar: scalar}}}}}
	if err := sys.init(); err != nil {
		t.Fatal(err)
	}
	x := make([]int64, N)
	for k := range x {
		x[k] = rng.Int64N(3) - 1
	}
	w := &Witness{Secrets: [][]int64{x}, Errors: [][]int64{make([]int64, N)}}
	prod, err := sys.exactProducts(w)
	if err != nil {
		t.Fatal(err)
	}
	px := automorphism(x, auto)
	st := Statement{make([][]uint64, len(moduli))}
	for j, q := range moduli {
		want := make([]*big.Int, N)
		for k := range want {
			want[k] = new(big.Int).Mul(new(big.Int).SetUint64(scalar[j]), big.NewInt(x[k]))
		}
		for i := 0; i < N; i++ {
			for l := 0; l < N; l++ {
				v := new(big.Int).Mul(new(big.Int).SetUint64(a[j][i]), big.NewInt(px[l]))
				if k := i + l; k < N {
					want[k].Sub(want[k], v)
				} else {
					want[k-N].Add(want[k-N], v)
				}
			}
		}
		st[0][j] = make([]uint64, N)
		for k := range want {
			if got := prod[0][j][k].big(); got.Cmp(want[k]) != 0 {
				t.Fatalf("limb %d coefficient %d: got %v want %v", j, k, got, want[k])
			}
			st[0][j][k] = new(big.Int).Mod(want[k], new(big.Int).SetUint64(q)).Uint64()
		}
	}
	// The statement p = prod mod q (zero error): m_k = (prod_k − p_k)/q_j.
	m, ok := sys.quotientsOf(st, w, prod)
	if !ok {
		t.Fatal("quotients of a satisfied relation do not fit")
	}
	for j, q := range moduli {
		for k := range m[0][j] {
			r := new(big.Int).Sub(prod[0][j][k].big(), new(big.Int).SetUint64(st[0][j][k]))
			if r.Cmp(new(big.Int).Mul(big.NewInt(m[0][j][k]), new(big.Int).SetUint64(q))) != 0 {
				t.Fatalf("limb %d coefficient %d: quotient %d", j, k, m[0][j][k])
			}
		}
	}
	st[0][0][3] = (st[0][0][3] + 1) % moduli[0]
	if _, ok := sys.quotientsOf(st, w, prod); ok {
		t.Fatal("a residual off by one divides")
	}
}

// runSplit checks the fixture's relinearisation round as one batch of its
// gadget rows (Split, RowParts), as the setup runs it.
func runSplit(t *testing.T, f *fixture) []error {
	t.Helper()
	sys := f.system(t)
	partOf, err := f.su.RowParts(sys)
	if err != nil {
		t.Fatal(err)
	}
	systems, err := sys.Split(partOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(systems) != len(f.su.RKGCRP.Value) {
		t.Fatalf("%d parts for %d rows", len(systems), len(f.su.RKGCRP.Value))
	}
	stmts := f.statements(t)
	split := make([][]Statement, len(stmts))
	for d, st := range stmts {
		if split[d], err = SplitStatement(st, partOf); err != nil {
			t.Fatal(err)
		}
	}
	_, errs := mpctest.Run(t, len(f.members), func(ctx context.Context, conn transport.Conn) (Stats, error) {
		d := int(conn.Self())
		p, err := ss.NewParty(ctx, conn, ss.Config{Security: ss.Malicious, Rand: mpctest.Rand(t, fmt.Sprintf("party %d", d))})
		if err != nil {
			return Stats{}, err
		}
		parts := make([]Part, len(systems))
		for k, ps := range systems {
			parts[k] = Part{
				Sys: ps,
				Statements: func() ([]Statement, error) {
					out := make([]Statement, len(split))
					for i := range out {
						out[i] = split[i][k]
					}
					return out, nil
				},
				Witness: func(own Statement) (*Witness, error) {
					w, _, err := f.su.Witness(ps, own, f.members[d].sk, f.members[d].u)
					return w, err
				},
			}
		}
		return CheckBatch(ctx, p, parts)
	}, mpctest.Timeout(3*time.Minute))
	return errs
}

// TestSplitByRow: a relinearisation round's system checked as one batch of
// its gadget rows (Split, RowParts, as the setup runs it) names a member
// whose row-1 share (round one) or whose ephemeral secret (round two) is
// wrong, in the same round as one check, and nobody else: the honest
// members' shares pass.
func TestSplitByRow(t *testing.T) {
	params := testParams(t, 12)
	t.Run("random row-1 share", func(t *testing.T) {
		f := newFixture(t, params, 3, true)
		prng, _ := sampling.NewKeyedPRNG([]byte("noise"))
		ring.NewUniformSampler(prng, params.RingQ()).ReadAndAdd(f.members[2].rkg1.Value[1][0][0].Q)
		namedOnly(t, runSplit(t, f), 2, 3)
	})
	t.Run("round two, other ephemeral", func(t *testing.T) {
		f := newFixture(t, params, 3, true)
		f.withRoundTwo(t, params, 1, rlwe.NewKeyGenerator(params).GenSecretKeyNew())
		errs := runSplit(t, f)
		namedOnly(t, errs, 1, 4)
	})
}
