package committee

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/mpc/transport"
	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/share"
	dkg "go.dedis.ch/kyber/v3/share/dkg/rabin"
	vss "go.dedis.ch/kyber/v3/share/vss/rabin"
	"go.dedis.ch/kyber/v3/sign/schnorr"
)

// These tests drive DKGProtocol's steps directly, without a network: every
// member's step gets an inbox built from the others' outputs of the previous
// round, and a test rewrites what one member (bad) sent before the honest
// members process it. Each step must then name bad, and only bad.

// stepCommittee is n members' DKGProtocols and what each sent in the last
// round run.
type stepCommittee struct {
	keys []*LongTermKey
	pubs []LongTermPublicKey
	ps   []*DKGProtocol
	// off is the round of out; out[i][j] is what member i sent member j.
	off int
	out [][][]byte
}

const stepFirstRound = 40 // not zero, so that blame's round labels are checked

func newStepCommittee(t *testing.T, n, thr int) *stepCommittee {
	t.Helper()
	keys, pubs := newLongTermKeys(n)
	sc := &stepCommittee{keys: keys, pubs: pubs, ps: make([]*DKGProtocol, n), off: roundDeals, out: make([][][]byte, n)}
	for i := range keys {
		p, err := NewDKGProtocol(keys[i], pubs, i, DKGConfig{Threshold: thr, FirstRound: stepFirstRound})
		if err != nil {
			t.Fatal(err)
		}
		sc.ps[i] = p
		if sc.out[i], err = p.GenDeals(); err != nil {
			t.Fatal(err)
		}
	}
	return sc
}

// inbox is what member to receives in round sc.off (copies, so that a tamper
// function cannot touch another member's view).
func (sc *stepCommittee) inbox(to int) [][]byte {
	in := make([][]byte, len(sc.ps))
	for i := range sc.ps {
		if i != to {
			in[i] = bytes.Clone(sc.out[i][to])
		}
	}
	return in
}

// step runs member i's step for round sc.off.
func (sc *stepCommittee) step(i int, in [][]byte) ([]byte, error) {
	p := sc.ps[i]
	switch sc.off {
	case roundDeals:
		return p.ProcessDeals(in)
	case roundResponses:
		return p.ProcessResponses(in)
	case roundJustifications:
		return p.ProcessJustifications(in)
	case roundSecretCommits:
		return p.ProcessSecretCommits(in)
	case roundCommitComplaints:
		return p.ProcessCommitComplaints(in)
	case roundConfirm:
		sh, err := p.Finish(in)
		if err != nil {
			return nil, err
		}
		return sh.Key.MarshalBinary()
	}
	return nil, fmt.Errorf("no round %d", sc.off)
}

// run runs every member's step on its inbox, first passed through tamper (if
// set), records the broadcasts, moves to the next round and returns each
// member's error.
func (sc *stepCommittee) run(tamper func(to int, in [][]byte)) []error {
	n := len(sc.ps)
	errs := make([]error, n)
	next := make([][][]byte, n)
	for i := 0; i < n; i++ {
		in := sc.inbox(i)
		if tamper != nil {
			tamper(i, in)
		}
		var b []byte
		b, errs[i] = sc.step(i, in)
		next[i] = make([][]byte, n)
		for j := range next[i] {
			next[i][j] = b
		}
	}
	sc.off++
	sc.out = next
	return errs
}

// advance runs honest rounds until the messages of round off are out.
func (sc *stepCommittee) advance(t *testing.T, off int) {
	t.Helper()
	for sc.off < off {
		for i, err := range sc.run(nil) {
			if err != nil {
				t.Fatalf("honest round %d: member %d: %v", sc.off-1, i, err)
			}
		}
	}
}

// blames checks that err is a local FaultError naming exactly want, each
// fault with a round of this DKG.
func blames(t *testing.T, who int, err error, want ...int) {
	t.Helper()
	var fe *FaultError
	if !errors.As(err, &fe) {
		t.Fatalf("member %d: want a FaultError naming %v, got %v", who, want, err)
	}
	if fe.Remote {
		t.Fatalf("member %d: a step's own observation is marked remote: %v", who, err)
	}
	if got := fe.Members(); !equalInts(got, want) {
		t.Fatalf("member %d blames %v, want %v: %v", who, got, want, err)
	}
	for _, f := range fe.Faults {
		if f.Round < stepFirstRound || f.Round >= stepFirstRound+DKGRounds {
			t.Fatalf("member %d: fault in round %d, outside this DKG: %v", who, f.Round, f)
		}
	}
}

