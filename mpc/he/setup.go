package he

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// SetupConfig describes a committee key generation.
type SetupConfig struct {
	// CommitteeID names the committee; it seeds the common reference string
	// and names the stored keys. All members must use the same value.
	CommitteeID string
	// Threshold t: any t of the N members can later finish a job.
	Threshold int
	// GaloisElements lists the automorphisms job circuits need keys for
	// (e.g. from jobs.GaloisElements).
	GaloisElements []uint64
	// StepTimeout bounds each wait for a peer's message (default 2 min).
	StepTimeout time.Duration

	// deviation makes this member send wrong setup shares; set only by
	// this package's adversarial tests.
	deviation *SetupDeviation
	// skipShareCheck lets this package's step tests, which drive the
	// rounds without a network, make keys without CheckShares.
	skipShareCheck bool
}

// SetupDeviation is a wrong setup share, for this package's adversarial
// tests: consistent (the same to every peer, so the key digests agree)
// unless it says otherwise.
type SetupDeviation struct {
	PublicKeyShare bool // a random polynomial added to the public-key share
	// InflatedPublicKeyError adds this much to one coefficient of the
	// public-key share's error (every limb): a share right but for a large
	// error, which decodes and passes the key test.
	InflatedPublicKeyError uint64
	RelinShareRoundOne     bool // a random polynomial added to a first relinearisation share
	// EquivocatePublicKeyShare sends the next member a public-key share
	// other than everyone else's.
	EquivocatePublicKeyShare bool
	RelinShare               bool // a random polynomial added to the second relinearisation share
	GaloisShare              bool // a random polynomial added to a Galois key share
	GaloisShareOf            int  // with GaloisShare: which Galois key's share (its index)
	ShamirShare              bool // the Shamir share dealt to the next member off the polynomial
}

// corrupt adds a fresh uniformly random polynomial to p.
func corrupt(params rlwe.Parameters, p ring.Poly) {
	if prng, err := sampling.NewPRNG(); err == nil {
		ring.NewUniformSampler(prng, params.RingQ().AtLevel(p.Level())).ReadAndAdd(p)
	}
}

// inflate adds v to coefficient 0 of the (Montgomery, NTT-form) share
// polynomial p in every limb of QP: the share of a member whose error is
// larger by v.
func inflate(params rlwe.Parameters, p ringqp.Poly, v uint64) {
	rq := params.RingQP()
	rq.IMForm(p, p)
	rq.INTT(p, p)
	for j, q := range params.Q() {
		p.Q.Coeffs[j][0] = (p.Q.Coeffs[j][0] + v%q) % q
	}
	for j, q := range params.P() {
		p.P.Coeffs[j][0] = (p.P.Coeffs[j][0] + v%q) % q
	}
	rq.NTT(p, p)
	rq.MForm(p, p)
}

// roundSpace gives the setup's share check (an SS job) its own round
// numbers on the setup's connection: rounds with bit 62 flipped. The
// setup's, the key test's and node/jobrun's DKG rounds (from 2^40) all lie
// below 2^62, and the SS engine's main rounds (no lanes) stay below 2^62
// too, so they map above it; its abort round, all ones, maps to 2^64−1−2^62. Each
// Recv waits at most the setup's step timeout, so a silent member is
// named as in the other setup rounds. Close leaves the connection to the
// setup.
type roundSpace struct {
	transport.Conn
	timeout time.Duration
}

const shareCheckRounds transport.Round = 1 << 62

func (c roundSpace) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	return c.Conn.Send(ctx, to, r^shareCheckRounds, p)
}

func (c roundSpace) Recv(ctx context.Context, from transport.PartyID, r transport.Round) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.Conn.Recv(rctx, from, r^shareCheckRounds)
}

func (roundSpace) Close() error { return nil }

// Setup rounds. Galois key shares use roundGKG+i for the i-th element.
const (
	roundShamir transport.Round = 1
	roundCKG    transport.Round = 2
	roundRKG1   transport.Round = 3
	roundRKG2   transport.Round = 4
	roundDigest transport.Round = 5
	roundEcho1  transport.Round = 6 // shares digest before the first share check
	roundEcho2  transport.Round = 7 // and before the second
	// roundEchoGKG: shares digest before the Galois share check.
	roundEchoGKG transport.Round = 1 << 17
	roundGKG     transport.Round = 1 << 16
)

// SetupStats reports a member's cost of a setup.
type SetupStats struct {
	BytesSent int64
	Duration  time.Duration
}

// countingConn counts the payload bytes a member sends.
type countingConn struct {
	transport.Conn
	sent atomic.Int64
}

func (c *countingConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	c.sent.Add(int64(len(p)))
	return c.Conn.Send(ctx, to, r, p)
}

