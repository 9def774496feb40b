package sealbox

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen: untrusted sealed bytes never panic, only the sender's exact
// bytes open, what opens is publicly valid (Check), and what is publicly
// invalid is never proven (no S: the opening oracle, TestNoOpeningOracle).
func FuzzOpen(f *testing.F) {
	x := suite.Scalar().SetInt64(0x5ea1b0c5)
	P := suite.Point().Mul(x, nil)
	aad := []byte("aad")
	c, err := Seal(P, aad, []byte("seed message"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c)
	f.Add(c[:Overhead])
	f.Add([]byte{})
	f.Add(append(bytes.Clone(c[:PointBytes]), bytes.Repeat([]byte{7}, 80)...)) // a copied R
	if bad, err := SealCorrupt(P, aad, []byte("seed message")); err == nil {
		f.Add(bad)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := Open(x, aad, b)
		if err == nil && len(msg) != len(b)-Overhead {
			t.Fatalf("opened %d bytes from %d", len(msg), len(b))
		}
		cerr := Check(P, aad, b)
		if err == nil && cerr != nil {
			t.Fatalf("opened, yet publicly invalid: %v", cerr)
		}
		if errors.Is(err, ErrInvalid) != (cerr != nil) {
			t.Fatalf("Open says %v, Check says %v", err, cerr)
		}
		if cerr != nil {
			if S, _, perr := ProveOpening(x, aad, b); S != nil || !errors.Is(perr, ErrInvalid) {
				t.Fatalf("a publicly invalid message proven: S=%x, %v", S, perr)
			}
		}
	})
}

// FuzzParsePublicKey: untrusted key bytes (a genesis entry, a node's
// answer) never panic, and a key that parses is of prime order and can be
// sealed to.
func FuzzParsePublicKey(f *testing.F) {
	good, _ := suite.Point().Mul(suite.Scalar().SetInt64(0x5ea1b0c5), nil).MarshalBinary()
	order2 := append(append([]byte{0xec}, bytes.Repeat([]byte{0xff}, 30)...), 0x7f)
	f.Add(good)
	f.Add(order2)
	f.Add(make([]byte, PointBytes))
	f.Add(good[:PointBytes-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		P, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		if CheckPublicKey(P) != nil {
			t.Fatal("a parsed key is not of prime order")
		}
		if _, err := Seal(P, nil, []byte("m")); err != nil {
			t.Fatalf("sealing to a parsed key: %v", err)
		}
	})
}

// FuzzVerifyOpening: an untrusted message and proven opening (S ‖ proof)
// never panic, and whatever VerifyOpening accepts tells the truth: it opens
// to exactly what the key holder's Open gives, or does not open when Open
// fails. A claimant cannot make the verifier disagree with the key.
func FuzzVerifyOpening(f *testing.F) {
	x := suite.Scalar().SetInt64(0x5ea1b0c5)
	P := suite.Point().Mul(x, nil)
	aad := []byte("aad")
	c, err := Seal(P, aad, []byte("seed message"))
	if err != nil {
		f.Fatal(err)
	}
	S, proof, err := ProveOpening(x, aad, c)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c, append(S, proof...))
	bad, err := SealCorrupt(P, aad, []byte("seed message"))
	if err != nil {
		f.Fatal(err)
	}
	S, proof, err = ProveOpening(x, aad, bad)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bad, append(S, proof...))
	flipped := bytes.Clone(c)
	flipped[len(flipped)-1] ^= 1 // publicly invalid: its PoK binds the body
	f.Add(flipped, make([]byte, PointBytes+ProofBytes))
	f.Add(c[:Overhead], make([]byte, PointBytes+ProofBytes))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, sealed, opening []byte) {
		if len(sealed) > 1<<16 {
			return
		}
		n := min(len(opening), PointBytes)
		msg, opened, err := VerifyOpening(P, aad, sealed, opening[:n], opening[n:])
		if err != nil {
			return
		}
		want, oerr := Open(x, aad, sealed)
		if opened != (oerr == nil) || opened && !bytes.Equal(msg, want) {
			t.Fatalf("verified opening says opened=%v, the key says %v", opened, oerr)
		}
	})
}