// honestMembersBlame checks that every member but bad names exactly want.
func honestMembersBlame(t *testing.T, errs []error, bad int, want ...int) {
	t.Helper()
	for i, err := range errs {
		if i != bad {
			blames(t, i, err, want...)
		}
	}
}

func TestDKGStepsHonestNameNobody(t *testing.T) {
	sc := newStepCommittee(t, 4, 3)
	sc.advance(t, roundConfirm)
	errs := sc.run(nil)
	var key []byte
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		k := sc.out[i][0]
		if key == nil {
			key = k
		} else if !bytes.Equal(k, key) {
			t.Fatalf("member %d derived another key", i)
		}
	}
	// Every step is spent once used, and steps run in order only.
	if _, err := sc.ps[0].Finish(sc.inbox(0)); err == nil {
		t.Fatal("a step ran twice")
	}
	p, err := NewDKGProtocol(sc.keys[0], sc.pubs, 0, DKGConfig{Threshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ProcessResponses(make([][]byte, 4)); err == nil || errors.As(err, new(*FaultError)) {
		t.Fatalf("a step out of order: want a plain error, got %v", err)
	}
}

// tamperCase rewrites what member bad sent member `to` in one round; reason,
// if set, must appear in every honest member's error.
type tamperCase struct {
	name   string
	tamper func(sc *stepCommittee, to int, msg []byte) []byte
	reason string
}

// runTamperCases runs each case on a fresh 4-member committee advanced to
// round off: member bad's message to every other member passes through the
// case's tamper, and every honest member's step must name bad alone.
func runTamperCases(t *testing.T, off, bad int, cases []tamperCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := newStepCommittee(t, 4, 3)
			sc.advance(t, off)
			errs := sc.run(func(to int, in [][]byte) {
				if to != bad {
					in[bad] = c.tamper(sc, to, in[bad])
				}
			})
			honestMembersBlame(t, errs, bad, bad)
			for i, err := range errs {
				if i != bad && !strings.Contains(err.Error(), c.reason) {
					t.Fatalf("member %d: error %q does not say %q", i, err, c.reason)
				}
			}
		})
	}
}

// commonCases are the tampers that apply to every round's message.
func commonCases() []tamperCase {
	return []tamperCase{
		{"missing", func(*stepCommittee, int, []byte) []byte { return nil }, "no message"},
		{"empty", func(*stepCommittee, int, []byte) []byte { return []byte{} }, "no message"},
		{"truncated", func(_ *stepCommittee, _ int, m []byte) []byte { return m[:len(m)-1] }, "truncated"},
		{"trailing byte", func(_ *stepCommittee, _ int, m []byte) []byte { return append(m, 0) }, "trailing bytes"},
		{"garbage", func(_ *stepCommittee, _ int, m []byte) []byte { return bytes.Repeat([]byte{0xff}, len(m)) }, ""},
	}
}

func TestDKGStepDealsBlame(t *testing.T) {
	const bad = 2
	runTamperCases(t, roundDeals, bad, append(commonCases(),
		tamperCase{"undecryptable", func(_ *stepCommittee, _ int, m []byte) []byte {
			m[len(m)-1] ^= 1 // inside the AEAD ciphertext
			return m
		}, "undecryptable deal"},
		tamperCase{"point off the curve", func(_ *stepCommittee, _ int, m []byte) []byte {
			copy(m[4:4+G2Size], bytes.Repeat([]byte{0x5a}, G2Size)) // the DH key
			return m
		}, "point"},
		tamperCase{"another dealer's deal", func(sc *stepCommittee, to int, _ []byte) []byte {
			// A replay of the deal member k sent the same recipient: it claims
			// dealer k, and only bad could have sent it as its own.
			k := (to + 1) % 4
			if k == bad {
				k = (k + 1) % 4
			}
			return bytes.Clone(sc.out[k][to])
		}, "deal claims dealer"},
		tamperCase{"own deal for another recipient", func(sc *stepCommittee, to int, _ []byte) []byte {
			return bytes.Clone(sc.out[bad][(to+1)%4]) // encrypted to someone else (or nil for itself)
		}, ""},
	))
}

