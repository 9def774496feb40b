package committee

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/pairing/bn256"
)

// Encoded sizes on the BN256 curve.
const (
	// ScalarSize is the size of an encoded scalar (a share or a secret key).
	ScalarSize = 32
	// G1Size is the size of an encoded G1 point (a signature).
	G1Size = 64
	// G2Size is the size of an encoded G2 point (a public key or commitment).
	G2Size = 128
	// SignatureSize is the size of a combined BLS signature.
	SignatureSize = G1Size
	// PartialSize is the size of a partial signature: a 2-byte big-endian
	// signer index followed by a G1 point (the kyber tbls SigShare layout).
	PartialSize = 2 + G1Size
	// MaxMembers bounds the committee size n. Partial signatures carry a
	// 16-bit index; committees are far smaller in practice.
	MaxMembers = 256
)

// pairingSuite is used for signing and verification (signatures in G1, keys in
// G2); g2Suite is the group the DKG runs in. Both are stateless: their random
// streams come from crypto/rand.
func pairingSuite() *bn256.Suite { return bn256.NewSuite() }
func g2Suite() *bn256.Suite      { return bn256.NewSuiteG2() }

// groupOrderMinusOne is r−1 as a scalar; see inPrimeOrderSubgroup.
func groupOrderMinusOne(g kyber.Group) kyber.Scalar {
	s := g.Scalar().SetInt64(1)
	return s.Neg(s)
}

// inPrimeOrderSubgroup reports whether P lies in the order-r subgroup: it
// checks (r−1)·P + P = O. On the G2 twist the curve has a large cofactor and
// kyber's decoder only checks that a point is on the twist, so a crafted point
// outside the subgroup would otherwise be accepted. (On G1 the cofactor is 1;
// decodeG1 skips the check.)
func inPrimeOrderSubgroup(g kyber.Group, p kyber.Point) bool {
	q := g.Point().Mul(groupOrderMinusOne(g), p)
	q.Add(q, p)
	return q.Equal(g.Point().Null())
}

// decodePoint decodes exactly size bytes into a point of g, rejecting
// non-canonical encodings (coordinates ≥ p, which kyber reduces silently),
// points off the curve, points outside the prime-order subgroup if
// checkSubgroup, and the identity unless allowIdentity. A panic in the curve
// code becomes an error.
func decodePoint(g kyber.Group, size int, buf []byte, allowIdentity, checkSubgroup bool) (p kyber.Point, err error) {
	if len(buf) != size {
		return nil, fmt.Errorf("point: %d bytes, want %d", len(buf), size)
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("point: decoder panicked: %v", r)
		}
	}()
	if !coordinatesCanonical(buf) {
		return nil, errors.New("point: non-canonical coordinate")
	}
	p = g.Point()
	if err := p.UnmarshalBinary(buf); err != nil {
		return nil, fmt.Errorf("point: %w", err)
	}
	again, err := p.MarshalBinary()
	if err != nil || !bytes.Equal(again, buf) {
		return nil, errors.New("point: non-canonical encoding")
	}
	if p.Equal(g.Point().Null()) {
		if !allowIdentity {
			return nil, errors.New("point: identity element")
		}
		return p, nil
	}
	if checkSubgroup && !inPrimeOrderSubgroup(g, p) {
		return nil, errors.New("point: not in the prime-order subgroup")
	}
	return p, nil
}

// fieldModulus is the BN256 base-field prime p, the bound of every coordinate.
var fieldModulus, _ = new(big.Int).SetString("65000549695646603732796438742359905742825358107623003571877145026864184071783", 10)

// coordinatesCanonical checks that every 32-byte big-endian coordinate is < p.
func coordinatesCanonical(buf []byte) bool {
	var c big.Int
	for off := 0; off+32 <= len(buf); off += 32 {
		if c.SetBytes(buf[off:off+32]).Cmp(fieldModulus) >= 0 {
			return false
		}
	}
	return true
}

