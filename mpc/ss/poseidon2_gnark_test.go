package ss

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	gnarkposeidon2 "github.com/consensys/gnark/std/hash/poseidon2"
	"github.com/consensys/gnark/test"
)

// commitCircuit recomputes Commit(fields, salt) with gnark's in-circuit
// Poseidon2 Merkle–Damgård hasher (std/hash/poseidon2), as the zk circuits do.
type commitCircuit struct {
	Fields     []frontend.Variable
	Salt       frontend.Variable
	Commitment frontend.Variable `gnark:",public"`
}

func (c *commitCircuit) Define(api frontend.API) error {
	h, err := gnarkposeidon2.New(api)
	if err != nil {
		return err
	}
	h.Write(c.Fields...)
	h.Write(c.Salt)
	api.AssertIsEqual(h.Sum(), c.Commitment)
	return nil
}

// TestCommitMatchesGnarkCircuit: the commitment computed on shares satisfies
// the in-circuit hasher of gnark std, bit for bit (and a wrong one does not).
func TestCommitMatchesGnarkCircuit(t *testing.T) {
	const n, k = 3, 4
	r := rand.New(rand.NewPCG(5, 5))
	prm := mustParams(t, n)
	fields := randField(r, k)
	salt := randField(r, 1)
	fieldShares := make([][]fr.Vector, k)
	for i := range fieldShares {
		fieldShares[i] = shareAll(t, prm, fields[i:i+1], uint64(40+i))
	}
	saltShares := shareAll(t, prm, salt, 50)
	res := runParties(t, n, func(ctx context.Context, p *Party) (fr.Vector, error) {
		fs := make([]fr.Vector, k)
		for i := range fs {
			fs[i] = fieldShares[i][p.Self()]
		}
		c, err := p.Commit(ctx, fs, saltShares[p.Self()])
		if err != nil {
			return nil, err
		}
		return p.Open(ctx, "commitment", c)
	})
	assign := func(commitment fr.Element) *commitCircuit {
		a := &commitCircuit{Fields: make([]frontend.Variable, k), Salt: salt[0], Commitment: commitment}
		for i := range a.Fields {
			a.Fields[i] = fields[i]
		}
		return a
	}
	circuit := &commitCircuit{Fields: make([]frontend.Variable, k)}
	if err := test.IsSolved(circuit, assign(res[0][0]), ecc.BN254.ScalarField()); err != nil {
		t.Fatalf("gnark's in-circuit Poseidon2 disagrees with the MPC commitment: %v", err)
	}
	var wrong fr.Element
	wrong.SetOne()
	wrong.Add(&wrong, &res[0][0])
	if err := test.IsSolved(circuit, assign(wrong), ecc.BN254.ScalarField()); err == nil {
		t.Fatal("the circuit accepted a wrong commitment")
	}
}
