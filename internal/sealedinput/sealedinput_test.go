package sealedinput

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
)

// dealt is an input of fields elements shared to a committee of n as a
// sealed provider deals it: the commitments and each member's message.
func dealt(t testing.TB, n, fields int) (commitments []byte, msgs [][]byte, values []fr.Element, salt fr.Element) {
	t.Helper()
	values = make([]fr.Element, fields)
	for k := range values {
		values[k].SetUint64(uint64(1000 + k))
	}
	salt.SetUint64(77)
	shares, _, err := jobs.ShareInput(n, values, salt, nil)
	if err != nil {
		t.Fatal(err)
	}
	commitments, msgs, err = Messages(shares, fields, nil)
	if err != nil {
		t.Fatal(err)
	}
	return commitments, msgs, values, salt
}

// shareMsg is member 0's share message of an input of fields elements for
// a committee of 4.
func shareMsg(t testing.TB, fields int) []byte {
	t.Helper()
	_, msgs, _, _ := dealt(t, 4, fields)
	return msgs[0]
}

// TestDecodeShare: a framed share of the job's width decodes to itself;
// another width, a wrong frame, a truncation, a trailing byte or the format
// before commitments (one chunk, no blinding) does not.
func TestDecodeShare(t *testing.T) {
	for _, fields := range []int{1, 3} {
		msg := shareMsg(t, fields)
		got, bl, err := DecodeShare(msg, fields)
		if err != nil || len(got.Fields) != fields || len(bl) != fields+1 {
			t.Fatalf("fields %d: %+v, %d blinding, %v", fields, got, len(bl), err)
		}
		l := binary.BigEndian.Uint32(msg[6:10])
		v1 := append(append([]byte{1, 1, 0, 0, 0, 1}, msg[6:10]...), msg[10:10+l]...) // one chunk: the old format
		bad := map[string][]byte{
			"truncated":   msg[:len(msg)-1],
			"trailing":    append(bytes.Clone(msg), 0),
			"version":     append([]byte{2}, msg[1:]...),
			"kind":        append([]byte{1, 2}, msg[2:]...),
			"three":       append(append(bytes.Clone(msg[:5]), 3), msg[6:]...),
			"header only": msg[:headerBytes-1],
			"v1":          v1,
		}
		for name, b := range bad {
			if _, _, err := DecodeShare(b, fields); !errors.Is(err, ErrMalformed) {
				t.Errorf("fields %d, %s: %v", fields, name, err)
			}
		}
		if _, _, err := DecodeShare(msg, fields+1); !errors.Is(err, ErrMalformed) {
			t.Errorf("fields %d decoded as %d: %v", fields, fields+1, err)
		}
	}
	if _, _, err := DecodeShare(shareMsg(t, 1), 0); err == nil {
		t.Error("a share of 0 fields decoded")
	}
}

// TestHonestSharingVerifies: for committees of 3, 4 and 5 (t = 1, 1, 2:
// the engine's), every member's share of an honest dealing is judged on
// the commitments, and t+1 of the judged shares reconstruct the input.
func TestHonestSharingVerifies(t *testing.T) {
	for _, n := range []int{3, 4, 5} {
		for _, fields := range []int{1, 4} {
			com, msgs, values, salt := dealt(t, n, fields)
			c, err := ParseCommitments(com, n, fields)
			if err != nil {
				t.Fatalf("n %d: %v", n, err)
			}
			tt, _ := Threshold(n)
			if len(com) != (tt+1)*(fields+1)*PointBytes {
				t.Fatalf("n %d, fields %d: %d bytes of commitments", n, fields, len(com))
			}
			shares := make([]jobs.InputShare, n)
			for j, m := range msgs {
				if shares[j], err = Judge(m, fields, j, c); err != nil {
					t.Fatalf("n %d, fields %d, member %d: %v", n, fields, j, err)
				}
				// The same share at another member's point is off.
				if _, err := Judge(m, fields, (j+1)%n, c); !errors.Is(err, ErrOffCommitments) {
					t.Errorf("n %d: member %d's share judged at member %d's point: %v", n, j, (j+1)%n, err)
				}
			}
			// Lagrange at 0 over the points 1..t+1 recovers the input.
			got := interpolateAt0(shares[:tt+1])
			for k := range values {
				if !got[k].Equal(&values[k]) {
					t.Fatalf("n %d: field %d reconstructs to %s", n, k, got[k].String())
				}
			}
			if !got[fields].Equal(&salt) {
				t.Fatalf("n %d: salt reconstructs to %s", n, got[fields].String())
			}
		}
	}
}

