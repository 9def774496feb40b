package ledger

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"slices"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// Settlement of an order, computed on the ledger in integers.
//
// A partner's verified delivered quantity is completed_bps × quantity / 10000
// (rounded down), where completed_bps is the band its completion proof
// proved against the commitment to its quantity: the ledger knows the band,
// not the exact delivery, so a partner is paid for the band it proved. A task
// that timed out or was cancelled has no verified output and earns nothing.
//
//   - output sharing: the profit pool is split in proportion to each
//     partner's verified value (delivered quantity × agreed unit value),
//     each share rounded down and the units left over given one by one to
//     the largest remainders (ties to the earlier partner), so the shares
//     sum exactly to the pool whenever any output is verified; with none,
//     nobody earns and the pool stays with the demander;
//   - fixed: each partner whose task met its threshold earns its fixed
//     payment; a partner that did not (below threshold, timed out) earns
//     nothing of it;
//   - hybrid: the fixed part as in fixed mode plus the output-sharing part.
//
// Whatever of the declared funds is not paid is the demander's refund.

// SettlementLocator is where a settlement record's bytes are served: the
// record's hash is SHA-256 of exactly those bytes.
const SettlementLocator = "ledger:/settlement/"

// SettlementRecordKind is the kind of the record that anchors a settlement.
const SettlementRecordKind = "settlement"

func keySettlement(orderID string) []byte { return append([]byte("settle/"), orderID...) }

// ComputeSettlement is the settlement of an order's terms given its tasks in
// partner order. It is a pure function of its inputs.
func ComputeSettlement(terms *ledgerpb.OrderCreate, tasks []*ledgerpb.Task) (*ledgerpb.Settlement, error) {
	if len(tasks) != len(terms.Partners) {
		return nil, fmt.Errorf("settlement: %d tasks for %d partners", len(tasks), len(terms.Partners))
	}
	s := &ledgerpb.Settlement{OrderId: terms.OrderId, Mode: terms.Mode, ProfitPool: terms.ProfitPool}
	values := make([]*big.Int, len(tasks))
	total := new(big.Int)
	for i, p := range terms.Partners {
		t := tasks[i]
		sh := &ledgerpb.PartnerShare{Member: p.Member, TaskId: t.Id, TaskStatus: t.Status}
		if t.Status == TaskCompleted || t.Status == TaskBelowThreshold {
			sh.CompletedBps = min(t.CompletedBps, basisPoints)
			// ≤ 10^12 × 10^4: no overflow.
			sh.DeliveredQuantity = uint64(sh.CompletedBps) * p.Quantity / basisPoints
		}
		values[i] = new(big.Int).Mul(new(big.Int).SetUint64(sh.DeliveredQuantity), new(big.Int).SetUint64(p.UnitValue))
		sh.VerifiedValue = values[i].String()
		if terms.Mode != ModeOutputSharing && t.Status == TaskCompleted {
			sh.FixedPart = p.FixedAmount
		}
		total.Add(total, values[i])
		s.Shares = append(s.Shares, sh)
	}
	if terms.Mode != ModeFixed && total.Sign() > 0 {
		parts := shareByLargestRemainder(terms.ProfitPool, values, total)
		for i, sh := range s.Shares {
			sh.SharingPart = parts[i]
		}
	}
	for _, sh := range s.Shares {
		sh.Total = sh.FixedPart + sh.SharingPart
		s.Paid += sh.Total
	}
	if s.Paid > terms.Funds {
		return nil, fmt.Errorf("settlement: pays %d, more than the declared funds %d", s.Paid, terms.Funds)
	}
	s.Refund = terms.Funds - s.Paid
	return s, nil
}

// shareByLargestRemainder splits pool in proportion to values (total > 0 is
// their sum): floor(pool·v_i/total) each, then one unit to each of the
// largest remainders pool·v_i mod total, ties broken by position. The
// leftover is Σ remainders / total, fewer than the nonzero remainders, so
// the parts sum to pool exactly.
func shareByLargestRemainder(pool uint64, values []*big.Int, total *big.Int) []uint64 {
	parts := make([]uint64, len(values))
	rems := make([]*big.Int, len(values))
	P := new(big.Int).SetUint64(pool)
	var sum uint64
	for i, v := range values {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(P, v), total, new(big.Int))
		parts[i], rems[i] = q.Uint64(), r // q ≤ pool
		sum += parts[i]
	}
	order := make([]int, len(values))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rems[b].Cmp(rems[a]) })
	for k := 0; sum < pool; k++ {
		parts[order[k]]++
		sum++
	}
	return parts
}

