package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cohortnet/cohort/mpc/mpctest/fakeclock"
)

// newHosts starts n libp2p hosts on loopback that know each other's
// addresses. Member gating is node/p2p's concern and tested there; these
// hosts admit anyone so that the tests can also play a rogue peer.
func newHosts(t testing.TB, n int, listen string, extra ...libp2p.Option) []host.Host {
	t.Helper()
	hs := make([]host.Host, n)
	for i := range hs {
		// Transports as node/p2p configures them: TCP without port reuse
		// (see there why) and QUIC.
		opts := append([]libp2p.Option{libp2p.ListenAddrStrings(listen), libp2p.DisableMetrics(), libp2p.DisableRelay(),
			libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()), libp2p.Transport(quic.NewTransport)}, extra...)
		h, err := libp2p.New(opts...)
		if err != nil {
			t.Fatalf("start host %d: %v", i, err)
		}
		t.Cleanup(func() { h.Close() })
		hs[i] = h
	}
	for _, a := range hs {
		for _, b := range hs {
			if a != b {
				a.Peerstore().AddAddrs(b.ID(), b.Addrs(), peerstore.PermanentAddrTTL)
			}
		}
	}
	return hs
}

func ids(hs []host.Host) []peer.ID {
	out := make([]peer.ID, len(hs))
	for i, h := range hs {
		out[i] = h.ID()
	}
	return out
}

