package sealbox

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"go.dedis.ch/kyber/v3"
)

// order2 is the encoding of (0, −1), the point of order 2.
const order2 = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"

// groupOrder is l, little endian: the smallest non-canonical scalar.
const groupOrder = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyPair() (kyber.Scalar, kyber.Point) {
	x := suite.Scalar().Pick(suite.RandomStream())
	return x, suite.Point().Mul(x, nil)
}

// TestOpeningProof: a proven opening of a good message opens it for the
// verifier, to the holder's plaintext; of a tampered message, it proves
// that the message does not open (opened false, no error).
func TestOpeningProof(t *testing.T) {
	x, X := keyPair()
	aad := []byte("chain/job/slot/member")
	msg := []byte("a share message")
	c, err := Seal(X, aad, msg)
	if err != nil {
		t.Fatal(err)
	}
	S, proof, err := ProveOpening(x, aad, c)
	if err != nil || len(S) != PointBytes || len(proof) != ProofBytes {
		t.Fatalf("ProveOpening: %d, %d bytes, %v", len(S), len(proof), err)
	}
	got, opened, err := VerifyOpening(X, aad, c, S, proof)
	if err != nil || !opened || !bytes.Equal(got, msg) {
		t.Fatalf("VerifyOpening(good) = %q, %v, %v", got, opened, err)
	}

	// A dishonest sender's ciphertext, publicly valid (it proves r) but
	// altered: it does not open.
	bad, err := SealCorrupt(X, aad, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(X, aad, bad); err != nil {
		t.Fatalf("Check(corrupt but proven) = %v", err)
	}
	if _, err := Open(x, aad, bad); err == nil {
		t.Fatal("the tampered message opens")
	}
	S, proof, err = ProveOpening(x, aad, bad)
	if err != nil {
		t.Fatal(err)
	}
	if got, opened, err := VerifyOpening(X, aad, bad, S, proof); err != nil || opened || got != nil {
		t.Fatalf("VerifyOpening(tampered) = %q, %v, %v; want proven not opening", got, opened, err)
	}
}

// TestOpeningProofRefusesForgeries: a claimant cannot make a good message
// look unopenable (nor a bad one look good): a made-up S, an S with a
// torsion component, the proof of another message, context or member, a
// non-canonical scalar and any flipped bit are refused with ErrProof.
func TestOpeningProofRefusesForgeries(t *testing.T) {
	x, X := keyPair()
	y, Y := keyPair() // another member
	aad := []byte("slot 1 of member x")
	c, err := Seal(X, aad, []byte("share for x"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Seal(X, aad, []byte("another share for x"))
	if err != nil {
		t.Fatal(err)
	}
	toY, err := Seal(Y, aad, []byte("share for y"))
	if err != nil {
		t.Fatal(err)
	}
	S, proof, err := ProveOpening(x, aad, c)
	if err != nil {
		t.Fatal(err)
	}
	otherS, otherProof, _ := ProveOpening(x, aad, other)
	yS, yProof, _ := ProveOpening(y, aad, toY)
	_, rnd := keyPair()
	randomS, _ := rnd.MarshalBinary()
	T := suite.Point()
	if err := T.UnmarshalBinary(mustHex(t, order2)); err != nil {
		t.Fatal(err)
	}
	Sp := suite.Point()
	if err := Sp.UnmarshalBinary(S); err != nil {
		t.Fatal(err)
	}
	torsionS, _ := suite.Point().Add(Sp, T).MarshalBinary()
	// With x' = x + 1 a cheater computes a consistent S' = x'·R and a
	// valid-looking proof for the key x'·G, not for X.
	xPlus := suite.Scalar().Add(x, suite.Scalar().One())
	wrongKeyS, wrongKeyProof, _ := ProveOpening(xPlus, aad, c)
	nonCanonical := append(mustHex(t, groupOrder), proof[ScalarBytes:]...)

	for name, tc := range map[string]struct {
		pub        kyber.Point
		aad, c     []byte
		S, proof   []byte
		wantErrKey bool
	}{
		"a made-up S":                  {X, aad, c, randomS, proof, false},
		"S with a torsion component":   {X, aad, c, torsionS, proof, false},
		"the identity as S":            {X, aad, c, mustHex(t, "0100000000000000000000000000000000000000000000000000000000000000"), proof, false},
		"the proof of another message": {X, aad, c, otherS, otherProof, false},
		"another member's proof":       {X, aad, c, yS, yProof, false},
		"a key that is not X":          {X, aad, c, wrongKeyS, wrongKeyProof, false},
		"a non-canonical challenge":    {X, aad, c, S, nonCanonical, false},
		"a short proof":                {X, aad, c, S, proof[:ProofBytes-1], false},
		"a short S":                    {X, aad, c, S[:PointBytes-1], proof, false},
		"a small-order key":            {T, aad, c, S, proof, true},
	} {
		_, opened, err := VerifyOpening(tc.pub, tc.aad, tc.c, tc.S, tc.proof)
		want := ErrProof
		if tc.wantErrKey {
			want = ErrKey
		}
		if !errors.Is(err, want) || opened {
			t.Errorf("%s: opened %v, %v; want %v", name, opened, err, want)
		}
	}
	// Checked against another context or recipient, c is publicly invalid
	// (its sender's PoK binds the AAD and X): no evidence about it is
	// taken there, whatever S comes with it.
	for name, tc := range map[string]struct {
		pub kyber.Point
		aad []byte
	}{"another context": {X, []byte("slot 2 of member x")}, "the proof checked for y": {Y, aad}} {
		if err := Check(tc.pub, tc.aad, c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Check = %v, want ErrInvalid", name, err)
		}
		if msg, opened, err := VerifyOpening(tc.pub, tc.aad, c, S, proof); !errors.Is(err, ErrInvalid) || opened || msg != nil {
			t.Errorf("%s: VerifyOpening = %v, %v; want ErrInvalid", name, opened, err)
		}
	}
	for i := range PointBytes + ProofBytes {
		s, p := bytes.Clone(S), bytes.Clone(proof)
		if i < PointBytes {
			s[i] ^= 1 << (i % 8)
		} else {
			p[i-PointBytes] ^= 1 << (i % 8)
		}
		if _, _, err := VerifyOpening(X, aad, c, s, p); err == nil {
			t.Errorf("bit %d flipped: verified", i)
		}
	}
}

// TestOpeningSmallOrderEphemeral: a message whose ephemeral key R is of
// small order, has a torsion component, or is not a point opens for
// nobody, which anyone sees from the message: ProveOpening refuses it
// (ErrInvalid, no S) and VerifyOpening refuses it as evidence (ErrInvalid)
// whatever comes with it, so junk never convicts its sender of a message
// that was never a valid one. The member's Open refuses the same messages.
func TestOpeningSmallOrderEphemeral(t *testing.T) {
	x, X := keyPair()
	c, err := Seal(X, nil, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	T := suite.Point()
	if err := T.UnmarshalBinary(mustHex(t, order2)); err != nil {
		t.Fatal(err)
	}
	R := suite.Point()
	if err := R.UnmarshalBinary(c[:PointBytes]); err != nil {
		t.Fatal(err)
	}
	mixed, _ := suite.Point().Add(R, T).MarshalBinary()
	notAPoint := mustHex(t, "0200000000000000000000000000000000000000000000000000000000000000")
	for name, r := range map[string][]byte{
		"order 2": mustHex(t, order2), "mixed": mixed, "not a point": notAPoint,
	} {
		bad := append(bytes.Clone(r), c[PointBytes:]...)
		if _, err := Open(x, nil, bad); !errors.Is(err, ErrOpen) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Open: %v", name, err)
		}
		S, proof, err := ProveOpening(x, nil, bad)
		if !errors.Is(err, ErrInvalid) || S != nil || proof != nil {
			t.Errorf("%s: ProveOpening = %x, %x, %v; want ErrInvalid", name, S, proof, err)
		}
		for _, p := range [][]byte{nil, make([]byte, PointBytes+ProofBytes)} {
			if msg, opened, err := VerifyOpening(X, nil, bad, p[:len(p)/3], p[len(p)/3:]); !errors.Is(err, ErrInvalid) || opened || msg != nil {
				t.Errorf("%s: VerifyOpening = %v, %v", name, opened, err)
			}
		}
	}
	if _, opened, err := VerifyOpening(X, nil, c[:Overhead-1], nil, nil); !errors.Is(err, ErrInvalid) || opened {
		t.Errorf("a truncated message: %v, %v", opened, err)
	}
}

// TestCanonicalScalar: l itself (≡ 0) and l+1 are refused, l−1 is taken.
func TestCanonicalScalar(t *testing.T) {
	l := mustHex(t, groupOrder)
	if _, ok := canonicalScalar(l); ok {
		t.Error("l taken")
	}
	lPlus := bytes.Clone(l)
	lPlus[0]++
	if _, ok := canonicalScalar(lPlus); ok {
		t.Error("l+1 taken")
	}
	lMinus := bytes.Clone(l)
	lMinus[0]--
	if _, ok := canonicalScalar(lMinus); !ok {
		t.Error("l−1 refused")
	}
}

// BenchmarkVerifyOpening: what each committee member pays per claim it
// checks, and the ledger per job.abort with a sealed opening (a share
// message of about 80 bytes, as a scalar input's).
func BenchmarkVerifyOpening(b *testing.B) {
	x, X := keyPair()
	c, err := Seal(X, []byte("aad"), make([]byte, 80))
	if err != nil {
		b.Fatal(err)
	}
	S, proof, err := ProveOpening(x, []byte("aad"), c)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, opened, err := VerifyOpening(X, []byte("aad"), c, S, proof); err != nil || !opened {
			b.Fatal(opened, err)
		}
	}
}

// BenchmarkProveOpening: a claimant's cost per claimed sealed slot.
func BenchmarkProveOpening(b *testing.B) {
	x, X := keyPair()
	c, err := Seal(X, []byte("aad"), make([]byte, 80))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := ProveOpening(x, []byte("aad"), c); err != nil {
			b.Fatal(err)
		}
	}
}
