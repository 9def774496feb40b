package he

import (
	"context"
	"testing"

	"github.com/tuneinsight/lattigo/v5/mhe"
)

// FuzzDecodeShare feeds arbitrary bytes to the share decoder used for every
// protocol message from a peer (here a key-switching share): it must reject
// without panicking and never read past the shape it was given.
func FuzzDecodeShare(f *testing.F) {
	preset, err := InsecureTestPreset()
	if err != nil {
		f.Fatal(err)
	}
	params := preset.RLWE()
	pcks, err := mhe.NewPublicKeySwitchProtocol(params, preset.Smudging)
	if err != nil {
		f.Fatal(err)
	}
	share := pcks.AllocateShare(0)
	shape := newShape(params).polyQ(share.Value[0]).polyQ(share.Value[1])
	f.Add(shape.encode(kindPCKS, 0, params.N()))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := shape.decodeAdd(kindPCKS, data, params.N()); err == nil && len(data) != shape.size(params.N()) {
			t.Fatal("accepted a share of the wrong size")
		}
	})
}

// FuzzLoadMember feeds arbitrary bytes to the key-record decoder: a corrupt
// store must fail cleanly.
func FuzzLoadMember(f *testing.F) {
	preset, err := InsecureTestPreset()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		store := NewMemoryStore()
		ctx := context.Background()
		if err := store.Put(ctx, storeKey(preset, "fuzz", 0), data); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadMember(ctx, store, preset, "fuzz", 0); err == nil {
			t.Fatal("accepted a fuzzed key record")
		}
	})
}
