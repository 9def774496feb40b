package he

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/utils/structs"

	"github.com/cohortnet/cohort/mpc/he/sharecheck"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// SetupProtocol is one member's side of the committee key generation, split
// into steps in the style of lattigo's mhe protocols (which it drives): Gen*
// steps make this member's share for a round, Add* steps aggregate one
// peer's share into the round's aggregate as it arrives (decoding and adding
// in one pass over shares of tens of megabytes), and the round's closing step
// checks that every peer's share was added once and makes the key. It does no
// I/O: Setup is the network driver, and tests call the steps directly.
//
// Blame: an Add step that rejects a share returns a *transport.PartyError
// naming its sender and the round (malformed, wrong length or kind,
// unreduced coefficient, a Galois share for another element, a second share
// from the same peer); a closing step names every
// peer whose share never came, each in a *transport.PartyError (joined with
// errors.Join when there are several). After such an error the protocol is
// spent: an aggregate may hold half of a rejected share, and the setup is
// re-run anyway. Errors that are not a peer's fault (a step called out of
// order, an unknown sender index) are plain errors, and so is ErrKeysDiffer,
// which names a peer with other keys without blaming it.
//
// The steps, in the order Setup runs them (a peer's shares may be added in
// any order within a round):
//
//	GenShamirShares → AddShamirShare… → FinishShamir       (roundShamir)
//	GenPublicKeyShare → AddPublicKeyShare… → GenPublicKey   (roundCKG)
//	GenRelinShareRoundOne → AddRelinShareRoundOne…         (roundRKG1)
//	SharesDigest(false) → CompareSharesDigest(false)…      (roundEcho1)
//	CheckShares (an SS job among the members, see below)
//	GenRelinShareRoundTwo                                  (closes roundRKG1)
//	GenGaloisShare(i) → AddGaloisShare(i)…                 (roundGKG+i, each i)
//	GaloisSharesDigest → CompareGaloisSharesDigest… →
//	  CheckGaloisShares                                    (roundEchoGKG)
//	GenGaloisKey(i)                                        (closes roundGKG+i)
//	AddRelinShareRoundTwo… → SharesDigest(true) →
//	  CompareSharesDigest(true)… → CheckSharesRoundTwo →
//	  GenRelinearizationKey                                (roundRKG2)
//
// (The digest and check steps only when the setup runs the checks; each
// check refuses to run before every peer's digest matched this member's.)
//
//	Digest → CheckDigest… → Finish                          (roundDigest)
//
// The share checks run only when ShareCheckRuns(n, t) (t ≤ ⌈n/2⌉, see
// there): for a larger threshold they would hand a coalition smaller than t
// every member's secret, so the setup runs without them, never deals a
// secret into the SS engine, and its key record says so (SharesChecked).
// When they run:
//
// CheckShares proves, in the committee's malicious-secure SS engine, that
// every member's public-key share and first-round relinearisation share are
// well formed with a short witness (mpc/he/sharecheck), before any
// second-round share leaves (a round-two share multiplies the first round's
// aggregate, which a rushing member could otherwise choose);
// CheckSharesRoundTwo does the same for the second round. A member whose
// shares fail is named (*transport.PartyError for roundCKG, roundRKG1 or
// roundRKG2), and CheckGaloisShares, one check of every Galois key's
// shares (sharecheck.CheckBatch: s proven once, one element at a time in
// memory), before any GenGaloisKey (a failing share is named in its
// element's round roundGKG+i). GenGaloisKey and Digest refuse to run
// before these passed: no key record, hence no key, exists without them.
//
// Finish returns the member and its key record; Setup then runs the
// known-answer key test over the network before persisting them. A
// SetupProtocol is not safe for concurrent use.
type SetupProtocol struct {
	params rlwe.Parameters
	n      int
	self   transport.PartyID
	cfg    SetupConfig
	m      *Member
	failed bool

	// This member's additive share of the collective secret. It lives only
	// for the setup; jobs use the threshold share.
	sk *rlwe.SecretKey

	thr    mhe.Thresholdizer
	ckg    mhe.PublicKeyGenProtocol
	rkg    mhe.RelinearizationKeyGenProtocol
	gkg    mhe.GaloisKeyGenProtocol
	ckgCRP mhe.PublicKeyGenCRP
	rkgCRP mhe.RelinearizationKeyGenCRP
	gkgCRP []mhe.GaloisKeyGenCRP

	// Aggregates: each starts as this member's own share and receives the
	// peers' shares.
	ckgShare   mhe.PublicKeyGenShare
	ephSk      *rlwe.SecretKey
	rkg1, rkg2 mhe.RelinearizationKeyGenShare
	gkgShares  []mhe.GaloisKeyGenShare

	// The bookkeeping of each round: which peers' shares have been added,
	// and whether this member's own share has been made.
	shamir, pkr, rk1, rk2, dig setupRound
	gal                        []setupRound
	record                     []byte

	// Every member's public-key, relinearisation and Galois shares as
	// received (this member's own as sent), for the share checks; released
	// once no check needs them.
	pkMsgs, rk1Msgs, rk2Msgs                 [][]byte
	galMsgs                                  [][][]byte // per Galois element
	sharesChecked, round2Checked, galChecked bool
	// check: this setup runs the share checks (ShareCheckRuns, and not
	// skipped by a step test); recorded in the key record.
	check bool
	// The digest echo before each check: echo1 before CheckShares, echo2
	// before CheckSharesRoundTwo, echoGal before CheckGaloisShares.
	echo1, echo2, echoGal echo
}

