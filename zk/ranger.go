package zk

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
)

// RangeMode selects how circuits prove that a value fits in n bits.
type RangeMode int

const (
	// RangeBits decomposes each value into bits (api.ToBinary). No Pedersen
	// commitment in the proof: 164-byte proofs and a plain Groth16 verify.
	RangeBits RangeMode = iota
	// RangeLookup uses std/rangecheck's log-derivative lookup argument, which
	// needs one Pedersen commitment (BSB22) in the Groth16 proof: fewer
	// constraints, but +32 proof bytes and an extra pairing check to verify.
	RangeLookup
)

func (m RangeMode) String() string {
	switch m {
	case RangeBits:
		return "bits"
	case RangeLookup:
		return "lookup"
	default:
		return "unknown"
	}
}

// ranger hides the range-check strategy from the circuits.
type ranger struct {
	api frontend.API
	rc  frontend.Rangechecker
}

func newRanger(api frontend.API, mode RangeMode) ranger {
	if mode == RangeLookup {
		return ranger{api: api, rc: rangecheck.New(api)}
	}
	return ranger{api: api}
}

// check constrains 0 ≤ v < 2^bits.
func (r ranger) check(v frontend.Variable, bits int) {
	if r.rc != nil {
		r.rc.Check(v, bits)
		return
	}
	r.api.ToBinary(v, bits)
}
