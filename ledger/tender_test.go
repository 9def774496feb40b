package ledger

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// The tender tests run on jobChain: node0 (enterprise) demands, node1..node3
// quote, the 3-of-4 committee c1 of all four signs results, under the
// default policy (tender: enterprise and platform, BBB; every rating starts
// at 600, the bottom of BBB).

const (
	tenderQty      = 100
	tenderMaxPrice = 50
)

func tenderOrder(t *testing.T, c *jobChain, id, minGrade string) *ledgerpb.OrderCreate {
	t.Helper()
	k, err := zk.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Fixed mode: a chosen quote earns quantity × price; the funds cover
	// the most a tender can award, quantity × max price.
	return &ledgerpb.OrderCreate{
		OrderId: id, Product: "motor housings", Quantity: tenderQty, DeadlineHeight: c.height + 500, MinGrade: minGrade,
		MaxPartners: 2, Mode: ModeFixed, Funds: tenderQty * tenderMaxPrice, ThresholdBps: 8000,
		CounterpartyKey: k.PublicKey.Bytes(), Tender: true, MaxPrice: tenderMaxPrice,
	}
}

// tenderJob is a valid tender job for an order, with the price factors of
// the quoters' current ratings.
func tenderJob(t *testing.T, c *jobChain, jobID, orderID string, quoters ...string) *ledgerpb.JobSubmit {
	t.Helper()
	p := jobspec.TenderParams{Order: orderID, Quantity: tenderQty, MaxPartners: 2, MaxPrice: tenderMaxPrice}
	var slots []string
	pol := c.app.committed.Load().policy
	for _, q := range quoters {
		price, capacity := jobspec.TenderSlots(q)
		slots = append(slots, price, capacity)
		p.PriceFactors = append(p.PriceFactors, pol.TenderPriceFactor(creditOf(t, c.app, q).Credit.Score))
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return &ledgerpb.JobSubmit{JobId: jobID, Type: string(jobspec.Tender), Params: raw, Providers: slots,
		CommitteeId: "c1", Recipient: "node0", DeadlineHeight: c.height + 40}
}

func editParams(t *testing.T, s *ledgerpb.JobSubmit, edit func(p *jobspec.TenderParams)) *ledgerpb.JobSubmit {
	t.Helper()
	var p jobspec.TenderParams
	if err := json.Unmarshal(s.Params, &p); err != nil {
		t.Fatal(err)
	}
	edit(&p)
	raw, _ := json.Marshal(p)
	s.Params = raw
	return s
}

// quote has member i commit its price and capacity to a tender job, each
// with its input-validity proof.
func (c *jobChain) quote(t *testing.T, i int, jobID string, price, capacity uint64) {
	t.Helper()
	ps, cs := jobspec.TenderSlots(c.ms[i].name)
	in := c.bid(t, jobID, price, 0, tenderMaxPrice)
	in.Provider = ps
	c.mustOK(t, c.tx(t, i, in))
	in = c.bid(t, jobID, capacity, 0, tenderQty)
	in.Provider = cs
	c.mustOK(t, c.tx(t, i, in))
}

// tenderOutput is what the engine would output for an award vector: the
// award's and each quote's commitments, and their combination the committee
// signs.
type tenderOutput struct {
	award       []uint64
	salt        fr.Element
	commitments [][]byte
	output      []byte
}

func makeTenderOutput(t testing.TB, award []uint64) *tenderOutput {
	t.Helper()
	felts := func(xs ...uint64) []fr.Element {
		out := make([]fr.Element, len(xs))
		for i, x := range xs {
			out[i].SetUint64(x)
		}
		return out
	}
	salt := func() fr.Element {
		s, err := zk.NewSalt(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	o := &tenderOutput{award: award, salt: salt()}
	cs := []fr.Element{ss.NativeCommit(felts(award...), o.salt)}
	for k := 0; k < len(award)/2; k++ {
		cs = append(cs, ss.NativeCommit(felts(award[2*k], award[2*k+1]), salt()))
	}
	for i := range cs {
		b := cs[i].Bytes()
		o.commitments = append(o.commitments, b[:])
	}
	oc := jobs.CombineCommitments(cs)
	ob := oc.Bytes()
	o.output = ob[:]
	return o
}

func (o *tenderOutput) msg(orderID, jobID string) *ledgerpb.OrderAward {
	sb := o.salt.Bytes()
	return &ledgerpb.OrderAward{OrderId: orderID, JobId: jobID, Award: append([]uint64(nil), o.award...),
		Salt: sb[:], Commitments: append([][]byte(nil), o.commitments...)}
}

// complete posts the committee's signed result for a running job.
func (c *jobChain) complete(t *testing.T, jobID string, output []byte) {
	t.Helper()
	j := c.job(t, jobID)
	if j.Status != JobRunning {
		t.Fatalf("job %s is %s, not running", jobID, j.Status)
	}
	c.mustOK(t, c.tx(t, 3, &ledgerpb.JobResult{JobId: jobID, OutputCommitment: output, Signature: c.sign(t, j, output, 0, 1, 2)}))
}

func (c *jobChain) order(t *testing.T, id string) *ledgerpb.Order {
	t.Helper()
	o, err := loadOrder(committedReader{c.app.store}, id)
	if err != nil || o == nil {
		t.Fatalf("order %s: %v", id, err)
	}
	return o
}

func TestTenderOrderCreation(t *testing.T) {
	c := newJobChain(t)
	ok := tenderOrder(t, c, "T-1", "BBB")
	for _, bad := range []struct {
		edit func(o *ledgerpb.OrderCreate)
		want string
	}{
		{func(o *ledgerpb.OrderCreate) { o.MaxPrice = 0 }, "max price must be 1"},
		{func(o *ledgerpb.OrderCreate) { o.MaxPrice = jobspec.MaxTenderPrice + 1 }, "max price must be 1"},
		{func(o *ledgerpb.OrderCreate) { o.Funds-- }, "do not cover"},
		{func(o *ledgerpb.OrderCreate) { o.Quantity, o.MaxPrice, o.Funds = 1e12, 1e6, 1e15 }, "quantity × max price"},
		{func(o *ledgerpb.OrderCreate) { o.Partners = []*ledgerpb.OrderPartner{{Member: "node1", Quantity: 100}} }, "without partners"},
		{func(o *ledgerpb.OrderCreate) { o.Tender = false }, "an order needs 1 to max partners (2) partners, got 0"},
		{func(o *ledgerpb.OrderCreate) {
			o.Tender = false
			o.Partners = []*ledgerpb.OrderPartner{{Member: "node1", Quantity: 100, FixedAmount: 10}}
		}, "max price is a tender order's term"},
	} {
		o := tenderOrder(t, c, "T-bad", "BBB")
		bad.edit(o)
		c.refused(t, 0, o, CodeInvalid, bad.want)
	}
	c.mustOK(t, c.tx(t, 0, ok))
	if o := c.order(t, "T-1"); o.Status != OrderTendering || len(o.Signed) != 1 || o.Transitions[0].To != OrderTendering {
		t.Fatalf("tender order after creation: %+v", o)
	}
	// A tendering order has no partner to sign it.
	h, _ := OrderTermsHash(ok)
	c.refused(t, 1, &ledgerpb.OrderSign{OrderId: "T-1", TermsHash: h}, CodeInvalid, "not a draft")
	// The demander may withdraw it.
	c.mustOK(t, c.tx(t, 0, &ledgerpb.OrderTerminate{OrderId: "T-1", Version: 1, Reason: "no longer needed"}))
	if o := c.order(t, "T-1"); o.Status != OrderTerminated {
		t.Fatalf("withdrawn tender order: %s", o.Status)
	}
}

// TestTenderJobRefused: a tender job.submit that does not fit its order is
// refused for each rule, in CheckTx and FinalizeBlock, and changes nothing.
func TestTenderJobRefused(t *testing.T) {
	c := newJobChain(t)
	c.mustOK(t, c.tx(t, 0, tenderOrder(t, c, "T-1", "BBB")))
	c.mustOK(t, c.tx(t, 0, tenderOrder(t, c, "T-A", "A"))) // nobody is graded A
	plain := tenderOrder(t, c, "P-1", "BBB")
	plain.Tender, plain.MaxPrice = false, 0
	plain.Partners = []*ledgerpb.OrderPartner{{Member: "node1", Quantity: tenderQty, FixedAmount: 10}}
	plain.Funds = 10
	c.mustOK(t, c.tx(t, 0, plain))

	valid := func() *ledgerpb.JobSubmit { return tenderJob(t, c, "TJ-1", "T-1", "node1", "node2") }
	cases := []struct {
		name   string
		signer int
		msg    *ledgerpb.JobSubmit
		code   uint32
		want   string
	}{
		{"unknown order", 0, editParams(t, valid(), func(p *jobspec.TenderParams) { p.Order = "nope" }), CodeInvalid, "unknown order"},
		{"order not tendering", 0, editParams(t, valid(), func(p *jobspec.TenderParams) { p.Order = "P-1" }), CodeInvalid, "not tendering"},
		{"requester not the demander", 2, valid(), CodeUnauthorized, "demander"},
		{"recipient not the demander", 0, func() *ledgerpb.JobSubmit { s := valid(); s.Recipient = "node2"; return s }(), CodeUnauthorized, "demander"},
		{"more partners than the order", 0, func() *ledgerpb.JobSubmit {
			return editParams(t, tenderJob(t, c, "TJ-1", "T-1", "node1", "node2", "node3"), func(p *jobspec.TenderParams) { p.MaxPartners = 3 })
		}(), CodeInvalid, "max_partners 3 exceeds"},
		{"another quantity", 0, editParams(t, valid(), func(p *jobspec.TenderParams) { p.Quantity = 99 }), CodeInvalid, "order T-1 is for 100"},
		{"another max price", 0, editParams(t, valid(), func(p *jobspec.TenderParams) { p.MaxPrice = 60 }), CodeInvalid, "max_price 60"},
		{"a price factor off the formula", 0, editParams(t, valid(), func(p *jobspec.TenderParams) { p.PriceFactors[1]++ }), CodeInvalid, "the policy's formula gives 12000"},
		{"a quoter under the grade", 0, editParams(t, valid(), func(p *jobspec.TenderParams) { p.Order = "T-A" }), CodeUnauthorized, "quoter node1 has grade BBB"},
		{"the demander quotes", 0, tenderJob(t, c, "TJ-1", "T-1", "node0", "node1"), CodeInvalid, "cannot quote on its own order"},
		{"deadline after the order's", 0, func() *ledgerpb.JobSubmit { s := valid(); s.DeadlineHeight = c.height + 600; return s }(), CodeInvalid, "before order T-1's delivery deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { c.refused(t, tc.signer, tc.msg, tc.code, tc.want) })
	}

	// One live tender per order; an aborted one frees the order.
	c.mustOK(t, c.tx(t, 0, valid()))
	if o := c.order(t, "T-1"); o.TenderJob != "TJ-1" || o.Status != OrderTendering {
		t.Fatalf("order after its tender job: %s %q", o.Status, o.TenderJob)
	}
	second := tenderJob(t, c, "TJ-2", "T-1", "node1", "node3")
	c.refused(t, 0, second, CodeInvalid, "already has tender job TJ-1 (collecting)")
	c.mustOK(t, c.tx(t, 0, &ledgerpb.JobAbort{JobId: "TJ-1", Reason: "retender with another quoter"}))
	c.mustOK(t, c.tx(t, 0, tenderJob(t, c, "TJ-2", "T-1", "node1", "node3")))
	if o := c.order(t, "T-1"); o.TenderJob != "TJ-2" {
		t.Fatalf("order after a second tender: %q", o.TenderJob)
	}
}

// TestTenderQuoteUnderGradeRefused: a member whose grade fell under the
// order's minimum after the tender was submitted cannot quote; the refusal
// changes nothing (refused checks the AppHash against an empty block). When
// the tender then expires, the refused quoter is named but not penalised.
func TestTenderQuoteUnderGradeRefused(t *testing.T) {
	c := newJobChain(t)
	c.mustOK(t, c.tx(t, 0, tenderOrder(t, c, "T-1", "BBB")))
	tj := tenderJob(t, c, "TJ-1", "T-1", "node1", "node2")
	tj.DeadlineHeight = c.height + 15
	c.mustOK(t, c.tx(t, 0, tj))

	// node1 posts an invalid input proof on an auction: -30, from BBB to BB.
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "A-1", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000}`),
		Providers: []string{"node1", "node2"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}))
	in := c.bid(t, "A-1", 5, 0, 1000)
	in.Proof = c.bid(t, "A-1", 6, 0, 1000).Proof
	if r := c.block(t, c.tx(t, 1, in))[0]; r.Code != CodeInvalidProof {
		t.Fatalf("invalid proof: %d %s", r.Code, r.Log)
	}
	if g := c.app.committed.Load().grade(creditOf(t, c.app, "node1").Credit.Score); g != "BB" {
		t.Fatalf("node1 is graded %s after the penalty", g)
	}
	price, _ := jobspec.TenderSlots("node1")
	q := c.bid(t, "TJ-1", 10, 0, tenderMaxPrice)
	q.Provider = price
	c.refused(t, 1, q, CodeUnauthorized, "a quote from node1 (grade BB, rating 570) is refused")
	c.quote(t, 2, "TJ-1", 12, 100) // node2 is still BBB
	if j := c.job(t, "TJ-1"); len(j.InputCommitments[2]) == 0 || len(j.InputCommitments[0]) != 0 {
		t.Fatalf("inputs after the refused quote: %x", j.InputCommitments)
	}
	before := creditOf(t, c.app, "node1").Credit.Score
	for c.job(t, "TJ-1").Status != JobAborted {
		c.block(t)
	}
	if j := c.job(t, "TJ-1"); j.Culprit != price {
		t.Fatalf("expired tender names %q", j.Culprit)
	}
	if got := creditOf(t, c.app, "node1").Credit.Score; got != before {
		t.Fatalf("the refused quoter was penalised at expiry: %d → %d", before, got)
	}
}

// TestTenderAward: the demander's award is refused for a wrong salt, award,
// commitment list, job and signer, and accepted for the MPC's opening; the
// partners sign, the order activates and opens their tasks. Two apps run
// every block and agree on every AppHash.
func TestTenderAward(t *testing.T) {
	c := newJobChainReplicas(t, 1)
	c.mustOK(t, c.tx(t, 0, tenderOrder(t, c, "T-1", "BBB")))
	c.mustOK(t, c.tx(t, 0, tenderJob(t, c, "TJ-1", "T-1", "node1", "node2", "node3")))
	c.quote(t, 1, "TJ-1", 30, 50)
	c.quote(t, 2, "TJ-1", 45, 100)
	c.quote(t, 3, "TJ-1", 35, 30)
	// The engine's award: node1 (cheapest) 50 @ 30, node3 30 @ 35; node2's
	// quote is not among the two best: under-filled, 80 of 100.
	out := makeTenderOutput(t, []uint64{50, 30, 0, 0, 30, 35})
	award := func() *ledgerpb.OrderAward { return out.msg("T-1", "TJ-1") }
	c.refused(t, 0, award(), CodeInvalid, "an award opens a completed tender job") // nothing to award yet
	c.complete(t, "TJ-1", out.output)

	// A completed job that is not the order's tender.
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "A-1", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000}`),
		Providers: []string{"node1", "node2"}, CommitteeId: "c1", Recipient: "node0", DeadlineHeight: c.height + 50}))
	c.mustOK(t, c.tx(t, 1, c.bid(t, "A-1", 5, 0, 1000)))
	c.mustOK(t, c.tx(t, 2, c.bid(t, "A-1", 6, 0, 1000)))
	c.complete(t, "A-1", out.output)

	refusals := []struct {
		name   string
		signer int
		edit   func(m *ledgerpb.OrderAward)
		code   uint32
		want   string
	}{
		{"wrong salt", 0, func(m *ledgerpb.OrderAward) { m.Salt = bytes.Repeat([]byte{0}, 31); m.Salt = append(m.Salt, 7) }, CodeInvalid, "do not open commitment 0"},
		{"non-canonical salt", 0, func(m *ledgerpb.OrderAward) { m.Salt = bytes.Repeat([]byte{0xff}, 32) }, CodeInvalid, "award salt is not a canonical field element"},
		{"another award", 0, func(m *ledgerpb.OrderAward) { m.Award[0] = 60 }, CodeInvalid, "do not open commitment 0"},
		{"a quote's price revealed", 0, func(m *ledgerpb.OrderAward) { m.Award[3] = 45 }, CodeInvalid, "do not open commitment 0"},
		{"commitments swapped", 0, func(m *ledgerpb.OrderAward) { m.Commitments[1], m.Commitments[2] = m.Commitments[2], m.Commitments[1] }, CodeInvalid, "do not combine"},
		{"a commitment missing", 0, func(m *ledgerpb.OrderAward) { m.Commitments = m.Commitments[:3] }, CodeInvalid, "needs 6 values and 4 commitments"},
		{"an award for fewer quotes", 0, func(m *ledgerpb.OrderAward) { m.Award = m.Award[:4] }, CodeInvalid, "needs 6 values and 4 commitments"},
		{"an odd award", 0, func(m *ledgerpb.OrderAward) { m.Award = m.Award[:5] }, CodeInvalid, "two values per quote"},
		{"too many commitments", 0, func(m *ledgerpb.OrderAward) {
			m.Commitments = make([][]byte, jobspec.MaxTenderQuotes+2)
		}, CodeInvalid, "at most 65 commitments"},
		{"another job", 0, func(m *ledgerpb.OrderAward) { m.JobId = "A-1" }, CodeInvalid, "not order T-1's tender job"},
		{"another order", 0, func(m *ledgerpb.OrderAward) { m.OrderId = "nope" }, CodeInvalid, "unknown order"},
		{"signer not the demander", 1, func(*ledgerpb.OrderAward) {}, CodeUnauthorized, "only order T-1's demander node0 awards it"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			m := award()
			tc.edit(m)
			c.refused(t, tc.signer, m, tc.code, tc.want)
		})
	}
	if o := c.order(t, "T-1"); o.Status != OrderTendering || len(o.Terms.Partners) != 0 {
		t.Fatalf("order after refused awards: %+v", o)
	}

	c.mustOK(t, c.tx(t, 0, award()))
	o := c.order(t, "T-1")
	want := []*ledgerpb.OrderPartner{
		{Member: "node1", Quantity: 50, UnitValue: 30, FixedAmount: 1500},
		{Member: "node3", Quantity: 30, UnitValue: 35, FixedAmount: 1050},
	}
	if o.Status != OrderDraft || o.Terms.Quantity != 80 || o.TenderedQuantity != tenderQty || len(o.Terms.Partners) != len(want) {
		t.Fatalf("awarded order: %s quantity %d of %d, partners %v", o.Status, o.Terms.Quantity, o.TenderedQuantity, o.Terms.Partners)
	}
	for i, p := range want {
		if got := o.Terms.Partners[i]; got.Member != p.Member || got.Quantity != p.Quantity || got.UnitValue != p.UnitValue || got.FixedAmount != p.FixedAmount {
			t.Fatalf("partner %d: %v, want %v", i, got, p)
		}
	}
	if h, _ := OrderTermsHash(o.Terms); !bytes.Equal(h, o.TermsHash) || !strings.Contains(lastTransition(o).Reason, "80 of 100 units") {
		t.Fatalf("awarded order's terms hash or reason: %x %q", o.TermsHash, lastTransition(o).Reason)
	}
	c.refused(t, 0, award(), CodeInvalid, "is draft, not tendering") // awarded once
	// node2 was not chosen: it is no party.
	c.refused(t, 2, &ledgerpb.OrderSign{OrderId: "T-1", TermsHash: o.TermsHash}, CodeUnauthorized, "not a party")

	before := creditOf(t, c.app, "node1").Credit.Score
	c.mustOK(t, c.tx(t, 1, &ledgerpb.OrderSign{OrderId: "T-1", TermsHash: o.TermsHash}))
	c.mustOK(t, c.tx(t, 3, &ledgerpb.OrderSign{OrderId: "T-1", TermsHash: o.TermsHash}))
	o = c.order(t, "T-1")
	if o.Status != OrderActive || len(o.TaskIds) != 2 {
		t.Fatalf("order after the partners' signatures: %s tasks %v", o.Status, o.TaskIds)
	}
	for i, id := range o.TaskIds {
		task := taskOf(t, c.app, id)
		p := want[i]
		if task.Assignee != p.Member || task.Status != TaskOpen || !bytes.Equal(task.OrderCommitment, OrderTaskCommitment(id, p.Quantity)) {
			t.Fatalf("task %s: %+v", id, task)
		}
	}
	if got := creditOf(t, c.app, "node1").Credit.Score; got != before+policies.DefaultOrderCredit.Activated {
		t.Fatalf("node1's rating %d → %d at activation", before, got)
	}
}

