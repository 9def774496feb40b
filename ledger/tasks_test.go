package ledger

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/zk"
)

// completionKeys are development keys, made once per test binary: the
// circuit's trusted setup takes a few seconds.
var completionKeys = sync.OnceValues(func() (*zk.Keys, error) {
	return zk.DevSetup(context.Background(), zk.CircuitCompletion)
})

func taskGenesis(t testing.TB, epoch int64, names ...string) ([]testMember, []byte, *zk.Keys) {
	t.Helper()
	keys, err := completionKeys()
	if err != nil {
		t.Fatal(err)
	}
	ms, raw := testGenesis(t, names...)
	var g Genesis
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	p := DefaultParams()
	p.EpochLength = epoch
	g.Params = &p
	g.VerifyingKeys = []GenesisKey{{Circuit: zk.CircuitCompletion, Key: keys.VKBytes}}
	raw, err = json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return ms, raw, keys
}

// order is a buyer's side of a task: the order and the key that signs deliveries.
type order struct {
	id       string
	quantity uint64
	salt     fr.Element
	signKey  *eddsa.PrivateKey
}

func newOrder(t testing.TB, id string, quantity uint64) order {
	t.Helper()
	k, err := zk.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	salt, err := zk.NewSalt(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return order{id: id, quantity: quantity, salt: salt, signKey: k}
}

func (o order) commitment() []byte {
	c := zk.OrderCommitment(TaskFelt(o.id), o.quantity, o.salt)
	b := c.Bytes()
	return b[:]
}

func signPayload(t testing.TB, m testMember, id int, msg any) []byte {
	t.Helper()
	p := &ledgerpb.TxPayload{ChainId: testChain, TxId: txID(id), Signer: m.name}
	switch v := msg.(type) {
	case *ledgerpb.TaskAssign:
		p.Msg = &ledgerpb.TxPayload_TaskAssign{TaskAssign: v}
	case *ledgerpb.TaskComplete:
		p.Msg = &ledgerpb.TxPayload_TaskComplete{TaskComplete: v}
	default:
		t.Fatalf("unsupported message %T", msg)
	}
	raw, err := SignTx(m.key, p)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func assignTx(t testing.TB, buyer testMember, id int, o order, assignee string, threshold uint32, deadline int64) []byte {
	return signPayload(t, buyer, id, &ledgerpb.TaskAssign{
		TaskId: o.id, Assignee: assignee, OrderCommitment: o.commitment(), ThresholdBps: threshold,
		CounterpartyKey: o.signKey.PublicKey.Bytes(), DeadlineHeight: deadline,
	})
}

// completeMsg proves delivery of `delivered` units at `quality` bps, claiming `claim` bps.
func completeMsg(t testing.TB, keys *zk.Keys, o order, delivered, quality uint64, claim uint32) *ledgerpb.TaskComplete {
	t.Helper()
	dsalt, _ := zk.NewSalt(rand.Reader)
	delivery := zk.DeliveryCommitment(TaskFelt(o.id), delivered, quality, dsalt)
	sig, err := zk.SignDelivery(o.signKey, delivery)
	if err != nil {
		t.Fatal(err)
	}
	w := zk.CompletionWitness{
		TaskID: zk.FeltOf(TaskFelt(o.id)), OrderQuantity: zk.Uint64(o.quantity), OrderSalt: zk.FeltOf(o.salt),
		DeliveredQuantity: zk.Uint64(delivered), QualityBps: zk.Uint64(quality), DeliverySalt: zk.FeltOf(dsalt),
		ThresholdBps: zk.Uint64(claim), CounterpartyKey: o.signKey.PublicKey.Bytes(), Signature: sig,
	}
	pf, err := keys.Prove(context.Background(), w)
	if err != nil {
		t.Fatalf("prove completion: %v", err)
	}
	proof, err := pf.ProofBytes()
	if err != nil {
		t.Fatal(err)
	}
	db := delivery.Bytes()
	return &ledgerpb.TaskComplete{TaskId: o.id, DeliveryCommitment: db[:], ClaimedBps: claim, VkId: keys.Info.VKID, Proof: proof}
}

func creditOf(t testing.TB, app *App, name string) *ledgerpb.CreditReport {
	t.Helper()
	q, _ := app.Query(context.Background(), &abci.RequestQuery{Path: QueryCredit, Data: []byte(name)})
	var r ledgerpb.CreditReport
	if q.Code != CodeOK || proto.Unmarshal(q.Value, &r) != nil {
		t.Fatalf("credit of %s: %d %s", name, q.Code, q.Log)
	}
	return &r
}

func taskOf(t testing.TB, app *App, id string) *ledgerpb.Task {
	t.Helper()
	q, _ := app.Query(context.Background(), &abci.RequestQuery{Path: QueryTask, Data: []byte(id)})
	var task ledgerpb.Task
	if q.Code != CodeOK || proto.Unmarshal(q.Value, &task) != nil {
		t.Fatalf("task %s: %d %s", id, q.Code, q.Log)
	}
	return &task
}

func TestTaskCompletionMovesCredit(t *testing.T) {
	ms, gen, keys := taskGenesis(t, 1000, "buyer", "seller")
	buyer, seller := ms[0], ms[1]
	app := newTestApp(t, gen)
	o := newOrder(t, "T-1", 1000)
	if r := finalize(t, app, 1, assignTx(t, buyer, 1, o, "seller", 9000, 50)); r.TxResults[0].Code != CodeOK {
		t.Fatalf("assign: %s", r.TxResults[0].Log)
	}

	// A delivery of 85% proves an 80% band, below the task's 90% threshold.
	below := signPayload(t, seller, 2, completeMsg(t, keys, o, 860, 9900, 8000))
	if r := checkTx(t, app, below); r.Code != CodeBelowThreshold {
		t.Fatalf("completion below threshold: CheckTx code %d (%s)", r.Code, r.Log)
	}
	if r := finalize(t, app, 2, below); r.TxResults[0].Code != CodeBelowThreshold {
		t.Fatalf("completion below threshold: FinalizeBlock code %d", r.TxResults[0].Code)
	}
	// 950 units at 99% quality reach the 90% band but not 100%.
	before := creditOf(t, app, "seller").Credit.Score
	good := signPayload(t, seller, 3, completeMsg(t, keys, o, 950, 9900, 9000))
	r := finalize(t, app, 3, good)
	if r.TxResults[0].Code != CodeOK {
		t.Fatalf("complete: %s", r.TxResults[0].Log)
	}
	task := taskOf(t, app, "T-1")
	if task.Status != TaskCompleted || task.CompletedBps != 9000 {
		t.Fatalf("task after completion: %+v", task)
	}
	rep := creditOf(t, app, "seller")
	if rep.Credit.Score != before+ratingTaskHigh || rep.Credit.Output != 1 {
		t.Fatalf("seller credit %d output %d; want %d and 1", rep.Credit.Score, rep.Credit.Output, before+ratingTaskHigh)
	}
	if len(rep.History) != 1 || rep.History[0].Delta != ratingTaskHigh {
		t.Fatalf("history %v", rep.History)
	}
	if r := checkTx(t, app, signPayload(t, seller, 4, completeMsg(t, keys, o, 950, 9900, 9000))); r.Code != CodeInvalid {
		t.Fatalf("second completion of a completed task: code %d", r.Code)
	}
}

func TestInvalidCompletionProofCostsCredit(t *testing.T) {
	ms, gen, keys := taskGenesis(t, 1000, "buyer", "seller")
	buyer, seller := ms[0], ms[1]
	app := newTestApp(t, gen)
	o := newOrder(t, "T-2", 1000)
	finalize(t, app, 1, assignTx(t, buyer, 1, o, "seller", 5000, 50))
	msg := completeMsg(t, keys, o, 1000, 10000, 10000)
	// Claim a delivery other than the one proven.
	other := zk.DeliveryCommitment(TaskFelt(o.id), 1000, 10000, fr.NewElement(7))
	ob := other.Bytes()
	msg.DeliveryCommitment = ob[:]
	tx := signPayload(t, seller, 2, msg)
	if r := checkTx(t, app, tx); r.Code != CodeOK {
		t.Fatalf("CheckTx does only cheap checks; got %d %s", r.Code, r.Log)
	}
	r := finalize(t, app, 2, tx)
	if r.TxResults[0].Code != CodeInvalidProof {
		t.Fatalf("FinalizeBlock code %d (%s), want invalid proof", r.TxResults[0].Code, r.TxResults[0].Log)
	}
	if task := taskOf(t, app, "T-2"); task.Status != TaskOpen {
		t.Fatalf("task %s after an invalid proof", task.Status)
	}
	if got := creditOf(t, app, "seller").Credit.Score; got != DefaultParams().InitialCredit+ratingInvalidProof {
		t.Fatalf("seller credit %d after an invalid proof", got)
	}
	if r := checkTx(t, app, tx); r.Code != CodeReplay {
		t.Fatalf("the failed tx can be replayed: code %d", r.Code)
	}
}

func TestTaskTimeoutAtEpoch(t *testing.T) {
	ms, gen, _ := taskGenesis(t, 5, "buyer", "seller")
	app := newTestApp(t, gen)
	o := newOrder(t, "T-3", 10)
	finalize(t, app, 1, assignTx(t, ms[0], 1, o, "seller", 5000, 3))
	for h := int64(2); h <= 5; h++ {
		finalize(t, app, h)
	}
	if task := taskOf(t, app, "T-3"); task.Status != TaskTimedOut {
		t.Fatalf("task %s after its deadline and an epoch", task.Status)
	}
	rep := creditOf(t, app, "seller")
	initial := DefaultParams().InitialCredit
	afterTimeout := initial + ratingTaskTimeout
	want := afterTimeout + (DefaultParams().CreditBaseline-afterTimeout)/DefaultParams().CreditDecayDivisor
	if rep.Credit.Score != want || len(rep.History) != 2 || rep.History[0].Delta != ratingTaskTimeout {
		t.Fatalf("seller credit %d history %v; want %d after timeout and decay", rep.Credit.Score, rep.History, want)
	}
}
