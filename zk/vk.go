package zk

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/consensys/gnark"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

// GnarkVersion is the gnark release that produced and verifies our keys; it
// is part of every verifying-key ID because proof and key encodings, and
// circuit compilation, may change between releases.
func GnarkVersion() string { return gnark.Version.String() }

// VKID identifies a verifying key: hex(SHA-256(domain ‖ circuit ‖ version ‖
// gnark version ‖ compressed key bytes)), each part length-prefixed.
func VKID(circuit, version, gnarkVersion string, vkBytes []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte("cohort/zk/vk-id/v1"), []byte(circuit), []byte(version), []byte(gnarkVersion), vkBytes} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EncodeVerifyingKey returns the compressed encoding of a verifying key.
func EncodeVerifyingKey(vk *groth16bn254.VerifyingKey) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := vk.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode verifying key: %w", err)
	}
	return buf.Bytes(), nil
}

// Bounds on untrusted verifying keys.
const (
	maxVKPublic = 1024
	// MaxVerifyingKeyBytes bounds an encoded verifying key.
	MaxVerifyingKeyBytes = 288 + 4 + (maxVKPublic+maxCommitments)*curve.SizeOfG1AffineCompressed +
		4 + maxCommitments*(4+8*maxVKPublic) + 4 + maxCommitments*2*curve.SizeOfG2AffineCompressed
)

// DecodeVerifyingKey decodes untrusted compressed verifying-key bytes. The
// layout is walked first, so every length the decoder will read is checked
// against the remaining input and fixed bounds before anything is
// allocated; then the gnark decoder runs (on-curve and subgroup checks),
// guarded against panics, and the result must re-encode to the same bytes.
// Every error wraps ErrMalformed.
func DecodeVerifyingKey(b []byte) (vk *groth16bn254.VerifyingKey, err error) {
	if len(b) > MaxVerifyingKeyBytes {
		return nil, fmt.Errorf("%w: verifying key is %d bytes, limit %d", ErrMalformed, len(b), MaxVerifyingKeyBytes)
	}
	if err := checkVKLayout(b); err != nil {
		return nil, fmt.Errorf("%w: verifying key: %v", ErrMalformed, err)
	}
	defer func() {
		if r := recover(); r != nil {
			vk, err = nil, fmt.Errorf("%w: verifying-key decoder panicked: %v", ErrMalformed, r)
		}
	}()
	k := new(groth16bn254.VerifyingKey)
	n, err := k.ReadFrom(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: decode verifying key: %v", ErrMalformed, err)
	}
	if n != int64(len(b)) {
		return nil, fmt.Errorf("%w: verifying key has %d trailing bytes", ErrMalformed, int64(len(b))-n)
	}
	again, err := EncodeVerifyingKey(k)
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: verifying-key encoding is not canonical", ErrMalformed)
	}
	// The verifier indexes the public witness with these; keep them in range.
	nbPublic := len(k.G1.K) - 1 - len(k.PublicAndCommitmentCommitted)
	if nbPublic < 0 {
		return nil, fmt.Errorf("%w: verifying key has fewer K points than commitments", ErrMalformed)
	}
	for _, idx := range k.PublicAndCommitmentCommitted {
		for _, j := range idx {
			if j < 1 || j > nbPublic {
				return nil, fmt.Errorf("%w: verifying key commits to public input %d of %d", ErrMalformed, j, nbPublic)
			}
		}
	}
	return k, nil
}

// layoutReader walks a byte string with bounds checks.
type layoutReader struct {
	b   []byte
	off int
}

func (r *layoutReader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, fmt.Errorf("truncated at offset %d (need %d bytes)", r.off, n)
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

func (r *layoutReader) point(size int) error {
	at := r.off
	p, err := r.take(size)
	if err != nil {
		return err
	}
	if p[0]>>6 == 0 {
		return fmt.Errorf("point at offset %d is not compressed", at)
	}
	return nil
}

func (r *layoutReader) count(limit int) (int, error) {
	p, err := r.take(4)
	if err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(p)
	if n > uint32(limit) {
		return 0, fmt.Errorf("count %d at offset %d above limit %d", n, r.off-4, limit)
	}
	return int(n), nil
}

// checkVKLayout walks gnark v0.16's compressed bn254 VerifyingKey encoding:
// [α]₁ [β]₁ [β]₂ [γ]₂ [δ]₁ [δ]₂, uint32 n + n×G1 (K), uint32 m + m×(uint32
// l + l×uint64) (public-and-commitment-committed), uint32 c + c×(G2, G2).
func checkVKLayout(b []byte) error {
	const g1, g2 = curve.SizeOfG1AffineCompressed, curve.SizeOfG2AffineCompressed
	r := &layoutReader{b: b}
	for _, size := range []int{g1, g1, g2, g2, g1, g2} {
		if err := r.point(size); err != nil {
			return err
		}
	}
	nK, err := r.count(maxVKPublic + maxCommitments)
	if err != nil {
		return err
	}
	if nK == 0 {
		return fmt.Errorf("empty K")
	}
	for i := 0; i < nK; i++ {
		if err := r.point(g1); err != nil {
			return err
		}
	}
	m, err := r.count(maxCommitments)
	if err != nil {
		return err
	}
	for i := 0; i < m; i++ {
		l, err := r.count(maxVKPublic)
		if err != nil {
			return err
		}
		if _, err := r.take(8 * l); err != nil {
			return err
		}
	}
	c, err := r.count(maxCommitments)
	if err != nil {
		return err
	}
	if c != m {
		return fmt.Errorf("%d commitment keys for %d commitments", c, m)
	}
	for i := 0; i < 2*c; i++ {
		if err := r.point(g2); err != nil {
			return err
		}
	}
	if r.off != len(b) {
		return fmt.Errorf("%d trailing bytes", len(b)-r.off)
	}
	return nil
}
