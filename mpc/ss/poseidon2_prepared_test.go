package ss

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/transport"
)

// commitInputs returns m instances of k random fields and a salt, shared for
// a committee of n: plain[i] is field i (the salt last), shares[i][party].
func commitInputs(t testing.TB, n, m, k int, seed uint64) (plain []fr.Vector, shares [][]fr.Vector) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, uint64(n*1000+m*10+k)))
	prm := mustParams(t, n)
	for i := 0; i <= k; i++ {
		v := randField(r, m)
		plain = append(plain, v)
		shares = append(shares, shareAll(t, prm, v, seed+uint64(i)))
	}
	return plain, shares
}

func nativeCommits(plain []fr.Vector) fr.Vector {
	k := len(plain) - 1
	m := len(plain[0])
	out := make(fr.Vector, m)
	for j := 0; j < m; j++ {
		fields := make([]fr.Element, k)
		for i := range fields {
			fields[i] = plain[i][j]
		}
		out[j] = NativeCommit(fields, plain[k][j])
	}
	return out
}

// TestCommitPreparedMatchesNative: a commitment with masks prepared ahead
// (PrepareCommit, CommitVecPrepared) equals NativeCommit in both modes, and
// the masks cannot be used twice, for another shape or on another engine.
func TestCommitPreparedMatchesNative(t *testing.T) {
	for _, n := range committeeSizes {
		for _, sec := range []Security{Malicious, SemiHonest} {
			for _, tc := range []struct{ m, k int }{{1, 2}, {PairBatch, 1}, {PairBatch + 1, 1}, {5, 2}} {
				m, k := tc.m, tc.k
				plain, shares := commitInputs(t, n, m, k, 7)
				var rounds int
				res, errs := runPartiesCfg(t, transport.NewMemoryNetwork(), n, func(i int) Config {
					return Config{Security: sec, Rand: newSeeded(uint64(300*n + i))}
				}, func(ctx context.Context, p *Party) (fr.Vector, error) {
					groups := make([]fr.Vector, k+1)
					for i := range groups {
						groups[i] = shares[i][p.Self()]
					}
					v, err := p.AuthenticateDealt(ctx, groups)
					if err != nil {
						return nil, err
					}
					lane, err := p.Lane(1)
					if err != nil {
						return nil, err
					}
					masks, err := p.PrepareCommit(ctx, m, k)
					if err != nil {
						return nil, err
					}
					if _, err := lane.CommitVecPrepared(ctx, v[:k], v[k], masks); err == nil {
						return nil, errors.New("masks of the main engine accepted by a lane")
					}
					if _, err := p.CommitVecPrepared(ctx, v[:k], v[k].Slice(0, m-1), masks); err == nil {
						return nil, errors.New("masks accepted for another number of instances")
					}
					if _, err := p.CommitVecPrepared(ctx, append(v[:k:k], v[k]), v[k], masks); err == nil {
						return nil, errors.New("masks accepted for another number of fields")
					}
					r0 := p.Stats.Rounds
					c, err := p.CommitVecPrepared(ctx, v[:k], v[k], masks)
					if err != nil {
						return nil, err
					}
					if p.Self() == 0 {
						rounds = p.Stats.Rounds - r0
					}
					if _, err := p.CommitVecPrepared(ctx, v[:k], v[k], masks); err == nil {
						return nil, errors.New("masks used twice")
					}
					return p.OpenVec(ctx, "out", c)
				})
				what := fmt.Sprintf("n=%d %s m=%d k=%d", n, sec, m, k)
				for i, err := range errs {
					if err != nil {
						t.Fatalf("%s: party %d: %v", what, i, err)
					}
				}
				// One opening per full round and per pair of partial rounds
				// (malicious mode, m ≤ PairBatch) or per partial round,
				// nothing else.
				layers := p2params.NbFullRounds + p2params.NbPartialRounds
				if sec == Malicious && m <= PairBatch {
					layers = p2params.NbFullRounds + pairsPerPermutation + p2params.NbPartialRounds%2
				}
				if want := (k + 1) * layers; rounds != want {
					t.Fatalf("%s: the prepared commitment took %d rounds, want %d", what, rounds, want)
				}
				if want := nativeCommits(plain); !res[0].Equal(want) {
					t.Fatalf("%s: prepared commitment differs from NativeCommit", what)
				}
			}
		}
	}
}

