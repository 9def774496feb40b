package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/ss"
)

// Tendering orders. A demander creates an order in tender mode (terms with
// tender set and no partners: product, quantity, deadline, minimum grade,
// partner limit, mode, pool and funds, threshold, and the highest unit
// price a quote may ask); the order is tendering. The demander then submits
// a tender job for it (job type tender, params.order = the order): the
// ledger checks at job.submit that the job fits the order (tendering,
// requester and recipient the demander, same quantity and max price, at
// most the order's partners, every quoter graded at least the order's
// minimum, every price factor the policy's formula for the quoter's
// rating), and at every quote (job.input on a tender slot) that the quoter
// still reaches the minimum grade. The committee ranks the sealed quotes;
// only the demander learns the award vector, each quoter only its own
// assignment, and the ledger only a commitment.
//
// The demander then opens the award on the ledger (order.award): the ledger
// recomputes the job's signed output commitment from the opened commitments
// and the award from its salt, so the partners it writes are exactly the
// MPC's choice, and fills the order's partner slots from the chosen quotes:
//
//   - quantity: the quote's assigned quantity; unit value: its quoted price;
//   - fixed amount (fixed and hybrid modes): quantity × price; in hybrid
//     mode the partner also shares the pool by delivered quantity × price;
//   - the order's quantity becomes the awarded total when the quotes did not
//     cover it (the quantity tendered is kept in tendered_quantity).
//
// The order becomes a draft with new terms and a new terms hash; from there
// the partners' order.sign, the checks at the last signature, activation,
// tasks, breaches and settlement are those of any order. Funds are checked
// at creation against the most a tender can award (quantity × max price in
// fixed and hybrid modes, plus the pool), so any award is covered.
//
// The order stays tendering while its tender job runs. A tender job that
// aborts or expires leaves the order tendering and a new tender may be
// submitted; a completed one must be awarded (an award that chooses no quote
// leaves the order tendering, free for a new tender). The demander may
// withdraw a tendering order with order.terminate like a draft.

// OrderTendering is the state of a tender order before its award.
const OrderTendering = "tendering"

// tenderJobParams decodes a tender job's params; the ledger accepted only
// jobs whose spec validates, so an error here is corrupt state or a job of
// another type.
func tenderJobParams(raw []byte) (*jobspec.TenderParams, error) {
	var p jobspec.TenderParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("tender params: %w", err)
	}
	return &p, nil
}

// checkTenderTerms checks the tender-only terms of an order: the max price,
// the engine's limits, and that quantity × max price, the most a tender can
// award as fixed payments, stays within one order amount.
func checkTenderTerms(t *ledgerpb.OrderCreate) *TxError {
	switch {
	case !t.Tender && t.MaxPrice != 0:
		return txErr(CodeInvalid, "max price is a tender order's term (set tender)")
	case !t.Tender:
		return nil
	case t.MaxPrice < 1 || t.MaxPrice > jobspec.MaxTenderPrice:
		return txErr(CodeInvalid, "a tender order's max price must be 1 to %d", uint64(jobspec.MaxTenderPrice))
	case t.Quantity > jobspec.MaxTenderQuantity || t.MaxPartners > jobspec.MaxTenderPartners:
		return txErr(CodeInvalid, "a tender order is for at most %d units and %d partners", uint64(jobspec.MaxTenderQuantity), jobspec.MaxTenderPartners)
	}
	if t.Mode != ModeOutputSharing {
		if hi, lo := bits.Mul64(t.Quantity, t.MaxPrice); hi != 0 || lo > maxOrderAmount {
			return txErr(CodeInvalid, "a %s tender order's quantity × max price must be at most %d", t.Mode, uint64(maxOrderAmount))
		}
	}
	return nil
}

// tenderMaxFixed is the most an unawarded tender order can pay in fixed
// amounts (checkTenderTerms bounds it).
func tenderMaxFixed(t *ledgerpb.OrderCreate) uint64 {
	if !t.Tender || len(t.Partners) != 0 || t.Mode == ModeOutputSharing {
		return 0
	}
	return t.Quantity * t.MaxPrice
}

