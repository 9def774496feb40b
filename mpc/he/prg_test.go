package he

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// TestCTRPRNGStream: ctrPRNG's output is the AES-256-CTR keystream of its
// key from the zero IV, continued across reads, whatever the caller's
// buffer held before (lattigo's samplers reuse their buffers).
func TestCTRPRNGStream(t *testing.T) {
	key := streamKey("test", []byte("a"))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 3000)
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(want, want)
	p, err := newCTRPRNG(key)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, len(want))
	for _, n := range []int{1, 15, 16, 17, 951, 2000} { // reads across block boundaries
		buf := bytes.Repeat([]byte{0xa5}, n) // stale content must not leak in
		if m, err := p.Read(buf); err != nil || m != n {
			t.Fatalf("read %d: %d, %v", n, m, err)
		}
		got = append(got, buf...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("ctrPRNG output is not the AES-256-CTR keystream")
	}
}

// TestStreamKeySeparatesLabels: streamKey is length-prefixed, so moving
// bytes between the domain and the parts, or between parts, names another
// stream.
func TestStreamKeySeparatesLabels(t *testing.T) {
	keys := [][32]byte{
		streamKey("ab", []byte("c")),
		streamKey("a", []byte("bc")),
		streamKey("a", []byte("b"), []byte("c")),
		streamKey("abc"),
		streamKey("a", []byte("bc"), nil),
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[i] == keys[j] {
				t.Fatalf("labels %d and %d share a stream key", i, j)
			}
		}
	}
}
