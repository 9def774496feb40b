package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// orderEnv drives identical blocks through several apps (so every test also
// checks that they agree on the AppHash) and signs txs for its members.
type orderEnv struct {
	t       testing.TB
	apps    []*App
	ms      map[string]testMember
	keys    *zk.Keys
	signKey *eddsa.PrivateKey // the demander's delivery-signing key
	height  int64
	nextID  int
}

func newOrderEnv(t testing.TB, epoch int64, apps int) *orderEnv {
	t.Helper()
	ms, gen, keys := taskGenesis(t, epoch, "buyer", "p1", "p2", "p3")
	return newOrderEnvFrom(t, ms, gen, keys, apps)
}

// newOrderEnvFrom builds an env on a genesis; keys may be nil when the test
// proves no completion.
func newOrderEnvFrom(t testing.TB, ms []testMember, gen []byte, keys *zk.Keys, apps int) *orderEnv {
	t.Helper()
	e := &orderEnv{t: t, ms: map[string]testMember{}, keys: keys}
	for _, m := range ms {
		e.ms[m.name] = m
	}
	for range apps {
		e.apps = append(e.apps, newTestApp(t, gen))
	}
	k, err := zk.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.signKey = k
	return e
}

func (e *orderEnv) app() *App { return e.apps[0] }

