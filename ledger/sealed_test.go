package ledger

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"go.dedis.ch/kyber/v3/group/edwards25519"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// testSealingKey is a valid sealing public key derived from a label.
func testSealingKey(label string) []byte {
	suite := edwards25519.NewBlakeSHA256Ed25519()
	h := sha256.Sum256([]byte("sealing/" + label))
	x := suite.Scalar().SetBytes(h[:])
	b, _ := suite.Point().Mul(x, nil).MarshalBinary()
	return b
}

// sealedShares stands for what a member without a node seals to each of
// the 4 committee members (the ledger cannot open them; it bounds them).
func sealedShares(n, size int) [][]byte {
	out := make([][]byte, n)
	for k := range out {
		out[k] = bytes.Repeat([]byte{byte(k + 1)}, size)
	}
	return out
}

// TestSealedInputs: a member without a node (firm0) must post its input
// with one sealed share per committee member, each within the bounds; the
// ledger keeps them for the committee until the job ends, then prunes
// them; two replicas agree on every AppHash.
func TestSealedInputs(t *testing.T) {
	c := newJobChainNodeless(t, 2, policies.DefaultYAML(), "firm0")
	const firm = 4
	submit := &ledgerpb.JobSubmit{JobId: "J-sealed", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`),
		Providers: []string{"node0", "firm0"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}

	t.Run("a member without a node is no recipient and sits on no committee", func(t *testing.T) {
		s := proto.Clone(submit).(*ledgerpb.JobSubmit)
		s.JobId, s.Recipient = "J-to-firm", "firm0"
		if r := c.block(t, c.tx(t, 2, s))[0]; r.Code != CodeInvalid || !strings.Contains(r.Log, "runs no node") {
			t.Fatalf("job for a recipient without a node: %d %s", r.Code, r.Log)
		}
		s = proto.Clone(submit).(*ledgerpb.JobSubmit)
		s.JobId, s.Type, s.Params = "J-clear-firm", "clearing", []byte(`{"prices":[10,11],"sides":["buyer","seller"]}`)
		if r := c.block(t, c.tx(t, 2, s))[0]; r.Code != CodeInvalid || !strings.Contains(r.Log, "runs no node") {
			t.Fatalf("clearing with a bidder without a node: %d %s", r.Code, r.Log)
		}
		r := c.block(t, c.tx(t, 2, &ledgerpb.CommitteeCreate{CommitteeId: "c-firm", Members: []string{"node0", "node1", "firm0"}, Threshold: 2}))[0]
		if r.Code == CodeOK {
			t.Fatalf("committee with a member without a node accepted")
		}
	})

	c.mustOK(t, c.tx(t, 2, submit))
	c.mustOK(t, c.tx(t, 0, c.bid(t, "J-sealed", 700, 0, 1000000)))
	for name, tc := range map[string]struct {
		shares [][]byte
		want   string
	}{
		"no shares":    {nil, "must carry the committee's sealed shares"},
		"3 for 4":      {sealedShares(3, 130), "3 sealed shares, committee c1 has 4"},
		"5 for 4":      {sealedShares(5, 130), "5 sealed shares, committee c1 has 4"},
		"oversized":    {append(sealedShares(3, 130), make([]byte, MaxSealedShareBytes+1)), "sealed share 3 has"},
		"too short":    {append(sealedShares(3, 130), make([]byte, minSealedShareBytes-1)), "sealed share 3 has"},
		"an empty one": {append(sealedShares(3, 130), nil), "sealed share 3 has"},
	} {
		in := c.bid(t, "J-sealed", 800, 0, 1000000)
		in.SealedShares = tc.shares
		if r := c.block(t, c.tx(t, firm, in))[0]; r.Code != CodeInvalid || !strings.Contains(r.Log, tc.want) {
			t.Errorf("%s: %d %s, want %q", name, r.Code, r.Log, tc.want)
		}
	}
	if got, _ := c.app.SealedInput("J-sealed", 1); got != nil {
		t.Fatalf("refused inputs left sealed shares: %d", len(got))
	}

	in := c.bid(t, "J-sealed", 800, 0, 1000000)
	in.SealedShares = sealedShares(4, 130)
	c.mustOK(t, c.tx(t, firm, in))
	j := c.job(t, "J-sealed")
	if j.Status != JobRunning {
		t.Fatalf("after both inputs: %s", j.Status)
	}
	for m := range 4 {
		got, err := c.app.SealedInputs(j, m)
		if err != nil || got[0] != nil || !bytes.Equal(got[1], in.SealedShares[m]) {
			t.Fatalf("member %d's sealed inputs: %x, %v", m, got, err)
		}
	}
	output := []byte("output commitment of J-sealed")
	c.mustOK(t, c.tx(t, 3, &ledgerpb.JobResult{JobId: "J-sealed", OutputCommitment: output, Signature: c.sign(t, j, output, 0, 1, 2)}))
	if got, err := c.app.SealedInput("J-sealed", 1); got != nil || err != nil {
		t.Fatalf("sealed shares of a completed job: %d, %v; want pruned", len(got), err)
	}
}

// FuzzSealedShares decodes arbitrary bytes as a job input and runs the
// sealed-share checks of a member without a node on a 4-member committee:
// never a panic, and an accepted input has exactly one share per member,
// each within the bounds.
func FuzzSealedShares(f *testing.F) {
	ok, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: sealedShares(4, 130)})
	short, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: sealedShares(3, 130)})
	big, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: append(sealedShares(3, 130), make([]byte, MaxSealedShareBytes+1))})
	f.Add(ok)
	f.Add(short)
	f.Add(big)
	f.Add([]byte{})
	com, _ := proto.Marshal(&ledgerpb.Committee{Id: "c1", Members: []string{"n0", "n1", "n2", "n3"}, Threshold: 3, Status: CommitteeActive})
	st := mapState{string(keyCommittee("c1")): com}
	idx := newMemberIndex()
	idx.add(&ledgerpb.Member{Name: "firm0", SealingKey: testSealingKey("firm0")})
	v := &committedView{members: idx}
	j := &ledgerpb.Job{Id: "J", Type: "auction-vickrey", CommitteeId: "c1", Providers: []string{"n0", "firm0"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > MaxTxBytes {
			return
		}
		var m ledgerpb.JobInput
		if proto.Unmarshal(raw, &m) != nil {
			return
		}
		if checkSealedShares("firm0", j, &m, v, st) != nil {
			return
		}
		if len(m.SealedShares) != 4 {
			t.Fatalf("accepted %d sealed shares for 4 members", len(m.SealedShares))
		}
		for _, s := range m.SealedShares {
			if len(s) < minSealedShareBytes || len(s) > MaxSealedShareBytes {
				t.Fatalf("accepted a sealed share of %d bytes", len(s))
			}
		}
	})
}
