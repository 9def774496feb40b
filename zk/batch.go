package zk

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"sort"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

// BatchItem is one proof of a batch.
type BatchItem struct {
	VKID      string
	Statement Statement
	Proof     []byte
}

// VerifyBatch verifies many proofs; errs[i] is what VerifyStatement would
// return for items[i].
//
// Proofs under the same key (without Pedersen commitments) are checked with
// one randomised multi-pairing: Groth16's check e(A,B)·e(C,−δ)·e(K(x),−γ) =
// e(α,β), raised to a weight rᵢ per proof and multiplied over the batch, costs
// n+2 Miller loops and one final exponentiation instead of 3n and n. If it
// holds, every proof holds except with probability 2⁻¹²⁸ over the weights;
// if it fails, each proof is verified alone, so the errors are exactly the
// individual ones. The weights are derived from a hash of the whole batch, so
// the outcome is deterministic (a replicated state machine needs that) and
// fixed only after every proof is.
func (r *Registry) VerifyBatch(items []BatchItem) []error {
	errs := make([]error, len(items))
	type prepared struct {
		index  int
		proof  *groth16bn254.Proof
		public fr.Vector
	}
	groups := map[string][]prepared{}
	keys := map[string]*registeredKey{}
	for i, it := range items {
		k, err := r.lookup(it.VKID)
		if err != nil {
			errs[i] = err
			continue
		}
		if it.Statement == nil || it.Statement.CircuitName() != k.info.Circuit {
			errs[i] = fmt.Errorf("%w: statement does not match the %s key", ErrMalformed, k.info.Circuit)
			continue
		}
		public, err := PublicVector(it.Statement)
		if err != nil {
			errs[i] = err
			continue
		}
		if r.verdicts.Has(verdictKey(it.VKID, public, it.Proof)) {
			continue // verified before (e.g. in CheckTx): errs[i] stays nil
		}
		if len(k.vk.CommitmentKeys) > 0 {
			// Keys with commitments take gnark's full verifier.
			if errs[i] = verifyWithKey(k.info.Circuit, k.vk, public, it.Proof); errs[i] == nil {
				r.verdicts.Add(verdictKey(it.VKID, public, it.Proof))
			}
			continue
		}
		if err := checkPublicInputs(k.info.Circuit, public); err != nil {
			errs[i] = err
			continue
		}
		proof, err := DecodeProof(it.Proof, 0)
		if err != nil {
			errs[i] = err
			continue
		}
		groups[it.VKID] = append(groups[it.VKID], prepared{index: i, proof: proof, public: public})
		keys[it.VKID] = k
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		g, k := groups[id], keys[id]
		if len(g) > 1 {
			proofs := make([]*groth16bn254.Proof, len(g))
			publics := make([]fr.Vector, len(g))
			for j, p := range g {
				proofs[j], publics[j] = p.proof, p.public
			}
			if batchHolds(k.vk, id, proofs, publics) {
				for _, p := range g {
					r.verdicts.Add(verdictKey(id, p.public, items[p.index].Proof))
				}
				continue // every errs[index] stays nil
			}
		}
		for _, p := range g {
			if errs[p.index] = verifyWithKey(k.info.Circuit, k.vk, p.public, items[p.index].Proof); errs[p.index] == nil {
				r.verdicts.Add(verdictKey(id, p.public, items[p.index].Proof))
			}
		}
	}
	return errs
}

// checkPublicInputs applies the circuit's public-input rules (as
// verifyWithKey does before pairing).
func checkPublicInputs(circuit string, public fr.Vector) error {
	s, err := lookupSpec(circuit)
	if err != nil {
		return err
	}
	if len(public) != s.nbPublic {
		return fmt.Errorf("%w: %d public inputs, %s expects %d", ErrMalformed, len(public), circuit, s.nbPublic)
	}
	if s.checkPublic != nil {
		if err := s.checkPublic(public); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	return nil
}

// batchWeights derives a 128-bit non-zero weight per proof from a hash of
// the key ID, every proof and every public input.
func batchWeights(vkID string, proofs []*groth16bn254.Proof, publics []fr.Vector) []fr.Element {
	h := sha256.New()
	h.Write([]byte("cohort/zk/batch/v1\x00" + vkID))
	for i, p := range proofs {
		a, b, c := p.Ar.Bytes(), p.Bs.Bytes(), p.Krs.Bytes()
		h.Write(a[:])
		h.Write(b[:])
		h.Write(c[:])
		for _, x := range publics[i] {
			xb := x.Bytes()
			h.Write(xb[:])
		}
	}
	seed := h.Sum(nil)
	out := make([]fr.Element, len(proofs))
	for i := range out {
		var idx [8]byte
		binary.BigEndian.PutUint64(idx[:], uint64(i))
		w := sha256.Sum256(append(slices.Clone(seed), idx[:]...))
		out[i].SetBytes(w[:16])
		if out[i].IsZero() {
			out[i].SetOne()
		}
	}
	return out
}

// batchHolds checks Π e(rᵢAᵢ, Bᵢ) · e(Σ rᵢCᵢ, −δ) · e(Σ rᵢK(xᵢ), −γ) = e(α,β)^(Σ rᵢ).
func batchHolds(vk *groth16bn254.VerifyingKey, vkID string, proofs []*groth16bn254.Proof, publics []fr.Vector) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false // the caller falls back to the individual verifier
		}
	}()
	n := len(proofs)
	r := batchWeights(vkID, proofs, publics)

	// Σ rᵢ·K(xᵢ) = (Σ rᵢ)·K₀ + Σⱼ (Σᵢ rᵢ·xᵢⱼ)·Kⱼ: one MSM over the key.
	scalars := make([]fr.Element, len(vk.G1.K))
	var sumR, t fr.Element
	for i := range proofs {
		if len(publics[i]) != len(vk.G1.K)-1 {
			return false
		}
		sumR.Add(&sumR, &r[i])
		for j := range publics[i] {
			t.Mul(&r[i], &publics[i][j])
			scalars[j+1].Add(&scalars[j+1], &t)
		}
	}
	scalars[0] = sumR
	var kAgg, cAgg curve.G1Jac
	if _, err := kAgg.MultiExp(vk.G1.K, scalars, ecc.MultiExpConfig{}); err != nil {
		return false
	}
	cs := make([]curve.G1Affine, n)
	for i, p := range proofs {
		cs[i] = p.Krs
	}
	if _, err := cAgg.MultiExp(cs, r, ecc.MultiExpConfig{}); err != nil {
		return false
	}
	ps := make([]curve.G1Affine, n+2)
	qs := make([]curve.G2Affine, n+2)
	var big128 big.Int
	for i, p := range proofs {
		r[i].BigInt(&big128)
		ps[i].ScalarMultiplication(&p.Ar, &big128)
		qs[i] = p.Bs
	}
	ps[n].FromJacobian(&cAgg)
	qs[n].Neg(&vk.G2.Delta)
	ps[n+1].FromJacobian(&kAgg)
	qs[n+1].Neg(&vk.G2.Gamma)
	ml, err := curve.MillerLoop(ps, qs)
	if err != nil {
		return false
	}
	lhs := curve.FinalExponentiation(&ml)
	e, err := curve.Pair([]curve.G1Affine{vk.G1.Alpha}, []curve.G2Affine{vk.G2.Beta})
	if err != nil {
		return false
	}
	var exp big.Int
	sumR.BigInt(&exp)
	var rhs curve.GT
	rhs.Exp(e, &exp)
	return lhs.Equal(&rhs)
}