// TestTenderAwardNoQuoteChosen: an award that chooses nobody leaves the
// order tendering and free for another tender.
func TestTenderAwardNoQuoteChosen(t *testing.T) {
	c := newJobChain(t)
	c.mustOK(t, c.tx(t, 0, tenderOrder(t, c, "T-1", "BBB")))
	c.mustOK(t, c.tx(t, 0, tenderJob(t, c, "TJ-1", "T-1", "node1", "node2")))
	c.quote(t, 1, "TJ-1", 30, 0)
	c.quote(t, 2, "TJ-1", 45, 0)
	out := makeTenderOutput(t, []uint64{0, 0, 0, 0})
	c.complete(t, "TJ-1", out.output)
	c.refused(t, 0, tenderJob(t, c, "TJ-2", "T-1", "node1", "node3"), CodeInvalid, "a completed tender must be awarded")
	c.mustOK(t, c.tx(t, 0, out.msg("T-1", "TJ-1")))
	if o := c.order(t, "T-1"); o.Status != OrderTendering || o.TenderJob != "" || !strings.Contains(lastTransition(o).Reason, "chose no quote") {
		t.Fatalf("order after an empty award: %s %q", o.Status, o.TenderJob)
	}
	c.mustOK(t, c.tx(t, 0, tenderJob(t, c, "TJ-2", "T-1", "node1", "node3")))
}

