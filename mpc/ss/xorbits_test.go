package ss

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestRandomBitsAreBits: the XOR-combined random bits (a left operand with
// MACs, right operands without) open to bits, about half of them ones, in
// both modes and for committees whose dealers' MAC'd parts are contiguous
// (n = 3) or gathered (n = 5).
func TestRandomBitsAreBits(t *testing.T) {
	const m = 2000
	for _, n := range committeeSizes {
		for _, sec := range []Security{Malicious, SemiHonest} {
			res, errs := runMode(t, n, sec, func(ctx context.Context, p *Party) (fr.Vector, error) {
				if err := p.Prepare(ctx, m); err != nil {
					return nil, err
				}
				b, err := p.takeBits(ctx, m)
				if err != nil {
					return nil, err
				}
				return p.OpenVec(ctx, "out", b)
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("n=%d %v party %d: %v", n, sec, i, err)
				}
			}
			ones := 0
			for _, v := range res[0] {
				switch {
				case v.IsOne():
					ones++
				case !v.IsZero():
					t.Fatalf("n=%d %v: a random bit opened to %v", n, sec, v.String())
				}
			}
			if ones < m*2/5 || ones > m*3/5 {
				t.Fatalf("n=%d %v: %d ones in %d random bits", n, sec, ones, m)
			}
		}
	}
}

// runMode runs fn for an honest committee of n in mode sec.
func runMode(t *testing.T, n int, sec Security, fn func(ctx context.Context, p *Party) (fr.Vector, error)) ([]fr.Vector, []error) {
	t.Helper()
	if sec == Malicious {
		res, errs, _ := runMal(t, transport.NewMemoryNetwork(), n, nil, fn)
		return res, errs
	}
	nw := transport.NewMemoryNetwork()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	job := nextJob()
	res := make([]fr.Vector, n)
	errs := make([]error, n)
	done := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer func() { done <- struct{}{} }()
			conn, err := nw.Open(ctx, job, transport.PartyID(i), n)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close()
			p, err := NewParty(ctx, conn, Config{Security: SemiHonest, Rand: newSeeded(uint64(9000*n + i))})
			if err != nil {
				errs[i] = err
				return
			}
			res[i], errs[i] = fn(ctx, p)
		}(i)
	}
	for i := 0; i < n; i++ {
		<-done
	}
	return res, errs
}

// TestXorBitCheatersAreCaught: deviations in the XOR of dealt random bits,
// whose right operands carry no MACs and whose bitness is checked on the
// XOR (checkBits). A right operand's dealer that deals a non-bit is named
// (nonBitDealer); a dealt sharing off degree t (left or right operand), an
// offset in the XOR product or in its MAC half abort with a failed check
// naming no one; no honest party opens an unmasked value in any case.
func TestXorBitCheatersAreCaught(t *testing.T) {
	for _, n := range committeeSizes {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 91))
		a, b := comparisonInputs(r, 12)
		as, bs := shareAll(t, prm, field.FromUint64s(a), 1), shareAll(t, prm, field.FromUint64s(b), 2)
		left := xorLeft(prm.T + 1)
		if !left[0] || left[1] || left[prm.T] {
			t.Fatalf("n=%d: XOR operands %v, want dealer 0 left and dealers 1, t right", n, left)
		}
		cases := []struct {
			name    string
			cheater int
			plan    cheat.Plan
			named   bool
		}{
			{"non-bit-right-dealer", 1, cheat.Plan{BadBit: true}, true},
			{"non-bit-last-dealer", prm.T, cheat.Plan{BadBit: true}, true},
			{"non-bit-left-dealer", 0, cheat.Plan{BadBit: true}, true},
			{"off-degree-right-deal", 1, cheat.Plan{HiddenOffset: true, MulOp: "deal", Offset: 1}, false},
			{"off-degree-left-deal", 0, cheat.Plan{HiddenOffset: true, MulOp: "deal", Offset: 3}, false},
			{"xor-offset", 1, cheat.Plan{MulOffset: true, MulOp: "xor", Offset: 1}, false},
			{"xor-flip", n - 1, cheat.Plan{MulOffset: true, MulOp: "xor", Offset: 1, MulOnce: true}, false},
			{"xor-mac-offset", 1, cheat.Plan{MacOffset: true, MulOp: "xor", Offset: 1}, false},
		}
		for _, c := range cases {
			plan := c.plan
			_, errs, seen := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{c.cheater: &plan}, adversarialJob(as, bs))
			want := -1
			if c.named {
				want = c.cheater
			}
			checkAbort(t, c.name, n, errs, seen, c.cheater, want)
		}
	}
}

// TestXorBitCheaterCaughtOverLibp2p: a right operand's dealer that deals a
// non-bit is named, and an offset in the XOR product aborts, over the
// libp2p transport.
func TestXorBitCheaterCaughtOverLibp2p(t *testing.T) {
	const n = 3
	com := newP2PCommittee(t, n)
	prm := mustParams(t, n)
	as := shareAll(t, prm, field.FromUint64s([]uint64{1, 9, 4}), 1)
	bs := shareAll(t, prm, field.FromUint64s([]uint64{3, 2, 4}), 2)
	_, errs, seen := runMal(t, com, n, map[int]*cheat.Plan{1: {BadBit: true}}, adversarialJob(as, bs))
	checkAbort(t, "p2p non-bit", n, errs, seen, 1, 1)
	_, errs, seen = runMal(t, com, n, map[int]*cheat.Plan{1: {MulOffset: true, MulOp: "xor", Offset: 1}}, adversarialJob(as, bs))
	checkAbort(t, "p2p xor offset", n, errs, seen, 1, -1)
}
