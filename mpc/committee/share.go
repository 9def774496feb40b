package committee

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/share"
)

const (
	committeeKeyVersion = 1
	shareVersion        = 1
	committeeKeyDomain  = "cohort/committee/key/v1"
)

// CommitteeKey is the public record of a committee's threshold key: what the
// ledger stores and verifies result signatures against. Commits are the
// coefficients of the public polynomial in G2 (Commits[0] is the group public
// key); member i's public key share is the polynomial evaluated at i+1.
type CommitteeKey struct {
	// T is the threshold: any T members can sign, fewer cannot.
	T int
	// N is the committee size.
	N int
	// Members is MembersDigest of the members' long-term keys in index order.
	Members [32]byte
	// Commits holds T points.
	Commits []kyber.Point

	pub *share.PubPoly
}

// newCommitteeKey validates the shape and builds the evaluation polynomial.
func newCommitteeKey(t, n int, members [32]byte, commits []kyber.Point) (*CommitteeKey, error) {
	if n < 2 || n > MaxMembers {
		return nil, fmt.Errorf("committee key: n = %d outside [2, %d]", n, MaxMembers)
	}
	if t < 2 || t > n {
		return nil, fmt.Errorf("committee key: threshold %d outside [2, n=%d]", t, n)
	}
	if len(commits) != t {
		return nil, fmt.Errorf("committee key: %d commitments for threshold %d", len(commits), t)
	}
	g2 := pairingSuite().G2()
	if commits[0].Equal(g2.Point().Null()) {
		return nil, errors.New("committee key: group public key is the identity")
	}
	return &CommitteeKey{
		T: t, N: n, Members: members, Commits: commits,
		pub: share.NewPubPoly(g2, g2.Point().Base(), commits),
	}, nil
}

// PublicKey is the group public key (Commits[0]) encoded as G2Size bytes.
func (k *CommitteeKey) PublicKey() []byte { return mustMarshal(k.Commits[0]) }

// MarshalBinary returns the canonical encoding: version (1 byte), t and n
// (2 bytes each, big endian), the 32-byte members digest, then t G2 points.
func (k *CommitteeKey) MarshalBinary() ([]byte, error) {
	w := writer{buf: make([]byte, 0, 5+32+len(k.Commits)*G2Size)}
	w.u8(committeeKeyVersion)
	w.u16(uint16(k.T))
	w.u16(uint16(k.N))
	w.raw(k.Members[:])
	for _, c := range k.Commits {
		w.point(c)
	}
	return w.buf, nil
}

// ID is the committee key's identifier: SHA-256 over a domain tag and the
// canonical encoding.
func (k *CommitteeKey) ID() [32]byte {
	enc, _ := k.MarshalBinary()
	h := sha256.New()
	h.Write([]byte(committeeKeyDomain))
	h.Write(enc)
	var id [32]byte
	copy(id[:], h.Sum(nil))
	return id
}

// Equal reports whether two committee keys are identical.
func (k *CommitteeKey) Equal(o *CommitteeKey) bool {
	return k != nil && o != nil && k.ID() == o.ID()
}

// ParseCommitteeKey decodes and validates a canonical committee key. The
// length is checked against t before any point is decoded.
func ParseCommitteeKey(b []byte) (*CommitteeKey, error) {
	const header = 5 + 32
	if len(b) < header {
		return nil, fmt.Errorf("committee key: %d bytes is too short", len(b))
	}
	r := reader{buf: b}
	if v := r.u8(); v != committeeKeyVersion {
		return nil, fmt.Errorf("committee key: unknown version %d", v)
	}
	t, n := int(r.u16()), int(r.u16())
	if n < 2 || n > MaxMembers || t < 2 || t > n {
		return nil, fmt.Errorf("committee key: invalid t=%d, n=%d", t, n)
	}
	if want := header + t*G2Size; len(b) != want {
		return nil, fmt.Errorf("committee key: %d bytes, want %d for t=%d", len(b), want, t)
	}
	var members [32]byte
	copy(members[:], r.take(32))
	commits := make([]kyber.Point, t)
	for i := range commits {
		c, err := decodePoint(pairingSuite().G2(), G2Size, r.take(G2Size), i != 0, true)
		if err != nil {
			return nil, fmt.Errorf("committee key: commitment %d: %w", i, err)
		}
		commits[i] = c
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("committee key: %w", err)
	}
	return newCommitteeKey(t, n, members, commits)
}

// Share is one member's result of the DKG: its private key share and the
// committee's public key. It is persisted by the member's node and must never
// be logged.
type Share struct {
	// Index is the member's position in the committee (its transport PartyID).
	Index int
	// Key is the committee's public key, identical at every member.
	Key *CommitteeKey

	secret kyber.Scalar
}

func (s *Share) priShare() *share.PriShare { return &share.PriShare{I: s.Index, V: s.secret} }

// MarshalBinary encodes the share for storage: version (1 byte), index
// (2 bytes), the secret scalar, then the committee key's canonical encoding.
func (s *Share) MarshalBinary() ([]byte, error) {
	key, err := s.Key.MarshalBinary()
	if err != nil {
		return nil, err
	}
	w := writer{buf: make([]byte, 0, 3+ScalarSize+len(key))}
	w.u8(shareVersion)
	w.u16(uint16(s.Index))
	w.scalar(s.secret)
	w.raw(key)
	return w.buf, nil
}

// ParseShare decodes a share written by MarshalBinary and checks that the
// secret matches the public polynomial (x_i·G2 = P(i+1)).
func ParseShare(b []byte) (*Share, error) {
	if len(b) < 3+ScalarSize {
		return nil, fmt.Errorf("share: %d bytes is too short", len(b))
	}
	r := reader{buf: b}
	if v := r.u8(); v != shareVersion {
		return nil, fmt.Errorf("share: unknown version %d", v)
	}
	idx := int(r.u16())
	x := r.scalar()
	if r.err != nil {
		return nil, fmt.Errorf("share: %w", r.err)
	}
	key, err := ParseCommitteeKey(r.buf)
	if err != nil {
		return nil, fmt.Errorf("share: %w", err)
	}
	if idx >= key.N {
		return nil, fmt.Errorf("share: index %d outside committee of %d", idx, key.N)
	}
	s := &Share{Index: idx, Key: key, secret: x}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// check verifies the secret share against the public polynomial.
func (s *Share) check() error {
	if !s.Key.pub.Check(s.priShare()) {
		return fmt.Errorf("share: secret of member %d does not match the committee key", s.Index)
	}
	return nil
}