// echo is one comparison of the members' shares digests: this member's
// digest and which peers' digests matched it.
type echo struct {
	mine []byte
	got  []bool
}

// agreed reports whether every peer's digest matched this member's.
func (e *echo) agreed(self transport.PartyID) bool {
	if e.mine == nil {
		return false
	}
	for j, ok := range e.got {
		if !ok && transport.PartyID(j) != self {
			return false
		}
	}
	return true
}

// ShareCheckRuns reports whether the setup of an n-member committee with
// threshold t runs the share checks: iff n ≥ 3 and t ≤ ⌊(n−1)/2⌋+1 = ⌈n/2⌉
// (sharecheck.MaxThreshold). The checks deal every member's secret into
// the honest-majority SS engine, whose sharings any ⌊(n−1)/2⌋+1 members can
// open; with a larger t that coalition is smaller than t and would read the
// collective secret without deviating, so such a setup runs unchecked (the
// noise-trust limitation of doc.go applies to it).
func ShareCheckRuns(n, t int) bool {
	return n >= 3 && t >= 1 && t <= sharecheck.MaxThreshold(n)
}

// SharesChecked reports whether this setup runs the share checks (see
// ShareCheckRuns); the key record and Member.SharesChecked carry it.
func (p *SetupProtocol) SharesChecked() bool { return p.check }

// errNoCheck is returned by the share-check steps of a setup that runs
// unchecked.
func (p *SetupProtocol) errNoCheck() error {
	return fmt.Errorf("he: no share check for threshold %d of %d members: it would let %d members read the secret (t must be at most %d)",
		p.cfg.Threshold, p.n, sharecheck.MaxThreshold(p.n), sharecheck.MaxThreshold(p.n))
}

// setupRound tracks one round's aggregation.
type setupRound struct {
	r      transport.Round
	what   string
	open   bool // this member's share is made and the round not closed
	closed bool
	got    []bool
}

// NewSetupProtocol prepares member self's side of the setup of an n-member
// committee: it checks the configuration, samples the common reference
// polynomials from the committee's CRS (in the fixed order every member and
// LoadMember use) and draws this member's secret share.
func NewSetupProtocol(preset *Preset, self transport.PartyID, n int, cfg SetupConfig) (*SetupProtocol, error) {
	if cfg.Threshold < 1 || cfg.Threshold > n {
		return nil, fmt.Errorf("he: threshold %d out of range for %d members", cfg.Threshold, n)
	}
	if cfg.CommitteeID == "" {
		return nil, fmt.Errorf("he: setup needs a committee id")
	}
	if int(self) < 0 || int(self) >= n {
		return nil, fmt.Errorf("he: member %d outside a committee of %d", self, n)
	}
	params := preset.RLWE()
	galEls := sortedUnique(cfg.GaloisElements)
	p := &SetupProtocol{
		params: params, n: n, self: self, cfg: cfg,
		m:   &Member{preset: preset, committee: cfg.CommitteeID, self: self, n: n, t: cfg.Threshold, galEls: galEls},
		thr: mhe.NewThresholdizer(params),
		ckg: mhe.NewPublicKeyGenProtocol(params),
		rkg: mhe.NewRelinearizationKeyGenProtocol(params),
		gkg: mhe.NewGaloisKeyGenProtocol(params),
	}
	prng, err := crs(preset, cfg.CommitteeID)
	if err != nil {
		return nil, err
	}
	p.ckgCRP = p.ckg.SampleCRP(prng)
	p.rkgCRP = p.rkg.SampleCRP(prng)
	p.gkgCRP = make([]mhe.GaloisKeyGenCRP, len(galEls))
	for i := range galEls {
		p.gkgCRP[i] = p.gkg.SampleCRP(prng)
	}
	p.sk = rlwe.NewKeyGenerator(params).GenSecretKeyNew()
	p.check = ShareCheckRuns(n, cfg.Threshold) && !cfg.skipShareCheck
	p.m.sharesChecked = p.check
	p.pkMsgs, p.rk1Msgs, p.rk2Msgs = make([][]byte, n), make([][]byte, n), make([][]byte, n)
	p.galMsgs = make([][][]byte, len(galEls))
	p.echo1.got, p.echo2.got, p.echoGal.got = make([]bool, n), make([]bool, n), make([]bool, n)
	for i := range p.galMsgs {
		p.galMsgs[i] = make([][]byte, n)
	}

	newRound := func(r transport.Round, what string) setupRound {
		return setupRound{r: r, what: what, got: make([]bool, n)}
	}
	p.shamir = newRound(roundShamir, "shamir share")
	p.pkr = newRound(roundCKG, "public key share")
	p.rk1 = newRound(roundRKG1, "relinearisation share (round 1)")
	p.rk2 = newRound(roundRKG2, "relinearisation share (round 2)")
	p.dig = newRound(roundDigest, "key digest")
	p.gal = make([]setupRound, len(galEls))
	p.gkgShares = make([]mhe.GaloisKeyGenShare, len(galEls))
	for i := range galEls {
		p.gal[i] = newRound(roundGKG+transport.Round(i), fmt.Sprintf("Galois key share (element %d)", galEls[i]))
	}
	return p, nil
}

