package he

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// These tests drive SetupProtocol's steps directly, without a network: each
// member's Add steps get the shares the others made, and a test rewrites
// what one member (bad) sent before the honest members take it. The step
// that rejects it must name bad, and only bad.

// setupSteps is n members' SetupProtocols and the messages of the round
// being delivered.
type setupSteps struct {
	ps []*SetupProtocol
	// out[i][j] is what member i sends member j in the current round.
	out [][][]byte
	// pending holds broadcasts made while closing a round, for a later one.
	rk2 [][]byte
}

const stepsCommittee = "setup-steps"

func newSetupSteps(t *testing.T, n, thr int, galEls []uint64) *setupSteps {
	t.Helper()
	preset := insecurePreset(t)
	s := &setupSteps{ps: make([]*SetupProtocol, n)}
	for i := range s.ps {
		p, err := NewSetupProtocol(preset, transport.PartyID(i), n, SetupConfig{CommitteeID: stepsCommittee, Threshold: thr, GaloisElements: galEls, skipShareCheck: true})
		if err != nil {
			t.Fatal(err)
		}
		s.ps[i] = p
	}
	return s
}

// bcast fills out with each member's broadcast made by gen.
func (s *setupSteps) bcast(t *testing.T, gen func(p *SetupProtocol) ([]byte, error)) {
	t.Helper()
	s.out = make([][][]byte, len(s.ps))
	for i, p := range s.ps {
		b, err := gen(p)
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		s.out[i] = make([][]byte, len(s.ps))
		for j := range s.out[i] {
			s.out[i][j] = b
		}
	}
}

// setupStepRound is one round of the setup as the steps see it.
type setupStepRound struct {
	name string
	// open makes every member's share of the round into s.out.
	open func(t *testing.T, s *setupSteps)
	add  func(p *SetupProtocol, j transport.PartyID, b []byte) error
	// close ends the round at member p.
	close func(p *SetupProtocol) error
}

// setupStepRounds are the setup's rounds in the order Setup runs them, with
// one Galois element.
func setupStepRounds() []setupStepRound {
	return []setupStepRound{
		{"shamir", func(t *testing.T, s *setupSteps) {
			s.out = make([][][]byte, len(s.ps))
			for i, p := range s.ps {
				var err error
				if s.out[i], err = p.GenShamirShares(); err != nil {
					t.Fatal(err)
				}
			}
		}, (*SetupProtocol).AddShamirShare, (*SetupProtocol).FinishShamir},
		{"public key", func(t *testing.T, s *setupSteps) { s.bcast(t, (*SetupProtocol).GenPublicKeyShare) },
			(*SetupProtocol).AddPublicKeyShare, (*SetupProtocol).GenPublicKey},
		{"relinearisation 1", func(t *testing.T, s *setupSteps) { s.bcast(t, (*SetupProtocol).GenRelinShareRoundOne) },
			(*SetupProtocol).AddRelinShareRoundOne, nil /* closed by GenRelinShareRoundTwo, see deliver */},
		{"galois", func(t *testing.T, s *setupSteps) {
			s.bcast(t, func(p *SetupProtocol) ([]byte, error) { return p.GenGaloisShare(0) })
		}, func(p *SetupProtocol, j transport.PartyID, b []byte) error { return p.AddGaloisShare(0, j, b) },
			func(p *SetupProtocol) error { return p.GenGaloisKey(0) }},
		{"relinearisation 2", func(t *testing.T, s *setupSteps) {
			s.bcast(t, func(p *SetupProtocol) ([]byte, error) { return s.rk2[p.self], nil })
		},
			(*SetupProtocol).AddRelinShareRoundTwo, (*SetupProtocol).GenRelinearizationKey},
		{"digest", func(t *testing.T, s *setupSteps) { s.bcast(t, (*SetupProtocol).Digest) },
			(*SetupProtocol).CheckDigest, func(p *SetupProtocol) error { _, _, err := p.Finish(); return err }},
	}
}

