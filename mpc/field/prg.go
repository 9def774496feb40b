package field

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// SeedBytes is the size of a PRG seed.
const SeedBytes = 32

// prgBlock is how many key-stream bytes a PRG produces at a time.
const prgBlock = 8 << 10

// PRG is a deterministic stream of bytes and field elements: AES-128 in
// counter mode, keyed by the first 16 bytes of SHA-256(len ‖ domain ‖ seed). Two parties holding the same
// seed and domain draw identical streams, which is how the engine derives
// shares without sending them. A PRG is not safe for concurrent use.
type PRG struct {
	stream cipher.Stream
	zero   []byte
	buf    []byte
	pos    int
}

// NewPRG keys a PRG from a seed and a domain-separation label.
func NewPRG(seed [SeedBytes]byte, domain string) *PRG {
	h := sha256.New()
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(domain)))
	h.Write(l[:])
	h.Write([]byte(domain))
	h.Write(seed[:])
	key := h.Sum(nil)[:16]
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("field: aes key: %v", err)) // 16-byte key: cannot happen
	}
	iv := make([]byte, aes.BlockSize)
	return &PRG{
		stream: cipher.NewCTR(block, iv),
		zero:   make([]byte, prgBlock),
		buf:    make([]byte, prgBlock),
		pos:    prgBlock,
	}
}

// NewPRGFrom keys a PRG with a seed read from r (e.g. crypto/rand.Reader, or
// a test's deterministic reader).
func NewPRGFrom(r io.Reader, domain string) (*PRG, error) {
	var seed [SeedBytes]byte
	if _, err := io.ReadFull(r, seed[:]); err != nil {
		return nil, fmt.Errorf("field: read PRG seed: %w", err)
	}
	return NewPRG(seed, domain), nil
}

func (p *PRG) refill() {
	p.stream.XORKeyStream(p.buf, p.zero)
	p.pos = 0
}

// Read fills b with key stream; it never fails.
func (p *PRG) Read(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if p.pos == len(p.buf) {
			p.refill()
		}
		c := copy(b, p.buf[p.pos:])
		p.pos += c
		b = b[c:]
	}
	return n, nil
}

// Uint64 returns 64 uniformly random bits.
func (p *PRG) Uint64() uint64 {
	if len(p.buf)-p.pos < 8 {
		p.refill()
	}
	v := binary.LittleEndian.Uint64(p.buf[p.pos:])
	p.pos += 8
	return v
}

// Element returns a uniformly random field element, by rejection sampling of
// 254-bit strings (acceptance ≈ 0.76). The limbs are taken as the Montgomery
// form, which is uniform when the integer is.
func (p *PRG) Element(e *fr.Element) {
	for {
		if len(p.buf)-p.pos < Bytes {
			p.refill()
		}
		o := p.buf[p.pos : p.pos+Bytes]
		p.pos += Bytes
		e[0] = binary.LittleEndian.Uint64(o[0:])
		e[1] = binary.LittleEndian.Uint64(o[8:])
		e[2] = binary.LittleEndian.Uint64(o[16:])
		e[3] = binary.LittleEndian.Uint64(o[24:]) & (1<<62 - 1)
		if belowModulus(e) {
			return
		}
	}
}

// FillVector sets every element of v to a fresh uniform field element.
func (p *PRG) FillVector(v fr.Vector) {
	for i := range v {
		p.Element(&v[i])
	}
}

// FillBits sets every element of v to a uniform bit (0 or 1).
func (p *PRG) FillBits(v fr.Vector) {
	var w uint64
	for i := range v {
		if i%64 == 0 {
			w = p.Uint64()
		}
		v[i].SetUint64(w & 1)
		w >>= 1
	}
}

// FillBounded sets every element of v to a uniform integer in [0, 2^bits),
// bits ≤ 64.
func (p *PRG) FillBounded(v fr.Vector, bits uint) {
	mask := ^uint64(0)
	if bits < 64 {
		mask = 1<<bits - 1
	}
	for i := range v {
		v[i].SetUint64(p.Uint64() & mask)
	}
}

// StreamKey derives independent, seekable PRG streams from one seed: the
// stream of (round, chunk) is AES-128-CTR under the key with the IV
// round ‖ chunk ‖ 0. Two parties holding the same seed fill the same vectors
// for the same (round, chunk), in any order and in parallel. A StreamKey is
// safe for concurrent use.
type StreamKey struct {
	block cipher.Block
}

// StreamBufBytes is the scratch size FillStream wants.
const StreamBufBytes = 4 << 10

// NewStreamKey keys streams from a seed and a domain-separation label.
func NewStreamKey(seed [SeedBytes]byte, domain string) *StreamKey {
	h := sha256.New()
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(domain)))
	h.Write(l[:])
	h.Write([]byte(domain))
	h.Write(seed[:])
	block, err := aes.NewCipher(h.Sum(nil)[:16])
	if err != nil {
		panic(fmt.Sprintf("field: aes key: %v", err)) // 16-byte key: cannot happen
	}
	return &StreamKey{block: block}
}

// Fill sets v to uniform field elements from the stream (round, chunk).
// scratch (StreamBufBytes long, reused across calls) holds key stream.
func (k *StreamKey) Fill(v fr.Vector, round uint64, chunk uint32, scratch []byte) {
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint64(iv[:8], round)
	binary.BigEndian.PutUint32(iv[8:12], chunk)
	ctr := cipher.NewCTR(k.block, iv[:])
	buf := scratch[:StreamBufBytes]
	// Rejection sampling without a branch on the outcome (it fails for
	// about a quarter of the candidates, at random: a misprediction each
	// time): every candidate is written at v[i], and i advances only when
	// it is below q. The output is the same as a loop that tests each one.
	i := 0
	for i < len(v) {
		clear(buf)
		ctr.XORKeyStream(buf, buf)
		for o := 0; o+Bytes <= len(buf) && i < len(v); o += Bytes {
			b := buf[o : o+Bytes : o+Bytes]
			e := &v[i]
			e[0] = binary.LittleEndian.Uint64(b[0:])
			e[1] = binary.LittleEndian.Uint64(b[8:])
			e[2] = binary.LittleEndian.Uint64(b[16:])
			e[3] = binary.LittleEndian.Uint64(b[24:]) & (1<<62 - 1)
			i += int(belowModulusBit(e))
		}
	}
}

// belowModulusBit is 1 when e < q and 0 otherwise, without a branch: the
// borrow out of e − q.
func belowModulusBit(e *fr.Element) uint64 {
	_, b := bits.Sub64(e[0], modulusLimbs[0], 0)
	_, b = bits.Sub64(e[1], modulusLimbs[1], b)
	_, b = bits.Sub64(e[2], modulusLimbs[2], b)
	_, b = bits.Sub64(e[3], modulusLimbs[3], b)
	return b
}