// crs returns the committee's common reference string: a keyed PRNG every
// member derives identically, from which the public random polynomials of
// the key-generation protocols are sampled in a fixed order.
func crs(preset *Preset, committee string) (*sampling.KeyedPRNG, error) {
	prng, err := sampling.NewKeyedPRNG([]byte(crsLabel(preset, committee)))
	if err != nil {
		return nil, fmt.Errorf("he: common reference string: %w", err)
	}
	return prng, nil
}

// crsLabel is the key of the committee's CRS.
func crsLabel(preset *Preset, committee string) string {
	return "cohort/he/crs/v1\x00" + preset.Name + "\x00" + committee
}

// Setup runs the committee key generation (SetupProtocol) as member
// conn.Self() of conn.Parties() and persists the result in store. Every
// member must be online for the whole setup; a member that does not answer,
// or sends a share that is malformed, duplicated or for another Galois
// element, makes Setup fail with an error naming it (*transport.PartyError).
// Members that end with different keys fail with ErrKeysDiffer, which blames
// nobody (see SetupProtocol).
func Setup(ctx context.Context, conn transport.Conn, preset *Preset, cfg SetupConfig, store KeyStore) (*Member, SetupStats, error) {
	start := time.Now()
	cc := &countingConn{Conn: conn}
	m, record, err := setup(ctx, cc, preset, cfg)
	stats := SetupStats{BytesSent: cc.sent.Load()}
	if err != nil {
		return nil, stats, err
	}
	if err := store.Put(ctx, storeKey(preset, cfg.CommitteeID, m.self), record); err != nil {
		return nil, stats, fmt.Errorf("he: persist committee keys: %w", err)
	}
	stats.Duration = time.Since(start)
	return m, stats, nil
}

