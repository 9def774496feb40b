package jobs

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// CombineCommitments hashes a job's MPC output commitments (e.g. a clearing
// job's level and then each bidder's allocation, or a tender's award and
// then each quote's assignment) with Poseidon2-MD into the one field element
// the committee signs as the job's output commitment. The number of
// commitments is fixed by the job's spec, so the hash is binding; each input
// is a hiding commitment, so it reveals nothing. The ledger recomputes it to
// check an opening against a signed result.
func CombineCommitments(cs []fr.Element) fr.Element {
	h := poseidon2.NewMerkleDamgardHasher()
	for i := range cs {
		b := cs[i].Bytes()
		_, _ = h.Write(b[:])
	}
	var out fr.Element
	out.SetBytes(h.Sum(nil))
	return out
}
