package ledger

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// Orders (contracts). A demander creates an order naming its partners; the
// order is a draft until every partner has signed the exact terms. The last
// signature runs the validity checks against the state of that moment
// (parties, grades, quantities, deadline, funds) and, if they pass, the order
// becomes active and opens one PoTC task per partner through the task
// machinery. The ledger itself suspends an active order on a breach it
// detects (a partner's task times out, a completion proven below the
// threshold, a completion proof that does not verify); every party resumes it
// by a vote, the parties not in breach terminate it by theirs, and an active order whose tasks are
// all closed is settled on the ledger (settle.go).
//
// The partner slots (member, quantity, unit value, fixed amount) are set by
// the demander at creation, or by a private tender job's award (tender.go);
// either way the partners' signatures stay the act of agreement.

// Order states.
const (
	OrderDraft      = "draft" // awaiting the partners' signatures (a tender order's award makes it one)
	OrderActive     = "active"
	OrderSuspended  = "suspended"
	OrderSettled    = "settled"
	OrderTerminated = "terminated"
)

// Settlement modes.
const (
	ModeOutputSharing = "output-sharing"
	ModeFixed         = "fixed"
	ModeHybrid        = "hybrid"
)

// Task states that only order tasks reach.
const (
	// TaskBelowThreshold is a task whose assignee proved a completion band
	// below the task's threshold: the delivery is verified (and counts in
	// an output-sharing settlement) but the contract is breached.
	TaskBelowThreshold = "below_threshold"
	// TaskCancelled is an open task of an order its parties terminated.
	TaskCancelled = "cancelled"
)

// ledgerActor names the ledger as the author of a transition it detected.
const ledgerActor = "ledger"

const (
	maxOrderIDBytes     = 48 // leaves room for the task IDs "order/<id>/<n>" within maxTaskIDBytes
	maxProductBytes     = 128
	maxOrderReasonBytes = 256
	maxOrderPartners    = 16
	// Amounts and quantities are bounded so that every sum of them fits in
	// 64 bits (16 partners × 10^15 + 10^15 < 2^63); products are computed
	// in big integers.
	maxOrderAmount   = 1_000_000_000_000_000
	maxOrderQuantity = 1_000_000_000_000
	maxOrdersInQuery = 1000
	// orderTaskPrefix starts every order task's ID; task.assign refuses it
	// so that nobody can take an order's task IDs before the order opens them.
	orderTaskPrefix  = "order/"
	orderTermsDomain = "cohort/order-terms/v1\x00"
	orderSaltDomain  = "cohort/order-task-salt/v1\x00"
)

// The credit moves of the contract life cycle are the policy's order credit
// table (policies.OrderCredit: credit.orders, defaults when the policy or the
// key is absent), applied in FinalizeBlock on top of the task machinery's own
// moves (a timed-out task already costs ratingTaskTimeout, a completion earns
// its band). The table in force is the committed policy's at the block's
// start, like every other policy rule.
const (
	// outputValueUnit is how much verified output value (delivered quantity
	// × unit value, in the order's currency unit) makes one point of the
	// output count that feeds voting power; a settlement adds at most
	// maxOutputPerSettlement points per partner and at least 1 if the
	// partner's verified value is positive.
	outputValueUnit        = 100_000
	maxOutputPerSettlement = 10
)

func keyOrder(id string) []byte { return append([]byte("ord/"), id...) }

var prefixOrder = []byte("ord/")

// OrderTermsHash is what every partner signs with order.sign: a hash of the
// order's terms in their deterministic protobuf encoding.
func OrderTermsHash(terms *ledgerpb.OrderCreate) ([]byte, error) {
	raw, err := marshal(terms)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(append([]byte(orderTermsDomain), raw...))
	return h[:], nil
}

// OrderTaskID is the ID of the task of the order's i-th partner (0-based).
func OrderTaskID(orderID string, i int) string {
	return orderTaskPrefix + orderID + "/" + strconv.Itoa(i+1)
}

