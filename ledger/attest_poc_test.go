package ledger

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestPoCChosenCommitteeFramesMember (review s7, C1; a regression test
// now): where any member may create a committee of any members (no
// committees.creators) and a node confirms every committee naming it, two
// colluders (node0, node1, enterprises) create {node0, node1, node3} with
// honest node3 and, for each job node0 submits, both attest a fault of
// node3 — 2 members other than node3, the quorum of n = 3:
//   - default policy (no creators, quorum charging off): node3 is charged
//     nothing, whether they name it member-dropped (never attestable) or
//     the dealer of a non-bit;
//   - charging policy: charging requires committees.creators, here
//     [platform, supervisor], and node0's committee.create is refused
//     (CodeUnauthorized, naming the roles): the colluders cannot compose
//     the committee the attack needs;
//   - charging policy whose creators include the colluders' role
//     (enterprise): the non-bit attestations do charge node3. This is what
//     remains trusted, shown so that it is not mistaken for a guarantee:
//     the members of the creator roles compose committees with an honest
//     majority.
func TestPoCChosenCommitteeFramesMember(t *testing.T) {
	for _, tc := range []struct {
		name     string
		charge   bool
		creators string
		refused  bool // the colluders may not create the committee
	}{
		{"default policy", false, "[]", false},
		{"charging policy", true, "[platform, supervisor]", true},
		{"charging policy trusting enterprises", true, "[enterprise, platform]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := policyChain(t, tc.charge, tc.creators)
			if tc.refused {
				c.refused(t, 0, &ledgerpb.CommitteeCreate{CommitteeId: "evil", Members: []string{"node0", "node1", "node3"}, Threshold: 2},
					CodeUnauthorized, `node0 may not create committees: create a committee: role "enterprise": not permitted by policy (committees.creators: platform, supervisor)`)
				c.refused(t, 1, &ledgerpb.CommitteeCreate{CommitteeId: "evil", Members: []string{"node0", "node1", "node3"}, Threshold: 2},
					CodeUnauthorized, "node1 may not create committees")
				c.refused(t, 0, &ledgerpb.JobSubmit{JobId: "J-evil", Type: "auction-first", Providers: []string{"node0", "node1"},
					CommitteeId: "evil", Recipient: "node0", DeadlineHeight: c.height + 500}, CodeInvalid, "evil")
				return
			}
			chosenCommittee(t, c, "evil", []int{0, 1, 3})
			before := c.scores(t)
			for n := range 3 {
				for _, fault := range []string{FaultMemberDropped, FaultCheckFailed} {
					id := fmt.Sprintf("J-evil-%s-%d", fault, n)
					c.mustOK(t, c.tx(t, 0, &ledgerpb.JobSubmit{JobId: id, Type: "auction-first", Providers: []string{"node0", "node1"},
						CommitteeId: "evil", Recipient: "node0", DeadlineHeight: c.height + 500}))
					c.mustOK(t, c.tx(t, 0, faultAbort(id, fault, "node3")))
					c.mustOK(t, c.tx(t, 1, faultAbort(id, fault, "node3")))
				}
			}
			got := c.moved(before, c.scores(t))
			switch {
			case !tc.charge && len(got) != 0:
				t.Fatalf("default policy: two colluders on a committee they chose moved %v", got)
			case tc.charge && (len(got) != 1 || got["node3"] != 3*ratingAttestedCheat):
				t.Fatalf("charging policy trusting the colluders' role: moved %v, want node3 charged %d for the three non-bit quorums only", got, 3*ratingAttestedCheat)
			}
		})
	}
}

// chosenCommittee has members idx of c run a DKG among themselves and
// create and confirm committee id, as their nodes would.
func chosenCommittee(t *testing.T, c *jobChain, id string, idx []int) {
	t.Helper()
	pubs := make([]committee.LongTermPublicKey, len(idx))
	names := make([]string, len(idx))
	for k, i := range idx {
		pubs[k], names[k] = c.pubs[i], c.ms[i].name
	}
	nw := transport.NewMemoryNetwork()
	shares := make([]*committee.Share, len(idx))
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := nw.Open(context.Background(), "dkg-"+id, transport.PartyID(k), len(idx))
			if err != nil {
				errs[k] = err
				return
			}
			defer conn.Close()
			shares[k], errs[k] = committee.RunDKG(context.Background(), conn, c.dkgKeys[i], pubs, committee.DKGConfig{Threshold: 2})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.mustOK(t, c.tx(t, idx[0], &ledgerpb.CommitteeCreate{CommitteeId: id, Members: names, Threshold: 2}))
	for k, i := range idx {
		key, _ := shares[k].Key.MarshalBinary()
		c.mustOK(t, c.tx(t, i, &ledgerpb.CommitteeConfirm{CommitteeId: id, CommitteeKey: key}))
	}
}
