package sealedinput

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// AAD is the associated data that binds the sealed share of input slot to
// committee member of job on chain: a ciphertext moved to another chain,
// job, slot or member does not open.
func AAD(chainID, jobID, slot, member string) []byte {
	h := sha256.New()
	h.Write([]byte("cohort/jobrun/sealed-input/v1\x00"))
	for _, s := range []string{chainID, jobID, slot, member} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// The share message's frame: node/jobrun's wire format (version 1, kind
// input, one chunk: u32 count = 1, u32 length, the encoded input share).
const (
	wireVersion = 1
	kindInput   = 1
	headerBytes = 2 + 4 + 4
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

// Encode frames an encoded input share as the share message a member
// receives (what DecodeShare takes back).
func Encode(share []byte) []byte {
	b := make([]byte, 0, headerBytes+len(share))
	b = append(b, wireVersion, kindInput)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(share)))
	return append(b, share...)
}

// DecodeShare decodes a member's share message of an input with fields
// field elements (Fields), refusing anything else: a wrong frame, trailing
// bytes, an unreduced element, another number of fields. Lengths are
// checked before anything is allocated (jobs.DecodeInputShare bounds the
// vector by fields).
func DecodeShare(msg []byte, fields int) (jobs.InputShare, error) {
	if len(msg) < headerBytes || msg[0] != wireVersion || msg[1] != kindInput {
		return jobs.InputShare{}, fmt.Errorf("%w: bad header", ErrMalformed)
	}
	if n := binary.BigEndian.Uint32(msg[2:6]); n != 1 {
		return jobs.InputShare{}, fmt.Errorf("%w: %d chunks, want 1", ErrMalformed, n)
	}
	if l := binary.BigEndian.Uint32(msg[6:10]); uint64(l) != uint64(len(msg)-headerBytes) {
		return jobs.InputShare{}, fmt.Errorf("%w: a chunk of %d bytes in %d", ErrMalformed, l, len(msg)-headerBytes)
	}
	if fields < 1 || fields > jobs.MaxInputFields {
		return jobs.InputShare{}, fmt.Errorf("%w: %d fields", ErrMalformed, fields)
	}
	s, err := jobs.DecodeInputShare(msg[headerBytes:], fields)
	if err != nil {
		return jobs.InputShare{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(s.Fields) != fields {
		return jobs.InputShare{}, fmt.Errorf("%w: %d fields, want %d", ErrMalformed, len(s.Fields), fields)
	}
	return s, nil
}
