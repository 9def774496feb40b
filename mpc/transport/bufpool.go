package transport

import (
	"context"
	"math/bits"
	"sync"
)

// Buffers is implemented by a Conn that recycles message buffers. An engine
// that moves large vectors (mpc/ss re-shares megabytes per round) would
// otherwise allocate a fresh buffer per message on both sides, and the
// zeroing and first touch of that memory cost about a sixth of its CPU.
//
// Ownership is explicit: a buffer from Alloc is handed over by SendOwned and
// must not be touched by the caller afterwards; a payload that Recv returned
// is handed back by Release once the caller has decoded it, and must not be
// read afterwards. A payload passed to plain Send is never recycled.
type Buffers interface {
	// Alloc returns a buffer of n bytes (contents undefined) for SendOwned.
	Alloc(n int) []byte
	// SendOwned is Send for a buffer from Alloc; the Conn recycles it once
	// it has been written.
	SendOwned(ctx context.Context, to PartyID, r Round, payload []byte) error
	// Release gives back a payload returned by Recv.
	Release(payload []byte)
}

// Buffer size classes: class c holds buffers whose capacity is in
// [2^c + classSlack, 2^(c+1) + classSlack), so any buffer of class c holds
// n ≤ 2^c + classSlack bytes. The slack keeps a message of a power-of-two
// body and a small header (mpc/ss streams 2^19-byte vectors behind a 4-byte
// header) in the class of its body: with plain powers of two it would take
// a buffer twice its size, whose allocation zeroes and faults in the unused
// half. Below minPoolClass buffers are not worth pooling; MaxMessageBytes is
// 2^26.
const (
	minPoolClass = 12
	maxPoolClass = 26
	classSlack   = 4096
)

// bufPool recycles message buffers by size class. It is owned by one
// network (no process-wide state) and safe for concurrent use.
type bufPool struct {
	classes [maxPoolClass + 1]sync.Pool
}

// ceilClass is the class that serves n ≥ 1 bytes: the least c with
// 2^c + classSlack ≥ n (0 for n ≤ classSlack + 1).
func ceilClass(n int) int { return bits.Len(uint(max(n-classSlack, 1) - 1)) }

// classCap is the capacity of a buffer allocated for class c.
func classCap(c int) int { return 1<<c + classSlack }

// get returns an n-byte buffer, recycled when one is free.
func (bp *bufPool) get(n int) []byte {
	c := ceilClass(n)
	if c < minPoolClass || c > maxPoolClass {
		return make([]byte, n)
	}
	if b := bp.tryGet(c); b != nil {
		return b[:n]
	}
	return make([]byte, n, classCap(c))
}

// tryGet returns a free buffer of class c, or nil: it never allocates one
// (a reader must not allocate what a peer merely claims to send).
func (bp *bufPool) tryGet(c int) []byte {
	if c < minPoolClass || c > maxPoolClass {
		return nil
	}
	if v := bp.classes[c].Get(); v != nil {
		return *(v.(*[]byte))
	}
	return nil
}

// put recycles b; its contents must no longer be referenced.
func (bp *bufPool) put(b []byte) {
	if cap(b) < classCap(minPoolClass) {
		return
	}
	c := bits.Len(uint(cap(b)-classSlack)) - 1 // the largest class it covers
	if c < minPoolClass || c > maxPoolClass {
		return
	}
	b = b[:cap(b)]
	bp.classes[c].Put(&b)
}