// checkTenderJob runs the checks of a tender job.submit against its order.
func checkTenderJob(signer string, m *ledgerpb.JobSubmit, p *jobspec.TenderParams, v *committedView, st stateReader) *TxError {
	o, err := loadOrder(st, p.Order)
	if err != nil {
		return txErr(CodeInvalid, "read state: %v", err)
	}
	switch {
	case o == nil:
		return txErr(CodeInvalid, "tender job %q: unknown order %q", m.JobId, clipString(p.Order))
	case o.Status != OrderTendering:
		return txErr(CodeInvalid, "tender job %q: order %s is %s, not tendering", m.JobId, o.Id, o.Status)
	case signer != o.Demander || m.Recipient != o.Demander:
		return txErr(CodeUnauthorized, "tender job %q: requester %s and recipient %s must both be order %s's demander %s",
			m.JobId, signer, m.Recipient, o.Id, o.Demander)
	case uint32(p.MaxPartners) > o.Terms.MaxPartners:
		return txErr(CodeInvalid, "tender job %q: max_partners %d exceeds order %s's %d", m.JobId, p.MaxPartners, o.Id, o.Terms.MaxPartners)
	case p.Quantity != o.Terms.Quantity:
		return txErr(CodeInvalid, "tender job %q: quantity %d, order %s is for %d", m.JobId, p.Quantity, o.Id, o.Terms.Quantity)
	case p.MaxPrice != o.Terms.MaxPrice:
		return txErr(CodeInvalid, "tender job %q: max_price %d, order %s's is %d", m.JobId, p.MaxPrice, o.Id, o.Terms.MaxPrice)
	case m.DeadlineHeight >= o.Terms.DeadlineHeight:
		return txErr(CodeInvalid, "tender job %q: deadline %d must be before order %s's delivery deadline %d", m.JobId, m.DeadlineHeight, o.Id, o.Terms.DeadlineHeight)
	}
	if o.TenderJob != "" {
		var j ledgerpb.Job
		if _, err := loadProto(st, keyJob(o.TenderJob), &j); err != nil {
			return txErr(CodeInvalid, "read state: %v", err)
		}
		if j.Status != JobAborted {
			return txErr(CodeInvalid, "order %s already has tender job %s (%s): one tender at a time, and a completed tender must be awarded",
				o.Id, j.Id, j.Status)
		}
	}
	table := v.gradeTable()
	for k := 0; k < len(m.Providers)/2; k++ {
		quoter := jobspec.SlotMember(m.Providers[2*k])
		if quoter == o.Demander {
			return txErr(CodeInvalid, "tender job %q: the demander cannot quote on its own order", m.JobId)
		}
		c, err := loadRating(st, quoter)
		if err != nil {
			return txErr(CodeInvalid, "read state: %v", err)
		}
		ok, err := v.meetsGrade(c.Score, o.Terms.MinGrade)
		if err != nil {
			return txErr(CodeInvalid, "order %s: %v", o.Id, err)
		}
		if !ok {
			return txErr(CodeUnauthorized, "tender job %q: quoter %s has grade %s (rating %d), below order %s's minimum %s",
				m.JobId, quoter, v.grade(c.Score), c.Score, o.Id, o.Terms.MinGrade)
		}
		if want := table.TenderPriceFactor(c.Score); p.PriceFactors[k] != want {
			return txErr(CodeInvalid, "tender job %q: quote %d (%s, rating %d): price factor %d, the policy's formula gives %d",
				m.JobId, k, quoter, c.Score, p.PriceFactors[k], want)
		}
	}
	return nil
}

// applyTenderSubmit links an accepted tender job to its order.
func applyTenderSubmit(b *blockState, m *ledgerpb.JobSubmit) error {
	p, err := tenderJobParams(m.Params)
	if err != nil {
		return err
	}
	o, err := loadOrder(b, p.Order)
	if err != nil {
		return err
	}
	if o == nil {
		return fmt.Errorf("tender job %s: order %q vanished", m.JobId, p.Order)
	}
	o.TenderJob = m.JobId
	return putOrder(b, o)
}

