package ledger

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// FuzzAttestSequence applies sequences of job.aborts to one job — random
// signers (the committee node0…node3 and the requester firm0, off the
// committee), faults (every kind, none, an unknown one), culprits (members,
// provider slots, a slot's bare node, nothing) and heights (some past the
// window) — through checkJobAbort and applyJobAbort, with quorum charging
// on or off, and checks the invariants of ledger/attest.go after the
// sequence:
//
//   - at most one quorum charge per job;
//   - a quorum charge only with charging on, of an attestable fault, of
//     the member its culprit names, once ⌊(n−1)/2⌋+1 members other than
//     that member attested that fault and culprit at or before its height
//     (so never on a member's own attestations);
//   - with charging on, a quorum that was reached was charged;
//   - with charging off, every attestable attestation is marked "policy";
//   - every charge records the move made (node3 starts at rating 10, so a
//     −30 is clamped to −10) and the ratings moved by exactly the charges;
//   - the same sequence gives byte-identical job records and ratings.
func FuzzAttestSequence(f *testing.F) {
	f.Add(true, []byte{0, 6, 3, 1, 1, 6, 3, 1, 2, 6, 3, 1, 3, 6, 3, 1})  // mpc-check-failed node3 by all
	f.Add(false, []byte{0, 6, 3, 1, 1, 6, 3, 1, 2, 6, 3, 1, 3, 6, 3, 1}) // the same, charging off
	f.Add(true, []byte{0, 3, 3, 1, 1, 3, 3, 1, 2, 3, 3, 1})              // member-dropped node3: never charged
	f.Add(true, []byte{4, 2, 4, 1, 1, 2, 4, 2, 2, 2, 4, 3, 0, 2, 4, 0})  // requester first, commitment-mismatch node0/client
	f.Add(true, []byte{0, 6, 3, 1, 1, 6, 2, 1, 2, 6, 2, 1, 3, 6, 3, 1})  // two culprits: one charge
	f.Add(true, []byte{0, 2, 5, 1, 1, 2, 5, 255, 2, 2, 5, 255, 3, 2, 5, 255, 3, 2, 5, 1})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := OpenStore(f.TempDir(), log)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	f.Fuzz(func(t *testing.T, chargeOn bool, steps []byte) {
		if len(steps) > 4*64 {
			return
		}
		job1, rates1 := runAttestSequence(t, store, chargeOn, steps)
		job2, rates2 := runAttestSequence(t, store, chargeOn, steps)
		b1, _ := proto.MarshalOptions{Deterministic: true}.Marshal(job1)
		b2, _ := proto.MarshalOptions{Deterministic: true}.Marshal(job2)
		if !bytes.Equal(b1, b2) || !slices.Equal(rates1, rates2) {
			t.Fatalf("the same sequence gave different results:\n%v %v\n%v %v", job1, rates1, job2, rates2)
		}
		checkAttestInvariants(t, job1, rates1, chargeOn)
	})
}

var (
	seqMembers   = []string{"node0", "node1", "node2", "node3"}
	seqSigners   = append(slices.Clone(seqMembers), "firm0")
	seqProviders = []string{"node0/client", "firm0", "node1"}
	seqFaults    = []string{"", FaultMissingInput, FaultCommitmentMismatch, FaultMemberDropped, FaultRecipient, FaultBadOutput,
		FaultCheckFailed, FaultFalseClaim, FaultBadInput, "made-up"}
	seqCulprits = []string{"node0", "node1", "node2", "node3", "node0/client", "firm0", "", "node0/other"}
	seqStart    = []int64{500, 500, 500, 10, 500} // node3 near 0: charges clamp
)

// runAttestSequence applies steps (4 bytes each: signer, fault, culprit,
// height step) to a fresh job J on a block state over store that is never
// committed, and returns the job and the signers' ratings.
func runAttestSequence(t *testing.T, store *Store, chargeOn bool, steps []byte) (*ledgerpb.Job, []int64) {
	t.Helper()
	b := newBlockState(store)
	for i, name := range seqSigners {
		if err := putRating(b, &ledgerpb.Credit{Member: name, Score: seqStart[i]}); err != nil {
			t.Fatal(err)
		}
	}
	com := &ledgerpb.Committee{Id: "c1", Members: seqMembers, Threshold: 2, Status: CommitteeActive}
	j := &ledgerpb.Job{Id: "J", Type: "auction-first", CommitteeId: "c1", Providers: seqProviders, Requester: "firm0",
		Status: JobRunning, DeadlineHeight: 1 << 40, InputCommitments: make([][]byte, len(seqProviders))}
	if err := putProto(b, keyCommittee("c1"), com); err != nil {
		t.Fatal(err)
	}
	if err := putProto(b, keyJob("J"), j); err != nil {
		t.Fatal(err)
	}
	v := &committedView{chainID: testChain, members: newMemberIndex(),
		policy: &policies.Policy{Credit: policies.Credit{ChargeAttestedFaults: chargeOn}}}
	height := int64(10)
	for len(steps) >= 4 {
		s := steps[:4]
		steps = steps[4:]
		height += int64(s[3] % 128)
		m := &ledgerpb.JobAbort{JobId: "J", Reason: "r", Fault: seqFaults[int(s[1])%len(seqFaults)], Culprit: seqCulprits[int(s[2])%len(seqCulprits)]}
		who := seqSigners[int(s[0])%len(seqSigners)]
		ca, terr := checkJobAbort(who, m, v, b, height)
		if terr != nil {
			continue
		}
		if err := applyJobAbort(b, v, who, ca, m, height); err != nil {
			t.Fatal(err)
		}
	}
	var out ledgerpb.Job
	if _, err := loadProto(b, keyJob("J"), &out); err != nil {
		t.Fatal(err)
	}
	rates := make([]int64, len(seqSigners))
	for i, name := range seqSigners {
		c, err := loadRating(b, name)
		if err != nil {
			t.Fatal(err)
		}
		rates[i] = c.Score
	}
	return &out, rates
}

