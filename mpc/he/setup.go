package he

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"

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
}

// SetupDeviation is a wrong but consistent setup share (the same to every
// peer, so the key digests agree), for this package's adversarial tests.
type SetupDeviation struct {
	PublicKeyShare bool // a random polynomial added to the public-key share
	RelinShare     bool // a random polynomial added to the second relinearisation share
	GaloisShare    bool // a random polynomial added to the first Galois key share
	ShamirShare    bool // the Shamir share dealt to the next member off the polynomial
}

// corrupt adds a fresh uniformly random polynomial to p.
func corrupt(params rlwe.Parameters, p ring.Poly) {
	if prng, err := sampling.NewPRNG(); err == nil {
		ring.NewUniformSampler(prng, params.RingQ().AtLevel(p.Level())).ReadAndAdd(p)
	}
}

// Setup rounds. Galois key shares use roundGKG+i for the i-th element.
const (
	roundShamir transport.Round = 1
	roundCKG    transport.Round = 2
	roundRKG1   transport.Round = 3
	roundRKG2   transport.Round = 4
	roundDigest transport.Round = 5
	roundGKG    transport.Round = 1 << 16
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

// Setup runs the committee key generation as member conn.Self() of
// conn.Parties() and persists the result in store. Every member must be
// online for the whole setup; a member that does not answer makes Setup
// fail with an error naming it (*transport.PartyError).
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

// setup runs the protocol and returns the member with its encoded key
// record (for persisting).
func setup(ctx context.Context, conn transport.Conn, preset *Preset, cfg SetupConfig) (*Member, []byte, error) {
	n, self := conn.Parties(), conn.Self()
	if cfg.Threshold < 1 || cfg.Threshold > n {
		return nil, nil, fmt.Errorf("he: threshold %d out of range for %d members", cfg.Threshold, n)
	}
	if cfg.CommitteeID == "" {
		return nil, nil, fmt.Errorf("he: setup needs a committee id")
	}
	timeout := cfg.StepTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	params := preset.RLWE()
	N := params.N()
	galEls := sortedUnique(cfg.GaloisElements)
	m := &Member{preset: preset, committee: cfg.CommitteeID, self: self, n: n, t: cfg.Threshold, galEls: galEls}

	prng, err := crs(preset, cfg.CommitteeID)
	if err != nil {
		return nil, nil, err
	}
	ckg := mhe.NewPublicKeyGenProtocol(params)
	rkg := mhe.NewRelinearizationKeyGenProtocol(params)
	gkg := mhe.NewGaloisKeyGenProtocol(params)
	thr := mhe.NewThresholdizer(params)
	ckgCRP := ckg.SampleCRP(prng)
	rkgCRP := rkg.SampleCRP(prng)
	gkgCRP := make([]mhe.GaloisKeyGenCRP, len(galEls))
	for i := range galEls {
		gkgCRP[i] = gkg.SampleCRP(prng)
	}

	// This member's additive share of the collective secret. It lives only
	// for the setup; jobs use the threshold share.
	sk := rlwe.NewKeyGenerator(params).GenSecretKeyNew()

	recv := func(from transport.PartyID, r transport.Round) ([]byte, error) {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		b, err := conn.Recv(rctx, from, r)
		if err != nil {
			return nil, fmt.Errorf("he: setup: %w", err)
		}
		return b, nil
	}

	// Round 1: Shamir shares (private, one per member) and every first-round
	// public share.
	poly, err := thr.GenShamirPolynomial(cfg.Threshold, sk)
	if err != nil {
		return nil, nil, fmt.Errorf("he: shamir polynomial: %w", err)
	}
	m.tsk = thr.AllocateThresholdSecretShare()
	thr.GenShamirSecretShare(shamirPoint(self), poly, &m.tsk)
	shamirOut := make([][]byte, n)
	for j := 0; j < n; j++ {
		if transport.PartyID(j) == self {
			continue
		}
		s := thr.AllocateThresholdSecretShare()
		thr.GenShamirSecretShare(shamirPoint(transport.PartyID(j)), poly, &s)
		if d := cfg.deviation; d != nil && d.ShamirShare && j == (int(self)+1)%n {
			corrupt(params, s.Poly.Q)
		}
		shamirOut[j] = newShape(params).polyQP(s.Poly).encode(kindShamir, 0, N)
	}
	if err := transport.SendAll(ctx, conn, roundShamir, shamirOut); err != nil {
		return nil, nil, fmt.Errorf("he: setup: %w", err)
	}

	ckgShare := ckg.AllocateShare()
	ckg.GenShare(sk, ckgCRP, &ckgShare)
	if d := cfg.deviation; d != nil && d.PublicKeyShare {
		corrupt(params, ckgShare.Value.Q)
	}
	if err := transport.Broadcast(ctx, conn, roundCKG, newShape(params).polyQP(ckgShare.Value).encode(kindCKG, 0, N)); err != nil {
		return nil, nil, fmt.Errorf("he: setup: %w", err)
	}

	ephSk, rkg1, rkg2 := rkg.AllocateShare()
	rkg.GenShareRoundOne(sk, rkgCRP, ephSk, &rkg1)
	if err := transport.Broadcast(ctx, conn, roundRKG1, newShape(params).gadget(rkg1.GadgetCiphertext).encode(kindRKG1, 0, N)); err != nil {
		return nil, nil, fmt.Errorf("he: setup: %w", err)
	}

	gkgShares := make([]mhe.GaloisKeyGenShare, len(galEls))
	for i, g := range galEls {
		gkgShares[i] = gkg.AllocateShare()
		if err := gkg.GenShare(sk, g, gkgCRP[i], &gkgShares[i]); err != nil {
			return nil, nil, fmt.Errorf("he: Galois key share %d: %w", g, err)
		}
		if d := cfg.deviation; d != nil && d.GaloisShare && i == 0 {
			corrupt(params, gkgShares[i].Value[0][0][0].Q)
		}
		if err := transport.Broadcast(ctx, conn, roundGKG+transport.Round(i), newShape(params).gadget(gkgShares[i].GadgetCiphertext).encode(kindGKG, g, N)); err != nil {
			return nil, nil, fmt.Errorf("he: setup: %w", err)
		}
	}

	// Threshold share: sum of the Shamir shares every member dealt us.
	// Received shares are added into the aggregate as they are decoded
	// (decodeAdd), the same sums as mhe's AggregateShares.
	for j := 0; j < n; j++ {
		if transport.PartyID(j) == self {
			continue
		}
		b, err := recv(transport.PartyID(j), roundShamir)
		if err != nil {
			return nil, nil, err
		}
		if _, err := newShape(params).polyQP(m.tsk.Poly).decodeAdd(kindShamir, b, N); err != nil {
			return nil, nil, fmt.Errorf("he: shamir share from member %d: %w", j, err)
		}
	}

	// Collective public key.
	for j := 0; j < n; j++ {
		if transport.PartyID(j) == self {
			continue
		}
		b, err := recv(transport.PartyID(j), roundCKG)
		if err != nil {
			return nil, nil, err
		}
		if _, err := newShape(params).polyQP(ckgShare.Value).decodeAdd(kindCKG, b, N); err != nil {
			return nil, nil, fmt.Errorf("he: public key share from member %d: %w", j, err)
		}
	}
	m.pk = rlwe.NewPublicKey(params)
	ckg.GenPublicKey(ckgShare, ckgCRP, m.pk)

	// Relinearisation key, round one aggregate, then round two.
	for j := 0; j < n; j++ {
		if transport.PartyID(j) == self {
			continue
		}
		b, err := recv(transport.PartyID(j), roundRKG1)
		if err != nil {
			return nil, nil, err
		}
		if _, err := newShape(params).gadget(rkg1.GadgetCiphertext).decodeAdd(kindRKG1, b, N); err != nil {
			return nil, nil, fmt.Errorf("he: relinearisation share (round 1) from member %d: %w", j, err)
		}
	}
	rkg.GenShareRoundTwo(ephSk, sk, rkg1, &rkg2)
	if d := cfg.deviation; d != nil && d.RelinShare {
		corrupt(params, rkg2.Value[0][0][0].Q)
	}
	if err := transport.Broadcast(ctx, conn, roundRKG2, newShape(params).gadget(rkg2.GadgetCiphertext).encode(kindRKG2, 0, N)); err != nil {
		return nil, nil, fmt.Errorf("he: setup: %w", err)
	}

	// Galois keys.
	for i, g := range galEls {
		for j := 0; j < n; j++ {
			if transport.PartyID(j) == self {
				continue
			}
			b, err := recv(transport.PartyID(j), roundGKG+transport.Round(i))
			if err != nil {
				return nil, nil, err
			}
			tag, err := newShape(params).gadget(gkgShares[i].GadgetCiphertext).decodeAdd(kindGKG, b, N)
			if err != nil {
				return nil, nil, fmt.Errorf("he: Galois key share from member %d: %w", j, err)
			}
			if tag != g {
				return nil, nil, fmt.Errorf("he: member %d sent a share for Galois element %d, expected %d", j, tag, g)
			}
		}
		gk := rlwe.NewGaloisKey(params)
		if err := gkg.GenGaloisKey(gkgShares[i], gkgCRP[i], gk); err != nil {
			return nil, nil, fmt.Errorf("he: Galois key %d: %w", g, err)
		}
		m.gks = append(m.gks, gk)
		gkgShares[i] = mhe.GaloisKeyGenShare{} // release memory early
	}

	for j := 0; j < n; j++ {
		if transport.PartyID(j) == self {
			continue
		}
		b, err := recv(transport.PartyID(j), roundRKG2)
		if err != nil {
			return nil, nil, err
		}
		if _, err := newShape(params).gadget(rkg2.GadgetCiphertext).decodeAdd(kindRKG2, b, N); err != nil {
			return nil, nil, fmt.Errorf("he: relinearisation share (round 2) from member %d: %w", j, err)
		}
	}
	m.rlk = rlwe.NewRelinearizationKey(params)
	rkg.GenRelinearizationKey(rkg1, rkg2, m.rlk)
	m.evk = rlwe.NewMemEvaluationKeySet(m.rlk, m.gks...)

	// Every member aggregated the same shares; compare digests so that a
	// member that received a different share from someone finds out now.
	var record []byte
	record, m.digest = m.record()
	if err := transport.Broadcast(ctx, conn, roundDigest, m.digest[:]); err != nil {
		return nil, nil, fmt.Errorf("he: setup: %w", err)
	}
	for j := 0; j < n; j++ {
		if transport.PartyID(j) == self {
			continue
		}
		b, err := recv(transport.PartyID(j), roundDigest)
		if err != nil {
			return nil, nil, err
		}
		if !bytes.Equal(b, m.digest[:]) {
			return nil, nil, fmt.Errorf("he: member %d derived different committee keys (digest %x, ours %x)", j, b, m.digest[:])
		}
	}
	// The digests only show that every member aggregated the same shares;
	// the known-answer test checks that those shares make working keys.
	if err := m.keyTest(ctx, conn, timeout); err != nil {
		return nil, nil, err
	}
	return m, record, nil
}
