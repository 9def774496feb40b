package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// Task states.
const (
	TaskOpen      = "open"
	TaskCompleted = "completed"
	TaskTimedOut  = "timed_out"
)

const (
	maxTaskIDBytes    = 64
	maxProofBytes     = 1024
	maxTaskLifetime   = 10_000_000 // blocks
	basisPoints       = 10_000
	highCompletionBps = 9_000
	maxVKIDBytes      = 128
	fieldElementBytes = fr.Bytes
	taskIDFeltDomain  = "cohort/task/v1\x00"
)

func keyTask(id string) []byte { return append([]byte("task/"), id...) }

var prefixTaskOpen = []byte("taskopen/")

// keyTaskOpen indexes open tasks by deadline so that epochs find the
// expired ones by a prefix scan in deadline order.
func keyTaskOpen(deadline int64, id string) []byte {
	k := binary.BigEndian.AppendUint64(append([]byte(nil), prefixTaskOpen...), uint64(deadline))
	return append(k, id...)
}

// TaskFelt maps a task ID to the field element the completion circuit binds
// the proof to.
func TaskFelt(id string) fr.Element {
	h := sha256.Sum256(append([]byte(taskIDFeltDomain), id...))
	var e fr.Element
	e.SetBytes(h[:]) // reduces modulo r
	return e
}

func fieldElement(b []byte, what string) (fr.Element, *TxError) {
	var e fr.Element
	if len(b) != fieldElementBytes {
		return e, txErr(CodeInvalid, "%s must be %d bytes, got %d", what, fieldElementBytes, len(b))
	}
	if err := e.SetBytesCanonical(b); err != nil {
		return e, txErr(CodeInvalid, "%s is not a canonical field element", what)
	}
	return e, nil
}

func loadTask(st stateReader, id string) (*ledgerpb.Task, error) {
	raw, err := st.get(keyTask(id))
	if err != nil || raw == nil {
		return nil, err
	}
	var t ledgerpb.Task
	if err := proto.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("corrupt task %q: %w", id, err)
	}
	return &t, nil
}

func putTask(b *blockState, t *ledgerpb.Task) error {
	raw, err := marshal(t)
	if err != nil {
		return err
	}
	b.set(keyTask(t.Id), raw)
	return nil
}

func checkTaskAssign(signer string, m *ledgerpb.TaskAssign, members *memberIndex, st stateReader, height int64) *TxError {
	if m.TaskId == "" || len(m.TaskId) > maxTaskIDBytes {
		return txErr(CodeInvalid, "task id must be 1 to %d bytes", maxTaskIDBytes)
	}
	if strings.HasPrefix(m.TaskId, orderTaskPrefix) {
		return txErr(CodeInvalid, "task ids starting with %q are reserved for orders' tasks", orderTaskPrefix)
	}
	if _, ok := members.byName[m.Assignee]; !ok {
		return txErr(CodeInvalid, "assignee %q is not a member", m.Assignee)
	}
	if m.Assignee == signer {
		return txErr(CodeInvalid, "a member cannot assign a task to itself")
	}
	if _, terr := fieldElement(m.OrderCommitment, "order commitment"); terr != nil {
		return terr
	}
	if m.ThresholdBps < 1 || m.ThresholdBps > basisPoints {
		return txErr(CodeInvalid, "threshold must be 1 to %d basis points", basisPoints)
	}
	st0 := zk.CompletionStatement{CounterpartyKey: m.CounterpartyKey}
	if err := st0.Validate(); err != nil {
		return txErr(CodeInvalid, "counterparty key: %v", err)
	}
	if m.DeadlineHeight <= height || m.DeadlineHeight > height+maxTaskLifetime {
		return txErr(CodeInvalid, "deadline height %d must be after %d and within %d blocks", m.DeadlineHeight, height, maxTaskLifetime)
	}
	t, err := loadTask(st, m.TaskId)
	if err != nil {
		return txErr(CodeInvalid, "read state: %v", err)
	}
	if t != nil {
		return txErr(CodeInvalid, "task %q already exists", m.TaskId)
	}
	return nil
}

func applyTaskAssign(b *blockState, signer string, m *ledgerpb.TaskAssign, height int64) error {
	return openTask(b, &ledgerpb.Task{
		Id: m.TaskId, Buyer: signer, Assignee: m.Assignee, OrderCommitment: m.OrderCommitment,
		ThresholdBps: m.ThresholdBps, CounterpartyKey: m.CounterpartyKey, DeadlineHeight: m.DeadlineHeight,
		AssignedHeight: height, Status: TaskOpen,
	})
}

// openTask stores a new open task and indexes it by deadline; task.assign
// and an order that becomes active both open tasks through it.
func openTask(b *blockState, t *ledgerpb.Task) error {
	if err := putTask(b, t); err != nil {
		return err
	}
	b.set(keyTaskOpen(t.DeadlineHeight, t.Id), []byte{})
	return nil
}

