package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

var complianceKeys = sync.OnceValues(func() (*zk.Keys, error) {
	return zk.DevSetup(context.Background(), zk.CircuitCompliance)
})

// policyGenesis is a 4-member chain under the default policy (node0, node1
// enterprises, node2 platform, node3 supervisor) with the compliance key.
func policyGenesis(t testing.TB) ([]testMember, []byte, *zk.Keys, *policies.Policy) {
	t.Helper()
	keys, err := complianceKeys()
	if err != nil {
		t.Fatal(err)
	}
	var g Genesis
	var ms []testMember
	for i, role := range []string{RoleEnterprise, RoleEnterprise, RolePlatform, RoleSupervisor} {
		name := "node" + string(rune('0'+i))
		k := deterministicKey("account/" + name)
		ms = append(ms, testMember{name: name, key: k})
		g.Members = append(g.Members, GenesisMember{Name: name, Roles: []string{role},
			AccountKey: k.Public().(ed25519.PublicKey), PeerID: "peer-" + name})
	}
	g.Policy = string(policies.DefaultYAML())
	g.VerifyingKeys = []GenesisKey{{Circuit: zk.CircuitCompliance, Key: keys.VKBytes}}
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	return ms, raw, keys, p
}

// channelRecord proves that record satisfies the rule set `proveWith` and
// anchors it on channel.
func channelRecord(t testing.TB, keys *zk.Keys, p *policies.Policy, signer testMember, id int, channel string,
	proveWith *policies.CompiledRuleSet, record map[string]string) []byte {
	t.Helper()
	payload := channelRecordPayload(t, keys, p, signer, id, channel, proveWith, record)
	raw, err := SignTx(signer.key, payload)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// channelRecordPayload is channelRecord's signed payload: the anchor of a
// record with hash make32(id), its commitment and its bound proof.
func channelRecordPayload(t testing.TB, keys *zk.Keys, p *policies.Policy, signer testMember, id int, channel string,
	proveWith *policies.CompiledRuleSet, record map[string]string) *ledgerpb.TxPayload {
	t.Helper()
	ch, _ := p.Channel(channel)
	rs, _ := p.RuleSet(ch.RuleSet)
	values, err := rs.Values(record)
	if err != nil {
		t.Fatal(err)
	}
	anchor := &ledgerpb.RecordAnchor{Hash: make32(byte(id)), Kind: "trade", Channel: channel,
		PublicInfo: []byte(`{"trade":"T-9"}`), VkId: keys.Info.VKID}
	payload := &ledgerpb.TxPayload{ChainId: testChain, TxId: txID(id), Signer: signer.name,
		Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: anchor}}
	salt, _ := zk.NewSalt(rand.Reader)
	w := zk.ComplianceWitness{Salt: zk.FeltOf(salt), Constraints: proveWith.ZKConstraints(),
		Binding: RecordBinding(testChain, payload.TxId, payload.Signer, anchor)}
	for _, v := range values {
		w.Fields = append(w.Fields, zk.Uint64(v))
	}
	pf, err := keys.Prove(context.Background(), w)
	if err != nil {
		t.Fatalf("prove: %v", err)
	}
	anchor.Proof, _ = pf.ProofBytes()
	st, _ := w.Statement()
	c := st.(zk.ComplianceStatement).Commitment.Fr()
	cb := c.Bytes()
	anchor.Commitment = cb[:]
	return payload
}

func make32(b byte) []byte {
	out := make([]byte, 32)
	out[0] = b
	return out
}

