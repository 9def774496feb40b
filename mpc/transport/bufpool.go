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
// [2^c, 2^(c+1)), so any buffer of class ⌈log2 n⌉ holds n bytes. Below
// minPoolClass buffers are not worth pooling; MaxMessageBytes is 2^26.
const (
	minPoolClass = 12
	maxPoolClass = 26
)

// bufPool recycles message buffers by size class. It is owned by one
// network (no process-wide state) and safe for concurrent use.
type bufPool struct {
	classes [maxPoolClass + 1]sync.Pool
}

// ceilClass is ⌈log2 n⌉ for n ≥ 1.
func ceilClass(n int) int { return bits.Len(uint(n - 1)) }

// get returns an n-byte buffer, recycled when one is free.
func (bp *bufPool) get(n int) []byte {
	c := ceilClass(n)
	if c < minPoolClass || c > maxPoolClass {
		return make([]byte, n)
	}
	if b := bp.tryGet(c); b != nil {
		return b[:n]
	}
	return make([]byte, n, 1<<c)
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
	c := bits.Len(uint(cap(b))) - 1
	if c < minPoolClass || c > maxPoolClass {
		return
	}
	b = b[:cap(b)]
	bp.classes[c].Put(&b)
}