// checkTaskComplete runs the checks that need no proof verification.
func checkTaskComplete(signer string, m *ledgerpb.TaskComplete, v *committedView, st stateReader, height int64) (*ledgerpb.Task, *TxError) {
	t, err := loadTask(st, m.TaskId)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	switch {
	case t == nil:
		return nil, txErr(CodeInvalid, "unknown task %q", m.TaskId)
	case t.Status != TaskOpen:
		return nil, txErr(CodeInvalid, "task %q is %s", m.TaskId, t.Status)
	case t.Assignee != signer:
		return nil, txErr(CodeUnauthorized, "task %q is assigned to %q, not %q", m.TaskId, t.Assignee, signer)
	case height > t.DeadlineHeight:
		return nil, txErr(CodeInvalid, "task %q passed its deadline %d", m.TaskId, t.DeadlineHeight)
	// An order's task accepts a proven band below its threshold: the
	// delivery is verified and the ledger suspends the order for the breach.
	case m.ClaimedBps < t.ThresholdBps && t.OrderId == "":
		return nil, txErr(CodeBelowThreshold, "claimed completion %d bps is below the task's threshold %d bps", m.ClaimedBps, t.ThresholdBps)
	case m.ClaimedBps == 0:
		return nil, txErr(CodeInvalid, "claimed completion must be at least 1 bps")
	case m.ClaimedBps > basisPoints:
		return nil, txErr(CodeInvalid, "claimed completion above %d bps", basisPoints)
	case len(m.Proof) == 0 || len(m.Proof) > maxProofBytes:
		return nil, txErr(CodeInvalid, "proof must be 1 to %d bytes", maxProofBytes)
	case len(m.VkId) > maxVKIDBytes:
		return nil, txErr(CodeInvalid, "vk id too long")
	}
	if _, terr := fieldElement(m.DeliveryCommitment, "delivery commitment"); terr != nil {
		return nil, terr
	}
	info, ok := v.keys.Key(m.VkId)
	if !ok || info.Circuit != zk.CircuitCompletion {
		return nil, txErr(CodeInvalid, "vk %q is not a registered completion key", m.VkId)
	}
	return t, nil
}

// verifyCompletion checks the completion proof against the task's public
// values; it is the expensive part, run in FinalizeBlock.
func verifyCompletion(v *committedView, t *ledgerpb.Task, m *ledgerpb.TaskComplete) error {
	order, _ := fieldElement(t.OrderCommitment, "order commitment")
	delivery, _ := fieldElement(m.DeliveryCommitment, "delivery commitment")
	st := zk.CompletionStatement{
		TaskID:             zk.FeltOf(TaskFelt(t.Id)),
		OrderCommitment:    zk.FeltOf(order),
		DeliveryCommitment: zk.FeltOf(delivery),
		ThresholdBps:       zk.Uint64(m.ClaimedBps),
		CounterpartyKey:    t.CounterpartyKey,
	}
	return v.keys.VerifyStatement(m.VkId, st, m.Proof)
}

func applyTaskComplete(b *blockState, oc policies.OrderCredit, t *ledgerpb.Task, m *ledgerpb.TaskComplete, height int64) error {
	if m.ClaimedBps < t.ThresholdBps {
		return applyTaskShortfall(b, oc, t, m, height)
	}
	b.delete(keyTaskOpen(t.DeadlineHeight, t.Id))
	t.Status, t.CompletedBps, t.CompletedHeight, t.DeliveryCommitment = TaskCompleted, m.ClaimedBps, height, m.DeliveryCommitment
	if err := putTask(b, t); err != nil {
		return err
	}
	delta, band := int64(ratingTaskMet), "task completed (threshold met)"
	switch {
	case m.ClaimedBps >= basisPoints:
		delta, band = ratingTaskFull, "task completed (100%)"
	case m.ClaimedBps >= highCompletionBps:
		delta, band = ratingTaskHigh, "task completed (≥ 90%)"
	}
	if err := adjustRating(b, t.Assignee, delta, band+": "+t.Id, height); err != nil {
		return err
	}
	return addOutput(b, t.Assignee, 1)
}

// expireTasks times out every open task whose deadline is before height. It
// returns a block event per timed-out task and per order the timeout
// suspended, so that the ledger's own transitions are visible like a tx's.
func expireTasks(b *blockState, oc policies.OrderCredit, height int64) ([]abci.Event, error) {
	var expired [][]byte
	err := b.scan(prefixTaskOpen, func(key, _ []byte) error {
		if int64(binary.BigEndian.Uint64(key[len(prefixTaskOpen):])) >= height {
			return errStopScan
		}
		expired = append(expired, append([]byte(nil), key...))
		return nil
	})
	if err != nil && err != errStopScan {
		return nil, err
	}
	var events []abci.Event
	for _, key := range expired {
		id := string(key[len(prefixTaskOpen)+8:])
		t, err := loadTask(b, id)
		if err != nil || t == nil {
			return nil, fmt.Errorf("open-task index points to a missing task %q: %v", id, err)
		}
		b.delete(key)
		t.Status = TaskTimedOut
		if err := putTask(b, t); err != nil {
			return nil, err
		}
		if err := adjustRating(b, t.Assignee, ratingTaskTimeout, "task timed out: "+id, height); err != nil {
			return nil, err
		}
		events = append(events, abci.Event{Type: "task", Attributes: []abci.EventAttribute{
			{Key: "id", Value: id}, {Key: "status", Value: TaskTimedOut},
		}})
		if t.OrderId != "" {
			reason := fmt.Sprintf("task %s of %s timed out at its deadline %d", id, t.Assignee, t.DeadlineHeight)
			if err := orderBreach(b, oc, t.OrderId, t.Assignee, reason, height); err != nil {
				return nil, err
			}
			events = append(events, abci.Event{Type: "order", Attributes: []abci.EventAttribute{
				{Key: "id", Value: t.OrderId}, {Key: "status", Value: OrderSuspended}, {Key: "reason", Value: reason},
			}})
		}
	}
	return events, nil
}
