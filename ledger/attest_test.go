package ledger

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// attestChain is a job chain with no policy (so quorum charging is off),
// a replica (every block's AppHash is checked against it) and a member
// without a node, firm0 (member 4), which is on no committee. Committee c1
// is node0 … node3: n = 4, quorum 2. The chain starts a new epoch, so that
// no decay moves a rating in the test's next blocks.
func attestChain(t *testing.T) *jobChain {
	return attestChainWith(t, nil)
}

// chargingChain is attestChain under the default policy with firm0 added
// and credit.charge_attested_faults set to charge (the policy that enables
// quorum charging, or states its default). Charging requires
// committees.creators, so a charging chain lets the platform (node2, which
// creates c1, as `cohort demo` does) and the supervisor create committees.
func chargingChain(t *testing.T, charge bool) *jobChain {
	creators := "[]"
	if charge {
		creators = "[platform, supervisor]"
	}
	return policyChain(t, charge, creators)
}

// policyChain is attestChain under the default policy with firm0 added,
// credit.charge_attested_faults set to charge and committees.creators set
// to creators (a YAML flow list).
func policyChain(t *testing.T, charge bool, creators string) *jobChain {
	t.Helper()
	return attestChainWith(t, []byte(chargingPolicy(t, charge, creators)))
}

// chargingPolicy is policyChain's policy.
func chargingPolicy(t *testing.T, charge bool, creators string) string {
	t.Helper()
	y := string(policies.DefaultYAML())
	for _, r := range [][2]string{
		{"  node3: supervisor", "  node3: supervisor\n  firm0: enterprise"},
		{"  charge_attested_faults: false", fmt.Sprintf("  charge_attested_faults: %v", charge)},
		{"  creators: []", "  creators: " + creators},
	} {
		if !strings.Contains(y, r[0]) {
			t.Fatalf("default policy has no %q", r[0])
		}
		y = strings.Replace(y, r[0], r[1], 1)
	}
	return y
}

func attestChainWith(t *testing.T, policy []byte) *jobChain {
	c := newJobChainNodeless(t, 1, policy, "firm0")
	// The epoch's decay would move ratings within the window.
	for c.height%DefaultParams().EpochLength != 0 {
		c.block(t)
	}
	return c
}

// submitJob has member req submit job id on committee c1.
func (c *jobChain) submitJob(t *testing.T, req int, id string) {
	t.Helper()
	c.mustOK(t, c.tx(t, req, &ledgerpb.JobSubmit{JobId: id, Type: "auction-first", Providers: []string{"node0", "node1"},
		CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 500}))
}

func faultAbort(id, fault, culprit string) *ledgerpb.JobAbort {
	return &ledgerpb.JobAbort{JobId: id, Reason: fault + ": " + culprit, Fault: fault, Culprit: culprit}
}

// moved returns the members whose rating moved between two score lists,
// with the move.
func (c *jobChain) moved(before, after []int64) map[string]int64 {
	out := map[string]int64{}
	for i := range before {
		if after[i] != before[i] {
			out[c.ms[i].name] = after[i] - before[i]
		}
	}
	return out
}

