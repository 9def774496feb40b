package transport

import (
	"context"
	"fmt"
	"time"
)

// This file gives the transport's tests, internal and external
// (package transport_test), explicit synchronisation points on the
// network's state, so that no test sleeps to let something happen.

// WaitRecvPending blocks until a Recv on c for (from, r) is waiting in c's
// mailbox, or ctx ends. A test uses it to know that a Recv is pending
// before it does what must wake it.
func WaitRecvPending(ctx context.Context, c Conn, from PartyID, r Round) error {
	box, err := boxOf(c)
	if err != nil {
		return err
	}
	return waitUntil(ctx, fmt.Sprintf("a Recv from party %d round %d", from, r), func() bool {
		box.mu.Lock()
		defer box.mu.Unlock()
		_, ok := box.waiters[mailKey{from, r}]
		return ok
	})
}

// WaitDelivered blocks until the message of party from for round r is in
// c's mailbox, unread, or ctx ends.
func WaitDelivered(ctx context.Context, c Conn, from PartyID, r Round) error {
	box, err := boxOf(c)
	if err != nil {
		return err
	}
	return waitUntil(ctx, fmt.Sprintf("the message of party %d round %d", from, r), func() bool {
		box.mu.Lock()
		defer box.mu.Unlock()
		_, ok := box.msgs[mailKey{from, r}]
		return ok
	})
}

func boxOf(c Conn) (*mailbox, error) {
	switch c := c.(type) {
	case *memConn:
		return c.job.boxes[c.self], nil
	case *p2pConn:
		return c.job.box, nil
	}
	return nil, fmt.Errorf("no mailbox in a %T", c)
}

// waitUntil polls cond until it holds or ctx ends. It waits for a state
// the code under test reaches on its own (a frame processed, a sweep
// done); it decides no order by itself, and its generous deadline is the
// caller's context.
func waitUntil(ctx context.Context, what string, cond func() bool) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// The libp2p fixtures of p2p_test.go, for the external tests.
var (
	NewHosts = newHosts
	P2PNets  = p2pNets
	IDs      = ids
	Msg      = msg
)
