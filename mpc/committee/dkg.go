package committee

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cohortnet/cohort/mpc/transport"
)

// DefaultRoundTimeout bounds each DKG round when DKGConfig leaves it zero.
const DefaultRoundTimeout = 30 * time.Second

// DKGRounds is how many consecutive transport rounds RunDKG uses, starting
// at DKGConfig.FirstRound.
const DKGRounds = roundConfirm + 1

// Offsets of the DKG rounds from DKGConfig.FirstRound.
const (
	roundDeals = iota
	roundResponses
	roundJustifications
	roundSecretCommits
	roundCommitComplaints
	roundConfirm
)

// DKGConfig parameterises one DKG run.
type DKGConfig struct {
	// Threshold t: any t members can sign. Must satisfy ⌈n/2⌉ ≤ t ≤ n (the
	// bound below which kyber's VSS makes no security claim).
	Threshold int
	// RoundTimeout bounds the wait for every member's message in each round;
	// a member that has not answered by then is named in the error. Zero
	// means DefaultRoundTimeout. The caller's context still applies.
	RoundTimeout time.Duration
	// FirstRound is the first transport round the DKG uses; it uses
	// DKGRounds consecutive rounds. Zero is fine on a Conn opened just for the
	// DKG.
	FirstRound transport.Round
}

// FaultError is how RunDKG and SignRound blame members: each entry is a
// *transport.PartyError naming one member and the round in which it failed
// (did not answer, sent malformed bytes, sent an invalid deal, justification,
// complaint or commitment, or derived a different key). errors.As finds the
// first one.
type FaultError struct {
	Phase  string
	Faults []*transport.PartyError
	// Remote is set when the faults were not observed by this member but
	// reported by another member that aborted the run; the accusations are
	// unverified and the reporter is named in each.
	Remote bool
}

func (e *FaultError) Error() string {
	parts := make([]string, len(e.Faults))
	for i, f := range e.Faults {
		parts[i] = f.Error()
	}
	return fmt.Sprintf("%s: member fault: %s", e.Phase, strings.Join(parts, "; "))
}

// Unwrap exposes every fault to errors.Is / errors.As.
func (e *FaultError) Unwrap() []error {
	out := make([]error, len(e.Faults))
	for i, f := range e.Faults {
		out[i] = f
	}
	return out
}

// Members lists the blamed member indices in ascending order, without
// repetition.
func (e *FaultError) Members() []int {
	seen := map[int]bool{}
	var out []int
	for _, f := range e.Faults {
		if !seen[int(f.Party)] {
			seen[int(f.Party)] = true
			out = append(out, int(f.Party))
		}
	}
	sort.Ints(out)
	return out
}

// faults collects blame during one round.
type faults struct {
	phase string
	list  []*transport.PartyError
}

func (f *faults) add(member int, r transport.Round, format string, args ...any) {
	f.list = append(f.list, &transport.PartyError{Party: transport.PartyID(member), Round: r, Err: fmt.Errorf(format, args...)})
}

func (f *faults) addErr(pe *transport.PartyError) { f.list = append(f.list, pe) }

func (f *faults) err() error {
	if len(f.list) == 0 {
		return nil
	}
	sort.SliceStable(f.list, func(i, j int) bool { return f.list[i].Party < f.list[j].Party })
	return &FaultError{Phase: f.phase, Faults: f.list}
}

// dkgRun carries one DKG run's transport state. Every DKG message is framed
// by a one-byte tag: frameData, or frameAbort when the sender has given up
// and says why (so that the others stop at once instead of at their
// deadline).
type dkgRun struct {
	conn     transport.Conn
	first    transport.Round
	timeout  time.Duration
	lastSent int // offset of the last round this member sent, -1 before any
	// sendFaults are members the last send could not reach.
	sendFaults []*transport.PartyError
}

const (
	frameData  = 0
	frameAbort = 1

	maxAbortReasonBytes = 512
)

func (rn *dkgRun) round(off int) transport.Round { return rn.first + transport.Round(off) }

func frame(tag byte, body []byte) []byte {
	out := make([]byte, 1+len(body))
	out[0] = tag
	copy(out[1:], body)
	return out
}