// waitEarly waits until nw's early buffer for job satisfies cond.
func waitEarly(t *testing.T, ctx context.Context, nw *P2PNetwork, job string, cond func(*earlyJob) bool) {
	t.Helper()
	err := waitUntil(ctx, "the early buffer of job "+job, func() bool {
		nw.mu.Lock()
		defer nw.mu.Unlock()
		e := nw.early[job]
		return e != nil && cond(e)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitCounter waits until a metric counter reaches want.
func waitCounter(t *testing.T, ctx context.Context, c prometheus.Counter, want float64) {
	t.Helper()
	if err := waitUntil(ctx, "a counter", func() bool { return testutil.ToFloat64(c) >= want }); err != nil {
		t.Fatal(err)
	}
}

// p2pNets attaches a P2PNetwork to every host; the committee of every job is
// all hosts in order.
func p2pNets(t testing.TB, hs []host.Host, opts ...P2POption) []*P2PNetwork {
	t.Helper()
	committee := ids(hs)
	resolver := WithCommitteeResolver(func(context.Context, string) ([]peer.ID, error) { return committee, nil })
	nws := make([]*P2PNetwork, len(hs))
	for i, h := range hs {
		nws[i] = NewP2PNetwork(h, append([]P2POption{resolver}, opts...)...)
		t.Cleanup(func() { nws[i].Close() })
	}
	return nws
}

func openP2P(t testing.TB, nws []*P2PNetwork, job string) []Conn {
	t.Helper()
	conns := make([]Conn, len(nws))
	for i, nw := range nws {
		c, err := nw.Open(context.Background(), job, PartyID(i), len(nws))
		if err != nil {
			t.Fatalf("open party %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}

func msg(from, to int, r Round, size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(from*31 + to*7 + int(r) + i)
	}
	return p
}

// Five parties join two concurrent jobs one after the other, in a different
// order per job, and run many rounds; early buffering, stream set-up races
// and job multiplexing on one stream per peer all get exercised (best under
// -race). A party joins only once the previous one in its job's order has
// sent its first round, so every job has messages sent to parties that have
// not opened it yet, whatever the machine's load.
func TestP2PStaggeredJoinsManyRounds(t *testing.T) {
	const n = 5
	nws := p2pNets(t, newHosts(t, n, "/ip4/127.0.0.1/tcp/0"))
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	jobs := []string{"stagger-a", "stagger-b"}
	orders := [][]int{{3, 0, 4, 1, 2}, {1, 4, 2, 0, 3}}
	errs := make([]error, n*len(jobs))
	var wg sync.WaitGroup
	for ji, job := range jobs {
		// turn[k] is closed when the party at position k of the order may join.
		turn := make([]chan struct{}, n+1)
		for k := range turn {
			turn[k] = make(chan struct{})
		}
		close(turn[0])
		for pos, i := range orders[ji] {
			wg.Go(func() {
				err := func() error {
					select {
					case <-turn[pos]:
					case <-ctx.Done():
						return ctx.Err()
					}
					c, err := nws[i].Open(ctx, job, PartyID(i), n)
					if err != nil {
						close(turn[pos+1]) // let the rest fail on their own
						return err
					}
					defer c.Close()
					for r := Round(1); r <= 30; r++ {
						out := make([][]byte, n)
						for j := range out {
							out[j] = msg(i, j, r+Round(ji)*1000, 2000+int(r)*10)
						}
						err := SendAll(ctx, c, r, out)
						if r == 1 {
							close(turn[pos+1])
						}
						if err != nil {
							return err
						}
						in, err := RecvAll(ctx, c, r)
						if err != nil {
							return err
						}
						for j, m := range in {
							if j != i && !bytes.Equal(m, msg(j, i, r+Round(ji)*1000, 2000+int(r)*10)) {
								return fmt.Errorf("round %d: wrong message from %d", r, j)
							}
						}
					}
					// Do not leave before everyone has read our last round: a
					// final barrier round whose messages are read by all.
					if err := Broadcast(ctx, c, 999, nil); err != nil {
						return err
					}
					_, err = RecvAll(ctx, c, 999)
					return err
				}()
				errs[ji*n+i] = err
			})
		}
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("job %s party %d: %v", jobs[k/n], k%n, err)
		}
	}
}

func TestP2PMetrics(t *testing.T) {
	nws := p2pNets(t, newHosts(t, 2, "/ip4/127.0.0.1/tcp/0"))
	reg := prometheus.NewRegistry()
	if err := reg.Register(nws[1]); err != nil {
		t.Fatal(err)
	}
	conns := openP2P(t, nws, "metrics")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for r := Round(1); r <= 2; r++ { // each party sends the other one message per round
		for i, c := range conns {
			if err := c.Send(ctx, PartyID(1-i), r, msg(i, 1-i, r, 1000)); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range conns {
			if m, err := c.Recv(ctx, PartyID(1-i), r); err != nil || !bytes.Equal(m, msg(1-i, i, r, 1000)) {
				t.Fatalf("party %d round %d: %v", i, r, err)
			}
		}
	}
	gather := func() map[string]float64 {
		values := map[string]float64{}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				values[mf.GetName()] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		return values
	}
	// The writer counts a batch just after flushing it, which may be after
	// the peer has already read it.
	waitCounter(t, ctx, nws[1].m.sentFrames, 2)
	values := gather()
	frame := float64(frameHeaderBytes("metrics") + 1000)
	for name, want := range map[string]float64{
		"cohort_mpc_sent_frames_total":     2,
		"cohort_mpc_received_frames_total": 2,
		"cohort_mpc_sent_bytes_total":      2 * frame,
		"cohort_mpc_received_bytes_total":  2 * frame,
		"cohort_mpc_open_jobs":             1,
	} {
		if values[name] != want {
			t.Errorf("%s = %v, want %v", name, values[name], want)
		}
	}
}

func TestP2PBuffersMessagesForJobsNotYetOpened(t *testing.T) {
	hs := newHosts(t, 3, "/ip4/127.0.0.1/tcp/0")
	nws := p2pNets(t, hs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c0, err := nws[0].Open(ctx, "late", 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Party 0 sends and leaves before party 2 has even joined.
	if err := Broadcast(ctx, c0, 5, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c0.Close(); err != nil {
		t.Fatal(err)
	}
	// Both frames (the message, then the leave) are in party 2's early buffer.
	waitEarly(t, ctx, nws[2], "late", func(e *earlyJob) bool { return len(e.msgs) == 1 && hasKey(e.gone, hs[0].ID()) })
	c2, err := nws[2].Open(ctx, "late", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got, err := c2.Recv(ctx, 0, 5)
	if err != nil || string(got) != "hello" {
		t.Fatalf("early message: %q, %v", got, err)
	}
	// Then the leave that followed it: party 0 is reported gone, not awaited.
	_, err = c2.Recv(ctx, 0, 6)
	var pe *PartyError
	if !errors.As(err, &pe) || pe.Party != 0 || !errors.Is(err, ErrClosed) {
		t.Fatalf("want PartyError naming party 0 that left, got %v", err)
	}
}

func TestP2PEarlyBufferIsBounded(t *testing.T) {
	hs := newHosts(t, 2, "/ip4/127.0.0.1/tcp/0")
	nws := p2pNets(t, hs, WithEarlyBuffer(1000, 1, time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := nws[0].Open(ctx, "big", 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	other, err := nws[0].Open(ctx, "other", 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := a.Send(ctx, 1, 1, make([]byte, 600)); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, 1, 2, make([]byte, 600)); err != nil { // exceeds 1000 bytes
		t.Fatal(err)
	}
	if err := other.Send(ctx, 1, 1, []byte("x")); err != nil { // second unopened job: over quota, dropped
		t.Fatal(err)
	}
	// The three frames share one stream, read in order: once the third is
	// dropped, the first two have been buffered or refused.
	waitCounter(t, ctx, nws[1].m.dropped.WithLabelValues("early_jobs_quota"), 1)
	b, err := nws[1].Open(ctx, "big", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if m, err := b.Recv(ctx, 0, 1); err != nil || len(m) != 600 {
		t.Fatalf("first message within bounds: %d bytes, %v", len(m), err)
	}
	_, err = b.Recv(ctx, 0, 2)
	var pe *PartyError
	if !errors.As(err, &pe) || pe.Party != 0 || !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("overflowing sender must be reported, got %v", err)
	}
	b2, err := nws[1].Open(ctx, "other", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if _, err := b2.Recv(short, 0, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("message beyond the job quota should have been dropped, got %v", err)
	}
}

// A peer flooding empty messages for rounds nobody reads is bounded by
// message count, not only by bytes.
func TestP2PMailboxBoundsMessageCount(t *testing.T) {
	nws := p2pNets(t, newHosts(t, 2, "/ip4/127.0.0.1/tcp/0"), WithMailboxLimits(1<<20, 10))
	conns := openP2P(t, nws, "flood")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for r := range Round(10) {
		if err := conns[0].Send(ctx, 1, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Reading frees room: received messages no longer count.
	if _, err := conns[1].Recv(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	for r := Round(10); r < 12; r++ {
		if err := conns[0].Send(ctx, 1, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the receiver has processed all 12 frames (10 unread and the
	// sender failed) before reading any further.
	job := conns[1].(*p2pConn).job
	err := waitUntil(ctx, "10 unread messages and a failed sender", func() bool {
		job.mu.Lock()
		defer job.mu.Unlock()
		return job.unread[0] == 10 && job.sendErr[0] != nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for r := Round(1); r < 11; r++ {
		if _, err := conns[1].Recv(ctx, 0, r); err != nil {
			t.Fatalf("round %d within bound: %v", r, err)
		}
	}
	_, err = conns[1].Recv(ctx, 0, 11)
	var pe *PartyError
	if !errors.As(err, &pe) || pe.Party != 0 || !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("11th unread message must fail its sender, got %v", err)
	}
}

func TestP2PEarlyBufferTotalIsBounded(t *testing.T) {
	nws := p2pNets(t, newHosts(t, 3, "/ip4/127.0.0.1/tcp/0"), WithEarlyBufferTotal(1000))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 { // parties 0 and 1 each send 600 bytes before party 2 joins
		c, err := nws[i].Open(ctx, "total", PartyID(i), 3)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Send(ctx, 2, 1, make([]byte, 600)); err != nil {
			t.Fatal(err)
		}
	}
	waitEarly(t, ctx, nws[2], "total", func(e *earlyJob) bool { return len(e.msgs)+len(e.gone) == 2 })
	c2, err := nws[2].Open(ctx, "total", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	var delivered, refused int
	for from := range PartyID(2) {
		_, err := c2.Recv(ctx, from, 1)
		switch {
		case err == nil:
			delivered++
		case errors.Is(err, ErrMailboxFull):
			refused++
		default:
			t.Fatalf("party %d: %v", from, err)
		}
	}
	if delivered != 1 || refused != 1 {
		t.Fatalf("%d delivered, %d refused; want 1 and 1 under a 1000-byte total", delivered, refused)
	}
}

// Messages for a job never opened are dropped by the janitor once older
// than the early TTL, and not before. The receiver's clock is fake: the
// test fires each janitor sweep itself, at known times.
func TestP2PEarlyMessagesExpire(t *testing.T) {
	const ttl = 100 * time.Millisecond
	hs := newHosts(t, 2, "/ip4/127.0.0.1/tcp/0")
	clk := fakeclock.New(time.Unix(1_000_000, 0))
	sender := p2pNets(t, hs[:1])[0]
	nw := p2pNets(t, hs[1:], WithEarlyBuffer(1<<20, 4, ttl), WithClock(clk))[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := sender.OpenCommittee(ctx, "stale", ids(hs))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Send(ctx, 1, 1, []byte("too early")); err != nil {
		t.Fatal(err)
	}
	waitEarly(t, ctx, nw, "stale", func(e *earlyJob) bool { return len(e.msgs) == 1 })
	left := func() int {
		nw.mu.Lock()
		defer nw.mu.Unlock()
		return len(nw.early) + len(nw.earlyUse) + nw.earlySum
	}
	// The janitor is the only timer of a network with no job open. Each
	// step fires it once and waits until it has swept and re-armed, so
	// sweep k runs at exactly k periods after the message arrived.
	if err := clk.WaitPending(ctx, 1); err != nil {
		t.Fatal(err)
	}
	period := clk.Remaining()[0]
	if period != ttl/4 {
		t.Fatalf("janitor period %v, want %v", period, ttl/4)
	}
	for k := 1; k <= 5; k++ {
		clk.Advance(period)
		if err := clk.WaitPending(ctx, 1); err != nil {
			t.Fatal(err)
		}
		switch expired := time.Duration(k)*period > ttl; {
		case !expired && left() == 0:
			t.Fatalf("sweep at %v dropped a message younger than the TTL %v", time.Duration(k)*period, ttl)
		case expired && left() != 0:
			t.Fatalf("sweep at %v left %d early-buffer entries older than the TTL", time.Duration(k)*period, left())
		}
	}
	if got := testutil.ToFloat64(nw.m.dropped.WithLabelValues("early_expired")); got != 1 {
		t.Fatalf("early_expired = %v, want 1", got)
	}
	b, err := nw.OpenCommittee(ctx, "stale", ids(hs))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if _, err := b.Recv(short, 0, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired message delivered or wrong error: %v", err)
	}
}

func TestP2PSilentPartyNamedAtDeadline(t *testing.T) {
	nws := p2pNets(t, newHosts(t, 3, "/ip4/127.0.0.1/tcp/0"))
	conns := openP2P(t, nws, "silent")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Broadcast(ctx, conns[1], 7, []byte("x")); err != nil {
		t.Fatal(err)
	}
	// Party 1's message has arrived, however slow the machine: the short
	// deadline below can only be missed by party 2.
	if err := WaitDelivered(ctx, conns[0], 1, 7); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	_, err := RecvAll(short, conns[0], 7) // party 2 never sends
	var pe *PartyError
	if !errors.As(err, &pe) || pe.Party != 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want PartyError naming party 2 with deadline, got %v", err)
	}
}

// A committee member that never opened an MPC stream (it never sent
// anything) is still reported as soon as its connection drops.
func TestP2PDisconnectOfSilentPeerFailsRecv(t *testing.T) {
	hs := newHosts(t, 2, "/ip4/127.0.0.1/tcp/0")
	nw := NewP2PNetwork(hs[0]) // hs[1] runs no MPC protocol at all
	defer nw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs[0].Connect(ctx, peer.AddrInfo{ID: hs[1].ID()}); err != nil {
		t.Fatal(err)
	}
	c, err := nw.OpenCommittee(ctx, "quiet", ids(hs))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Recv(ctx, 1, 1)
		done <- err
	}()
	if err := WaitRecvPending(ctx, c, 1, 1); err != nil {
		t.Fatal(err)
	}
	hs[1].Close()
	select {
	case err := <-done:
		var pe *PartyError
		if !errors.As(err, &pe) || pe.Party != 1 || !errors.Is(err, ErrPeerGone) {
			t.Fatalf("want PartyError naming party 1 with ErrPeerGone, got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Recv from a disconnected peer hung until the deadline")
	}
}

// waitRedial waits until the link's writer is asleep in its redial backoff
// (the janitor, the dial timeout and the backoff are armed) and returns
// the backoff's duration: the shortest timer left.
func waitRedial(t *testing.T, ctx context.Context, clk *fakeclock.Clock) time.Duration {
	t.Helper()
	if err := clk.WaitPending(ctx, 3); err != nil {
		t.Fatal(err)
	}
	return clk.Remaining()[0]
}

// A peer whose node has not started its MPC protocol yet is redialled on a
// doubling backoff, and reached once it serves the protocol. The sender's
// clock is fake: the test sees each backoff armed and fires it itself.
func TestP2PRedialsUntilPeerServes(t *testing.T) {
	hs := newHosts(t, 2, "/ip4/127.0.0.1/tcp/0")
	clk := fakeclock.New(time.Unix(1_000_000, 0))
	nw := NewP2PNetwork(hs[0], WithClock(clk))
	defer nw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := nw.OpenCommittee(ctx, "redial", ids(hs))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Send(ctx, 1, 1, []byte("hello")); err != nil {
		t.Fatal(err) // queued while the writer dials
	}
	for _, want := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond} {
		if got := waitRedial(t, ctx, clk); got != want {
			t.Fatalf("redial backoff %v, want %v", got, want)
		}
		clk.Advance(want) // the next attempt fails too: nobody serves the protocol
	}
	if got := waitRedial(t, ctx, clk); got != 200*time.Millisecond {
		t.Fatalf("redial backoff %v, want 200ms", got)
	}
	// The peer's node starts; the next attempt, and only it, reaches it.
	b := NewP2PNetwork(hs[1])
	defer b.Close()
	cb, err := b.OpenCommittee(ctx, "redial", ids(hs))
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	clk.Advance(200 * time.Millisecond)
	if m, err := cb.Recv(ctx, 0, 1); err != nil || string(m) != "hello" {
		t.Fatalf("message queued while redialling: %q, %v", m, err)
	}
}

// A peer that never serves the protocol is declared gone at the dial
// timeout, on the network's clock.
func TestP2PDialTimeoutFailsUnreachablePeer(t *testing.T) {
	hs := newHosts(t, 2, "/ip4/127.0.0.1/tcp/0")
	clk := fakeclock.New(time.Unix(1_000_000, 0))
	const dial = 15 * time.Second
	nw := NewP2PNetwork(hs[0], WithClock(clk), WithTimeouts(dial, 0))
	defer nw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := nw.OpenCommittee(ctx, "never", ids(hs))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	waitRedial(t, ctx, clk)
	if rem := clk.Remaining(); rem[len(rem)-1] != DefaultEarlyTTL/4 || rem[len(rem)-2] != dial {
		t.Fatalf("timers %v: want the dial timeout %v and the janitor's %v", rem, dial, DefaultEarlyTTL/4)
	}
	clk.Advance(dial - time.Millisecond)
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := a.Recv(short, 1, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("before the dial timeout: %v, want only the Recv's own deadline", err)
	}
	clk.Advance(time.Millisecond)
	_, err = a.Recv(ctx, 1, 1)
	var pe *PartyError
	if !errors.As(err, &pe) || pe.Party != 1 || !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "dial timeout") {
		t.Fatalf("want PartyError naming party 1 gone at the dial timeout, got %v", err)
	}
}

// A peer whose process is alive but stops reading its MPC stream is declared
// gone once a frame has waited the write timeout, instead of wedging the
// sender forever.
func TestP2PStalledReaderIsDeclaredGone(t *testing.T) {
	hs := newHosts(t, 2, "/ip4/127.0.0.1/tcp/0")
	stall := make(chan struct{})
	defer close(stall)
	hs[1].SetStreamHandler(ProtocolID, func(s network.Stream) { <-stall; s.Reset() })
	nw := NewP2PNetwork(hs[0], WithTimeouts(5*time.Second, 300*time.Millisecond))
	defer nw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := nw.OpenCommittee(ctx, "stall", ids(hs))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// More than yamux's largest receive window (16 MiB), so the writer blocks.
	if err := c.Send(ctx, 1, 1, make([]byte, 40<<20)); err != nil {
		t.Fatal(err)
	}
	_, err = c.Recv(ctx, 1, 1)
	var pe *PartyError
	if !errors.As(err, &pe) || pe.Party != 1 || !errors.Is(err, ErrPeerGone) {
		t.Fatalf("want PartyError naming the stalled party 1, got %v", err)
	}
	if err := c.Send(ctx, 1, 2, []byte("x")); !errors.As(err, &pe) || pe.Party != 1 {
		t.Fatalf("send after the peer was declared gone: %v", err)
	}
}

func TestP2PCloseTellsPeersAfterDeliveringItsMessages(t *testing.T) {
	nws := p2pNets(t, newHosts(t, 2, "/ip4/127.0.0.1/tcp/0"))
	conns := openP2P(t, nws, "bye")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conns[1].Send(ctx, 0, 1, []byte("last words")); err != nil {
		t.Fatal(err)
	}
	conns[1].Close()
	if m, err := conns[0].Recv(ctx, 1, 1); err != nil || string(m) != "last words" {
		t.Fatalf("message sent before Close: %q, %v", m, err)
	}
	_, err := conns[0].Recv(ctx, 1, 2)
	var pe *PartyError
	if !errors.As(err, &pe) || pe.Party != 1 || !errors.Is(err, ErrClosed) {
		t.Fatalf("want PartyError: party 1 left, got %v", err)
	}
	if err := conns[0].Send(ctx, 1, 3, nil); !errors.As(err, &pe) || pe.Party != 1 {
		t.Fatalf("send to a party that left: %v", err)
	}
}

func TestP2POpenValidatesCommittee(t *testing.T) {
	hs := newHosts(t, 3, "/ip4/127.0.0.1/tcp/0")
	nw := NewP2PNetwork(hs[0])
	defer nw.Close()
	ctx := context.Background()
	all := ids(hs)
	for name, tc := range map[string]struct {
		job       string
		committee []peer.ID
	}{
		"self missing": {"j", all[1:]},
		"duplicate":    {"j", []peer.ID{all[0], all[1], all[1]}},
		"invalid id":   {"j", []peer.ID{all[0], ""}},
		"empty job":    {"", all},
		"long job":     {string(make([]byte, MaxJobIDBytes+1)), all},
	} {
		if _, err := nw.OpenCommittee(ctx, tc.job, tc.committee); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := nw.Open(ctx, "j", 0, 3); err == nil {
		t.Error("Open without a resolver accepted")
	}
	c, err := nw.OpenCommittee(ctx, "j", all)
	if err != nil {
		t.Fatal(err)
	}
	if c.Self() != 0 || c.Parties() != 3 {
		t.Fatalf("self %d of %d", c.Self(), c.Parties())
	}
	if _, err := nw.OpenCommittee(ctx, "j", all); err == nil {
		t.Error("job opened twice")
	}
	if err := c.Send(ctx, 1, 1, make([]byte, MaxMessageBytes+1)); err == nil {
		t.Error("oversized message accepted")
	}
	if err := c.Send(ctx, 0, 1, nil); err == nil {
		t.Error("send to self accepted")
	}
	c.Close()
	if _, err := nw.OpenCommittee(ctx, "j", all); err == nil {
		t.Error("closed job reopened under the same ID")
	}
	if err := c.Send(ctx, 1, 1, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("send on closed conn: %v", err)
	}

	wrongSelf := NewP2PNetwork(hs[1], WithCommitteeResolver(func(context.Context, string) ([]peer.ID, error) { return all, nil }))
	defer wrongSelf.Close()
	if _, err := wrongSelf.Open(ctx, "k", 0, 3); err == nil {
		t.Error("Open as a party index that is another peer accepted")
	}
	if _, err := wrongSelf.Open(ctx, "k", 1, 2); err == nil {
		t.Error("Open with the wrong committee size accepted")
	}
}

// rawStream opens a /cohort/mpc/1 stream from h to p, bypassing P2PNetwork,
// so a test can write arbitrary bytes as a rogue or buggy peer.
func rawStream(t *testing.T, h host.Host, p peer.ID) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.NewStream(ctx, p, ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestP2PSenderIsTheAuthenticatedPeer(t *testing.T) {
	hs := newHosts(t, 3, "/ip4/127.0.0.1/tcp/0")
	committee := ids(hs[:2]) // host 2 is connected but not in the committee
	a := NewP2PNetwork(hs[0])
	defer a.Close()
	b := NewP2PNetwork(hs[1])
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := a.OpenCommittee(ctx, "auth", committee)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()

	// The outsider writes a well-formed frame for the job's round 1. There is
	// no sender field to forge: it can only speak as itself, and it is not a
	// party, so the frame is dropped.
	s := rawStream(t, hs[2], hs[0].ID())
	w := bufio.NewWriter(s)
	w.Write(appendFrameHeader(nil, frameData, "auth", 1, 6))
	w.Write([]byte("forged"))
	w.Flush()
	defer s.Reset()

	cb, err := b.OpenCommittee(ctx, "auth", committee)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	waitCounter(t, ctx, a.m.dropped.WithLabelValues("not_in_committee"), 1) // the forged frame was read and dropped
	if err := cb.Send(ctx, 0, 1, []byte("genuine")); err != nil {
		t.Fatal(err)
	}
	m, err := ca.Recv(ctx, 1, 1)
	if err != nil || string(m) != "genuine" {
		t.Fatalf("Recv from party 1 = %q, %v", m, err)
	}
}

func TestP2PMalformedFramesFailOnlyTheirSender(t *testing.T) {
	for name, garbage := range map[string][]byte{
		"oversized":  appendFrameHeader(nil, frameData, "bad", 1, MaxMessageBytes+1),
		"unknown":    []byte{9, 0, 3, 'b', 'a', 'd'},
		"empty job":  {frameData, 0, 0},
		"long job":   {frameData, 0xff, 0xff},
		"truncated":  append(appendFrameHeader(nil, frameData, "bad", 1, 100), 1, 2, 3),
		"bad leave":  appendFrameHeader(nil, frameLeave, "bad", 1, 0),
		"duplicated": append(append(appendFrameHeader(nil, frameData, "bad", 1, 1), 'x'), append(appendFrameHeader(nil, frameData, "bad", 1, 1), 'y')...),
	} {
		t.Run(name, func(t *testing.T) {
			hs := newHosts(t, 3, "/ip4/127.0.0.1/tcp/0")
			nws := p2pNets(t, hs)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c0, err := nws[0].Open(ctx, "bad", 0, 3)
			if err != nil {
				t.Fatal(err)
			}
			defer c0.Close()
			conns := []Conn{c0}
			// Party 1 (host 1, no P2PNetwork-level cooperation) sends garbage.
			s := rawStream(t, hs[1], hs[0].ID())
			s.Write(garbage)
			if name == "truncated" {
				s.CloseWrite()
			}
			defer s.Reset()
			_, err = conns[0].Recv(ctx, 1, 1)
			if name == "duplicated" {
				// The first copy is a valid message; the duplicate fails the sender.
				if err != nil {
					t.Fatalf("first copy: %v", err)
				}
				_, err = conns[0].Recv(ctx, 1, 2)
			}
			var pe *PartyError
			if !errors.As(err, &pe) || pe.Party != 1 {
				t.Fatalf("want PartyError naming party 1, got %v", err)
			}
			// Party 2 is unaffected.
			c2, err := nws[2].Open(ctx, "bad", 2, 3)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			if err := c2.Send(ctx, 0, 1, []byte("ok")); err != nil {
				t.Fatal(err)
			}
			if m, err := conns[0].Recv(ctx, 2, 1); err != nil || string(m) != "ok" {
				t.Fatalf("honest party after garbage: %q, %v", m, err)
			}
		})
	}
}

func TestReadFrameRoundTrip(t *testing.T) {
	var wire []byte
	wire = append(appendFrameHeader(wire, frameData, "job", 42, 3), "abc"...)
	wire = appendFrameHeader(wire, frameLeave, "job", 0, 0)
	big := msg(1, 2, 3, eagerPayloadBytes*3+5) // exercises incremental growth
	wire = append(appendFrameHeader(wire, frameData, "j2", 1<<63, len(big)), big...)
	r := bytes.NewReader(wire)
	for i, want := range []frame{
		{frameData, "job", 42, []byte("abc")},
		{frameLeave, "job", 0, nil},
		{frameData, "j2", 1 << 63, big},
	} {
		got, err := readFrame(r, nil)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.kind != want.kind || got.jobID != want.jobID || got.round != want.round || !bytes.Equal(got.payload, want.payload) {
			t.Fatalf("frame %d mismatch", i)
		}
	}
	if _, err := readFrame(r, nil); err != io.EOF {
		t.Fatalf("end of stream: %v, want io.EOF", err)
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame decoder: it must never
// panic or over-allocate, and what it accepts must re-encode to the bytes it
// consumed. Seeds live in testdata/fuzz/FuzzReadFrame.
func FuzzReadFrame(f *testing.F) {
	f.Add(append(appendFrameHeader(nil, frameData, "job", 1, 3), "abc"...))
	f.Add(appendFrameHeader(nil, frameLeave, "job", 0, 0))
	f.Add(appendFrameHeader(nil, frameData, "job", 1, MaxMessageBytes))
	f.Add(appendFrameHeader(nil, frameData, "job", 1, MaxMessageBytes+1))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		fr, err := readFrame(r, nil)
		if err != nil {
			return
		}
		consumed := data[:len(data)-r.Len()]
		again := append(appendFrameHeader(nil, fr.kind, fr.jobID, fr.round, len(fr.payload)), fr.payload...)
		if !bytes.Equal(again, consumed) {
			t.Fatalf("re-encoding differs from the accepted bytes")
		}
		if len(fr.payload) > MaxMessageBytes || len(fr.jobID) > MaxJobIDBytes {
			t.Fatalf("bounds not enforced")
		}
	})
}

// BenchmarkP2PExchange measures one MPC round among 3 parties on loopback:
// every party sends a message of the given size to each of the other two and
// receives theirs. Reported bytes are the payload bytes moved per round by
// all parties (6 messages). Variants: TCP+yamux with TLS 1.3 or Noise, and
// QUIC (TLS 1.3 built in).
func BenchmarkP2PExchange(b *testing.B) {
	variants := []struct {
		name   string
		listen string
		opts   []libp2p.Option
	}{
		{"tcp-tls", "/ip4/127.0.0.1/tcp/0", []libp2p.Option{libp2p.Security(libp2ptls.ID, libp2ptls.New)}},
		{"tcp-noise", "/ip4/127.0.0.1/tcp/0", []libp2p.Option{libp2p.Security(noise.ID, noise.New)}},
		{"quic", "/ip4/127.0.0.1/udp/0/quic-v1", nil},
	}
	for _, v := range variants {
		for _, size := range []int{64 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s/3parties/%dKB", v.name, size>>10), func(b *testing.B) {
				hs := newHosts(b, 3, v.listen, v.opts...)
				benchExchange(b, size, openP2P(b, p2pNets(b, hs), "bench"))
			})
		}
	}
}

// BenchmarkP2PJobSetup measures a whole short job among 3 parties on
// loopback TCP+TLS: open, one round of 64 KiB messages, close. Jobs reuse the
// per-peer streams (and their grown flow-control windows), so this is the
// per-job overhead a stream-per-job design would add stream set-up to.
func BenchmarkP2PJobSetup(b *testing.B) {
	const n, size = 3, 64 << 10
	nws := p2pNets(b, newHosts(b, n, "/ip4/127.0.0.1/tcp/0", libp2p.Security(libp2ptls.ID, libp2ptls.New)))
	payload := msg(0, 0, 0, size)
	ctx := context.Background()
	b.SetBytes(int64(size * n * (n - 1)))
	b.ResetTimer()
	for it := range b.N {
		job := fmt.Sprintf("job-%d", it)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, nw := range nws {
			wg.Go(func() {
				c, err := nw.Open(ctx, job, PartyID(i), n)
				if err != nil {
					errs[i] = err
					return
				}
				defer c.Close()
				if err := Broadcast(ctx, c, 1, payload); err != nil {
					errs[i] = err
					return
				}
				_, errs[i] = RecvAll(ctx, c, 1)
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMemoryExchange is the same round over the in-memory network, the
// ceiling the libp2p numbers compare against.
func BenchmarkMemoryExchange(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("3parties/%dKB", size>>10), func(b *testing.B) {
			nw := NewMemoryNetwork()
			conns := make([]Conn, 3)
			for i := range conns {
				c, err := nw.Open(context.Background(), "bench", PartyID(i), 3)
				if err != nil {
					b.Fatal(err)
				}
				conns[i] = c
			}
			benchExchange(b, size, conns)
		})
	}
}

func benchExchange(b *testing.B, size int, conns []Conn) {
	n := len(conns)
	payload := msg(0, 0, 0, size)
	ctx := context.Background()
	b.SetBytes(int64(size * n * (n - 1)))
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, c := range conns {
		wg.Go(func() {
			for r := range b.N {
				if err := Broadcast(ctx, c, Round(r), payload); err != nil {
					errs[i] = err
					return
				}
				if _, err := RecvAll(ctx, c, Round(r)); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}