func TestChannelRecordsNeedACompliantProof(t *testing.T) {
	ms, gen, keys, p := policyGenesis(t)
	app := newTestApp(t, gen)
	trade, _ := p.RuleSet("trade")
	const channel = "demander-platform-supervisor"
	good := map[string]string{"price": "1000.00", "quantity": "10", "fee": "40.00", "delivery_days": "30"}

	ok := channelRecord(t, keys, p, ms[0], 1, channel, trade.Compiled, good)
	if r := finalize(t, app, 1, ok); r.TxResults[0].Code != CodeOK {
		t.Fatalf("compliant record: %s", r.TxResults[0].Log)
	}

	// A fee of 10% breaks fee ≤ 5% × price: no proof exists for the real
	// rule set, so a cheater proves a laxer one (without the fee cap).
	lax := *trade.Compiled
	lax.Constraints = nil
	for _, c := range trade.Compiled.Constraints {
		if !strings.Contains(c.Origin, "fee-cap") {
			lax.Constraints = append(lax.Constraints, c)
		}
	}
	if len(lax.Constraints) == len(trade.Compiled.Constraints) {
		t.Fatal("test setup: fee-cap constraint not found")
	}
	bad := map[string]string{"price": "1000.00", "quantity": "10", "fee": "100.00", "delivery_days": "30"}
	cheat := channelRecord(t, keys, p, ms[0], 2, channel, &lax, bad)
	before := creditOf(t, app, "node0").Credit.Score
	r := finalize(t, app, 2, cheat)
	if r.TxResults[0].Code != CodeInvalidProof {
		t.Fatalf("out-of-policy record: code %d (%s)", r.TxResults[0].Code, r.TxResults[0].Log)
	}
	if got := creditOf(t, app, "node0").Credit.Score; got != before+ratingRejectedRecord {
		t.Fatalf("credit after a rejected record: %d, want %d", got, before+ratingRejectedRecord)
	}

	// node1 is not on this channel.
	outsider := channelRecord(t, keys, p, ms[1], 3, channel, trade.Compiled, good)
	if r := checkTx(t, app, outsider); r.Code != CodeUnauthorized {
		t.Fatalf("record by a non-member of the channel: code %d (%s)", r.Code, r.Log)
	}
}

func TestPolicyUpdateNeedsSupervisorQuorum(t *testing.T) {
	ms, gen, _, p := policyGenesis(t)
	app := newTestApp(t, gen)
	next := strings.Replace(string(policies.DefaultYAML()), "revision: 1", "revision: 2", 1)
	np, err := policies.Parse([]byte(next))
	if err != nil {
		t.Fatal(err)
	}
	msg := np.ApprovalMessage(testChain)
	update := func(id int, signer testMember, approvers ...testMember) []byte {
		u := &ledgerpb.PolicyUpdate{PolicyYaml: []byte(next)}
		for _, a := range approvers {
			u.Approvals = append(u.Approvals, &ledgerpb.PolicyApproval{Supervisor: a.name, Signature: ed25519.Sign(a.key, msg)})
		}
		raw, err := SignTx(signer.key, &ledgerpb.TxPayload{ChainId: testChain, TxId: txID(id), Signer: signer.name,
			Msg: &ledgerpb.TxPayload_PolicyUpdate{PolicyUpdate: u}})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	// Approved by two enterprises and the platform: no supervisor.
	if r := finalize(t, app, 1, update(1, ms[2], ms[0], ms[1], ms[2])); r.TxResults[0].Code != CodeUnauthorized {
		t.Fatalf("update without quorum: code %d (%s)", r.TxResults[0].Code, r.TxResults[0].Log)
	}
	// A forged supervisor approval.
	if r := finalize(t, app, 2, update(3, ms[2], testMember{name: "node3", key: ms[0].key})); r.TxResults[0].Code != CodeBadSignature {
		t.Fatalf("forged approval: code %d (%s)", r.TxResults[0].Code, r.TxResults[0].Log)
	}
	if app.committed.Load().policy.Revision != p.Revision {
		t.Fatal("policy changed without quorum")
	}
	// The supervisor approves.
	if r := finalize(t, app, 3, update(4, ms[2], ms[3])); r.TxResults[0].Code != CodeOK {
		t.Fatalf("update with quorum: %s", r.TxResults[0].Log)
	}
	if got := app.committed.Load().policy.Revision; got != 2 {
		t.Fatalf("policy revision %d after the update, want 2", got)
	}
	// Replaying the same update (revision 2 again) under a new tx ID fails.
	if r := finalize(t, app, 4, update(5, ms[2], ms[3])); r.TxResults[0].Code == CodeOK {
		t.Fatal("the same policy update applied twice")
	}
}
