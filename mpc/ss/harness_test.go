package ss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/transport"
)

// seededReader is a deterministic io.Reader for injectable party randomness.
type seededReader struct{ r *rand.ChaCha8 }

func newSeeded(seed uint64) *seededReader {
	var s [32]byte
	for i := 0; i < 8; i++ {
		s[i] = byte(seed >> (8 * i))
	}
	return &seededReader{rand.NewChaCha8(s)}
}

func (s *seededReader) Read(b []byte) (int, error) { return s.r.Read(b) }

var jobCounter sync.Mutex
var jobSeq int

func nextJob() string {
	jobCounter.Lock()
	defer jobCounter.Unlock()
	jobSeq++
	return fmt.Sprintf("job-%d", jobSeq)
}

// runParties runs fn for each of n parties over a fresh in-memory network and
// returns their results; it fails the test on any error.
func runParties[T any](t *testing.T, n int, fn func(ctx context.Context, p *Party) (T, error)) []T {
	t.Helper()
	res, errs := runPartiesCfg(t, transport.NewMemoryNetwork(), n, func(i int) Config { return Config{Security: SemiHonest, Rand: newSeeded(uint64(1000*n + i))} }, fn)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	return res
}

func runPartiesCfg[T any](t testing.TB, nw transport.Network, n int, cfg func(i int) Config, fn func(ctx context.Context, p *Party) (T, error)) ([]T, []error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	job := nextJob()
	res := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn, err := nw.Open(ctx, job, transport.PartyID(i), n)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close()
			p, err := NewParty(ctx, conn, cfg(i))
			if err != nil {
				errs[i] = err
				return
			}
			res[i], errs[i] = fn(ctx, p)
		}(i)
	}
	wg.Wait()
	return res, errs
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
