package ledger

// Regression tests of the s7 Pedersen review (its ledger PoC, turned into
// checks of the fixes).

import (
	"context"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/internal/recent"
	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/policies"
)

// pointsOfG is count copies of G's compressed encoding, the last replaced
// by an x = 0 point (off the curve) if offLast: commitments the ledger
// parses point by point.
func pointsOfG(t testing.TB, count int, offLast bool) []byte {
	t.Helper()
	_, _, g, _ := bn254.Generators()
	enc := g.Bytes()
	b := make([]byte, 0, count*sealedinput.PointBytes)
	for range count {
		b = append(b, enc[:]...)
	}
	if offLast {
		last := b[len(b)-sealedinput.PointBytes:]
		clear(last)
		last[0] = 0x80
	}
	return b
}

// TestSealedClearingRefused (review M1): a provider with a node (node0)
// posting sealed shares into the largest clearing job (4096 levels: 8194
// commitment points on a committee of 4) is refused because clearing takes
// no sealed inputs, before any point is parsed — the refusal names the job
// type, not a point; with well-formed commitments too (the review's junk
// input was accepted). Sealed shares of the wrong size for a scalar input
// (the review's 113-byte junk) are refused in an auction, by size, before
// the commitments are parsed; the same input with shares of the right size
// reaches the commitments' check.
func TestSealedClearingRefused(t *testing.T) {
	c := newJobChainNodeless(t, 1, policies.DefaultYAML())
	levels := jobs.MaxClearingLevels
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "J-clear", Type: "clearing", Params: []byte(clearingParams(levels)),
		Providers: []string{"node0", "node1"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}))
	l, err := sealedinput.CommitmentsLen(4, levels)
	if err != nil {
		t.Fatal(err)
	}
	var v fr.Element
	v.SetUint64(1)
	cm := v.Bytes()
	junk := realSealedShares(t, testChain, "J-clear", "node0", 4, []byte{1})
	for name, com := range map[string][]byte{
		"the last point off the curve": pointsOfG(t, l/sealedinput.PointBytes, true),
		"well-formed commitments":      pointsOfG(t, l/sealedinput.PointBytes, false),
	} {
		raw := c.tx(t, 0, &ledgerpb.JobInput{JobId: "J-clear", Commitment: cm[:], SealedShares: junk, ShareCommitments: com})
		resp, err := c.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw})
		if err != nil || resp.Code != CodeInvalid || !strings.Contains(resp.Log, "is a clearing job: its inputs cannot be sealed shares") || strings.Contains(resp.Log, "point") {
			t.Fatalf("%s: CheckTx %v %d %q", name, err, resp.GetCode(), resp.GetLog())
		}
		if r := c.block(t, raw)[0]; r.Code != CodeInvalid || !strings.Contains(r.Log, "cannot be sealed shares") {
			t.Fatalf("%s: FinalizeBlock %d %s", name, r.Code, r.Log)
		}
	}
	if got, err := c.app.SealedInput("J-clear", 0); got != nil || err != nil {
		t.Fatalf("a refused sealed clearing input was kept: %d shares, %v", len(got), err)
	}

	// An auction, where sealed inputs are taken: shares of 113 bytes are
	// no sealed scalar share, refused by size even with commitments whose
	// last point is off the curve (they are never parsed).
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "J-auc", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`),
		Providers: []string{"node0", "node1"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}))
	in := c.bid(t, "J-auc", 800, 0, 1000000)
	in.SealedShares = realSealedShares(t, testChain, "J-auc", "node0", 4, []byte{1})
	in.ShareCommitments = pointsOfG(t, 4, true)
	c.refused(t, 0, in, CodeInvalid, fmt.Sprintf("sealed share 0 has %d bytes, a sealed share message of this job's input has %d", sealbox.Overhead+1, sealedinput.SealedLen(1)))
	in.SealedShares = realSealedShares(t, testChain, "J-auc", "node0", 4, shareSizedMsg())
	c.refused(t, 0, in, CodeInvalid, "malformed share commitments: point 3")
}

// TestSealedShareFigures (review L4): the figures of ledger/sealed.go's
// doc, computed: a scalar input's sealed share is 263 bytes, and
// MaxSealedShareBytes holds an input of 252 fields and not 253
// (sealedShareLen refuses it, CodeInvalid, with a clear message).
func TestSealedShareFigures(t *testing.T) {
	if n, terr := sealedShareLen("J", 1); terr != nil || n != 263 {
		t.Fatalf("scalar input: %d, %v; the doc says 263", n, terr)
	}
	if _, terr := sealedShareLen("J", 252); terr != nil {
		t.Fatalf("252 fields: %v", terr)
	}
	_, terr := sealedShareLen("J", 253)
	if terr == nil || terr.Code != CodeInvalid || !strings.Contains(terr.Msg, "an input of 253 fields seals into shares of 16391 bytes, over the bound of 16384") {
		t.Fatalf("253 fields: %v", terr)
	}
}

// TestSealedOpeningProofFirst (review L1): a bogus opening proof is refused
// before the job's spec and its kept commitments are looked at: with
// commitments in state that do not parse (as after a rules change) and a
// job whose spec does not validate, the refusal is the proof's.
func TestSealedOpeningProofFirst(t *testing.T) {
	committee := &ledgerpb.Committee{Id: "c1", Members: []string{"node0", "node1", "node2", "node3"}, Threshold: 3, Status: CommitteeActive}
	shares := realSealedShares(t, "chain", "J", "firm0", 4, shareSizedMsg())
	kept, _ := proto.Marshal(&ledgerpb.SealedShares{Shares: shares, Commitments: pointsOfG(t, 4, true)})
	st := mapState{string(keySealedInput("J", 1)): kept}
	idx := newMemberIndex()
	for k := range 4 {
		name := fmt.Sprintf("node%d", k)
		idx.add(&ledgerpb.Member{Name: name, PeerId: "peer-" + name, SealingKey: testSealingKey(name)})
	}
	v := &committedView{chainID: "chain", members: idx, sealedChecks: recent.New(64)}
	bogus := &ledgerpb.SealedOpening{Slot: 1, Claimant: "node1", Point: make([]byte, sealbox.PointBytes), Proof: make([]byte, sealbox.ProofBytes)}
	for name, j := range map[string]*ledgerpb.Job{
		"kept commitments that do not parse": {Id: "J", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`), CommitteeId: "c1", Providers: []string{"n0", "firm0"}, Recipient: "node0"},
		"a spec that does not validate":      {Id: "J", Type: "auction-vickrey", Params: []byte(`{`), CommitteeId: "c1", Providers: []string{"n0", "firm0"}, Recipient: "node0"},
	} {
		_, terr := checkSealedOpening(j, committee, bogus, v, st)
		if terr == nil || !strings.Contains(terr.Msg, "does not verify") {
			t.Fatalf("%s: %v, want the proof refused first", name, terr)
		}
	}
}

