package jobrun

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"

	"github.com/cohortnet/cohort/mpc/he"
)

// Wire messages between roles are a version byte, a kind byte and a list of
// length-prefixed chunks (u32 count, then u32 length + bytes each). The
// decoder checks every length against the remaining bytes and the caller's
// bounds before it slices; chunks alias the input.
const wireVersion = 1

// Message kinds.
const (
	kindInput        byte = 1 // provider → member: its input for the job
	kindRecipientKey byte = 2 // recipient → member: HE public key for the output
	kindOutput       byte = 3 // member → recipient: result (share) and signature
	kindAllocation   byte = 4 // member → clearing bidder: its allocation share
)

var errMalformed = errors.New("malformed message")

func encodeChunks(kind byte, chunks ...[]byte) []byte {
	n := 2 + 4
	for _, c := range chunks {
		n += 4 + len(c)
	}
	b := make([]byte, 0, n)
	b = append(b, wireVersion, kind)
	b = binary.BigEndian.AppendUint32(b, uint32(len(chunks)))
	for _, c := range chunks {
		b = binary.BigEndian.AppendUint32(b, uint32(len(c)))
		b = append(b, c...)
	}
	return b
}

// decodeChunks parses a message of the given kind with between minChunks and
// maxChunks chunks.
func decodeChunks(b []byte, kind byte, minChunks, maxChunks int) ([][]byte, error) {
	if len(b) < 6 || b[0] != wireVersion || b[1] != kind {
		return nil, fmt.Errorf("%w: bad header", errMalformed)
	}
	count := binary.BigEndian.Uint32(b[2:6])
	if count < uint32(minChunks) || count > uint32(maxChunks) {
		return nil, fmt.Errorf("%w: %d chunks, want %d..%d", errMalformed, count, minChunks, maxChunks)
	}
	rest := b[6:]
	if uint64(count)*4 > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: truncated", errMalformed)
	}
	out := make([][]byte, count)
	for i := range out {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: truncated", errMalformed)
		}
		l := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(l) > uint64(len(rest)) {
			return nil, fmt.Errorf("%w: chunk %d of %d bytes overruns the message", errMalformed, i, l)
		}
		out[i] = rest[:l:l]
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errMalformed, len(rest))
	}
	return out, nil
}

func u64Bytes(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func parseU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: integer of %d bytes", errMalformed, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

func elementBytes(e fr.Element) []byte {
	b := e.Bytes()
	return b[:]
}

// parseElement decodes a canonical 32-byte big-endian field element.
func parseElement(b []byte) (fr.Element, error) {
	var e fr.Element
	if len(b) != fr.Bytes {
		return e, fmt.Errorf("%w: field element of %d bytes", errMalformed, len(b))
	}
	if err := e.SetBytesCanonical(b); err != nil {
		return e, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return e, nil
}

// HE public keys (the committee's collective key, which providers encrypt
// under, and a recipient's key) travel in a canonical encoding of their own,
// because lattigo's generic decoder sizes its allocations from headers in the
// data:
//
//	magic "CPK1" | preset fingerprint [8] | for each of the two QP polynomials:
//	(levelQ+1)·N then (levelP+1)·N coefficients, u64 little-endian, each
//	reduced modulo its prime (NTT and Montgomery form, as lattigo keeps keys).
//
// The size is fixed by the preset, so the decoder checks it before
// allocating anything.
const pkMagic = "CPK1"

func pkShape(preset *he.Preset) (n, lq, lp int) {
	params := preset.RLWE()
	return params.N(), params.QCount(), params.PCount()
}

func pkSize(preset *he.Preset) int {
	n, lq, lp := pkShape(preset)
	return 4 + 8 + 2*(lq+lp)*n*8
}

// MarshalHEPublicKey encodes a public key under preset canonically.
func MarshalHEPublicKey(preset *he.Preset, pk *rlwe.PublicKey) ([]byte, error) {
	fp, err := preset.Fingerprint(he.CKKS)
	if err != nil {
		return nil, err
	}
	n, lq, lp := pkShape(preset)
	out := make([]byte, 0, pkSize(preset))
	out = append(out, pkMagic...)
	out = append(out, fp[:]...)
	for k := 0; k < 2; k++ {
		v := pk.Value[k]
		if v.Q.Level()+1 != lq || v.P.Level()+1 != lp || v.Q.N() != n {
			return nil, errors.New("jobrun: public key does not have the preset's shape")
		}
		for _, row := range v.Q.Coeffs {
			for _, c := range row {
				out = binary.LittleEndian.AppendUint64(out, c)
			}
		}
		for _, row := range v.P.Coeffs {
			for _, c := range row {
				out = binary.LittleEndian.AppendUint64(out, c)
			}
		}
	}
	return out, nil
}

// ParseHEPublicKey decodes untrusted bytes written by MarshalHEPublicKey.
func ParseHEPublicKey(preset *he.Preset, b []byte) (*rlwe.PublicKey, error) {
	if len(b) != pkSize(preset) {
		return nil, fmt.Errorf("jobrun: HE public key of %d bytes, want %d for preset %s", len(b), pkSize(preset), preset.Name)
	}
	fp, err := preset.Fingerprint(he.CKKS)
	if err != nil {
		return nil, err
	}
	if string(b[:4]) != pkMagic || string(b[4:12]) != string(fp[:]) {
		return nil, fmt.Errorf("jobrun: HE public key: bad magic or made under another preset than %s", preset.Name)
	}
	params := preset.RLWE()
	qs, ps := params.Q(), params.P()
	pk := rlwe.NewPublicKey(params)
	off := 12
	fill := func(rows [][]uint64, moduli []uint64) error {
		for i, row := range rows {
			for j := range row {
				c := binary.LittleEndian.Uint64(b[off:])
				off += 8
				if c >= moduli[i] {
					return errors.New("jobrun: HE public key: coefficient not reduced")
				}
				row[j] = c
			}
		}
		return nil
	}
	for k := 0; k < 2; k++ {
		if err := fill(pk.Value[k].Q.Coeffs, qs); err != nil {
			return nil, err
		}
		if err := fill(pk.Value[k].P.Coeffs, ps); err != nil {
			return nil, err
		}
	}
	return pk, nil
}
