package transport

import (
	"context"
	"errors"
	"testing"
	"time"
)

func openAll(t *testing.T, nw Network, job string, n int) []Conn {
	t.Helper()
	conns := make([]Conn, n)
	for i := range conns {
		c, err := nw.Open(context.Background(), job, PartyID(i), n)
		if err != nil {
			t.Fatalf("open party %d: %v", i, err)
		}
		conns[i] = c
	}
	return conns
}

func TestMemoryDeliversByRoundAndSender(t *testing.T) {
	ctx := context.Background()
	conns := openAll(t, NewMemoryNetwork(), "job", 3)
	// Send round 2 before round 1: Recv must match by round, not by order.
	if err := conns[0].Send(ctx, 2, 2, []byte("r2")); err != nil {
		t.Fatal(err)
	}
	if err := conns[0].Send(ctx, 2, 1, []byte("r1")); err != nil {
		t.Fatal(err)
	}
	if err := conns[1].Send(ctx, 2, 1, []byte("p1")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from PartyID
		r    Round
		want string
	}{{0, 1, "r1"}, {1, 1, "p1"}, {0, 2, "r2"}} {
		got, err := conns[2].Recv(ctx, tc.from, tc.r)
		if err != nil || string(got) != tc.want {
			t.Fatalf("recv from %d round %d = %q, %v; want %q", tc.from, tc.r, got, err, tc.want)
		}
	}
}

func TestMemoryDeadlineNamesSilentParty(t *testing.T) {
	conns := openAll(t, NewMemoryNetwork(), "job", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Broadcast(ctx, conns[1], 7, []byte("x")); err != nil {
		t.Fatal(err)
	}
	_, err := RecvAll(ctx, conns[0], 7) // party 2 never sends
	var pe *PartyError
	if !errors.As(err, &pe) || pe.Party != 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want PartyError naming party 2 with deadline, got %v", err)
	}
}

func TestMemoryCloseWakesWaiters(t *testing.T) {
	conns := openAll(t, NewMemoryNetwork(), "job", 2)
	done := make(chan error, 1)
	go func() {
		_, err := conns[0].Recv(context.Background(), 1, 1)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := conns[1].Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var pe *PartyError
		if !errors.As(err, &pe) || pe.Party != 1 {
			t.Fatalf("want PartyError naming party 1, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv did not return after the peer closed")
	}
}

func TestMemoryRejectsDuplicateAndOversize(t *testing.T) {
	ctx := context.Background()
	conns := openAll(t, NewMemoryNetwork(), "job", 2)
	if err := conns[0].Send(ctx, 1, 1, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := conns[0].Send(ctx, 1, 1, []byte("b")); err == nil {
		t.Fatal("duplicate (sender, round) accepted")
	}
	if err := conns[0].Send(ctx, 1, 2, make([]byte, MaxMessageBytes+1)); err == nil {
		t.Fatal("oversized message accepted")
	}
}
