package jobrun_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/mpc/transport"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
)

// dropTo is a provider's connection that never delivers to one party.
type dropTo struct {
	transport.Conn
	victim transport.PartyID
	held   *[]transport.Conn
}

func (c dropTo) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	if to == c.victim {
		return nil // swallowed: the provider "sent" it
	}
	return c.Conn.Send(ctx, to, r, p)
}

// Close keeps the provider in the session (a malicious provider need not
// leave, and stays silent towards the victim); held closes it at the end.
func (c dropTo) Close() error {
	*c.held = append(*c.held, c.Conn)
	return nil
}

type dropNet struct {
	transport.Network
	ioID   string
	victim transport.PartyID
	held   *[]transport.Conn
}

func (n dropNet) Open(ctx context.Context, id string, self transport.PartyID, size int) (transport.Conn, error) {
	c, err := n.Network.Open(ctx, id, self, size)
	if err != nil || id != n.ioID {
		return c, err
	}
	return dropTo{Conn: c, victim: n.victim, held: n.held}, nil
}

// TestPoCProviderFramesHonestMember (review s7, C2; a regression test now):
// one malicious provider (no committee member colludes) sends its SS input
// to every member but one. The members that got every input reach
// agreeInputs after a moment and wait StepTimeout for the victim's status;
// the victim is still waiting InputTimeout for the input. They time out on
// the victim and name it member-dropped — which the ledger records and
// never charges (ledger/attest.go: a timeout third parties steer). The
// test checks that no honest member attests the victim with a fault the
// ledger charges on a quorum (ledger.AttestableFault), so no quorum of
// them can charge it under any policy.
func TestPoCProviderFramesHonestMember(t *testing.T) {
	c := clusterFor(t, AuctionFirst)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	spec, inputs, _, err := SampleJob(AuctionFirst, sizeFor(AuctionFirst), c.Members, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	bad := spec.Providers[2]
	victim := spec.Committee[1]
	if slices.Contains(spec.Committee, bad) || bad == spec.Recipient {
		t.Fatalf("provider %s has another role", bad)
	}
	parties, err := SessionParties(spec, SessionIO)
	if err != nil {
		t.Fatal(err)
	}
	vi := transport.PartyID(slices.Index(parties, victim))
	ioID := SessionID(spec.ID, 0, SessionIO)
	base := c.Network
	var held []transport.Conn
	defer func() {
		for _, h := range held {
			h.Close()
		}
	}()
	c.NetworkOf = func(p string) transport.Network {
		if p == bad {
			return dropNet{Network: base, ioID: ioID, victim: vi, held: &held}
		}
		return base
	}
	defer func() { c.NetworkOf = nil }()
	rep, err := c.Run(ctx, spec, inputs, RunOptions{InputTimeout: 20 * time.Second, StepTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	framers, drops := 0, 0
	for _, m := range c.Members {
		var fe *FaultError
		err := rep.MemberErrs[m]
		kind, culprit := FaultKind(""), ""
		if ok := asFault(err, &fe); ok {
			kind, culprit = fe.Attested()
		}
		t.Logf("member %s attests (%q, %q): %v", m, kind, culprit, err)
		if m != victim && culprit == victim {
			if ledger.AttestableFault(string(kind)) {
				framers++
			}
			if kind == FaultMemberDropped {
				drops++
			}
		}
	}
	t.Logf("%d members attest member-dropped %s (recorded, never charged)", drops, victim)
	if framers > 0 {
		t.Fatalf("%d honest members attest %s with a fault the ledger charges on a quorum; the faulty provider %s is not named", framers, victim, bad)
	}
}

func asFault(err error, fe **FaultError) bool {
	return errors.As(err, fe)
}