// checkQuoteGrade refuses a quote (a job input on a tender job) from a
// member whose grade fell under the order's minimum since the job was
// submitted.
func checkQuoteGrade(signer string, j *ledgerpb.Job, v *committedView, st stateReader) *TxError {
	refusal, err := quoteRefusal(signer, j, v, st)
	if err != nil {
		return txErr(CodeInvalid, "job %q: %v", j.Id, err)
	}
	return refusal
}

// quoteRefusal is why the ledger refuses member's quotes on tender job j
// (nil if it does not); the error is unreadable state.
func quoteRefusal(member string, j *ledgerpb.Job, v *committedView, st stateReader) (*TxError, error) {
	p, err := tenderJobParams(j.Params)
	if err != nil {
		return nil, err
	}
	o, err := loadOrder(st, p.Order)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("order %q of tender job %s is missing", p.Order, j.Id)
	}
	c, err := loadRating(st, member)
	if err != nil {
		return nil, err
	}
	ok, err := v.meetsGrade(c.Score, o.Terms.MinGrade)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", o.Id, err)
	}
	if !ok {
		return txErr(CodeUnauthorized, "a quote from %s (grade %s, rating %d) is refused: order %s requires grade %s",
			member, v.grade(c.Score), c.Score, o.Id, o.Terms.MinGrade), nil
	}
	return nil, nil
}

// checkedAward is an award whose opening the ledger checked.
type checkedAward struct {
	order    *ledgerpb.Order
	partners []*ledgerpb.OrderPartner // the chosen quotes, in quote order
}

// checkOrderAward checks the demander's opening of a tender job's output
// against the job's signed output commitment. Lengths are bounded before
// anything is decoded.
func checkOrderAward(signer string, m *ledgerpb.OrderAward, st stateReader) (*checkedAward, *TxError) {
	switch {
	case len(m.Award) > 2*jobspec.MaxTenderQuotes || len(m.Award)%2 != 0:
		return nil, txErr(CodeInvalid, "an award has two values per quote, at most %d quotes", jobspec.MaxTenderQuotes)
	case len(m.Commitments) > jobspec.MaxTenderQuotes+1:
		return nil, txErr(CodeInvalid, "at most %d commitments", jobspec.MaxTenderQuotes+1)
	}
	salt, terr := fieldElement(m.Salt, "award salt")
	if terr != nil {
		return nil, terr
	}
	cs := make([]fr.Element, len(m.Commitments))
	for i, c := range m.Commitments {
		if cs[i], terr = fieldElement(c, fmt.Sprintf("commitment %d", i)); terr != nil {
			return nil, terr
		}
	}
	o, err := loadOrder(st, m.OrderId)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	switch {
	case o == nil:
		return nil, txErr(CodeInvalid, "unknown order %q", clipString(m.OrderId))
	case signer != o.Demander:
		return nil, txErr(CodeUnauthorized, "only order %s's demander %s awards it", o.Id, o.Demander)
	case o.Status != OrderTendering:
		return nil, txErr(CodeInvalid, "order %s is %s, not tendering", o.Id, o.Status)
	case m.JobId == "" || m.JobId != o.TenderJob:
		return nil, txErr(CodeInvalid, "job %q is not order %s's tender job %q", clipString(m.JobId), o.Id, o.TenderJob)
	}
	var j ledgerpb.Job
	found, err := loadProto(st, keyJob(m.JobId), &j)
	if err != nil || !found {
		return nil, txErr(CodeInvalid, "read job %q: %v", m.JobId, err)
	}
	if j.Status != JobCompleted || jobspec.Type(j.Type) != jobspec.Tender || j.Recipient != signer {
		return nil, txErr(CodeInvalid, "job %s is a %s %s job for %s: an award opens a completed tender job for the demander", j.Id, j.Status, j.Type, j.Recipient)
	}
	p, err := tenderJobParams(j.Params)
	if err != nil || p.Order != o.Id {
		return nil, txErr(CodeInvalid, "job %s does not tender order %s", j.Id, o.Id)
	}
	quotes := len(j.Providers) / 2
	if len(m.Award) != 2*quotes || len(m.Commitments) != quotes+1 {
		return nil, txErr(CodeInvalid, "job %s has %d quotes: the award needs %d values and %d commitments, got %d and %d",
			j.Id, quotes, 2*quotes, quotes+1, len(m.Award), len(m.Commitments))
	}
	combined := jobs.CombineCommitments(cs)
	if cb := combined.Bytes(); !bytes.Equal(cb[:], j.OutputCommitment) {
		return nil, txErr(CodeInvalid, "the commitments do not combine to job %s's signed output commitment", j.Id)
	}
	award := make([]fr.Element, len(m.Award))
	for i, x := range m.Award {
		award[i].SetUint64(x)
	}
	if c := ss.NativeCommit(award, salt); !c.Equal(&cs[0]) {
		return nil, txErr(CodeInvalid, "the award and salt do not open commitment 0 of job %s", j.Id)
	}
	// The opening is the MPC's own output; these checks catch an engine
	// that broke the tender's contract rather than a lying demander.
	ca := &checkedAward{order: o}
	var total uint64
	for k := 0; k < quotes; k++ {
		q, price := m.Award[2*k], m.Award[2*k+1]
		if q == 0 {
			if price != 0 {
				return nil, txErr(CodeInvalid, "award of quote %d: a quote not chosen has price 0, got %d", k, price)
			}
			continue
		}
		if q > o.Terms.Quantity || price > o.Terms.MaxPrice {
			return nil, txErr(CodeInvalid, "award of quote %d: quantity %d, price %d exceed the order's %d, max price %d",
				k, q, price, o.Terms.Quantity, o.Terms.MaxPrice)
		}
		total += q // ≤ 64 × 2^40: no overflow
		partner := &ledgerpb.OrderPartner{Member: jobspec.SlotMember(j.Providers[2*k]), Quantity: q, UnitValue: price}
		if o.Terms.Mode != ModeOutputSharing {
			partner.FixedAmount = q * price // ≤ quantity × max price ≤ maxOrderAmount (checkTenderTerms)
		}
		ca.partners = append(ca.partners, partner)
	}
	if total > o.Terms.Quantity || len(ca.partners) > p.MaxPartners {
		return nil, txErr(CodeInvalid, "the award assigns %d units to %d partners; the order is for %d units, the tender for at most %d partners",
			total, len(ca.partners), o.Terms.Quantity, p.MaxPartners)
	}
	return ca, nil
}

