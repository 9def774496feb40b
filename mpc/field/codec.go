package field

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Wire format of a vector: a 4-byte big-endian element count followed by
// each element's Montgomery limbs, little-endian (32 bytes per element). The
// Montgomery form is sent as is because both ends compute in it: encoding and
// decoding are copies plus a range check, with no field multiplication. The
// format is internal to the MPC engines; use fr's canonical big-endian
// encoding for anything that leaves them.

// headerBytes is the size of the length prefix.
const headerBytes = 4

// ErrTruncated is returned when a buffer ends inside a vector.
var ErrTruncated = errors.New("field: truncated vector")

// q's limbs, little-endian; an element's Montgomery limbs must be below q.
var modulusLimbs = func() [4]uint64 {
	var q [4]uint64
	b := fr.Modulus().Bits()
	for i := range q {
		q[i] = uint64(b[i])
	}
	return q
}()

// EncodedLen is the encoded size of a vector of n elements.
func EncodedLen(n int) int { return headerBytes + n*Bytes }

// AppendVector appends the encoding of v to dst.
func AppendVector(dst []byte, v fr.Vector) []byte {
	start := len(dst)
	need := EncodedLen(len(v))
	if cap(dst)-start < need {
		grown := make([]byte, start, start+need)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+need]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(v)))
	b := dst[start+headerBytes:]
	for i := range v {
		o := b[i*Bytes : i*Bytes+Bytes : i*Bytes+Bytes]
		binary.LittleEndian.PutUint64(o[0:], v[i][0])
		binary.LittleEndian.PutUint64(o[8:], v[i][1])
		binary.LittleEndian.PutUint64(o[16:], v[i][2])
		binary.LittleEndian.PutUint64(o[24:], v[i][3])
	}
	return dst
}

// EncodeVector returns the encoding of v.
func EncodeVector(v fr.Vector) []byte { return AppendVector(nil, v) }

// VectorLen reads the element count at the head of b and checks it against
// maxLen and the bytes actually present, before anything is allocated.
func VectorLen(b []byte, maxLen int) (int, error) {
	if len(b) < headerBytes {
		return 0, ErrTruncated
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(maxLen) {
		return 0, fmt.Errorf("field: vector of %d elements exceeds limit %d", n, maxLen)
	}
	if uint64(len(b)-headerBytes) < uint64(n)*Bytes {
		return 0, ErrTruncated
	}
	return int(n), nil
}

// DecodeVector decodes one vector of at most maxLen elements from the head of
// b and returns it with the remaining bytes.
func DecodeVector(b []byte, maxLen int) (fr.Vector, []byte, error) {
	n, err := VectorLen(b, maxLen)
	if err != nil {
		return nil, nil, err
	}
	v := make(fr.Vector, n)
	rest, err := DecodeVectorInto(v, b)
	if err != nil {
		return nil, nil, err
	}
	return v, rest, nil
}

// DecodeVectorInto decodes a vector of exactly len(dst) elements from the
// head of b into dst, and returns the remaining bytes. It allocates nothing.
func DecodeVectorInto(dst fr.Vector, b []byte) ([]byte, error) {
	n, err := VectorLen(b, len(dst))
	if err != nil {
		return nil, err
	}
	if n != len(dst) {
		return nil, fmt.Errorf("field: vector has %d elements, want %d", n, len(dst))
	}
	body := b[headerBytes : headerBytes+n*Bytes]
	for i := range dst {
		o := body[i*Bytes : i*Bytes+Bytes : i*Bytes+Bytes]
		e := &dst[i]
		e[0] = binary.LittleEndian.Uint64(o[0:])
		e[1] = binary.LittleEndian.Uint64(o[8:])
		e[2] = binary.LittleEndian.Uint64(o[16:])
		e[3] = binary.LittleEndian.Uint64(o[24:])
		if !belowModulus(e) {
			return nil, fmt.Errorf("field: element %d is not reduced", i)
		}
	}
	return b[headerBytes+n*Bytes:], nil
}

func belowModulus(e *fr.Element) bool {
	for i := 3; i >= 0; i-- {
		if e[i] != modulusLimbs[i] {
			return e[i] < modulusLimbs[i]
		}
	}
	return false
}

// PutHeader writes the element count of an n-element vector at the head of
// dst (which must hold EncodedLen(n) bytes); elements then go at offset
// HeaderBytes with PutElements. It lets a producer fill a frame block by block.
func PutHeader(dst []byte, n int) { binary.BigEndian.PutUint32(dst, uint32(n)) }

// HeaderBytes is the size of the length prefix of an encoded vector.
const HeaderBytes = headerBytes

// PutElements writes v's elements (no header) to dst[:len(v)*Bytes].
func PutElements(dst []byte, v fr.Vector) {
	_ = dst[len(v)*Bytes-1]
	for i := range v {
		o := dst[i*Bytes : i*Bytes+Bytes : i*Bytes+Bytes]
		binary.LittleEndian.PutUint64(o[0:], v[i][0])
		binary.LittleEndian.PutUint64(o[8:], v[i][1])
		binary.LittleEndian.PutUint64(o[16:], v[i][2])
		binary.LittleEndian.PutUint64(o[24:], v[i][3])
	}
}

// GetElements reads len(dst) elements (no header) from src, rejecting any
// that is not reduced.
func GetElements(dst fr.Vector, src []byte) error {
	if len(src) < len(dst)*Bytes {
		return ErrTruncated
	}
	for i := range dst {
		o := src[i*Bytes : i*Bytes+Bytes : i*Bytes+Bytes]
		e := &dst[i]
		e[0] = binary.LittleEndian.Uint64(o[0:])
		e[1] = binary.LittleEndian.Uint64(o[8:])
		e[2] = binary.LittleEndian.Uint64(o[16:])
		e[3] = binary.LittleEndian.Uint64(o[24:])
		if !belowModulus(e) {
			return fmt.Errorf("field: element %d is not reduced", i)
		}
	}
	return nil
}
