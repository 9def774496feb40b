package he

import (
	"context"
	"errors"
	"testing"

	"github.com/tuneinsight/lattigo/v5/mhe"

	"github.com/cohortnet/cohort/mpc/transport"
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

// FuzzDecodeDone feeds arbitrary bytes to the decoder of a peer's "job
// done" announcement (every subset's key switches): it must reject without
// panicking, and whatever it accepts must be a well-formed family.
func FuzzDecodeDone(f *testing.F) {
	preset, err := InsecureTestPreset()
	if err != nil {
		f.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	ct, id, err := preset.EncryptFloatsAtScale(rcpt.PublicKey(), []float64{1}, preset.OutputScale())
	if err != nil {
		f.Fatal(err)
	}
	var switches []KeySwitched
	for _, s := range KeySwitchFamily([]transport.PartyID{0, 1, 2, 3}, 3, 0) {
		switches = append(switches, KeySwitched{Subset: s, Outputs: [][]byte{ct}, OutputIDs: []CiphertextID{id}})
	}
	f.Add(encodeDone(NewResult([]CiphertextID{id}, switches)))
	f.Add(encodeDone(NewResult([]CiphertextID{id}, switches[:1])))
	r := &runner{m: &Member{preset: preset, n: 4, t: 3}, cfg: RunConfig{Scheme: CKKS}}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := r.decodeDone(data)
		if err != nil {
			return
		}
		// One subset is a valid announcement (exactly t online), which a
		// recipient of a larger committee then rejects.
		if _, err := checkStructure(res, 3, 4); err != nil && !errors.Is(err, ErrSingleSubset) {
			t.Fatalf("accepted a malformed announcement: %v", err)
		}
	})
}
