package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// Tests for the supervision trail: a compliance proof belongs to its record,
// and records are judged by the policy revision in force at their height.

const trailChannel = "demander-platform-supervisor" // node0, node2, node3

var compliantTrade = map[string]string{"price": "1000.00", "quantity": "10", "fee": "40.00", "delivery_days": "30"}

func signTrail(t testing.TB, m testMember, p *ledgerpb.TxPayload) []byte {
	t.Helper()
	raw, err := SignTx(m.key, p)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// reanchor copies a record anchor's commitment and proof under a new tx ID
// (a new record), optionally with another hash and signer.
func reanchor(orig *ledgerpb.TxPayload, id int, hash byte, signer string) *ledgerpb.TxPayload {
	a := proto.Clone(orig.GetRecordAnchor()).(*ledgerpb.RecordAnchor)
	a.Hash = make32(hash)
	return &ledgerpb.TxPayload{ChainId: orig.ChainId, TxId: txID(id), Signer: signer,
		Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: a}}
}

func TestReplayedComplianceProofIsRefused(t *testing.T) {
	ms, gen, keys, p := policyGenesis(t)
	trade, _ := p.RuleSet("trade")
	app, ref := newTestApp(t, gen), newTestApp(t, gen)

	orig := channelRecordPayload(t, keys, p, ms[0], 1, trailChannel, trade.Compiled, compliantTrade)
	good := signTrail(t, ms[0], orig)
	if r := finalize(t, app, 1, good); r.TxResults[0].Code != CodeOK {
		t.Fatalf("genuine record: %s", r.TxResults[0].Log)
	}
	finalize(t, ref, 1, good)
	credit := creditOf(t, app, "node0").Credit.Score

	// The same commitment and proof under new records: by the same member
	// with another hash, and by another member of the channel.
	replays := map[string][]byte{
		"same signer, new record": signTrail(t, ms[0], reanchor(orig, 2, 2, "node0")),
		"other channel member":    signTrail(t, ms[2], reanchor(orig, 3, 1, "node2")),
	}
	h := int64(2)
	for _, name := range []string{"same signer, new record", "other channel member"} {
		raw := replays[name]
		if r := checkTx(t, app, raw); r.Code != CodeReplay || !strings.Contains(r.Log, "already anchored by record "+RecordID(txID(1))) {
			t.Fatalf("%s: CheckTx code %d (%q), want %d naming the first record", name, r.Code, r.Log, CodeReplay)
		}
		resp := finalize(t, app, h, raw)
		if c := resp.TxResults[0].Code; c != CodeReplay {
			t.Fatalf("%s: FinalizeBlock code %d (%q), want %d", name, c, resp.TxResults[0].Log, CodeReplay)
		}
		if want := finalize(t, ref, h); !bytes.Equal(resp.AppHash, want.AppHash) {
			t.Fatalf("%s: the refused replay changed the AppHash", name)
		}
		h++
	}
	if got := creditOf(t, app, "node0").Credit.Score; got != credit {
		t.Fatalf("node0's credit moved from %d to %d on a refused replay", credit, got)
	}
}

// TestFrontRunProofFailsItsBinding: a channel member who copies a pending
// record's commitment and proof from the mempool into its own tx, committed
// first, gets a proof that does not verify (the binding names the original
// tx), and the original still commits.
func TestFrontRunProofFailsItsBinding(t *testing.T) {
	ms, gen, keys, p := policyGenesis(t)
	trade, _ := p.RuleSet("trade")
	app := newTestApp(t, gen)
	orig := channelRecordPayload(t, keys, p, ms[0], 1, trailChannel, trade.Compiled, compliantTrade)
	thief := signTrail(t, ms[2], reanchor(orig, 2, 1, "node2"))
	resp := finalize(t, app, 1, thief, signTrail(t, ms[0], orig))
	if c := resp.TxResults[0].Code; c != CodeInvalidProof || !strings.Contains(resp.TxResults[0].Log, "does not verify") {
		t.Fatalf("front-running copy: code %d (%q), want %d", c, resp.TxResults[0].Log, CodeInvalidProof)
	}
	if c := resp.TxResults[1].Code; c != CodeOK {
		t.Fatalf("the original after a front-running copy: code %d (%q)", c, resp.TxResults[1].Log)
	}
}

func queryPolicyAt(t *testing.T, app *App, h int64) []byte {
	t.Helper()
	r, err := app.Query(context.Background(), &abci.RequestQuery{Path: QueryPolicyAt, Data: []byte(strconv.FormatInt(h, 10))})
	if err != nil || r.Code != CodeOK {
		t.Fatalf("policy at %d: %v %s", h, err, r.Log)
	}
	return r.Value
}

func queryRecord(t *testing.T, app *App, id string) *ledgerpb.Record {
	t.Helper()
	r, err := app.Query(context.Background(), &abci.RequestQuery{Path: QueryRecord, Data: []byte(id)})
	if err != nil || r.Code != CodeOK {
		t.Fatalf("record %s: %v %s", id, err, r.Log)
	}
	var rec ledgerpb.Record
	if err := proto.Unmarshal(r.Value, &rec); err != nil {
		t.Fatal(err)
	}
	return &rec
}

