package ledger

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// TestCommitteeCreators: under a policy with committees.creators:
// [platform], committee.create is refused (CodeUnauthorized, naming the
// listed roles, in CheckTx and FinalizeBlock alike, state unchanged) for
// members of other roles — enterprises with or without a node, the
// supervisor — and accepted from the platform (node2 created c1 when the
// chain started; it creates c2 here). Without creators any member may
// create one, as before the key existed (TestCommitteeValidation and the
// other tests create theirs from node2 under no policy or the default).
func TestCommitteeCreators(t *testing.T) {
	c := policyChain(t, false, "[platform]")
	four := []string{"node0", "node1", "node2", "node3"}
	for _, tc := range []struct {
		member int
		want   string
	}{
		{0, `node0 may not create committees: create a committee: role "enterprise": not permitted by policy (committees.creators: platform)`},
		{3, `node3 may not create committees: create a committee: role "supervisor": not permitted by policy (committees.creators: platform)`},
		{4, `firm0 may not create committees: create a committee: role "enterprise"`},
	} {
		c.refused(t, tc.member, &ledgerpb.CommitteeCreate{CommitteeId: "c2", Members: four, Threshold: 2}, CodeUnauthorized, tc.want)
	}
	if com := c.committee(t, "c1"); com.Creator != "node2" || com.Status != CommitteeActive {
		t.Fatalf("c1: %+v", com)
	}
	c.mustOK(t, c.tx(t, 2, &ledgerpb.CommitteeCreate{CommitteeId: "c2", Members: four, Threshold: 2}))
	if com := c.committee(t, "c2"); com.Creator != "node2" || com.Status != CommitteePending {
		t.Fatalf("c2: %+v", com)
	}
}

func (c *jobChain) committee(t *testing.T, id string) *ledgerpb.Committee {
	t.Helper()
	var com ledgerpb.Committee
	if found, err := loadProto(committedReader{c.app.store}, keyCommittee(id), &com); err != nil || !found {
		t.Fatalf("committee %s: found %v, %v", id, found, err)
	}
	return &com
}

// TestQuorumChargesOnlyTrustedCreatorsCommittees: a quorum charges only on
// a committee whose creator's role the policy in force lists in
// committees.creators. Under a charging policy with creators [platform,
// supervisor], c1 (created by the platform, node2) is charged on
// (TestAttestedCulpritCharged); once a policy update narrows creators to
// [supervisor], the same quorum on c1 — node0 and node1 naming node3 the
// dealer of a non-bit — is recorded, marked not charged by policy, and
// moves nobody: a committee composed by a role the alliance no longer
// trusts to compose committees (or composed before it named any) cannot
// charge.
func TestQuorumChargesOnlyTrustedCreatorsCommittees(t *testing.T) {
	c := chargingChain(t, true)
	next := strings.Replace(chargingPolicy(t, true, "[supervisor]"), "revision: 1", "revision: 2", 1)
	np, err := policies.Parse([]byte(next))
	if err != nil {
		t.Fatal(err)
	}
	c.mustOK(t, c.tx(t, 3, &ledgerpb.PolicyUpdate{PolicyYaml: []byte(next), Approvals: []*ledgerpb.PolicyApproval{
		{Supervisor: "node3", Signature: ed25519.Sign(c.ms[3].key, np.ApprovalMessage(testChain))}}}))
	for c.height%DefaultParams().EpochLength != 0 {
		c.block(t) // the update takes effect; no decay within the window below
	}
	if p := c.app.committed.Load().policy; p.Revision != 2 || !p.Credit.ChargeAttestedFaults {
		t.Fatalf("policy after the update: revision %d, charging %v", p.Revision, p.Credit.ChargeAttestedFaults)
	}
	c.refused(t, 2, &ledgerpb.CommitteeCreate{CommitteeId: "c2", Members: []string{"node0", "node1", "node3"}, Threshold: 2},
		CodeUnauthorized, `node2 may not create committees: create a committee: role "platform"`)

	c.submitJob(t, 2, "J-untrusted")
	before := c.scores(t)
	c.mustOK(t, c.tx(t, 0, faultAbort("J-untrusted", FaultCheckFailed, "node3")))
	c.mustOK(t, c.tx(t, 1, faultAbort("J-untrusted", FaultCheckFailed, "node3")))
	if got := c.moved(before, c.scores(t)); len(got) != 0 {
		t.Fatalf("a quorum on a committee an untrusted role composed moved %v", got)
	}
	j := c.job(t, "J-untrusted")
	if len(j.Charges) != 0 || len(j.Attestations) != 2 {
		t.Fatalf("job: charges %v, attestations %v", j.Charges, j.Attestations)
	}
	for _, a := range j.Attestations {
		if a.NotCharged != notChargedPolicy {
			t.Fatalf("attestation %+v not marked not charged by policy", a)
		}
	}
}
