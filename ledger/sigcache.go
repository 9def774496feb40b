package ledger

import (
	"crypto/sha256"
	"sync"
)

// sigCache remembers (tx bytes, account key) pairs whose signature verified,
// so that FinalizeBlock and mempool rechecks do not verify the same signature
// again. Signature validity is a pure function of its inputs, so the cache
// changes no result, only the cost. It is bounded and evicts oldest first.
type sigCache struct {
	mu   sync.Mutex
	set  map[[32]byte]struct{}
	ring [][32]byte
	next int
}

func newSigCache(size int) *sigCache {
	return &sigCache{set: make(map[[32]byte]struct{}, size), ring: make([][32]byte, size)}
}

func sigCacheKey(raw, key []byte) [32]byte {
	h := sha256.New()
	h.Write(key)
	h.Write(raw)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *sigCache) verified(raw, key []byte) bool {
	k := sigCacheKey(raw, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.set[k]
	return ok
}

func (c *sigCache) add(raw, key []byte) {
	k := sigCacheKey(raw, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.set[k]; ok {
		return
	}
	var zero [32]byte
	if old := c.ring[c.next]; old != zero {
		delete(c.set, old)
	}
	c.ring[c.next] = k
	c.set[k] = struct{}{}
	c.next = (c.next + 1) % len(c.ring)
}
