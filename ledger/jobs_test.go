package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

var inputKeys = sync.OnceValues(func() (*zk.Keys, error) {
	return zk.DevSetup(context.Background(), zk.CircuitInput)
})

// jobChain is a 4-member chain under the default policy, with DKG keys and
// the input-circuit key registered, and a 3-of-4 committee whose DKG ran for
// real over the in-memory transport.
type jobChain struct {
	app *App
	// replicas run every block app runs and must agree on its AppHash.
	replicas []*App
	ms       []testMember
	shares   []*committee.Share // c1's
	keys     *zk.Keys
	// The members' DKG keys, for more committees (activeCommittee).
	dkgKeys []*committee.LongTermKey
	pubs    []committee.LongTermPublicKey
	height  int64
	nextID  int
}

func newJobChain(t *testing.T) *jobChain { return newJobChainReplicas(t, 0) }

// newJobChainReplicas is newJobChain with replica apps that finalize every
// block too (the determinism check of the tests that use it).
func newJobChainReplicas(t *testing.T, replicas int) *jobChain {
	t.Helper()
	return newJobChainPolicy(t, replicas, policies.DefaultYAML())
}

// newJobChainPolicy is newJobChainReplicas under another genesis policy
// (for the same four members).
func newJobChainPolicy(t *testing.T, replicas int, policy []byte) *jobChain {
	t.Helper()
	return newJobChainNodeless(t, replicas, policy)
}

// newJobChainNodeless is newJobChainPolicy with members that run no node
// (no peer ID, a sealing key), members 4, 5, … of the chain.
func newJobChainNodeless(t *testing.T, replicas int, policy []byte, nodeless ...string) *jobChain {
	t.Helper()
	keys, err := inputKeys()
	if err != nil {
		t.Fatal(err)
	}
	var g Genesis
	var ms []testMember
	var dkgKeys []*committee.LongTermKey
	var pubs []committee.LongTermPublicKey
	for i, role := range []string{RoleEnterprise, RoleEnterprise, RolePlatform, RoleSupervisor} {
		name := fmt.Sprintf("node%d", i)
		k := deterministicKey("account/" + name)
		ms = append(ms, testMember{name: name, key: k})
		dk := committee.GenerateLongTermKey()
		dkgKeys, pubs = append(dkgKeys, dk), append(pubs, dk.Public())
		g.Members = append(g.Members, GenesisMember{Name: name, Roles: []string{role},
			AccountKey: k.Public().(ed25519.PublicKey), PeerID: "peer-" + name, DKGKey: dk.Public().Bytes(), SealingKey: testSealingKey(name)})
	}
	for _, name := range nodeless {
		k := deterministicKey("account/" + name)
		ms = append(ms, testMember{name: name, key: k})
		g.Members = append(g.Members, GenesisMember{Name: name, Roles: []string{RoleEnterprise},
			AccountKey: k.Public().(ed25519.PublicKey), SealingKey: testSealingKey(name)})
	}
	g.Policy = string(policy)
	g.VerifyingKeys = []GenesisKey{{Circuit: zk.CircuitInput, Key: keys.VKBytes}}
	gen, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	c := &jobChain{app: newTestApp(t, gen), ms: ms, keys: keys, nextID: 1000}
	for range replicas {
		c.replicas = append(c.replicas, newTestApp(t, gen))
	}

	c.dkgKeys, c.pubs = dkgKeys, pubs
	c.shares = c.activeCommittee(t, "c1", 3)
	return c
}

