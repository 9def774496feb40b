package zk

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	stdposeidon2 "github.com/consensys/gnark/std/hash/poseidon2"
)

// Size class and soundness bounds of the compliance circuit.
const (
	// MaxPolicyFields is the number of private field slots under one commitment.
	MaxPolicyFields = 8
	// MaxPolicyConstraints is the number of linear-constraint slots.
	MaxPolicyConstraints = 8
	// FieldBits bounds every private field: 0 ≤ xⱼ < 2^64.
	FieldBits = 64
	// CoefficientBits bounds every coefficient as a signed integer:
	// -2^63 ≤ aᵢⱼ < 2^63 (an int64).
	CoefficientBits = 64
	// ConstantBits bounds every constant as a signed integer:
	// -2^129 ≤ cᵢ < 2^129.
	ConstantBits = 130
	// ConstraintValueBits is the range in which each constraint value
	// vᵢ = Σⱼ aᵢⱼ·xⱼ + cᵢ must lie: 0 ≤ vᵢ < 2^132.
	//
	// Soundness: over the integers |Σⱼ aᵢⱼ·xⱼ| ≤ 8·2^63·2^64 = 2^130 and
	// |cᵢ| ≤ 2^129, so |vᵢ| < 2^131. A non-negative vᵢ is therefore < 2^132
	// and passes; a negative vᵢ is represented in the field by r − |vᵢ| >
	// r − 2^131 > 2^132 (r ≈ 2^253.6) and fails. No wrap-around is possible.
	ConstraintValueBits = 132
)

// ComplianceCircuit proves that the first NumFields private fields, committed
// to as Commit(x₁..x_k, salt), satisfy MaxPolicyConstraints linear
// constraints Σⱼ aᵢⱼ·xⱼ + cᵢ ≥ 0 with public signed integer coefficients.
// One compiled circuit serves every policy with up to 8 fields and 8
// constraints; unused constraint slots are all-zero (0 ≥ 0 holds) and unused
// field slots are forced to zero.
//
// Public inputs, in witness order (75 elements):
//
//	Commitment, NumFields, Coefficients[0][0..7], …, Coefficients[7][0..7], Constants[0..7], Binding
//
// Binding ties a proof to the one record it is anchored with (the ledger
// derives it from the record's chain, tx ID, signer, channel, kind, hash,
// locator and public info: ledger.RecordBinding). The relation does not
// otherwise use it; it is squared in a constraint so that its verifying-key
// point is not the identity (an input no constraint touches would leave the
// proof valid for every value of it).
//
// Negative integers are encoded as r − |v| in the field. The soundness
// argument above needs |aᵢⱼ| ≤ 2^63 and |cᵢ| ≤ 2^129: these are public, so
// the verifier checks them (CheckCompliancePublic) before the pairing check;
// Registry.Verify always does. A verifier outside this package (e.g. a
// contract) must apply the same check.
type ComplianceCircuit struct {
	Commitment   frontend.Variable                                        `gnark:",public"`
	NumFields    frontend.Variable                                        `gnark:",public"`
	Coefficients [MaxPolicyConstraints][MaxPolicyFields]frontend.Variable `gnark:",public"`
	Constants    [MaxPolicyConstraints]frontend.Variable                  `gnark:",public"`
	Binding      frontend.Variable                                        `gnark:",public"`

	Fields [MaxPolicyFields]frontend.Variable `gnark:",secret"`
	Salt   frontend.Variable                  `gnark:",secret"`

	rangeMode RangeMode
}