func interpolateAt0(shares []jobs.InputShare) fr.Vector {
	basis := monomialBasis(len(shares) - 1)
	out := make(fr.Vector, len(shares[0].Fields)+1)
	var tmp fr.Element
	for i, s := range shares {
		v := append(append(fr.Vector(nil), s.Fields...), s.Salt)
		for m := range v {
			tmp.Mul(&v[m], &basis[i][0])
			out[m].Add(&out[m], &tmp)
		}
	}
	return out
}

// editMsg decodes a share message, applies edit to its share vector
// (fields then salt) and blinding shares, and re-encodes it.
func editMsg(t *testing.T, msg []byte, fields int, edit func(f, g fr.Vector)) []byte {
	t.Helper()
	s, g, err := DecodeShare(msg, fields)
	if err != nil {
		t.Fatal(err)
	}
	f := append(append(fr.Vector(nil), s.Fields...), s.Salt)
	edit(f, g)
	share := jobs.InputShare{Fields: f[:fields], Salt: f[fields]}
	return Encode(encodeInputShare(share), g)
}

func encodeInputShare(s jobs.InputShare) []byte {
	var b []byte
	b = append(b, 1) // jobs' input share version
	v := append(append(fr.Vector(nil), s.Fields...), s.Salt)
	return appendVector(b, v)
}

// TestShareOffCommitments: a share changed in any field, in the salt or in
// any blinding element is well formed but off the commitments; the same
// edit undone is on them again.
func TestShareOffCommitments(t *testing.T) {
	const n, fields = 5, 3
	com, msgs, _, _ := dealt(t, n, fields)
	c, err := ParseCommitments(com, n, fields)
	if err != nil {
		t.Fatal(err)
	}
	var one fr.Element
	one.SetOne()
	for m := 0; m <= fields; m++ {
		for _, inBlinding := range []bool{false, true} {
			bad := editMsg(t, msgs[2], fields, func(f, g fr.Vector) {
				if inBlinding {
					g[m].Add(&g[m], &one)
				} else {
					f[m].Add(&f[m], &one)
				}
			})
			if _, _, err := DecodeShare(bad, fields); err != nil {
				t.Fatalf("element %d: the edited share is malformed: %v", m, err)
			}
			if _, err := Judge(bad, fields, 2, c); !errors.Is(err, ErrOffCommitments) {
				t.Errorf("element %d (blinding %v): %v, want off the commitments", m, inBlinding, err)
			}
		}
	}
	same := editMsg(t, msgs[2], fields, func(f, g fr.Vector) {})
	if _, err := Judge(same, fields, 2, c); err != nil {
		t.Errorf("the re-encoded honest share: %v", err)
	}
	if _, err := Judge(msgs[2][:len(msgs[2])-1], fields, 2, c); !errors.Is(err, ErrMalformed) {
		t.Errorf("a truncated share: %v", err)
	}
	if _, err := Judge(msgs[2], fields, 2, nil); !errors.Is(err, ErrOffCommitments) {
		t.Errorf("no commitments: %v", err)
	}
}