// OrderTaskSalt is the salt of an order task's quantity commitment. It is
// public: an order's quantities are public terms, and deriving the salt lets
// the ledger compute the commitment itself, so the commitment the partner
// proves against is guaranteed to open to the quantity the settlement uses.
func OrderTaskSalt(taskID string) fr.Element {
	h := sha256.Sum256(append([]byte(orderSaltDomain), taskID...))
	var e fr.Element
	e.SetBytes(h[:]) // reduces modulo r
	return e
}

// OrderTaskCommitment is the order commitment of an order task.
func OrderTaskCommitment(taskID string, quantity uint64) []byte {
	c := zk.OrderCommitment(TaskFelt(taskID), quantity, OrderTaskSalt(taskID))
	b := c.Bytes()
	return b[:]
}

func loadOrder(st stateReader, id string) (*ledgerpb.Order, error) {
	raw, err := st.get(keyOrder(id))
	if err != nil || raw == nil {
		return nil, err
	}
	var o ledgerpb.Order
	if err := proto.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("corrupt order %q: %w", id, err)
	}
	return &o, nil
}

func putOrder(b *blockState, o *ledgerpb.Order) error {
	raw, err := marshal(o)
	if err != nil {
		return err
	}
	b.set(keyOrder(o.Id), raw)
	return nil
}