// GaloisElements lists the Galois elements in the order of their rounds.
func (p *SetupProtocol) GaloisElements() []uint64 { return p.m.GaloisElements() }

// usable checks that the protocol has not failed.
func (p *SetupProtocol) usable() error {
	if p.failed {
		return errors.New("he: setup protocol already failed")
	}
	return nil
}

// open marks this member's share of a round as made.
func (p *SetupProtocol) open(sr *setupRound) error {
	if err := p.usable(); err != nil {
		return err
	}
	if sr.open || sr.closed {
		return fmt.Errorf("he: %s made twice", sr.what)
	}
	sr.open = true
	return nil
}

// add aggregates peer j's message of a round with fn, blaming j if it is a
// second message or fn rejects it.
func (p *SetupProtocol) add(sr *setupRound, j transport.PartyID, msg []byte, fn func([]byte) error) error {
	if err := p.usable(); err != nil {
		return err
	}
	switch {
	case int(j) < 0 || int(j) >= p.n || j == p.self:
		return fmt.Errorf("he: %s from %d, not a peer of member %d of %d", sr.what, j, p.self, p.n)
	case !sr.open:
		return fmt.Errorf("he: %s from member %d before this member's own", sr.what, j)
	case sr.got[j]:
		p.failed = true
		return &transport.PartyError{Party: j, Round: sr.r, Err: fmt.Errorf("he: second %s", sr.what)}
	}
	if err := fn(msg); err != nil {
		p.failed = true
		return &transport.PartyError{Party: j, Round: sr.r, Err: fmt.Errorf("he: %s: %w", sr.what, err)}
	}
	sr.got[j] = true
	return nil
}

// close ends a round, naming every peer whose message was not added.
func (p *SetupProtocol) close(sr *setupRound) error {
	if err := p.usable(); err != nil {
		return err
	}
	if !sr.open {
		return fmt.Errorf("he: %s round closed before this member's share was made", sr.what)
	}
	var missing []error
	for j, ok := range sr.got {
		if !ok && transport.PartyID(j) != p.self {
			missing = append(missing, &transport.PartyError{Party: transport.PartyID(j), Round: sr.r, Err: fmt.Errorf("he: no %s", sr.what)})
		}
	}
	if len(missing) > 0 {
		p.failed = true
		return errors.Join(missing...)
	}
	sr.open, sr.closed = false, true
	return nil
}

// GenShamirShares deals this member's secret in t-out-of-N Shamir shares:
// out[j] is member j's share (private: it must go to j alone), out[self] is
// nil. This member's own share starts its threshold share.
func (p *SetupProtocol) GenShamirShares() ([][]byte, error) {
	if err := p.open(&p.shamir); err != nil {
		return nil, err
	}
	poly, err := p.thr.GenShamirPolynomial(p.cfg.Threshold, p.sk)
	if err != nil {
		p.failed = true
		return nil, fmt.Errorf("he: shamir polynomial: %w", err)
	}
	p.m.tsk = p.thr.AllocateThresholdSecretShare()
	p.thr.GenShamirSecretShare(shamirPoint(p.self), poly, &p.m.tsk)
	N := p.params.N()
	out := make([][]byte, p.n)
	for j := 0; j < p.n; j++ {
		if transport.PartyID(j) == p.self {
			continue
		}
		s := p.thr.AllocateThresholdSecretShare()
		p.thr.GenShamirSecretShare(shamirPoint(transport.PartyID(j)), poly, &s)
		if d := p.cfg.deviation; d != nil && d.ShamirShare && j == (int(p.self)+1)%p.n {
			corrupt(p.params, s.Poly.Q)
		}
		out[j] = newShape(p.params).polyQP(s.Poly).encode(kindShamir, 0, N)
	}
	return out, nil
}

// AddShamirShare adds the Shamir share member j dealt this member to its
// threshold share (the sum of mhe's AggregateShares).
func (p *SetupProtocol) AddShamirShare(j transport.PartyID, msg []byte) error {
	return p.add(&p.shamir, j, msg, func(b []byte) error {
		_, err := newShape(p.params).polyQP(p.m.tsk.Poly).decodeAdd(kindShamir, b, p.params.N())
		return err
	})
}

// FinishShamir closes the Shamir round: the threshold share is complete.
func (p *SetupProtocol) FinishShamir() error { return p.close(&p.shamir) }

// GenPublicKeyShare returns this member's collective-public-key share, to
// broadcast.
func (p *SetupProtocol) GenPublicKeyShare() ([]byte, error) {
	if err := p.open(&p.pkr); err != nil {
		return nil, err
	}
	p.ckgShare = p.ckg.AllocateShare()
	p.ckg.GenShare(p.sk, p.ckgCRP, &p.ckgShare)
	if d := p.cfg.deviation; d != nil && d.PublicKeyShare {
		corrupt(p.params, p.ckgShare.Value.Q)
	}
	if d := p.cfg.deviation; d != nil && d.InflatedPublicKeyError != 0 {
		inflate(p.params, p.ckgShare.Value, d.InflatedPublicKeyError)
	}
	b := newShape(p.params).polyQP(p.ckgShare.Value).encode(kindCKG, 0, p.params.N())
	if p.check { // kept for the share checks only
		p.pkMsgs[p.self] = b
	}
	return b, nil
}

