package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/group/edwards25519"
)

// Sizes of a sealed message's parts.
const (
	PointBytes = 32
	TagBytes   = 16
	// PoKBytes is the size of the sender's proof of knowledge of its
	// ephemeral scalar (c ‖ z).
	PoKBytes = 64
	// Overhead is what Seal adds to a message: R ‖ PoK ‖ GCM tag.
	Overhead = PointBytes + PoKBytes + TagBytes
)

// info is the KDF's domain tag. v2: the message carries the sender's PoK
// (v1 ciphertexts, without it, are not accepted).
const info = "cohort/sealbox/v2\x00"

// pokTag is the domain tag of the sender's proof of knowledge.
const pokTag = "cohort/sealbox/sender-pok/v2\x00"

// suite is the group of member sealing keys (as node/supervision's).
var suite = edwards25519.NewBlakeSHA256Ed25519()

// ErrOpen is returned when a ciphertext does not open: wrong key, wrong
// associated data, or tampered bytes (the causes are not told apart).
var ErrOpen = errors.New("sealbox: message does not open")

// ErrInvalid is returned for a ciphertext that is publicly invalid — shorter
// than Overhead, an ephemeral key R that is not the canonical encoding of a
// point of prime order, or a sender's proof of knowledge of r that does not
// verify for this recipient and AAD (Check). Anyone can tell, from the
// ciphertext, the recipient's public key and the AAD alone; no key opens it.
var ErrInvalid = errors.New("sealbox: the ciphertext is publicly invalid")

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

// Seal encrypts msg to the holder of the private key of pub, bound to aad,
// with the proof that the sender knows r (doc.go). It refuses a pub that is
// not of prime order (CheckPublicKey).
func Seal(pub kyber.Point, aad, msg []byte) ([]byte, error) {
	return seal(pub, aad, msg, nil)
}

// SealCorrupt is Seal by a dishonest sender: the body is encrypted and then
// altered (its last byte flipped) before the sender proves knowledge of r
// over it, so the ciphertext is publicly valid (Check passes, the ledger
// takes it) yet opens for nobody. It exists for the tests of blame (a
// recipient proves such a share does not open and the provider is
// charged); a deployment has no use for it.
func SealCorrupt(pub kyber.Point, aad, msg []byte) ([]byte, error) {
	return seal(pub, aad, msg, func(body []byte) { body[len(body)-1] ^= 1 })
}

func seal(pub kyber.Point, aad, msg []byte, tamper func(body []byte)) ([]byte, error) {
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
	out := make([]byte, PointBytes+PoKBytes, Overhead+len(msg))
	copy(out, rb)
	out = aead.Seal(out, make([]byte, aead.NonceSize()), msg, aad)
	if tamper != nil {
		tamper(out[PointBytes+PoKBytes:])
	}
	// Schnorr proof of knowledge of r, bound to the recipient, the AAD and
	// the body (what makes a proven opening disclose nothing, doc.go).
	k := suite.Scalar().Pick(suite.RandomStream())
	A := suite.Point().Mul(k, nil)
	c, err := pokChallenge(pub, R, A, aad, out[PointBytes+PoKBytes:])
	if err != nil {
		return nil, err
	}
	z := suite.Scalar().Add(k, suite.Scalar().Mul(c, r))
	cb, err := c.MarshalBinary()
	if err != nil {
		return nil, err
	}
	zb, err := z.MarshalBinary()
	if err != nil {
		return nil, err
	}
	copy(out[PointBytes:], cb)
	copy(out[PointBytes+ScalarBytes:], zb)
	return out, nil
}

// Check reports whether sealed is a publicly valid ciphertext to pub under
// aad: at least Overhead bytes, R a canonical point of prime order, and the
// sender's proof of knowledge of r verifying for pub, aad and the body. It
// returns ErrInvalid (wrapped, with the reason) otherwise, or ErrKey for a
// pub not of prime order. What Seal makes passes; the ledger runs it on
// every sealed share at job input. Deterministic; allocates nothing before
// the length check.
func Check(pub kyber.Point, aad, sealed []byte) error {
	if err := CheckPublicKey(pub); err != nil {
		return err
	}
	_, err := parseSealed(pub, aad, sealed)
	return err
}

// Open decrypts a sealed message with the private key priv, checking aad.
// It allocates nothing before the length checks pass. A publicly invalid
// message (Check) does not open: the error wraps both ErrOpen and
// ErrInvalid.
func Open(priv kyber.Scalar, aad, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: %w: %d bytes is shorter than a sealed message (%d)", ErrOpen, ErrInvalid, len(sealed), Overhead)
	}
	pub := suite.Point().Mul(priv, nil)
	R, err := parseSealed(pub, aad, sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return openWith(suite.Point().Mul(priv, R), pub, aad, sealed)
}

// openWith opens a publicly valid sealed message with the shared point S,
// for the recipient key pub: Open's step after S, which VerifyOpening runs
// with a proven S.
func openWith(S, pub kyber.Point, aad, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(S, sealed[:PointBytes], pub)
	if err != nil {
		return nil, err
	}
	msg, err := aead.Open(nil, make([]byte, aead.NonceSize()), sealed[PointBytes+PoKBytes:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return msg, nil
}

// parseSealed decodes a sealed message's ephemeral key R and checks that
// the message is publicly valid (Check) for pub, which the caller has
// checked to be of prime order.
func parseSealed(pub kyber.Point, aad, sealed []byte) (kyber.Point, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than a sealed message (%d)", ErrInvalid, len(sealed), Overhead)
	}
	R, ok := canonicalPoint(sealed[:PointBytes])
	if !ok || !primeOrder(R) {
		return nil, fmt.Errorf("%w: the ephemeral key is not a canonical point of prime order", ErrInvalid)
	}
	c, ok := canonicalScalar(sealed[PointBytes : PointBytes+ScalarBytes])
	z, ok2 := canonicalScalar(sealed[PointBytes+ScalarBytes : PointBytes+PoKBytes])
	if !ok || !ok2 {
		return nil, fmt.Errorf("%w: non-canonical scalar in the sender's proof", ErrInvalid)
	}
	// A = z·G − c·R
	A := suite.Point().Sub(suite.Point().Mul(z, nil), suite.Point().Mul(c, R))
	want, err := pokChallenge(pub, R, A, aad, sealed[PointBytes+PoKBytes:])
	if err != nil {
		return nil, err
	}
	if !want.Equal(c) {
		return nil, fmt.Errorf("%w: the sender's proof of knowledge does not verify", ErrInvalid)
	}
	return R, nil
}

// pokChallenge is the Fiat–Shamir challenge of the sender's proof of
// knowledge of r: it hashes the domain tag, the AAD, the base point, the
// recipient key, R, the commitment A and the body, so a proof does not move
// to another recipient, context or body.
func pokChallenge(X, R, A kyber.Point, aad, body []byte) (kyber.Scalar, error) {
	h := sha512.New()
	h.Write([]byte(pokTag))
	writeLen(h, aad)
	for _, p := range []kyber.Point{suite.Point().Base(), X, R, A} {
		b, err := p.MarshalBinary()
		if err != nil {
			return nil, err
		}
		h.Write(b)
	}
	writeLen(h, body)
	return suite.Scalar().SetBytes(h.Sum(nil)), nil
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
