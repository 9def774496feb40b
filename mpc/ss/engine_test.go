package ss

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

var committeeSizes = []int{3, 5}

func TestShareReconstruct(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := MinParties; n <= MaxParties; n++ {
		prm := mustParams(t, n)
		secrets := randField(r, 17)
		sh := shareAll(t, prm, secrets, uint64(n))
		// Any t+1 shares reconstruct.
		for start := 0; start < n; start++ {
			sub := make([]fr.Vector, n)
			for k := 0; k <= prm.T; k++ {
				sub[(start+k)%n] = sh[(start+k)%n]
			}
			got, err := Reconstruct(prm, sub)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(secrets) {
				t.Fatalf("n=%d start=%d: reconstruct mismatch", n, start)
			}
		}
		sub := make([]fr.Vector, n)
		for k := 0; k < prm.T; k++ {
			sub[k] = sh[k]
		}
		if _, err := Reconstruct(prm, sub); err == nil {
			t.Fatalf("n=%d: t shares must not reconstruct", n)
		}
	}
}

func TestLinearMulOpen(t *testing.T) {
	for _, n := range committeeSizes {
		r := rand.New(rand.NewPCG(uint64(n), 7))
		const m = 100
		prm := mustParams(t, n)
		x, y, z := randField(r, m), randField(r, m), randField(r, m)
		xs, ys := shareAll(t, prm, x, 1), shareAll(t, prm, y, 2)
		var c fr.Element
		c.SetUint64(12345)
		// want = (x*y + c*x - z) * y, and dot(x, y)
		want := field.Mul(x, y)
		want.Add(want, field.Scale(x, &c))
		want.Sub(want, z)
		want = field.Mul(want, y)
		wantDot := x.InnerProduct(y)
		type out struct{ v, dot, toOne fr.Vector }
		res := runParties(t, n, func(ctx context.Context, p *Party) (out, error) {
			zs, err := p.Input(ctx, 1, ifSelf(p, 1, z), m)
			if err != nil {
				return out{}, err
			}
			xy, err := p.Mul(ctx, xs[p.Self()], ys[p.Self()])
			if err != nil {
				return out{}, err
			}
			xy.Add(xy, field.Scale(xs[p.Self()], &c))
			xy.Sub(xy, zs)
			v, err := p.Mul(ctx, xy, ys[p.Self()])
			if err != nil {
				return out{}, err
			}
			d, err := p.Dot(ctx, []fr.Vector{xs[p.Self()]}, []fr.Vector{ys[p.Self()]})
			if err != nil {
				return out{}, err
			}
			opened, err := p.Open(ctx, "v", v)
			if err != nil {
				return out{}, err
			}
			dot, err := p.Open(ctx, "dot", d)
			if err != nil {
				return out{}, err
			}
			one, err := p.OpenTo(ctx, "v-to-2", 2, v)
			return out{opened, dot, one}, err
		})
		for i, o := range res {
			if !o.v.Equal(want) {
				t.Fatalf("n=%d party %d: product mismatch", n, i)
			}
			if !o.dot[0].Equal(&wantDot) {
				t.Fatalf("n=%d party %d: dot mismatch", n, i)
			}
			if (i == 2) != (o.toOne != nil) {
				t.Fatalf("n=%d party %d: OpenTo delivered to the wrong party", n, i)
			}
			if i == 2 && !o.toOne.Equal(want) {
				t.Fatalf("n=%d: OpenTo value mismatch", n)
			}
		}
	}
}

func ifSelf(p *Party, owner int, v fr.Vector) fr.Vector {
	if p.Self() == owner {
		return v
	}
	return nil
}

func TestMulAllCommitteeSizes(t *testing.T) {
	for n := MinParties; n <= MaxParties; n++ {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 3))
		x, y := randField(r, 3*chunkSize+1), randField(r, 3*chunkSize+1)
		xs, ys := shareAll(t, prm, x, 1), shareAll(t, prm, y, 2)
		res := runParties(t, n, func(ctx context.Context, p *Party) (fr.Vector, error) {
			z, err := p.Mul(ctx, xs[p.Self()], ys[p.Self()])
			if err != nil {
				return nil, err
			}
			rnd, err := p.Random(ctx, 4)
			if err != nil {
				return nil, err
			}
			in, err := p.Input(ctx, n-1, ifSelf(p, n-1, x[:5]), 5)
			if err != nil {
				return nil, err
			}
			z = append(z, in...)
			if _, err := p.Open(ctx, "rnd", rnd); err != nil {
				return nil, err
			}
			return p.Open(ctx, "z", z)
		})
		want := append(field.Mul(x, y), x[:5]...)
		if !res[0].Equal(want) {
			t.Fatalf("n=%d: products or inputs wrong", n)
		}
	}
}

func TestSmallCoefficientsForThreeParties(t *testing.T) {
	prm := mustParams(t, 3)
	for i := 0; i < 3; i++ {
		for k := 0; k < 3; k++ {
			if !prm.subSecretMul[i][k].small || !prm.subPRGc[i][k][0].small {
				t.Fatalf("owner %d target %d: multiplication coefficient not small", i, k)
			}
		}
		if !prm.prgScale[i][0].small {
			t.Fatalf("owner %d: PRG scale not small", i)
		}
	}
}

// TestLanesRunConcurrently runs two sub-protocols of one job at the same
// time on two lanes and checks both results.
func TestLanesRunConcurrently(t *testing.T) {
	for _, n := range committeeSizes {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 23))
		x, y := randField(r, 5000), randField(r, 5000)
		xs, ys := shareAll(t, prm, x, 1), shareAll(t, prm, y, 2)
		res := runParties(t, n, func(ctx context.Context, p *Party) ([2]fr.Vector, error) {
			lane, err := p.Lane(1)
			if err != nil {
				return [2]fr.Vector{}, err
			}
			if _, err := p.Lane(1); err == nil {
				return [2]fr.Vector{}, errors.New("a lane was created twice")
			}
			if _, err := lane.Lane(2); err == nil {
				return [2]fr.Vector{}, errors.New("a lane created a lane")
			}
			var other fr.Vector
			var otherErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				z, err := lane.Mul(ctx, ys[p.Self()], ys[p.Self()])
				if err == nil {
					other, otherErr = lane.Open(ctx, "lane", z)
				} else {
					otherErr = err
				}
			}()
			z, err := p.Mul(ctx, xs[p.Self()], ys[p.Self()])
			var mine fr.Vector
			if err == nil {
				mine, err = p.Open(ctx, "main", z)
			}
			<-done
			if err == nil {
				err = otherErr
			}
			return [2]fr.Vector{mine, other}, err
		})
		if !res[0][0].Equal(field.Mul(x, y)) || !res[0][1].Equal(field.Mul(y, y)) {
			t.Fatalf("n=%d: lane results wrong", n)
		}
	}
}