// editResponses decodes a responses message, lets edit change it and
// re-encodes it.
func editResponses(m []byte, edit func([]*dkg.Response) []*dkg.Response) []byte {
	rs, err := decodeResponses(m, 4)
	if err != nil {
		panic(err)
	}
	return encodeResponses(edit(rs))
}

func TestDKGStepResponsesBlame(t *testing.T) {
	const bad = 1
	runTamperCases(t, roundResponses, bad, append(commonCases(),
		tamperCase{"duplicate response", func(_ *stepCommittee, _ int, m []byte) []byte {
			return editResponses(m, func(rs []*dkg.Response) []*dkg.Response { rs[1] = rs[0]; return rs })
		}, "claims verifier"},
		tamperCase{"one response short", func(_ *stepCommittee, _ int, m []byte) []byte {
			return editResponses(m, func(rs []*dkg.Response) []*dkg.Response { return rs[1:] })
		}, "2 responses, want 3"},
		tamperCase{"response about itself", func(_ *stepCommittee, _ int, m []byte) []byte {
			return editResponses(m, func(rs []*dkg.Response) []*dkg.Response { rs[0].Index = bad; return rs })
		}, "claims verifier"},
		tamperCase{"response in another's name", func(_ *stepCommittee, _ int, m []byte) []byte {
			return editResponses(m, func(rs []*dkg.Response) []*dkg.Response { rs[0].Response.Index = 3; return rs })
		}, "claims verifier"},
		tamperCase{"forged signature", func(_ *stepCommittee, _ int, m []byte) []byte {
			return editResponses(m, func(rs []*dkg.Response) []*dkg.Response {
				rs[2].Response.Signature[len(rs[2].Response.Signature)-1] ^= 1
				return rs
			})
		}, "invalid signature"},
		tamperCase{"complaint flipped without signing", func(_ *stepCommittee, _ int, m []byte) []byte {
			return editResponses(m, func(rs []*dkg.Response) []*dkg.Response { rs[0].Response.Approved = false; return rs })
		}, "invalid signature"},
	))
}

// falseComplaint makes member c's (validly signed) response about dealer's
// deal a complaint, as every member receives it.
func falseComplaint(sc *stepCommittee, c, dealer int) func(to int, in [][]byte) {
	return func(to int, in [][]byte) {
		if to == c {
			return
		}
		in[c] = editResponses(in[c], func(rs []*dkg.Response) []*dkg.Response {
			for _, x := range rs {
				if int(x.Index) == dealer {
					x.Response.Approved = false
					sig, err := schnorr.Sign(g2Suite(), sc.keys[c].secret, x.Response.Hash(g2Suite()))
					if err != nil {
						panic(err)
					}
					x.Response.Signature = sig
				}
			}
			return rs
		})
	}
}

func TestDKGStepJustificationsBlame(t *testing.T) {
	const bad = 3
	runTamperCases(t, roundJustifications, bad, commonCases())

	t.Run("false complaint", func(t *testing.T) {
		// Member 1 complains about dealer 2's valid deal; dealer 2 justifies.
		const c, dealer = 1, 2
		sc := newStepCommittee(t, 4, 3)
		sc.advance(t, roundResponses)
		for i, err := range sc.run(falseComplaint(sc, c, dealer)) {
			if err != nil {
				t.Fatalf("a complaint is not a fault before it is settled: member %d: %v", i, err)
			}
		}
		errs := sc.run(nil)
		// The dealer knows its deal was good; outsiders cannot tell a false
		// complaint from a bad encrypted deal revealed good afterwards.
		blames(t, dealer, errs[dealer], c)
		blames(t, 0, errs[0], c, dealer)
		blames(t, 3, errs[3], c, dealer)
	})

	t.Run("justification that does not verify", func(t *testing.T) {
		// As above, but the dealer's public justification reveals a share off
		// its commitments: the dealer alone is at fault.
		const c, dealer = 1, 2
		sc := newStepCommittee(t, 4, 3)
		sc.advance(t, roundResponses)
		sc.run(falseComplaint(sc, c, dealer))
		errs := sc.run(func(to int, in [][]byte) {
			if to == dealer {
				return
			}
			js, err := decodeJustifications(in[dealer], 4)
			if err != nil || len(js) != 1 {
				t.Fatalf("dealer's justifications: %d, %v", len(js), err)
			}
			v := js[0].Justification.Deal.SecShare.V
			v.Add(v, g2Suite().Scalar().One())
			in[dealer] = encodeJustifications(js)
		})
		for _, i := range []int{0, 3} {
			blames(t, i, errs[i], dealer)
		}
	})
}

