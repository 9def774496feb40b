package ss

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

// edgeValues are 64-bit values at the boundaries of the comparison.
var edgeValues = []uint64{0, 1, 2, 1<<63 - 1, 1 << 63, 1<<63 + 1, ^uint64(0) - 1, ^uint64(0)}

func comparisonInputs(r *rand.Rand, m int) ([]uint64, []uint64) {
	a := make([]uint64, 0, m)
	b := make([]uint64, 0, m)
	for _, x := range edgeValues {
		for _, y := range edgeValues {
			a, b = append(a, x), append(b, y)
		}
	}
	for len(a) < m {
		x := r.Uint64() >> (r.Uint64() % 64)
		var y uint64
		switch r.IntN(3) {
		case 0:
			y = x
		case 1:
			y = x + uint64(r.IntN(3)) - 1
		default:
			y = r.Uint64() >> (r.Uint64() % 64)
		}
		a, b = append(a, x), append(b, y)
	}
	return a, b
}

func TestLessThanEqual(t *testing.T) {
	for _, n := range committeeSizes {
		r := rand.New(rand.NewPCG(uint64(n), 11))
		prm := mustParams(t, n)
		a, b := comparisonInputs(r, 200)
		m := len(a)
		as := shareAll(t, prm, field.FromUint64s(a), 3)
		bs := shareAll(t, prm, field.FromUint64s(b), 4)
		res := runParties(t, n, func(ctx context.Context, p *Party) ([2]fr.Vector, error) {
			// Half the randomness prepared, half on demand.
			if err := p.PrepareComparisons(ctx, m/2, m/2); err != nil {
				return [2]fr.Vector{}, err
			}
			lt, err := p.LessThan(ctx, as[p.Self()], bs[p.Self()])
			if err != nil {
				return [2]fr.Vector{}, err
			}
			eq, err := p.Equal(ctx, as[p.Self()], bs[p.Self()])
			if err != nil {
				return [2]fr.Vector{}, err
			}
			ltOpen, err := p.Open(ctx, "lt", lt)
			if err != nil {
				return [2]fr.Vector{}, err
			}
			eqOpen, err := p.Open(ctx, "eq", eq)
			return [2]fr.Vector{ltOpen, eqOpen}, err
		})
		for j := 0; j < m; j++ {
			wantLT, wantEQ := b2u(a[j] < b[j]), b2u(a[j] == b[j])
			if got := res[0][0][j]; !got.Equal(&wantLT) {
				t.Fatalf("n=%d: [%d < %d] = %s", n, a[j], b[j], got.String())
			}
			if got := res[0][1][j]; !got.Equal(&wantEQ) {
				t.Fatalf("n=%d: [%d = %d] = %s", n, a[j], b[j], got.String())
			}
		}
	}
}

func b2u(b bool) fr.Element {
	var e fr.Element
	if b {
		e.SetOne()
	}
	return e
}

func TestTruncPrFixedPoint(t *testing.T) {
	for _, n := range committeeSizes {
		r := rand.New(rand.NewPCG(uint64(n), 13))
		prm := mustParams(t, n)
		const m, f = 64, 16
		xs := make([]float64, m)
		ys := make([]float64, m)
		for i := range xs {
			xs[i] = (r.Float64() - 0.5) * 2000
			ys[i] = (r.Float64() - 0.5) * 2000
		}
		xv, yv := make(fr.Vector, m), make(fr.Vector, m)
		for i := range xs {
			xv[i] = EncodeFixed(xs[i], f)
			yv[i] = EncodeFixed(ys[i], f)
		}
		xsh, ysh := shareAll(t, prm, xv, 5), shareAll(t, prm, yv, 6)
		res := runParties(t, n, func(ctx context.Context, p *Party) (fr.Vector, error) {
			z, err := p.FixMul(ctx, xsh[p.Self()], ysh[p.Self()], f)
			if err != nil {
				return nil, err
			}
			return p.Open(ctx, "z", z)
		})
		for i := range xs {
			got := DecodeFixed(res[0][i], f)
			want := xs[i] * ys[i]
			// Encoding rounds each factor (≤ 2^-17 each) and TruncPr adds at most 2^-16.
			tol := (abs(xs[i])+abs(ys[i]))/float64(1<<16) + 2.0/float64(1<<f)
			if abs(got-want) > tol {
				t.Fatalf("n=%d: %g·%g = %g, got %g", n, xs[i], ys[i], want, got)
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
