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
	"go.dedis.ch/kyber/v3"
	dkg "go.dedis.ch/kyber/v3/share/dkg/rabin"
	vss "go.dedis.ch/kyber/v3/share/vss/rabin"
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
// and rounds. Rounds, all sent to every other member (empty lists included) so
// that silence is always detected:
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
	timeout := cfg.RoundTimeout
	if timeout <= 0 {
		timeout = DefaultRoundTimeout
	}
	rn := &dkgRun{conn: conn, first: cfg.FirstRound, timeout: timeout, lastSent: -1}
	sh, err := rn.run(ctx, self, members, cfg.Threshold)
	var fe *FaultError
	if err != nil && errors.As(err, &fe) && !fe.Remote && rn.lastSent+1 < DKGRounds {
		// The others are waiting for our next message: tell them why it will
		// not come, so they stop now rather than at their deadline.
		rn.abort(ctx, rn.lastSent+1, fe)
	}
	return sh, err
}

func (rn *dkgRun) run(ctx context.Context, self *LongTermKey, members []LongTermPublicKey, t int) (*Share, error) {
	conn := rn.conn
	n := conn.Parties()
	me := int(conn.Self())
	switch {
	case self == nil || self.secret == nil:
		return nil, errors.New("dkg: no long-term key")
	case len(members) != n:
		return nil, fmt.Errorf("dkg: %d member keys for a committee of %d", len(members), n)
	case n < 2 || n > MaxMembers:
		return nil, fmt.Errorf("dkg: committee size %d outside [2, %d]", n, MaxMembers)
	case t < vss.MinimumT(n) || t < 2 || t > n:
		return nil, fmt.Errorf("dkg: threshold %d outside [%d, %d]", t, max(2, vss.MinimumT(n)), n)
	case !members[me].Equal(self.Public()):
		return nil, fmt.Errorf("dkg: member %d's listed key is not this node's long-term key", me)
	}
	points := make([]kyber.Point, n)
	seen := map[string]int{}
	for i, m := range members {
		if m.point == nil {
			return nil, fmt.Errorf("dkg: member %d has no key", i)
		}
		k := string(m.Bytes())
		if j, dup := seen[k]; dup {
			return nil, fmt.Errorf("dkg: members %d and %d share a long-term key", j, i)
		}
		seen[k] = i
		points[i] = m.point
	}
	digest, err := MembersDigest(members)
	if err != nil {
		return nil, fmt.Errorf("dkg: %w", err)
	}
	round := rn.round

	gen, err := dkg.NewDistKeyGenerator(g2Suite(), self.secret, points, t)
	if err != nil {
		return nil, fmt.Errorf("dkg: %w", err)
	}

	// Round 1: deals.
	var deals map[int]*dkg.Deal
	if err := guard(func() (err error) { deals, err = gen.Deals(); return err }); err != nil {
		return nil, fmt.Errorf("dkg: making deals: %w", err)
	}
	payloads := make([][]byte, n)
	for j, d := range deals {
		payloads[j] = encodeDeal(d)
	}
	if err := rn.sendAll(ctx, roundDeals, payloads); err != nil {
		return nil, fmt.Errorf("dkg: sending deals: %w", err)
	}
	msgs, err := rn.recv(ctx, roundDeals, "dkg deals")
	if err != nil {
		return nil, err
	}
	f := faults{phase: "dkg deals"}
	var myResponses []*dkg.Response
	for j := 0; j < n; j++ {
		if j == me {
			continue
		}
		d, err := decodeDeal(msgs[j])
		if err != nil {
			f.add(j, round(roundDeals), "%w", err)
			continue
		}
		if int(d.Index) != j {
			f.add(j, round(roundDeals), "deal claims dealer %d", d.Index)
			continue
		}
		var resp *dkg.Response
		if err := guard(func() (err error) { resp, err = gen.ProcessDeal(d); return err }); err != nil {
			// Undecryptable or unsigned: the transport authenticated the
			// sender, so the dealer is at fault.
			f.add(j, round(roundDeals), "undecryptable deal: %w", err)
			continue
		}
		myResponses = append(myResponses, resp)
	}
	if err := f.err(); err != nil {
		return nil, err
	}

	// Round 2: responses. complaints[dealer] lists the members that complained.
	complaints := map[int][]int{}
	for _, r := range myResponses {
		if !r.Response.Approved {
			complaints[int(r.Index)] = append(complaints[int(r.Index)], me)
		}
	}
	if err := rn.broadcast(ctx, roundResponses, encodeResponses(myResponses)); err != nil {
		return nil, fmt.Errorf("dkg: sending responses: %w", err)
	}
	if msgs, err = rn.recv(ctx, roundResponses, "dkg responses"); err != nil {
		return nil, err
	}
	f = faults{phase: "dkg responses"}
	var myJustifications []*dkg.Justification
	for j := 0; j < n; j++ {
		if j == me {
			continue
		}
		rs, err := decodeResponses(msgs[j], n)
		if err != nil {
			f.add(j, round(roundResponses), "%w", err)
			continue
		}
		if len(rs) != n-1 {
			f.add(j, round(roundResponses), "%d responses, want %d", len(rs), n-1)
			continue
		}
		dealers := map[uint32]bool{}
		for _, r := range rs {
			if int(r.Response.Index) != j || int(r.Index) == j || int(r.Index) >= n || dealers[r.Index] {
				f.add(j, round(roundResponses), "response for dealer %d claims verifier %d", r.Index, r.Response.Index)
				break
			}
			dealers[r.Index] = true
			if !r.Response.Approved {
				complaints[int(r.Index)] = append(complaints[int(r.Index)], j)
			}
			var just *dkg.Justification
			if err := guard(func() (err error) { just, err = gen.ProcessResponse(r); return err }); err != nil {
				f.add(j, round(roundResponses), "response for dealer %d: %w", r.Index, err)
				break
			}
			if just != nil {
				myJustifications = append(myJustifications, just)
			}
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}

	// Round 3: justifications. Always exchanged, so that every member reaches
	// the same verdict on every complaint.
	if err := rn.broadcast(ctx, roundJustifications, encodeJustifications(myJustifications)); err != nil {
		return nil, fmt.Errorf("dkg: sending justifications: %w", err)
	}
	if msgs, err = rn.recv(ctx, roundJustifications, "dkg justifications"); err != nil {
		return nil, err
	}
	f = faults{phase: "dkg justifications"}
	justified := map[[2]int]bool{} // {dealer, complainer} with a valid public justification
	for j := 0; j < n; j++ {
		if j == me {
			continue
		}
		js, err := decodeJustifications(msgs[j], n)
		if err != nil {
			f.add(j, round(roundJustifications), "%w", err)
			continue
		}
		for _, just := range js {
			c := int(just.Justification.Index)
			if int(just.Index) != j || just.Justification.Deal == nil || just.Justification.Deal.SecShare == nil ||
				just.Justification.Deal.SecShare.I != c {
				f.add(j, round(roundJustifications), "malformed justification")
				break
			}
			if err := guard(func() error { return gen.ProcessJustification(just) }); err != nil {
				f.add(j, round(roundJustifications), "justification for member %d's complaint: %w", c, err)
				break
			}
			justified[[2]int{j, c}] = true
		}
	}
	// Any complaint aborts the run. An unjustified one blames the dealer. A
	// justified one is ambiguous to outsiders (a false complaint, or a dealer
	// that encrypted a bad deal and then revealed a good one), so it blames
	// whichever of the two this member cannot vouch for itself.
	for dealer, cs := range complaints {
		for _, c := range cs {
			switch {
			case dealer == me:
				f.add(c, round(roundResponses), "complained about this member's deal, which is valid")
			case c == me:
				f.add(dealer, round(roundDeals), "sent this member a deal that does not verify")
			case justified[[2]int{dealer, c}]:
				f.add(c, round(roundResponses), "complained about dealer %d's deal, which the dealer justified publicly", dealer)
				f.add(dealer, round(roundDeals), "deal to member %d was complained about and justified publicly", c)
			default:
				f.add(dealer, round(roundDeals), "deal to member %d did not verify and was not justified", c)
			}
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if q := gen.QUAL(); len(q) != n {
		return nil, fmt.Errorf("dkg: only %d of %d deals certified", len(q), n)
	}

	// Round 4: Feldman commitments of every dealer's secret polynomial.
	var sc *dkg.SecretCommits
	if err := guard(func() (err error) { sc, err = gen.SecretCommits(); return err }); err != nil {
		return nil, fmt.Errorf("dkg: secret commitments: %w", err)
	}
	if err := rn.broadcast(ctx, roundSecretCommits, encodeSecretCommits(sc)); err != nil {
		return nil, fmt.Errorf("dkg: sending commitments: %w", err)
	}
	if msgs, err = rn.recv(ctx, roundSecretCommits, "dkg commitments"); err != nil {
		return nil, err
	}
	f = faults{phase: "dkg commitments"}
	var myComplaints []*dkg.ComplaintCommits
	for j := 0; j < n; j++ {
		if j == me {
			continue
		}
		sc, err := decodeSecretCommits(msgs[j], t)
		if err != nil {
			f.add(j, round(roundSecretCommits), "%w", err)
			continue
		}
		if int(sc.Index) != j || len(sc.Commitments) != t {
			f.add(j, round(roundSecretCommits), "commitments claim dealer %d with %d points", sc.Index, len(sc.Commitments))
			continue
		}
		var cc *dkg.ComplaintCommits
		if err := guard(func() (err error) { cc, err = gen.ProcessSecretCommits(sc); return err }); err != nil {
			f.add(j, round(roundSecretCommits), "%w", err)
			continue
		}
		if cc != nil {
			myComplaints = append(myComplaints, cc)
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}

	// Round 5: complaints against commitments. A complaint reveals the deal the
	// complainer received, so everyone can tell whether the dealer or the
	// complainer lied.
	if err := rn.broadcast(ctx, roundCommitComplaints, encodeComplaints(myComplaints)); err != nil {
		return nil, fmt.Errorf("dkg: sending commitment complaints: %w", err)
	}
	if msgs, err = rn.recv(ctx, roundCommitComplaints, "dkg commitment complaints"); err != nil {
		return nil, err
	}
	f = faults{phase: "dkg commitment complaints"}
	for _, cc := range myComplaints {
		f.add(int(cc.DealerIndex), round(roundSecretCommits), "commitments do not match the deal to member %d", me)
	}
	for j := 0; j < n; j++ {
		if j == me {
			continue
		}
		ccs, err := decodeComplaints(msgs[j], n)
		if err != nil {
			f.add(j, round(roundCommitComplaints), "%w", err)
			continue
		}
		for _, cc := range ccs {
			dealer := int(cc.DealerIndex)
			if int(cc.Index) != j || dealer >= n || dealer == j {
				f.add(j, round(roundCommitComplaints), "malformed commitment complaint")
				break
			}
			if dealer == me {
				// Our own commitments are correct by construction: a
				// complaint about them is false.
				f.add(j, round(roundCommitComplaints), "false complaint against this member's commitments")
				continue
			}
			if err := guard(func() error { _, err := gen.ProcessComplaintCommits(cc); return err }); err != nil {
				f.add(j, round(roundCommitComplaints), "invalid complaint against dealer %d: %w", dealer, err)
				continue
			}
			f.add(dealer, round(roundSecretCommits), "commitments do not match the deal to member %d", j)
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if !gen.Finished() {
		return nil, errors.New("dkg: protocol not finished after all rounds")
	}
	var dks *dkg.DistKeyShare
	if err := guard(func() (err error) { dks, err = gen.DistKeyShare(); return err }); err != nil {
		return nil, fmt.Errorf("dkg: key share: %w", err)
	}
	key, err := newCommitteeKey(t, n, digest, dks.Commits)
	if err != nil {
		return nil, fmt.Errorf("dkg: %w", err)
	}
	sh := &Share{Index: me, Key: key, secret: dks.Share.V}
	if err := sh.check(); err != nil {
		return nil, fmt.Errorf("dkg: %w", err)
	}

	// Round 6: everyone confirms the same committee key. The transport is
	// point to point, so an equivocating member could otherwise leave honest
	// members with different keys.
	id := key.ID()
	if err := rn.broadcast(ctx, roundConfirm, id[:]); err != nil {
		return nil, fmt.Errorf("dkg: sending confirmation: %w", err)
	}
	if msgs, err = rn.recv(ctx, roundConfirm, "dkg confirmation"); err != nil {
		return nil, err
	}
	f = faults{phase: "dkg confirmation"}
	for j := 0; j < n; j++ {
		if j != me && string(msgs[j]) != string(id[:]) {
			f.add(j, round(roundConfirm), "derived a different committee key")
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return sh, nil
}