// AddPublicKeyShare aggregates member j's public-key share.
func (p *SetupProtocol) AddPublicKeyShare(j transport.PartyID, msg []byte) error {
	return p.add(&p.pkr, j, msg, func(b []byte) error {
		_, err := newShape(p.params).polyQP(p.ckgShare.Value).decodeAdd(kindCKG, b, p.params.N())
		if err == nil && p.check {
			p.pkMsgs[j] = bytes.Clone(b)
		}
		return err
	})
}

// GenPublicKey closes the public-key round and makes the collective public
// key.
func (p *SetupProtocol) GenPublicKey() error {
	if err := p.close(&p.pkr); err != nil {
		return err
	}
	p.m.pk = rlwe.NewPublicKey(p.params)
	p.ckg.GenPublicKey(p.ckgShare, p.ckgCRP, p.m.pk)
	return nil
}

// GenRelinShareRoundOne returns this member's first relinearisation-key
// share, to broadcast.
func (p *SetupProtocol) GenRelinShareRoundOne() ([]byte, error) {
	if err := p.open(&p.rk1); err != nil {
		return nil, err
	}
	p.ephSk, p.rkg1, p.rkg2 = p.rkg.AllocateShare()
	p.rkg.GenShareRoundOne(p.sk, p.rkgCRP, p.ephSk, &p.rkg1)
	if d := p.cfg.deviation; d != nil && d.RelinShareRoundOne {
		corrupt(p.params, p.rkg1.Value[0][0][1].Q)
	}
	b := newShape(p.params).gadget(p.rkg1.GadgetCiphertext).encode(kindRKG1, 0, p.params.N())
	if p.check { // kept for the share checks only
		p.rk1Msgs[p.self] = b
	}
	return b, nil
}

// AddRelinShareRoundOne aggregates member j's first relinearisation share.
func (p *SetupProtocol) AddRelinShareRoundOne(j transport.PartyID, msg []byte) error {
	return p.add(&p.rk1, j, msg, func(b []byte) error {
		_, err := newShape(p.params).gadget(p.rkg1.GadgetCiphertext).decodeAdd(kindRKG1, b, p.params.N())
		if err == nil && p.check {
			p.rk1Msgs[j] = bytes.Clone(b)
		}
		return err
	})
}

// shareCheckSetup is the statement CheckShares proves for this committee
// (public: the CRPs and the rounds it reports).
func (p *SetupProtocol) shareCheckSetup() *sharecheck.Setup {
	return &sharecheck.Setup{Params: p.params, PKCRP: p.ckgCRP, RKGCRP: &p.rkgCRP, PKRound: roundCKG, RKGRound: roundRKG1}
}

// CheckShares runs the share check (see SetupProtocol) on party, an SS
// engine over the committee's connection in malicious mode (ss.NewParty).
// Every member's public-key share must have been added (GenPublicKey) and
// every first relinearisation share (AddRelinShareRoundOne); it runs before
// GenRelinShareRoundTwo. The system (sharecheck.Setup.System) is checked as
// one batch of its gadget rows (checkByRow).
func (p *SetupProtocol) CheckShares(ctx context.Context, party *ss.Party) error {
	if err := p.usable(); err != nil {
		return err
	}
	if !p.check {
		return p.errNoCheck()
	}
	if !p.pkr.closed || !p.rk1.open || p.sharesChecked {
		return errors.New("he: share check out of order")
	}
	if !p.echo1.agreed(p.self) {
		return errors.New("he: share check before every member's shares digest agreed (SharesDigest, CompareSharesDigest)")
	}
	for j, b := range p.rk1Msgs {
		if b == nil {
			return fmt.Errorf("he: share check before member %d's relinearisation share", j)
		}
	}
	if party.N() != p.n || party.Self() != int(p.self) {
		return fmt.Errorf("he: share check on a party %d of %d, member %d of %d", party.Self(), party.N(), p.self, p.n)
	}
	su := p.shareCheckSetup()
	sys, err := su.System()
	if err != nil {
		return err
	}
	stmts := make([]sharecheck.Statement, p.n)
	for d := 0; d < p.n; d++ {
		pk, r1, err := p.decodeChecked(d)
		if err != nil {
			return err
		}
		if stmts[d], err = su.Statement(pk, &r1); err != nil {
			return fmt.Errorf("he: share check: member %d: %w", d, err)
		}
	}
	if err := p.checkByRow(ctx, party, su, sys, stmts); err != nil {
		p.failed = true
		return fmt.Errorf("he: setup share check: %w", err)
	}
	p.sharesChecked = true
	return nil
}

