package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"sync"

	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/cohortnet/cohort/internal/recent"
)

// sigCache remembers (tx bytes, account key) pairs whose signature verified,
// so that FinalizeBlock and mempool rechecks do not verify the same signature
// again. Signature validity is a pure function of its inputs, so the cache
// changes no result, only the cost. It is bounded and evicts oldest first.
//
// It also holds the account keys in curve25519-voi's expanded form (see
// verify), computed once per key.
type sigCache struct {
	verifiedSet *recent.Set

	keysMu sync.Mutex
	keys   map[[ed25519.PublicKeySize]byte]*voied.ExpandedPublicKey
}

// maxExpandedKeys bounds the expanded keys kept (≈ 1.5 KiB each). Only
// members' account keys reach verify, so a network of fewer members never
// recomputes one.
const maxExpandedKeys = 4096

// txSigOptions selects the verification rule of crypto/ed25519.Verify, which
// the ledger has always used and which therefore decides which txs are valid:
// the cofactorless equation, S and R canonically encoded, any encoding of A
// that decodes, small-order A and R allowed. Implementing the same rule
// faster must not change a single verdict (TestSigVerifyMatchesStdlib checks
// it on the C2SP, speccheck and ZIP-215 edge-case vectors). A cofactored
// rule, which batch verification needs, would accept some crafted
// signatures that the chain's history refused.
var txSigOptions = &voied.Options{Verify: voied.VerifyOptionsStdLib}

func newSigCache(size int) *sigCache {
	return &sigCache{verifiedSet: recent.New(size),
		keys: make(map[[ed25519.PublicKeySize]byte]*voied.ExpandedPublicKey)}
}

func sigCacheKey(raw, key []byte) [32]byte {
	h := sha256.New()
	h.Write(key)
	h.Write(raw)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// verified reports whether the pair with this sigCacheKey verified before.
func (c *sigCache) verified(k [32]byte) bool { return c.verifiedSet.Has(k) }

// add remembers that the pair with this sigCacheKey verified.
func (c *sigCache) add(k [32]byte) { c.verifiedSet.Add(k) }

// verify reports whether sig is key's ed25519 signature of msg, with exactly
// the verdict of crypto/ed25519.Verify. It verifies with curve25519-voi
// against the key expanded once (decompressed, with its multiples
// precomputed), which takes about half the time of crypto/ed25519: a tx
// signature is verified by every node in CheckTx, so this is most of a
// node's CPU time per tx (BenchmarkPipeline/checktx).
func (c *sigCache) verify(key, msg, sig []byte) bool {
	if len(key) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	xk := c.expanded(key)
	if xk == nil {
		// Not a point voi decodes: let the reference decide (it refuses
		// such keys too, but it is the rule, not voi).
		return ed25519.Verify(key, msg, sig)
	}
	return voied.VerifyExpandedWithOptions(xk, msg, sig, txSigOptions)
}

// expanded returns key in expanded form, or nil if it does not decode.
func (c *sigCache) expanded(key []byte) *voied.ExpandedPublicKey {
	k := [ed25519.PublicKeySize]byte(key)
	c.keysMu.Lock()
	xk, ok := c.keys[k]
	c.keysMu.Unlock()
	if ok {
		return xk
	}
	xk, err := voied.NewExpandedPublicKey(voied.PublicKey(key))
	if err != nil {
		return nil
	}
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	if len(c.keys) >= maxExpandedKeys {
		clear(c.keys)
	}
	c.keys[k] = xk
	return xk
}
