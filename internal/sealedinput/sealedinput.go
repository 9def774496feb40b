package sealedinput

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// AAD is the associated data that binds the sealed share of input slot to
// committee member of job on chain: a ciphertext moved to another chain,
// job, slot or member does not open. v2: the share message carries the
// member's blinding share and the input its Pedersen commitments; a share
// sealed under v1 is publicly invalid under v2 (its sender's proof binds
// the AAD), so the ledger refuses it at input and it never convicts anyone.
func AAD(chainID, jobID, slot, member string) []byte {
	h := sha256.New()
	h.Write([]byte("cohort/jobrun/sealed-input/v2\x00"))
	for _, s := range []string{chainID, jobID, slot, member} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// The share message's frame: node/jobrun's wire format (version 1, kind
// input) with two chunks: u32 count = 2, u32 length, the encoded input share
// (jobs.DecodeInputShare: the fields then the salt), u32 length, the
// blinding shares (a field vector of Width(fields) elements). A message of
// the format before Pedersen commitments had one chunk (no blinding).
const (
	wireVersion = 1
	kindInput   = 1
	headerBytes = 2 + 4 + 4
	chunks      = 2
)

// ErrMalformed is returned for a share message that is not a well-formed
// input share of the job.
var ErrMalformed = errors.New("sealed input: malformed share message")

// Fields is how many field elements one provider's input has in spec's
// job: a clearing curve has one per price level, every other SS input one.
func Fields(spec *jobspec.Spec) int {
	if spec.Type == jobspec.Clearing {
		if p := spec.ClearingParams(); p != nil {
			return len(p.Prices)
		}
	}
	return 1
}

// MessageLen is the size of a member's share message of an input of fields
// field elements (Encode of the share jobs.ShareInput makes and Width(fields)
// blinding shares): every well-formed message has exactly this size, so the
// ledger can refuse a sealed share of any other size before it decodes
// anything (SealedLen), and Messages checks what it makes against it. A
// scalar input's message is 151 bytes (TestMessageLen).
func MessageLen(fields int) int {
	// The frame, the input share (a version byte and the vector of the
	// fields and the salt), the blinding chunk's length and the blinding.
	return headerBytes + 1 + field.EncodedLen(Width(fields)) + 4 + field.EncodedLen(Width(fields))
}

// SealedLen is the size of a member's sealed share of an input of fields
// field elements: MessageLen(fields) sealed (sealbox.Overhead more). A
// scalar input's sealed share is 263 bytes.
func SealedLen(fields int) int { return sealbox.Overhead + MessageLen(fields) }

// Encode frames an encoded input share and the member's blinding shares as
// the share message a member receives (what DecodeShare takes back).
func Encode(share []byte, blinding fr.Vector) []byte {
	bl := field.EncodeVector(blinding)
	b := make([]byte, 0, headerBytes+len(share)+4+len(bl))
	b = append(b, wireVersion, kindInput)
	b = binary.BigEndian.AppendUint32(b, chunks)
	b = binary.BigEndian.AppendUint32(b, uint32(len(share)))
	b = append(b, share...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(bl)))
	return append(b, bl...)
}

// DecodeShare decodes a member's share message of an input with fields
// field elements (Fields) into its share and blinding shares, refusing
// anything else: a wrong frame, trailing bytes, an unreduced element,
// another number of fields or blinding elements, a message of the format
// before Pedersen commitments (one chunk). Lengths are checked before
// anything is allocated (jobs.DecodeInputShare and field.DecodeVector bound
// the vectors by fields).
func DecodeShare(msg []byte, fields int) (jobs.InputShare, fr.Vector, error) {
	if len(msg) < headerBytes || msg[0] != wireVersion || msg[1] != kindInput {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: bad header", ErrMalformed)
	}
	switch n := binary.BigEndian.Uint32(msg[2:6]); {
	case n == 1:
		return jobs.InputShare{}, nil, fmt.Errorf("%w: one chunk: a share message without its blinding shares (the format before Pedersen commitments)", ErrMalformed)
	case n != chunks:
		return jobs.InputShare{}, nil, fmt.Errorf("%w: %d chunks, want %d", ErrMalformed, n, chunks)
	}
	if fields < 1 || fields > jobs.MaxInputFields {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: %d fields", ErrMalformed, fields)
	}
	rest := msg[6:]
	l := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(l) > uint64(len(rest)) {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: a share of %d bytes overruns the message", ErrMalformed, l)
	}
	shareBytes, rest := rest[:l], rest[l:]
	if len(rest) < 4 {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: no blinding chunk", ErrMalformed)
	}
	want := uint64(field.EncodedLen(Width(fields)))
	if l := binary.BigEndian.Uint32(rest); uint64(l) != uint64(len(rest)-4) || uint64(l) != want {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: a blinding chunk of %d bytes in %d, want %d", ErrMalformed, l, len(rest)-4, want)
	}
	s, err := jobs.DecodeInputShare(shareBytes, fields)
	if err != nil {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(s.Fields) != fields {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: %d fields, want %d", ErrMalformed, len(s.Fields), fields)
	}
	blinding := make(fr.Vector, Width(fields))
	tail, err := field.DecodeVectorInto(blinding, rest[4:])
	if err != nil {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: blinding shares: %v", ErrMalformed, err)
	}
	if len(tail) != 0 {
		return jobs.InputShare{}, nil, fmt.Errorf("%w: trailing bytes after the blinding shares", ErrMalformed)
	}
	return s, blinding, nil
}
