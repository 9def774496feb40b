package supervision

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
)

// TestRecordWrapNotProvable is the regression test of the review's
// supervision variant of the opening oracle (C1): a record's key is
// wrapped to the member's sealing key with ECIES (R ‖ AES-GCM under a key
// from x·R). Copy that R into a "sealed job share" to the same member:
// before the sender's proof of knowledge, the member's node proved the
// share does not open and published S = x·R, which unwraps the record key
// for anyone holding the record. Now nothing carrying a wrap's R — R with
// garbage, or the wrap itself — is publicly valid under a sealed-share
// AAD, and the member's node refuses to prove it (no S).
func TestRecordWrapNotProvable(t *testing.T) {
	kp := GenerateKey()
	s, _, err := Seal("chan", []byte(`{"a":1}`), []byte("confidential supervision info"), "0x00", []Recipient{{Member: "m", Key: kp.Public}})
	if err != nil {
		t.Fatal(err)
	}
	w := s.Keys[0].Wrapped
	aad := sealedinput.AAD("chain", "job", "firm1", "m")
	for name, fake := range map[string][]byte{
		"R and garbage": append(bytes.Clone(w[:sealbox.PointBytes]), bytes.Repeat([]byte{0x5a}, 80)...),
		"R, then the wrap padded to a sealed share's size": append(bytes.Clone(w), bytes.Repeat([]byte{0x5a}, sealbox.Overhead)...),
		"the wrap as is": bytes.Clone(w),
	} {
		if err := sealbox.Check(kp.Public, aad, fake); !errors.Is(err, sealbox.ErrInvalid) {
			t.Errorf("%s: Check = %v; want publicly invalid (the ledger would take it)", name, err)
		}
		S, proof, err := sealbox.ProveOpening(kp.Private, aad, fake)
		if !errors.Is(err, sealbox.ErrInvalid) || S != nil || proof != nil {
			t.Errorf("%s: the member's node would publish S=%x (%v)", name, S, err)
		}
	}
	// The record still opens for its member.
	if _, err := s.Open("m", kp); err != nil {
		t.Fatal(err)
	}
}
