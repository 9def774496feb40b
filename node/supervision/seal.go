package supervision

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/encrypt/ecies"
	"go.dedis.ch/kyber/v3/group/edwards25519"

	"github.com/cohortnet/cohort/internal/sealbox"
)

// Limits on untrusted sealed records, checked before anything is allocated
// from their contents.
const (
	MaxSealedBytes  = 4 << 20
	MaxPublicBytes  = 16 << 10
	MaxRecipients   = 64
	version         = 1
	aesKeyBytes     = 32
	gcmNonceBytes   = 12
	gcmTagBytes     = 16
	wrappedKeyBytes = 32 /* ephemeral point */ + aesKeyBytes + gcmTagBytes
)

// suite is the group of member sealing keys.
var suite = edwards25519.NewBlakeSHA256Ed25519()

// KeyPair is a member's sealing key.
type KeyPair struct {
	Private kyber.Scalar
	Public  kyber.Point
}

// GenerateKey makes a sealing key pair.
func GenerateKey() KeyPair {
	x := suite.Scalar().Pick(suite.RandomStream())
	return KeyPair{Private: x, Public: suite.Point().Mul(x, nil)}
}

// ParsePublicKey decodes a 32-byte sealing public key, refusing one that
// is not a point of the prime-order subgroup (sealbox.CheckPublicKey: what
// is sealed to a small-order key opens for anyone).
func ParsePublicKey(b []byte) (kyber.Point, error) {
	return sealbox.ParsePublicKey(b)
}

// SaveKey writes a private sealing key with mode 0600.
func SaveKey(path string, k KeyPair) error {
	raw, err := k.Private.MarshalBinary()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write sealing key: %w", err)
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return fmt.Errorf("write sealing key: %w", err)
	}
	return f.Close()
}

// LoadKey reads a private sealing key, refusing a file others can read.
func LoadKey(path string) (KeyPair, error) {
	st, err := os.Stat(path)
	if err != nil {
		return KeyPair{}, fmt.Errorf("sealing key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return KeyPair{}, fmt.Errorf("sealing key %s has permissions %v; it must be 0600", path, st.Mode().Perm())
	}
	if st.Size() != int64(suite.ScalarLen()) {
		return KeyPair{}, fmt.Errorf("sealing key %s: not a key file", path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return KeyPair{}, fmt.Errorf("sealing key: %w", err)
	}
	x := suite.Scalar()
	if err := x.UnmarshalBinary(raw); err != nil {
		return KeyPair{}, fmt.Errorf("sealing key %s: %w", path, err)
	}
	return KeyPair{Private: x, Public: suite.Point().Mul(x, nil)}, nil
}

// Recipient is a channel member that can open a record.
type Recipient struct {
	Member string
	Key    kyber.Point
}

// WrappedKey is the record key encrypted to one member.
type WrappedKey struct {
	Member  string `json:"member"`
	Wrapped []byte `json:"wrapped"`
}

// Sealed is a supervision record as stored off-chain and anchored by hash.
type Sealed struct {
	Version    int             `json:"version"`
	Channel    string          `json:"channel"`
	Public     json.RawMessage `json:"public"`
	Commitment string          `json:"commitment"` // the compliance proof's Poseidon2 commitment (0x hex)
	Nonce      []byte          `json:"nonce"`
	Ciphertext []byte          `json:"ciphertext"` // AES-256-GCM of the private info; the header is its AAD
	Keys       []WrappedKey    `json:"keys"`       // sorted by member
}

// aad binds the ciphertext to the record's header, so that a private part
// cannot be moved under another channel, public info or commitment.
func (s *Sealed) aad() []byte {
	h := sha256.New()
	fmt.Fprintf(h, "cohort/supervision/v%d\x00%s\x00%s\x00", s.Version, s.Channel, s.Commitment)
	h.Write(s.Public)
	return h.Sum(nil)
}

// Seal encrypts private for the recipients. public must be a JSON object.
func Seal(channel string, public, private []byte, commitment string, recipients []Recipient) (*Sealed, []byte, error) {
	if len(public) > MaxPublicBytes {
		return nil, nil, fmt.Errorf("public info exceeds %d bytes", MaxPublicBytes)
	}
	var probe map[string]any
	if err := json.Unmarshal(public, &probe); err != nil {
		return nil, nil, fmt.Errorf("public info must be a JSON object: %w", err)
	}
	if len(recipients) == 0 || len(recipients) > MaxRecipients {
		return nil, nil, fmt.Errorf("a record needs 1 to %d recipients", MaxRecipients)
	}
	var compact, escaped bytes.Buffer
	if err := json.Compact(&compact, public); err != nil {
		return nil, nil, err
	}
	// json.Marshal writes Public HTML-escaped (< > & as \u003c …); the AAD
	// must cover the bytes a reader parses, or text with those characters
	// could never be opened.
	json.HTMLEscape(&escaped, compact.Bytes())
	key := make([]byte, aesKeyBytes)
	nonce := make([]byte, gcmNonceBytes)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, nil, err
	}
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, nil, err
	}
	s := &Sealed{Version: version, Channel: channel, Public: escaped.Bytes(), Commitment: commitment, Nonce: nonce}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, nil, err
	}
	s.Ciphertext = gcm.Seal(nil, nonce, private, s.aad())
	rs := append([]Recipient(nil), recipients...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Member < rs[j].Member })
	for i, r := range rs {
		if i > 0 && rs[i-1].Member == r.Member {
			return nil, nil, fmt.Errorf("recipient %q listed twice", r.Member)
		}
		w, err := ecies.Encrypt(suite, r.Key, key, sha256.New)
		if err != nil {
			return nil, nil, fmt.Errorf("wrap key for %s: %w", r.Member, err)
		}
		s.Keys = append(s.Keys, WrappedKey{Member: r.Member, Wrapped: w})
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, nil, err
	}
	return s, raw, nil
}

