package sealbox

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"go.dedis.ch/kyber/v3"
)

func TestSealOpen(t *testing.T) {
	x := suite.Scalar().Pick(suite.RandomStream())
	P := suite.Point().Mul(x, nil)
	msg := []byte("shares of a quote")
	c, err := Seal(P, []byte("aad"), msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != len(msg)+Overhead {
		t.Fatalf("ciphertext %d bytes, want %d", len(c), len(msg)+Overhead)
	}
	got, err := Open(x, []byte("aad"), c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Another AAD, another key, a flipped bit, a truncation: none opens.
	other := suite.Scalar().Pick(suite.RandomStream())
	flipped := bytes.Clone(c)
	flipped[len(flipped)-1] ^= 1
	for name, try := range map[string]func() ([]byte, error){
		"aad":       func() ([]byte, error) { return Open(x, []byte("aae"), c) },
		"key":       func() ([]byte, error) { return Open(other, []byte("aad"), c) },
		"flipped":   func() ([]byte, error) { return Open(x, []byte("aad"), flipped) },
		"truncated": func() ([]byte, error) { return Open(x, []byte("aad"), c[:Overhead-1]) },
	} {
		if _, err := try(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

// TestTorsionEphemeralRefused: an ephemeral key with a small-order component
// would make whether a message opens depend on the recipient's key mod 8.
func TestTorsionEphemeralRefused(t *testing.T) {
	x := suite.Scalar().Pick(suite.RandomStream())
	P := suite.Point().Mul(x, nil)
	c, err := Seal(P, nil, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	// (0, −1), the point of order 2.
	raw, _ := hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	T := suite.Point()
	if err := T.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	R := suite.Point()
	if err := R.UnmarshalBinary(c[:PointBytes]); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]interface{ MarshalBinary() ([]byte, error) }{
		"torsion": T, "mixed": suite.Point().Add(R, T), "identity": suite.Point().Null(),
	} {
		b, _ := p.MarshalBinary()
		bad := append(b, c[PointBytes:]...)
		if _, err := Open(x, nil, bad); !errors.Is(err, ErrOpen) {
			t.Errorf("%s ephemeral key: %v, want ErrOpen", name, err)
		}
	}
}

// TestSmallOrderRecipientRefused: a recipient key of small order (the
// order-2 point (0, −1): S = r·P is P or the identity whatever r is, so
// anyone would open) or with a torsion component is refused by Seal and by
// ParsePublicKey; a key of prime order is taken.
func TestSmallOrderRecipientRefused(t *testing.T) {
	order2, _ := hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	T := suite.Point()
	if err := T.UnmarshalBinary(order2); err != nil {
		t.Fatal(err)
	}
	x := suite.Scalar().Pick(suite.RandomStream())
	P := suite.Point().Mul(x, nil)
	for name, k := range map[string]kyber.Point{
		"order 2": T, "mixed": suite.Point().Add(P, T), "identity": suite.Point().Null(), "nil": nil,
	} {
		if _, err := Seal(k, nil, []byte("m")); !errors.Is(err, ErrKey) {
			t.Errorf("Seal to %s key: %v, want ErrKey", name, err)
		}
		if k == nil {
			continue
		}
		b, _ := k.MarshalBinary()
		if _, err := ParsePublicKey(b); !errors.Is(err, ErrKey) {
			t.Errorf("ParsePublicKey(%s): %v, want ErrKey", name, err)
		}
	}
	b, _ := P.MarshalBinary()
	if got, err := ParsePublicKey(b); err != nil || !got.Equal(P) {
		t.Fatalf("ParsePublicKey(prime order): %v", err)
	}
	if _, err := ParsePublicKey(b[:31]); err == nil {
		t.Error("a 31-byte key parsed")
	}
	if _, err := Seal(P, nil, []byte("m")); err != nil {
		t.Fatal(err)
	}
}