// activeCommittee creates committee id of the chain's four members with
// threshold t, runs its DKG for real over the in-memory transport and has
// every member confirm it; it returns the members' key shares.
func (c *jobChain) activeCommittee(t *testing.T, id string, threshold int) []*committee.Share {
	t.Helper()
	nw := transport.NewMemoryNetwork()
	shares := make([]*committee.Share, 4)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range c.dkgKeys {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn, err := nw.Open(context.Background(), "dkg-"+id, transport.PartyID(i), 4)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close()
			shares[i], errs[i] = committee.RunDKG(context.Background(), conn, c.dkgKeys[i], c.pubs, committee.DKGConfig{Threshold: threshold})
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	members := []string{"node0", "node1", "node2", "node3"}
	c.mustOK(t, c.tx(t, 2, &ledgerpb.CommitteeCreate{CommitteeId: id, Members: members, Threshold: uint32(threshold)}))
	for i := range members {
		key, _ := shares[i].Key.MarshalBinary()
		c.mustOK(t, c.tx(t, i, &ledgerpb.CommitteeConfirm{CommitteeId: id, CommitteeKey: key}))
	}
	var com ledgerpb.Committee
	if found, _ := loadProto(committedReader{c.app.store}, keyCommittee(id), &com); !found || com.Status != CommitteeActive {
		t.Fatalf("committee %s after 4 confirmations: %+v", id, &com)
	}
	return shares
}

// tx signs msg as member i.
func (c *jobChain) tx(t *testing.T, i int, msg proto.Message) []byte {
	t.Helper()
	c.nextID++
	p := &ledgerpb.TxPayload{ChainId: testChain, TxId: txID(c.nextID), Signer: c.ms[i].name}
	switch m := msg.(type) {
	case *ledgerpb.CommitteeCreate:
		p.Msg = &ledgerpb.TxPayload_CommitteeCreate{CommitteeCreate: m}
	case *ledgerpb.CommitteeConfirm:
		p.Msg = &ledgerpb.TxPayload_CommitteeConfirm{CommitteeConfirm: m}
	case *ledgerpb.JobSubmit:
		p.Msg = &ledgerpb.TxPayload_JobSubmit{JobSubmit: m}
	case *ledgerpb.JobInput:
		p.Msg = &ledgerpb.TxPayload_JobInput{JobInput: m}
	case *ledgerpb.JobResult:
		p.Msg = &ledgerpb.TxPayload_JobResult{JobResult: m}
	case *ledgerpb.JobAbort:
		p.Msg = &ledgerpb.TxPayload_JobAbort{JobAbort: m}
	case *ledgerpb.OrderCreate:
		p.Msg = &ledgerpb.TxPayload_OrderCreate{OrderCreate: m}
	case *ledgerpb.OrderSign:
		p.Msg = &ledgerpb.TxPayload_OrderSign{OrderSign: m}
	case *ledgerpb.OrderTerminate:
		p.Msg = &ledgerpb.TxPayload_OrderTerminate{OrderTerminate: m}
	case *ledgerpb.OrderAward:
		p.Msg = &ledgerpb.TxPayload_OrderAward{OrderAward: m}
	case *ledgerpb.PolicyUpdate:
		p.Msg = &ledgerpb.TxPayload_PolicyUpdate{PolicyUpdate: m}
	default:
		t.Fatalf("unsupported message %T", msg)
	}
	raw, err := SignTx(c.ms[i].key, p)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (c *jobChain) block(t *testing.T, txs ...[]byte) []*abci.ExecTxResult {
	t.Helper()
	c.height++
	return c.finalize(t, txs...).TxResults
}

// finalize runs block c.height on the app and every replica and checks
// that they agree on the AppHash.
func (c *jobChain) finalize(t *testing.T, txs ...[]byte) *abci.ResponseFinalizeBlock {
	t.Helper()
	resp := finalize(t, c.app, c.height, txs...)
	for i, r := range c.replicas {
		if got := finalize(t, r, c.height, txs...).AppHash; !bytes.Equal(got, resp.AppHash) {
			t.Fatalf("height %d: replica %d AppHash %x differs from %x", c.height, i, got, resp.AppHash)
		}
	}
	return resp
}

func (c *jobChain) mustOK(t *testing.T, tx []byte) {
	t.Helper()
	if r := c.block(t, tx)[0]; r.Code != CodeOK {
		t.Fatalf("tx failed: %d %s", r.Code, r.Log)
	}
}

func (c *jobChain) job(t *testing.T, id string) *ledgerpb.Job {
	t.Helper()
	var j ledgerpb.Job
	if found, err := loadProto(committedReader{c.app.store}, keyJob(id), &j); !found || err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	return &j
}

// bid commits a provider's bid and proves it lies in the job's range.
func (c *jobChain) bid(t *testing.T, jobID string, value uint64, lo, hi uint64) *ledgerpb.JobInput {
	t.Helper()
	salt, _ := zk.NewSalt(rand.Reader)
	w := zk.InputWitness{Value: zk.Uint64(value), Salt: zk.FeltOf(salt), Lo: zk.Uint64(lo), Hi: zk.Uint64(hi)}
	pf, err := c.keys.Prove(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	proof, _ := pf.ProofBytes()
	cm := zk.InputCommitment(value, salt)
	cb := cm.Bytes()
	return &ledgerpb.JobInput{JobId: jobID, Commitment: cb[:], VkId: c.keys.Info.VKID, Proof: proof}
}

func (c *jobChain) sign(t *testing.T, j *ledgerpb.Job, output []byte, signers ...int) []byte {
	t.Helper()
	msg, err := ResultMessage(j, output)
	if err != nil {
		t.Fatal(err)
	}
	var partials [][]byte
	for _, i := range signers {
		p, err := committee.SignPartial(c.shares[i], msg)
		if err != nil {
			t.Fatal(err)
		}
		partials = append(partials, p)
	}
	sig, err := committee.Combine(c.shares[0].Key, msg, partials)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestJobLifecycle(t *testing.T) {
	c := newJobChain(t)
	auction := func(id string, deadline int64) *ledgerpb.JobSubmit {
		return &ledgerpb.JobSubmit{JobId: id, Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`),
			Providers: []string{"node0", "node1"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + deadline}
	}

	t.Run("access: the policy's roles decide who submits", func(t *testing.T) {
		// Only the platform may submit clearing jobs under the default policy.
		s := auction("J-clear", 50)
		s.Type, s.Params = "clearing", []byte(`{"prices":[10,11],"sides":["buyer","seller"]}`)
		r := c.block(t, c.tx(t, 0, s))[0]
		if r.Code != CodeUnauthorized || !strings.Contains(r.Log, "clearing") {
			t.Fatalf("enterprise submitting clearing: %d %s", r.Code, r.Log)
		}
	})

	t.Run("completed with the committee's signature", func(t *testing.T) {
		c.mustOK(t, c.tx(t, 2, auction("J-1", 50)))
		c.mustOK(t, c.tx(t, 0, c.bid(t, "J-1", 700, 0, 1000000)))
		if j := c.job(t, "J-1"); j.Status != JobCollecting {
			t.Fatalf("after one of two inputs: %s", j.Status)
		}
		c.mustOK(t, c.tx(t, 1, c.bid(t, "J-1", 900, 0, 1000000)))
		j := c.job(t, "J-1")
		if j.Status != JobRunning {
			t.Fatalf("after both inputs: %s", j.Status)
		}
		output := []byte("output commitment of J-1")
		// A signature over another output, and one by another committee's key.
		wrong := c.sign(t, j, []byte("another output"), 0, 1, 2)
		if r := c.block(t, c.tx(t, 3, &ledgerpb.JobResult{JobId: "J-1", OutputCommitment: output, Signature: wrong}))[0]; r.Code != CodeBadSignature {
			t.Fatalf("result with a wrong signature: %d %s", r.Code, r.Log)
		}
		good := c.sign(t, j, output, 1, 2, 3)
		before := creditOf(t, c.app, "node3").Credit
		c.mustOK(t, c.tx(t, 3, &ledgerpb.JobResult{JobId: "J-1", OutputCommitment: output, Signature: good}))
		if j := c.job(t, "J-1"); j.Status != JobCompleted {
			t.Fatalf("after the result: %s", j.Status)
		}
		after := creditOf(t, c.app, "node3").Credit
		if after.Score != before.Score+ratingJobParticipation || after.Output != before.Output+1 {
			t.Fatalf("committee credit %+v → %+v", before, after)
		}
		// No attestation of a completed job.
		c.refused(t, 0, &ledgerpb.JobAbort{JobId: "J-1", Reason: "member-dropped: node3", Fault: FaultMemberDropped, Culprit: "node3"},
			CodeJobFinished, `job "J-1" is completed`)
	})

	t.Run("an invalid input proof aborts the job and names the provider", func(t *testing.T) {
		c.mustOK(t, c.tx(t, 2, auction("J-2", 50)))
		in := c.bid(t, "J-2", 500, 0, 1000000)
		other := c.bid(t, "J-2", 501, 0, 1000000)
		in.Proof = other.Proof // a proof about another commitment
		r := c.block(t, c.tx(t, 0, in))[0]
		if r.Code != CodeInvalidProof {
			t.Fatalf("invalid input proof: %d %s", r.Code, r.Log)
		}
		j := c.job(t, "J-2")
		if j.Status != JobAborted || j.Culprit != "node0" || !strings.Contains(j.AbortReason, "invalid input-validity proof") {
			t.Fatalf("job after an invalid input proof: %+v", j)
		}
	})

	t.Run("a provider that never sends its input", func(t *testing.T) {
		c.mustOK(t, c.tx(t, 2, auction("J-3", 3)))
		c.mustOK(t, c.tx(t, 0, c.bid(t, "J-3", 10, 0, 1000000)))
		before := creditOf(t, c.app, "node1").Credit.Score
		for i := 0; i < 3; i++ {
			c.block(t)
		}
		j := c.job(t, "J-3")
		if j.Status != JobAborted || j.Culprit != "node1" || !strings.Contains(j.AbortReason, "node1") {
			t.Fatalf("job after its deadline: %+v", j)
		}
		if got := creditOf(t, c.app, "node1").Credit.Score; got != before+ratingJobTimeout {
			t.Fatalf("silent provider's credit %d → %d", before, got)
		}
	})

	t.Run("a member supplies several input slots", func(t *testing.T) {
		s := auction("J-5", 12)
		s.Providers = []string{"node0", "node0/client-1", "node1/client-1"}
		c.mustOK(t, c.tx(t, 2, s))
		for _, bad := range [][]string{{"node0/"}, {"node0/a/b"}, {"node0/x", "node0/x"}, {"nobody/x"}} {
			s := auction("J-bad", 50)
			s.Providers = bad
			if r := c.block(t, c.tx(t, 2, s))[0]; r.Code != CodeInvalid {
				t.Fatalf("providers %q accepted: %d %s", bad, r.Code, r.Log)
			}
		}
		own := c.bid(t, "J-5", 10, 0, 1000000)
		client := c.bid(t, "J-5", 20, 0, 1000000)
		client.Provider = "node0/client-1"
		// node1 cannot fill node0's client slot.
		if r := c.block(t, c.tx(t, 1, client))[0]; r.Code != CodeUnauthorized {
			t.Fatalf("another member's slot: %d %s", r.Code, r.Log)
		}
		c.mustOK(t, c.tx(t, 0, own))
		c.mustOK(t, c.tx(t, 0, client))
		if r := c.block(t, c.tx(t, 0, client))[0]; r.Code == CodeOK {
			t.Fatal("a slot was filled twice")
		}
		j := c.job(t, "J-5")
		if len(j.InputCommitments[0]) == 0 || len(j.InputCommitments[1]) == 0 || j.Status != JobCollecting {
			t.Fatalf("after node0's two inputs: %+v", j)
		}
		// node1 never fills its client's slot: the slot is named, node1 pays.
		before := creditOf(t, c.app, "node1").Credit.Score
		for i := 0; i < 12 && c.job(t, "J-5").Status == JobCollecting; i++ {
			c.block(t)
		}
		j = c.job(t, "J-5")
		if j.Status != JobAborted || j.Culprit != "node1/client-1" {
			t.Fatalf("job after its deadline: %+v", j)
		}
		if got := creditOf(t, c.app, "node1").Credit.Score; got != before+ratingJobTimeout {
			t.Fatalf("node1's credit %d → %d", before, got)
		}
	})

	t.Run("other jobs are unaffected, and an abort records its reason", func(t *testing.T) {
		c.mustOK(t, c.tx(t, 2, auction("J-4", 50)))
		c.mustOK(t, c.tx(t, 1, &ledgerpb.JobAbort{JobId: "J-4", Reason: "commitment mismatch: provider node0", Culprit: "node0"}))
		if j := c.job(t, "J-4"); j.Status != JobAborted || !strings.Contains(j.AbortReason, "mismatch") {
			t.Fatalf("aborted job: %+v", j)
		}
		if j := c.job(t, "J-1"); j.Status != JobCompleted {
			t.Fatalf("an abort touched another job: %+v", j)
		}
		if r := c.block(t, c.tx(t, 0, &ledgerpb.JobAbort{JobId: "J-1", Reason: "late"}))[0]; r.Code != CodeJobFinished {
			t.Fatalf("a completed job was aborted: %d %s", r.Code, r.Log)
		}
	})
}

// TestHEInputEvaluatedOnce: an HE input commitment (the hash of a provider's
// ciphertexts) fills one job only — a second job on the same ciphertexts
// would give a vetoing recipient more key switches of the same evaluated
// ciphertext — also when both commitments come in one block.
func TestHEInputEvaluatedOnce(t *testing.T) {
	c := newJobChain(t)
	c.activeCommittee(t, "c2", 2) // HE jobs need t = ⌈n/2⌉
	aggregate := func(id string) *ledgerpb.JobSubmit {
		return &ledgerpb.JobSubmit{JobId: id, Type: "aggregate", Params: []byte(`{"bins":4,"lo":0,"hi":100}`),
			Providers: []string{"node0", "node1"}, CommitteeId: "c2", Recipient: "node2", DeadlineHeight: c.height + 50}
	}
	for _, id := range []string{"G-1", "G-2", "G-3"} {
		c.mustOK(t, c.tx(t, 2, aggregate(id)))
	}
	ciphertexts := bytes.Repeat([]byte{7}, 32)
	input := func(job string, commitment []byte) *ledgerpb.JobInput {
		return &ledgerpb.JobInput{JobId: job, Commitment: commitment}
	}
	c.mustOK(t, c.tx(t, 0, input("G-1", ciphertexts)))
	r := c.block(t, c.tx(t, 0, input("G-2", ciphertexts)))[0]
	if r.Code != CodeInvalid || !strings.Contains(r.Log, "one job only") || !strings.Contains(r.Log, "G-1") {
		t.Fatalf("the same ciphertexts in a second job: %d %s", r.Code, r.Log)
	}
	// Two jobs in one block: the second is refused in FinalizeBlock.
	other := bytes.Repeat([]byte{8}, 32)
	rs := c.block(t, c.tx(t, 1, input("G-2", other)), c.tx(t, 1, input("G-3", other)))
	if rs[0].Code != CodeOK || rs[1].Code != CodeInvalid {
		t.Fatalf("one commitment for two jobs in a block: %d %s / %d %s", rs[0].Code, rs[0].Log, rs[1].Code, rs[1].Log)
	}
	// Fresh ciphertexts are fine.
	c.mustOK(t, c.tx(t, 0, input("G-2", bytes.Repeat([]byte{9}, 32))))
	if j := c.job(t, "G-2"); j.Status != JobRunning {
		t.Fatalf("G-2 after both fresh inputs: %s", j.Status)
	}
}
