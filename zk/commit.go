package zk

import (
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark/frontend"
	stdposeidon2 "github.com/consensys/gnark/std/hash/poseidon2"
)

// Commit returns the Poseidon2 commitment to fields under salt:
//
//	Commit(f1..fk, salt) = Poseidon2-MD(f1, ..., fk, salt)
//
// where Poseidon2-MD is gnark-crypto's bn254 poseidon2.NewMerkleDamgardHasher
// (zero IV, width-2 compression, 6 full and 50 partial rounds) fed with the
// canonical 32-byte big-endian encoding of each element, and the 32-byte
// digest is read back as a field element. The MPC engine computes exactly
// the same function on secret-shared inputs; CommitVar computes it in a
// circuit.
//
// The Merkle–Damgård construction has no length padding, so a commitment is
// only binding for a fixed, publicly known number of fields: every user of
// Commit (circuit or protocol) fixes k. The salt is last and must be a fresh
// uniformly random field element (NewSalt) for hiding.
func Commit(salt fr.Element, fields ...fr.Element) fr.Element {
	h := poseidon2.NewMerkleDamgardHasher()
	for i := range fields {
		b := fields[i].Bytes()
		// Write on a Merkle–Damgård hasher over canonical field encodings
		// never fails: every block is a valid element.
		_, _ = h.Write(b[:])
	}
	b := salt.Bytes()
	_, _ = h.Write(b[:])
	var out fr.Element
	out.SetBytes(h.Sum(nil))
	return out
}

// NewSalt draws a uniformly random, full-size field element from rand
// (crypto/rand.Reader in production).
func NewSalt(rand io.Reader) (fr.Element, error) {
	if rand == nil {
		return fr.Element{}, errors.New("zk: nil randomness source")
	}
	// 48 bytes reduced mod r gives a bias below 2^-128.
	var buf [48]byte
	if _, err := io.ReadFull(rand, buf[:]); err != nil {
		return fr.Element{}, fmt.Errorf("zk: read salt randomness: %w", err)
	}
	var s fr.Element
	s.SetBigInt(new(big.Int).SetBytes(buf[:]))
	return s, nil
}

// CommitVar is Commit inside a circuit: gnark's std/hash/poseidon2 hasher
// fed with fields then salt.
func CommitVar(api frontend.API, salt frontend.Variable, fields ...frontend.Variable) (frontend.Variable, error) {
	h, err := stdposeidon2.New(api)
	if err != nil {
		return nil, fmt.Errorf("zk: poseidon2 hasher: %w", err)
	}
	h.Write(fields...)
	h.Write(salt)
	return h.Sum(), nil
}
