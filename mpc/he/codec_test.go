package he

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

func TestCiphertextCodecRoundTrip(t *testing.T) {
	preset := insecurePreset(t)
	kg := rlwe.NewKeyGenerator(preset.RLWE())
	pk := kg.GenPublicKeyNew(kg.GenSecretKeyNew())
	b, id, err := preset.EncryptFloats(pk, []float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	ct, id2, err := preset.UnmarshalCiphertext(CKKS, b)
	if err != nil {
		t.Fatal(err)
	}
	if id != id2 || id != HashCiphertext(b) {
		t.Fatal("content address changed in a round trip")
	}
	again, err := preset.MarshalCiphertext(CKKS, ct)
	if err != nil || string(again) != string(b) {
		t.Fatal("re-encoding is not byte-identical")
	}
	bi, _, err := preset.EncryptInts(pk, []int64{-5, 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := preset.UnmarshalCiphertext(BGV, bi); err != nil {
		t.Fatal(err)
	}
}

func TestCiphertextCodecRejectsBadInput(t *testing.T) {
	preset := insecurePreset(t)
	kg := rlwe.NewKeyGenerator(preset.RLWE())
	pk := kg.GenPublicKeyNew(kg.GenSecretKeyNew())
	good, _, err := preset.EncryptFloats(pk, []float64{1})
	if err != nil {
		t.Fatal(err)
	}
	goodBGV, _, err := preset.EncryptInts(pk, []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	secure, err := SecurePreset()
	if err != nil {
		t.Fatal(err)
	}
	skS := rlwe.NewKeyGenerator(secure.RLWE()).GenSecretKeyNew()
	foreign, _, err := secure.EncryptFloats(rlwe.NewKeyGenerator(secure.RLWE()).GenPublicKeyNew(skS), []float64{1})
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name, want string
		data       []byte
		scheme     Scheme
	}{
		{"empty", "shorter than", nil, CKKS},
		{"other preset", "other parameters", foreign, CKKS},
		{"BGV as CKKS", "scheme BGV, expected CKKS", goodBGV, CKKS},
		{"truncated", "bytes, expected", good[:len(good)-8], CKKS},
		{"extra bytes", "bytes, expected", append(append([]byte(nil), good...), 0), CKKS},
		{"degree 2", "degree 2", mutate(func(b []byte) []byte { b[13] = 2; return b }), CKKS},
		{"level too high", "level", mutate(func(b []byte) []byte { b[14] = 200; return b }), CKKS},
		{"not NTT", "flags", mutate(func(b []byte) []byte { b[15] = flagBatched; return b }), CKKS},
		{"unreduced", "not reduced", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[len(b)-8:], ^uint64(0))
			return b
		}), CKKS},
	}
	for _, c := range cases {
		_, _, err := preset.UnmarshalCiphertext(c.scheme, c.data)
		if !errors.Is(err, ErrBadCiphertext) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want ErrBadCiphertext mentioning %q, got %v", c.name, c.want, err)
		}
	}
}

// FuzzUnmarshalCiphertext feeds arbitrary bytes to the ciphertext decoder:
// it must never panic or allocate beyond the bound implied by the
// parameters, and whatever it accepts must re-encode to the same bytes.
func FuzzUnmarshalCiphertext(f *testing.F) {
	preset, err := InsecureTestPreset()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, scheme byte, data []byte) {
		s := Scheme(scheme%3 + 0)
		ct, id, err := preset.UnmarshalCiphertext(s, data)
		if err != nil {
			return
		}
		again, err := preset.MarshalCiphertext(s, ct)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(data) || HashCiphertext(again) != id {
			t.Fatal("accepted a non-canonical encoding")
		}
	})
}

func TestPublicKeyAndRecipientCodec(t *testing.T) {
	preset := insecurePreset(t)
	r := NewRecipient(preset)
	b, err := preset.MarshalPublicKey(r.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	pk, err := preset.UnmarshalPublicKey(b)
	if err != nil || !pk.Equal(r.PublicKey()) {
		t.Fatalf("public key round trip: %v", err)
	}
	if _, err := preset.UnmarshalPublicKey(b[:len(b)-1]); err == nil {
		t.Fatal("accepted a truncated public key")
	}
	secure, err := SecurePreset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secure.UnmarshalPublicKey(b); err == nil {
		t.Fatal("accepted a public key of another ring")
	}
	sk, err := r.MarshalSecret()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := LoadRecipient(preset, sk)
	if err != nil {
		t.Fatal(err)
	}
	ct, _, err := preset.EncryptFloats(r2.PublicKey(), []float64{0.5})
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.DecryptFloats(ct)
	if err != nil || v[0] < 0.499 || v[0] > 0.501 {
		t.Fatalf("restored recipient key differs: %v %v", v[0], err)
	}
}
