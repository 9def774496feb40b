package he

import (
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/heint"
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

// TestKeyTestHoistedAutomorphisms: the key test's sum of Galois images,
// computed with one hoisted decomposition of c1, is the ciphertext the
// per-key Automorphism makes, bit for bit.
func TestKeyTestHoistedAutomorphisms(t *testing.T) {
	preset := insecurePreset(t)
	var galEls []uint64
	for _, g := range preset.BGV.GaloisElementsForInnerSum(1, 8) {
		if g != 1 {
			galEls = append(galEls, g)
		}
	}
	members, _ := committee(t, preset, 3, 2, galEls)
	m := members[0]
	ct, _, err := m.keyTestCase()
	if err != nil {
		t.Fatal(err)
	}
	outs, err := m.keyTestOutputs(ct)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 3 {
		t.Fatalf("%d key test outputs, want 3", len(outs))
	}
	eval := heint.NewEvaluator(preset.BGV, m.evk)
	want := rlwe.NewCiphertext(preset.BGV, 1, ct.Level())
	rot := rlwe.NewCiphertext(preset.BGV, 1, ct.Level())
	for i, g := range m.galEls {
		if err := eval.Automorphism(ct, g, rot); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want.Copy(rot)
		} else if err := eval.Add(want, rot, want); err != nil {
			t.Fatal(err)
		}
	}
	if !outs[2].Equal(want) {
		t.Fatal("hoisted Galois images differ from per-key automorphisms")
	}
}
