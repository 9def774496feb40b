package sealbox

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

// TestCheckSenderPoK: what Seal makes is publicly valid for its recipient
// and AAD, and any flipped bit — in R, in the sender's proof or in the body
// (the proof binds it) — makes it publicly invalid: Check, Open and
// ProveOpening refuse it alike.
func TestCheckSenderPoK(t *testing.T) {
	x, X := keyPair()
	aad := []byte("chain/job/slot/member")
	c, err := Seal(X, aad, []byte("a share message"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(X, aad, c); err != nil {
		t.Fatalf("Check(Seal) = %v", err)
	}
	for i := range len(c) {
		bad := bytes.Clone(c)
		bad[i] ^= 1 << (i % 8)
		if err := Check(X, aad, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bit %d flipped: Check = %v, want ErrInvalid", i, err)
		}
		if _, err := Open(x, aad, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bit %d flipped: Open = %v, want ErrInvalid", i, err)
		}
		if S, _, err := ProveOpening(x, aad, bad); !errors.Is(err, ErrInvalid) || S != nil {
			t.Fatalf("bit %d flipped: ProveOpening gave S=%x, %v; want ErrInvalid", i, S, err)
		}
	}
	if err := Check(X, aad, c[:Overhead-1]); !errors.Is(err, ErrInvalid) {
		t.Errorf("truncated: Check = %v", err)
	}
	_, Y := keyPair()
	if err := Check(Y, aad, c); !errors.Is(err, ErrInvalid) {
		t.Errorf("checked for another recipient: %v", err)
	}
	if err := Check(X, []byte("another context"), c); !errors.Is(err, ErrInvalid) {
		t.Errorf("checked under another AAD: %v", err)
	}
	if err := Check(nil, aad, c); !errors.Is(err, ErrKey) {
		t.Errorf("nil key: %v", err)
	}
}

// TestNoOpeningOracle is the regression test of the opening oracle (review
// C1): an attacker copies the ephemeral key R of someone else's ciphertext
// to member x (public, e.g. a sealed share on chain) into bytes of its own
// — with garbage, with the victim's own proof of knowledge, or as the
// victim's whole ciphertext under its own context's AAD. Before the
// sender's PoK, x's node proved "does not open" for any of them and
// published S = x·R, which opens the victim's ciphertext. Now x refuses to
// prove any of them, and none is publicly valid, so no S is ever published
// for an R whose r the claimant's counterpart did not know.
func TestNoOpeningOracle(t *testing.T) {
	x, X := keyPair()
	victimAAD := []byte("job V / slot firm0 / member x")
	victim, err := Seal(X, victimAAD, []byte("firm0's share"))
	if err != nil {
		t.Fatal(err)
	}
	attackAAD := []byte("job A / slot firm1 / member x")
	garbage := make([]byte, 100)
	if _, err := rand.Read(garbage); err != nil {
		t.Fatal(err)
	}
	for name, fake := range map[string][]byte{
		"R and garbage":          append(bytes.Clone(victim[:PointBytes]), garbage...),
		"R, its PoK and garbage": append(bytes.Clone(victim[:PointBytes+PoKBytes]), garbage...),
		"the whole ciphertext":   bytes.Clone(victim),
	} {
		if err := Check(X, attackAAD, fake); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Check = %v, want ErrInvalid (the ledger would take it)", name, err)
		}
		S, proof, err := ProveOpening(x, attackAAD, fake)
		if !errors.Is(err, ErrInvalid) || S != nil || proof != nil {
			t.Errorf("%s: ProveOpening published S=%x (%v)", name, S, err)
		}
		// The committee and the ledger take no evidence about it (the
		// ledger refused it at input).
		if _, opened, err := VerifyOpening(X, attackAAD, fake, nil, nil); !errors.Is(err, ErrInvalid) || opened {
			t.Errorf("%s: VerifyOpening = %v, %v", name, opened, err)
		}
	}
}

// TestSealCorruptIsProvable: a dishonest sender's corrupt ciphertext is
// publicly valid, does not open, and its recipient proves so; the proven S
// is one the sender knew (it made R).
func TestSealCorruptIsProvable(t *testing.T) {
	x, X := keyPair()
	c, err := SealCorrupt(X, []byte("aad"), []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(X, []byte("aad"), c); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(x, []byte("aad"), c); !errors.Is(err, ErrOpen) || errors.Is(err, ErrInvalid) {
		t.Fatalf("Open = %v, want ErrOpen only", err)
	}
	S, proof, err := ProveOpening(x, []byte("aad"), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, opened, err := VerifyOpening(X, []byte("aad"), c, S, proof); err != nil || opened {
		t.Fatalf("VerifyOpening = %v, %v; want proven not opening", opened, err)
	}
}

// BenchmarkSeal: a nodeless provider's cost per sealed share.
func BenchmarkSeal(b *testing.B) {
	_, X := keyPair()
	msg := make([]byte, 80)
	for b.Loop() {
		if _, err := Seal(X, []byte("aad"), msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen: a member's cost per sealed share it opens (PoK included).
func BenchmarkOpen(b *testing.B) {
	x, X := keyPair()
	c, err := Seal(X, []byte("aad"), make([]byte, 80))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Open(x, []byte("aad"), c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck: the ledger's cost per sealed share at job input (R's
// order and the sender's PoK), n of them per JobInput for a committee of n.
func BenchmarkCheck(b *testing.B) {
	_, X := keyPair()
	c, err := Seal(X, []byte("aad"), make([]byte, 80))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := Check(X, []byte("aad"), c); err != nil {
			b.Fatal(err)
		}
	}
}
