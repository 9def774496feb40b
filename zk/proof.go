package zk

import (
	"bytes"
	"encoding/binary"
	"fmt"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

// Compressed Groth16 proof layout (gnark v0.16 bn254 Proof.WriteTo):
//
//	Ar (G1, 32) | Bs (G2, 64) | Krs (G1, 32) | uint32 n | n × commitment (G1, 32) | CommitmentPok (G1, 32)
const proofBaseSize = curve.SizeOfG1AffineCompressed*3 + curve.SizeOfG2AffineCompressed + 4

// ProofSize is the exact size of a compressed proof for a verifying key with
// nbCommitments Pedersen commitments (0 for bit-decomposition range checks,
// 1 for std/rangecheck's lookup argument).
func ProofSize(nbCommitments int) int {
	return proofBaseSize + nbCommitments*curve.SizeOfG1AffineCompressed
}

// maxCommitments bounds the commitments a verifying key may declare.
const maxCommitments = 4

// EncodeProof returns the compressed encoding of a proof.
func EncodeProof(p *groth16bn254.Proof) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := p.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode proof: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeProof decodes untrusted proof bytes for a key with nbCommitments
// commitments. The length and the embedded commitment count are checked
// before the decoder runs, so nothing is allocated from attacker-chosen
// sizes; points must be canonical, compressed, on the curve and in the
// subgroup (the decoder checks); and a panic in the decoder becomes an
// error. Every error wraps ErrMalformed.
func DecodeProof(b []byte, nbCommitments int) (proof *groth16bn254.Proof, err error) {
	if nbCommitments < 0 || nbCommitments > maxCommitments {
		return nil, fmt.Errorf("%w: key declares %d commitments", ErrMalformed, nbCommitments)
	}
	if want := ProofSize(nbCommitments); len(b) != want {
		return nil, fmt.Errorf("%w: proof is %d bytes, want %d", ErrMalformed, len(b), want)
	}
	// Compressed points carry a non-zero flag in their two top bits; an
	// uncompressed flag would make the decoder read past our layout.
	for _, off := range proofPointOffsets(nbCommitments) {
		if b[off]>>6 == 0 {
			return nil, fmt.Errorf("%w: proof point at offset %d is not compressed", ErrMalformed, off)
		}
	}
	n := binary.BigEndian.Uint32(b[proofBaseSize-4-curve.SizeOfG1AffineCompressed:])
	if int64(n) != int64(nbCommitments) {
		return nil, fmt.Errorf("%w: proof declares %d commitments, key has %d", ErrMalformed, n, nbCommitments)
	}
	defer func() {
		if r := recover(); r != nil {
			proof, err = nil, fmt.Errorf("%w: proof decoder panicked: %v", ErrMalformed, r)
		}
	}()
	p := new(groth16bn254.Proof)
	read, err := p.ReadFrom(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: decode proof: %v", ErrMalformed, err)
	}
	if read != int64(len(b)) {
		return nil, fmt.Errorf("%w: proof decoder read %d of %d bytes", ErrMalformed, read, len(b))
	}
	// Without commitments the verifier ignores CommitmentPok: require the
	// point at infinity so those 32 bytes cannot be varied freely.
	if nbCommitments == 0 && !p.CommitmentPok.IsInfinity() {
		return nil, fmt.Errorf("%w: proof carries a commitment proof but the key has no commitments", ErrMalformed)
	}
	// One proof, one encoding: reject anything that does not re-encode to
	// the same bytes (e.g. non-canonical coordinates).
	again, err := EncodeProof(p)
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: proof encoding is not canonical", ErrMalformed)
	}
	return p, nil
}

// proofPointOffsets lists where each point starts in a compressed proof.
func proofPointOffsets(nbCommitments int) []int {
	const g1, g2 = curve.SizeOfG1AffineCompressed, curve.SizeOfG2AffineCompressed
	offs := []int{0, g1, g1 + g2}
	off := g1 + g2 + g1 + 4
	for i := 0; i < nbCommitments; i++ {
		offs = append(offs, off)
		off += g1
	}
	return append(offs, off)
}