// TestAttestedCulpritCharged: under a policy that enables quorum charging,
// the first committee abort and the later ones (attestations) naming node3
// the dealer of a non-bit charge node3 once, when two members other than
// node3 have attested it: not on the first alone, not on node3's own, once
// however many attest after. The job keeps the first abort's reason; a
// member's second abort is refused as finished; node3's rating history
// says why.
func TestAttestedCulpritCharged(t *testing.T) {
	c := chargingChain(t, true)
	c.submitJob(t, 2, "J-cheat")
	before := c.scores(t)

	c.mustOK(t, c.tx(t, 0, faultAbort("J-cheat", FaultCheckFailed, "node3")))
	j := c.job(t, "J-cheat")
	if j.Status != JobAborted || j.Culprit != "node3" || len(j.Attestations) != 1 || !j.Attestations[0].First || len(j.Charges) != 0 {
		t.Fatalf("after the first abort: %+v", j)
	}
	reason := j.AbortReason
	c.mustOK(t, c.tx(t, 3, faultAbort("J-cheat", FaultCheckFailed, "node3"))) // the culprit's own: not counted
	if got := c.moved(before, c.scores(t)); len(got) != 0 {
		t.Fatalf("charged one short of the quorum: %v", got)
	}
	c.mustOK(t, c.tx(t, 1, faultAbort("J-cheat", FaultCheckFailed, "node3")))
	if got := c.moved(before, c.scores(t)); len(got) != 1 || got["node3"] != ratingAttestedCheat {
		t.Fatalf("at the quorum: moved %v, want node3 %d", got, ratingAttestedCheat)
	}
	c.mustOK(t, c.tx(t, 2, faultAbort("J-cheat", FaultCheckFailed, "node3")))
	c.refused(t, 2, faultAbort("J-cheat", FaultCheckFailed, "node3"), CodeJobFinished, "node2 has attested it already")
	if got := c.moved(before, c.scores(t)); len(got) != 1 || got["node3"] != ratingAttestedCheat {
		t.Fatalf("charged again: %v", got)
	}
	j = c.job(t, "J-cheat")
	var members []string
	for _, a := range j.Attestations {
		members = append(members, a.Member)
		if a.NotCharged != "" {
			t.Fatalf("attestation marked not charged under a charging policy: %+v", a)
		}
	}
	if j.Status != JobAborted || j.AbortReason != reason || !slices.Equal(members, []string{"node0", "node3", "node1", "node2"}) {
		t.Fatalf("attested job: %s %q, attestations by %v", j.Status, j.AbortReason, members)
	}
	if len(j.Charges) != 1 || j.Charges[0].Member != "node3" || j.Charges[0].Cause != "attested:mpc-check-failed" || j.Charges[0].Attesters != 2 {
		t.Fatalf("charges: %v", j.Charges)
	}
	hist := creditOf(t, c.app, "node3").History
	if last := hist[len(hist)-1]; last.Reason != "attested by 2 of 4 committee members: mpc-check-failed in job J-cheat" || last.Delta != ratingAttestedCheat {
		t.Fatalf("node3's history: %+v", last)
	}
}

// attestAll has every committee member of c1 abort job id with the same
// fault and culprit, node0's first.
func (c *jobChain) attestAll(t *testing.T, id, fault, culprit string) {
	t.Helper()
	for m := range 4 {
		c.mustOK(t, c.tx(t, m, faultAbort(id, fault, culprit)))
	}
}

// TestAttestedFaultsNotChargedByPolicy: with quorum charging off — no
// policy, or a policy that does not enable credit.charge_attested_faults
// (the default) — the same attestations that charge under a charging
// policy (every member naming node3 the dealer of a non-bit, or firm0's
// input not opening its commitment) are recorded and charge nobody; each
// attestable one is marked not charged by policy.
func TestAttestedFaultsNotChargedByPolicy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chain func(*testing.T) *jobChain
	}{
		{"no policy", attestChain},
		{"default policy", func(t *testing.T) *jobChain { return chargingChain(t, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.chain(t)
			before := c.scores(t)
			c.submitJob(t, 2, "J-cheat")
			c.attestAll(t, "J-cheat", FaultCheckFailed, "node3")
			c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "J-bad", Type: "auction-first", Providers: []string{"node0", "firm0"},
				CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 500}))
			c.attestAll(t, "J-bad", FaultCommitmentMismatch, "firm0")
			if got := c.moved(before, c.scores(t)); len(got) != 0 {
				t.Fatalf("charged with quorum charging off: %v", got)
			}
			for _, id := range []string{"J-cheat", "J-bad"} {
				j := c.job(t, id)
				if len(j.Attestations) != 4 || len(j.Charges) != 0 {
					t.Fatalf("%s: %d attestations, charges %v", id, len(j.Attestations), j.Charges)
				}
				for _, a := range j.Attestations {
					if a.NotCharged != "policy" {
						t.Fatalf("%s: attestation not marked not charged by policy: %+v", id, a)
					}
				}
			}
		})
	}
}