// editCommits decodes bad's commitments, lets edit change them, re-signs them
// with bad's long-term key (a deviation bad itself could make) and re-encodes.
func editCommits(sc *stepCommittee, bad int, m []byte, edit func(*dkg.SecretCommits)) []byte {
	c, err := decodeSecretCommits(m, 3)
	if err != nil {
		panic(err)
	}
	edit(c)
	if c.Signature, err = schnorr.Sign(g2Suite(), sc.keys[bad].secret, c.Hash(g2Suite())); err != nil {
		panic(err)
	}
	return encodeSecretCommits(c)
}

func TestDKGStepCommitmentsBlame(t *testing.T) {
	const bad = 0
	runTamperCases(t, roundSecretCommits, bad, append(commonCases(),
		tamperCase{"forged signature", func(_ *stepCommittee, _ int, m []byte) []byte {
			m[len(m)-1] ^= 1
			return m
		}, "invalid signature"},
		tamperCase{"another dealer's commitments", func(sc *stepCommittee, _ int, _ []byte) []byte {
			return bytes.Clone(sc.out[1][2])
		}, "commitments claim dealer 1"},
		tamperCase{"too few points, signed", func(sc *stepCommittee, _ int, m []byte) []byte {
			return editCommits(sc, bad, m, func(c *dkg.SecretCommits) { c.Commitments = c.Commitments[:2] })
		}, "with 2 points"},
		tamperCase{"wrong session, signed", func(sc *stepCommittee, _ int, m []byte) []byte {
			return editCommits(sc, bad, m, func(c *dkg.SecretCommits) { c.SessionID[0] ^= 1 })
		}, "wrong session id"},
	))

	t.Run("commitments that do not match the deals", func(t *testing.T) {
		// Validly signed commitments of another polynomial: each honest
		// member's share fails against them. The commitments step only
		// complains; the complaints step names the dealer, and only it.
		sc := newStepCommittee(t, 4, 3)
		sc.advance(t, roundSecretCommits)
		errs := sc.run(func(to int, in [][]byte) {
			if to != bad {
				in[bad] = editCommits(sc, bad, in[bad], func(c *dkg.SecretCommits) {
					c.Commitments[1] = g2Suite().Point().Add(c.Commitments[1], g2Suite().Point().Base())
				})
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("member %d: commitments step: %v", i, err)
			}
			if i != bad {
				if cs, err := decodeComplaints(sc.out[i][0], 4); err != nil || len(cs) != 1 || cs[0].DealerIndex != bad {
					t.Fatalf("member %d: want one complaint against %d, got %d (%v)", i, bad, len(cs), err)
				}
			}
		}
		honestMembersBlame(t, sc.run(nil), bad, bad)
	})
}

// fakeDeal is a well-formed VSS deal that no dealer made.
func fakeDeal(to int) *vss.Deal {
	s := g2Suite()
	commits := make([]kyber.Point, 3)
	for i := range commits {
		commits[i] = s.Point().Pick(s.RandomStream())
	}
	return &vss.Deal{
		SessionID:   make([]byte, sessionIDSize),
		SecShare:    &share.PriShare{I: to, V: s.Scalar().Pick(s.RandomStream())},
		RndShare:    &share.PriShare{I: to, V: s.Scalar().Pick(s.RandomStream())},
		T:           3,
		Commitments: commits,
	}
}

func TestDKGStepCommitComplaintsBlame(t *testing.T) {
	const bad = 2
	runTamperCases(t, roundCommitComplaints, bad, append(commonCases(),
		tamperCase{"false complaint, signed", func(sc *stepCommittee, _ int, _ []byte) []byte {
			// bad accuses dealer 0 with a made-up deal; dealer 0 knows its
			// commitments are right, the others find the complaint invalid.
			cc := &dkg.ComplaintCommits{Index: bad, DealerIndex: 0, Deal: fakeDeal(bad)}
			sig, err := schnorr.Sign(g2Suite(), sc.keys[bad].secret, cc.Hash(g2Suite()))
			if err != nil {
				panic(err)
			}
			cc.Signature = sig
			return encodeComplaints([]*dkg.ComplaintCommits{cc})
		}, ""},
		tamperCase{"complaint in another's name", func(sc *stepCommittee, _ int, _ []byte) []byte {
			cc := &dkg.ComplaintCommits{Index: 1, DealerIndex: 0, Deal: fakeDeal(1), Signature: make([]byte, schnorrSigSize)}
			return encodeComplaints([]*dkg.ComplaintCommits{cc})
		}, "malformed commitment complaint"},
		tamperCase{"complaint against itself", func(sc *stepCommittee, _ int, _ []byte) []byte {
			cc := &dkg.ComplaintCommits{Index: bad, DealerIndex: bad, Deal: fakeDeal(bad), Signature: make([]byte, schnorrSigSize)}
			return encodeComplaints([]*dkg.ComplaintCommits{cc})
		}, "malformed commitment complaint"},
	))
}

func TestDKGStepConfirmationBlame(t *testing.T) {
	const bad = 1
	cases := commonCases()
	for i := range cases {
		if n := cases[i].name; n == "truncated" || n == "trailing byte" {
			cases[i].reason = "bytes, want 32"
		}
	}
	runTamperCases(t, roundConfirm, bad, append(cases,
		tamperCase{"another key", func(_ *stepCommittee, _ int, m []byte) []byte {
			m[0] ^= 1
			return m
		}, "derived a different committee key"},
	))
	// Equivocation: bad confirms the right key to some and another to member
	// 0, which alone sees it.
	sc := newStepCommittee(t, 4, 3)
	sc.advance(t, roundConfirm)
	errs := sc.run(func(to int, in [][]byte) {
		if to == 0 {
			in[bad][5] ^= 1
		}
	})
	blames(t, 0, errs[0], bad)
	for _, i := range []int{2, 3} {
		if errs[i] != nil {
			t.Fatalf("member %d saw consistent confirmations but failed: %v", i, errs[i])
		}
	}
}

// Compile-time check that the steps' round labels are transport rounds.
var _ transport.Round = stepFirstRound

// FuzzDKGStepBlame feeds arbitrary bytes, as member 1's deal, to a fresh
// member 0's ProcessDeals (the other deals are honest): the step must not
// panic, and if it rejects the deal it must blame member 1 and nobody else.
// The later rounds need a whole committee's history per input, too slow to
// fuzz; TestDKGStep*Blame cover them case by case.
func FuzzDKGStepBlame(f *testing.F) {
	const bad = 1
	keys, pubs := newLongTermKeys(4)
	inbox := make([][]byte, 4)
	for i := 1; i < 4; i++ {
		p, err := NewDKGProtocol(keys[i], pubs, i, DKGConfig{Threshold: 3, FirstRound: stepFirstRound})
		if err != nil {
			f.Fatal(err)
		}
		deals, err := p.GenDeals()
		if err != nil {
			f.Fatal(err)
		}
		inbox[i] = deals[0]
	}
	f.Add(inbox[bad])
	f.Add(inbox[2]) // another dealer's deal
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewDKGProtocol(keys[0], pubs, 0, DKGConfig{Threshold: 3, FirstRound: stepFirstRound})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.GenDeals(); err != nil {
			t.Fatal(err)
		}
		in := append([][]byte(nil), inbox...)
		in[bad] = data
		if _, err := p.ProcessDeals(in); err != nil {
			blames(t, 0, err, bad)
		}
	})
}