// deliver runs one round at every member: its share is made, then every
// peer's message is added and the round closed. Member `bad`'s messages to
// the others pass through tamper, which returns the messages to deliver in
// its place (none: it never came; two: a duplicate). The result is each
// member's first error.
func (s *setupSteps) deliver(t *testing.T, rd setupStepRound, bad int, tamper func(to int, msg []byte) [][]byte) []error {
	t.Helper()
	rd.open(t, s)
	n := len(s.ps)
	errs := make([]error, n)
	if rd.close == nil { // the first relinearisation round
		s.rk2 = make([][]byte, n)
	}
	for to, p := range s.ps {
		for j := 0; j < n && errs[to] == nil; j++ {
			if j == to {
				continue
			}
			msgs := [][]byte{bytes.Clone(s.out[j][to])}
			if j == bad && tamper != nil {
				msgs = tamper(to, msgs[0])
			}
			for _, m := range msgs {
				if errs[to] = rd.add(p, transport.PartyID(j), m); errs[to] != nil {
					break
				}
			}
		}
		if errs[to] != nil {
			continue
		}
		if rd.close != nil {
			errs[to] = rd.close(p)
		} else {
			s.rk2[to], errs[to] = p.GenRelinShareRoundTwo()
		}
	}
	return errs
}

// partyErrors lists every *transport.PartyError in err's tree.
func partyErrors(err error) []*transport.PartyError {
	var out []*transport.PartyError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if pe, ok := e.(*transport.PartyError); ok {
			out = append(out, pe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// onlyBlames checks that err names member bad, in round r, and nobody else.
func onlyBlames(t *testing.T, who int, err error, bad int, r transport.Round, reason string) {
	t.Helper()
	pes := partyErrors(err)
	if len(pes) == 0 {
		t.Fatalf("member %d: want member %d blamed, got %v", who, bad, err)
	}
	for _, pe := range pes {
		if int(pe.Party) != bad || pe.Round != r {
			t.Fatalf("member %d blames party %d in round %d, want only %d in round %d: %v", who, pe.Party, pe.Round, bad, r, err)
		}
	}
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("member %d: error %q does not say %q", who, err, reason)
	}
}

var stepsGalEls = []uint64{5}

func TestSetupStepsHonestNameNobody(t *testing.T) {
	const n = 4
	s := newSetupSteps(t, n, 2, stepsGalEls)
	for _, rd := range setupStepRounds() {
		for i, err := range s.deliver(t, rd, -1, nil) {
			if err != nil {
				t.Fatalf("%s: member %d: %v", rd.name, i, err)
			}
		}
	}
	// Every member ends with the same keys, and its record is the one
	// LoadMember reads back.
	ctx := context.Background()
	for i, p := range s.ps {
		if p.m.KeyDigest() != s.ps[0].m.KeyDigest() || !p.m.PublicKey().Equal(s.ps[0].m.PublicKey()) {
			t.Fatalf("member %d derived other keys", i)
		}
		store := NewMemoryStore()
		if err := store.Put(ctx, storeKey(p.m.preset, stepsCommittee, p.self), p.record); err != nil {
			t.Fatal(err)
		}
		m, err := LoadMember(ctx, store, p.m.preset, stepsCommittee, p.self)
		if err != nil || m.KeyDigest() != p.m.KeyDigest() {
			t.Fatalf("member %d: record does not reload: %v", i, err)
		}
	}
	checkRecordFlag(t, s.ps[0])
	// Steps out of order or from nobody are plain errors, not blame.
	p, err := NewSetupProtocol(insecurePreset(t), 0, n, SetupConfig{CommitteeID: stepsCommittee, Threshold: 3, skipShareCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"close before own share": p.GenPublicKey(),
		"add before own share":   p.AddPublicKeyShare(1, nil),
		"digest before keys":     func() error { _, err := p.Digest(); return err }(),
	} {
		if err == nil || len(partyErrors(err)) != 0 {
			t.Errorf("%s: want a plain error, got %v", name, err)
		}
	}
	if _, err := p.GenPublicKeyShare(); err != nil {
		t.Fatal(err)
	}
	for _, j := range []transport.PartyID{0, 4} {
		if err := p.AddPublicKeyShare(j, nil); err == nil || len(partyErrors(err)) != 0 {
			t.Errorf("share from %d: want a plain error, got %v", j, err)
		}
	}
}

func TestSetupStepsBlame(t *testing.T) {
	// Three members keep the 40-odd committees this test builds cheap; the
	// honest members 0 and 2 must both name member 1.
	const n, bad = 3, 1
	one := func(m []byte) [][]byte { return [][]byte{m} }
	type tamperCase struct {
		name   string
		tamper func(to int, m []byte) [][]byte
		reason string
	}
	common := []tamperCase{
		{"missing", func(int, []byte) [][]byte { return nil }, "no "},
		{"duplicate", func(_ int, m []byte) [][]byte { return [][]byte{m, m} }, "second "},
	}
	shares := append(common[:2:2],
		tamperCase{"truncated", func(_ int, m []byte) [][]byte { return one(m[:len(m)-1]) }, "bytes, expected"},
		tamperCase{"wrong kind", func(_ int, m []byte) [][]byte { m[0] = byte(kindPCKS); return one(m) }, "where kind"},
		tamperCase{"unreduced coefficient", func(_ int, m []byte) [][]byte {
			binary.LittleEndian.PutUint64(m[len(m)-8:], ^uint64(0))
			return one(m)
		}, "not reduced"},
	)
	// The share codec is the same in every round (and fuzzed); the first
	// round also gets the length extremes.
	first := append(shares[:len(shares):len(shares)],
		tamperCase{"empty", func(int, []byte) [][]byte { return one(nil) }, "0 bytes"},
		tamperCase{"trailing byte", func(_ int, m []byte) [][]byte { return one(append(m, 0)) }, "bytes, expected"},
		tamperCase{"first coefficient unreduced", func(_ int, m []byte) [][]byte {
			binary.LittleEndian.PutUint64(m[shareHeader:], ^uint64(0))
			return one(m)
		}, "not reduced"},
	)
	for ri, rd := range setupStepRounds() {
		cases := shares
		switch rd.name {
		case "shamir":
			cases = first
		case "galois":
			cases = append(cases, tamperCase{"another element", func(_ int, m []byte) [][]byte {
				binary.LittleEndian.PutUint64(m[1:9], 3)
				return one(m)
			}, "share for Galois element 3, expected 5"})
		case "digest":
			cases = append(common[:2:2], tamperCase{"short digest", func(_ int, m []byte) [][]byte {
				return one(m[:31])
			}, "digest of 31 bytes"})
		}
		for _, c := range cases {
			t.Run(rd.name+"/"+c.name, func(t *testing.T) {
				s := newSetupSteps(t, n, 2, stepsGalEls)
				rounds := setupStepRounds()
				for _, prev := range rounds[:ri] {
					for i, err := range s.deliver(t, prev, -1, nil) {
						if err != nil {
							t.Fatalf("honest %s: member %d: %v", prev.name, i, err)
						}
					}
				}
				errs := s.deliver(t, rd, bad, c.tamper)
				r := stepRound(rd.name)
				for i, err := range errs {
					if i != bad {
						onlyBlames(t, i, err, bad, r, c.reason)
					}
				}
				// Once a step has blamed, the protocol is spent.
				if err := rd.add(s.ps[0], 2, s.out[2][0]); err == nil {
					t.Fatal("a spent protocol took another share")
				}
			})
		}
	}
}

// stepRound maps a test round name to its transport round.
func stepRound(name string) transport.Round {
	return map[string]transport.Round{
		"shamir": roundShamir, "public key": roundCKG, "relinearisation 1": roundRKG1,
		"galois": roundGKG, "relinearisation 2": roundRKG2, "digest": roundDigest,
	}[name]
}

// TestSetupStepsBlameEveryMissingPeer: a round's close names every peer
// whose share never came, not just the first.
func TestSetupStepsBlameEveryMissingPeer(t *testing.T) {
	s := newSetupSteps(t, 4, 3, nil)
	rd := setupStepRounds()[1] // public key
	rd.open(t, s)
	p := s.ps[0]
	if err := p.AddPublicKeyShare(2, s.out[2][0]); err != nil {
		t.Fatal(err)
	}
	err := p.GenPublicKey()
	var got []int
	for _, pe := range partyErrors(err) {
		got = append(got, int(pe.Party))
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("want members 1 and 3 named, got %v: %v", got, err)
	}
	if !errors.As(err, new(*transport.PartyError)) {
		t.Fatal("errors.As finds no PartyError")
	}
}

// truncatingConn truncates what its member sends in one round.
type truncatingConn struct {
	transport.Conn
	round transport.Round
}

func (c *truncatingConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	if r == c.round {
		p = p[:len(p)-1]
	}
	return c.Conn.Send(ctx, to, r, p)
}

// TestSetupDriverNamesBadSender: over the network, a member whose
// public-key share is malformed is named by every other member's Setup, in
// that round, before anything else happens.
func TestSetupDriverNamesBadSender(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	const n, bad = 3, 1
	nw := transport.NewMemoryNetwork()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	badCtx, stopBad := context.WithCancel(ctx) // the deviant waits for shares that never come
	errs := make([]error, n)
	var honest, all sync.WaitGroup
	for i := 0; i < n; i++ {
		conn, err := nw.Open(ctx, "setup", transport.PartyID(i), n)
		if err != nil {
			t.Fatal(err)
		}
		mctx := ctx
		if i == bad {
			conn, mctx = &truncatingConn{Conn: conn, round: roundCKG}, badCtx
		} else {
			honest.Add(1)
		}
		all.Add(1)
		go func(i int) {
			defer all.Done()
			if i != bad {
				defer honest.Done()
			}
			defer conn.Close()
			_, _, errs[i] = Setup(mctx, conn, preset, SetupConfig{CommitteeID: "driver-blame", Threshold: 2, StepTimeout: 30 * time.Second}, NewMemoryStore())
		}(i)
	}
	honest.Wait()
	stopBad()
	all.Wait()
	for _, i := range []int{0, 2} {
		onlyBlames(t, i, errs[i], bad, roundCKG, "public key share")
	}
}

// TestSetupStepsKeysDifferBlamesNobody: a peer whose key digest differs is
// named in ErrKeysDiffer but not blamed (the deviant may be whoever sent
// the two of them different shares).
func TestSetupStepsKeysDifferBlamesNobody(t *testing.T) {
	s := newSetupSteps(t, 3, 2, nil)
	rounds := setupStepRounds()
	for _, rd := range rounds[:len(rounds)-1] {
		if rd.name == "galois" {
			continue
		}
		for i, err := range s.deliver(t, rd, -1, nil) {
			if err != nil {
				t.Fatalf("honest %s: member %d: %v", rd.name, i, err)
			}
		}
	}
	errs := s.deliver(t, rounds[len(rounds)-1], 1, func(_ int, m []byte) [][]byte {
		m[0] ^= 1
		return [][]byte{m}
	})
	for _, i := range []int{0, 2} {
		if !errors.Is(errs[i], ErrKeysDiffer) || len(partyErrors(errs[i])) != 0 || !strings.Contains(errs[i].Error(), "member 1's digest") {
			t.Fatalf("member %d: want ErrKeysDiffer naming member 1 without blame, got %v", i, errs[i])
		}
	}
}

// FuzzSetupAddShareBlame feeds arbitrary bytes, as member 1's public-key
// share, to a fresh member 0's AddPublicKeyShare: the step must not panic,
// must accept exactly the shares of the right length, kind and reduced
// coefficients, and must blame member 1 alone, in the public-key round, for
// anything else.
func FuzzSetupAddShareBlame(f *testing.F) {
	preset, err := InsecureTestPreset()
	if err != nil {
		f.Fatal(err)
	}
	cfg := SetupConfig{CommitteeID: "fuzz-blame", Threshold: 2}
	peer, err := NewSetupProtocol(preset, 1, 3, cfg)
	if err != nil {
		f.Fatal(err)
	}
	share, err := peer.GenPublicKeyShare()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(share)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewSetupProtocol(preset, 0, 3, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.GenPublicKeyShare(); err != nil {
			t.Fatal(err)
		}
		err = p.AddPublicKeyShare(1, data)
		if err == nil {
			if len(data) != len(share) || data[0] != byte(kindCKG) {
				t.Fatal("accepted a share of the wrong shape")
			}
			return
		}
		pes := partyErrors(err)
		if len(pes) != 1 || pes[0].Party != 1 || pes[0].Round != roundCKG {
			t.Fatalf("want member 1 blamed in round %d, got %v", roundCKG, err)
		}
	})
}

// checkRecordFlag: the shares-checked word of a key record reloads, is part
// of the key digest, and a value other than 0 or 1 is rejected; a record in
// the format before the share check (CHK1, no such word) loads as
// unchecked with the digest it had then.
func checkRecordFlag(t *testing.T, p *SetupProtocol) {
	t.Helper()
	ctx := context.Background()
	m := p.m
	key := storeKey(m.preset, stepsCommittee, p.self)
	load := func(rec []byte) (*Member, error) {
		store := NewMemoryStore()
		if err := store.Put(ctx, key, rec); err != nil {
			t.Fatal(err)
		}
		return LoadMember(ctx, store, m.preset, stepsCommittee, p.self)
	}
	if m.SharesChecked() {
		t.Fatal("a step-test setup (checks skipped) says its shares were checked")
	}
	unchecked, dU := m.record()
	m.sharesChecked = true
	checked, dC := m.record()
	m.sharesChecked = false
	if dU == dC {
		t.Fatal("the shares-checked flag is not part of the key digest")
	}
	got, err := load(checked)
	if err != nil || !got.SharesChecked() || got.KeyDigest() != dC {
		t.Fatalf("checked record does not reload as checked: %v", err)
	}
	// The flag word sits right before the key count: the record's public-key
	// region starts there.
	off := len(recordMagic) + 8 + len(stepsCommittee) + 4*8 + 8*len(m.galEls)
	off += 8 + int(binary.LittleEndian.Uint64(unchecked[off:]))
	if binary.LittleEndian.Uint64(unchecked[off:]) != 0 || binary.LittleEndian.Uint64(checked[off:]) != 1 {
		t.Fatal("flag word not where expected")
	}
	bad := bytes.Clone(checked)
	bad[off] = 2
	if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "shares-checked") {
		t.Fatalf("flag 2 accepted: %v", err)
	}
	v1 := append(append([]byte(recordMagicV1), unchecked[len(recordMagic):off]...), unchecked[off+8:]...)
	got, err = load(v1)
	if err != nil || got.SharesChecked() || got.KeyDigest() != keyDigest(m.preset, stepsCommittee, unchecked[off+8:]) {
		t.Fatalf("CHK1 record does not load as unchecked: %v", err)
	}
}

// TestShareCheckNeedsDigestEcho: the step API itself enforces the digest
// echo. A checked setup's CheckShares refuses to run before this member's
// shares digest was made and every peer's matched it (a partial echo too);
// a peer's different digest is ErrKeysDiffer (blaming nobody) and one of the
// wrong length names that peer; GenRelinShareRoundTwo refuses before the
// check; with the echo complete the check runs over the network and passes,
// and the round-two and Galois checks still refuse before their own echoes.
func TestShareCheckNeedsDigestEcho(t *testing.T) {
	const n, thr = 3, 2 // t = ⌈n/2⌉: checked
	preset := insecurePreset(t)
	newSteps := func() *setupSteps {
		s := &setupSteps{ps: make([]*SetupProtocol, n)}
		for i := range s.ps {
			p, err := NewSetupProtocol(preset, transport.PartyID(i), n, SetupConfig{CommitteeID: stepsCommittee, Threshold: thr, GaloisElements: stepsGalEls})
			if err != nil {
				t.Fatal(err)
			}
			if !p.SharesChecked() {
				t.Fatal("a 2-of-3 setup does not run the share check")
			}
			s.ps[i] = p
		}
		rounds := setupStepRounds()
		for _, rd := range rounds[:2] { // Shamir, public key
			for i, err := range s.deliver(t, rd, -1, nil) {
				if err != nil {
					t.Fatalf("%s: member %d: %v", rd.name, i, err)
				}
			}
		}
		// The first relinearisation round and the Galois round, left open.
		for _, rd := range []setupStepRound{rounds[2], rounds[3]} {
			rd.open(t, s)
			for to, p := range s.ps {
				for j := range s.ps {
					if j != to {
						if err := rd.add(p, transport.PartyID(j), s.out[j][to]); err != nil {
							t.Fatalf("%s: member %d: %v", rd.name, to, err)
						}
					}
				}
			}
		}
		return s
	}
	ctx := context.Background()
	noEcho := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "digest agreed") {
			t.Fatalf("%s: want a refusal for the missing digest echo, got %v", what, err)
		}
	}
	s := newSteps()
	p := s.ps[0]
	noEcho("no digest", p.CheckShares(ctx, nil))
	if _, err := p.GenRelinShareRoundTwo(); err == nil || !strings.Contains(err.Error(), "checked") {
		t.Fatalf("round-two share before the check: %v", err)
	}
	digests := make([][]byte, n)
	for i, q := range s.ps {
		var err error
		if digests[i], err = q.SharesDigest(false); err != nil {
			t.Fatal(err)
		}
	}
	noEcho("own digest only", p.CheckShares(ctx, nil))
	if err := p.CompareSharesDigest(false, roundEcho1, 1, digests[1]); err != nil {
		t.Fatal(err)
	}
	noEcho("one peer's digest", p.CheckShares(ctx, nil))
	// A wrong length names the peer; another digest blames nobody.
	if err := s.ps[1].CompareSharesDigest(false, roundEcho1, 2, digests[2][:5]); len(partyErrors(err)) != 1 || partyErrors(err)[0].Party != 2 || partyErrors(err)[0].Round != roundEcho1 {
		t.Fatalf("short digest: %v", err)
	}
	other := bytes.Clone(digests[0])
	other[0]++
	if err := s.ps[2].CompareSharesDigest(false, roundEcho1, 0, other); !errors.Is(err, ErrKeysDiffer) || len(partyErrors(err)) != 0 {
		t.Fatalf("other digest: %v", err)
	}

	// A full echo among fresh members: the check runs and passes.
	s = newSteps()
	digests = make([][]byte, n)
	for i, q := range s.ps {
		var err error
		if digests[i], err = q.SharesDigest(false); err != nil {
			t.Fatal(err)
		}
	}
	for i, q := range s.ps {
		for j := range s.ps {
			if j != i {
				if err := q.CompareSharesDigest(false, roundEcho1, transport.PartyID(j), digests[j]); err != nil {
					t.Fatalf("member %d, digest of %d: %v", i, j, err)
				}
			}
		}
	}
	mpctest.MustRun(t, n, func(ctx context.Context, conn transport.Conn) (struct{}, error) {
		party, err := ss.NewParty(ctx, conn, ss.Config{Security: ss.Malicious})
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, s.ps[conn.Self()].CheckShares(ctx, party)
	}, mpctest.Timeout(3*time.Minute))
	p = s.ps[0]
	noEcho("Galois check", p.CheckGaloisShares(ctx, nil))
	if _, err := p.GenRelinShareRoundTwo(); err != nil {
		t.Fatal(err)
	}
	noEcho("round-two check", p.CheckSharesRoundTwo(ctx, nil))
}