// Define implements frontend.Circuit.
func (c *ComplianceCircuit) Define(api frontend.API) error {
	rc := newRanger(api, c.rangeMode)

	// Bind the proof to its record: Binding² is a constraint on Binding.
	api.AssertIsEqual(api.Mul(c.Binding, c.Binding), api.Mul(c.Binding, c.Binding))

	// is[k] = 1 iff NumFields == k, for k in 1..8; exactly one must hold.
	var is [MaxPolicyFields + 1]frontend.Variable
	sum := frontend.Variable(0)
	for k := 1; k <= MaxPolicyFields; k++ {
		is[k] = api.IsZero(api.Sub(c.NumFields, k))
		sum = api.Add(sum, is[k])
	}
	api.AssertIsEqual(sum, 1)

	// Field j (0-based) is active iff NumFields > j; inactive fields are 0.
	for j := 0; j < MaxPolicyFields; j++ {
		active := frontend.Variable(0)
		for k := j + 1; k <= MaxPolicyFields; k++ {
			active = api.Add(active, is[k])
		}
		api.AssertIsEqual(api.Mul(api.Sub(1, active), c.Fields[j]), 0)
		rc.check(c.Fields[j], FieldBits)
	}

	// Commitment over exactly the first NumFields fields, then the salt:
	// keep the Merkle–Damgård state after each field and pick state k.
	h, err := stdposeidon2.New(api)
	if err != nil {
		return fmt.Errorf("compliance: poseidon2: %w", err)
	}
	selected := frontend.Variable(0)
	for j := 0; j < MaxPolicyFields; j++ {
		h.Write(c.Fields[j])
		selected = api.Add(selected, api.Mul(is[j+1], h.State()[0]))
	}
	final, err := stdposeidon2.New(api)
	if err != nil {
		return fmt.Errorf("compliance: poseidon2: %w", err)
	}
	if err := final.SetState([]frontend.Variable{selected}); err != nil {
		return fmt.Errorf("compliance: poseidon2 state: %w", err)
	}
	final.Write(c.Salt)
	api.AssertIsEqual(final.Sum(), c.Commitment)

	// The coefficients and constants are public and bounded by the verifier
	// (CheckCompliancePublic, run by every verification path) rather than
	// range-checked here: that would cost 64·65 + 8·131 ≈ 5,200 of the
	// circuit's constraints for values the verifier can see.
	for i := 0; i < MaxPolicyConstraints; i++ {
		v := c.Constants[i]
		for j := 0; j < MaxPolicyFields; j++ {
			v = api.Add(v, api.Mul(c.Coefficients[i][j], c.Fields[j]))
		}
		rc.check(v, ConstraintValueBits)
	}
	return nil
}

// CheckCompliancePublic checks the compliance circuit's public inputs (in
// witness order, see ComplianceCircuit) against the signed bounds the
// circuit's soundness relies on: NumFields ∈ [1, 8], every coefficient an
// int64 and every constant in [-2^129, 2^129), encoded as field elements.
// The binding (last) may be any field element.
func CheckCompliancePublic(public fr.Vector) error {
	const nCoef = MaxPolicyConstraints * MaxPolicyFields
	if len(public) != 2+nCoef+MaxPolicyConstraints+1 {
		return fmt.Errorf("compliance: %d public inputs, want %d", len(public), 2+nCoef+MaxPolicyConstraints+1)
	}
	if !public[1].IsUint64() || public[1].Uint64() < 1 || public[1].Uint64() > MaxPolicyFields {
		return fmt.Errorf("compliance: num_fields outside [1, %d]", MaxPolicyFields)
	}
	for i := 0; i < nCoef; i++ {
		if !signedWithin(&public[2+i], CoefficientBits-1) {
			return fmt.Errorf("compliance: coefficient %d outside [-2^%d, 2^%d)", i, CoefficientBits-1, CoefficientBits-1)
		}
	}
	for i := 0; i < MaxPolicyConstraints; i++ {
		if !signedWithin(&public[2+nCoef+i], ConstantBits-1) {
			return fmt.Errorf("compliance: constant %d outside [-2^%d, 2^%d)", i, ConstantBits-1, ConstantBits-1)
		}
	}
	return nil
}

// signedWithin reports whether e encodes an integer in [-2^bits, 2^bits),
// i.e. e < 2^bits or r − e ≤ 2^bits.
func signedWithin(e *fr.Element, bits int) bool {
	bound := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	v := e.BigInt(new(big.Int))
	if v.Cmp(bound) < 0 {
		return true
	}
	neg := new(big.Int).Sub(fr.Modulus(), v)
	return neg.Cmp(bound) <= 0
}