// setup is the network driver of SetupProtocol: it sends this member's
// shares and receives the peers' round by round (a peer's share is added to
// the aggregate as soon as it is received), then runs the known-answer key
// test. It returns the member with its encoded key record (for persisting).
func setup(ctx context.Context, conn transport.Conn, preset *Preset, cfg SetupConfig) (*Member, []byte, error) {
	n, self := conn.Parties(), conn.Self()
	p, err := NewSetupProtocol(preset, self, n, cfg)
	if err != nil {
		return nil, nil, err
	}
	timeout := cfg.StepTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	// recvAll receives round r from every peer in index order and hands each
	// message to add as it arrives.
	recvAll := func(r transport.Round, add func(transport.PartyID, []byte) error) error {
		for j := 0; j < n; j++ {
			if transport.PartyID(j) == self {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, timeout)
			b, err := conn.Recv(rctx, transport.PartyID(j), r)
			cancel()
			if err != nil {
				return fmt.Errorf("he: setup: %w", err)
			}
			if err := add(transport.PartyID(j), b); err != nil {
				return err
			}
		}
		return nil
	}
	// send delivers one message. A peer that cannot be reached (it may have
	// left after finding a fault of its own) does not stop the setup at once:
	// what it sent before leaving can still be read and may name the real
	// culprit. It is blamed only if nothing else fails first.
	var unreachable []error
	send := func(to transport.PartyID, r transport.Round, b []byte) error {
		err := conn.Send(ctx, to, r, b)
		var pe *transport.PartyError
		switch {
		case err == nil:
			return nil
		case ctx.Err() == nil && errors.As(err, &pe) && pe.Party == to:
			unreachable = append(unreachable, fmt.Errorf("he: setup: send: %w", err))
			return nil
		default:
			return fmt.Errorf("he: setup: send to party %d: %w", to, err)
		}
	}
	// broadcast sends the share gen makes to every peer in round r.
	broadcast := func(r transport.Round, gen func() ([]byte, error)) error {
		b, err := gen()
		if err != nil {
			return err
		}
		for j := 0; j < n; j++ {
			if transport.PartyID(j) != self {
				if err := send(transport.PartyID(j), r, b); err != nil {
					return err
				}
			}
		}
		return nil
	}

	// Every first-round share goes out before anything is received: the
	// Shamir shares (private, one per member), the public-key share, the
	// first relinearisation share and every Galois key share.
	shamir, err := p.GenShamirShares()
	if err != nil {
		return nil, nil, err
	}
	for j, b := range shamir {
		if transport.PartyID(j) != self {
			if err := send(transport.PartyID(j), roundShamir, b); err != nil {
				return nil, nil, err
			}
		}
	}
	if d := cfg.deviation; d != nil && d.EquivocatePublicKeyShare {
		b, err := p.GenPublicKeyShare()
		if err != nil {
			return nil, nil, err
		}
		for j := 0; j < n; j++ {
			if transport.PartyID(j) == self {
				continue
			}
			msg := b
			if j == (int(self)+1)%n {
				// Another well-formed share (its error 1 larger) for
				// one peer alone.
				msg = bytes.Clone(b)
				msg[shareHeader]++
			}
			if err := send(transport.PartyID(j), roundCKG, msg); err != nil {
				return nil, nil, err
			}
		}
	} else if err := broadcast(roundCKG, p.GenPublicKeyShare); err != nil {
		return nil, nil, err
	}
	if err := broadcast(roundRKG1, p.GenRelinShareRoundOne); err != nil {
		return nil, nil, err
	}
	galEls := p.GaloisElements()
	for i := range galEls {
		if err := broadcast(roundGKG+transport.Round(i), func() ([]byte, error) { return p.GenGaloisShare(i) }); err != nil {
			return nil, nil, err
		}
	}

	// Threshold share, then the collective public key.
	if err := recvAll(roundShamir, p.AddShamirShare); err != nil {
		return nil, nil, err
	}
	if err := p.FinishShamir(); err != nil {
		return nil, nil, err
	}
	if err := recvAll(roundCKG, p.AddPublicKeyShare); err != nil {
		return nil, nil, err
	}
	if err := p.GenPublicKey(); err != nil {
		return nil, nil, err
	}
	// Relinearisation key, round one aggregate, then round two.
	if err := recvAll(roundRKG1, p.AddRelinShareRoundOne); err != nil {
		return nil, nil, err
	}
	// When the threshold allows it (ShareCheckRuns), every member's
	// public-key and first relinearisation shares are checked in MPC before
	// anything is derived from them (round two's shares, the key record, the
	// key test). Otherwise nothing goes into the SS engine: its sharings
	// would open to fewer than t members.
	check := p.SharesChecked()
	// echo compares the members' digests of the shares they received (see
	// SharesDigest): different digests fail like different keys do.
	// The protocol records both steps and refuses a check before every
	// peer's digest matched.
	echoWith := func(r transport.Round, digest func() ([]byte, error), compare func(r transport.Round, j transport.PartyID, b []byte) error) error {
		if err := broadcast(r, digest); err != nil {
			return err
		}
		return recvAll(r, func(j transport.PartyID, b []byte) error { return compare(r, j, b) })
	}
	var party *ss.Party
	if check {
		cmp := func(r transport.Round, j transport.PartyID, b []byte) error {
			return p.CompareSharesDigest(false, r, j, b)
		}
		if err := echoWith(roundEcho1, func() ([]byte, error) { return p.SharesDigest(false) }, cmp); err != nil {
			return nil, nil, err
		}
		if party, err = ss.NewParty(ctx, roundSpace{Conn: conn, timeout: timeout}, ss.Config{Security: ss.Malicious}); err != nil {
			return nil, nil, fmt.Errorf("he: setup share check: %w", err)
		}
		if err := p.CheckShares(ctx, party); err != nil {
			return nil, nil, err
		}
	}
	if err := broadcast(roundRKG2, p.GenRelinShareRoundTwo); err != nil {
		return nil, nil, err
	}
	// Galois keys: every element's shares, then one check of them all.
	for i := range galEls {
		add := func(j transport.PartyID, b []byte) error { return p.AddGaloisShare(i, j, b) }
		if err := recvAll(roundGKG+transport.Round(i), add); err != nil {
			return nil, nil, err
		}
	}
	if check && len(galEls) > 0 {
		cmp := func(r transport.Round, j transport.PartyID, b []byte) error {
			return p.CompareGaloisSharesDigest(r, j, b)
		}
		if err := echoWith(roundEchoGKG, p.GaloisSharesDigest, cmp); err != nil {
			return nil, nil, err
		}
		if err := p.CheckGaloisShares(ctx, party); err != nil {
			return nil, nil, err
		}
	}
	for i := range galEls {
		if err := p.GenGaloisKey(i); err != nil {
			return nil, nil, err
		}
	}
	if err := recvAll(roundRKG2, p.AddRelinShareRoundTwo); err != nil {
		return nil, nil, err
	}
	if check {
		cmp := func(r transport.Round, j transport.PartyID, b []byte) error {
			return p.CompareSharesDigest(true, r, j, b)
		}
		if err := echoWith(roundEcho2, func() ([]byte, error) { return p.SharesDigest(true) }, cmp); err != nil {
			return nil, nil, err
		}
		if err := p.CheckSharesRoundTwo(ctx, party); err != nil {
			return nil, nil, err
		}
	}
	if err := p.GenRelinearizationKey(); err != nil {
		return nil, nil, err
	}

	// Every member aggregated the same shares; compare digests so that a
	// member that received a different share from someone finds out now.
	if err := broadcast(roundDigest, p.Digest); err != nil {
		return nil, nil, err
	}
	if err := recvAll(roundDigest, p.CheckDigest); err != nil {
		return nil, nil, err
	}
	m, record, err := p.Finish()
	if err != nil {
		return nil, nil, err
	}
	if len(unreachable) > 0 {
		// A peer missed some of this member's shares: it cannot hold the keys.
		return nil, nil, errors.Join(unreachable...)
	}
	// The digests only show that every member aggregated the same shares;
	// the known-answer test checks that those shares make working keys.
	if err := m.keyTest(ctx, conn, timeout); err != nil {
		return nil, nil, err
	}
	return m, record, nil
}