// TestCommitPlansMatchNative: both S-box plans give NativeCommit on a batch
// at the direct threshold, in malicious mode (the automatic choice is
// pinned by the tests of CommitVec).
func TestCommitPlansMatchNative(t *testing.T) {
	const n, m, k = 3, DirectSboxBatch, 1
	plain, shares := commitInputs(t, n, m, k, 11)
	for _, plan := range []sboxPlan{planDirect, planMasked} {
		res, errs := runPartiesCfg(t, transport.NewMemoryNetwork(), n, func(i int) Config {
			return Config{Rand: newSeeded(uint64(400 + i))}
		}, func(ctx context.Context, p *Party) (fr.Vector, error) {
			v, err := p.AuthenticateDealt(ctx, []fr.Vector{shares[0][p.Self()], shares[1][p.Self()]})
			if err != nil {
				return nil, err
			}
			c, err := p.commitPlan(ctx, v[:1], v[1], plan)
			if err != nil {
				return nil, err
			}
			return p.OpenVec(ctx, "out", c)
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("plan %d: party %d: %v", plan, i, err)
			}
		}
		if want := nativeCommits(plain); !res[0].Equal(want) {
			t.Fatalf("plan %d: commitment differs from NativeCommit", plan)
		}
	}
}

// TestMaskedSboxCheatCaught: a member that deviates in the masked S-box path
// — an offset on the value or on the MAC of a product of the masks' powers,
// or a shifted share of a masked opening x + r — makes the job abort before
// the commitment is opened. Before the abort, the only openings any party
// (the cheater included) sees are of uniformly masked values: the masked
// S-box inputs, coins and the check's own opening.
func TestMaskedSboxCheatCaught(t *testing.T) {
	cases := []struct {
		name string
		plan cheat.Plan
	}{
		{"powers-offset", cheat.Plan{MulOffset: true, MulOp: opSboxPowers, Offset: 1}},
		{"powers-mac-offset", cheat.Plan{MacOffset: true, MulOp: opSboxPowers, Offset: 5}},
		{"shifted-mask-opening", cheat.Plan{ShiftOpen: true, ShiftTo: -1, ShiftLabel: "mask:poseidon2"}},
		{"shifted-mask-opening-to-one", cheat.Plan{ShiftOpen: true, ShiftTo: 0, ShiftLabel: "mask:poseidon2"}},
	}
	for _, n := range committeeSizes {
		for _, m := range []int{PairBatch, PairBatch + 1} { // pairs of partial rounds, single S-boxes
			const k = 1
			_, shares := commitInputs(t, n, m, k, 13)
			for _, tc := range cases {
				cheater := n - 1
				plan := tc.plan
				var deviated atomic.Int64
				plan.OnDeviate = func() { deviated.Add(1) }
				var mu sync.Mutex
				var unmasked []string
				onOpen := func(party int, label string, _ fr.Vector) {
					if label == "mask:poseidon2" || label == "mask:coin" || label == "mask:dealt" || label == "check:mac" {
						return
					}
					mu.Lock()
					unmasked = append(unmasked, fmt.Sprintf("party %d: %s", party, label))
					mu.Unlock()
				}
				_, errs := runObserved(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: &plan}, onOpen, func(ctx context.Context, p *Party) (fr.Vector, error) {
					v, err := authShares(ctx, p, shares[0], shares[1])
					if err != nil {
						return nil, err
					}
					masks, err := p.PrepareCommit(ctx, m, k)
					if err != nil {
						return nil, err
					}
					c, err := p.CommitVecPrepared(ctx, v[:1], v[1], masks)
					if err != nil {
						return nil, err
					}
					return p.OpenVec(ctx, "out", c)
				})
				what := fmt.Sprintf("n=%d m=%d %s", n, m, tc.name)
				if (plan.MulOffset || plan.MacOffset) && deviated.Load() == 0 {
					t.Fatalf("%s: the cheater never deviated", what)
				}
				if len(unmasked) > 0 {
					t.Fatalf("%s: opened beyond masked values: %v", what, unmasked)
				}
				for i, err := range errs {
					if i == cheater {
						continue
					}
					var ce *CheckError
					if !errors.As(err, &ce) {
						t.Fatalf("%s: honest party %d: want an abort on a failed check, got %v", what, i, err)
					}
				}
			}
		}
	}
}