// TestTimeoutsNeverCharged: member-dropped and missing-input are timeouts,
// which third parties can steer: recorded (culprit of its sort checked),
// never charged, even unanimously and under a charging policy.
func TestTimeoutsNeverCharged(t *testing.T) {
	c := chargingChain(t, true)
	before := c.scores(t)
	c.submitJob(t, 2, "J-drop")
	c.attestAll(t, "J-drop", FaultMemberDropped, "node3")
	c.submitJob(t, 2, "J-miss")
	c.attestAll(t, "J-miss", FaultMissingInput, "node1")
	c.submitJob(t, 2, "J-sort")
	c.refused(t, 0, faultAbort("J-sort", FaultMemberDropped, "firm0"), CodeInvalid, "names a member of committee c1")
	c.refused(t, 0, faultAbort("J-sort", FaultMissingInput, "node3"), CodeInvalid, "names a provider slot of the job")
	if got := c.moved(before, c.scores(t)); len(got) != 0 {
		t.Fatalf("a timeout charged: %v", got)
	}
	for _, id := range []string{"J-drop", "J-miss"} {
		if j := c.job(t, id); len(j.Attestations) != 4 || len(j.Charges) != 0 || j.Attestations[0].NotCharged != "" {
			t.Fatalf("%s: attestations %v, charges %v", id, j.Attestations, j.Charges)
		}
	}
}

// TestDeadlineChargeOnJob: a provider with no input at the deadline is
// charged once (recorded on the job, cause "deadline"), and a later quorum
// of attestations naming the same node's slot does not charge it again in
// that job.
func TestDeadlineChargeOnJob(t *testing.T) {
	c := chargingChain(t, true)
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "J-late", Type: "auction-first", Providers: []string{"node0", "node1"},
		CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 3}))
	before := c.scores(t)
	for c.job(t, "J-late").Status != JobAborted {
		c.block(t)
	}
	j := c.job(t, "J-late")
	if len(j.Charges) != 2 || j.Charges[0].Cause != causeDeadline || j.Charges[0].Member != "node0" || j.Charges[1].Member != "node1" ||
		j.Charges[0].Delta != ratingJobTimeout {
		t.Fatalf("deadline charges: %v", j.Charges)
	}
	c.attestAll(t, "J-late", FaultCommitmentMismatch, "node1")
	after := c.scores(t)
	if got := c.moved(before, after); len(got) != 2 || got["node0"] != ratingJobTimeout || got["node1"] != ratingJobTimeout {
		t.Fatalf("moved %v, want node0 and node1 %d once", got, ratingJobTimeout)
	}
	if j := c.job(t, "J-late"); len(j.Charges) != 2 {
		t.Fatalf("charged again after the deadline: %v", j.Charges)
	}
}

