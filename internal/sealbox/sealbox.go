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

// ErrKey is returned for a recipient key that is not a point of the
// prime-order subgroup (or is the identity).
var ErrKey = errors.New("sealbox: the recipient key is not a point of prime order")

// ParsePublicKey decodes a 32-byte sealing key and refuses one that is not
// in the prime-order subgroup (CheckPublicKey).
func ParsePublicKey(b []byte) (kyber.Point, error) {
	if len(b) != PointBytes {
		return nil, fmt.Errorf("sealing key must be %d bytes, got %d", PointBytes, len(b))
	}
	P := suite.Point()
	if err := P.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	if err := CheckPublicKey(P); err != nil {
		return nil, err
	}
	return P, nil
}

// CheckPublicKey refuses a recipient key outside the prime-order subgroup:
// with a key of small order, S = r·P takes one of at most 8 values whatever
// r is, so anyone opens what is sealed to it (the order-2 point (0, −1)
// makes S = P, public); with a torsion component, S would reveal r mod 8.
// A member's own GenerateKey never makes one; a forged genesis entry could.
func CheckPublicKey(P kyber.Point) error {
	if P == nil || !primeOrder(P) {
		return ErrKey
	}
	return nil
}

// Seal encrypts msg to the holder of the private key of pub, bound to aad.
// It refuses a pub that is not of prime order (CheckPublicKey).
func Seal(pub kyber.Point, aad, msg []byte) ([]byte, error) {
	if err := CheckPublicKey(pub); err != nil {
		return nil, err
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
// It allocates nothing before the length checks pass. A message whose
// ephemeral key is not the canonical encoding of a point of prime order
// does not open (Seal never makes one; VerifyOpening judges it the same).
func Open(priv kyber.Scalar, aad, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("sealbox: %d bytes is shorter than a sealed message (%d)", len(sealed), Overhead)
	}
	R, ok := ephemeralKey(sealed)
	if !ok {
		return nil, ErrOpen
	}
	return openWith(suite.Point().Mul(priv, R), suite.Point().Mul(priv, nil), aad, sealed)
}

// openWith opens a sealed message (of at least Overhead bytes) with the
// shared point S, for the recipient key pub: Open's step after S, which
// VerifyOpening runs with a proven S.
func openWith(S, pub kyber.Point, aad, sealed []byte) ([]byte, error) {
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
