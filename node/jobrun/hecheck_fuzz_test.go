package jobrun

import (
	"testing"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

// FuzzDecodeHECandidate feeds arbitrary bytes to the recipient's decoder of
// a member's key-switched result and to the members' verdict decoder: both
// must reject without panicking; an accepted candidate matches its output
// commitment and has a well-formed family, an accepted re-form excludes
// distinct members of the committee.
func FuzzDecodeHECandidate(f *testing.F) {
	preset, err := he.InsecureTestPreset()
	if err != nil {
		f.Fatal(err)
	}
	spec := &Spec{ID: "fuzz", Type: CreditScore, Committee: []string{"n0", "n1", "n2", "n3"}, Threshold: 3, Recipient: "r"}
	rcpt := he.NewRecipient(preset)
	ct, id, err := preset.EncryptFloatsAtScale(rcpt.PublicKey(), []float64{1}, preset.OutputScale())
	if err != nil {
		f.Fatal(err)
	}
	var switches []he.KeySwitched
	for _, s := range he.KeySwitchFamily([]transport.PartyID{0, 1, 2, 3}, 3, 0) {
		switches = append(switches, he.KeySwitched{Subset: s, Outputs: [][]byte{ct}, OutputIDs: []he.CiphertextID{id}})
	}
	res := he.NewResult([]he.CiphertextID{id}, switches)
	oc := HEOutputCommitment(spec.ID, res)
	f.Add(encodeHECandidate(oc, res))
	f.Add(encodeVerdict(oc, false, "key switches disagree"))
	f.Add(encodeChunks(kindHECandidate, oc, []byte{0, 0, 0, 9, 0, 0, 0, 3}, nil, nil))
	f.Add(encodeStandby())
	f.Add(encodeReform([]transport.PartyID{1, 3}, "member n3 did not deliver"))
	f.Add(encodeChunks(kindHEVerdict, nil, []byte{verdictReform}, nil, []byte{0, 0, 0, 2, 0, 0, 0, 1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, got, err := decodeHECandidate(spec, preset, data); err == nil {
			if string(c) != string(HEOutputCommitment(spec.ID, got)) || len(got.Subset) != spec.Threshold {
				t.Fatal("accepted a candidate that does not match its commitment")
			}
		}
		if v, err := decodeVerdict(data, oc, len(spec.Committee)); err == nil {
			for i, p := range v.exclude {
				if int(p) >= len(spec.Committee) || (i > 0 && p <= v.exclude[i-1]) {
					t.Fatalf("accepted a re-form excluding %v", v.exclude)
				}
			}
		}
		_ = isStandby(data)
	})
}
