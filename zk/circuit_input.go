package zk

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
)

// InputCircuit proves that a committed MPC input lies in a declared range:
// Commitment = Commit(Value, Salt) and Lo ≤ Value ≤ Hi, all 64-bit.
//
// Public inputs, in witness order: Commitment, Lo, Hi.
//
// Soundness: Lo, Hi < 2^64 (checked), Value − Lo ∈ [0, 2^64) and
// Hi − Value ∈ [0, 2^64); with r ≈ 2^253.6 neither difference can wrap, so
// the integer Value satisfies Lo ≤ Value ≤ Hi (and hence Value < 2^64).
type InputCircuit struct {
	Commitment frontend.Variable `gnark:",public"`
	Lo         frontend.Variable `gnark:",public"`
	Hi         frontend.Variable `gnark:",public"`

	Value frontend.Variable `gnark:",secret"`
	Salt  frontend.Variable `gnark:",secret"`

	rangeMode RangeMode
}

// Define implements frontend.Circuit.
func (c *InputCircuit) Define(api frontend.API) error {
	rc := newRanger(api, c.rangeMode)
	rc.check(c.Lo, FieldBits)
	rc.check(c.Hi, FieldBits)
	rc.check(api.Sub(c.Value, c.Lo), FieldBits)
	rc.check(api.Sub(c.Hi, c.Value), FieldBits)
	com, err := CommitVar(api, c.Salt, c.Value)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	api.AssertIsEqual(com, c.Commitment)
	return nil
}
