package jobrun

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/transport"
)

// A job attempt uses two transport sessions, each a transport job ID:
//
//	<jobID>/<attempt>/io   every party of the job (committee, then the
//	                       parties that supply provider slots and the
//	                       recipient, each listed once): provider inputs,
//	                       the recipient's key, outputs
//	<jobID>/<attempt>/mpc  the committee alone, in committee order: the MPC
//	                       engine, the HE output protocol and the BLS signing
//	                       round
//
// A retry of a job uses a fresh attempt number, so its sessions never collide
// with the failed one's (the libp2p transport refuses to reopen a closed job
// ID).
const (
	SessionIO  = "io"
	SessionMPC = "mpc"
)

// SessionID is the transport job ID of one session of a job attempt.
func SessionID(jobID string, attempt int, kind string) string {
	return jobID + "/" + strconv.Itoa(attempt) + "/" + kind
}

// ParseSessionID splits a transport job ID made by SessionID.
func ParseSessionID(id string) (jobID string, attempt int, kind string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || (parts[2] != SessionIO && parts[2] != SessionMPC) {
		return "", 0, "", fmt.Errorf("jobrun: %q is not a job session ID", id)
	}
	a, err := strconv.Atoi(parts[1])
	if err != nil || a < 0 || strconv.Itoa(a) != parts[1] {
		return "", 0, "", fmt.Errorf("jobrun: %q has a bad attempt number", id)
	}
	if err := jobspec.CheckToken("job ID", parts[0], maxSessionJobIDBytes); err != nil {
		return "", 0, "", err
	}
	return parts[0], a, parts[2], nil
}

// maxSessionJobIDBytes bounds the job part of a session ID: a job ID, or a
// committee ID under a short prefix (the node's "setup-").
const maxSessionJobIDBytes = jobspec.MaxIDBytes + 16

// SessionParties lists the parties of a session kind in party order.
func SessionParties(s *Spec, kind string) ([]string, error) {
	switch kind {
	case SessionMPC:
		return slices.Clone(s.Committee), nil
	case SessionIO:
		out := slices.Clone(s.Committee)
		for i := range s.Providers {
			// A member without a node posts its shares sealed on the
			// ledger; it has no peer to talk to.
			if p := s.ProviderNode(i); !slices.Contains(out, p) && !slices.Contains(s.Nodeless, p) {
				out = append(out, p)
			}
		}
		if !slices.Contains(out, s.Recipient) {
			out = append(out, s.Recipient)
		}
		return out, nil
	}
	return nil, fmt.Errorf("jobrun: unknown session kind %q", kind)
}

// P2PResolver lets a transport.P2PNetwork open job sessions (pass it with
// transport.WithCommitteeResolver): lookup finds a job's spec (the node reads
// the ledger), peerOf maps a party ID to its libp2p peer (the node's member
// registry).
func P2PResolver(lookup func(ctx context.Context, jobID string) (*Spec, error), peerOf func(party string) (peer.ID, error)) transport.CommitteeResolver {
	return func(ctx context.Context, id string) ([]peer.ID, error) {
		jobID, _, kind, err := ParseSessionID(id)
		if err != nil {
			return nil, err
		}
		spec, err := lookup(ctx, jobID)
		if err != nil {
			return nil, err
		}
		parties, err := SessionParties(spec, kind)
		if err != nil {
			return nil, err
		}
		out := make([]peer.ID, len(parties))
		for i, p := range parties {
			if out[i], err = peerOf(p); err != nil {
				return nil, fmt.Errorf("jobrun: party %s: %w", p, err)
			}
		}
		return out, nil
	}
}

// Session is one node's endpoint in one attempt of a job. A node that plays
// several roles in the job (e.g. a committee member that is also a provider)
// joins once and passes the same Session to each role function; messages
// between its own roles are delivered locally. Roles may run concurrently.
type Session struct {
	spec    *Spec
	attempt int
	self    string
	nw      transport.Network
	parties []string // io session parties
	conn    transport.Conn
	loop    *loopback
}

// Join opens the io session of attempt of the job as party self.
func Join(ctx context.Context, nw transport.Network, spec *Spec, attempt int, self string) (*Session, error) {
	if err := spec.EnsureValid(); err != nil {
		return nil, err
	}
	if attempt < 0 {
		return nil, fmt.Errorf("jobrun: negative attempt %d", attempt)
	}
	parties, _ := SessionParties(spec, SessionIO)
	idx := slices.Index(parties, self)
	if idx < 0 {
		return nil, fmt.Errorf("jobrun: %s has no role in job %s", self, spec.ID)
	}
	conn, err := nw.Open(ctx, SessionID(spec.ID, attempt, SessionIO), transport.PartyID(idx), len(parties))
	if err != nil {
		return nil, fmt.Errorf("jobrun: join job %s: %w", spec.ID, err)
	}
	return &Session{spec: spec, attempt: attempt, self: self, nw: nw, parties: parties, conn: conn, loop: newLoopback()}, nil
}

// Spec returns the session's job.
func (s *Session) Spec() *Spec { return s.spec }

// Attempt returns the session's attempt number.
func (s *Session) Attempt() int { return s.attempt }

// Close leaves the session.
func (s *Session) Close() error { return s.conn.Close() }

func (s *Session) index(party string) transport.PartyID {
	return transport.PartyID(slices.Index(s.parties, party))
}

// kindRound is the transport round of a message kind.
func kindRound(kind byte) transport.Round { return transport.Round(kind) }

// slotRound is the transport round of a message about provider slot i (its
// input, its allocation): a party that supplies several slots sends and
// receives one such message per slot.
func slotRound(kind byte, i int) transport.Round {
	return transport.Round(kind) | transport.Round(i+1)<<8
}

// send delivers payload to party in round r.
func (s *Session) send(ctx context.Context, to string, r transport.Round, payload []byte) error {
	if to == s.self {
		s.loop.put(r, payload)
		return nil
	}
	return s.conn.Send(ctx, s.index(to), r, payload)
}

// recv waits for party from's message of round r.
func (s *Session) recv(ctx context.Context, from string, r transport.Round) ([]byte, error) {
	if from == s.self {
		return s.loop.get(ctx, r)
	}
	return s.conn.Recv(ctx, s.index(from), r)
}

// openMPC opens the committee session as member idx.
func (s *Session) openMPC(ctx context.Context, idx int) (transport.Conn, error) {
	conn, err := s.nw.Open(ctx, SessionID(s.spec.ID, s.attempt, SessionMPC), transport.PartyID(idx), len(s.spec.Committee))
	if err != nil {
		return nil, fmt.Errorf("jobrun: open committee session: %w", err)
	}
	return conn, nil
}

// loopback carries messages between roles of the same node.
type loopback struct {
	mu    sync.Mutex
	slots map[transport.Round]chan []byte
}

func newLoopback() *loopback { return &loopback{slots: make(map[transport.Round]chan []byte)} }

func (l *loopback) slot(r transport.Round) chan []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.slots[r]
	if !ok {
		c = make(chan []byte, 1)
		l.slots[r] = c
	}
	return c
}

func (l *loopback) put(r transport.Round, b []byte) {
	select {
	case l.slot(r) <- b:
	default: // a role sends each round to itself at most once
	}
}

func (l *loopback) get(ctx context.Context, r transport.Round) ([]byte, error) {
	c := l.slot(r)
	select { // a message already there wins over an ended context
	case b := <-c:
		return b, nil
	default:
	}
	select {
	case b := <-c:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
