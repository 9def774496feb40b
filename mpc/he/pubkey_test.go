package he

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// legacyCPK1 is the encoder node/jobrun used before the codec moved here,
// kept verbatim in substance: committee public keys already published in
// blob stores and recipient keys in flight must decode unchanged.
func legacyCPK1(t *testing.T, preset *Preset, pk *rlwe.PublicKey) []byte {
	fp, err := preset.Fingerprint(CKKS)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte("CPK1"), fp[:]...)
	for k := 0; k < 2; k++ {
		for _, rows := range [][][]uint64{pk.Value[k].Q.Coeffs, pk.Value[k].P.Coeffs} {
			for _, row := range rows {
				for _, c := range row {
					out = binary.LittleEndian.AppendUint64(out, c)
				}
			}
		}
	}
	return out
}

func TestPublicKeyCodecWireFormat(t *testing.T) {
	preset := insecurePreset(t)
	pk := NewRecipient(preset).PublicKey()
	b, err := preset.MarshalPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, legacyCPK1(t, preset, pk)) {
		t.Fatal("encoding differs from the published CPK1 format")
	}
	if len(b) != preset.PublicKeySize() {
		t.Fatalf("%d bytes, PublicKeySize says %d", len(b), preset.PublicKeySize())
	}
	got, err := preset.UnmarshalPublicKey(b)
	if err != nil || !got.Equal(pk) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestPublicKeyCodecRejects(t *testing.T) {
	preset := insecurePreset(t)
	b, err := preset.MarshalPublicKey(NewRecipient(preset).PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(b)) }
	q0 := preset.RLWE().Q()[0]
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":         {nil, "0 bytes"},
		"short":         {b[:len(b)-8], "bytes, want"},
		"long":          {append(bytes.Clone(b), 0), "bytes, want"},
		"magic":         {edit(func(b []byte) []byte { b[0] = 'X'; return b }), "bad magic"},
		"fingerprint":   {edit(func(b []byte) []byte { b[4] ^= 1; return b }), "another preset"},
		"unreduced":     {edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[12:], q0); return b }), "not reduced"},
		"unreduced max": {edit(func(b []byte) []byte { copy(b[len(b)-8:], bytes.Repeat([]byte{0xff}, 8)); return b }), "not reduced"},
	} {
		if _, err := preset.UnmarshalPublicKey(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error saying %q, got %v", name, tc.want, err)
		}
	}
	secure, err := SecurePreset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secure.UnmarshalPublicKey(b); err == nil {
		t.Error("accepted a key of another preset")
	}
	if _, err := secure.MarshalPublicKey(NewRecipient(preset).PublicKey()); err == nil {
		t.Error("encoded a key of another ring under the secure preset")
	}
	if _, err := preset.MarshalPublicKey(nil); err == nil {
		t.Error("encoded a nil key")
	}
}

// FuzzUnmarshalPublicKey feeds arbitrary bytes to the public-key decoder
// (committee keys from the blob store, recipient keys from job requests): it
// must reject without panicking, and whatever it accepts must be the
// canonical encoding of the key it returns.
func FuzzUnmarshalPublicKey(f *testing.F) {
	preset, err := InsecureTestPreset()
	if err != nil {
		f.Fatal(err)
	}
	valid, err := preset.MarshalPublicKey(NewRecipient(preset).PublicKey())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Fuzz(func(t *testing.T, data []byte) {
		pk, err := preset.UnmarshalPublicKey(data)
		if err != nil {
			return
		}
		again, err := preset.MarshalPublicKey(pk)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("accepted a non-canonical encoding")
		}
	})
}