// checkByRow runs the check of a relinearisation round's system as one
// batch of its gadget rows (sharecheck.Setup.RowParts): one row's input
// shares in memory at a time, the same proof as one check of sys.
func (p *SetupProtocol) checkByRow(ctx context.Context, party *ss.Party, su *sharecheck.Setup, sys *sharecheck.System, stmts []sharecheck.Statement) error {
	partOf, err := su.RowParts(sys)
	if err != nil {
		return err
	}
	systems, err := sys.Split(partOf)
	if err != nil {
		return err
	}
	split := make([][]sharecheck.Statement, p.n) // [member][part]
	for d, st := range stmts {
		if split[d], err = sharecheck.SplitStatement(st, partOf); err != nil {
			return fmt.Errorf("he: share check: member %d: %w", d, err)
		}
	}
	parts := make([]sharecheck.Part, len(systems))
	for k, ps := range systems {
		parts[k] = sharecheck.Part{
			Sys: ps,
			Statements: func() ([]sharecheck.Statement, error) {
				out := make([]sharecheck.Statement, p.n)
				for d := range out {
					out[d] = split[d][k]
				}
				return out, nil
			},
			// An honest member's witness is always short (ok); a
			// deviant's is not, and it is input anyway: the check names
			// its owner.
			Witness: func(own sharecheck.Statement) (*sharecheck.Witness, error) {
				w, _, err := su.Witness(ps, own, p.sk, p.ephSk)
				if err != nil {
					return nil, fmt.Errorf("he: share check: %w", err)
				}
				return w, nil
			},
		}
	}
	_, err = sharecheck.CheckBatch(ctx, party, parts)
	return err
}

// GenRelinShareRoundTwo closes the first relinearisation round and returns
// this member's second share, computed from the first round's aggregate, to
// broadcast.
func (p *SetupProtocol) GenRelinShareRoundTwo() ([]byte, error) {
	if p.check && !p.sharesChecked {
		return nil, errors.New("he: second relinearisation share before the first round's shares were checked (CheckShares)")
	}
	if err := p.close(&p.rk1); err != nil {
		return nil, err
	}
	if err := p.open(&p.rk2); err != nil {
		return nil, err
	}
	p.rkg.GenShareRoundTwo(p.ephSk, p.sk, p.rkg1, &p.rkg2)
	if d := p.cfg.deviation; d != nil && d.RelinShare {
		corrupt(p.params, p.rkg2.Value[0][0][0].Q)
	}
	b := newShape(p.params).gadget(p.rkg2.GadgetCiphertext).encode(kindRKG2, 0, p.params.N())
	if p.check { // kept for the share checks only
		p.rk2Msgs[p.self] = b
	}
	return b, nil
}

// AddRelinShareRoundTwo aggregates member j's second relinearisation share.
func (p *SetupProtocol) AddRelinShareRoundTwo(j transport.PartyID, msg []byte) error {
	return p.add(&p.rk2, j, msg, func(b []byte) error {
		_, err := newShape(p.params).gadget(p.rkg2.GadgetCiphertext).decodeAdd(kindRKG2, b, p.params.N())
		if err == nil && p.check {
			p.rk2Msgs[j] = bytes.Clone(b)
		}
		return err
	})
}

// CheckSharesRoundTwo runs the share check of the second relinearisation
// round (sharecheck.Setup.SystemRoundTwo: it re-proves the public-key share
// and the first round's row-0 h0, binding s and u to those CheckShares
// proved) on the same party, once every member's second-round share has been
// added and before GenRelinearizationKey; as CheckShares, one batch of the
// gadget rows.
func (p *SetupProtocol) CheckSharesRoundTwo(ctx context.Context, party *ss.Party) error {
	if err := p.usable(); err != nil {
		return err
	}
	if !p.check {
		return p.errNoCheck()
	}
	if !p.sharesChecked || !p.rk2.open || p.round2Checked {
		return errors.New("he: second-round share check out of order")
	}
	if !p.echo2.agreed(p.self) {
		return errors.New("he: second-round share check before every member's shares digest agreed (SharesDigest, CompareSharesDigest)")
	}
	for j, b := range p.rk2Msgs {
		if b == nil {
			return fmt.Errorf("he: second-round share check before member %d's share", j)
		}
	}
	su := p.shareCheckSetup()
	sys, err := su.SystemRoundTwo(&p.rkg1, roundRKG2)
	if err != nil {
		return err
	}
	stmts := make([]sharecheck.Statement, p.n)
	for d := 0; d < p.n; d++ {
		pk, r1, err := p.decodeChecked(d)
		if err != nil {
			return err
		}
		_, _, r2 := p.rkg.AllocateShare()
		if _, err := newShape(p.params).gadget(r2.GadgetCiphertext).decodeAdd(kindRKG2, p.rk2Msgs[d], p.params.N()); err != nil {
			return fmt.Errorf("he: share check: second relinearisation share of member %d: %w", d, err)
		}
		if stmts[d], err = su.StatementRoundTwo(pk, &r1, &r2); err != nil {
			return fmt.Errorf("he: share check: member %d: %w", d, err)
		}
	}
	if err := p.checkByRow(ctx, party, su, sys, stmts); err != nil {
		p.failed = true
		return fmt.Errorf("he: setup share check (round two): %w", err)
	}
	p.round2Checked = true
	p.rk1Msgs, p.rk2Msgs = nil, nil
	return nil
}

// SharesDigest returns the SHA-256 of every member's public-key and first
// relinearisation shares as this member holds them (round two: with the
// second-round shares too). The setup compares it among the members before
// each share check: a member that sent different shares to different peers
// would otherwise have the honest members check different statements, which
// for n = 2t_ss+1 the check's opening cannot tell from a consistent mix, and
// the round-two shares would multiply aggregates it chose per peer.
//
// It returns this member's digest, to broadcast, and records it: every
// peer's digest must then match it (CompareSharesDigest) before the check
// runs, which refuses otherwise.
func (p *SetupProtocol) SharesDigest(roundTwo bool) ([]byte, error) {
	e, sets := &p.echo1, [][][]byte{p.pkMsgs, p.rk1Msgs}
	if roundTwo {
		e, sets = &p.echo2, append(sets, p.rk2Msgs)
	}
	return p.recordDigest(e, sets...)
}