func TestRecordsAreJudgedByThePolicyAtTheirHeight(t *testing.T) {
	ms, gen, keys, p1 := policyGenesis(t)
	app := newTestApp(t, gen)
	reg := zk.NewRegistry()
	if _, err := reg.Register(zk.CircuitCompliance, keys.VKBytes); err != nil {
		t.Fatal(err)
	}
	trade1, _ := p1.RuleSet("trade")

	// Height 1: a record under revision 1 (fee ≤ 5% of the price).
	old := channelRecordPayload(t, keys, p1, ms[0], 1, trailChannel, trade1.Compiled, compliantTrade)
	if r := finalize(t, app, 1, signTrail(t, ms[0], old)); r.TxResults[0].Code != CodeOK {
		t.Fatalf("record under revision 1: %s", r.TxResults[0].Log)
	}

	// Height 2: revision 2 caps the fee at 8% and adds a quantity floor of
	// 20; it applies from height 3.
	y2 := strings.Replace(string(policies.DefaultYAML()), "revision: 1", "revision: 2", 1)
	y2 = strings.Replace(y2, "rule: fee <= 5% * price", "rule: fee <= 8% * price", 1)
	p2, err := policies.Parse([]byte(y2))
	if err != nil {
		t.Fatal(err)
	}
	trade2, _ := p2.RuleSet("trade")
	if bytes.Equal(mustJSON(t, trade1.Compiled.ZKConstraints()), mustJSON(t, trade2.Compiled.ZKConstraints())) {
		t.Fatal("test setup: revision 2 compiles to the same constraints")
	}
	u := &ledgerpb.PolicyUpdate{PolicyYaml: []byte(y2), Approvals: []*ledgerpb.PolicyApproval{
		{Supervisor: "node3", Signature: ed25519.Sign(ms[3].key, p2.ApprovalMessage(testChain))}}}
	if r := finalize(t, app, 2, signTrail(t, ms[2], &ledgerpb.TxPayload{ChainId: testChain, TxId: txID(2),
		Signer: "node2", Msg: &ledgerpb.TxPayload_PolicyUpdate{PolicyUpdate: u}})); r.TxResults[0].Code != CodeOK {
		t.Fatalf("policy update: %s", r.TxResults[0].Log)
	}

	// Height 3: a 7% fee complies only with revision 2 and is judged by it;
	// a proof made for revision 1's rules is now refused.
	newTrade := map[string]string{"price": "1000.00", "quantity": "10", "fee": "70.00", "delivery_days": "30"}
	fresh := channelRecordPayload(t, keys, p2, ms[0], 3, trailChannel, trade2.Compiled, newTrade)
	stale := channelRecordPayload(t, keys, p2, ms[0], 4, trailChannel, trade1.Compiled, compliantTrade)
	r := finalize(t, app, 3, signTrail(t, ms[0], fresh), signTrail(t, ms[0], stale))
	if r.TxResults[0].Code != CodeOK {
		t.Fatalf("record complying with revision 2 only: %s", r.TxResults[0].Log)
	}
	if r.TxResults[1].Code != CodeInvalidProof {
		t.Fatalf("record proven for revision 1 after the update: code %d (%s)", r.TxResults[1].Code, r.TxResults[1].Log)
	}

	// The revision in force at each height.
	for h, want := range map[int64]uint64{1: 1, 2: 1, 3: 2, 9: 2} {
		got, err := policies.Parse(queryPolicyAt(t, app, h))
		if err != nil {
			t.Fatal(err)
		}
		if got.Revision != want {
			t.Errorf("policy at height %d: revision %d, want %d", h, got.Revision, want)
		}
	}

	// `verify record`: each record verifies against the revision at its
	// height, and the old record would fail against today's policy.
	oldRec, freshRec := queryRecord(t, app, RecordID(txID(1))), queryRecord(t, app, RecordID(txID(3)))
	if err := VerifyRecordProof(testChain, oldRec, queryPolicyAt(t, app, oldRec.Height), reg); err != nil {
		t.Fatalf("record under revision 1 against the policy at its height: %v", err)
	}
	if err := VerifyRecordProof(testChain, freshRec, queryPolicyAt(t, app, freshRec.Height), reg); err != nil {
		t.Fatalf("record under revision 2 against the policy at its height: %v", err)
	}
	if err := VerifyRecordProof(testChain, oldRec, []byte(y2), reg); !errors.Is(err, zk.ErrInvalidProof) {
		t.Fatalf("record under revision 1 against today's policy: got %v, want an invalid proof", err)
	}
	// And the binding: the record's proof does not verify as another record's.
	moved := proto.Clone(oldRec).(*ledgerpb.Record)
	moved.Hash = make32(99)
	if err := VerifyRecordProof(testChain, moved, queryPolicyAt(t, app, oldRec.Height), reg); !errors.Is(err, zk.ErrInvalidProof) {
		t.Fatalf("proof checked under another record's content: got %v, want an invalid proof", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
