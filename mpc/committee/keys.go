package committee

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"go.dedis.ch/kyber/v3"
)

// LongTermKey is a member's long-term DKG key: a scalar x and X = x·G2. The DKG
// encrypts each member's deal to X and every DKG message is Schnorr-signed
// under it, so X is what the ledger registers per member. The secret half is
// as sensitive as the member's share and must never be logged.
type LongTermKey struct {
	secret kyber.Scalar
	public kyber.Point
}

// LongTermPublicKey is the public half of a LongTermKey.
type LongTermPublicKey struct {
	point kyber.Point
}

// GenerateLongTermKey draws a fresh long-term DKG key from crypto/rand.
func GenerateLongTermKey() *LongTermKey {
	s := g2Suite()
	x := s.Scalar().Pick(s.RandomStream())
	return &LongTermKey{secret: x, public: s.Point().Mul(x, nil)}
}

// Public returns the key's public half.
func (k *LongTermKey) Public() LongTermPublicKey { return LongTermPublicKey{point: k.public} }

// MarshalBinary encodes the secret key as ScalarSize bytes (the public key is
// derived on decoding).
func (k *LongTermKey) MarshalBinary() ([]byte, error) { return k.secret.MarshalBinary() }

// ParseLongTermKey decodes a secret key written by MarshalBinary.
func ParseLongTermKey(b []byte) (*LongTermKey, error) {
	x, err := decodeScalar(b)
	if err != nil {
		return nil, fmt.Errorf("long-term key: %w", err)
	}
	if x.Equal(g2Suite().Scalar().Zero()) {
		return nil, errors.New("long-term key: zero scalar")
	}
	return &LongTermKey{secret: x, public: g2Suite().Point().Mul(x, nil)}, nil
}

// MarshalBinary encodes the public key as a G2Size-byte point.
func (p LongTermPublicKey) MarshalBinary() ([]byte, error) {
	if p.point == nil {
		return nil, errors.New("long-term public key: empty")
	}
	return p.point.MarshalBinary()
}

// Bytes is MarshalBinary for a valid key.
func (p LongTermPublicKey) Bytes() []byte {
	if p.point == nil {
		return nil
	}
	return mustMarshal(p.point)
}

// Equal reports whether two public keys are the same point.
func (p LongTermPublicKey) Equal(q LongTermPublicKey) bool {
	return p.point != nil && q.point != nil && p.point.Equal(q.point)
}

// ParseLongTermPublicKey decodes and validates a public key (exact length,
// canonical, in the prime-order subgroup, not the identity).
func ParseLongTermPublicKey(b []byte) (LongTermPublicKey, error) {
	p, err := decodeG2(b)
	if err != nil {
		return LongTermPublicKey{}, fmt.Errorf("long-term public key: %w", err)
	}
	return LongTermPublicKey{point: p}, nil
}

// membersDigestDomain separates the members digest from every other hash.
const membersDigestDomain = "cohort/committee/members/v1"

// MembersDigest hashes the ordered list of members' long-term public keys. A
// member's position in this list is its share index, so the ledger can check
// that a CommitteeKey belongs to the members it has registered, in that order.
func MembersDigest(members []LongTermPublicKey) ([32]byte, error) {
	h := sha256.New()
	w := writer{}
	w.bytes([]byte(membersDigestDomain))
	w.u32(uint32(len(members)))
	for i, m := range members {
		if m.point == nil {
			return [32]byte{}, fmt.Errorf("members digest: member %d has no key", i)
		}
		w.point(m.point)
	}
	h.Write(w.buf)
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d, nil
}
