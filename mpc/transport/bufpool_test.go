package transport

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// A recycled buffer always holds what its class promises: class c serves
// any n ≤ 2^c + classSlack, whatever capacity the buffer came in with.
func TestBufPoolClasses(t *testing.T) {
	var bp bufPool
	for _, n := range []int{1, 100, 1 << minPoolClass, 1<<minPoolClass + 1, 70000, 1 << 20, 3 << 20, MaxMessageBytes} {
		b := bp.get(n)
		if len(b) != n || cap(b) < n {
			t.Fatalf("get(%d): len %d cap %d", n, len(b), cap(b))
		}
		if c := ceilClass(n); c >= minPoolClass && c <= maxPoolClass && (n > classCap(c) || c > minPoolClass && n <= classCap(c-1)) {
			t.Fatalf("n = %d in class %d of capacity %d", n, c, classCap(c))
		}
	}
	// A header on a power-of-two body stays in the body's class (ss
	// streams 2^19-byte vectors behind a 4-byte header).
	if c := ceilClass(1<<19 + 4); c != 19 {
		t.Fatalf("2^19 + 4 bytes in class %d, want 19", c)
	}
	if b := bp.get(1<<19 + 4); cap(b) > 1<<19+classSlack {
		t.Fatalf("2^19 + 4 bytes in a buffer of %d", cap(b))
	}
	// A buffer of odd capacity (grown while reading) files under the
	// largest class it fully covers.
	for _, c := range []int{5000, 1 << 16, 1<<16 + 1, 1<<16 + classSlack, 1<<17 - 1, 1<<17 + classSlack - 1} {
		bp.put(make([]byte, 10, c))
		for k := minPoolClass; k <= maxPoolClass; k++ {
			if b := bp.tryGet(k); b != nil {
				if cap(b) < classCap(k) || len(b) != cap(b) {
					t.Fatalf("class %d returned len %d cap %d (put with cap %d)", k, len(b), cap(b), c)
				}
			}
		}
	}
	if b := bp.tryGet(minPoolClass - 1); b != nil {
		t.Fatalf("tryGet below the smallest class returned %d bytes", len(b))
	}
}

// Buffers handed over by SendOwned and given back by Release are reused
// across many messages, and no message is ever overwritten by a later one:
// every payload the receiver reads still holds its own pattern.
func TestP2PSendOwnedAndReleaseKeepMessagesIntact(t *testing.T) {
	nws := p2pNets(t, newHosts(t, 2, "/ip4/127.0.0.1/tcp/0"))
	conns := openP2P(t, nws, "owned")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	send, recv := conns[0].(Buffers), conns[1].(Buffers)
	const rounds, size = 300, 3 << 14
	errc := make(chan error, 1)
	go func() {
		for r := Round(1); r <= rounds; r++ {
			b := send.Alloc(size)
			copy(b, msg(0, 1, r, size))
			if err := send.SendOwned(ctx, 1, r, b); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	// Receive out of order in pairs, so that a buffer released after one
	// message may already be refilled while another one is still held.
	for r := Round(1); r+1 <= rounds; r += 2 {
		second, err := conns[1].Recv(ctx, 0, r+1)
		if err != nil {
			t.Fatal(err)
		}
		first, err := conns[1].Recv(ctx, 0, r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, msg(0, 1, r, size)) || !bytes.Equal(second, msg(0, 1, r+1, size)) {
			t.Fatalf("round %d or %d: payload overwritten", r, r+1)
		}
		recv.Release(first)
		recv.Release(second)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
