package jobruntest

import (
	"bytes"
	"context"
	"encoding/binary"

	"github.com/cohortnet/cohort/node/jobrun"
)

// LegacyHEStore wraps a member's store so that its HE key records read as
// a node that set the committee up before mpc/he's share check existed
// wrote them: format CHK1, without the shares-checked word, which
// he.LoadMember loads as unchecked (Member.SharesChecked false) whatever
// the setup did. It tests that an HE job refuses to run on keys whose
// record says unchecked, also on a committee whose threshold would allow
// the check. Other values, and records it cannot parse, pass unchanged.
func LegacyHEStore(store jobrun.Store) jobrun.Store { return legacyStore{store} }

type legacyStore struct{ jobrun.Store }

// The layout of mpc/he's key record (member.go, record):
//
//	"CHK2" | committee (u64 length, bytes) | self n t | #galois | galois… |
//	threshold share (u64 length, bytes) | shares checked (u64) | key blocks…
//
// A CHK1 record is the same without the shares-checked word.
const (
	recordV2 = "CHK2"
	recordV1 = "CHK1"
)

func (s legacyStore) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Store.Get(ctx, key)
	if err != nil || !bytes.HasPrefix(v, []byte(recordV2)) {
		return v, err
	}
	off := len(recordV2)
	u64 := func() (uint64, bool) {
		if off < 0 || len(v)-off < 8 {
			return 0, false
		}
		x := binary.LittleEndian.Uint64(v[off:])
		off += 8
		return x, true
	}
	skip := func(n uint64) bool {
		if n > uint64(len(v)-off) {
			return false
		}
		off += int(n)
		return true
	}
	l, ok := u64()
	if !ok || !skip(l) {
		return v, nil
	}
	var gal uint64
	for i := 0; i < 4; i++ { // self, n, t, #galois
		if gal, ok = u64(); !ok {
			return v, nil
		}
	}
	if gal > uint64(len(v)) || !skip(8*gal) {
		return v, nil
	}
	if l, ok = u64(); !ok || !skip(l) || len(v)-off < 8 {
		return v, nil
	}
	out := make([]byte, 0, len(v)-8)
	out = append(out, recordV1...)
	out = append(out, v[len(recordV2):off]...)
	return append(out, v[off+8:]...), nil
}