// applyOrderAward fills the order's partners from the chosen quotes and
// makes it a draft awaiting their signatures; an award that chose no quote
// leaves it tendering.
func applyOrderAward(b *blockState, signer string, ca *checkedAward, height int64) error {
	o := ca.order
	tr := &ledgerpb.OrderTransition{Height: height, From: OrderTendering, By: signer}
	if len(ca.partners) == 0 {
		tr.To, tr.Reason = OrderTendering, fmt.Sprintf("tender job %s chose no quote; the order may be tendered again", o.TenderJob)
		o.TenderJob = ""
		o.Transitions = append(o.Transitions, tr)
		return putOrder(b, o)
	}
	terms := proto.Clone(o.Terms).(*ledgerpb.OrderCreate)
	terms.Partners = ca.partners
	var total uint64
	for _, p := range ca.partners {
		total += p.Quantity
	}
	if total < terms.Quantity {
		o.TenderedQuantity = terms.Quantity
		terms.Quantity = total
	}
	h, err := OrderTermsHash(terms)
	if err != nil {
		return err
	}
	names := make([]string, len(ca.partners))
	for i, p := range ca.partners {
		names[i] = p.Member
	}
	o.Terms, o.TermsHash, o.Status, o.Signed = terms, h, OrderDraft, []string{o.Demander}
	tr.To, tr.Reason = OrderDraft, fmt.Sprintf("awarded by tender job %s: %d of %d units to %v; awaiting the partners' signatures",
		o.TenderJob, total, max(total, o.TenderedQuantity), names)
	o.Transitions = append(o.Transitions, tr)
	return putOrder(b, o)
}
