package committee

import (
	"errors"
	"fmt"

	"github.com/cohortnet/cohort/mpc/transport"
	"go.dedis.ch/kyber/v3"
	dkg "go.dedis.ch/kyber/v3/share/dkg/rabin"
	vss "go.dedis.ch/kyber/v3/share/vss/rabin"
)

// DKGProtocol is one member's side of the DKG, one method per round in the
// style of lattigo's mhe protocols: each step takes the messages every member
// sent in the previous round (indexed by sender, this member's own entry
// ignored) and returns this member's message for the next round, or, at the
// end, its Share. It does no I/O: RunDKG is the network driver that sends and
// receives each round over a transport.Conn, and tests feed steps crafted
// messages directly.
//
// The steps, in order (each may be called once):
//
//	GenDeals                → deals, one per member          (round 1)
//	ProcessDeals            → responses, broadcast            (round 2)
//	ProcessResponses        → justifications, broadcast       (round 3)
//	ProcessJustifications   → Feldman commitments, broadcast  (round 4)
//	ProcessSecretCommits    → commitment complaints, broadcast (round 5)
//	ProcessCommitComplaints → committee key ID, broadcast     (round 6)
//	Finish                  → the Share
//
// A step that finds deviation returns a *FaultError whose faults name every
// member whose message was bad and why, and the round in which it was bad
// (DKGConfig.FirstRound plus the round's offset); an honest set of messages
// names nobody. After any error the protocol is spent: kyber's state may be
// half-updated, and a committee key is made once, so the committee re-runs
// without the blamed member instead of continuing. A DKGProtocol is not safe
// for concurrent use; its driver calls one step at a time.
type DKGProtocol struct {
	n, t, me int
	first    transport.Round
	digest   [32]byte
	gen      *dkg.DistKeyGenerator

	// next is the offset of the round whose messages the next step takes
	// (-1 before GenDeals); failed is set once a step has returned an error.
	next   int
	failed bool

	// complaints[dealer] lists the members that complained about dealer's
	// deal (round 2); justified holds the {dealer, complainer} pairs with a
	// valid public justification (round 3).
	complaints map[int][]int
	justified  map[[2]int]bool
	// myComplaints are this member's complaints against commitments (round 4),
	// kept to blame their dealers in round 5.
	myComplaints []*dkg.ComplaintCommits
	share        *Share
}

