package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/group/edwards25519"
)

// Sizes of a sealed message's parts.
const (
	PointBytes = 32
	TagBytes   = 16
	// Overhead is what Seal adds to a message.
	Overhead = PointBytes + TagBytes
)

// info is the KDF's domain tag.
const info = "cohort/sealbox/v1\x00"

// suite is the group of member sealing keys (as node/supervision's).
var suite = edwards25519.NewBlakeSHA256Ed25519()

// ErrOpen is returned when a ciphertext does not open: wrong key, wrong
// associated data, or tampered bytes (the causes are not told apart).
var ErrOpen = errors.New("sealbox: message does not open")

// Seal encrypts msg to the holder of the private key of pub, bound to aad.
func Seal(pub kyber.Point, aad, msg []byte) ([]byte, error) {
	if pub == nil || pub.Equal(suite.Point().Null()) {
		return nil, errors.New("sealbox: no recipient key")
	}
	r := suite.Scalar().Pick(suite.RandomStream())
	R := suite.Point().Mul(r, nil)
	S := suite.Point().Mul(r, pub)
	rb, err := R.MarshalBinary()
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(S, rb, pub)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, Overhead+len(msg))
	out = append(out, rb...)
	return aead.Seal(out, make([]byte, aead.NonceSize()), msg, aad), nil
}

// Open decrypts a sealed message with the private key priv, checking aad.
// It allocates nothing before the length checks pass.
func Open(priv kyber.Scalar, aad, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("sealbox: %d bytes is shorter than a sealed message (%d)", len(sealed), Overhead)
	}
	R := suite.Point()
	if err := R.UnmarshalBinary(sealed[:PointBytes]); err != nil || !primeOrder(R) {
		return nil, ErrOpen
	}
	S := suite.Point().Mul(priv, R)
	pub := suite.Point().Mul(priv, nil)
	aead, err := newAEAD(S, sealed[:PointBytes], pub)
	if err != nil {
		return nil, err
	}
	msg, err := aead.Open(nil, make([]byte, aead.NonceSize()), sealed[PointBytes:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return msg, nil
}

// primeOrder reports whether P is in the prime-order subgroup and not the
// identity: l·P = 0 (computed as (l−1)·P + P). An ephemeral key with a
// torsion component would make S depend on the recipient's key mod 8, which
// whether the recipient can open (its node blames the provider on the
// ledger when it cannot) would leak.
func primeOrder(P kyber.Point) bool {
	if P.Equal(suite.Point().Null()) {
		return false
	}
	minusOne := suite.Scalar().Neg(suite.Scalar().One())
	lP := suite.Point().Mul(minusOne, P)
	lP.Add(lP, P)
	return lP.Equal(suite.Point().Null())
}

// newAEAD derives the message key from the shared point S, the ephemeral
// key's bytes and the recipient key.
func newAEAD(S kyber.Point, ephemeral []byte, pub kyber.Point) (cipher.AEAD, error) {
	// Defence in depth (Open checked R's order): an identity S is a key
	// anyone can compute.
	if S.Equal(suite.Point().Null()) {
		return nil, ErrOpen
	}
	sb, err := S.MarshalBinary()
	if err != nil {
		return nil, err
	}
	pb, err := pub.MarshalBinary()
	if err != nil {
		return nil, err
	}
	label := append(append([]byte(info), ephemeral...), pb...)
	key, err := hkdf.Key(sha256.New, sb, nil, string(label), 32)
	if err != nil {
		return nil, fmt.Errorf("sealbox: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
