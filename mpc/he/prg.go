package he

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
)

// ctrPRNG expands a 32-byte key into a pseudorandom stream: AES-256 in
// counter mode from the zero IV. Every key the package derives for it is
// used for one stream only (streamKey of a label naming that stream), so
// the fixed IV never repeats under a key. It replaces lattigo's KeyedPRNG
// (a BLAKE2b XOF) for the pairwise key-switching masks (pcksmask.go), which
// draw megabytes of uniform polynomials per job and per setup key test: the
// setup profile put the BLAKE2b expansion of the masks at a twentieth of
// the setup's CPU, and AES-CTR with AES-NI is several times faster. (The
// committee's CRS still uses KeyedPRNG: stored key records re-derive their
// CRP halves from it, see doc.go.)
type ctrPRNG struct{ stream cipher.Stream }

// newCTRPRNG returns the stream of key.
func newCTRPRNG(key [32]byte) (*ctrPRNG, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("he: prg: %w", err)
	}
	return &ctrPRNG{stream: cipher.NewCTR(block, make([]byte, aes.BlockSize))}, nil
}

// Read fills b with the next len(b) bytes of the stream (whatever b held).
func (p *ctrPRNG) Read(b []byte) (int, error) {
	clear(b)
	p.stream.XORKeyStream(b, b)
	return len(b), nil
}

// streamKey derives the key of the stream named by domain and parts:
// SHA-256 over the domain and each part prefixed by its length, so that
// distinct (domain, parts) never name the same stream.
func streamKey(domain string, parts ...[]byte) [32]byte {
	h := sha256.New()
	var l [8]byte
	put := func(b []byte) {
		n := uint64(len(b))
		for i := range l {
			l[i] = byte(n >> (8 * i))
		}
		h.Write(l[:])
		h.Write(b)
	}
	put([]byte(domain))
	for _, p := range parts {
		put(p)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}