// NewDKGProtocol checks the committee and prepares member me's side of a DKG
// of the len(members) members with the given long-term keys (in index order)
// and threshold cfg.Threshold. cfg.FirstRound only labels blame; the round
// timeout belongs to the driver.
func NewDKGProtocol(self *LongTermKey, members []LongTermPublicKey, me int, cfg DKGConfig) (*DKGProtocol, error) {
	n, t := len(members), cfg.Threshold
	switch {
	case self == nil || self.secret == nil:
		return nil, errors.New("dkg: no long-term key")
	case n < 2 || n > MaxMembers:
		return nil, fmt.Errorf("dkg: committee size %d outside [2, %d]", n, MaxMembers)
	case me < 0 || me >= n:
		return nil, fmt.Errorf("dkg: member index %d outside committee of %d", me, n)
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
	gen, err := dkg.NewDistKeyGenerator(g2Suite(), self.secret, points, t)
	if err != nil {
		return nil, fmt.Errorf("dkg: %w", err)
	}
	return &DKGProtocol{
		n: n, t: t, me: me, first: cfg.FirstRound, digest: digest, gen: gen, next: -1,
		complaints: map[int][]int{}, justified: map[[2]int]bool{},
	}, nil
}

// Parties is the committee size n.
func (p *DKGProtocol) Parties() int { return p.n }

// Self is this member's index.
func (p *DKGProtocol) Self() int { return p.me }

func (p *DKGProtocol) round(off int) transport.Round { return p.first + transport.Round(off) }

// enter checks that the step taking round off's messages is the next one and
// that msgs has one entry per member. done must be called with the step's
// error.
func (p *DKGProtocol) enter(off int, msgs [][]byte) error {
	switch {
	case p.failed:
		return errors.New("dkg: protocol already failed")
	case p.next != off:
		return fmt.Errorf("dkg: step for round %d called when round %d is next", off, p.next)
	case off >= 0 && len(msgs) != p.n:
		return fmt.Errorf("dkg: %d messages for a committee of %d", len(msgs), p.n)
	}
	return nil
}

func (p *DKGProtocol) done(err error) error {
	if err != nil {
		p.failed = true
	} else {
		p.next++
	}
	return err
}

// peers calls fn for every other member's message in round off, after
// blaming members whose message is missing (nil or empty; no DKG message
// encodes to zero bytes).
func (p *DKGProtocol) peers(f *faults, off int, msgs [][]byte, fn func(j int, msg []byte)) {
	for j := 0; j < p.n; j++ {
		switch {
		case j == p.me:
		case len(msgs[j]) == 0:
			f.add(j, p.round(off), "no message")
		default:
			fn(j, msgs[j])
		}
	}
}

// GenDeals makes this member's deals: out[j] is the deal for member j,
// encrypted to j's long-term key (out[me] is nil).
func (p *DKGProtocol) GenDeals() (out [][]byte, err error) {
	if err := p.enter(-1, nil); err != nil {
		return nil, err
	}
	defer func() { err = p.done(err) }()
	var deals map[int]*dkg.Deal
	if err := guard(func() (err error) { deals, err = p.gen.Deals(); return err }); err != nil {
		return nil, fmt.Errorf("dkg: making deals: %w", err)
	}
	out = make([][]byte, p.n)
	for j, d := range deals {
		out[j] = encodeDeal(d)
	}
	return out, nil
}

// ProcessDeals takes the deals every member sent this member (round 1) and
// returns this member's responses to broadcast (round 2). A deal that is
// malformed, claims another dealer or does not decrypt blames its sender; a
// deal that decrypts but does not verify is not blamed here but answered with
// a complaint, which round 3 settles.
func (p *DKGProtocol) ProcessDeals(msgs [][]byte) (out []byte, err error) {
	if err := p.enter(roundDeals, msgs); err != nil {
		return nil, err
	}
	defer func() { err = p.done(err) }()
	r := p.round(roundDeals)
	f := faults{phase: "dkg deals"}
	var mine []*dkg.Response
	p.peers(&f, roundDeals, msgs, func(j int, msg []byte) {
		d, err := decodeDeal(msg)
		if err != nil {
			f.add(j, r, "%w", err)
			return
		}
		if int(d.Index) != j {
			f.add(j, r, "deal claims dealer %d", d.Index)
			return
		}
		var resp *dkg.Response
		if err := guard(func() (err error) { resp, err = p.gen.ProcessDeal(d); return err }); err != nil {
			// Undecryptable or unsigned: the transport authenticated the
			// sender, so the dealer is at fault.
			f.add(j, r, "undecryptable deal: %w", err)
			return
		}
		mine = append(mine, resp)
	})
	if err := f.err(); err != nil {
		return nil, err
	}
	for _, resp := range mine {
		if !resp.Response.Approved {
			p.complaints[int(resp.Index)] = append(p.complaints[int(resp.Index)], p.me)
		}
	}
	return encodeResponses(mine), nil
}

// ProcessResponses takes every member's responses (round 2) and returns this
// member's justifications of the complaints against its own deal (round 3).
// A member must send exactly one well-formed, validly signed response per
// other dealer, each in its own name.
func (p *DKGProtocol) ProcessResponses(msgs [][]byte) (out []byte, err error) {
	if err := p.enter(roundResponses, msgs); err != nil {
		return nil, err
	}
	defer func() { err = p.done(err) }()
	n, r := p.n, p.round(roundResponses)
	f := faults{phase: "dkg responses"}
	var mine []*dkg.Justification
	p.peers(&f, roundResponses, msgs, func(j int, msg []byte) {
		rs, err := decodeResponses(msg, n)
		if err != nil {
			f.add(j, r, "%w", err)
			return
		}
		if len(rs) != n-1 {
			f.add(j, r, "%d responses, want %d", len(rs), n-1)
			return
		}
		dealers := map[uint32]bool{}
		for _, x := range rs {
			if int(x.Response.Index) != j || int(x.Index) == j || int(x.Index) >= n || dealers[x.Index] {
				f.add(j, r, "response for dealer %d claims verifier %d", x.Index, x.Response.Index)
				return
			}
			dealers[x.Index] = true
			if !x.Response.Approved {
				p.complaints[int(x.Index)] = append(p.complaints[int(x.Index)], j)
			}
			var just *dkg.Justification
			if err := guard(func() (err error) { just, err = p.gen.ProcessResponse(x); return err }); err != nil {
				f.add(j, r, "response for dealer %d: %w", x.Index, err)
				return
			}
			if just != nil {
				mine = append(mine, just)
			}
		}
	})
	if err := f.err(); err != nil {
		return nil, err
	}
	return encodeJustifications(mine), nil
}

// ProcessJustifications takes every member's justifications (round 3),
// settles every complaint, and returns this member's Feldman commitments
// (round 4). Any complaint aborts the run: an unjustified one blames the
// dealer; a justified one is ambiguous to outsiders (a false complaint, or a
// dealer that encrypted a bad deal and then revealed a good one), so it
// blames whichever of the two this member cannot vouch for itself.
// Justifications are always exchanged, so that every member reaches the same
// verdict on every complaint.
func (p *DKGProtocol) ProcessJustifications(msgs [][]byte) (out []byte, err error) {
	if err := p.enter(roundJustifications, msgs); err != nil {
		return nil, err
	}
	defer func() { err = p.done(err) }()
	n, me, r := p.n, p.me, p.round(roundJustifications)
	f := faults{phase: "dkg justifications"}
	p.peers(&f, roundJustifications, msgs, func(j int, msg []byte) {
		js, err := decodeJustifications(msg, n)
		if err != nil {
			f.add(j, r, "%w", err)
			return
		}
		for _, just := range js {
			c := int(just.Justification.Index)
			if int(just.Index) != j || just.Justification.Deal == nil || just.Justification.Deal.SecShare == nil ||
				just.Justification.Deal.SecShare.I != c {
				f.add(j, r, "malformed justification")
				return
			}
			if err := guard(func() error { return p.gen.ProcessJustification(just) }); err != nil {
				f.add(j, r, "justification for member %d's complaint: %w", c, err)
				return
			}
			p.justified[[2]int{j, c}] = true
		}
	})
	for dealer := 0; dealer < n; dealer++ {
		for _, c := range p.complaints[dealer] {
			switch {
			case dealer == me:
				f.add(c, p.round(roundResponses), "complained about this member's deal, which is valid")
			case c == me:
				f.add(dealer, p.round(roundDeals), "sent this member a deal that does not verify")
			case p.justified[[2]int{dealer, c}]:
				f.add(c, p.round(roundResponses), "complained about dealer %d's deal, which the dealer justified publicly", dealer)
				f.add(dealer, p.round(roundDeals), "deal to member %d was complained about and justified publicly", c)
			default:
				f.add(dealer, p.round(roundDeals), "deal to member %d did not verify and was not justified", c)
			}
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if q := p.gen.QUAL(); len(q) != n {
		return nil, fmt.Errorf("dkg: only %d of %d deals certified", len(q), n)
	}
	var sc *dkg.SecretCommits
	if err := guard(func() (err error) { sc, err = p.gen.SecretCommits(); return err }); err != nil {
		return nil, fmt.Errorf("dkg: secret commitments: %w", err)
	}
	return encodeSecretCommits(sc), nil
}

// ProcessSecretCommits takes every dealer's Feldman commitments (round 4) and
// returns this member's complaints against commitments that do not match the
// deal it received (round 5). Such a complaint reveals that deal, so that
// everyone can tell in round 5 whether the dealer or the complainer lied;
// malformed or invalidly signed commitments blame their sender at once.
func (p *DKGProtocol) ProcessSecretCommits(msgs [][]byte) (out []byte, err error) {
	if err := p.enter(roundSecretCommits, msgs); err != nil {
		return nil, err
	}
	defer func() { err = p.done(err) }()
	t, r := p.t, p.round(roundSecretCommits)
	f := faults{phase: "dkg commitments"}
	p.peers(&f, roundSecretCommits, msgs, func(j int, msg []byte) {
		sc, err := decodeSecretCommits(msg, t)
		if err != nil {
			f.add(j, r, "%w", err)
			return
		}
		if int(sc.Index) != j || len(sc.Commitments) != t {
			f.add(j, r, "commitments claim dealer %d with %d points", sc.Index, len(sc.Commitments))
			return
		}
		var cc *dkg.ComplaintCommits
		if err := guard(func() (err error) { cc, err = p.gen.ProcessSecretCommits(sc); return err }); err != nil {
			f.add(j, r, "%w", err)
			return
		}
		if cc != nil {
			p.myComplaints = append(p.myComplaints, cc)
		}
	})
	if err := f.err(); err != nil {
		return nil, err
	}
	return encodeComplaints(p.myComplaints), nil
}

// ProcessCommitComplaints takes every member's complaints against
// commitments (round 5). Any complaint aborts the run, blaming the dealer if
// the complaint is valid and the complainer if not. Otherwise it derives this
// member's share and returns the ID of the committee key, which every member
// broadcasts for confirmation (round 6).
func (p *DKGProtocol) ProcessCommitComplaints(msgs [][]byte) (out []byte, err error) {
	if err := p.enter(roundCommitComplaints, msgs); err != nil {
		return nil, err
	}
	defer func() { err = p.done(err) }()
	n, me, r := p.n, p.me, p.round(roundCommitComplaints)
	f := faults{phase: "dkg commitment complaints"}
	convicted := map[int]bool{}
	for _, cc := range p.myComplaints {
		convicted[int(cc.DealerIndex)] = true
		f.add(int(cc.DealerIndex), p.round(roundSecretCommits), "commitments do not match the deal to member %d", me)
	}
	p.peers(&f, roundCommitComplaints, msgs, func(j int, msg []byte) {
		ccs, err := decodeComplaints(msg, n)
		if err != nil {
			f.add(j, r, "%w", err)
			return
		}
		for _, cc := range ccs {
			dealer := int(cc.DealerIndex)
			if int(cc.Index) != j || dealer >= n || dealer == j {
				f.add(j, r, "malformed commitment complaint")
				return
			}
			if dealer == me {
				// Our own commitments are correct by construction: a
				// complaint about them is false.
				f.add(j, r, "false complaint against this member's commitments")
				continue
			}
			if convicted[dealer] {
				// kyber keeps no commitments it complained about, so it would
				// reject this complaint as "about non received commitments"
				// and blame an honest co-complainer. This member's own
				// complaint already names the dealer; the run aborts either
				// way, so the second complaint is not adjudicated.
				continue
			}
			if err := guard(func() error { _, err := p.gen.ProcessComplaintCommits(cc); return err }); err != nil {
				f.add(j, r, "invalid complaint against dealer %d: %w", dealer, err)
				continue
			}
			f.add(dealer, p.round(roundSecretCommits), "commitments do not match the deal to member %d", j)
		}
	})
	if err := f.err(); err != nil {
		return nil, err
	}
	if !p.gen.Finished() {
		return nil, errors.New("dkg: protocol not finished after all rounds")
	}
	var dks *dkg.DistKeyShare
	if err := guard(func() (err error) { dks, err = p.gen.DistKeyShare(); return err }); err != nil {
		return nil, fmt.Errorf("dkg: key share: %w", err)
	}
	key, err := newCommitteeKey(p.t, n, p.digest, dks.Commits)
	if err != nil {
		return nil, fmt.Errorf("dkg: %w", err)
	}
	sh := &Share{Index: me, Key: key, secret: dks.Share.V}
	if err := sh.check(); err != nil {
		return nil, fmt.Errorf("dkg: %w", err)
	}
	p.share = sh
	id := key.ID()
	return id[:], nil
}

// Finish takes every member's confirmation (round 6) and returns this
// member's Share if all of them derived the same committee key. The transport
// is point to point, so an equivocating member could otherwise leave honest
// members with different keys.
func (p *DKGProtocol) Finish(msgs [][]byte) (sh *Share, err error) {
	if err := p.enter(roundConfirm, msgs); err != nil {
		return nil, err
	}
	defer func() { err = p.done(err) }()
	id := p.share.Key.ID()
	f := faults{phase: "dkg confirmation"}
	for j := 0; j < p.n; j++ {
		switch {
		case j == p.me:
		case len(msgs[j]) == 0:
			f.add(j, p.round(roundConfirm), "no message")
		case len(msgs[j]) != len(id):
			f.add(j, p.round(roundConfirm), "confirmation of %d bytes, want %d", len(msgs[j]), len(id))
		case string(msgs[j]) != string(id[:]):
			f.add(j, p.round(roundConfirm), "derived a different committee key")
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return p.share, nil
}
