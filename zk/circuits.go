package zk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// CircuitVersion returns the version of a circuit's constraint system; it is
// bumped whenever the circuit's constraints change and is part of every
// verifying-key ID, so keys of an older version are never mistaken for the
// current circuit's. "" for an unknown circuit.
//
// compliance 2: public input Binding ties a proof to its record.
func CircuitVersion(circuit string) string {
	s, err := lookupSpec(circuit)
	if err != nil {
		return ""
	}
	return s.version
}

// DefaultRangeMode is the range-check strategy of the production circuits.
// Bit decomposition keeps proofs at 164 bytes with a plain 3-pairing Groth16
// verification; see README.md for the measurements behind the choice.
const DefaultRangeMode = RangeBits

// Bounds on untrusted JSON documents.
const (
	// MaxStatementJSON bounds a public statement (compliance, the largest,
	// is about 3 KiB at its maximal size).
	MaxStatementJSON = 16 << 10
	// MaxWitnessJSON bounds a prover input file.
	MaxWitnessJSON = 16 << 10
)

// spec describes one circuit.
type spec struct {
	name     string
	version  string // see CircuitVersion
	nbPublic int    // public inputs, excluding gnark's constant-one wire
	// checkPublic validates public inputs beyond what the circuit enforces
	// (nil when the circuit enforces everything).
	checkPublic func(fr.Vector) error
	newCircuit  func(RangeMode) frontend.Circuit
	statement   func(dec *json.Decoder) (Statement, error)
	witness     func(dec *json.Decoder) (Witness, error)
}

func decodeInto[T any](dec *json.Decoder) (T, error) {
	var v T
	err := dec.Decode(&v)
	return v, err
}

// lookupSpec returns the circuit called name.
func lookupSpec(name string) (spec, error) {
	switch name {
	case CircuitCompliance:
		return spec{
			name:        name,
			version:     "2",
			nbPublic:    2 + MaxPolicyConstraints*MaxPolicyFields + MaxPolicyConstraints + 1,
			checkPublic: CheckCompliancePublic,
			newCircuit:  func(m RangeMode) frontend.Circuit { return &ComplianceCircuit{rangeMode: m} },
			statement: func(d *json.Decoder) (Statement, error) {
				return decodeInto[ComplianceStatement](d)
			},
			witness: func(d *json.Decoder) (Witness, error) { return decodeInto[ComplianceWitness](d) },
		}, nil
	case CircuitInput:
		return spec{
			name:       name,
			version:    "1",
			nbPublic:   3,
			newCircuit: func(m RangeMode) frontend.Circuit { return &InputCircuit{rangeMode: m} },
			statement:  func(d *json.Decoder) (Statement, error) { return decodeInto[InputStatement](d) },
			witness:    func(d *json.Decoder) (Witness, error) { return decodeInto[InputWitness](d) },
		}, nil
	case CircuitCompletion:
		return spec{
			name:       name,
			version:    "1",
			nbPublic:   6,
			newCircuit: func(m RangeMode) frontend.Circuit { return &CompletionCircuit{rangeMode: m} },
			statement: func(d *json.Decoder) (Statement, error) {
				return decodeInto[CompletionStatement](d)
			},
			witness: func(d *json.Decoder) (Witness, error) { return decodeInto[CompletionWitness](d) },
		}, nil
	default:
		return spec{}, fmt.Errorf("%w: unknown circuit %q", ErrMalformed, truncate(name))
	}
}

// CircuitNames lists the circuits, smallest first.
func CircuitNames() []string {
	return []string{CircuitInput, CircuitCompliance, CircuitCompletion}
}

// Compile compiles a circuit to R1CS over BN254 with the default range mode.
func Compile(name string) (constraint.ConstraintSystem, error) {
	return CompileWithRangeMode(name, DefaultRangeMode)
}

// CompileWithRangeMode compiles a circuit with a chosen range-check
// strategy. Only DefaultRangeMode has keys; the other mode exists to measure
// the trade-off (bench suite zk).
func CompileWithRangeMode(name string, mode RangeMode) (constraint.ConstraintSystem, error) {
	s, err := lookupSpec(name)
	if err != nil {
		return nil, err
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, s.newCircuit(mode))
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", name, err)
	}
	return ccs, nil
}

// ParseStatement decodes a circuit's public statement from JSON (bounded,
// strict: unknown fields are rejected) and validates it.
func ParseStatement(circuit string, raw []byte) (Statement, error) {
	s, err := lookupSpec(circuit)
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxStatementJSON {
		return nil, fmt.Errorf("%w: statement is %d bytes, limit %d", ErrMalformed, len(raw), MaxStatementJSON)
	}
	dec := strictDecoder(raw)
	st, err := s.statement(dec)
	if err != nil {
		return nil, fmt.Errorf("%w: %s statement: %v", ErrMalformed, circuit, err)
	}
	if err := expectEOF(dec); err != nil {
		return nil, err
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return st, nil
}

// ParseWitness decodes a circuit's prover input from JSON.
func ParseWitness(circuit string, raw []byte) (Witness, error) {
	s, err := lookupSpec(circuit)
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxWitnessJSON {
		return nil, fmt.Errorf("%w: input is %d bytes, limit %d", ErrMalformed, len(raw), MaxWitnessJSON)
	}
	dec := strictDecoder(raw)
	w, err := s.witness(dec)
	if err != nil {
		return nil, fmt.Errorf("%w: %s input: %v", ErrMalformed, circuit, err)
	}
	if err := expectEOF(dec); err != nil {
		return nil, err
	}
	return w, nil
}

func strictDecoder(raw []byte) *json.Decoder {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec
}

func expectEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after JSON document", ErrMalformed)
	}
	return nil
}
