package he

import (
	"testing"

	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"

	"github.com/cohortnet/cohort/mpc/transport"
)

// TestPairMasksCancelInTheSubsetSum: the members of a subset mask their
// shares with pairwise keys; each masked share differs from the unmasked
// one, and the subset's sum is exactly the unmasked sum. Both sides of a
// pair derive the same key from the two seeds, whichever sent first.
func TestPairMasksCancelInTheSubsetSum(t *testing.T) {
	params := insecurePreset(t).RLWE()
	subset := []transport.PartyID{0, 2, 3}
	seeds := map[[2]transport.PartyID][maskSeedBytes]byte{}
	for _, a := range subset {
		for _, b := range subset {
			if a != b {
				s, err := newMaskSeed()
				if err != nil {
					t.Fatal(err)
				}
				seeds[[2]transport.PartyID{a, b}] = s // a's half for b
			}
		}
	}
	keysOf := func(self transport.PartyID) map[transport.PartyID][32]byte {
		keys := map[transport.PartyID][32]byte{}
		for _, p := range subset {
			if p != self {
				keys[p] = pairMaskKey(self, p, seeds[[2]transport.PartyID{self, p}], seeds[[2]transport.PartyID{p, self}], 7, [32]byte{1})
			}
		}
		return keys
	}
	if keysOf(0)[2] != keysOf(2)[0] {
		t.Fatal("the two sides of a pair derive different keys")
	}
	level := params.MaxLevel()
	rq := params.RingQ().AtLevel(level)
	prng, err := sampling.NewPRNG()
	if err != nil {
		t.Fatal(err)
	}
	sampler := ring.NewUniformSampler(prng, rq)
	plainSum := [2]ring.Poly{rq.NewPoly(), rq.NewPoly()}
	maskedSum := [2]ring.Poly{rq.NewPoly(), rq.NewPoly()}
	for _, self := range subset {
		share := mhe.PublicKeySwitchShare{}
		share.Value = []ring.Poly{sampler.ReadNew(), sampler.ReadNew()}
		plain := [2]ring.Poly{*share.Value[0].CopyNew(), *share.Value[1].CopyNew()}
		if err := maskShare(params, self, subset, 1, 0, keysOf(self), &share); err != nil {
			t.Fatal(err)
		}
		for part := range plain {
			if share.Value[part].Equal(&plain[part]) {
				t.Fatalf("member %d's share part %d is unmasked", self, part)
			}
			rq.Add(plainSum[part], plain[part], plainSum[part])
			rq.Add(maskedSum[part], share.Value[part], maskedSum[part])
		}
	}
	for part := range plainSum {
		if !maskedSum[part].Equal(&plainSum[part]) {
			t.Fatalf("masks do not cancel in the subset's sum (part %d)", part)
		}
	}
	// A missing pair key is an error, not an unmasked share.
	share := mhe.PublicKeySwitchShare{}
	share.Value = []ring.Poly{sampler.ReadNew(), sampler.ReadNew()}
	if err := maskShare(params, 0, subset, 1, 0, map[transport.PartyID][32]byte{}, &share); err == nil {
		t.Fatal("masked without the pair keys")
	}
}

// A pair's mask key depends on the attempt's round and family digest, and
// the view's digest on the mask scheme: a key is never reused across
// attempts or families, and members on another mask scheme disagree on the
// view before any share leaves.
func TestMaskKeyAndViewBinding(t *testing.T) {
	var a, b [maskSeedBytes]byte
	a[0], b[0] = 1, 2
	base := pairMaskKey(0, 1, a, b, 7, [32]byte{1})
	if base != pairMaskKey(1, 0, b, a, 7, [32]byte{1}) {
		t.Fatal("the two sides of a pair derive different keys")
	}
	if base == pairMaskKey(0, 1, a, b, 8, [32]byte{1}) || base == pairMaskKey(0, 1, a, b, 7, [32]byte{2}) {
		t.Fatal("a pair's key does not depend on the attempt's round and family digest")
	}
	d := [32]byte{9}
	if viewDigest(d) == d || viewDigest(d) == viewDigest([32]byte{8}) {
		t.Fatal("the view digest is not a binding of the family digest")
	}
}