// TestOrderCreditFromPolicy: the order credit table is the policy's
// credit.orders, not a constant.
func TestOrderCreditFromPolicy(t *testing.T) {
	src := strings.Replace(string(policies.DefaultYAML()), "activated: 2 ", "activated: 7 ", 1)
	if src == string(policies.DefaultYAML()) {
		t.Fatal("the default policy does not state orders.activated")
	}
	c := newJobChainPolicy(t, 0, []byte(src))
	if got := c.app.committed.Load().orderCredit().Activated; got != 7 {
		t.Fatalf("activation credit in force: %d", got)
	}
	o := tenderOrder(t, c, "P-1", "BBB")
	o.Tender, o.MaxPrice, o.Funds = false, 0, 10
	o.Partners = []*ledgerpb.OrderPartner{{Member: "node1", Quantity: tenderQty, FixedAmount: 10}}
	c.mustOK(t, c.tx(t, 0, o))
	before := creditOf(t, c.app, "node1").Credit.Score
	h, _ := OrderTermsHash(o)
	c.mustOK(t, c.tx(t, 1, &ledgerpb.OrderSign{OrderId: "P-1", TermsHash: h}))
	if got := creditOf(t, c.app, "node1").Credit.Score; got != before+7 {
		t.Fatalf("node1's rating %d → %d at activation, want +7", before, got)
	}
}

