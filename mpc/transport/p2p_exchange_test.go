package transport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

// committeeOf is the Network of a committee whose party i runs nws[i].
func committeeOf(nws []*transport.P2PNetwork) mpctest.Option {
	each := make([]transport.Network, len(nws))
	for i, nw := range nws {
		each[i] = nw
	}
	return mpctest.Network(mpctest.PerParty(each...))
}

// exchange runs rounds on open conns in which every party sends a distinct
// message to every other party and checks what each receives.
func exchange(t *testing.T, conns []transport.Conn, rounds []transport.Round, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	n := len(conns)
	_, errs := mpctest.Each(ctx, conns, func(ctx context.Context, c transport.Conn) (struct{}, error) {
		i := int(c.Self())
		for _, r := range rounds {
			out := make([][]byte, n)
			for j := range out {
				out[j] = transport.Msg(i, j, r, size)
			}
			if err := transport.SendAll(ctx, c, r, out); err != nil {
				return struct{}{}, err
			}
			in, err := transport.RecvAll(ctx, c, r)
			if err != nil {
				return struct{}{}, err
			}
			for j, m := range in {
				if j != i && !bytes.Equal(m, transport.Msg(j, i, r, size)) {
					return struct{}{}, fmt.Errorf("round %d: wrong message from %d", r, j)
				}
			}
		}
		return struct{}{}, nil
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
}

func TestP2PThreePartiesExchangeOverTCPAndQUIC(t *testing.T) {
	for _, listen := range []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"} {
		t.Run(listen, func(t *testing.T) {
			com := committeeOf(transport.P2PNets(t, transport.NewHosts(t, 3, listen)))
			conns := mpctest.Open(t, 3, com)
			exchange(t, conns, []transport.Round{1, 2, 3}, 1000)
			// Empty and large (multi-chunk) messages in a second, concurrent job.
			conns2 := mpctest.Open(t, 3, com)
			exchange(t, conns2, []transport.Round{1}, 0)
			exchange(t, conns2, []transport.Round{2}, 3<<20)
		})
	}
}

// TestP2PSendQueueAccounting sends far more than the send-queue bound over
// many rounds: the bound must throttle, never wedge, the sender.
func TestP2PSendQueueAccounting(t *testing.T) {
	nws := transport.P2PNets(t, transport.NewHosts(t, 2, "/ip4/127.0.0.1/tcp/0"), transport.WithSendQueue(8<<10))
	conns := mpctest.Open(t, 2, committeeOf(nws))
	rounds := make([]transport.Round, 64)
	for i := range rounds {
		rounds[i] = transport.Round(i + 1)
	}
	exchange(t, conns, rounds, 3<<10)
	exchange(t, conns, []transport.Round{100}, 64<<10) // one message larger than the whole bound
}

func TestP2PDeadPeerFailsPendingRecv(t *testing.T) {
	hs := transport.NewHosts(t, 3, "/ip4/127.0.0.1/tcp/0")
	nws := transport.P2PNets(t, hs)
	conns := mpctest.Open(t, 3, committeeOf(nws))
	exchange(t, conns, []transport.Round{1}, 100) // streams are up in every direction

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := conns[0].Recv(ctx, 2, 2)
		done <- err
	}()
	if err := transport.WaitRecvPending(ctx, conns[0], 2, 2); err != nil {
		t.Fatal(err)
	}
	hs[2].Close() // the node dies: no leave frame, its connections drop
	select {
	case err := <-done:
		var pe *transport.PartyError
		if !errors.As(err, &pe) || pe.Party != 2 || !errors.Is(err, transport.ErrPeerGone) {
			t.Fatalf("want PartyError naming party 2 with ErrPeerGone, got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Recv from a dead peer hung until the deadline")
	}
	// Sending to it fails too, naming it; the surviving pair keeps working.
	if err := conns[0].Send(ctx, 2, 3, []byte("x")); err == nil {
		t.Fatal("send to a dead peer succeeded")
	}
	survivors := make([]transport.Conn, 2)
	for i := range survivors {
		c, err := nws[i].OpenCommittee(ctx, "after-crash", transport.IDs(hs[:2]))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		survivors[i] = c
	}
	exchange(t, survivors, []transport.Round{1}, 100)
}

func TestP2PCloseStopsEverything(t *testing.T) {
	nws := transport.P2PNets(t, transport.NewHosts(t, 2, "/ip4/127.0.0.1/tcp/0"))
	conns := mpctest.Open(t, 2, committeeOf(nws))
	exchange(t, conns, []transport.Round{1}, 10)
	done := make(chan error, 1)
	go func() {
		_, err := conns[0].Recv(context.Background(), 1, 2)
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := transport.WaitRecvPending(ctx, conns[0], 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := nws[0].Close(); err != nil { // returns only after its goroutines exit
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("pending Recv after network Close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("pending Recv did not return after Close")
	}
	// The peer learns that this node went away.
	_, err := conns[1].Recv(ctx, 0, 2)
	var pe *transport.PartyError
	if !errors.As(err, &pe) || pe.Party != 0 || !errors.Is(err, transport.ErrPeerGone) {
		t.Fatalf("peer of a closed network: %v", err)
	}
}
