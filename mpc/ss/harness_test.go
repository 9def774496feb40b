package ss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

// newSeeded is a party's or a dealer's deterministic randomness under a
// fixed seed, for tests that must keep their seeds whatever -mpctest.seed
// says (runParties draws from the test's seed instead).
func newSeeded(seed uint64) *mpctest.Stream { return mpctest.NewStream(seed, "ss") }

// nextJob names a job for harnesses that open their own connections on a
// shared network (runMal, runObserved).
func nextJob() string { return fmt.Sprintf("ss-job-%d", jobSeq.Add(1)) }

var jobSeq atomic.Uint64

// runParties runs fn for each of n semi-honest parties over a fresh
// in-memory network and returns their results; it fails the test on any
// error. Party i's randomness is the test's stream "party i of n", so a
// failure replays with the seed it logs.
func runParties[T any](t *testing.T, n int, fn func(ctx context.Context, p *Party) (T, error)) []T {
	t.Helper()
	rs := make([]*mpctest.Stream, n)
	for i := range rs {
		rs[i] = mpctest.Rand(t, fmt.Sprintf("party %d of %d", i, n))
	}
	res, errs := runPartiesCfg(t, transport.NewMemoryNetwork(), n, func(i int) Config { return Config{Security: SemiHonest, Rand: rs[i]} }, fn)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	return res
}

// runPartiesCfg runs fn for each of n parties, party i configured by
// cfg(i), over nw (mpctest.Run: one context of mpctest.DefaultTimeout,
// every Conn closed on return).
func runPartiesCfg[T any](t testing.TB, nw transport.Network, n int, cfg func(i int) Config, fn func(ctx context.Context, p *Party) (T, error)) ([]T, []error) {
	t.Helper()
	return mpctest.Run(t, n, func(ctx context.Context, conn transport.Conn) (T, error) {
		p, err := NewParty(ctx, conn, cfg(int(conn.Self())))
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, p)
	}, mpctest.Network(nw))
}

func randField(r *rand.Rand, m int) fr.Vector {
	v := make(fr.Vector, m)
	for i := range v {
		var b [32]byte
		for k := 0; k < 4; k++ {
			x := r.Uint64()
			for j := 0; j < 8; j++ {
				b[8*k+j] = byte(x >> (8 * j))
			}
		}
		v[i].SetBytes(b[:])
	}
	return v
}

// shareAll is the provider-side sharing used by tests: it returns party i's
// vector for each party.
func shareAll(t testing.TB, prm *Params, secrets fr.Vector, seed uint64) []fr.Vector {
	t.Helper()
	sh, err := Share(prm, secrets, newSeeded(seed))
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func mustParams(t testing.TB, n int) *Params {
	t.Helper()
	p, err := NewParams(n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