// TestAttestationsThatDoNotCharge: the requester's abort (off the
// committee) is no attestation; faults the ledger does not take from a
// quorum (bad-output) and attestations that disagree on the fault charge
// nobody; an unknown fault or a culprit of the wrong sort is refused; an
// attestation is taken up to attestWindowBlocks after the abort, not after.
func TestAttestationsThatDoNotCharge(t *testing.T) {
	c := chargingChain(t, true)
	const firm = 4
	before := c.scores(t)

	c.submitJob(t, firm, "J-req")
	c.mustOK(t, c.tx(t, firm, faultAbort("J-req", FaultMemberDropped, "node3")))
	if j := c.job(t, "J-req"); j.Status != JobAborted || len(j.Attestations) != 0 {
		t.Fatalf("the requester's abort: %+v", j)
	}
	c.mustOK(t, c.tx(t, 0, faultAbort("J-req", FaultMemberDropped, "node3")))
	c.refused(t, firm, faultAbort("J-req", FaultMemberDropped, "node3"), CodeJobFinished, `job "J-req" is aborted`)

	c.submitJob(t, 2, "J-out")
	for _, m := range []int{0, 1, 3} {
		c.mustOK(t, c.tx(t, m, faultAbort("J-out", FaultBadOutput, "node2")))
	}
	c.submitJob(t, 2, "J-mixed")
	c.mustOK(t, c.tx(t, 0, faultAbort("J-mixed", FaultMemberDropped, "node3")))
	c.mustOK(t, c.tx(t, 1, faultAbort("J-mixed", FaultCheckFailed, "node3")))
	c.mustOK(t, c.tx(t, 2, faultAbort("J-mixed", FaultMemberDropped, "node2")))
	c.mustOK(t, c.tx(t, 3, &ledgerpb.JobAbort{JobId: "J-mixed", Reason: "mpc-check-failed: ", Culprit: "node3"}))
	for _, tc := range []struct {
		m    *ledgerpb.JobAbort
		want string
	}{
		{faultAbort("J-out", "made-up", "node3"), "unknown fault"},
		{faultAbort("J-out", FaultMemberDropped, "firm0"), "names a member of committee c1"},
		{faultAbort("J-out", FaultCheckFailed, ""), "names a member of committee c1"},
		{faultAbort("J-out", FaultCommitmentMismatch, "node3"), "names a provider slot of the job"},
	} {
		c.refused(t, 2, tc.m, CodeInvalid, tc.want)
	}
	if got := c.moved(before, c.scores(t)); len(got) != 0 {
		t.Fatalf("charged without a quorum of one attestable fault: %v", got)
	}

	// The window: node1's attestation at the last height it is open
	// completes the quorum; node2's a block later is refused.
	c.submitJob(t, 2, "J-win")
	c.mustOK(t, c.tx(t, 0, faultAbort("J-win", FaultCommitmentMismatch, "node1")))
	end := c.job(t, "J-win").FinishedHeight + attestWindowBlocks
	for c.height < end-1 {
		c.block(t)
	}
	c.mustOK(t, c.tx(t, 3, faultAbort("J-win", FaultCommitmentMismatch, "node1")))
	c.refused(t, 2, faultAbort("J-win", FaultCommitmentMismatch, "node1"), CodeJobFinished, fmt.Sprintf("attestations closed at %d", end))
	j := c.job(t, "J-win")
	if len(j.Charges) != 1 || j.Charges[0].Member != "node1" || j.Charges[0].Delta != ratingAttestedBadInput {
		t.Fatalf("J-win charges: %v", j.Charges)
	}
}

