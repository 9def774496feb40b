package transport

import (
	"context"
	"fmt"
	"sync"
)

// MaxPendingBytes bounds the unread bytes a party buffers from one peer.
const MaxPendingBytes = 1 << 30

// MemoryNetwork connects parties of the same process. It is meant for tests
// and single-process benchmarks; it enforces MaxMessageBytes so that engines
// see the same limits as over libp2p.
type MemoryNetwork struct {
	mu   sync.Mutex
	jobs map[string]*memJob
}

// memJob holds every party's mailbox from the moment the first party opens
// the job, so that messages sent before a receiver joins are kept for it.
type memJob struct {
	boxes  []*mailbox
	joined []bool
}

// NewMemoryNetwork returns an empty in-process network.
func NewMemoryNetwork() *MemoryNetwork {
	return &MemoryNetwork{jobs: make(map[string]*memJob)}
}

// Open implements Network.
func (nw *MemoryNetwork) Open(_ context.Context, jobID string, self PartyID, n int) (Conn, error) {
	if n < 1 || self < 0 || int(self) >= n {
		return nil, fmt.Errorf("transport: party %d out of range for %d parties", self, n)
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	job, ok := nw.jobs[jobID]
	if !ok {
		job = &memJob{boxes: make([]*mailbox, n), joined: make([]bool, n)}
		for i := range job.boxes {
			job.boxes[i] = newMailbox(MaxPendingBytes)
		}
		nw.jobs[jobID] = job
	}
	if len(job.boxes) != n {
		return nil, fmt.Errorf("transport: job %q has %d parties, not %d", jobID, len(job.boxes), n)
	}
	if job.joined[self] {
		return nil, fmt.Errorf("transport: party %d already joined job %q", self, jobID)
	}
	job.joined[self] = true
	return &memConn{job: job, self: self}, nil
}

type memConn struct {
	job  *memJob
	self PartyID

	mu     sync.Mutex
	closed bool
}

func (c *memConn) Self() PartyID { return c.self }
func (c *memConn) Parties() int  { return len(c.job.boxes) }

func (c *memConn) Send(ctx context.Context, to PartyID, r Round, payload []byte) error {
	if c.isClosed() {
		return ErrClosed
	}
	if to < 0 || int(to) >= c.Parties() || to == c.self {
		return fmt.Errorf("transport: cannot send to party %d", to)
	}
	if len(payload) > MaxMessageBytes {
		return fmt.Errorf("transport: message of %d bytes exceeds %d", len(payload), MaxMessageBytes)
	}
	if err := ctx.Err(); err != nil {
		return &PartyError{Party: to, Round: r, Err: err}
	}
	if err := c.job.boxes[to].put(c.self, r, payload); err != nil {
		return &PartyError{Party: to, Round: r, Err: err}
	}
	return nil
}

func (c *memConn) Recv(ctx context.Context, from PartyID, r Round) ([]byte, error) {
	if from < 0 || int(from) >= c.Parties() || from == c.self {
		return nil, fmt.Errorf("transport: cannot receive from party %d", from)
	}
	return c.job.boxes[c.self].get(ctx, from, r)
}

func (c *memConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close leaves the job. Peers waiting on this party learn it left at once
// instead of waiting for their deadline.
func (c *memConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.job.boxes[c.self].close()
	for i, box := range c.job.boxes {
		if PartyID(i) != c.self {
			box.fail(c.self, fmt.Errorf("party left the job: %w", ErrClosed))
		}
	}
	return nil
}
