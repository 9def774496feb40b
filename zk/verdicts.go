package zk

import (
	"crypto/sha256"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// The registry's verdict cache (a recent.Set) remembers the (key, public
// inputs, proof) triples that verified, so that a node verifies a proof
// once even though it meets it twice (the ledger checks a tx in CheckTx,
// then again in FinalizeBlock, and every node does both). Validity is a
// pure function of the triple, so the cache changes no verdict, only the
// cost — which keeps the ledger deterministic whatever each node's cache
// holds. Only successes are kept (a failure is cheap to repeat and must not
// crowd out successes).

// verdictCacheSize bounds the remembered verdicts (32 bytes each, plus the
// map's overhead): more than a few blocks' worth of proofs.
const verdictCacheSize = 1 << 14

// verdictKey binds the key ID, every public input and the proof bytes.
func verdictKey(vkID string, public fr.Vector, proof []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("cohort/zk/verdict/v1\x00" + vkID + "\x00"))
	var n [8]byte
	for i, l := 0, uint64(len(public)); i < 8; i++ {
		n[i] = byte(l >> (8 * i))
	}
	h.Write(n[:])
	for _, x := range public {
		b := x.Bytes()
		h.Write(b[:])
	}
	h.Write(proof)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// verified reports whether the triple with this verdictKey verified before
// (never, for a nil cache: benchmarks measure the verifier without it).
