package zk

import (
	"fmt"

	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	stdposeidon2 "github.com/consensys/gnark/std/hash/poseidon2"
	"github.com/consensys/gnark/std/signature/eddsa"
)

// BasisPoints is 100 % in basis points.
const BasisPoints = 10000

// completionValueBits bounds D·Q − T·O: each product is < 2^64·2^14 = 2^78.
const completionValueBits = 80

// CompletionCircuit is the proof of task completion (PoTC). It proves that
// the quantity delivered for a task, weighted by its quality, reaches the
// task's completion threshold relative to the committed order quantity, and
// that the counterparty signed the delivery:
//
//	OrderCommitment    = Commit(TaskID, OrderQuantity, OrderSalt)
//	DeliveryCommitment = Commit(TaskID, DeliveredQuantity, QualityBps, DeliverySalt)
//	EdDSA-Poseidon2 signature by CounterpartyKey over DeliveryCommitment
//	DeliveredQuantity · QualityBps ≥ ThresholdBps · OrderQuantity
//
// i.e. the quality-weighted delivered quantity is at least ThresholdBps/10000
// of the order. Quantities are 64-bit, OrderQuantity ≥ 1, QualityBps and
// ThresholdBps ≤ 10000. Both commitments include TaskID, so a delivery
// signature cannot be replayed for another task.
//
// Public inputs, in witness order (6 elements):
//
//	TaskID, OrderCommitment, DeliveryCommitment, ThresholdBps,
//	CounterpartyKey.X, CounterpartyKey.Y
type CompletionCircuit struct {
	TaskID             frontend.Variable `gnark:",public"`
	OrderCommitment    frontend.Variable `gnark:",public"`
	DeliveryCommitment frontend.Variable `gnark:",public"`
	ThresholdBps       frontend.Variable `gnark:",public"`
	CounterpartyKey    eddsa.PublicKey   `gnark:",public"`

	OrderQuantity     frontend.Variable `gnark:",secret"`
	OrderSalt         frontend.Variable `gnark:",secret"`
	DeliveredQuantity frontend.Variable `gnark:",secret"`
	QualityBps        frontend.Variable `gnark:",secret"`
	DeliverySalt      frontend.Variable `gnark:",secret"`
	Signature         eddsa.Signature   `gnark:",secret"`

	rangeMode RangeMode
}

// Define implements frontend.Circuit.
func (c *CompletionCircuit) Define(api frontend.API) error {
	rc := newRanger(api, c.rangeMode)

	rc.check(api.Sub(c.OrderQuantity, 1), FieldBits) // 1 ≤ O < 2^64 + 1
	rc.check(c.OrderQuantity, FieldBits)
	rc.check(c.DeliveredQuantity, FieldBits)
	rc.check(c.QualityBps, 14)
	rc.check(api.Sub(BasisPoints, c.QualityBps), 14)
	rc.check(c.ThresholdBps, 14)
	rc.check(api.Sub(BasisPoints, c.ThresholdBps), 14)

	order, err := CommitVar(api, c.OrderSalt, c.TaskID, c.OrderQuantity)
	if err != nil {
		return fmt.Errorf("completion: %w", err)
	}
	api.AssertIsEqual(order, c.OrderCommitment)
	delivery, err := CommitVar(api, c.DeliverySalt, c.TaskID, c.DeliveredQuantity, c.QualityBps)
	if err != nil {
		return fmt.Errorf("completion: %w", err)
	}
	api.AssertIsEqual(delivery, c.DeliveryCommitment)

	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return fmt.Errorf("completion: edwards curve: %w", err)
	}
	curve.AssertIsOnCurve(c.CounterpartyKey.A)
	// gnark's eddsa.Verify leaves R unchecked; an off-curve R cannot forge
	// (S would need a discrete log) but costs nothing to exclude.
	curve.AssertIsOnCurve(c.Signature.R)
	h, err := stdposeidon2.New(api)
	if err != nil {
		return fmt.Errorf("completion: poseidon2: %w", err)
	}
	if err := eddsa.Verify(curve, c.Signature, c.DeliveryCommitment, c.CounterpartyKey, h); err != nil {
		return fmt.Errorf("completion: eddsa: %w", err)
	}

	// D·Q − T·O ≥ 0, with |D·Q − T·O| < 2^78 so the 80-bit check cannot wrap.
	diff := api.Sub(api.Mul(c.DeliveredQuantity, c.QualityBps), api.Mul(c.ThresholdBps, c.OrderQuantity))
	rc.check(diff, completionValueBits)
	return nil
}