// CompareSharesDigest compares member j's shares digest (its SharesDigest
// of the same round) with this member's: a digest of the wrong length is
// j's fault (*transport.PartyError in round r); a different digest is
// ErrKeysDiffer, which blames nobody (from one member's view the member
// that equivocated may be anyone).
func (p *SetupProtocol) CompareSharesDigest(roundTwo bool, r transport.Round, j transport.PartyID, b []byte) error {
	e := &p.echo1
	if roundTwo {
		e = &p.echo2
	}
	return p.compareDigest(e, r, j, b)
}

// recordDigest computes this member's digest of sets into e.
func (p *SetupProtocol) recordDigest(e *echo, sets ...[][]byte) ([]byte, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	if e.mine != nil {
		return nil, errors.New("he: shares digest made twice")
	}
	d, err := digestOf(sets...)
	if err != nil {
		return nil, err
	}
	e.mine = d
	return bytes.Clone(d), nil
}

// compareDigest records peer j's digest b in e.
func (p *SetupProtocol) compareDigest(e *echo, r transport.Round, j transport.PartyID, b []byte) error {
	if err := p.usable(); err != nil {
		return err
	}
	switch {
	case int(j) < 0 || int(j) >= p.n || j == p.self:
		return fmt.Errorf("he: shares digest from %d, not a peer of member %d of %d", j, p.self, p.n)
	case e.mine == nil:
		return fmt.Errorf("he: shares digest from member %d before this member's own", j)
	case e.got[j]:
		p.failed = true
		return &transport.PartyError{Party: j, Round: r, Err: errors.New("he: second shares digest")}
	case len(b) != len(e.mine):
		p.failed = true
		return &transport.PartyError{Party: j, Round: r, Err: fmt.Errorf("he: shares digest of %d bytes", len(b))}
	case !bytes.Equal(b, e.mine):
		p.failed = true
		return fmt.Errorf("%w: member %d received other setup shares than member %d", ErrKeysDiffer, j, p.self)
	}
	e.got[j] = true
	return nil
}

// digestOf hashes sets of per-member messages, each length-prefixed.
func digestOf(sets ...[][]byte) ([]byte, error) {
	h := sha256.New()
	var l [8]byte
	for _, set := range sets {
		for j, b := range set {
			if b == nil {
				return nil, fmt.Errorf("he: shares digest before member %d's share", j)
			}
			binary.BigEndian.PutUint64(l[:], uint64(len(b)))
			h.Write(l[:])
			h.Write(b)
		}
	}
	return h.Sum(nil), nil
}

// decodeChecked decodes member d's public-key and first relinearisation
// shares as this member received them.
func (p *SetupProtocol) decodeChecked(d int) (mhe.PublicKeyGenShare, mhe.RelinearizationKeyGenShare, error) {
	N := p.params.N()
	pk := p.ckg.AllocateShare()
	if _, err := newShape(p.params).polyQP(pk.Value).decodeAdd(kindCKG, p.pkMsgs[d], N); err != nil {
		return pk, mhe.RelinearizationKeyGenShare{}, fmt.Errorf("he: share check: public-key share of member %d: %w", d, err)
	}
	_, r1, _ := p.rkg.AllocateShare()
	if _, err := newShape(p.params).gadget(r1.GadgetCiphertext).decodeAdd(kindRKG1, p.rk1Msgs[d], N); err != nil {
		return pk, r1, fmt.Errorf("he: share check: relinearisation share of member %d: %w", d, err)
	}
	return pk, r1, nil
}

// GenRelinearizationKey closes the second relinearisation round and makes
// the relinearisation key.
func (p *SetupProtocol) GenRelinearizationKey() error {
	if err := p.close(&p.rk2); err != nil {
		return err
	}
	p.m.rlk = rlwe.NewRelinearizationKey(p.params)
	p.rkg.GenRelinearizationKey(p.rkg1, p.rkg2, p.m.rlk)
	return nil
}

// galois checks a Galois round index.
func (p *SetupProtocol) galois(i int) (*setupRound, error) {
	if i < 0 || i >= len(p.gal) {
		return nil, fmt.Errorf("he: no Galois key %d of %d", i, len(p.gal))
	}
	return &p.gal[i], nil
}

// GenGaloisShare returns this member's share of the i-th Galois key (of
// GaloisElements), to broadcast in round roundGKG+i.
func (p *SetupProtocol) GenGaloisShare(i int) ([]byte, error) {
	sr, err := p.galois(i)
	if err != nil {
		return nil, err
	}
	if err := p.open(sr); err != nil {
		return nil, err
	}
	g := p.m.galEls[i]
	p.gkgShares[i] = p.gkg.AllocateShare()
	if err := p.gkg.GenShare(p.sk, g, p.gkgCRP[i], &p.gkgShares[i]); err != nil {
		p.failed = true
		return nil, fmt.Errorf("he: Galois key share %d: %w", g, err)
	}
	if d := p.cfg.deviation; d != nil && d.GaloisShare && i == d.GaloisShareOf {
		corrupt(p.params, p.gkgShares[i].Value[0][0][0].Q)
	}
	b := newShape(p.params).gadget(p.gkgShares[i].GadgetCiphertext).encode(kindGKG, g, p.params.N())
	if p.check { // kept for the share checks only
		p.galMsgs[i][p.self] = b
	}
	return b, nil
}