// sendAll sends payloads[j] to each member j ≠ self. A member that cannot be
// reached is remembered and blamed by the next recv, after that recv has had
// the chance to read the reason (an abort) that member may have left behind.
func (rn *dkgRun) sendAll(ctx context.Context, off int, payloads [][]byte) error {
	rn.lastSent = off
	for j, p := range payloads {
		if transport.PartyID(j) == rn.conn.Self() {
			continue
		}
		err := rn.conn.Send(ctx, transport.PartyID(j), rn.round(off), frame(frameData, p))
		var pe *transport.PartyError
		switch {
		case err == nil:
		case errors.As(err, &pe):
			rn.sendFaults = append(rn.sendFaults, pe)
		default:
			return err
		}
	}
	return nil
}

// broadcast sends the same payload to every other member.
func (rn *dkgRun) broadcast(ctx context.Context, off int, payload []byte) error {
	payloads := make([][]byte, rn.conn.Parties())
	for j := range payloads {
		payloads[j] = payload
	}
	return rn.sendAll(ctx, off, payloads)
}

// abort tells every other member, in round off, which members this one blames.
// Best effort: a member that cannot be reached will time out on its own.
func (rn *dkgRun) abort(ctx context.Context, off int, fe *FaultError) {
	w := writer{}
	w.u32(uint32(len(fe.Faults)))
	for _, f := range fe.Faults {
		w.u16(uint16(f.Party))
		reason := f.Err.Error()
		if len(reason) > maxAbortReasonBytes {
			reason = reason[:maxAbortReasonBytes]
		}
		w.bytes([]byte(reason))
	}
	msg := frame(frameAbort, w.buf)
	sctx, cancel := context.WithTimeout(ctx, rn.timeout)
	defer cancel()
	for j := 0; j < rn.conn.Parties(); j++ {
		if transport.PartyID(j) != rn.conn.Self() {
			_ = rn.conn.Send(sctx, transport.PartyID(j), rn.round(off), msg)
		}
	}
}

// recv receives round off from every other member concurrently, within the
// round timeout. Members that do not answer are all named, not just the
// first. If a member sent an abort instead, the result is a remote
// FaultError carrying its (unverified) accusations.
func (rn *dkgRun) recv(ctx context.Context, off int, phase string) ([][]byte, error) {
	conn, r := rn.conn, rn.round(off)
	ctx, cancel := context.WithTimeout(ctx, rn.timeout)
	defer cancel()
	n := conn.Parties()
	out := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for j := 0; j < n; j++ {
		if transport.PartyID(j) == conn.Self() {
			continue
		}
		wg.Add(1)
		go func(j int) {
			defer wg.Done()
			out[j], errs[j] = conn.Recv(ctx, transport.PartyID(j), r)
		}(j)
	}
	wg.Wait()
	f := faults{phase: phase}
	for _, pe := range rn.sendFaults {
		f.addErr(pe)
	}
	rn.sendFaults = nil
	remote := faults{phase: phase}
	for j, err := range errs {
		switch {
		case transport.PartyID(j) == conn.Self():
		case err != nil:
			var pe *transport.PartyError
			if errors.As(err, &pe) {
				f.addErr(pe)
			} else if errors.Is(err, transport.ErrClosed) {
				return nil, fmt.Errorf("%s: %w", phase, err)
			} else {
				f.add(j, r, "%w", err)
			}
		case len(out[j]) == 0:
			f.add(j, r, "empty message")
		case out[j][0] == frameData:
			out[j] = out[j][1:]
		case out[j][0] == frameAbort:
			if !decodeAbort(out[j][1:], j, n, r, &remote) {
				f.add(j, r, "malformed abort message")
			}
		default:
			f.add(j, r, "unknown frame tag %d", out[j][0])
		}
	}
	if len(remote.list) > 0 {
		err := remote.err().(*FaultError)
		err.Remote = true
		return nil, err
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeAbort appends the accusations in member from's abort message to
// remote, each attributed to from.
func decodeAbort(b []byte, from, n int, r transport.Round, remote *faults) bool {
	rd := reader{buf: b}
	k := rd.count(4*MaxMembers, 2+4)
	type accusation struct {
		member int
		reason string
	}
	acc := make([]accusation, 0, k)
	for i := 0; i < k && rd.err == nil; i++ {
		m := int(rd.u16())
		reason := rd.bytes(maxAbortReasonBytes)
		if m >= n {
			return false
		}
		acc = append(acc, accusation{m, string(reason)})
	}
	if rd.done() != nil || len(acc) == 0 {
		return false
	}
	for _, a := range acc {
		remote.add(a.member, r, "reported by member %d (unverified): %q", from, a.reason)
	}
	return true
}

// guard runs a kyber call and turns a panic into an error, since kyber
// decodes peer-supplied protobuf inside some of them.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kyber panicked: %v", r)
		}
	}()
	return fn()
}