// orderTasks loads an order's tasks in partner order.
func orderTasks(st stateReader, o *ledgerpb.Order) ([]*ledgerpb.Task, error) {
	tasks := make([]*ledgerpb.Task, len(o.TaskIds))
	for i, id := range o.TaskIds {
		t, err := loadTask(st, id)
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, fmt.Errorf("order %s points to a missing task %q", o.Id, id)
		}
		tasks[i] = t
	}
	return tasks, nil
}

// checkOrderSettle admits a settlement of an active order by one of its
// parties once none of its tasks is open. A suspended order settles only
// after its parties resumed it.
func checkOrderSettle(signer string, m *ledgerpb.OrderSettle, st stateReader) (*ledgerpb.Order, *TxError) {
	o, err := loadOrder(st, m.OrderId)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	switch {
	case o == nil:
		return nil, txErr(CodeInvalid, "unknown order %q", clipString(m.OrderId))
	case !slices.Contains(orderParties(o), signer):
		return nil, txErr(CodeUnauthorized, "%s is not a party of order %s", signer, o.Id)
	case o.Status == OrderSuspended:
		return nil, txErr(CodeInvalid, "order %s is suspended (%s): its parties resume or terminate it first",
			o.Id, o.Transitions[len(o.Transitions)-1].Reason)
	case o.Status != OrderActive:
		return nil, txErr(CodeInvalid, "order %s is %s", o.Id, o.Status)
	}
	tasks, err := orderTasks(st, o)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	for _, t := range tasks {
		if t.Status == TaskOpen {
			return nil, txErr(CodeInvalid, "order %s: task %s of %s is still open (deadline %d)", o.Id, t.Id, t.Assignee, t.DeadlineHeight)
		}
	}
	return o, nil
}

// applyOrderSettle computes and stores the settlement, anchors it as a
// record (kind "settlement", hash of its encoding, indexed by hash like any
// record), and moves credit and output.
func applyOrderSettle(b *blockState, oc policies.OrderCredit, tx *decodedTx, o *ledgerpb.Order, height int64, txHash []byte) (*ledgerpb.Settlement, error) {
	tasks, err := orderTasks(b, o)
	if err != nil {
		return nil, err
	}
	s, err := ComputeSettlement(o.Terms, tasks)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", o.Id, err)
	}
	s.Height, s.SettledBy = height, tx.payload.Signer
	raw, err := marshal(s)
	if err != nil {
		return nil, err
	}
	b.set(keySettlement(o.Id), raw)
	h := sha256.Sum256(raw)
	rec, err := applyRecordAnchor(b, tx, &ledgerpb.RecordAnchor{
		Hash: h[:], Kind: SettlementRecordKind, Locator: SettlementLocator + o.Id,
	}, height, txHash)
	if err != nil {
		return nil, err
	}
	for i, sh := range s.Shares {
		if tasks[i].Status == TaskCompleted {
			if err := adjustRating(b, sh.Member, oc.Delivered, "order "+o.Id+" settled: delivered", height); err != nil {
				return nil, err
			}
		}
		if n := outputPoints(sh.Total); n > 0 {
			if err := addOutput(b, sh.Member, n); err != nil {
				return nil, err
			}
		}
	}
	if err := adjustRating(b, o.Demander, oc.DemanderPaid, "order "+o.Id+" settled: paid", height); err != nil {
		return nil, err
	}
	o.Status, o.SettlementRecord = OrderSettled, rec.Id
	o.Transitions = append(o.Transitions, &ledgerpb.OrderTransition{
		Height: height, From: OrderActive, To: OrderSettled, By: tx.payload.Signer,
		Reason: fmt.Sprintf("settled (%s): paid %d of funds %d, refund %d; record %s", s.Mode, s.Paid, o.Terms.Funds, s.Refund, rec.Id),
	})
	return s, putOrder(b, o)
}

// outputPoints converts what a partner earned by its verified output (its
// settlement total, which unverified output never reaches) into points of
// the output count that feeds voting power: one per outputValueUnit, at
// least one for any positive amount, at most maxOutputPerSettlement.
func outputPoints(earned uint64) int64 {
	if earned == 0 {
		return 0
	}
	return int64(min(max(earned/outputValueUnit, 1), maxOutputPerSettlement))
}
