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
// which would not cancel: viewDigest makes such members disagree on the
// view, before any share leaves.
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

// viewDigest is what a member's view message (agree) carries for the
// family digest: the digest bound to the mask scheme (maskStreamDomain).
// Members whose masks would not cancel — one still on another scheme —
// then disagree on the view, before any share leaves, and the attempt
// fails naming nobody (errViewMismatch), rather than their key switches
// disagreeing at the recipient, which would name the odd member out.
func viewDigest(digest [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(maskStreamDomain))
	h.Write([]byte{0})
	h.Write(digest[:])
	var v [32]byte
	h.Sum(v[:0])
	return v
}

// pairMaskKey binds both halves of a pair's seeds, lower member's first,
// so both sides derive the same key and neither alone chooses it. The key
// is bound to the attempt's view round and family digest too: seeds are
// fresh per attempt, so this is defence in depth — a key reused across
// attempts would mask a different subset's share under the same subset
// index with the same stream, and the difference of two shares would leak.
func pairMaskKey(self, peer transport.PartyID, mine, theirs [maskSeedBytes]byte, round transport.Round, digest [32]byte) [32]byte {
	lo, hi := mine, theirs
	if peer < self {
		lo, hi = theirs, mine
	}
	h := sha256.New()
	h.Write([]byte("cohort/he/pcks-mask/v2\x00"))
	h.Write(lo[:])
	h.Write(hi[:])
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(round)))
	h.Write(digest[:])
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
