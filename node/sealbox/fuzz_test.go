package sealbox

import "testing"

// FuzzOpen: untrusted sealed bytes never panic, and only the sender's
// exact bytes open.
func FuzzOpen(f *testing.F) {
	x := suite.Scalar().SetInt64(0x5ea1b0c5)
	P := suite.Point().Mul(x, nil)
	c, err := Seal(P, []byte("aad"), []byte("seed message"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c)
	f.Add(c[:Overhead])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := Open(x, []byte("aad"), b)
		if err == nil && len(msg) != len(b)-Overhead {
			t.Fatalf("opened %d bytes from %d", len(msg), len(b))
		}
	})
}
