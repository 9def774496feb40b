package he

import (
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// TestGaloisKeyOfMatchesLattigo checks that galoisKeyOf, which builds a
// Galois key from the aggregated share and the CRP without copying them,
// makes the same key as mhe's GenGaloisKey, and rejects a share whose shape
// does not match the CRP's.
func TestGaloisKeyOfMatchesLattigo(t *testing.T) {
	params := insecurePreset(t).RLWE()
	gkg := mhe.NewGaloisKeyGenProtocol(params)
	prng, err := sampling.NewKeyedPRNG([]byte("galois-key-of"))
	if err != nil {
		t.Fatal(err)
	}
	crp := gkg.SampleCRP(prng)
	sk := rlwe.NewKeyGenerator(params).GenSecretKeyNew()
	g := params.GaloisElement(1)
	share := gkg.AllocateShare()
	if err := gkg.GenShare(sk, g, crp, &share); err != nil {
		t.Fatal(err)
	}
	want := rlwe.NewGaloisKey(params)
	if err := gkg.GenGaloisKey(share, crp, want); err != nil {
		t.Fatal(err)
	}
	got, err := galoisKeyOf(params, share, crp)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Fatal("galoisKeyOf differs from mhe's GenGaloisKey")
	}
	short := share
	short.Value = share.Value[:len(share.Value)-1]
	if len(share.Value) > 1 {
		if _, err := galoisKeyOf(params, short, crp); err == nil {
			t.Fatal("a share with fewer rows than the CRP was accepted")
		}
	}
	if _, err := galoisKeyOf(params, mhe.GaloisKeyGenShare{}, crp); err == nil {
		t.Fatal("an empty share was accepted")
	}
}
