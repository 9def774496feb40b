package jobrun

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
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