// orderParties are the demander and the partners, sorted.
func orderParties(o *ledgerpb.Order) []string {
	ps := []string{o.Demander}
	for _, p := range o.Terms.Partners {
		ps = append(ps, p.Member)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

func validOrderID(id string) bool {
	if id == "" || len(id) > maxOrderIDBytes {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

// gradeTable is the policy in force, or the default policy on a chain
// without one: policies owns the one grade table.
func (v *committedView) gradeTable() *policies.Policy {
	if v.policy != nil {
		return v.policy
	}
	return v.defaults
}

// orderCredit is the order credit table in force.
func (v *committedView) orderCredit() policies.OrderCredit { return v.gradeTable().Credit.Orders }

// knownGrade reports whether a grade name exists in the grade table.
func (v *committedView) knownGrade(name string) bool {
	_, err := v.gradeTable().MeetsGrade(0, name)
	return err == nil
}

// meetsGrade reports whether a rating reaches a grade.
func (v *committedView) meetsGrade(score int64, name string) (bool, error) {
	return v.gradeTable().MeetsGrade(uint32(min(max(score, 0), policies.MaxRating)), name)
}

// payable is the most an order's mode can pay: the pool shared by output
// plus every fixed payment. Bounded inputs keep it within 64 bits.
func payable(t *ledgerpb.OrderCreate) uint64 {
	var sum uint64
	if t.Mode != ModeFixed {
		sum = t.ProfitPool
	}
	if t.Mode != ModeOutputSharing {
		for _, p := range t.Partners {
			sum += p.FixedAmount
		}
	}
	return sum + tenderMaxFixed(t)
}

// checkOrderTerms runs the checks that need no credit state: at creation
// and again, against the height of that moment, when the last party signs.
func checkOrderTerms(demander string, t *ledgerpb.OrderCreate, v *committedView, height int64) *TxError {
	switch {
	case !validOrderID(t.OrderId):
		return txErr(CodeInvalid, "order id must be 1 to %d bytes of letters, digits and - _ . :", maxOrderIDBytes)
	case t.Product == "" || len(t.Product) > maxProductBytes:
		return txErr(CodeInvalid, "product must be 1 to %d bytes", maxProductBytes)
	case t.Quantity == 0 || t.Quantity > maxOrderQuantity:
		return txErr(CodeInvalid, "order quantity must be 1 to %d", uint64(maxOrderQuantity))
	case t.DeadlineHeight <= height || t.DeadlineHeight > height+maxTaskLifetime:
		return txErr(CodeInvalid, "deadline height %d must be after %d and within %d blocks", t.DeadlineHeight, height, maxTaskLifetime)
	case !v.knownGrade(t.MinGrade):
		return txErr(CodeInvalid, "minimum grade %q is not a grade of the credit table", clipString(t.MinGrade))
	case t.MaxPartners < 1 || t.MaxPartners > maxOrderPartners:
		return txErr(CodeInvalid, "max partners must be 1 to %d", maxOrderPartners)
	case len(t.Partners) == 0 && !t.Tender || len(t.Partners) > int(t.MaxPartners):
		return txErr(CodeInvalid, "an order needs 1 to max partners (%d) partners, got %d", t.MaxPartners, len(t.Partners))
	case t.Mode != ModeOutputSharing && t.Mode != ModeFixed && t.Mode != ModeHybrid:
		return txErr(CodeInvalid, "settlement mode %q: want %s, %s or %s", clipString(t.Mode), ModeOutputSharing, ModeFixed, ModeHybrid)
	case t.ProfitPool > maxOrderAmount || t.Funds > maxOrderAmount*(maxOrderPartners+1):
		return txErr(CodeInvalid, "profit pool above %d or funds above %d", uint64(maxOrderAmount), uint64(maxOrderAmount*(maxOrderPartners+1)))
	case t.Mode == ModeFixed && t.ProfitPool != 0:
		return txErr(CodeInvalid, "a fixed-payment order has no profit pool (got %d)", t.ProfitPool)
	case t.Mode != ModeFixed && t.ProfitPool == 0:
		return txErr(CodeInvalid, "a %s order needs a profit pool", t.Mode)
	case t.ThresholdBps < 1 || t.ThresholdBps > basisPoints:
		return txErr(CodeInvalid, "threshold must be 1 to %d basis points", basisPoints)
	}
	if terr := checkTenderTerms(t); terr != nil {
		return terr
	}
	if err := (zk.CompletionStatement{CounterpartyKey: t.CounterpartyKey}).Validate(); err != nil {
		return txErr(CodeInvalid, "counterparty key: %v", err)
	}
	var total uint64
	seen := make(map[string]bool, len(t.Partners))
	for i, p := range t.Partners {
		switch {
		case v.members.byName[p.Member] == nil:
			return txErr(CodeInvalid, "partner %d: %q is not a member", i+1, clipString(p.Member))
		case p.Member == demander:
			return txErr(CodeInvalid, "partner %d: the demander cannot be its own partner", i+1)
		case seen[p.Member]:
			return txErr(CodeInvalid, "partner %d: %s is named twice", i+1, p.Member)
		case p.Quantity == 0 || p.Quantity > maxOrderQuantity:
			return txErr(CodeInvalid, "partner %s: quantity must be 1 to %d", p.Member, uint64(maxOrderQuantity))
		case p.UnitValue > maxOrderAmount || p.FixedAmount > maxOrderAmount:
			return txErr(CodeInvalid, "partner %s: unit value and fixed amount must be at most %d", p.Member, uint64(maxOrderAmount))
		case t.Mode == ModeOutputSharing && p.FixedAmount != 0:
			return txErr(CodeInvalid, "partner %s: an output-sharing order has no fixed payments", p.Member)
		case t.Mode != ModeFixed && p.UnitValue == 0 && !t.Tender: // a tender's unit value is a quoted price, possibly 0
			return txErr(CodeInvalid, "partner %s: a %s order needs a unit value", p.Member, t.Mode)
		}
		seen[p.Member] = true
		total += p.Quantity
	}
	if len(t.Partners) > 0 && total != t.Quantity {
		return txErr(CodeInvalid, "the partners' quantities sum to %d, the order is for %d", total, t.Quantity)
	}
	if need := payable(t); t.Funds < need {
		return txErr(CodeInvalid, "declared funds %d do not cover the %d the %s mode can pay", t.Funds, need, t.Mode)
	}
	return nil
}

func checkOrderCreate(signer string, m *ledgerpb.OrderCreate, v *committedView, st stateReader, height int64) *TxError {
	if terr := checkOrderTerms(signer, m, v, height); terr != nil {
		return terr
	}
	o, err := loadOrder(st, m.OrderId)
	if err != nil {
		return txErr(CodeInvalid, "read state: %v", err)
	}
	if o != nil {
		return txErr(CodeInvalid, "order %q already exists", m.OrderId)
	}
	if m.Tender && len(m.Partners) != 0 {
		return txErr(CodeInvalid, "a tender order is created without partners: its award names them")
	}
	return nil
}

func applyOrderCreate(b *blockState, signer string, m *ledgerpb.OrderCreate, height int64) (*ledgerpb.Order, error) {
	h, err := OrderTermsHash(m)
	if err != nil {
		return nil, err
	}
	status := OrderDraft
	if m.Tender {
		status = OrderTendering
	}
	o := &ledgerpb.Order{
		Id: m.OrderId, Demander: signer, Terms: m, TermsHash: h, Status: status,
		Signed: []string{signer}, CreatedHeight: height,
		Transitions: []*ledgerpb.OrderTransition{{Height: height, To: status, Reason: "created", By: signer}},
	}
	return o, putOrder(b, o)
}

// checkOrderSign checks a partner's signature and, when it is the last one,
// the whole order's validity against the current state: an invalid order is
// refused here and nothing changes.
func checkOrderSign(signer string, m *ledgerpb.OrderSign, v *committedView, st stateReader, height int64) (*ledgerpb.Order, *TxError) {
	o, err := loadOrder(st, m.OrderId)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	switch {
	case o == nil:
		return nil, txErr(CodeInvalid, "unknown order %q", clipString(m.OrderId))
	case o.Status != OrderDraft:
		return nil, txErr(CodeInvalid, "order %s is %s, not a draft", o.Id, o.Status)
	case !slices.Contains(orderParties(o), signer):
		return nil, txErr(CodeUnauthorized, "%s is not a party of order %s", signer, o.Id)
	case slices.Contains(o.Signed, signer):
		return nil, txErr(CodeInvalid, "%s has already signed order %s", signer, o.Id)
	case string(m.TermsHash) != string(o.TermsHash):
		return nil, txErr(CodeInvalid, "signature is over terms %x, order %s has terms %x", m.TermsHash, o.Id, o.TermsHash)
	}
	if len(o.Signed)+1 < len(orderParties(o)) {
		return o, nil
	}
	// The last signature: the contract's validity at this moment.
	if terr := checkOrderTerms(o.Demander, o.Terms, v, height); terr != nil {
		return nil, txErr(terr.Code, "order %s is invalid at signing: %s", o.Id, terr.Msg)
	}
	for _, p := range o.Terms.Partners {
		c, err := loadRating(st, p.Member)
		if err != nil {
			return nil, txErr(CodeInvalid, "read state: %v", err)
		}
		ok, err := v.meetsGrade(c.Score, o.Terms.MinGrade)
		if err != nil {
			return nil, txErr(CodeInvalid, "order %s: %v", o.Id, err)
		}
		if !ok {
			return nil, txErr(CodeUnauthorized, "order %s is invalid at signing: partner %s has grade %s (rating %d), below the minimum %s",
				o.Id, p.Member, v.grade(c.Score), c.Score, o.Terms.MinGrade)
		}
	}
	for i := range o.Terms.Partners {
		id := OrderTaskID(o.Id, i)
		t, err := loadTask(st, id)
		if err != nil {
			return nil, txErr(CodeInvalid, "read state: %v", err)
		}
		if t != nil {
			return nil, txErr(CodeInvalid, "order %s: task %s already exists", o.Id, id)
		}
	}
	return o, nil
}

func applyOrderSign(b *blockState, oc policies.OrderCredit, signer string, o *ledgerpb.Order, height int64) error {
	o.Signed = append(o.Signed, signer)
	slices.Sort(o.Signed)
	if len(o.Signed) < len(orderParties(o)) {
		return putOrder(b, o)
	}
	// Every party signed and checkOrderSign found the order valid: it opens
	// one task per partner, exactly as a task.assign by the demander would.
	for i, p := range o.Terms.Partners {
		id := OrderTaskID(o.Id, i)
		if err := openTask(b, &ledgerpb.Task{
			Id: id, Buyer: o.Demander, Assignee: p.Member, OrderCommitment: OrderTaskCommitment(id, p.Quantity),
			ThresholdBps: o.Terms.ThresholdBps, CounterpartyKey: o.Terms.CounterpartyKey,
			DeadlineHeight: o.Terms.DeadlineHeight, AssignedHeight: height, Status: TaskOpen, OrderId: o.Id,
		}); err != nil {
			return err
		}
		o.TaskIds = append(o.TaskIds, id)
	}
	o.Status = OrderActive
	o.Transitions = append(o.Transitions, &ledgerpb.OrderTransition{
		Height: height, From: OrderDraft, To: OrderActive, By: signer, CreditDelta: oc.Activated,
		Reason: fmt.Sprintf("signed by every party; checks passed; %d tasks opened", len(o.TaskIds)),
	})
	for _, p := range orderParties(o) {
		if err := adjustRating(b, p, oc.Activated, "order "+o.Id+" signed and active", height); err != nil {
			return err
		}
	}
	return putOrder(b, o)
}

// orderBreach suspends an active order (or records a further breach of a
// suspended one) on a breach the ledger detected, and charges the party at
// fault. A breach re-versions the order, so votes cast before it lapse.
func orderBreach(b *blockState, oc policies.OrderCredit, orderID, party, reason string, height int64) error {
	o, err := loadOrder(b, orderID)
	if err != nil {
		return err
	}
	if o == nil {
		return fmt.Errorf("task points to a missing order %q", orderID)
	}
	if o.Status != OrderActive && o.Status != OrderSuspended {
		return nil // a closed order's tasks are closed too; nothing to suspend
	}
	o.Transitions = append(o.Transitions, &ledgerpb.OrderTransition{
		Height: height, From: o.Status, To: OrderSuspended, Reason: reason, By: ledgerActor, Party: party,
		CreditDelta: oc.Breach,
	})
	o.Status, o.ResumeVotes, o.TerminateVotes = OrderSuspended, nil, nil
	if err := adjustRating(b, party, oc.Breach, "order "+o.Id+" breach: "+reason, height); err != nil {
		return err
	}
	return putOrder(b, o)
}

// orderVote is a resume or terminate vote.
type orderVote struct {
	id, reason string
	version    uint32
	terminate  bool
}

func checkOrderVote(signer string, vote orderVote, st stateReader) (*ledgerpb.Order, *TxError) {
	if len(vote.reason) > maxOrderReasonBytes {
		return nil, txErr(CodeInvalid, "reason exceeds %d bytes", maxOrderReasonBytes)
	}
	o, err := loadOrder(st, vote.id)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	if o == nil {
		return nil, txErr(CodeInvalid, "unknown order %q", clipString(vote.id))
	}
	if !slices.Contains(orderParties(o), signer) {
		return nil, txErr(CodeUnauthorized, "%s is not a party of order %s", signer, o.Id)
	}
	if vote.version != uint32(len(o.Transitions)) {
		return nil, txErr(CodeInvalid, "vote is for version %d of order %s, which is at version %d (%s)", vote.version, o.Id, len(o.Transitions), o.Status)
	}
	votes := o.ResumeVotes
	if vote.terminate {
		votes = o.TerminateVotes
		if o.Status != OrderTendering && o.Status != OrderDraft && o.Status != OrderActive && o.Status != OrderSuspended {
			return nil, txErr(CodeInvalid, "order %s is %s", o.Id, o.Status)
		}
	} else if o.Status != OrderSuspended {
		return nil, txErr(CodeInvalid, "order %s is %s, only a suspended order resumes", o.Id, o.Status)
	}
	if slices.Contains(votes, signer) {
		return nil, txErr(CodeInvalid, "%s has already voted to %s order %s", signer, voteVerb(vote.terminate), o.Id)
	}
	return o, nil
}

func voteVerb(terminate bool) string {
	if terminate {
		return "terminate"
	}
	return "resume"
}

// breachingParties lists, sorted and without repeats, the parties whose
// breaches put a suspended order in its current suspension: the parties
// named by the run of transitions into "suspended" that ends the order's
// history (a breach of a suspended order extends the run). Empty unless the
// order is suspended.
func breachingParties(o *ledgerpb.Order) []string {
	if o.Status != OrderSuspended {
		return nil
	}
	var out []string
	for i := len(o.Transitions) - 1; i >= 0 && o.Transitions[i].To == OrderSuspended; i-- {
		if p := o.Transitions[i].Party; p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// voteQuorum lists the parties whose votes a transition needs. Resuming
// needs every party: the parties in breach must agree to go on. Terminating
// a suspended order needs every party not in breach: a party in breach
// cannot hold the others in a contract it broke by withholding its vote (it
// may still vote; it bears the termination either way). Any other
// termination needs every party.
func voteQuorum(o *ledgerpb.Order, terminate bool) []string {
	parties := orderParties(o)
	if !terminate {
		return parties
	}
	breaching := breachingParties(o)
	quorum := slices.DeleteFunc(slices.Clone(parties), func(p string) bool { return slices.Contains(breaching, p) })
	if len(quorum) == 0 {
		return parties
	}
	return quorum
}

// applyOrderVote records a vote; the transition happens when every party of
// the vote's quorum (voteQuorum) has voted at the same version (a draft ends
// on any party's refusal).
func applyOrderVote(b *blockState, oc policies.OrderCredit, signer string, o *ledgerpb.Order, vote orderVote, height int64) error {
	votes := &o.ResumeVotes
	if vote.terminate {
		votes = &o.TerminateVotes
	}
	*votes = append(*votes, signer)
	slices.Sort(*votes)
	quorum := voteQuorum(o, vote.terminate)
	reached := !slices.ContainsFunc(quorum, func(p string) bool { return !slices.Contains(*votes, p) })
	if !reached && o.Status != OrderDraft && o.Status != OrderTendering {
		return putOrder(b, o)
	}
	tr := &ledgerpb.OrderTransition{Height: height, From: o.Status, By: signer}
	if !vote.terminate {
		tr.To, tr.Reason = OrderActive, "resumed by every party: "+vote.reason
		o.Status = OrderActive
	} else {
		tr.To = OrderTerminated
		if o.Status == OrderDraft || o.Status == OrderTendering {
			tr.Reason = o.Status + " withdrawn by " + signer + ": " + vote.reason
		} else if breaching := breachingParties(o); len(breaching) > 0 {
			tr.Reason = "terminated by every party not in breach: " + vote.reason
			// Each party whose breach suspended the order bears the
			// termination; the transition names the first (sorted).
			tr.Party, tr.CreditDelta = breaching[0], oc.Terminated
			for _, p := range breaching {
				if err := adjustRating(b, p, oc.Terminated, "order "+o.Id+" terminated after a breach", height); err != nil {
					return err
				}
			}
		} else {
			tr.Reason = "terminated by every party: " + vote.reason
		}
		if err := cancelOrderTasks(b, o); err != nil {
			return err
		}
		o.Status = OrderTerminated
	}
	o.Transitions = append(o.Transitions, tr)
	o.ResumeVotes, o.TerminateVotes = nil, nil
	return putOrder(b, o)
}

// cancelOrderTasks closes a terminated order's open tasks without a credit
// move: the parties agreed to stop, so nobody misses a deadline.
func cancelOrderTasks(b *blockState, o *ledgerpb.Order) error {
	for _, id := range o.TaskIds {
		t, err := loadTask(b, id)
		if err != nil || t == nil {
			return fmt.Errorf("order %s points to a missing task %q: %v", o.Id, id, err)
		}
		if t.Status != TaskOpen {
			continue
		}
		b.delete(keyTaskOpen(t.DeadlineHeight, t.Id))
		t.Status = TaskCancelled
		if err := putTask(b, t); err != nil {
			return err
		}
	}
	return nil
}

// applyTaskShortfall closes an order task whose assignee proved a band below
// the threshold: the delivery is verified, the contract is breached.
func applyTaskShortfall(b *blockState, oc policies.OrderCredit, t *ledgerpb.Task, m *ledgerpb.TaskComplete, height int64) error {
	b.delete(keyTaskOpen(t.DeadlineHeight, t.Id))
	t.Status, t.CompletedBps, t.CompletedHeight, t.DeliveryCommitment = TaskBelowThreshold, m.ClaimedBps, height, m.DeliveryCommitment
	if err := putTask(b, t); err != nil {
		return err
	}
	return orderBreach(b, oc, t.OrderId, t.Assignee,
		fmt.Sprintf("task %s completed at %d bps, below the threshold %d bps", t.Id, m.ClaimedBps, t.ThresholdBps), height)
}

func clipString(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// checkOrderTx dispatches the checks of the order messages. It returns the
// order the apply step works on (nil for a creation).
func checkOrderTx(signer string, p *ledgerpb.TxPayload, v *committedView, st stateReader, height int64) (any, *TxError) {
	switch msg := p.Msg.(type) {
	case *ledgerpb.TxPayload_OrderCreate:
		return nil, checkOrderCreate(signer, msg.OrderCreate, v, st, height)
	case *ledgerpb.TxPayload_OrderSign:
		return checkOrderSign(signer, msg.OrderSign, v, st, height)
	case *ledgerpb.TxPayload_OrderResume:
		m := msg.OrderResume
		return checkOrderVote(signer, orderVote{id: m.OrderId, version: m.Version, reason: m.Reason}, st)
	case *ledgerpb.TxPayload_OrderTerminate:
		m := msg.OrderTerminate
		return checkOrderVote(signer, orderVote{id: m.OrderId, version: m.Version, reason: m.Reason, terminate: true}, st)
	case *ledgerpb.TxPayload_OrderSettle:
		return checkOrderSettle(signer, msg.OrderSettle, st)
	case *ledgerpb.TxPayload_OrderAward:
		return checkOrderAward(signer, msg.OrderAward, st)
	}
	return nil, txErr(CodeMalformed, "not an order message: %T", p.Msg)
}

// applyOrderTx applies a checked order message and returns its events.
func applyOrderTx(b *blockState, v *committedView, tx *decodedTx, checked any, height int64, txHash []byte) ([]abci.Event, error) {
	signer := tx.payload.Signer
	oc := v.orderCredit()
	var o *ledgerpb.Order
	var err error
	switch msg := tx.payload.Msg.(type) {
	case *ledgerpb.TxPayload_OrderCreate:
		o, err = applyOrderCreate(b, signer, msg.OrderCreate, height)
	case *ledgerpb.TxPayload_OrderSign:
		o = checked.(*ledgerpb.Order)
		err = applyOrderSign(b, oc, signer, o, height)
	case *ledgerpb.TxPayload_OrderResume:
		m := msg.OrderResume
		o = checked.(*ledgerpb.Order)
		err = applyOrderVote(b, oc, signer, o, orderVote{id: m.OrderId, version: m.Version, reason: m.Reason}, height)
	case *ledgerpb.TxPayload_OrderTerminate:
		m := msg.OrderTerminate
		o = checked.(*ledgerpb.Order)
		err = applyOrderVote(b, oc, signer, o, orderVote{id: m.OrderId, version: m.Version, reason: m.Reason, terminate: true}, height)
	case *ledgerpb.TxPayload_OrderSettle:
		o = checked.(*ledgerpb.Order)
		_, err = applyOrderSettle(b, oc, tx, o, height, txHash)
	case *ledgerpb.TxPayload_OrderAward:
		ca := checked.(*checkedAward)
		o = ca.order
		err = applyOrderAward(b, signer, ca, height)
	}
	if err != nil {
		return nil, err
	}
	attrs := []abci.EventAttribute{{Key: "id", Value: o.Id}, {Key: "status", Value: o.Status}}
	if last := o.Transitions[len(o.Transitions)-1]; last.Height == height {
		attrs = append(attrs, abci.EventAttribute{Key: "reason", Value: last.Reason})
	}
	events := []abci.Event{{Type: "order", Attributes: attrs}}
	if o.SettlementRecord != "" && o.Status == OrderSettled {
		events = append(events, abci.Event{Type: "record", Attributes: []abci.EventAttribute{
			{Key: "id", Value: o.SettlementRecord}, {Key: "kind", Value: SettlementRecordKind},
		}})
	}
	return events, nil
}

// Order queries (see query.go for the paths).

func (a *App) queryOrder(id string) ([]byte, error) {
	return a.getOrNotFound(keyOrder(id))
}

func (a *App) queryOrders() ([]byte, error) {
	var list ledgerpb.OrderList
	err := a.store.scan(prefixOrder, func(_, val []byte) error {
		if len(list.Orders) >= maxOrdersInQuery {
			return errStopScan
		}
		var o ledgerpb.Order
		if err := proto.Unmarshal(val, &o); err != nil {
			return fmt.Errorf("corrupt order: %w", err)
		}
		list.Orders = append(list.Orders, &o)
		return nil
	})
	if err != nil && err != errStopScan {
		return nil, err
	}
	return marshal(&list)
}

func (a *App) querySettlement(id string) ([]byte, error) {
	return a.getOrNotFound(keySettlement(id))
}