// TestLateSealedEvidence: a proof-less first abort does not spare a proven
// provider: members' later attestations carry their sealed-share proofs,
// the ledger checks them as it checks a first abort's and charges whom they
// convict, once per convicted member (two proofs against firm0 charge it
// once), and a liar's proof charges the liar in the same job. A proof that
// does not verify is refused. The sealed inputs stay in state until the
// window closes, then go.
func TestLateSealedEvidence(t *testing.T) {
	c := attestChain(t)
	// node1's share does not open, node2's opens to garbage, node0's and
	// node3's are good.
	shares := c.sealedJob(t, "J-late", func(k int, msg []byte) []byte {
		if k == 2 {
			return bytes.Repeat([]byte("x"), len(msg)) // no share message, of the right size
		}
		return nil
	}, 1)
	before := c.scores(t)
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobAbort{JobId: "J-late", Reason: "somebody says so"})) // the requester, a member, no proof
	if got := c.moved(before, c.scores(t)); len(got) != 0 {
		t.Fatalf("a proof-less abort charged %v", got)
	}
	madeUp := opening(t, "J-late", 1, shares[1])
	madeUp.Point = testSealingKey("someone")
	c.refused(t, 1, &ledgerpb.JobAbort{JobId: "J-late", Reason: "bad-input: firm0", SealedOpening: madeUp}, CodeInvalid, "does not verify")

	c.mustOK(t, c.tx(t, 1, &ledgerpb.JobAbort{JobId: "J-late", Reason: "bad-input: firm0", SealedOpening: opening(t, "J-late", 1, shares[1])}))
	if got := c.moved(before, c.scores(t)); len(got) != 1 || got["firm0"] != ratingBadSealedInput {
		t.Fatalf("a late proof: moved %v, want firm0 %d", got, ratingBadSealedInput)
	}
	// node0 proves a share that opens well formed: it lied.
	c.mustOK(t, c.tx(t, 0, &ledgerpb.JobAbort{JobId: "J-late", Reason: "bad-input: firm0", SealedOpening: opening(t, "J-late", 0, shares[0])}))
	// node3 posts node2's proof of a malformed share: firm0 again.
	c.mustOK(t, c.tx(t, 3, &ledgerpb.JobAbort{JobId: "J-late", Reason: "bad-input: firm0", SealedOpening: opening(t, "J-late", 2, shares[2])}))
	after := c.scores(t)
	if got := c.moved(before, after); len(got) != 2 || got["firm0"] != ratingBadSealedInput || got["node0"] != ratingFalseSealedClaim {
		t.Fatalf("moved %v, want firm0 %d and node0 %d", got, ratingBadSealedInput, ratingFalseSealedClaim)
	}
	j := c.job(t, "J-late")
	var convicted []string
	for _, a := range j.Attestations {
		convicted = append(convicted, a.Convicted)
	}
	if !slices.Equal(convicted, []string{"", "firm0", "node0", "firm0"}) || len(j.Charges) != 2 ||
		j.Charges[0].Cause != causeSealed || j.Charges[0].Member != "firm0" || j.Charges[1].Member != "node0" {
		t.Fatalf("J-late: convicted %v, charges %v", convicted, j.Charges)
	}
	if j.Culprit != "" || !strings.Contains(j.AbortReason, "somebody says so") {
		t.Fatalf("the first abort's record changed: %q %q", j.Culprit, j.AbortReason)
	}
	if s, err := c.app.SealedInput("J-late", 1); err != nil || s == nil {
		t.Fatalf("sealed input pruned within the window: %v", err)
	}
	for c.height <= j.FinishedHeight+attestWindowBlocks {
		c.block(t)
	}
	if s, err := c.app.SealedInput("J-late", 1); err != nil || s != nil {
		t.Fatalf("sealed input kept after the window: %d shares, %v", len(s), err)
	}
	if raw, _ := c.app.store.get(keySealedPrune(j.FinishedHeight+attestWindowBlocks, "J-late")); raw != nil {
		t.Fatal("the prune index outlives the prune")
	}
}

// TestAttestedSlotChargesItsNode: a provider slot "node/label" whose input
// does not open its commitment charges its node; that node's own
// attestation (it sits on the committee) does not count.
func TestAttestedSlotChargesItsNode(t *testing.T) {
	c := chargingChain(t, true)
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "J-slot", Type: "auction-first", Providers: []string{"node0/client", "node1"},
		CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 500}))
	before := c.scores(t)
	c.mustOK(t, c.tx(t, 1, faultAbort("J-slot", FaultCommitmentMismatch, "node0/client")))
	c.mustOK(t, c.tx(t, 0, faultAbort("J-slot", FaultCommitmentMismatch, "node0/client")))
	if got := c.moved(before, c.scores(t)); len(got) != 0 {
		t.Fatalf("charged on one attestation and the culprit's own: %v", got)
	}
	c.refused(t, 2, faultAbort("J-slot", FaultCommitmentMismatch, "node0"), CodeInvalid, "names a provider slot of the job")
	c.mustOK(t, c.tx(t, 2, faultAbort("J-slot", FaultCommitmentMismatch, "node0/client")))
	if got := c.moved(before, c.scores(t)); len(got) != 1 || got["node0"] != ratingAttestedBadInput {
		t.Fatalf("moved %v, want node0 %d", got, ratingAttestedBadInput)
	}
	hist := creditOf(t, c.app, "node0").History
	if last := hist[len(hist)-1]; last.Reason != "attested by 2 of 4 committee members: commitment-mismatch (node0/client) in job J-slot" {
		t.Fatalf("node0's history: %+v", last)
	}
	if j := c.job(t, "J-slot"); len(j.Charges) != 1 || j.Charges[0].Member != "node0" || j.Charges[0].Culprit != "node0/client" {
		t.Fatalf("charges %v", j.Charges)
	}
}
