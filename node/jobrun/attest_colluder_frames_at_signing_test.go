package jobrun_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/mpc/transport"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
)

// roundSignPoC is jobrun's roundSign (committee.go).
const roundSignPoC = transport.Round((1<<40-1)<<16) + 2

// colluderConn is a corrupted member's committee connection: it records
// (pass 1) or delays (pass 2) its last message to the victim before the
// signing round, and never sends its own partial signature.
type colluderConn struct {
	transport.Conn
	victim transport.PartyID
	mu     *sync.Mutex
	last   *transport.Round // pass 1: last round sent to the victim before signing
	delay  transport.Round  // pass 2: the round to deliver late
	d      time.Duration
}

func (c colluderConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	if r == roundSignPoC {
		if c.last == nil {
			return nil // silent at signing
		}
		return c.Conn.Send(ctx, to, r, p)
	}
	if to == c.victim {
		if c.last != nil {
			c.mu.Lock()
			*c.last = r
			c.mu.Unlock()
		} else if r == c.delay {
			p = append([]byte(nil), p...)
			go func() {
				time.Sleep(c.d)
				_ = c.Conn.Send(context.Background(), to, r, p)
			}()
			return nil
		}
	}
	return c.Conn.Send(ctx, to, r, p)
}

func (c colluderConn) SendOwned(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	return c.Send(ctx, to, r, p)
}

type colluderNet struct {
	transport.Network
	mpcIDs []string
	cc     colluderConn
}

func (n colluderNet) Open(ctx context.Context, id string, self transport.PartyID, size int) (transport.Conn, error) {
	c, err := n.Network.Open(ctx, id, self, size)
	if err != nil {
		return c, err
	}
	for _, m := range n.mpcIDs {
		if id == m {
			cc := n.cc
			cc.Conn = c
			return cc, nil
		}
	}
	return c, nil
}

// TestPoCColluderFramesMemberAtSigning (review s7, H1; a regression test
// now): one corrupted member (n3 of 4, t = 1) withholds its last MPC
// message to honest n0 (it would deliver it 8 s late) and its own partial
// signature, and leaves once it has its T = 3 partials. n0 fails the
// opening and aborts naming n3 (rightly), leaving with an abort notice. n1
// and n2, in committee.SignRound, have 2 of 3 partials and see n0 and n3
// gone: SignRound reads no abort notice and names both; the abort names the
// first in sorted order, n0. They attest member-dropped n0, which the
// ledger records and never charges (ledger/attest.go). The test checks that
// no honest member attests n0 with a fault the ledger charges on a quorum
// (ledger.AttestableFault): with the colluder's own attestation, one such
// honest attestation would reach the quorum 2 of n = 4.
func TestPoCColluderFramesMemberAtSigning(t *testing.T) {
	c := clusterFor(t, AuctionFirst)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	spec, inputs, _, err := SampleJob(AuctionFirst, sizeFor(AuctionFirst), c.Members, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	victim, colluder := spec.Committee[0], spec.Committee[3]
	if spec.Recipient == colluder || spec.Recipient == victim {
		t.Skip("recipient on the committee; pick other members")
	}
	var mu sync.Mutex
	var last transport.Round
	base := c.Network
	defer func() { c.NetworkOf = nil }()
	netFor := func(cc colluderConn) func(string) transport.Network {
		return func(p string) transport.Network {
			if p != colluder {
				return base
			}
			return colluderNet{Network: base, mpcIDs: []string{SessionID(spec.ID, 0, SessionMPC), SessionID(spec.ID, 1, SessionMPC)}, cc: cc}
		}
	}
	// Pass 1: an honest run, recording the colluder's last round to n0.
	c.NetworkOf = netFor(colluderConn{victim: 0, mu: &mu, last: &last})
	if _, err := c.Run(ctx, spec, inputs, RunOptions{StepTimeout: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if last == 0 {
		t.Fatal("no MPC message recorded")
	}
	// Pass 2: that message 8 s late, no partial signature from n3.
	c.NetworkOf = netFor(colluderConn{victim: 0, mu: &mu, delay: last, d: 8 * time.Second})
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Attempt: 1, StepTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	framers := 0
	for _, m := range c.Members {
		var fe *FaultError
		kind, culprit := FaultKind(""), ""
		if errors.As(rep.MemberErrs[m], &fe) {
			kind, culprit = fe.Attested()
		}
		t.Logf("member %s attests (%q, %q): %v", m, kind, culprit, rep.MemberErrs[m])
		if m != victim && m != colluder && culprit == victim && ledger.AttestableFault(string(kind)) {
			framers++
		}
	}
	if framers > 0 {
		t.Fatalf("%d honest member(s) attest %s with a fault the ledger charges on a quorum; with the colluder's own attestation that is %d ≥ quorum %d: an honest member is charged (%s)",
			framers, victim, framers+1, (len(spec.Committee)-1)/2+1, strings.Join(spec.Committee, ","))
	}
}
