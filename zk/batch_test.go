package zk

import (
	"context"
	"errors"
	"testing"
)

func TestVerifyBatchMatchesIndividualVerification(t *testing.T) {
	keys, err := DevSetup(context.Background(), CircuitInput)
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	id, err := reg.Register(CircuitInput, keys.VKBytes)
	if err != nil {
		t.Fatal(err)
	}
	var items []BatchItem
	for v := uint64(1); v <= 6; v++ {
		w := sampleInput(t, v*100, 1, 1000)
		pf, err := keys.Prove(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		proof, _ := pf.ProofBytes()
		st, _ := w.Statement()
		items = append(items, BatchItem{VKID: id, Statement: st, Proof: proof})
	}
	for i, err := range reg.VerifyBatch(items) {
		if err != nil {
			t.Fatalf("valid proof %d rejected in a batch: %v", i, err)
		}
	}
	// Swap two proofs' statements: both become invalid, the rest stay valid.
	bad := append([]BatchItem(nil), items...)
	bad[1].Statement, bad[4].Statement = items[4].Statement, items[1].Statement
	bad[2].Proof = []byte("short")
	bad = append(bad, BatchItem{VKID: "nope", Statement: items[0].Statement, Proof: items[0].Proof})
	errs := reg.VerifyBatch(bad)
	for i, err := range errs {
		want := i == 1 || i == 2 || i == 4 || i == 6
		if (err != nil) != want {
			t.Fatalf("item %d: error %v, want error: %v", i, err, want)
		}
		single := reg.VerifyStatement(bad[i].VKID, bad[i].Statement, bad[i].Proof)
		if (single == nil) != (err == nil) {
			t.Fatalf("item %d: batch says %v, alone %v", i, err, single)
		}
	}
	if !errors.Is(errs[1], ErrInvalidProof) || !errors.Is(errs[2], ErrMalformed) || !errors.Is(errs[6], ErrUnknownKey) {
		t.Fatalf("error kinds: %v / %v / %v", errs[1], errs[2], errs[6])
	}
	// The verdict cache (which now holds every valid item) changes no
	// verdict: a registry without it agrees on every item, and a cached
	// proof under another statement is still refused.
	plain := NewRegistry()
	plain.verdicts = nil
	if _, err := plain.Register(CircuitInput, keys.VKBytes); err != nil {
		t.Fatal(err)
	}
	for i, it := range append(bad, items...) {
		cached, uncached := reg.VerifyStatement(it.VKID, it.Statement, it.Proof), plain.VerifyStatement(it.VKID, it.Statement, it.Proof)
		if (cached == nil) != (uncached == nil) {
			t.Fatalf("item %d: with the verdict cache %v, without %v", i, cached, uncached)
		}
	}
}

// TestVerdictKeyBindsTheKeyID: the same proof under another key is
// another verdict.
func TestVerdictKeyBindsTheKeyID(t *testing.T) {
	if verdictKey("vk", nil, []byte{1}) == verdictKey("vk2", nil, []byte{1}) {
		t.Fatal("the key ID does not enter the verdict key")
	}
}

func BenchmarkVerifyBatch(b *testing.B) {
	keys, err := DevSetup(context.Background(), CircuitCompliance)
	if err != nil {
		b.Fatal(err)
	}
	reg := NewRegistry()
	reg.verdicts = nil // measure the verifier, not the cache
	id, _ := reg.Register(CircuitCompliance, keys.VKBytes)
	w := sampleCompliance(b, 100, 2, 40)
	pf, err := keys.Prove(context.Background(), w)
	if err != nil {
		b.Fatal(err)
	}
	proof, _ := pf.ProofBytes()
	st, _ := w.Statement()
	items := make([]BatchItem, 64)
	for i := range items {
		items[i] = BatchItem{VKID: id, Statement: st, Proof: proof}
	}
	b.Run("single", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := reg.VerifyStatement(id, st, proof); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("batch64-per-proof", func(b *testing.B) {
		for i := 0; i < b.N; i += len(items) {
			for _, err := range reg.VerifyBatch(items) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
