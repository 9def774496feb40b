package sealbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"go.dedis.ch/kyber/v3"
)

// Proven openings. The recipient of a sealed message can show anyone what
// its key makes of the message without giving its key away: it publishes
// the shared point S = x·R (R the message's ephemeral key, X = x·G its
// sealing key) and a Chaum–Pedersen proof that log_G X = log_R S. With S,
// anyone derives the message key exactly as Open does and sees whether the
// message opens, and to what. This is what makes "the share sealed to me
// does not open" checkable (ledger job.abort, node/jobrun agreeInputs): a
// member cannot claim a good ciphertext fails (the proof pins S to its key)
// and cannot frame a provider with a made-up S.
//
// What publishing S discloses. S = x·R is the Diffie–Hellman secret of
// EVERY ciphertext to X with that R, not of one message: were a recipient
// to prove openings of arbitrary bytes, anyone could copy the R of someone
// else's ciphertext to it (a sealed share on chain, or a supervision
// record's ECIES wrap, node/supervision, which uses the same key pair)
// into bytes of their own, have the recipient prove "does not open", and
// read that ciphertext with the published S. So a proof is made and checked
// only for a publicly valid ciphertext (Check: the sender's Schnorr proof of knowledge of r): the
// sender proved knowledge of r with R = r·G, bound to the sealbox domain,
// the AAD, X, R and the body. Whoever made such a ciphertext knows r and
// so already knew S = r·X; S tells it nothing new, and tells others only
// what S opens: ciphertexts to X with that R, which only the holder of r
// can make (R is fresh per Seal; copying R without r yields no valid
// proof) — for an honest sender that one message; a sender that reuses its
// r exposes its own ciphertexts together, its own choice. A ciphertext with another party's R — a copied sealed share in
// another context (the PoK binds the AAD), a supervision wrap, anything
// without the PoK — is refused by ProveOpening (ErrInvalid) and never
// proven. Nothing of x leaks: the proof is zero-knowledge
// (honest-verifier, made non-interactive by Fiat–Shamir).
//
// The proof (c, z), 64 bytes, with a nonce k:
//
//	A1 = k·G, A2 = k·R
//	c  = H(tag ‖ len(aad) ‖ aad ‖ len(sealed) ‖ sealed ‖ G ‖ X ‖ R ‖ S ‖ A1 ‖ A2) mod l   (H: SHA-512)
//	z  = k − c·x mod l
//
// and the verifier recomputes A1 = z·G + c·X, A2 = z·R + c·S and c. The
// challenge hashes the whole statement — both bases, both points, the
// ciphertext and its associated data (for sealed job inputs the AAD binds
// chain, job, slot and member) — so a proof does not transfer to another
// ciphertext, context or key (the weak Fiat–Shamir of kyber's proof/dleq,
// which hashes neither the bases nor any context, would). X, R and S must
// be canonical encodings of points of the prime-order subgroup, c and z
// canonical scalars: the statement is then sound in the prime-order group
// and the proof's bytes are not malleable. Verification is deterministic
// (the ledger runs it); only proving draws randomness.
//
// A publicly invalid message (Check: too short, R not a canonical point of
// prime order, or no valid sender's PoK) opens for nobody, and anyone sees
// it from the ciphertext alone: VerifyOpening reports it as not opening
// whatever S and proof come with it, and ProveOpening refuses it.

// Sizes of an opening proof's parts.
const (
	ScalarBytes = 32
	// ProofBytes is the size of an encoded opening proof (c ‖ z).
	ProofBytes = 2 * ScalarBytes
)

// openingTag is the proof's domain tag.
const openingTag = "cohort/sealbox/opening/v2\x00"

// ErrProof is returned by VerifyOpening for a proof that does not verify
// or a shared point or proof that is malformed.
var ErrProof = errors.New("sealbox: the opening proof does not verify")

// ProveOpening computes, for a sealed message to the holder of priv, the
// shared point S = priv·R and a proof that S and the holder's public key
// have the same discrete logarithm, bound to aad and the message. It
// refuses (an error wrapping ErrInvalid, no S) a message that is publicly
// invalid for its key and aad (Check): one whose sender did not prove
// knowledge of r, whose S would therefore be news to someone (doc above).
// Such a message opens for nobody, as anyone can see.
func ProveOpening(priv kyber.Scalar, aad, sealed []byte) (S, proof []byte, err error) {
	if priv == nil {
		return nil, nil, errors.New("sealbox: no private key")
	}
	X := suite.Point().Mul(priv, nil)
	if err := CheckPublicKey(X); err != nil {
		return nil, nil, err
	}
	R, err := parseSealed(X, aad, sealed)
	if err != nil {
		return nil, nil, err
	}
	Sp := suite.Point().Mul(priv, R)
	// A hedged nonce: a hash of the key, the statement and fresh
	// randomness, so that neither a weak random source nor a repeated
	// statement repeats k for different statements.
	var fresh [32]byte
	if _, err := rand.Read(fresh[:]); err != nil {
		return nil, nil, fmt.Errorf("sealbox: nonce: %w", err)
	}
	xb, err := priv.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	nh := sha512.New()
	nh.Write([]byte(openingTag + "nonce\x00"))
	nh.Write(xb)
	nh.Write(fresh[:])
	writeLen(nh, aad)
	writeLen(nh, sealed)
	k := suite.Scalar().SetBytes(nh.Sum(nil))
	A1 := suite.Point().Mul(k, nil)
	A2 := suite.Point().Mul(k, R)
	c, err := challenge(aad, sealed, X, R, Sp, A1, A2)
	if err != nil {
		return nil, nil, err
	}
	z := suite.Scalar().Sub(k, suite.Scalar().Mul(c, priv))
	if S, err = Sp.MarshalBinary(); err != nil {
		return nil, nil, err
	}
	cb, err := c.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	zb, err := z.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	return S, append(cb, zb...), nil
}

