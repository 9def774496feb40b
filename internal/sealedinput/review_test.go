package sealedinput

// Regression tests of the s7 Pedersen review (its PoCs, turned into checks
// of the fixes).

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"go.dedis.ch/kyber/v3/group/edwards25519"

	"github.com/cohortnet/cohort/internal/sealbox"
)

// TestGenerators (review PoC): G is G1's standard generator (1, 2); H is on
// the curve, in G1, not the identity and not ±G, 2G, and depends on its
// DST. Sanity only: that log_G H is unknown rests on RFC 9380's hash to
// curve.
func TestGenerators(t *testing.T) {
	g, h := generators()
	var one, two, ng bn254.G1Affine
	one.X.SetOne()
	one.Y.SetUint64(2)
	if !g.Equal(&one) {
		t.Fatalf("G is not (1, 2): %v", g)
	}
	if h.IsInfinity() || !h.IsOnCurve() || !h.IsInSubGroup() {
		t.Fatalf("H: infinity %v, on curve %v, in G1 %v", h.IsInfinity(), h.IsOnCurve(), h.IsInSubGroup())
	}
	ng.Neg(&g)
	two.Double(&g)
	if h.Equal(&g) || h.Equal(&ng) || h.Equal(&two) {
		t.Fatal("H is a small multiple of G")
	}
	if h2, _ := bn254.HashToG1([]byte("H"), []byte("cohort/sealedinput/pedersen/v1/G")); h2.Equal(&h) {
		t.Fatal("H does not depend on its DST")
	}
}

// TestMessageLen (review M1, L4): every share message Messages makes has
// exactly MessageLen(fields) bytes (what the ledger's size check rests on),
// for committees of 4 and 9 and inputs of 1 to 100 fields; a scalar input's
// message is 151 bytes and its sealed share 263; and 16 KiB
// (ledger.MaxSealedShareBytes) seals an input of at most 252 fields.
func TestMessageLen(t *testing.T) {
	for _, n := range []int{4, 9} {
		for _, fields := range []int{1, 2, 3, 100} {
			_, msgs, _, _ := dealt(t, n, fields)
			for j, m := range msgs {
				if len(m) != MessageLen(fields) {
					t.Fatalf("n=%d fields=%d: member %d's message has %d bytes, MessageLen %d", n, fields, j, len(m), MessageLen(fields))
				}
			}
		}
	}
	_, msgs, _, _ := dealt(t, 4, 1)
	suite := edwards25519.NewBlakeSHA256Ed25519()
	pub := suite.Point().Mul(suite.Scalar().Pick(suite.RandomStream()), nil)
	sealed, err := sealbox.Seal(pub, []byte("aad"), msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if MessageLen(1) != 151 || SealedLen(1) != 263 || len(sealed) != SealedLen(1) {
		t.Fatalf("scalar input: message %d, sealed %d (a real one %d); the docs say 151 and 263", MessageLen(1), SealedLen(1), len(sealed))
	}
	const maxSealed = 16 << 10 // ledger.MaxSealedShareBytes
	maxFields := 0
	for f := 1; SealedLen(f) <= maxSealed; f++ {
		maxFields = f
	}
	if maxFields != 252 {
		t.Fatalf("16 KiB seals up to %d fields; the docs say 252", maxFields)
	}
}

// TestParseCommitmentsCopies (review, informational): the parsed
// commitments do not alias the caller's buffer: they keep their bytes, and
// an honest share still verifies, after the buffer is overwritten.
func TestParseCommitmentsCopies(t *testing.T) {
	com, msgs, _, _ := dealt(t, 4, 1)
	buf := bytes.Clone(com)
	c, err := ParseCommitments(buf, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	clear(buf)
	// The challenge hashes raw: an aliased buffer would change ρ under the
	// verifier's feet.
	if !bytes.Equal(c.raw, com) {
		t.Fatal("the parsed commitments changed with the caller's buffer")
	}
	if _, err := Judge(msgs[2], 1, 2, c); err != nil {
		t.Fatalf("an honest share after the caller's buffer changed: %v", err)
	}
}

// TestRandomVector (review L3): the blinding is read directly from the
// randomness source by rejection sampling: a 254-bit string ≥ r is
// rejected and replaced by the next read; a source that runs dry is an
// error, not a short or zero blinding.
func TestRandomVector(t *testing.T) {
	over := bytes.Repeat([]byte{0xff}, fr.Bytes) // masked to 2²⁵⁴−1 > r: rejected
	var want fr.Element
	want.SetUint64(42)
	wb := want.Bytes()
	src := bytes.NewReader(append(append(bytes.Clone(wb[:]), over...), wb[:]...))
	v := make(fr.Vector, 2)
	if err := randomVector(src, v); err != nil {
		t.Fatal(err)
	}
	if !v[0].Equal(&want) || !v[1].Equal(&want) || src.Len() != 0 {
		t.Fatalf("got %v, %v with %d bytes left; want 42, 42 and the source read to its end", v[0].String(), v[1].String(), src.Len())
	}
	if err := randomVector(bytes.NewReader(append(bytes.Clone(wb[:]), over...)), v); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Fatalf("a source that ran dry after a rejection: %v", err)
	}
	shares := make([]fr.Vector, 4)
	for j := range shares {
		shares[j] = make(fr.Vector, 2)
	}
	if _, _, err := Deal(shares, 1, bytes.NewReader(nil)); err == nil {
		t.Fatal("Deal drew its blinding from an empty source")
	}
}

// TestBatchSoundnessNeedsBothComponents (review PoC): a share moved by δ in
// its field and compensated by −δ/ρ in its salt, ρ the challenge of the
// honest share, fails Verify: ρ hashes the share it must fix first.
func TestBatchSoundnessNeedsBothComponents(t *testing.T) {
	const n, fields = 4, 1
	com, msgs, _, _ := dealt(t, n, fields)
	c, err := ParseCommitments(com, n, fields)
	if err != nil {
		t.Fatal(err)
	}
	s, g, err := DecodeShare(msgs[1], fields)
	if err != nil {
		t.Fatal(err)
	}
	rho := c.challenge(1, append(append(fr.Vector(nil), s.Fields...), s.Salt), g)
	var d0, d1 fr.Element
	d0.SetOne()
	d1.Inverse(&rho)
	d1.Neg(&d1)
	s.Fields[0].Add(&s.Fields[0], &d0)
	s.Salt.Add(&s.Salt, &d1)
	if err := c.Verify(1, s, g); !errors.Is(err, ErrOffCommitments) {
		t.Fatalf("a compensated off share: %v", err)
	}
}
