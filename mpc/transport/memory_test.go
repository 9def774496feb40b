package transport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

func TestMemoryDeliversByRoundAndSender(t *testing.T) {
	ctx := context.Background()
	conns := mpctest.Open(t, 3)
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
		from transport.PartyID
		r    transport.Round
		want string
	}{{0, 1, "r1"}, {1, 1, "p1"}, {0, 2, "r2"}} {
		got, err := conns[2].Recv(ctx, tc.from, tc.r)
		if err != nil || string(got) != tc.want {
			t.Fatalf("recv from %d round %d = %q, %v; want %q", tc.from, tc.r, got, err, tc.want)
		}
	}
}

func TestMemoryDeadlineNamesSilentParty(t *testing.T) {
	// Parties 0 and 1 run; party 2 never joins. The memory network delivers
	// synchronously, so a short deadline can only be missed by party 2.
	_, errs := mpctest.Run(t, 3, func(ctx context.Context, c transport.Conn) (struct{}, error) {
		if err := transport.Broadcast(ctx, c, 7, []byte("x")); err != nil {
			return struct{}{}, err
		}
		_, err := transport.RecvAll(ctx, c, 7)
		return struct{}{}, err
	}, mpctest.Online(0, 1), mpctest.Timeout(50*time.Millisecond))
	for _, i := range []int{0, 1} {
		var pe *transport.PartyError
		if !errors.As(errs[i], &pe) || pe.Party != 2 || !errors.Is(errs[i], context.DeadlineExceeded) {
			t.Fatalf("party %d: want PartyError naming party 2 with deadline, got %v", i, errs[i])
		}
	}
}

func TestMemoryCloseWakesWaiters(t *testing.T) {
	conns := mpctest.Open(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := conns[0].Recv(ctx, 1, 1)
		done <- err
	}()
	if err := transport.WaitRecvPending(ctx, conns[0], 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := conns[1].Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var pe *transport.PartyError
		if !errors.As(err, &pe) || pe.Party != 1 {
			t.Fatalf("want PartyError naming party 1, got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Recv did not return after the peer closed")
	}
}

func TestMemoryRejectsDuplicateAndOversize(t *testing.T) {
	ctx := context.Background()
	conns := mpctest.Open(t, 2)
	if err := conns[0].Send(ctx, 1, 1, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := conns[0].Send(ctx, 1, 1, []byte("b")); err == nil {
		t.Fatal("duplicate (sender, round) accepted")
	}
	if err := conns[0].Send(ctx, 1, 2, make([]byte, transport.MaxMessageBytes+1)); err == nil {
		t.Fatal("oversized message accepted")
	}
}