// RunDKG runs the Rabin DKG (kyber share/dkg/rabin over the BN256 G2 group)
// as member conn.Self() of the committee whose long-term keys are members,
// in index order. Every member must run it with the same members, threshold
// and rounds. It is the network driver of DKGProtocol: each round it sends
// this member's message, receives every other member's, and hands them to the
// protocol's next step. Rounds, all sent to every other member (empty lists
// included) so that silence is always detected:
//
//  1. deals, each encrypted to its recipient's long-term key;
//  2. responses (approvals or complaints), broadcast;
//  3. justifications of complained-about deals, broadcast;
//  4. the dealers' Feldman commitments, broadcast;
//  5. complaints against commitments that do not match a deal, broadcast;
//  6. a hash of the resulting CommitteeKey, broadcast and compared.
//
// The run aborts with a *FaultError naming the member(s) at fault on any
// deviation: a member that does not answer a round within RoundTimeout, a
// malformed message, a deal that does not verify (the dealer, if its public
// justification fails too, otherwise the complainer), commitments that do
// not match the deals, or a member that ends with a different key. kyber
// could instead continue with a smaller qualified set, but its justification
// path leaves the complainer holding its bad share; a committee key is made
// once, so the committee re-runs without the blamed member instead.
func RunDKG(ctx context.Context, conn transport.Conn, self *LongTermKey, members []LongTermPublicKey, cfg DKGConfig) (*Share, error) {
	if n := conn.Parties(); len(members) != n {
		return nil, fmt.Errorf("dkg: %d member keys for a committee of %d", len(members), n)
	}
	p, err := NewDKGProtocol(self, members, int(conn.Self()), cfg)
	if err != nil {
		return nil, err
	}
	timeout := cfg.RoundTimeout
	if timeout <= 0 {
		timeout = DefaultRoundTimeout
	}
	rn := &dkgRun{conn: conn, first: cfg.FirstRound, timeout: timeout, lastSent: -1}
	sh, err := rn.run(ctx, p)
	var fe *FaultError
	if err != nil && errors.As(err, &fe) && !fe.Remote && rn.lastSent+1 < DKGRounds {
		// The others are waiting for our next message: tell them why it will
		// not come, so they stop now rather than at their deadline.
		rn.abort(ctx, rn.lastSent+1, fe)
	}
	return sh, err
}

// dkgStep is one broadcast round of the driver: the protocol step that turns
// the previous round's messages into this member's next message.
type dkgStep struct {
	phase   string // names the round received, in errors
	sending string // names the message sent next, in errors
	process func([][]byte) ([]byte, error)
}

func (rn *dkgRun) run(ctx context.Context, p *DKGProtocol) (*Share, error) {
	deals, err := p.GenDeals()
	if err != nil {
		return nil, err
	}
	if err := rn.sendAll(ctx, roundDeals, deals); err != nil {
		return nil, fmt.Errorf("dkg: sending deals: %w", err)
	}
	// Step i takes round i's messages and sends round i+1.
	steps := []dkgStep{
		roundDeals:            {"dkg deals", "responses", p.ProcessDeals},
		roundResponses:        {"dkg responses", "justifications", p.ProcessResponses},
		roundJustifications:   {"dkg justifications", "commitments", p.ProcessJustifications},
		roundSecretCommits:    {"dkg commitments", "commitment complaints", p.ProcessSecretCommits},
		roundCommitComplaints: {"dkg commitment complaints", "confirmation", p.ProcessCommitComplaints},
	}
	for off, st := range steps {
		msgs, err := rn.recv(ctx, off, st.phase)
		if err != nil {
			return nil, err
		}
		out, err := st.process(msgs)
		if err != nil {
			return nil, err
		}
		if err := rn.broadcast(ctx, off+1, out); err != nil {
			return nil, fmt.Errorf("dkg: sending %s: %w", st.sending, err)
		}
	}
	msgs, err := rn.recv(ctx, roundConfirm, "dkg confirmation")
	if err != nil {
		return nil, err
	}
	return p.Finish(msgs)
}
