package jobs

// Regression test from a review of the overlapped input check: cancelling
// the main engine's preprocessing when the commitment check failed made a
// member whose check failed first abandon the main engine and leave without
// an abort notice (a CommitmentMismatchError is a jobs-level error). A
// corrupted member that delayed only its last lane message to another honest
// member then made that member see the first one leave mid-preprocessing and
// name it. Every honest member must report the provider's mismatch.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/transport"
)

type revNet struct {
	inner transport.Network
	// from, to: the link to watch / delay
	from, to  int
	mu        sync.Mutex
	maxLane   transport.Round // largest lane-1 transport round sent on the link
	delayAt   transport.Round // delay this round on the link (0: none)
	delay     time.Duration
	mainDelay time.Duration // delay every main-engine message of `from` (to anyone)
	wg        sync.WaitGroup
}

type revConn struct {
	transport.Conn
	nw *revNet
}

// Open wraps the corrupted member's connection only.
func (n *revNet) Open(ctx context.Context, job string, self transport.PartyID, parties int) (transport.Conn, error) {
	c, err := n.inner.Open(ctx, job, self, parties)
	if err != nil {
		return nil, err
	}
	if int(self) != n.from {
		return c, nil
	}
	return &revConn{Conn: c, nw: n}, nil
}

func isLane1(r transport.Round) bool { return r != ^transport.Round(0) && r>>56 == 1 }

// Recv: the corrupted member also postpones its own reading of the lane's
// last round, so that its own main engine keeps running meanwhile.
func (c *revConn) Recv(ctx context.Context, from transport.PartyID, r transport.Round) ([]byte, error) {
	n := c.nw
	n.mu.Lock()
	d := n.delayAt
	n.mu.Unlock()
	if d != 0 && r == d {
		time.Sleep(n.delay)
	}
	return c.Conn.Recv(ctx, from, r)
}

func (c *revConn) Close() error {
	c.nw.wg.Wait() // a corrupted member stays until its held-back messages are out
	return c.Conn.Close()
}

func (c *revConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, payload []byte) error {
	n := c.nw
	if n.mainDelay > 0 && r != ^transport.Round(0) && r>>56 == 0 && r>>16 != 0 {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			time.Sleep(n.mainDelay)
			_ = c.Conn.Send(context.Background(), to, r, payload)
		}()
		return nil
	}
	if int(to) == n.to && isLane1(r) {
		n.mu.Lock()
		if r > n.maxLane {
			n.maxLane = r
		}
		d := n.delayAt
		n.mu.Unlock()
		if d != 0 && r == d {
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				time.Sleep(n.delay)
				_ = c.Conn.Send(context.Background(), to, r, payload)
			}()
			return nil
		}
	}
	return c.Conn.Send(ctx, to, r, payload)
}

func TestMismatchDoesNotFrameHonestMember(t *testing.T) {
	const n = 3
	var huge fr.Element
	huge.SetUint64(12345) // any value not matching provider-0's commitment
	jc := ssJobCases(t, n)[0]
	jc.dealHuge(huge)
	run := func(nw transport.Network) []error {
		_, errs := observedCommittee(t, nw, n, nil, func(int, string, fr.Vector) {}, jc.run)
		return errs
	}
	// Pass 1: learn the lane's last round on the link 2 → 1.
	probe := &revNet{inner: transport.NewMemoryNetwork(), from: 2, to: 1}
	errs := run(probe)
	for i, err := range errs {
		t.Logf("pass 1 member %d: %v", i, err)
	}
	last := probe.maxLane
	t.Logf("last lane round 2→1: %#x", uint64(last))
	// Pass 2: member 2 (corrupted) holds back only that message to member 1
	// for 3 s; member 1 is honest, member 0 is honest.
	atk := &revNet{inner: transport.NewMemoryNetwork(), from: 2, to: 1, delayAt: last, delay: 5 * time.Second, mainDelay: 300 * time.Millisecond}
	errs = run(atk)
	for i, err := range errs {
		t.Logf("pass 2 member %d: %v", i, err)
	}
	var pe *transport.PartyError
	if errors.As(errs[1], &pe) && pe.Party == 0 {
		t.Errorf("honest member 1 names honest member 0: %v", errs[1])
	}
	var mm *CommitmentMismatchError
	if !errors.As(errs[1], &mm) {
		t.Errorf("member 1: %s", fmt.Sprint("want the provider's commitment mismatch, got ", errs[1]))
	}
}
