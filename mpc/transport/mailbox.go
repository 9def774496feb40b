package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrMailboxFull is returned when a peer has buffered more unread bytes than
// the mailbox allows; it protects a party from a peer that floods it with
// messages for rounds it will never read.
var ErrMailboxFull = errors.New("transport: too many unread bytes from peer")

type mailKey struct {
	from  PartyID
	round Round
}

// mailbox buffers messages that arrived before the matching Recv. It is shared
// by every Conn implementation of this package.
type mailbox struct {
	mu       sync.Mutex
	msgs     map[mailKey][]byte
	waiters  map[mailKey]chan struct{}
	pending  map[PartyID]int // unread bytes per sender
	maxBytes int
	closed   bool
	failed   map[PartyID]error // a sender whose stream broke
}

func newMailbox(maxPendingPerPeer int) *mailbox {
	return &mailbox{
		msgs:     make(map[mailKey][]byte),
		waiters:  make(map[mailKey]chan struct{}),
		pending:  make(map[PartyID]int),
		maxBytes: maxPendingPerPeer,
		failed:   make(map[PartyID]error),
	}
}

// put stores a message. A second message for the same (from, round) is a
// protocol violation by the sender.
func (m *mailbox) put(from PartyID, r Round, payload []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	k := mailKey{from, r}
	if _, dup := m.msgs[k]; dup {
		return fmt.Errorf("transport: duplicate message from party %d for round %d", from, r)
	}
	if m.pending[from]+len(payload) > m.maxBytes {
		return ErrMailboxFull
	}
	m.pending[from] += len(payload)
	m.msgs[k] = payload
	if w, ok := m.waiters[k]; ok {
		close(w)
		delete(m.waiters, k)
	}
	return nil
}

// fail records that the stream from a sender broke; pending and future gets
// for that sender return the error once its buffered messages are consumed.
func (m *mailbox) fail(from PartyID, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.failed[from]; ok {
		return
	}
	m.failed[from] = err
	for k, w := range m.waiters {
		if k.from == from {
			close(w)
			delete(m.waiters, k)
		}
	}
}

func (m *mailbox) get(ctx context.Context, from PartyID, r Round) ([]byte, error) {
	k := mailKey{from, r}
	for {
		m.mu.Lock()
		if p, ok := m.msgs[k]; ok {
			delete(m.msgs, k)
			m.pending[from] -= len(p)
			m.mu.Unlock()
			return p, nil
		}
		if m.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		if err, ok := m.failed[from]; ok {
			m.mu.Unlock()
			return nil, &PartyError{Party: from, Round: r, Err: err}
		}
		w, ok := m.waiters[k]
		if !ok {
			w = make(chan struct{})
			m.waiters[k] = w
		}
		m.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return nil, &PartyError{Party: from, Round: r, Err: fmt.Errorf("no message before deadline: %w", ctx.Err())}
		}
	}
}

func (m *mailbox) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	for k, w := range m.waiters {
		close(w)
		delete(m.waiters, k)
	}
	m.msgs = nil
}