// TestTenderExpiryOutputSharing: an expired tender job leaves the order
// tendering for another tender; in output-sharing mode the award sets unit
// values only (a quoted price of 0 is a valid unit value of a tendered
// order) and the partners' signatures activate it.
func TestTenderExpiryOutputSharing(t *testing.T) {
	c := newJobChain(t)
	o := tenderOrder(t, c, "T-1", "BBB")
	o.Mode, o.ProfitPool, o.Funds = ModeOutputSharing, 9000, 9000
	c.mustOK(t, c.tx(t, 0, o))
	first := tenderJob(t, c, "TJ-1", "T-1", "node1", "node2")
	first.DeadlineHeight = c.height + 7
	c.mustOK(t, c.tx(t, 0, first))
	// Both quote; the committee never posts a result, so nobody is penalised.
	c.quote(t, 1, "TJ-1", 10, 100)
	c.quote(t, 2, "TJ-1", 20, 100)
	for c.job(t, "TJ-1").Status != JobAborted {
		c.block(t)
	}
	if o := c.order(t, "T-1"); o.Status != OrderTendering {
		t.Fatalf("order after its tender expired: %s", o.Status)
	}
	c.mustOK(t, c.tx(t, 0, tenderJob(t, c, "TJ-2", "T-1", "node1", "node2")))
	c.quote(t, 1, "TJ-2", 0, 100)
	c.quote(t, 2, "TJ-2", 20, 100)
	out := makeTenderOutput(t, []uint64{100, 0, 0, 0})
	c.complete(t, "TJ-2", out.output)
	c.mustOK(t, c.tx(t, 0, out.msg("T-1", "TJ-2")))
	got := c.order(t, "T-1")
	if got.Status != OrderDraft || len(got.Terms.Partners) != 1 || got.TenderedQuantity != 0 || got.Terms.Quantity != tenderQty {
		t.Fatalf("awarded order: %+v", got)
	}
	if p := got.Terms.Partners[0]; p.Member != "node1" || p.Quantity != tenderQty || p.UnitValue != 0 || p.FixedAmount != 0 {
		t.Fatalf("partner %v", p)
	}
	c.mustOK(t, c.tx(t, 1, &ledgerpb.OrderSign{OrderId: "T-1", TermsHash: got.TermsHash}))
	if got := c.order(t, "T-1"); got.Status != OrderActive || len(got.TaskIds) != 1 {
		t.Fatalf("order after node1's signature: %s %v", got.Status, got.TaskIds)
	}
}