// AddGaloisShare aggregates member j's share of the i-th Galois key; a share
// tagged with another Galois element is rejected. When the setup runs the
// share checks it keeps msg (not a copy: the caller must not modify it
// afterwards) until CheckGaloisShares: every element's shares wait for the
// one check, and a copy would double them.
func (p *SetupProtocol) AddGaloisShare(i int, j transport.PartyID, msg []byte) error {
	sr, err := p.galois(i)
	if err != nil {
		return err
	}
	g := p.m.galEls[i]
	return p.add(sr, j, msg, func(b []byte) error {
		// The tag sits in the header, checked before anything is added.
		shape := newShape(p.params).gadget(p.gkgShares[i].GadgetCiphertext)
		tag, err := shape.header(kindGKG, b, p.params.N())
		if err != nil {
			return err
		}
		if tag != g {
			return fmt.Errorf("share for Galois element %d, expected %d", tag, g)
		}
		_, err = shape.decodeAdd(kindGKG, b, p.params.N())
		if err == nil && p.check {
			p.galMsgs[i][j] = b
		}
		return err
	})
}

// GaloisSharesDigest is SharesDigest for the Galois share check: the
// public-key shares and every Galois key's shares as this member holds them.
func (p *SetupProtocol) GaloisSharesDigest() ([]byte, error) {
	return p.recordDigest(&p.echoGal, append([][][]byte{p.pkMsgs}, p.galMsgs...)...)
}

// CompareGaloisSharesDigest is CompareSharesDigest for the Galois share
// check.
func (p *SetupProtocol) CompareGaloisSharesDigest(r transport.Round, j transport.PartyID, b []byte) error {
	return p.compareDigest(&p.echoGal, r, j, b)
}

// CheckGaloisShares runs one share check of every Galois key
// (sharecheck.Setup.SystemsGalois: the public-key share re-proven once to
// bind s, then each element's rows on that s, one element's statements and
// input shares in memory at a time) on party, once every member's share of
// every Galois key has been added and before any GenGaloisKey. A failing
// share is named in its element's round (roundGKG+i); a failure of the
// re-proven public-key share, in the first element's.
func (p *SetupProtocol) CheckGaloisShares(ctx context.Context, party *ss.Party) error {
	if err := p.usable(); err != nil {
		return err
	}
	if !p.check {
		return p.errNoCheck()
	}
	if len(p.gal) == 0 {
		return errors.New("he: Galois share check without Galois keys")
	}
	if !p.sharesChecked || p.galChecked {
		return errors.New("he: Galois share check out of order")
	}
	for i := range p.gal {
		if !p.gal[i].open {
			return errors.New("he: Galois share check out of order")
		}
	}
	if !p.echoGal.agreed(p.self) {
		return errors.New("he: Galois share check before every member's shares digest agreed (GaloisSharesDigest, CompareGaloisSharesDigest)")
	}
	for i := range p.galMsgs {
		for j, b := range p.galMsgs[i] {
			if b == nil {
				return fmt.Errorf("he: Galois share check before member %d's share of key %d", j, i)
			}
		}
	}
	su := p.shareCheckSetup()
	rounds := make([]transport.Round, len(p.gal))
	for i := range p.gal {
		rounds[i] = p.gal[i].r
	}
	systems, err := su.SystemsGalois(p.m.galEls, p.gkgCRP, rounds)
	if err != nil {
		return err
	}
	N := p.params.N()
	parts := make([]sharecheck.Part, len(systems))
	for k, sys := range systems {
		// Part 0: the public-key shares; part 1+i: element i's shares,
		// decoded only when the part runs.
		stmt := func(d int) (sharecheck.Statement, error) {
			if k == 0 {
				pk := p.ckg.AllocateShare()
				if _, err := newShape(p.params).polyQP(pk.Value).decodeAdd(kindCKG, p.pkMsgs[d], N); err != nil {
					return nil, fmt.Errorf("he: share check: public-key share of member %d: %w", d, err)
				}
				return su.StatementPublicKey(pk)
			}
			gk := p.gkg.AllocateShare()
			if _, err := newShape(p.params).gadget(gk.GadgetCiphertext).decodeAdd(kindGKG, p.galMsgs[k-1][d], N); err != nil {
				return nil, fmt.Errorf("he: share check: Galois share %d of member %d: %w", p.m.galEls[k-1], d, err)
			}
			return su.StatementGaloisRows(gk)
		}
		parts[k] = sharecheck.Part{
			Sys: sys,
			Statements: func() ([]sharecheck.Statement, error) {
				stmts := make([]sharecheck.Statement, p.n)
				for d := range stmts {
					var err error
					if stmts[d], err = stmt(d); err != nil {
						return nil, err
					}
				}
				return stmts, nil
			},
			Witness: func(own sharecheck.Statement) (*sharecheck.Witness, error) {
				w, _, err := su.Witness(sys, own, p.sk, nil)
				if err != nil {
					return nil, fmt.Errorf("he: share check: %w", err)
				}
				return w, nil
			},
		}
	}
	if _, err := sharecheck.CheckBatch(ctx, party, parts); err != nil {
		p.failed = true
		return fmt.Errorf("he: setup share check (Galois keys): %w", err)
	}
	p.galChecked = true
	p.galMsgs = nil
	return nil
}