func checkAttestInvariants(t *testing.T, j *ledgerpb.Job, rates []int64, chargeOn bool) {
	t.Helper()
	quorum := attestQuorum(len(seqMembers))
	// supporters counts the members other than the charged one that
	// attested fault and culprit at or before height.
	supporters := func(fault, culprit string, height int64) int {
		charged := culpritMember(fault, culprit)
		var n int
		for _, a := range j.Attestations {
			if a.Fault == fault && a.Culprit == culprit && a.Member != charged && a.Height <= height {
				n++
			}
		}
		return n
	}
	var quorumCharges int
	moved := map[string]int64{}
	for _, ch := range j.Charges {
		moved[ch.Member] += ch.Delta
		fault, ok := strings.CutPrefix(ch.Cause, causeAttested)
		if !ok {
			t.Fatalf("a charge of cause %q from attestations without proofs", ch.Cause)
		}
		quorumCharges++
		switch {
		case !chargeOn:
			t.Fatalf("charged with quorum charging off: %v", ch)
		case !AttestableFault(fault):
			t.Fatalf("charged a fault that is not attestable: %v", ch)
		case ch.Member != culpritMember(fault, ch.Culprit):
			t.Fatalf("charged %s for culprit %s", ch.Member, ch.Culprit)
		case supporters(fault, ch.Culprit, ch.Height) < quorum:
			t.Fatalf("charged below the quorum: %v in %v", ch, j.Attestations)
		}
		rule, _ := faultRuleOf(fault)
		if ch.Delta > 0 || ch.Delta < rule.rating {
			t.Fatalf("charge delta %d outside [%d, 0]", ch.Delta, rule.rating)
		}
	}
	if quorumCharges > 1 {
		t.Fatalf("%d quorum charges in one job: %v", quorumCharges, j.Charges)
	}
	seen := map[string]bool{}
	for _, a := range j.Attestations {
		if seen[a.Member] || !slices.Contains(seqMembers, a.Member) {
			t.Fatalf("attestation by %s taken (twice, or off the committee)", a.Member)
		}
		seen[a.Member] = true
		attestable := AttestableFault(a.Fault)
		if want := attestable && !chargeOn; (a.NotCharged == notChargedPolicy) != want {
			t.Fatalf("attestation %v: not_charged %q with charging %v", a, a.NotCharged, chargeOn)
		}
		if chargeOn && attestable && quorumCharges == 0 && supporters(a.Fault, a.Culprit, 1<<62) >= quorum {
			t.Fatalf("a quorum for %s %s was reached and charged nobody: %v", a.Fault, a.Culprit, j.Attestations)
		}
	}
	for i, name := range seqSigners {
		if rates[i]-seqStart[i] != moved[name] {
			t.Fatalf("%s moved %d, its charges say %d", name, rates[i]-seqStart[i], moved[name])
		}
	}
}

// TestAttestSequenceCharges pins what FuzzAttestSequence's first seeds do,
// so that its invariants are not checked on sequences that charge nothing:
// all four members name node3 the dealer of a non-bit; node3 is charged
// once, by the first two others' attestations, the −30 clamped to the −10
// its rating of 10 had (review s7, L3); with charging off, nothing.
func TestAttestSequenceCharges(t *testing.T) {
	store, err := OpenStore(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	steps := []byte{0, 6, 3, 1, 1, 6, 3, 1, 2, 6, 3, 1, 3, 6, 3, 1}
	j, rates := runAttestSequence(t, store, true, steps)
	if len(j.Charges) != 1 || j.Charges[0].Member != "node3" || j.Charges[0].Delta != -10 || j.Charges[0].Attesters != 2 || rates[3] != 0 {
		t.Fatalf("charges %v, node3 at %d", j.Charges, rates[3])
	}
	if j, rates := runAttestSequence(t, store, false, steps); len(j.Charges) != 0 || rates[3] != 10 {
		t.Fatalf("charging off: charges %v, node3 at %d", j.Charges, rates[3])
	}
}
