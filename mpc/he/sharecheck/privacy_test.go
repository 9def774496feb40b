package sharecheck

import (
	"context"
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestSecretOpensToHonestMajority is the regression test of the security
// review's finding (issue 10), from its proof of concept: the check's first
// phase deals member 2's ternary secret s_2 into the SS engine with degree
// ⌊(n−1)/2⌋, so the first MaxThreshold(n) = ⌊(n−1)/2⌋+1 members, pooling
// their shares, rebuild s_2 without deviating. That is why he.Setup runs the
// check only when the HE threshold t ≤ MaxThreshold(n): the coalition that
// opens the check's sharings is then no smaller than t, and fewer than t
// colluders still learn nothing (he's TestSetupShareCheckGate).
func TestSecretOpensToHonestMajority(t *testing.T) {
	t.Parallel()
	params := testParams(t, 12)
	for _, n := range []int{4, 5} {
		k := MaxThreshold(n)
		f := newFixture(t, params, n, false)
		sys := f.system(t)
		if err := sys.init(); err != nil {
			t.Fatal(err)
		}
		stmts := f.statements(t)
		const victim = 2
		w, ok, err := f.su.Witness(sys, stmts[victim], f.members[victim].sk, nil)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		in, err := sys.phase1(w)
		if err != nil {
			t.Fatal(err)
		}
		m1 := sys.phase1Len()
		degree := make([]int, n)
		shares, errs := mpctest.Run(t, n, func(ctx context.Context, conn transport.Conn) (fr.Vector, error) {
			d := int(conn.Self())
			p, err := ss.NewParty(ctx, conn, ss.Config{Security: ss.Malicious, Rand: mpctest.Rand(t, fmt.Sprintf("party %d of %d", d, n))})
			if err != nil {
				return nil, err
			}
			degree[d] = p.Params().T
			var vals fr.Vector
			if d == victim {
				vals = in
			}
			x, err := p.InputVec(ctx, victim, vals, m1)
			if err != nil {
				return nil, err
			}
			return x.V[:sys.N], nil // the shares of s_victim
		})
		for d, err := range errs {
			if err != nil {
				t.Fatalf("n=%d party %d: %v", n, d, err)
			}
		}
		if degree[0]+1 != k {
			t.Fatalf("n=%d: the engine shares with degree %d, MaxThreshold %d", n, degree[0], k)
		}
		// Lagrange coefficients at 0 of the points 1..k (members 0..k−1).
		lambda := make([]fr.Element, k)
		for i := range lambda {
			lambda[i].SetOne()
			var xi fr.Element
			xi.SetUint64(uint64(i + 1))
			for j := 0; j < k; j++ {
				if j == i {
					continue
				}
				var xj, den fr.Element
				xj.SetUint64(uint64(j + 1))
				den.Sub(&xj, &xi)
				den.Inverse(&den)
				lambda[i].Mul(&lambda[i], &xj)
				lambda[i].Mul(&lambda[i], &den)
			}
		}
		want := liftInt(w.Secrets[0])
		for c := 0; c < sys.N; c++ {
			var v fr.Element
			for i := 0; i < k; i++ {
				var term fr.Element
				term.Mul(&lambda[i], &shares[i][c])
				v.Add(&v, &term)
			}
			if !v.Equal(&want[c]) {
				t.Fatalf("n=%d: %d members did not rebuild coefficient %d of s_%d: the engine's degree changed; revisit MaxThreshold", n, k, c, victim)
			}
		}
	}
}