// VerifyOpening checks a proven opening of sealed (for the holder of pub,
// bound to aad) and then opens it with the proven S. It returns an error
// (ErrProof, or a decoding error) for a malformed or non-prime-order pub,
// S or proof, or a proof that does not verify; ErrInvalid when the message
// itself is publicly invalid (Check) — no proof of it exists, and whoever
// kept it should have refused it (the ledger does at input), so it is no
// evidence against its sender: an invalid stored share only means the
// rules or keys changed since (an upgrade to this format, a chain ID
// change), and junk must not convict on it; opened false when the proven S
// does not open the message; and the message when it opens. S must be
// PointBytes long and proof ProofBytes, checked before anything else of
// them is read; pub must be of prime order (CheckPublicKey).
// Deterministic.
func VerifyOpening(pub kyber.Point, aad, sealed, S, proof []byte) (msg []byte, opened bool, err error) {
	if err := CheckPublicKey(pub); err != nil {
		return nil, false, err
	}
	R, err := parseSealed(pub, aad, sealed)
	if err != nil {
		return nil, false, err
	}
	if len(S) != PointBytes || len(proof) != ProofBytes {
		return nil, false, fmt.Errorf("%w: shared point of %d bytes, proof of %d (want %d and %d)", ErrProof, len(S), len(proof), PointBytes, ProofBytes)
	}
	Sp, ok := canonicalPoint(S)
	if !ok || !primeOrder(Sp) {
		return nil, false, fmt.Errorf("%w: the shared point is not a canonical point of prime order", ErrProof)
	}
	c, ok := canonicalScalar(proof[:ScalarBytes])
	z, ok2 := canonicalScalar(proof[ScalarBytes:])
	if !ok || !ok2 {
		return nil, false, fmt.Errorf("%w: non-canonical scalar", ErrProof)
	}
	A1 := suite.Point().Add(suite.Point().Mul(z, nil), suite.Point().Mul(c, pub))
	A2 := suite.Point().Add(suite.Point().Mul(z, R), suite.Point().Mul(c, Sp))
	want, err := challenge(aad, sealed, pub, R, Sp, A1, A2)
	if err != nil {
		return nil, false, err
	}
	if !want.Equal(c) {
		return nil, false, ErrProof
	}
	msg, err = openWith(Sp, pub, aad, sealed)
	if errors.Is(err, ErrOpen) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return msg, true, nil
}

// canonicalPoint decodes b and accepts it only if it is the point's own
// encoding (kyber accepts some non-canonical ones).
func canonicalPoint(b []byte) (kyber.Point, bool) {
	if len(b) != PointBytes {
		return nil, false
	}
	P := suite.Point()
	if err := P.UnmarshalBinary(b); err != nil {
		return nil, false
	}
	re, err := P.MarshalBinary()
	if err != nil || !bytes.Equal(re, b) {
		return nil, false
	}
	return P, true
}

// canonicalScalar decodes a 32-byte little-endian scalar and refuses one
// not reduced modulo the group order (kyber's decoder takes any 32 bytes).
func canonicalScalar(b []byte) (kyber.Scalar, bool) {
	if len(b) != ScalarBytes {
		return nil, false
	}
	s := suite.Scalar()
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, false
	}
	re, err := s.MarshalBinary()
	if err != nil || !bytes.Equal(re, b) {
		return nil, false
	}
	return s, true
}

// challenge is the Fiat–Shamir challenge over the whole statement.
func challenge(aad, sealed []byte, X, R, S, A1, A2 kyber.Point) (kyber.Scalar, error) {
	h := sha512.New()
	h.Write([]byte(openingTag))
	writeLen(h, aad)
	writeLen(h, sealed)
	for _, p := range []kyber.Point{suite.Point().Base(), X, R, S, A1, A2} {
		b, err := p.MarshalBinary()
		if err != nil {
			return nil, err
		}
		h.Write(b)
	}
	return suite.Scalar().SetBytes(h.Sum(nil)), nil
}

func writeLen(h hash.Hash, b []byte) {
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
	h.Write(b)
}

// BasePoint is the encoding of the group's base point G (a point of prime
// order that is nobody's shared point).
func BasePoint() ([]byte, error) { return suite.Point().Base().MarshalBinary() }
