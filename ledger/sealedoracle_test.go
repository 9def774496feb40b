package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// TestSealedOpeningOracleRefused is the regression test of the review's
// opening oracle (C1). Nodeless firm1 copies the ephemeral key R of honest
// firm0's sealed share to member k (public, on chain) into its own "sealed
// share" to k in another job, with bytes of its own after it. Before the
// sender's proof of knowledge, the ledger took that input; k, unable to
// open it, proved so, and the abort published S = x_k·R, which opens
// firm0's share for anyone (two jobs: t+1 shares, firm0's bid). Now the
// ledger refuses such an input (CodeInvalid, publicly invalid: no PoK of R
// bound to this job, slot and member), and k's node would refuse to prove
// it anyway (ErrInvalid, no S).
func TestSealedOpeningOracleRefused(t *testing.T) {
	c := newJobChainNodeless(t, 0, nil, "firm0", "firm1")
	const attacker = 5
	victim := c.sealedJob(t, "J-victim", nil) // firm0 bids 800, sealed, honest

	const id, k = "J-atk", 1
	member := fmt.Sprintf("node%d", k)
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: id, Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`),
		Providers: []string{"node0", "firm1"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}))
	c.mustOK(t, c.tx(t, 0, c.bid(t, id, 700, 0, 1000000)))
	_, com := dealtShares(t, 4, 1)
	honest := realSealedShares(t, testChain, id, "firm1", 4, shareSizedMsg())
	for name, bait := range map[string][]byte{
		"R and garbage":            append(bytes.Clone(victim[k][:sealbox.PointBytes]), bytes.Repeat([]byte{0xa5}, scalarSealedLen-sealbox.PointBytes)...),
		"R, its PoK and garbage":   append(bytes.Clone(victim[k][:sealbox.PointBytes+sealbox.PoKBytes]), bytes.Repeat([]byte{0xa5}, scalarSealedLen-sealbox.PointBytes-sealbox.PoKBytes)...),
		"the victim's whole share": bytes.Clone(victim[k]),
	} {
		t.Run(name, func(t *testing.T) {
			in := c.bid(t, id, 1, 0, 1000000)
			in.SealedShares = append([][]byte{}, honest...)
			in.ShareCommitments = com
			in.SealedShares[k] = bait
			c.refused(t, attacker, in, CodeInvalid, fmt.Sprintf("sealed share %d (for %s): sealbox: the ciphertext is publicly invalid", k, member))
			S, _, err := sealbox.ProveOpening(testSealingPriv(member), sealedinput.AAD(testChain, id, "firm1", member), bait)
			if !errors.Is(err, sealbox.ErrInvalid) || S != nil {
				t.Fatalf("%s would publish S=%x for the bait (%v)", member, S, err)
			}
		})
	}
	if got, _ := c.app.SealedInput(id, 1); got != nil {
		t.Fatalf("a refused input left sealed shares")
	}
}

// TestSealedOpeningOnlyFromCommittee (review m4): a job.abort carrying a
// sealed-share proof is taken only from a committee member; the requester
// (here firm1, on no committee) cannot make every validator verify proofs
// for free. Its abort without one ends the job as before.
func TestSealedOpeningOnlyFromCommittee(t *testing.T) {
	c := newJobChainNodeless(t, 0, nil, "firm0", "firm1")
	const requester = 5
	const id = "J-req"
	c.mustOK(t, c.tx(t, requester, &ledgerpb.JobSubmit{JobId: id, Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`),
		Providers: []string{"node0", "firm0"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}))
	c.mustOK(t, c.tx(t, 0, c.bid(t, id, 700, 0, 1000000)))
	in := c.bid(t, id, 800, 0, 1000000)
	_, in.ShareCommitments = dealtShares(t, 4, 1)
	in.SealedShares = realSealedShares(t, testChain, id, "firm0", 4, shareSizedMsg())
	c.mustOK(t, c.tx(t, 4, in))
	o := opening(t, id, 1, in.SealedShares[1])
	abort := &ledgerpb.JobAbort{JobId: id, Reason: "bad-input: firm0", Culprit: "firm0", SealedOpening: o}
	c.refused(t, requester, abort, CodeUnauthorized, "only a member of committee c1 may abort job")
	abort.SealedOpening = nil
	c.mustOK(t, c.tx(t, requester, abort))
	if j := c.job(t, id); j.Status != JobAborted {
		t.Fatalf("%s: %s", id, j.Status)
	}
}
