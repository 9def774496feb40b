package zk

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// JSON encodings used in input, statement and proof files. Every integer is
// a decimal string (64-bit values do not survive JSON numbers in many
// languages) and every field element is "0x" followed by exactly 64 hex
// digits of its canonical big-endian encoding; non-canonical encodings
// (≥ r) are rejected so that one statement has one encoding.

// maxDecimalLen bounds decimal strings before parsing (2^130 has 40 digits).
const maxDecimalLen = 48

// Felt is a BN254 scalar-field element with a strict hex JSON encoding.
type Felt fr.Element

// FeltOf converts a field element.
func FeltOf(e fr.Element) Felt { return Felt(e) }

// Fr returns the field element.
func (f Felt) Fr() fr.Element { return fr.Element(f) }

// String returns the canonical "0x…" encoding.
func (f Felt) String() string {
	e := fr.Element(f)
	b := e.Bytes()
	return "0x" + hex.EncodeToString(b[:])
}

// MarshalJSON implements json.Marshaler.
func (f Felt) MarshalJSON() ([]byte, error) { return json.Marshal(f.String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (f *Felt) UnmarshalJSON(b []byte) error {
	s, err := unquote(b, 2+2*fr.Bytes)
	if err != nil {
		return fmt.Errorf("field element: %w", err)
	}
	e, err := ParseFelt(s)
	if err != nil {
		return err
	}
	*f = e
	return nil
}

// ParseFelt parses "0x" + 64 hex digits as a canonical field element.
func ParseFelt(s string) (Felt, error) {
	if len(s) != 2+2*fr.Bytes || !strings.HasPrefix(s, "0x") {
		return Felt{}, fmt.Errorf("field element %q: want 0x and %d hex digits", truncate(s), 2*fr.Bytes)
	}
	raw, err := hex.DecodeString(s[2:])
	if err != nil {
		return Felt{}, fmt.Errorf("field element: %w", err)
	}
	var e fr.Element
	if err := e.SetBytesCanonical(raw); err != nil {
		return Felt{}, fmt.Errorf("field element not canonical: %w", err)
	}
	return Felt(e), nil
}

// Uint64 is a uint64 encoded in JSON as a decimal string.
type Uint64 uint64

// MarshalJSON implements json.Marshaler.
func (u Uint64) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatUint(uint64(u), 10))
}

// UnmarshalJSON implements json.Unmarshaler.
func (u *Uint64) UnmarshalJSON(b []byte) error {
	s, err := unquote(b, maxDecimalLen)
	if err != nil {
		return fmt.Errorf("uint64: %w", err)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (len(s) > 1 && s[0] == '0') {
		return fmt.Errorf("uint64: %q is not a canonical decimal in [0, 2^64)", truncate(s))
	}
	*u = Uint64(v)
	return nil
}

// Int64 is an int64 encoded in JSON as a decimal string.
type Int64 int64

// MarshalJSON implements json.Marshaler.
func (i Int64) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatInt(int64(i), 10))
}

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int64) UnmarshalJSON(b []byte) error {
	s, err := unquote(b, maxDecimalLen)
	if err != nil {
		return fmt.Errorf("int64: %w", err)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(v, 10) != s {
		return fmt.Errorf("int64: %q is not a canonical decimal in [-2^63, 2^63)", truncate(s))
	}
	*i = Int64(v)
	return nil
}

// Int is a bounded signed big integer encoded in JSON as a decimal string.
// The zero value is 0.
type Int struct{ v *big.Int }

// NewInt wraps v (copied).
func NewInt(v *big.Int) Int { return Int{v: new(big.Int).Set(v)} }

// IntOf wraps an int64.
func IntOf(v int64) Int { return Int{v: big.NewInt(v)} }

// Big returns a copy of the value.
func (i Int) Big() *big.Int {
	if i.v == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(i.v)
}

// MarshalJSON implements json.Marshaler.
func (i Int) MarshalJSON() ([]byte, error) { return json.Marshal(i.Big().String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int) UnmarshalJSON(b []byte) error {
	s, err := unquote(b, maxDecimalLen)
	if err != nil {
		return fmt.Errorf("integer: %w", err)
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.String() != s {
		return fmt.Errorf("integer: %q is not a canonical decimal", truncate(s))
	}
	i.v = v
	return nil
}

// Bytes is a byte string encoded in JSON as "0x" + hex.
type Bytes []byte

// MarshalJSON implements json.Marshaler.
func (b Bytes) MarshalJSON() ([]byte, error) { return json.Marshal("0x" + hex.EncodeToString(b)) }

// maxBytesJSON bounds hex byte strings (keys and signatures are ≤ 64 bytes).
const maxBytesJSON = 256

// UnmarshalJSON implements json.Unmarshaler.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	s, err := unquote(data, 2+2*maxBytesJSON)
	if err != nil {
		return fmt.Errorf("bytes: %w", err)
	}
	if !strings.HasPrefix(s, "0x") {
		return fmt.Errorf("bytes: %q: want 0x-prefixed hex", truncate(s))
	}
	raw, err := hex.DecodeString(s[2:])
	if err != nil {
		return fmt.Errorf("bytes: %w", err)
	}
	*b = raw
	return nil
}

// unquote extracts a JSON string of at most maxLen bytes without escapes.
func unquote(b []byte, maxLen int) (string, error) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", errors.New("want a JSON string")
	}
	if len(b)-2 > maxLen {
		return "", fmt.Errorf("string longer than %d bytes", maxLen)
	}
	s := string(b[1 : len(b)-1])
	if strings.ContainsAny(s, "\\\"") {
		return "", errors.New("escapes are not allowed")
	}
	return s, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
