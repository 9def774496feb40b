package ss

import (
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/transport"
)

// rangedBatch is a comparison batch large enough for dealt mask integers
// with the batched range check (maskLayout).
const rangedBatch = 300

func TestMaskLayout(t *testing.T) {
	if l := maskLayout(true, 64*rangedBatch, rangedBatch, MaskBits); !l.ranged {
		t.Fatalf("a batch of %d comparisons composes its masks from bits", rangedBatch)
	}
	if l := maskLayout(true, 64*8, 8, MaskBits); l.ranged || l.dealt != 64*8+8*MaskBits {
		t.Fatalf("a batch of 8 comparisons: layout %+v", l)
	}
	if l := maskLayout(true, 0, 5000, 128-16+Kappa+1); l.ranged {
		t.Fatal("wide truncation masks must stay composed from bits")
	}
	if l := maskLayout(false, 64, 3, MaskBits); l.ranged || l.dealt != 67 {
		t.Fatalf("semi-honest layout %+v", l)
	}
}

// TestRangedComparisonsMatchPlaintext: comparisons and equality tests whose
// masks are dealt integers (range-checked) are right, for n = 3 and 5 and
// with one dealer's mask integers at the top of the honest range; every
// range-check opening lies in the window.
func TestRangedComparisonsMatchPlaintext(t *testing.T) {
	for _, n := range committeeSizes {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 12))
		a, b := comparisonInputs(r, rangedBatch)
		m := len(a)
		as := shareAll(t, prm, field.FromUint64s(a), 5)
		bs := shareAll(t, prm, field.FromUint64s(b), 6)
		var mu sync.Mutex
		var opened []fr.Element
		window := maskLayout(true, 0, 2*m, MaskBits).window
		res, errs := runObserved(t, transport.NewMemoryNetwork(), n, nil, func(_ int, label string, v fr.Vector) {
			if label == "mask:range" {
				mu.Lock()
				opened = append(opened, v...)
				mu.Unlock()
			}
		}, func(ctx context.Context, p *Party) ([2]fr.Vector, error) {
			v, err := authShares(ctx, p, as, bs)
			if err != nil {
				return [2]fr.Vector{}, err
			}
			if err := p.PrepareComparisons(ctx, m, m); err != nil {
				return [2]fr.Vector{}, err
			}
			lt, err := p.LessThanVec(ctx, v[0], v[1])
			if err != nil {
				return [2]fr.Vector{}, err
			}
			eq, err := p.EqualVec(ctx, v[0], v[1])
			if err != nil {
				return [2]fr.Vector{}, err
			}
			out, err := p.OpenVec(ctx, "out", ConcatVecs(lt, eq))
			return [2]fr.Vector{out[:m], out[m:]}, err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("n=%d party %d: %v", n, i, err)
			}
		}
		for j := 0; j < m; j++ {
			wantLT, wantEQ := b2u(a[j] < b[j]), b2u(a[j] == b[j])
			if got := res[0][0][j]; !got.Equal(&wantLT) {
				t.Fatalf("n=%d: [%d < %d] = %s", n, a[j], b[j], got.String())
			}
			if got := res[0][1][j]; !got.Equal(&wantEQ) {
				t.Fatalf("n=%d: [%d = %d] = %s", n, a[j], b[j], got.String())
			}
		}
		// Each party sees (t+1)·rangeRows openings of the one batch.
		if want := n * (prm.T + 1) * rangeRows; len(opened) != want {
			t.Fatalf("n=%d: %d range openings observed, want %d", n, len(opened), want)
		}
		var o big.Int
		for _, e := range opened {
			if e.BigInt(&o).Cmp(window) >= 0 {
				t.Fatalf("n=%d: honest range opening %s outside the window", n, e.String())
			}
		}
	}
}

// TestOversizedMaskDealerNamed: a dealer that deals 2^200 as a comparison
// mask integer (a masked opening would wrap modulo q and give a wrong result
// no MAC sees) is caught by the range check before any masked opening, and
// every honest member names it; n = 3 and 5, either dealer.
func TestOversizedMaskDealerNamed(t *testing.T) {
	for _, n := range committeeSizes {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 13))
		a, b := comparisonInputs(r, rangedBatch)
		as := shareAll(t, prm, field.FromUint64s(a), 7)
		bs := shareAll(t, prm, field.FromUint64s(b), 8)
		for _, cheater := range []int{0, prm.T} {
			_, errs, seen := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: {BadMask: true}}, adversarialJob(as, bs))
			checkAbort(t, "oversized mask", n, errs, seen, cheater, cheater)
			for i, err := range errs {
				var ce *CheckError
				if i != cheater && (!errors.As(err, &ce) || ce.Check != "mask range") {
					t.Fatalf("n=%d cheater %d: party %d: want a failed mask range check, got %v", n, cheater, i, err)
				}
			}
			if u := seen.unmasked(-1); len(u) > 0 {
				t.Fatalf("n=%d: opened %v", n, u)
			}
		}
	}
}