// GenGaloisKey closes the i-th Galois round and makes that Galois key.
func (p *SetupProtocol) GenGaloisKey(i int) error {
	sr, err := p.galois(i)
	if err != nil {
		return err
	}
	if i != len(p.m.gks) {
		return fmt.Errorf("he: Galois key %d made before key %d", i, len(p.m.gks))
	}
	if !p.galChecked && p.check {
		return fmt.Errorf("he: Galois key %d made before its shares were checked (CheckGaloisShares)", i)
	}
	if err := p.close(sr); err != nil {
		return err
	}
	gk, err := galoisKeyOf(p.params, p.gkgShares[i], p.gkgCRP[i])
	if err != nil {
		p.failed = true
		return fmt.Errorf("he: Galois key %d: %w", p.m.galEls[i], err)
	}
	p.m.gks = append(p.m.gks, gk)
	// The key owns the aggregate's and the CRP's polynomials now.
	p.gkgShares[i] = mhe.GaloisKeyGenShare{}
	p.gkgCRP[i] = mhe.GaloisKeyGenCRP{}
	return nil
}

// galoisKeyOf is mhe's GenGaloisKey without its copies: the key is the
// aggregated share (first component) and the CRP (second), and lattigo
// copies both into a freshly allocated key. At secure parameters that is
// two writes to fresh memory of tens of megabytes per key, which the setup
// profile showed as a tenth of its CPU; the key takes the polynomials over
// instead, and the caller drops its own references to them.
func galoisKeyOf(params rlwe.Parameters, share mhe.GaloisKeyGenShare, crp mhe.GaloisKeyGenCRP) (*rlwe.GaloisKey, error) {
	m, c := share.Value, crp.Value
	if len(m) == 0 || len(m) != len(c) {
		return nil, fmt.Errorf("share of %d rows for a CRP of %d", len(m), len(c))
	}
	value := make(structs.Matrix[rlwe.VectorQP], len(m))
	for r := range m {
		if len(m[r]) != len(c[r]) {
			return nil, fmt.Errorf("share row %d of %d columns for a CRP row of %d", r, len(m[r]), len(c[r]))
		}
		value[r] = make([]rlwe.VectorQP, len(m[r]))
		for k := range m[r] {
			if len(m[r][k]) != 1 {
				return nil, fmt.Errorf("share entry (%d, %d) of degree %d, expected 0", r, k, len(m[r][k])-1)
			}
			value[r][k] = rlwe.VectorQP{m[r][k][0], c[r][k]}
		}
	}
	return &rlwe.GaloisKey{
		GaloisElement: share.GaloisElement,
		NthRoot:       params.RingQ().NthRoot(),
		EvaluationKey: rlwe.EvaluationKey{GadgetCiphertext: rlwe.GadgetCiphertext{
			BaseTwoDecomposition: share.BaseTwoDecomposition,
			Value:                value,
		}},
	}, nil
}

// Digest encodes this member's key record and returns the digest of its
// public keys, to broadcast: every member aggregated the same shares, so a
// member that received a different share from someone finds out when the
// digests are compared.
func (p *SetupProtocol) Digest() ([]byte, error) {
	if !p.shamir.closed || !p.pkr.closed || !p.rk2.closed || len(p.m.gks) != len(p.gal) {
		return nil, errors.New("he: key digest before every key is made")
	}
	if (!p.sharesChecked || !p.round2Checked) && p.check {
		return nil, errors.New("he: key digest before the setup shares were checked (CheckShares, CheckSharesRoundTwo)")
	}
	if err := p.open(&p.dig); err != nil {
		return nil, err
	}
	p.pkMsgs = nil
	p.m.evk = rlwe.NewMemEvaluationKeySet(p.m.rlk, p.m.gks...)
	p.record, p.m.digest = p.m.record()
	return bytes.Clone(p.m.digest[:]), nil
}

// ErrKeysDiffer is returned by CheckDigest (and Setup) when a peer derived
// other committee keys than this member. It names that peer but does not
// blame it: a member that sent different shares to different peers makes
// honest members disagree, and from one member's view the deviant may be
// anyone, so it is deliberately not a *transport.PartyError.
var ErrKeysDiffer = errors.New("he: members derived different committee keys")

// CheckDigest compares member j's key digest with this member's. A digest of
// the wrong length is j's fault; a different digest is ErrKeysDiffer.
func (p *SetupProtocol) CheckDigest(j transport.PartyID, msg []byte) error {
	var differ error
	err := p.add(&p.dig, j, msg, func(b []byte) error {
		if len(b) != len(p.m.digest) {
			return fmt.Errorf("digest of %d bytes, expected %d", len(b), len(p.m.digest))
		}
		if !bytes.Equal(b, p.m.digest[:]) {
			differ = fmt.Errorf("%w: member %d's digest %x, ours %x", ErrKeysDiffer, j, b, p.m.digest[:])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if differ != nil {
		p.failed = true
		return differ
	}
	return nil
}

// Finish closes the digest round and returns the member and its encoded key
// record (for persisting once the key test has passed).
func (p *SetupProtocol) Finish() (*Member, []byte, error) {
	if err := p.close(&p.dig); err != nil {
		return nil, nil, err
	}
	return p.m, p.record, nil
}
