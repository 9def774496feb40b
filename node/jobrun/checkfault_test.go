package jobrun

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestFailedCheckFaults: the SS engine's malicious-mode failures become
// mpc-check-failed aborts naming the member the engine identified, and
// nobody when it could not identify one (never an honest member by
// default, as a PartyError for a departed member would).
func TestFailedCheckFaults(t *testing.T) {
	spec := &Spec{ID: "J", Type: AuctionVickrey, Committee: []string{"n0", "n1", "n2", "n3", "n4"}}
	named := fmt.Errorf("jobs: J: %w", &transport.PartyError{Party: 3, Err: &ss.CheckError{Check: "open auction.commitment", Culprit: 3, Group: -1}})
	var fe *FaultError
	if !errors.As(memberFault(spec, named), &fe) || fe.Kind != FaultCheckFailed || len(fe.Parties) != 1 || fe.Parties[0] != "n3" {
		t.Fatalf("identified: want an mpc-check-failed fault naming n3, got %v", memberFault(spec, named))
	}

	for _, err := range []error{
		&ss.CheckError{Check: "mac", Culprit: -1, Group: -1},
		fmt.Errorf("wrapped: %w", &jobs.InputCheckError{Provider: "p1", Err: &ss.CheckError{Check: "dealt inputs", Culprit: -1, Group: 1}}),
	} {
		var fe *FaultError
		if !errors.As(memberFault(spec, err), &fe) || fe.Kind != FaultCheckFailed || len(fe.Parties) != 0 {
			t.Fatalf("%v: want an mpc-check-failed fault naming nobody, got %v", err, memberFault(spec, err))
		}
	}
	if DefaultSSSecurity != ss.Malicious || (CommitteeJob{}).SSSecurity != ss.Malicious {
		t.Fatal("SS jobs must run in malicious mode by default")
	}
}