// TestSealedCommitmentsMemoKey (review L2): the commitments memo is keyed
// by what decides the check — the committee size, the input's width and
// the bytes — and consulted only after the job's spec validates: a job
// whose spec no longer validates is refused even when its commitments are
// remembered, and the memo serves the next input of the same shape
// (CheckTx then FinalizeBlock, or the tender's quotes) without a parse.
func TestSealedCommitmentsMemoKey(t *testing.T) {
	st, v, j := sealedInputFixture()
	_, com := dealtShares(t, 4, 800)
	m := &ledgerpb.JobInput{JobId: "J", SealedShares: realSealedShares(t, "chain", "J", "firm0", 4, shareSizedMsg()), ShareCommitments: com}
	if terr := checkSealedShares("firm0", j, m, v, st); terr != nil {
		t.Fatal(terr)
	}
	if !v.sealedChecks.Has(memoKey("cohort/ledger/sealed-commitments/v2\x00", []byte{0, 0, 0, 4}, []byte{0, 0, 0, 1}, com)) {
		t.Fatal("commitments not remembered under (n, fields, bytes)")
	}
	// The same job ID, type and parameters (the old key), shares and
	// commitments all remembered, but no recipient: its spec does not
	// validate, and that decides, not the memo.
	broken := proto.Clone(j).(*ledgerpb.Job)
	broken.Recipient = ""
	if terr := checkSealedShares("firm0", broken, m, v, st); terr == nil || !strings.Contains(terr.Msg, "job \"J\"") {
		t.Fatalf("a job whose spec does not validate, its commitments remembered: %v", terr)
	}
}
