// Package recent owns a bounded set of 32-byte keys that forgets the oldest
// first: what the ledger's signature cache and the zk registry's verdict
// cache remember of checks that passed.
package recent

import "sync"

// Set holds at most its size of keys; adding one more evicts the oldest.
// Safe for concurrent use. A nil *Set remembers nothing.
type Set struct {
	mu   sync.Mutex
	set  map[[32]byte]struct{}
	ring [][32]byte
	next int
}

// New returns an empty set of at most size keys (size ≥ 1).
func New(size int) *Set {
	return &Set{set: make(map[[32]byte]struct{}, size), ring: make([][32]byte, max(size, 1))}
}

// Has reports whether k is in the set.
func (s *Set) Has(k [32]byte) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[k]
	return ok
}

// Add puts k in the set, evicting the oldest key when the set is full; a
// key already present keeps its place.
func (s *Set) Add(k [32]byte) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[k]; ok {
		return
	}
	if old := s.ring[s.next]; old != ([32]byte{}) {
		delete(s.set, old)
	}
	s.ring[s.next] = k
	s.set[k] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
}