// Parse decodes sealed bytes from an untrusted source.
func Parse(raw []byte) (*Sealed, error) {
	if len(raw) > MaxSealedBytes {
		return nil, fmt.Errorf("sealed record of %d bytes exceeds %d", len(raw), MaxSealedBytes)
	}
	var s Sealed
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("sealed record: %w", err)
	}
	switch {
	case s.Version != version:
		return nil, fmt.Errorf("sealed record version %d, want %d", s.Version, version)
	case len(s.Public) > MaxPublicBytes:
		return nil, fmt.Errorf("public info exceeds %d bytes", MaxPublicBytes)
	case len(s.Nonce) != gcmNonceBytes:
		return nil, errors.New("sealed record: bad nonce")
	case len(s.Ciphertext) < gcmTagBytes:
		return nil, errors.New("sealed record: ciphertext too short")
	case len(s.Keys) == 0 || len(s.Keys) > MaxRecipients:
		return nil, fmt.Errorf("sealed record: 1 to %d wrapped keys required", MaxRecipients)
	}
	for _, k := range s.Keys {
		if len(k.Wrapped) != wrappedKeyBytes {
			return nil, fmt.Errorf("sealed record: wrapped key for %q has %d bytes, want %d", k.Member, len(k.Wrapped), wrappedKeyBytes)
		}
	}
	return &s, nil
}

// Open decrypts the private info as member. A non-member gets an error.
func (s *Sealed) Open(member string, key KeyPair) ([]byte, error) {
	var wrapped []byte
	for _, k := range s.Keys {
		if k.Member == member {
			wrapped = k.Wrapped
		}
	}
	if wrapped == nil {
		return nil, fmt.Errorf("%s is not a member of channel %q: no key was wrapped for it", member, s.Channel)
	}
	// kyber's Decrypt slices its input without checking its length.
	if len(wrapped) != wrappedKeyBytes {
		return nil, errors.New("malformed wrapped key")
	}
	aesKey, err := ecies.Decrypt(suite, key.Private, wrapped, sha256.New)
	if err != nil {
		return nil, fmt.Errorf("unwrap record key for %s: %w", member, err)
	}
	gcm, err := newGCM(aesKey)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, s.Nonce, s.Ciphertext, s.aad())
	if err != nil {
		return nil, fmt.Errorf("decrypt private info: %w", err)
	}
	return plain, nil
}

// Hash is what the ledger anchors: SHA-256 of the sealed bytes.
func Hash(raw []byte) [32]byte { return sha256.Sum256(raw) }

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
