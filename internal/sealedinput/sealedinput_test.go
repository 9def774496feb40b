package sealedinput

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/jobs"
)

// shareMsg is member 0's share message of an input of fields elements
// (jobs.ShareInput, framed as a member receives it).
func shareMsg(t testing.TB, fields int) []byte {
	t.Helper()
	v := make([]fr.Element, fields)
	for k := range v {
		v[k].SetUint64(uint64(1000 + k))
	}
	var salt fr.Element
	salt.SetUint64(77)
	msgs, _, err := jobs.ShareInput(4, v, salt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Encode(msgs[0])
}

// TestDecodeShare: a framed share of the job's width decodes to itself;
// another width, a wrong frame, a truncation or a trailing byte does not.
func TestDecodeShare(t *testing.T) {
	for _, fields := range []int{1, 3} {
		msg := shareMsg(t, fields)
		got, err := DecodeShare(msg, fields)
		if err != nil || len(got.Fields) != fields {
			t.Fatalf("fields %d: %+v, %v", fields, got, err)
		}
		bad := map[string][]byte{
			"truncated":   msg[:len(msg)-1],
			"trailing":    append(bytes.Clone(msg), 0),
			"version":     append([]byte{2}, msg[1:]...),
			"kind":        append([]byte{1, 2}, msg[2:]...),
			"two chunks":  append(append(bytes.Clone(msg[:5]), 2), msg[6:]...),
			"header only": msg[:headerBytes-1],
		}
		for name, b := range bad {
			if _, err := DecodeShare(b, fields); !errors.Is(err, ErrMalformed) {
				t.Errorf("fields %d, %s: %v", fields, name, err)
			}
		}
		if _, err := DecodeShare(msg, fields+1); !errors.Is(err, ErrMalformed) {
			t.Errorf("fields %d decoded as %d: %v", fields, fields+1, err)
		}
	}
	if _, err := DecodeShare(shareMsg(t, 1), 0); err == nil {
		t.Error("a share of 0 fields decoded")
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
// committee or the ledger) never panics, and what decodes re-encodes to the
// job's width, from a message whose frame holds exactly the share.
func FuzzDecodeShare(f *testing.F) {
	f.Add(shareMsg(f, 1), 1)
	f.Add(shareMsg(f, 3), 3)
	f.Add([]byte{1, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, msg []byte, fields int) {
		s, err := DecodeShare(msg, fields)
		if err != nil {
			return
		}
		if len(s.Fields) != fields || int(binary.BigEndian.Uint32(msg[6:10])) != len(msg)-headerBytes {
			t.Fatalf("decoded %d fields (want %d) from %x", len(s.Fields), fields, msg)
		}
	})
}