// tx signs msg as signer with a fresh tx ID.
func (e *orderEnv) tx(signer string, msg proto.Message) []byte {
	e.t.Helper()
	e.nextID++
	p := &ledgerpb.TxPayload{ChainId: testChain, TxId: txID(1000 + e.nextID), Signer: signer}
	switch m := msg.(type) {
	case *ledgerpb.OrderCreate:
		p.Msg = &ledgerpb.TxPayload_OrderCreate{OrderCreate: m}
	case *ledgerpb.OrderSign:
		p.Msg = &ledgerpb.TxPayload_OrderSign{OrderSign: m}
	case *ledgerpb.OrderResume:
		p.Msg = &ledgerpb.TxPayload_OrderResume{OrderResume: m}
	case *ledgerpb.OrderTerminate:
		p.Msg = &ledgerpb.TxPayload_OrderTerminate{OrderTerminate: m}
	case *ledgerpb.OrderSettle:
		p.Msg = &ledgerpb.TxPayload_OrderSettle{OrderSettle: m}
	case *ledgerpb.OrderAward:
		p.Msg = &ledgerpb.TxPayload_OrderAward{OrderAward: m}
	case *ledgerpb.TaskComplete:
		p.Msg = &ledgerpb.TxPayload_TaskComplete{TaskComplete: m}
	case *ledgerpb.TaskAssign:
		p.Msg = &ledgerpb.TxPayload_TaskAssign{TaskAssign: m}
	default:
		e.t.Fatalf("unsupported message %T", msg)
	}
	raw, err := SignTx(e.ms[signer].key, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// block finalizes the next block on every app, checks they agree on the
// AppHash, and returns the results of the first.
func (e *orderEnv) block(txs ...[]byte) []*abci.ExecTxResult {
	e.t.Helper()
	e.height++
	var first *abci.ResponseFinalizeBlock
	for i, app := range e.apps {
		r := finalize(e.t, app, e.height, txs...)
		if i == 0 {
			first = r
		} else if !bytes.Equal(r.AppHash, first.AppHash) {
			e.t.Fatalf("height %d: app %d AppHash %x differs from app 0's %x", e.height, i, r.AppHash, first.AppHash)
		}
	}
	return first.TxResults
}

// ok finalizes one tx in its own block and requires it to pass.
func (e *orderEnv) ok(raw []byte) *abci.ExecTxResult {
	e.t.Helper()
	r := e.block(raw)[0]
	if r.Code != CodeOK {
		e.t.Fatalf("height %d: tx refused: code %d: %s", e.height, r.Code, r.Log)
	}
	return r
}

// refused finalizes one tx and requires the given code.
func (e *orderEnv) refused(raw []byte, code uint32, contains string) {
	e.t.Helper()
	if c := checkTx(e.t, e.app(), raw); c.Code != code {
		e.t.Fatalf("CheckTx code %d (%s), want %d", c.Code, c.Log, code)
	}
	r := e.block(raw)[0]
	if r.Code != code || !strings.Contains(r.Log, contains) {
		e.t.Fatalf("height %d: code %d (%s), want %d containing %q", e.height, r.Code, r.Log, code, contains)
	}
}

func (e *orderEnv) order(id string) *ledgerpb.Order {
	e.t.Helper()
	q, _ := e.app().Query(context.Background(), &abci.RequestQuery{Path: QueryOrder, Data: []byte(id)})
	var o ledgerpb.Order
	if q.Code != CodeOK || proto.Unmarshal(q.Value, &o) != nil {
		e.t.Fatalf("order %s: %d %s", id, q.Code, q.Log)
	}
	return &o
}

func (e *orderEnv) score(name string) int64 { return creditOf(e.t, e.app(), name).Credit.Score }

// terms is an order of 100 units split 60/40 between p1 and p2.
func (e *orderEnv) terms(id, mode string, deadline int64) *ledgerpb.OrderCreate {
	return orderTerms(id, mode, deadline, e.signKey.PublicKey.Bytes())
}

func orderTerms(id, mode string, deadline int64, counterpartyKey []byte) *ledgerpb.OrderCreate {
	t := &ledgerpb.OrderCreate{
		OrderId: id, Product: "gearbox housings", Quantity: 100, DeadlineHeight: deadline, MinGrade: "BBB",
		MaxPartners: 3, Mode: mode, ThresholdBps: 8000, CounterpartyKey: counterpartyKey,
		Partners: []*ledgerpb.OrderPartner{
			{Member: "p1", Quantity: 60, UnitValue: 1_000},
			{Member: "p2", Quantity: 40, UnitValue: 1_500},
		},
	}
	if mode != ModeFixed {
		t.ProfitPool = 1_000_003
	}
	if mode != ModeOutputSharing {
		t.Partners[0].FixedAmount, t.Partners[1].FixedAmount = 50_000, 30_000
	}
	t.Funds = payable(t)
	return t
}

// activate creates the order and has every partner sign it.
func (e *orderEnv) activate(terms *ledgerpb.OrderCreate) *ledgerpb.Order {
	e.t.Helper()
	e.ok(e.tx("buyer", terms))
	h, err := OrderTermsHash(terms)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range terms.Partners {
		e.ok(e.tx(p.Member, &ledgerpb.OrderSign{OrderId: terms.OrderId, TermsHash: h}))
	}
	o := e.order(terms.OrderId)
	if o.Status != OrderActive {
		e.t.Fatalf("order %s is %s after every signature", o.Id, o.Status)
	}
	return o
}

// complete proves that the partner of taskID delivered `delivered` of
// quantity at full quality and claims `claim` bps.
func (e *orderEnv) complete(taskID string, quantity, delivered uint64, claim uint32) *ledgerpb.TaskComplete {
	e.t.Helper()
	dsalt, err := zk.NewSalt(rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	delivery := zk.DeliveryCommitment(TaskFelt(taskID), delivered, basisPoints, dsalt)
	sig, err := zk.SignDelivery(e.signKey, delivery)
	if err != nil {
		e.t.Fatal(err)
	}
	w := zk.CompletionWitness{
		TaskID: zk.FeltOf(TaskFelt(taskID)), OrderQuantity: zk.Uint64(quantity), OrderSalt: zk.FeltOf(OrderTaskSalt(taskID)),
		DeliveredQuantity: zk.Uint64(delivered), QualityBps: zk.Uint64(basisPoints), DeliverySalt: zk.FeltOf(dsalt),
		ThresholdBps: zk.Uint64(claim), CounterpartyKey: e.signKey.PublicKey.Bytes(), Signature: sig,
	}
	pf, err := e.keys.Prove(context.Background(), w)
	if err != nil {
		e.t.Fatalf("prove completion: %v", err)
	}
	proof, err := pf.ProofBytes()
	if err != nil {
		e.t.Fatal(err)
	}
	db := delivery.Bytes()
	return &ledgerpb.TaskComplete{TaskId: taskID, DeliveryCommitment: db[:], ClaimedBps: claim, VkId: e.keys.Info.VKID, Proof: proof}
}

func lastTransition(o *ledgerpb.Order) *ledgerpb.OrderTransition {
	return o.Transitions[len(o.Transitions)-1]
}

func TestOrderSignedByAllOpensTasks(t *testing.T) {
	e := newOrderEnv(t, 1000, 2)
	terms := e.terms("O-1", ModeOutputSharing, 50)
	e.ok(e.tx("buyer", terms))
	if o := e.order("O-1"); o.Status != OrderDraft || len(o.Signed) != 1 || o.Signed[0] != "buyer" {
		t.Fatalf("order after creation: %s signed %v", o.Status, o.Signed)
	}
	h, _ := OrderTermsHash(terms)
	e.refused(e.tx("p3", &ledgerpb.OrderSign{OrderId: "O-1", TermsHash: h}), CodeUnauthorized, "not a party")
	e.refused(e.tx("p1", &ledgerpb.OrderSign{OrderId: "O-1", TermsHash: bytes.Repeat([]byte{1}, 32)}), CodeInvalid, "signature is over terms")
	e.ok(e.tx("p1", &ledgerpb.OrderSign{OrderId: "O-1", TermsHash: h}))
	e.refused(e.tx("p1", &ledgerpb.OrderSign{OrderId: "O-1", TermsHash: h}), CodeInvalid, "already signed")
	if o := e.order("O-1"); o.Status != OrderDraft || len(o.TaskIds) != 0 {
		t.Fatalf("order with one partner's signature missing: %s tasks %v", o.Status, o.TaskIds)
	}
	before := e.score("p2")
	e.ok(e.tx("p2", &ledgerpb.OrderSign{OrderId: "O-1", TermsHash: h}))
	o := e.order("O-1")
	if o.Status != OrderActive || len(o.TaskIds) != 2 || lastTransition(o).From != OrderDraft {
		t.Fatalf("order after every signature: %s tasks %v", o.Status, o.TaskIds)
	}
	for i, id := range o.TaskIds {
		task := taskOf(t, e.app(), id)
		p := terms.Partners[i]
		if task.OrderId != "O-1" || task.Assignee != p.Member || task.Buyer != "buyer" || task.Status != TaskOpen ||
			task.DeadlineHeight != 50 || task.ThresholdBps != 8000 || !bytes.Equal(task.OrderCommitment, OrderTaskCommitment(id, p.Quantity)) {
			t.Fatalf("task %d: %+v", i, task)
		}
	}
	if got := e.score("p2"); got != before+policies.DefaultOrderCredit.Activated {
		t.Fatalf("p2 credit %d after activation, want %d", got, before+policies.DefaultOrderCredit.Activated)
	}
	// Nobody can take an order's task IDs through task.assign.
	e.refused(e.tx("buyer", &ledgerpb.TaskAssign{TaskId: OrderTaskID("O-2", 0), Assignee: "p1",
		OrderCommitment: OrderTaskCommitment("x", 1), ThresholdBps: 1, CounterpartyKey: e.signKey.PublicKey.Bytes(),
		DeadlineHeight: 60}), CodeInvalid, "reserved for orders")
}

func TestOrderInvalidTermsRefusedAtCreation(t *testing.T) {
	e := newOrderEnv(t, 1000, 1)
	cases := []struct {
		name  string
		edit  func(*ledgerpb.OrderCreate)
		error string
	}{
		{"quantities", func(o *ledgerpb.OrderCreate) { o.Partners[1].Quantity = 39 }, "sum to 99"},
		{"zero quantity", func(o *ledgerpb.OrderCreate) { o.Partners[1].Quantity = 0; o.Quantity = 60 }, "quantity must be"},
		{"funds", func(o *ledgerpb.OrderCreate) { o.Funds-- }, "do not cover"},
		{"deadline", func(o *ledgerpb.OrderCreate) { o.DeadlineHeight = 1 }, "deadline height"},
		{"unknown partner", func(o *ledgerpb.OrderCreate) { o.Partners[1].Member = "nobody" }, "not a member"},
		{"self", func(o *ledgerpb.OrderCreate) { o.Partners[1].Member = "buyer" }, "its own partner"},
		{"twice", func(o *ledgerpb.OrderCreate) { o.Partners[1].Member = "p1" }, "named twice"},
		{"too many", func(o *ledgerpb.OrderCreate) { o.MaxPartners = 1 }, "max partners"},
		{"grade", func(o *ledgerpb.OrderCreate) { o.MinGrade = "Z" }, "not a grade"},
		{"mode", func(o *ledgerpb.OrderCreate) { o.Mode = "barter" }, "settlement mode"},
		{"id", func(o *ledgerpb.OrderCreate) { o.OrderId = "a/b" }, "order id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			terms := e.terms("O-bad", ModeHybrid, 50)
			tc.edit(terms)
			e.refused(e.tx("buyer", terms), CodeInvalid, tc.error)
		})
	}
	e.ok(e.tx("buyer", e.terms("O-dup", ModeFixed, 50)))
	e.refused(e.tx("buyer", e.terms("O-dup", ModeFixed, 50)), CodeInvalid, "already exists")
}

// TestOrderUnderGradeRefusedAtSigning: the partners' grades are checked when
// the last one signs; the refused signature changes nothing (the AppHash is
// that of an empty block) and the order stays a draft.
func TestOrderUnderGradeRefusedAtSigning(t *testing.T) {
	e := newOrderEnv(t, 1000, 2)
	terms := e.terms("O-3", ModeOutputSharing, 50)
	terms.MinGrade = "A" // 700; every member starts at 600 (BBB)
	e.ok(e.tx("buyer", terms))
	h, _ := OrderTermsHash(terms)
	e.ok(e.tx("p1", &ledgerpb.OrderSign{OrderId: "O-3", TermsHash: h}))

	last := e.tx("p2", &ledgerpb.OrderSign{OrderId: "O-3", TermsHash: h})
	if c := checkTx(t, e.app(), last); c.Code != CodeUnauthorized || !strings.Contains(c.Log, "grade BBB (rating 600), below the minimum A") {
		t.Fatalf("CheckTx of the last signature: %d %s", c.Code, c.Log)
	}
	e.height++
	withTx := finalize(t, e.apps[0], e.height, last)
	empty := finalize(t, e.apps[1], e.height)
	if r := withTx.TxResults[0]; r.Code != CodeUnauthorized || !strings.Contains(r.Log, "invalid at signing") {
		t.Fatalf("last signature: code %d %s", r.Code, r.Log)
	}
	if !bytes.Equal(withTx.AppHash, empty.AppHash) {
		t.Fatal("a refused signature changed the state")
	}
	if o := e.order("O-3"); o.Status != OrderDraft || len(o.Signed) != 2 || len(o.TaskIds) != 0 {
		t.Fatalf("order after a refused signature: %s signed %v", o.Status, o.Signed)
	}
	if task, err := loadTask(committedReader{e.app().store}, OrderTaskID("O-3", 0)); err != nil || task != nil {
		t.Fatalf("a refused order opened a task: %v %v", task, err)
	}
	// A draft ends on any party's refusal.
	e.ok(e.tx("p2", &ledgerpb.OrderTerminate{OrderId: "O-3", Version: 1, Reason: "grade too low"}))
	if o := e.order("O-3"); o.Status != OrderTerminated {
		t.Fatalf("draft after a party's refusal: %s", o.Status)
	}
}

// TestOrderTimeoutSuspendsAndResumeNeedsEveryParty: a missed deadline is a
// breach the ledger finds at the epoch; it suspends the order with the
// reason and costs the partner; resuming needs every party's vote at the
// current version; votes are not replayable.
func TestOrderTimeoutSuspendsAndResumeNeedsEveryParty(t *testing.T) {
	e := newOrderEnv(t, 10, 2)
	terms := e.terms("O-4", ModeOutputSharing, 8)
	o := e.activate(terms) // heights 1-3
	e.ok(e.tx("p1", e.complete(o.TaskIds[0], 60, 60, 10000)))
	p2 := e.score("p2")
	for e.height < 9 {
		e.block()
	}
	// The epoch at height 10 times p2's task out; the block says so.
	e.height++
	epoch := finalize(t, e.apps[0], e.height)
	if !bytes.Equal(finalize(t, e.apps[1], e.height).AppHash, epoch.AppHash) {
		t.Fatal("apps disagree at the epoch")
	}
	if !hasEvent(epoch.Events, "order", "O-4", OrderSuspended) || !hasEvent(epoch.Events, "task", OrderTaskID("O-4", 1), TaskTimedOut) {
		t.Fatalf("epoch events %v", epoch.Events)
	}
	o = e.order("O-4")
	tr := lastTransition(o)
	if o.Status != OrderSuspended || tr.Party != "p2" || tr.By != ledgerActor || !strings.Contains(tr.Reason, "timed out") {
		t.Fatalf("order after a missed deadline: %s, transition %+v", o.Status, tr)
	}
	if task := taskOf(t, e.app(), o.TaskIds[1]); task.Status != TaskTimedOut {
		t.Fatalf("p2's task %s", task.Status)
	}
	var sawBreach bool
	for _, ev := range creditOf(t, e.app(), "p2").History {
		sawBreach = sawBreach || ev.Delta == policies.DefaultOrderCredit.Breach && strings.Contains(ev.Reason, "O-4 breach")
	}
	if !sawBreach || e.score("p2") >= p2+ratingTaskTimeout {
		t.Fatalf("p2 credit %d (was %d) without the breach charge: %v", e.score("p2"), p2, creditOf(t, e.app(), "p2").History)
	}
	e.refused(e.tx("p1", &ledgerpb.OrderSettle{OrderId: "O-4"}), CodeInvalid, "suspended")

	v := uint32(len(o.Transitions))
	e.refused(e.tx("p1", &ledgerpb.OrderResume{OrderId: "O-4", Version: v - 1}), CodeInvalid, "version")
	e.refused(e.tx("p3", &ledgerpb.OrderResume{OrderId: "O-4", Version: v}), CodeUnauthorized, "not a party")
	vote := e.tx("buyer", &ledgerpb.OrderResume{OrderId: "O-4", Version: v, Reason: "accept the shortfall"})
	e.ok(vote)
	e.refused(vote, CodeReplay, "replay")
	e.refused(e.tx("buyer", &ledgerpb.OrderResume{OrderId: "O-4", Version: v}), CodeInvalid, "already voted")
	e.ok(e.tx("p1", &ledgerpb.OrderResume{OrderId: "O-4", Version: v}))
	if o := e.order("O-4"); o.Status != OrderSuspended || len(o.ResumeVotes) != 2 {
		t.Fatalf("order resumed without every party: %s votes %v", o.Status, o.ResumeVotes)
	}
	e.ok(e.tx("p2", &ledgerpb.OrderResume{OrderId: "O-4", Version: v}))
	o = e.order("O-4")
	if o.Status != OrderActive || len(o.ResumeVotes) != 0 || !strings.Contains(lastTransition(o).Reason, "resumed by every party") {
		t.Fatalf("order after every party's vote: %s %+v", o.Status, lastTransition(o))
	}
	// Settled: p1 earns the whole pool, p2's unverified output nothing.
	e.ok(e.tx("p2", &ledgerpb.OrderSettle{OrderId: "O-4"}))
	s := settlementOf(t, e.app(), "O-4")
	if s.Shares[0].Total != terms.ProfitPool || s.Shares[1].Total != 0 || s.Refund != 0 {
		t.Fatalf("settlement %v", s)
	}
}

func settlementOf(t testing.TB, app *App, id string) *ledgerpb.Settlement {
	t.Helper()
	q, _ := app.Query(context.Background(), &abci.RequestQuery{Path: QuerySettlement, Data: []byte(id)})
	var s ledgerpb.Settlement
	if q.Code != CodeOK || proto.Unmarshal(q.Value, &s) != nil {
		t.Fatalf("settlement %s: %d %s", id, q.Code, q.Log)
	}
	return &s
}

// TestOrderBelowThresholdThenSettle: a completion proven below the
// threshold suspends the order and costs credit, but its verified output
// still counts; after the parties resume, the settlement is a record in the
// record index (hash of its bytes) and moves credit and output.
func TestOrderBelowThresholdThenSettle(t *testing.T) {
	e := newOrderEnv(t, 1000, 2)
	terms := e.terms("O-5", ModeHybrid, 50)
	o := e.activate(terms)
	e.ok(e.tx("p1", e.complete(o.TaskIds[0], 60, 60, 10000)))
	e.refused(e.tx("p1", &ledgerpb.OrderSettle{OrderId: "O-5"}), CodeInvalid, "still open")
	p2 := e.score("p2")
	e.ok(e.tx("p2", e.complete(o.TaskIds[1], 40, 21, 5000))) // 52.5% delivered proves the 50% band
	o = e.order("O-5")
	if tr := lastTransition(o); o.Status != OrderSuspended || tr.Party != "p2" || !strings.Contains(tr.Reason, "below the threshold") {
		t.Fatalf("order after a completion below threshold: %s %+v", o.Status, tr)
	}
	if task := taskOf(t, e.app(), o.TaskIds[1]); task.Status != TaskBelowThreshold || task.CompletedBps != 5000 {
		t.Fatalf("p2's task %+v", task)
	}
	if got := e.score("p2"); got != p2+policies.DefaultOrderCredit.Breach {
		t.Fatalf("p2 credit %d after the breach, want %d", got, p2+policies.DefaultOrderCredit.Breach)
	}
	v := uint32(len(o.Transitions))
	for _, p := range []string{"p2", "buyer", "p1"} {
		e.ok(e.tx(p, &ledgerpb.OrderResume{OrderId: "O-5", Version: v}))
	}
	p1, outBefore := e.score("p1"), creditOf(t, e.app(), "p1").Credit.Output
	settle := e.tx("buyer", &ledgerpb.OrderSettle{OrderId: "O-5"})
	e.ok(settle)
	e.refused(e.tx("buyer", &ledgerpb.OrderSettle{OrderId: "O-5"}), CodeInvalid, "is settled")

	s := settlementOf(t, e.app(), "O-5")
	// p1: 60 × 1000 = 60,000; p2: 20 × 1500 = 30,000 (50% of 40): 2/3 and 1/3 of 1,000,003.
	want := []struct{ delivered, fixed, sharing uint64 }{{60, 50_000, 666_669}, {20, 0, 333_334}}
	var sharing uint64
	for i, w := range want {
		sh := s.Shares[i]
		if sh.DeliveredQuantity != w.delivered || sh.FixedPart != w.fixed || sh.SharingPart != w.sharing || sh.Total != w.fixed+w.sharing {
			t.Fatalf("share %d: %+v, want %+v", i, sh, w)
		}
		sharing += sh.SharingPart
	}
	if sharing != terms.ProfitPool || s.Paid+s.Refund != terms.Funds || s.Refund != 30_000 {
		t.Fatalf("settlement sums: sharing %d of %d, paid %d refund %d funds %d", sharing, terms.ProfitPool, s.Paid, s.Refund, terms.Funds)
	}
	o = e.order("O-5")
	if o.Status != OrderSettled || o.SettlementRecord != RecordID(txID(1000+e.nextID-1)) {
		t.Fatalf("order after settlement: %s record %q", o.Status, o.SettlementRecord)
	}
	// The record is found by the hash of the settlement's bytes.
	q, _ := e.app().Query(context.Background(), &abci.RequestQuery{Path: QuerySettlement, Data: []byte("O-5")})
	h := sha256.Sum256(q.Value)
	q, _ = e.app().Query(context.Background(), &abci.RequestQuery{Path: QueryRecordsByHash, Data: h[:]})
	var list ledgerpb.RecordList
	if q.Code != CodeOK || proto.Unmarshal(q.Value, &list) != nil || len(list.Records) != 1 {
		t.Fatalf("settlement record by hash: %d %s", q.Code, q.Log)
	}
	rec := list.Records[0]
	if rec.Id != o.SettlementRecord || rec.Kind != SettlementRecordKind || rec.Submitter != "buyer" || !bytes.Equal(rec.TxHash, TxHash(settle)) {
		t.Fatalf("settlement record %+v", rec)
	}
	rep := creditOf(t, e.app(), "p1")
	if rep.Credit.Score != p1+policies.DefaultOrderCredit.Delivered || rep.Credit.Output != outBefore+outputPoints(s.Shares[0].Total) {
		t.Fatalf("p1 after settlement: score %d output %d", rep.Credit.Score, rep.Credit.Output)
	}
}

// TestOrderInvalidProofSuspends: a completion proof that does not verify is
// a breach (on top of the invalid-proof charge); the task stays open.
func TestOrderInvalidProofSuspends(t *testing.T) {
	e := newOrderEnv(t, 1000, 1)
	o := e.activate(e.terms("O-6", ModeFixed, 50))
	msg := e.complete(o.TaskIds[0], 60, 60, 10000)
	other := zk.DeliveryCommitment(TaskFelt(o.TaskIds[0]), 60, 10000, fr.NewElement(7))
	ob := other.Bytes()
	msg.DeliveryCommitment = ob[:]
	before := e.score("p1")
	if r := e.block(e.tx("p1", msg))[0]; r.Code != CodeInvalidProof || !hasEvent(r.Events, "order", "O-6", OrderSuspended) {
		t.Fatalf("invalid proof: code %d %s, events %v", r.Code, r.Log, r.Events)
	}
	o = e.order("O-6")
	if tr := lastTransition(o); o.Status != OrderSuspended || tr.Party != "p1" || !strings.Contains(tr.Reason, "does not verify") {
		t.Fatalf("order after an invalid proof: %s %+v", o.Status, tr)
	}
	if got := e.score("p1"); got != before+ratingInvalidProof+policies.DefaultOrderCredit.Breach {
		t.Fatalf("p1 credit %d, want %d", got, before+ratingInvalidProof+policies.DefaultOrderCredit.Breach)
	}
	if task := taskOf(t, e.app(), o.TaskIds[0]); task.Status != TaskOpen {
		t.Fatalf("task %s after an invalid proof", task.Status)
	}
}

// TestOrderTerminateNeedsEveryParty: an active order ends only when every
// party voted; its open tasks are cancelled (no timeout charge later).
func TestOrderTerminateNeedsEveryParty(t *testing.T) {
	e := newOrderEnv(t, 10, 2)
	o := e.activate(e.terms("O-7", ModeOutputSharing, 8))
	v := uint32(len(o.Transitions))
	e.ok(e.tx("p1", &ledgerpb.OrderTerminate{OrderId: "O-7", Version: v, Reason: "demand fell"}))
	e.ok(e.tx("buyer", &ledgerpb.OrderTerminate{OrderId: "O-7", Version: v}))
	if o := e.order("O-7"); o.Status != OrderActive || len(o.TerminateVotes) != 2 {
		t.Fatalf("order terminated without every party: %s %v", o.Status, o.TerminateVotes)
	}
	p2 := e.score("p2")
	e.ok(e.tx("p2", &ledgerpb.OrderTerminate{OrderId: "O-7", Version: v}))
	o = e.order("O-7")
	if o.Status != OrderTerminated || !strings.Contains(lastTransition(o).Reason, "terminated by every party") {
		t.Fatalf("order %s %+v", o.Status, lastTransition(o))
	}
	for e.height < 10 {
		e.block()
	}
	for _, id := range o.TaskIds {
		if task := taskOf(t, e.app(), id); task.Status != TaskCancelled {
			t.Fatalf("task %s is %s after termination", id, task.Status)
		}
	}
	if got := e.score("p2"); got != p2+(DefaultParams().CreditBaseline-p2)/DefaultParams().CreditDecayDivisor {
		t.Fatalf("p2 credit %d after termination and an epoch (was %d): charged for a cancelled task", got, p2)
	}
	e.refused(e.tx("p1", e.complete(o.TaskIds[0], 60, 60, 10000)), CodeInvalid, "cancelled")
	e.refused(e.tx("p1", &ledgerpb.OrderResume{OrderId: "O-7", Version: uint32(len(o.Transitions))}), CodeInvalid, "only a suspended order resumes")
}

// TestOrderDeterminismAcrossApps runs a full life cycle on three apps in
// the same blocks (orderEnv checks their AppHash at every height), with
// several order txs per block.
func TestOrderDeterminismAcrossApps(t *testing.T) {
	e := newOrderEnv(t, 5, 3)
	a, b := e.terms("O-8", ModeOutputSharing, 9), e.terms("O-9", ModeFixed, 9)
	ha, _ := OrderTermsHash(a)
	hb, _ := OrderTermsHash(b)
	e.block(e.tx("buyer", a), e.tx("buyer", b))
	rs := e.block(e.tx("p1", &ledgerpb.OrderSign{OrderId: "O-8", TermsHash: ha}), e.tx("p2", &ledgerpb.OrderSign{OrderId: "O-8", TermsHash: ha}),
		e.tx("p1", &ledgerpb.OrderSign{OrderId: "O-9", TermsHash: hb}), e.tx("p2", &ledgerpb.OrderSign{OrderId: "O-9", TermsHash: hb}))
	for i, r := range rs {
		if r.Code != CodeOK {
			t.Fatalf("sign %d: %s", i, r.Log)
		}
	}
	e.block(e.tx("p1", e.complete(OrderTaskID("O-8", 0), 60, 60, 10000)), e.tx("p2", e.complete(OrderTaskID("O-9", 1), 40, 40, 9000)))
	for e.height < 10 {
		e.block()
	}
	if o := e.order("O-8"); o.Status != OrderSuspended {
		t.Fatalf("O-8 %s", o.Status)
	}
	o9 := e.order("O-9")
	v := uint32(len(o9.Transitions))
	e.block(e.tx("buyer", &ledgerpb.OrderResume{OrderId: "O-9", Version: v}), e.tx("p1", &ledgerpb.OrderResume{OrderId: "O-9", Version: v}),
		e.tx("p2", &ledgerpb.OrderResume{OrderId: "O-9", Version: v}), e.tx("p2", &ledgerpb.OrderSettle{OrderId: "O-9"}))
	if s := settlementOf(t, e.app(), "O-9"); s.Shares[0].Total != 0 || s.Shares[1].Total != 30_000 || s.Refund != 50_000 {
		t.Fatalf("fixed settlement %v", s)
	}
}

// randomTerms draws an order and its tasks' outcomes.
func randomSettlementCase(r interface{ Uint64() uint64 }, mode string) (*ledgerpb.OrderCreate, []*ledgerpb.Task) {
	n := 1 + int(r.Uint64()%maxOrderPartners)
	t := &ledgerpb.OrderCreate{OrderId: "P", Mode: mode, ThresholdBps: uint32(1 + r.Uint64()%basisPoints)}
	scale := []uint64{10, 1_000, maxOrderQuantity}[r.Uint64()%3]
	vscale := []uint64{10, 1_000_000, maxOrderAmount}[r.Uint64()%3]
	var tasks []*ledgerpb.Task
	statuses := []string{TaskCompleted, TaskBelowThreshold, TaskTimedOut, TaskCancelled}
	for i := range n {
		p := &ledgerpb.OrderPartner{Member: fmt.Sprint("m", i), Quantity: 1 + r.Uint64()%scale}
		if mode != ModeFixed {
			p.UnitValue = 1 + r.Uint64()%vscale
		}
		if mode != ModeOutputSharing {
			p.FixedAmount = r.Uint64() % (vscale + 1)
		}
		t.Partners = append(t.Partners, p)
		t.Quantity += p.Quantity
		task := &ledgerpb.Task{Id: fmt.Sprint("t", i), Status: statuses[r.Uint64()%4], ThresholdBps: t.ThresholdBps}
		switch task.Status {
		case TaskCompleted:
			task.CompletedBps = t.ThresholdBps + uint32(r.Uint64()%uint64(basisPoints-t.ThresholdBps+1))
		case TaskBelowThreshold:
			task.CompletedBps = uint32(r.Uint64() % uint64(t.ThresholdBps))
		}
		tasks = append(tasks, task)
	}
	if mode != ModeFixed {
		t.ProfitPool = r.Uint64() % (maxOrderAmount + 1)
	}
	t.Funds = payable(t) + r.Uint64()%1000
	return t, tasks
}

// TestSettlementSumsExactly is the property test: in every mode, over
// random quantities, bands, values and pools, the output-sharing parts sum
// exactly to the pool whenever any output is verified (else to 0), each part
// is within one unit of its exact proportional share, fixed parts go only to
// tasks that met the threshold, unverified output earns nothing, and paid +
// refund = funds.
func TestSettlementSumsExactly(t *testing.T) {
	r := newTestRand(1)
	for _, mode := range []string{ModeOutputSharing, ModeFixed, ModeHybrid} {
		for iter := range 3000 {
			terms, tasks := randomSettlementCase(r, mode)
			s, err := ComputeSettlement(terms, tasks)
			if err != nil {
				t.Fatalf("%s #%d: %v", mode, iter, err)
			}
			checkSettlement(t, terms, tasks, s)
		}
	}
}

func checkSettlement(t testing.TB, terms *ledgerpb.OrderCreate, tasks []*ledgerpb.Task, s *ledgerpb.Settlement) {
	t.Helper()
	var sharing, fixed, paid uint64
	anyVerified := false
	for i, sh := range s.Shares {
		task, p := tasks[i], terms.Partners[i]
		verified := task.Status == TaskCompleted || task.Status == TaskBelowThreshold
		if !verified && (sh.Total != 0 || sh.DeliveredQuantity != 0) {
			t.Fatalf("unverified output earned: %+v", sh)
		}
		if task.Status != TaskCompleted && sh.FixedPart != 0 {
			t.Fatalf("fixed part paid for a task that did not meet its threshold: %+v", sh)
		}
		if task.Status == TaskCompleted && terms.Mode != ModeOutputSharing && sh.FixedPart != p.FixedAmount {
			t.Fatalf("fixed part %d, agreed %d", sh.FixedPart, p.FixedAmount)
		}
		if sh.DeliveredQuantity != uint64(sh.CompletedBps)*p.Quantity/basisPoints {
			t.Fatalf("delivered %d", sh.DeliveredQuantity)
		}
		anyVerified = anyVerified || sh.DeliveredQuantity > 0 && p.UnitValue > 0
		sharing += sh.SharingPart
		fixed += sh.FixedPart
		paid += sh.Total
		if sh.Total != sh.FixedPart+sh.SharingPart {
			t.Fatalf("total %d ≠ %d + %d", sh.Total, sh.FixedPart, sh.SharingPart)
		}
	}
	wantSharing := uint64(0)
	if terms.Mode != ModeFixed && anyVerified {
		wantSharing = terms.ProfitPool
	}
	if sharing != wantSharing || paid != s.Paid || s.Paid+s.Refund != terms.Funds {
		t.Fatalf("%s: sharing %d want %d; paid %d/%d; refund %d funds %d", terms.Mode, sharing, wantSharing, paid, s.Paid, s.Refund, terms.Funds)
	}
	if sharing > 0 {
		// Each part is floor or floor+1 of pool·v_i/V.
		values, total := settlementValues(terms, s)
		for i, sh := range s.Shares {
			exact := new(bigInt).Mul(bigU(terms.ProfitPool), values[i])
			floor := new(bigInt).Quo(exact, total)
			got := bigU(sh.SharingPart)
			if got.Cmp(floor) < 0 || got.Cmp(new(bigInt).Add(floor, bigU(1))) > 0 {
				t.Fatalf("part %d is %s, exact share floor %s", i, got, floor)
			}
		}
	}
}

func TestSettlementLargestRemainderOrder(t *testing.T) {
	// Three equal values share 10: 3 each and the one left over goes to the
	// first partner (ties by partner order).
	terms := &ledgerpb.OrderCreate{Mode: ModeOutputSharing, ProfitPool: 10, Funds: 10, Partners: []*ledgerpb.OrderPartner{
		{Member: "a", Quantity: 1, UnitValue: 1}, {Member: "b", Quantity: 1, UnitValue: 1}, {Member: "c", Quantity: 1, UnitValue: 1}}}
	var tasks []*ledgerpb.Task
	for range 3 {
		tasks = append(tasks, &ledgerpb.Task{Status: TaskCompleted, CompletedBps: basisPoints})
	}
	s, err := ComputeSettlement(terms, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if got := []uint64{s.Shares[0].Total, s.Shares[1].Total, s.Shares[2].Total}; got[0] != 4 || got[1] != 3 || got[2] != 3 {
		t.Fatalf("shares %v, want [4 3 3]", got)
	}
	// Nobody verified: nobody earns, the pool is refunded.
	for _, task := range tasks {
		task.Status, task.CompletedBps = TaskTimedOut, 0
	}
	if s, err = ComputeSettlement(terms, tasks); err != nil || s.Paid != 0 || s.Refund != 10 {
		t.Fatalf("settlement without verified output: %v %v", s, err)
	}
}

// FuzzOrderCreate feeds arbitrary bytes as an order's terms: the checks
// never panic, and terms they accept always settle within the declared
// funds with the sums the property test requires, whatever the outcomes.
func FuzzOrderCreate(f *testing.F) {
	_, gen := testGenesis(f, "buyer", "p1", "p2", "p3")
	v := newTestApp(f, gen).committed.Load()
	k, err := zk.GenerateSigningKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	for _, mode := range []string{ModeOutputSharing, ModeFixed, ModeHybrid} {
		raw, _ := proto.Marshal(orderTerms("F-1", mode, 50, k.PublicKey.Bytes()))
		f.Add(raw, uint64(7))
	}
	f.Fuzz(func(t *testing.T, raw []byte, seed uint64) {
		var terms ledgerpb.OrderCreate
		if proto.Unmarshal(raw, &terms) != nil {
			return
		}
		if checkOrderTerms("buyer", &terms, v, 1) != nil {
			return
		}
		r := newTestRand(seed)
		var tasks []*ledgerpb.Task
		for i := range terms.Partners {
			st := []string{TaskCompleted, TaskBelowThreshold, TaskTimedOut}[r.Uint64()%3]
			bps := uint32(r.Uint64() % (basisPoints + 1))
			if st == TaskCompleted {
				bps = max(bps, terms.ThresholdBps)
			}
			tasks = append(tasks, &ledgerpb.Task{Id: fmt.Sprint(i), Status: st, CompletedBps: bps})
		}
		s, err := ComputeSettlement(&terms, tasks)
		if err != nil {
			t.Fatalf("accepted terms do not settle: %v", err)
		}
		checkSettlement(t, &terms, tasks, s)
	})
}

type bigInt = big.Int

func bigU(x uint64) *big.Int { return new(big.Int).SetUint64(x) }

// newTestRand is a seeded generator: property tests are reproducible.
func newTestRand(seed uint64) *mrand.Rand { return mrand.New(mrand.NewPCG(seed, 0x5e771e)) }

// settlementValues recomputes the verified values v_i and their sum.
func settlementValues(terms *ledgerpb.OrderCreate, s *ledgerpb.Settlement) ([]*big.Int, *big.Int) {
	total := new(big.Int)
	var values []*big.Int
	for i, sh := range s.Shares {
		v := new(big.Int).Mul(bigU(sh.DeliveredQuantity), bigU(terms.Partners[i].UnitValue))
		values = append(values, v)
		total.Add(total, v)
	}
	return values, total
}

// TestOrderSecondBreachVoidsVotes: a breach while suspended is recorded
// with its own reason and charge, and votes cast before it lapse.
func TestOrderSecondBreachVoidsVotes(t *testing.T) {
	e := newOrderEnv(t, 1000, 2)
	o := e.activate(e.terms("O-10", ModeOutputSharing, 50))
	bad := func(i int) []byte {
		msg := e.complete(o.TaskIds[i], o.Terms.Partners[i].Quantity, o.Terms.Partners[i].Quantity, 10000)
		other := zk.DeliveryCommitment(TaskFelt(o.TaskIds[i]), 1, 1, fr.NewElement(9))
		ob := other.Bytes()
		msg.DeliveryCommitment = ob[:]
		return e.tx(o.Terms.Partners[i].Member, msg)
	}
	e.block(bad(0))
	v := uint32(len(e.order("O-10").Transitions))
	e.ok(e.tx("buyer", &ledgerpb.OrderResume{OrderId: "O-10", Version: v}))
	e.block(bad(1))
	o2 := e.order("O-10")
	tr := lastTransition(o2)
	if o2.Status != OrderSuspended || tr.From != OrderSuspended || tr.Party != "p2" || len(o2.ResumeVotes) != 0 {
		t.Fatalf("order after a second breach: %s votes %v %+v", o2.Status, o2.ResumeVotes, tr)
	}
	e.refused(e.tx("p1", &ledgerpb.OrderResume{OrderId: "O-10", Version: v}), CodeInvalid, "version")

	// The credit history query labels every event with the grade it left.
	q, _ := e.app().Query(context.Background(), &abci.RequestQuery{Path: QueryCreditHistory, Data: []byte("p2")})
	var h ledgerpb.CreditHistory
	if q.Code != CodeOK || proto.Unmarshal(q.Value, &h) != nil {
		t.Fatalf("credit history: %d %s", q.Code, q.Log)
	}
	defaults, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	gradeOf := func(score int64) string {
		g, err := defaults.GradeOf(uint32(score))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if h.Grade != gradeOf(h.Credit.Score) || h.Truncated || len(h.Entries) != 3 {
		t.Fatalf("credit history %v", &h)
	}
	want := []int64{policies.DefaultOrderCredit.Activated, ratingInvalidProof, policies.DefaultOrderCredit.Breach}
	for i, en := range h.Entries {
		if en.Event.Delta != want[i] || en.Grade != gradeOf(en.Event.Score) {
			t.Fatalf("history entry %d: %v, want delta %d", i, en, want[i])
		}
	}
	if q, _ := e.app().Query(context.Background(), &abci.RequestQuery{Path: QueryCreditHistory, Data: []byte("nobody")}); q.Code != CodeNotFound {
		t.Fatalf("history of a non-member: code %d", q.Code)
	}
}

func hasEvent(evs []abci.Event, typ, id, status string) bool {
	for _, ev := range evs {
		var gotID, gotStatus string
		for _, a := range ev.Attributes {
			switch a.Key {
			case "id":
				gotID = a.Value
			case "status":
				gotStatus = a.Value
			}
		}
		if ev.Type == typ && gotID == id && gotStatus == status {
			return true
		}
	}
	return false
}

// FuzzOrderTx signs arbitrary bytes as each order message, by each member,
// against a chain with a draft, an active and a tendering order: CheckTx never panics
// and answers with a code, and an accepted message passes FinalizeBlock's
// re-check on a fresh copy of the same chain.
func FuzzOrderTx(f *testing.F) {
	ms, gen := testGenesis(f, "buyer", "p1", "p2", "p3")
	k, err := zk.GenerateSigningKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	setup := func(t testing.TB) *orderEnv {
		e := newOrderEnvFrom(t, ms, gen, nil, 1)
		e.ok(e.tx("buyer", orderTerms("O-draft", ModeFixed, 500, k.PublicKey.Bytes())))
		active := orderTerms("O-act", ModeHybrid, 500, k.PublicKey.Bytes())
		e.ok(e.tx("buyer", active))
		h, _ := OrderTermsHash(active)
		e.ok(e.tx("p1", &ledgerpb.OrderSign{OrderId: "O-act", TermsHash: h}))
		e.ok(e.tx("p2", &ledgerpb.OrderSign{OrderId: "O-act", TermsHash: h}))
		tender := orderTerms("O-tender", ModeHybrid, 500, k.PublicKey.Bytes())
		tender.Partners, tender.Tender, tender.MaxPrice = nil, true, 50
		tender.Funds = tender.ProfitPool + tender.Quantity*tender.MaxPrice
		e.ok(e.tx("buyer", tender))
		return e
	}
	e := setup(f)
	terms, _ := proto.Marshal(orderTerms("O-new", ModeOutputSharing, 500, k.PublicKey.Bytes()))
	f.Add(uint8(0), uint8(0), terms)
	h, _ := OrderTermsHash(orderTerms("O-draft", ModeFixed, 500, k.PublicKey.Bytes()))
	sign, _ := proto.Marshal(&ledgerpb.OrderSign{OrderId: "O-draft", TermsHash: h})
	f.Add(uint8(1), uint8(1), sign)
	vote, _ := proto.Marshal(&ledgerpb.OrderTerminate{OrderId: "O-act", Version: 2, Reason: "x"})
	f.Add(uint8(2), uint8(3), vote)
	f.Add(uint8(3), uint8(3), vote)
	f.Add(uint8(3), uint8(0), vote)
	settle, _ := proto.Marshal(&ledgerpb.OrderSettle{OrderId: "O-act"})
	f.Add(uint8(4), uint8(0), settle)
	award, _ := proto.Marshal(&ledgerpb.OrderAward{OrderId: "O-tender", JobId: "J", Award: []uint64{10, 20, 0, 0},
		Salt: make([]byte, 32), Commitments: [][]byte{make([]byte, 32), make([]byte, 32), make([]byte, 32)}})
	f.Add(uint8(5), uint8(0), award)
	names := []string{"buyer", "p1", "p2", "p3"}
	f.Fuzz(func(t *testing.T, kind, who uint8, raw []byte) {
		msgs := []proto.Message{&ledgerpb.OrderCreate{}, &ledgerpb.OrderSign{}, &ledgerpb.OrderResume{},
			&ledgerpb.OrderTerminate{}, &ledgerpb.OrderSettle{}, &ledgerpb.OrderAward{}}
		msg := msgs[int(kind)%len(msgs)]
		if proto.Unmarshal(raw, msg) != nil {
			return
		}
		e.t = t
		tx := e.tx(names[int(who)%len(names)], msg)
		if checkTx(t, e.app(), tx).Code != CodeOK {
			return
		}
		fresh := setup(t)
		if r := fresh.block(tx)[0]; r.Code != CodeOK {
			t.Fatalf("CheckTx accepted %T %v, FinalizeBlock refused it: %s", msg, msg, r.Log)
		}
	})
}

// TestOrderSuspendedTerminatedWithoutTheBreachingParty: a party in breach
// cannot hold a suspended order by withholding its vote. Resuming still
// needs it; terminating needs only the parties not in breach, and every
// party in breach bears the termination.
func TestOrderSuspendedTerminatedWithoutTheBreachingParty(t *testing.T) {
	e := newOrderEnv(t, 1000, 2)
	badProof := func(e *orderEnv, o *ledgerpb.Order, i int) []byte {
		msg := e.complete(o.TaskIds[i], o.Terms.Partners[i].Quantity, o.Terms.Partners[i].Quantity, 10000)
		other := zk.DeliveryCommitment(TaskFelt(o.TaskIds[i]), 1, 1, fr.NewElement(9))
		ob := other.Bytes()
		msg.DeliveryCommitment = ob[:]
		return e.tx(o.Terms.Partners[i].Member, msg)
	}

	// p1 breaches: the buyer and p2 cannot resume without it, but they
	// terminate without it.
	o := e.activate(e.terms("O-11", ModeOutputSharing, 50))
	e.block(badProof(e, o, 0))
	o = e.order("O-11")
	if o.Status != OrderSuspended || lastTransition(o).Party != "p1" {
		t.Fatalf("order after p1's breach: %s %+v", o.Status, lastTransition(o))
	}
	v := uint32(len(o.Transitions))
	e.ok(e.tx("buyer", &ledgerpb.OrderResume{OrderId: "O-11", Version: v}))
	e.ok(e.tx("p2", &ledgerpb.OrderResume{OrderId: "O-11", Version: v}))
	if o := e.order("O-11"); o.Status != OrderSuspended {
		t.Fatalf("resumed without the party in breach: %s", o.Status)
	}
	p1, p2 := e.score("p1"), e.score("p2")
	e.ok(e.tx("buyer", &ledgerpb.OrderTerminate{OrderId: "O-11", Version: v, Reason: "p1 sent a false proof"}))
	if o := e.order("O-11"); o.Status != OrderSuspended {
		t.Fatalf("terminated by the buyer alone while p2 (not in breach) has not voted: %s", o.Status)
	}
	e.ok(e.tx("p2", &ledgerpb.OrderTerminate{OrderId: "O-11", Version: v}))
	o = e.order("O-11")
	tr := lastTransition(o)
	if o.Status != OrderTerminated || tr.Party != "p1" || tr.CreditDelta != policies.DefaultOrderCredit.Terminated ||
		!strings.Contains(tr.Reason, "every party not in breach") {
		t.Fatalf("order after the votes of the parties not in breach: %s %+v", o.Status, tr)
	}
	if e.score("p1") != p1+policies.DefaultOrderCredit.Terminated || e.score("p2") != p2 {
		t.Fatalf("credit after termination: p1 %d (was %d), p2 %d (was %d)", e.score("p1"), p1, e.score("p2"), p2)
	}
	for _, id := range o.TaskIds {
		if task := taskOf(t, e.app(), id); task.Status == TaskOpen {
			t.Fatalf("task %s still open after termination", id)
		}
	}

	// Both partners breach (the second while suspended): the buyer alone
	// terminates, and both bear it (a new chain: p1's grade fell).
	e = newOrderEnv(t, 1000, 2)
	o = e.activate(e.terms("O-12", ModeOutputSharing, 50))
	e.block(badProof(e, o, 0))
	e.block(badProof(e, o, 1))
	o = e.order("O-12")
	if got := breachingParties(o); !slices.Equal(got, []string{"p1", "p2"}) {
		t.Fatalf("parties in breach %v", got)
	}
	p1, p2 = e.score("p1"), e.score("p2")
	e.ok(e.tx("buyer", &ledgerpb.OrderTerminate{OrderId: "O-12", Version: uint32(len(o.Transitions))}))
	o = e.order("O-12")
	if o.Status != OrderTerminated {
		t.Fatalf("order %s after the only party not in breach voted", o.Status)
	}
	if e.score("p1") != p1+policies.DefaultOrderCredit.Terminated || e.score("p2") != p2+policies.DefaultOrderCredit.Terminated {
		t.Fatalf("credit after termination: p1 %d (was %d), p2 %d (was %d)", e.score("p1"), p1, e.score("p2"), p2)
	}
}
