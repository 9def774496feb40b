package transport

import (
	"context"
	"errors"
	"fmt"
)

// PartyID is a party's index in a job's committee, 0 ≤ PartyID < n.
type PartyID int

// Round tags one logical step of a protocol. Engines choose their own
// numbering; a message is matched to a Recv by (sender, round) only, so a
// round must never be reused inside one job.
type Round uint64

// MaxMessageBytes bounds a single message payload. Receivers reject larger
// frames before allocating them.
const MaxMessageBytes = 64 << 20

// ErrClosed is returned by operations on a closed Conn.
var ErrClosed = errors.New("transport: connection closed")

// PartyError names the party that caused an operation to fail, e.g. because it
// did not answer before the deadline or its stream broke.
type PartyError struct {
	Party PartyID
	Round Round
	Err   error
}

func (e *PartyError) Error() string {
	return fmt.Sprintf("party %d (round %d): %v", e.Party, e.Round, e.Err)
}

func (e *PartyError) Unwrap() error { return e.Err }

// Conn is one party's endpoint in one job. It is safe for concurrent use.
type Conn interface {
	// Self is this party's index.
	Self() PartyID
	// Parties is the committee size n.
	Parties() int
	// Send delivers payload to party `to` for round r. It may return before the
	// receiver has read it; the payload must not be modified afterwards.
	Send(ctx context.Context, to PartyID, r Round, payload []byte) error
	// Recv blocks until the message of party `from` for round r arrives, the
	// context ends (→ *PartyError wrapping ctx.Err()), or the Conn closes.
	Recv(ctx context.Context, from PartyID, r Round) ([]byte, error)
	// Close releases the job's resources; pending Recv calls return ErrClosed.
	Close() error
}

// Network opens per-job connections.
type Network interface {
	// Open joins job jobID as party self of a committee of n parties.
	Open(ctx context.Context, jobID string, self PartyID, n int) (Conn, error)
}

// SendAll sends payloads[i] to every party i ≠ Self() (payloads has length n; the
// entry for Self is ignored).
func SendAll(ctx context.Context, c Conn, r Round, payloads [][]byte) error {
	if len(payloads) != c.Parties() {
		return fmt.Errorf("transport: SendAll needs %d payloads, got %d", c.Parties(), len(payloads))
	}
	for i := range payloads {
		if PartyID(i) == c.Self() {
			continue
		}
		if err := c.Send(ctx, PartyID(i), r, payloads[i]); err != nil {
			return fmt.Errorf("send to party %d: %w", i, err)
		}
	}
	return nil
}

// Broadcast sends the same payload to every other party.
func Broadcast(ctx context.Context, c Conn, r Round, payload []byte) error {
	for i := 0; i < c.Parties(); i++ {
		if PartyID(i) == c.Self() {
			continue
		}
		if err := c.Send(ctx, PartyID(i), r, payload); err != nil {
			return fmt.Errorf("broadcast to party %d: %w", i, err)
		}
	}
	return nil
}

// RecvAll receives one message of round r from every other party. The entry
// for Self is nil. It returns the first failure, which names the party.
func RecvAll(ctx context.Context, c Conn, r Round) ([][]byte, error) {
	out := make([][]byte, c.Parties())
	for i := 0; i < c.Parties(); i++ {
		if PartyID(i) == c.Self() {
			continue
		}
		m, err := c.Recv(ctx, PartyID(i), r)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}
