package he

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"

	"github.com/cohortnet/cohort/mpc/transport"
)

// Pairwise share masks. Every member of a family receives every other
// member's individual key-switching shares (each aggregates every subset
// itself), and an individual share λ_{S,h}·f(x_h)·c1 + e_h is worth more to
// a member colluding with the recipient than the aggregate: with the
// colluders' key shares substituted it is α·e_ct + e_h plus known terms for
// a Lagrange factor α (up to 9 for n = 4, t = 2; 2^15 for n = 10, t = 5),
// so it shows the circuit noise behind smudging σ/|α|. So each member adds
// to its share of subset S, for every other member p of S, a mask drawn
// from a key only the two share, with opposite signs on the two sides:
// the masks cancel in the subset's sum (the key switch is unchanged), and a
// single share of a subset with two honest members is uniform to anyone
// outside that pair. What a coalition can still extract is then an
// aggregate over the honest members of a subset, with α = 1 — the case the
// smudging bound in doc.go counts. A member that masks wrongly changes its
// subsets' sums, which is a wrong share like any other (detected as such).

// maskStreamDomain separates the mask streams' keys (streamKey) from any
// other use of ctrPRNG. Version 2: version 1 expanded key‖label with
// lattigo's KeyedPRNG; members of both versions derive different masks,
// which then do not cancel, so a job's members must all run one of them.
const maskStreamDomain = "cohort/he/pcks-mask-stream/v2"

// maskSeedBytes is the length of a member's mask seed for one peer.
const maskSeedBytes = 32

// newMaskSeed draws this member's half of a pair's mask key.
func newMaskSeed() ([maskSeedBytes]byte, error) {
	var s [maskSeedBytes]byte
	if _, err := rand.Read(s[:]); err != nil {
		return s, fmt.Errorf("he: mask seed: %w", err)
	}
	return s, nil
}

// pairMaskKey binds both halves of a pair's seeds, lower member's first,
// so both sides derive the same key and neither alone chooses it.
func pairMaskKey(self, peer transport.PartyID, mine, theirs [maskSeedBytes]byte) [32]byte {
	lo, hi := mine, theirs
	if peer < self {
		lo, hi = theirs, mine
	}
	h := sha256.New()
	h.Write([]byte("cohort/he/pcks-mask/v1\x00"))
	h.Write(lo[:])
	h.Write(hi[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// maskShare adds this member's pairwise masks for subset s's share of
// output i: for every other member p of the subset, +mask if self < p,
// −mask otherwise, each part of the share masked with its own stream.
func maskShare(params rlwe.Parameters, self transport.PartyID, subset []transport.PartyID, s, i int, keys map[transport.PartyID][32]byte, sh *mhe.PublicKeySwitchShare) error {
	// One mask polynomial, overwritten by every stream (a megabyte at
	// secure parameters; a fresh one per stream was most of this
	// function's allocations).
	var mask ring.Poly
	for _, p := range subset {
		if p == self {
			continue
		}
		key, ok := keys[p]
		if !ok {
			return fmt.Errorf("he: no mask key with member %d", p)
		}
		for part := range sh.Value {
			pol := sh.Value[part]
			rq := params.RingQ().AtLevel(pol.Level())
			var label [24]byte
			binary.BigEndian.PutUint64(label[0:], uint64(s))
			binary.BigEndian.PutUint64(label[8:], uint64(i))
			binary.BigEndian.PutUint64(label[16:], uint64(part))
			prng, err := newCTRPRNG(streamKey(maskStreamDomain, key[:], label[:]))
			if err != nil {
				return fmt.Errorf("he: mask stream: %w", err)
			}
			if mask.Level() != pol.Level() || len(mask.Coeffs) == 0 {
				mask = rq.NewPoly()
			}
			ring.NewUniformSampler(prng, rq).Read(mask)
			if self < p {
				rq.Add(pol, mask, pol)
			} else {
				rq.Sub(pol, mask, pol)
			}
		}
	}
	return nil
}
