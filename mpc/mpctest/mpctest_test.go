package mpctest_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

func TestRunExchangesAndClosesConns(t *testing.T) {
	const n = 4
	var conns [n]transport.Conn
	sums := mpctest.MustRun(t, n, func(ctx context.Context, c transport.Conn) (int, error) {
		conns[c.Self()] = c
		if err := transport.Broadcast(ctx, c, 1, []byte{byte(c.Self())}); err != nil {
			return 0, err
		}
		in, err := transport.RecvAll(ctx, c, 1)
		if err != nil {
			return 0, err
		}
		sum := int(c.Self())
		for _, m := range in {
			if m != nil {
				sum += int(m[0])
			}
		}
		return sum, nil
	})
	for i, s := range sums {
		if s != 0+1+2+3 {
			t.Fatalf("party %d: sum %d", i, s)
		}
	}
	for i, c := range conns {
		if err := c.Send(context.Background(), transport.PartyID((i+1)%n), 2, nil); !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("party %d's conn still open after Run: %v", i, err)
		}
	}
}

func TestRunOfflinePartyIsNamedAtTimeout(t *testing.T) {
	start := time.Now()
	_, errs := mpctest.Run(t, 3, func(ctx context.Context, c transport.Conn) (struct{}, error) {
		if err := transport.Broadcast(ctx, c, 1, nil); err != nil {
			return struct{}{}, err
		}
		_, err := transport.RecvAll(ctx, c, 1)
		return struct{}{}, err
	}, mpctest.Online(0, 1), mpctest.Timeout(200*time.Millisecond))
	for _, i := range []int{0, 1} {
		var pe *transport.PartyError
		if !errors.As(errs[i], &pe) || pe.Party != 2 || !errors.Is(errs[i], context.DeadlineExceeded) {
			t.Fatalf("party %d: want the timeout naming offline party 2, got %v", i, errs[i])
		}
	}
	if errs[2] != nil {
		t.Fatalf("offline party has an error: %v", errs[2])
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("Run did not end at its timeout")
	}
}

// closeSpy records that Run closes the wrapped Conn, not the one it wraps.
type closeSpy struct {
	transport.Conn
	closed *bool
}

func (c closeSpy) Close() error { *c.closed = true; return c.Conn.Close() }

func TestRunWrapsAndSharesNetwork(t *testing.T) {
	nw := transport.NewMemoryNetwork()
	var closed [2]bool
	wrap := mpctest.Wrap(func(i int, c transport.Conn) transport.Conn { return closeSpy{c, &closed[i]} })
	for range 2 { // two runs on one network get distinct job IDs
		mpctest.MustRun(t, 2, func(ctx context.Context, c transport.Conn) (struct{}, error) {
			if _, ok := c.(closeSpy); !ok {
				return struct{}{}, fmt.Errorf("party %d got an unwrapped conn", c.Self())
			}
			if err := transport.Broadcast(ctx, c, 1, nil); err != nil {
				return struct{}{}, err
			}
			_, err := transport.RecvAll(ctx, c, 1)
			return struct{}{}, err
		}, mpctest.Network(nw), wrap)
	}
	if !closed[0] || !closed[1] {
		t.Fatalf("wrapped conns closed: %v", closed)
	}
	conns := mpctest.Open(t, 3, mpctest.Network(nw), mpctest.Online(0, 2))
	if conns[1] != nil || conns[0].Self() != 0 || conns[2].Parties() != 3 {
		t.Fatal("Open: wrong conns")
	}
	// Each runs on the open Conns, skipping the offline party, and leaves
	// them open.
	got, errs := mpctest.Each(t.Context(), conns, func(ctx context.Context, c transport.Conn) (transport.PartyID, error) {
		other := 2 - c.Self()
		if err := c.Send(ctx, other, 1, nil); err != nil {
			return 0, err
		}
		_, err := c.Recv(ctx, other, 1)
		return c.Self(), err
	})
	if errs[0] != nil || errs[2] != nil || got[0] != 0 || got[2] != 2 || got[1] != 0 {
		t.Fatalf("Each: %v, %v", got, errs)
	}
	if err := conns[0].Send(t.Context(), 2, 2, nil); err != nil {
		t.Fatalf("Each closed a conn: %v", err)
	}
}

func TestStreamsAreNamedAndReproducible(t *testing.T) {
	read := func(s *mpctest.Stream) []byte {
		b := make([]byte, 64)
		if _, err := s.Read(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, again, other := read(mpctest.Rand(t, "a")), read(mpctest.Rand(t, "a")), read(mpctest.Rand(t, "b"))
	if !bytes.Equal(a, again) {
		t.Fatal("the same name gave different bytes in one test")
	}
	if bytes.Equal(a, other) {
		t.Fatal("different names gave the same bytes")
	}
	seed := mpctest.Seed(t)
	if !bytes.Equal(read(mpctest.NewStream(seed, "a")), a) {
		t.Fatal("Rand is not NewStream of the test's seed")
	}
	if bytes.Equal(read(mpctest.NewStream(seed+1, "a")), a) {
		t.Fatal("the seed does not key the stream")
	}
	if s := mpctest.Rand(t, "ints"); s.Uint64() == s.Uint64() {
		t.Fatal("the *rand.Rand view repeats itself")
	}
	replaying := os.Getenv(mpctest.SeedEnv) != "" || flag.Lookup("mpctest.seed").Value.String() != ""
	t.Run("sub", func(t *testing.T) {
		if !replaying && mpctest.Seed(t) == seed {
			t.Fatal("a subtest has its parent's seed")
		}
	})
}