// TestDealRefusesInconsistentShares: a provider's own shares that are not
// on one polynomial of degree t are refused before anything is committed.
func TestDealRefusesInconsistentShares(t *testing.T) {
	v := []fr.Element{fr.NewElement(5)}
	shares, _, err := jobs.ShareInput(4, v, fr.NewElement(9), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jobs.DecodeInputShare(shares[3], 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Fields[0].Add(&s.Fields[0], &s.Salt)
	shares[3] = encodeInputShare(s)
	if _, _, err := Messages(shares, 1, nil); err == nil {
		t.Fatal("dealt shares off one polynomial")
	}
	if _, _, err := Deal([]fr.Vector{{fr.One(), fr.One()}, {fr.One(), fr.One()}, {fr.One(), fr.One()}}, 2, nil); err == nil {
		t.Fatal("dealt with the wrong degree")
	}
}

// offCurveX is the smallest x ≥ 1 with no point (x, y) on y² = x³ + 3.
func offCurveX(t *testing.T) [PointBytes]byte {
	for x := uint64(1); x < 100; x++ {
		var b [PointBytes]byte
		binary.BigEndian.PutUint64(b[24:], x)
		b[0] |= 0x80 // compressed, smallest root
		var p pointT
		if _, err := p.SetBytes(b[:]); err != nil {
			return b
		}
	}
	t.Fatal("no x off the curve below 100")
	return [PointBytes]byte{}
}

// TestParseCommitments: the right count of canonical compressed points of
// G1 parses; one point more or less, a point off the curve, an x not
// reduced modulo p, a malformed identity or an uncompressed flag is
// refused, and so is a committee or width the engine does not run.
func TestParseCommitments(t *testing.T) {
	const n, fields = 4, 2
	com, _, _, _ := dealt(t, n, fields)
	if _, err := ParseCommitments(com, n, fields); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCommitments(com, 5, fields); !errors.Is(err, ErrCommitments) {
		t.Errorf("parsed for a committee of 5 (t = 2): %v", err)
	}
	if _, err := ParseCommitments(com, n, fields+1); !errors.Is(err, ErrCommitments) {
		t.Errorf("parsed for %d fields: %v", fields+1, err)
	}
	withPoint := func(k int, p []byte) []byte {
		b := bytes.Clone(com)
		copy(b[k*PointBytes:], p)
		return b
	}
	off := offCurveX(t)
	// x = p, the field's modulus: the encoding of x = 0, not reduced.
	pMod := []byte{0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d,
		0x97, 0x81, 0x6a, 0x91, 0x68, 0x71, 0xca, 0x8d, 0x3c, 0x20, 0x8c, 0x16, 0xd8, 0x7c, 0xfd, 0x47}
	unreduced := bytes.Clone(pMod)
	unreduced[0] |= 0x80
	badInf := make([]byte, PointBytes)
	badInf[0], badInf[31] = 0x40, 1
	inf := make([]byte, PointBytes)
	inf[0] = 0x40
	g := com[:PointBytes]
	uncompressed := bytes.Clone(g)
	uncompressed[0] &= 0x3f
	bad := map[string][]byte{
		"short":        com[:len(com)-PointBytes],
		"long":         append(bytes.Clone(com), g...),
		"ragged":       com[:len(com)-1],
		"off curve":    withPoint(3, off[:]),
		"unreduced x":  withPoint(1, unreduced),
		"bad identity": withPoint(0, badInf),
		"uncompressed": withPoint(2, uncompressed),
		"empty":        nil,
	}
	for name, b := range bad {
		if _, err := ParseCommitments(b, n, fields); !errors.Is(err, ErrCommitments) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The identity is a point of G1: it parses (a share is then judged
	// against it like against any commitment).
	if _, err := ParseCommitments(withPoint(0, inf), n, fields); err != nil {
		t.Errorf("the identity: %v", err)
	}
	for _, nn := range []int{2, 10} {
		if _, err := ParseCommitments(com, nn, fields); err == nil {
			t.Errorf("parsed for a committee of %d", nn)
		}
	}
	if _, err := ParseCommitments(com, n, 0); err == nil {
		t.Error("parsed for 0 fields")
	}
}

// TestThresholdIsTheEngines: the degree committed to is the engine's.
func TestThresholdIsTheEngines(t *testing.T) {
	for n := 0; n <= ss.MaxParties+1; n++ {
		p, perr := ss.NewParams(n)
		got, err := Threshold(n)
		if (perr == nil) != (err == nil) || perr == nil && got != p.T {
			t.Errorf("n %d: Threshold %d, %v; engine %+v, %v", n, got, err, p, perr)
		}
	}
}

// TestAADBindsEachPart: changing any of chain, job, slot or member, or
// moving a byte between them, changes the AAD.
func TestAADBindsEachPart(t *testing.T) {
	base := AAD("chain", "job", "slot", "member")
	for name, other := range map[string][]byte{
		"chain":  AAD("chainx", "job", "slot", "member"),
		"job":    AAD("chain", "jobx", "slot", "member"),
		"slot":   AAD("chain", "job", "slotx", "member"),
		"member": AAD("chain", "job", "slot", "memberx"),
		"moved":  AAD("chai", "njob", "slot", "member"),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("%s: same AAD", name)
		}
	}
}

// FuzzDecodeShare: untrusted plaintext (a sealed share that opened, on the
// committee or the ledger) never panics, and what decodes has the job's
// width in both the share and the blinding, from a message whose frame
// holds exactly the two chunks.
func FuzzDecodeShare(f *testing.F) {
	f.Add(shareMsg(f, 1), 1)
	f.Add(shareMsg(f, 3), 3)
	f.Add([]byte{1, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, 1)
	f.Add([]byte{1, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, msg []byte, fields int) {
		s, g, err := DecodeShare(msg, fields)
		if err != nil {
			return
		}
		if len(s.Fields) != fields || len(g) != fields+1 {
			t.Fatalf("decoded %d fields and %d blinding (want %d) from %x", len(s.Fields), len(g), fields, msg)
		}
		if re := Encode(encodeInputShare(s), g); !bytes.Equal(re, msg) {
			t.Fatalf("%x decodes, re-encodes to %x", msg, re)
		}
	})
}

// FuzzParseCommitments: untrusted commitments (a job input on the ledger)
// never panic; what parses re-encodes to itself, and an honest share
// judged against arbitrary commitments that parse never panics either.
func FuzzParseCommitments(f *testing.F) {
	com, msgs, _, _ := dealt(f, 3, 1)
	f.Add(com, msgs[0], uint8(0))
	f.Add(com[:len(com)-1], msgs[1], uint8(1))
	f.Add(make([]byte, len(com)), msgs[2], uint8(2))
	f.Fuzz(func(t *testing.T, b, msg []byte, member uint8) {
		c, err := ParseCommitments(b, 3, 1)
		if err != nil {
			return
		}
		for i := range c.pts {
			enc := c.pts[i].Bytes()
			if !bytes.Equal(enc[:], b[i*PointBytes:(i+1)*PointBytes]) {
				t.Fatalf("point %d of %x re-encodes to %x", i, b, enc)
			}
		}
		_, _ = Judge(msg, 1, int(member%3), c)
	})
}

type pointT = bn254.G1Affine

func appendVector(b []byte, v fr.Vector) []byte { return field.AppendVector(b, v) }

// TestIdentityCommitment: a provider may commit to a polynomial whose top
// coefficients are zero in both f and g (C_k the identity, which parses):
// shares on it verify, shares off it do not — the multi-scalar
// multiplication treats the identity as the identity.
func TestIdentityCommitment(t *testing.T) {
	const n, fields = 5, 1 // t = 2
	a := fr.Vector{fr.NewElement(5), fr.NewElement(0), fr.NewElement(0), fr.NewElement(9), fr.NewElement(0), fr.NewElement(0)}
	b := fr.Vector{fr.NewElement(7), fr.NewElement(0), fr.NewElement(0), fr.NewElement(11), fr.NewElement(3), fr.NewElement(0)}
	g, h := generators()
	var raw []byte
	for i := range a {
		var p, q bn254.G1Affine
		p.ScalarMultiplication(&g, a[i].BigInt(new(big.Int)))
		q.ScalarMultiplication(&h, b[i].BigInt(new(big.Int)))
		p.Add(&p, &q)
		enc := p.Bytes()
		raw = append(raw, enc[:]...)
	}
	c, err := ParseCommitments(raw, n, fields)
	if err != nil {
		t.Fatal(err)
	}
	if !c.pts[1].IsInfinity() || !c.pts[5].IsInfinity() {
		t.Fatal("the zero coefficients do not commit to the identity")
	}
	for j := range n {
		f := []fr.Element{eval(a[0:3], j), eval(a[3:6], j)}
		bl := fr.Vector{eval(b[0:3], j), eval(b[3:6], j)}
		s := jobs.InputShare{Fields: f[:1], Salt: f[1]}
		if err := c.Verify(j, s, bl); err != nil {
			t.Fatalf("member %d: %v", j, err)
		}
		s.Salt.Add(&s.Salt, &bl[0])
		if err := c.Verify(j, s, bl); !errors.Is(err, ErrOffCommitments) {
			t.Fatalf("member %d, salt off: %v", j, err)
		}
	}
}