// mapState is a stateReader over a map, for benchmarks of checks alone.
type mapState map[string][]byte

func (m mapState) get(key []byte) ([]byte, error) { return m[string(key)], nil }

// BenchmarkCheckOrderAward measures the ledger's check of an award opening
// at the largest tender (64 quotes: a 65-commitment Poseidon2 hash and the
// commitment of a 128-value award), which FinalizeBlock runs per award.
func BenchmarkCheckOrderAward(b *testing.B) {
	const quotes = jobspec.MaxTenderQuotes
	award := make([]uint64, 2*quotes)
	var slots []string
	for k := 0; k < quotes; k++ {
		member := "q" + strings.Repeat("x", k%3) + string(rune('a'+k%26)) + string(rune('a'+k/26))
		ps, cs := jobspec.TenderSlots(member)
		slots = append(slots, ps, cs)
	}
	award[0], award[1], award[2], award[3] = 60, 30, 40, 35
	out := makeTenderOutput(b, award)
	params, _ := json.Marshal(jobspec.TenderParams{Order: "T-1", Quantity: tenderQty, MaxPartners: 2, MaxPrice: tenderMaxPrice})
	st := mapState{}
	o := &ledgerpb.Order{Id: "T-1", Demander: "node0", Status: OrderTendering, TenderJob: "TJ-1",
		Terms: &ledgerpb.OrderCreate{OrderId: "T-1", Quantity: tenderQty, MaxPrice: tenderMaxPrice, Mode: ModeFixed, Tender: true}}
	j := &ledgerpb.Job{Id: "TJ-1", Type: string(jobspec.Tender), Params: params, Providers: slots, Recipient: "node0",
		Status: JobCompleted, OutputCommitment: out.output}
	for key, msg := range map[string]proto.Message{string(keyOrder("T-1")): o, string(keyJob("TJ-1")): j} {
		raw, err := marshal(msg)
		if err != nil {
			b.Fatal(err)
		}
		st[key] = raw
	}
	m := out.msg("T-1", "TJ-1")
	b.ResetTimer()
	for range b.N {
		if _, terr := checkOrderAward("node0", m, st); terr != nil {
			b.Fatal(terr)
		}
	}
}