// decodeG1 decodes a signature point. A BN curve over F_p has prime order r,
// so every point on it is in G1 and no subgroup check is needed.
func decodeG1(buf []byte) (kyber.Point, error) {
	return decodePoint(pairingSuite().G1(), G1Size, buf, false, false)
}

// decodeG2 decodes a key or commitment point, with the subgroup check.
func decodeG2(buf []byte) (kyber.Point, error) {
	return decodePoint(pairingSuite().G2(), G2Size, buf, false, true)
}

// decodeScalar decodes exactly ScalarSize bytes into a scalar < r.
func decodeScalar(buf []byte) (kyber.Scalar, error) {
	if len(buf) != ScalarSize {
		return nil, fmt.Errorf("scalar: %d bytes, want %d", len(buf), ScalarSize)
	}
	s := g2Suite().Scalar()
	if err := s.UnmarshalBinary(buf); err != nil {
		return nil, fmt.Errorf("scalar: %w", err)
	}
	return s, nil
}

func mustMarshal(m interface{ MarshalBinary() ([]byte, error) }) []byte {
	b, err := m.MarshalBinary()
	if err != nil {
		// kyber's BN256 points and mod.Int scalars never fail to marshal.
		panic(fmt.Sprintf("committee: marshal: %v", err))
	}
	return b
}

// writer builds the canonical binary encodings used on the wire and at rest:
// big-endian integers, length-prefixed byte strings, fixed-size points.
type writer struct{ buf []byte }

func (w *writer) u8(v uint8)          { w.buf = append(w.buf, v) }
func (w *writer) u16(v uint16)        { w.buf = binary.BigEndian.AppendUint16(w.buf, v) }
func (w *writer) u32(v uint32)        { w.buf = binary.BigEndian.AppendUint32(w.buf, v) }
func (w *writer) raw(b []byte)        { w.buf = append(w.buf, b...) }
func (w *writer) point(p kyber.Point) { w.raw(mustMarshal(p)) }
func (w *writer) scalar(s kyber.Scalar) {
	w.raw(mustMarshal(s))
}
func (w *writer) bytes(b []byte) {
	w.u32(uint32(len(b)))
	w.raw(b)
}
func (w *writer) bool(b bool) {
	if b {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// reader decodes what writer wrote. The first failure sticks; every length is
// checked against a caller-supplied bound and the remaining input before
// anything is allocated.
type reader struct {
	buf []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf) {
		r.fail("truncated: need %d bytes, have %d", n, len(r.buf))
		return nil
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *reader) u8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) bool() bool {
	switch v := r.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("invalid boolean %d", v)
		return false
	}
}

// bytes reads a length-prefixed byte string of at most max bytes. The result
// aliases the input.
func (r *reader) bytes(max int) []byte {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if int64(n) > int64(max) {
		r.fail("byte string of %d bytes exceeds %d", n, max)
		return nil
	}
	return r.take(int(n))
}

// g2 reads one G2 point (never the identity).
func (r *reader) g2() kyber.Point {
	b := r.take(G2Size)
	if r.err != nil {
		return nil
	}
	p, err := decodeG2(b)
	if err != nil {
		r.fail("%w", err)
		return nil
	}
	return p
}

func (r *reader) scalar() kyber.Scalar {
	b := r.take(ScalarSize)
	if r.err != nil {
		return nil
	}
	s, err := decodeScalar(b)
	if err != nil {
		r.fail("%w", err)
		return nil
	}
	return s
}

// count reads a u32 element count, bounded by max and by the bytes left given
// that every element takes at least minSize bytes.
func (r *reader) count(max, minSize int) int {
	n := r.u32()
	if r.err != nil {
		return 0
	}
	if int64(n) > int64(max) || int64(n)*int64(minSize) > int64(len(r.buf)) {
		r.fail("count %d exceeds its bound", n)
		return 0
	}
	return int(n)
}

// done fails unless the whole input was consumed.
func (r *reader) done() error {
	if r.err == nil && len(r.buf) != 0 {
		r.fail("%d trailing bytes", len(r.buf))
	}
	return r.err
}
