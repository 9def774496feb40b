// Package fakeclock is a manual clock for tests of code that takes an
// injectable clock (e.g. transport.WithClock): time moves only when the test
// calls Advance, so a test decides exactly when a timeout, a backoff or a
// periodic sweep fires instead of sleeping and hoping.
//
// It depends on the standard library only, so that any package's internal
// tests can import it without an import cycle (mpctest itself imports the
// transport).
package fakeclock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is a fake time source. The zero value is not usable; call New.
// Timers armed with AfterFunc fire, in deadline order, inside Advance, on
// the caller's goroutine: when Advance returns, every callback that was due
// has run. Callbacks must therefore not block (cancelling a context or a
// non-blocking channel send, as the transport does).
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*timer
	armed  chan struct{} // closed and replaced whenever a timer is armed
}

type timer struct {
	at  time.Time
	seq uint64 // arming order: ties fire first-armed first
	f   func()
}

// New returns a clock reading start.
func New(start time.Time) *Clock {
	return &Clock{now: start, armed: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer that calls f once the clock has been advanced by d
// or more (d ≤ 0: at the next Advance, even of 0). The returned stop
// disarms it and reports whether it was still armed, like time.Timer.Stop.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	close(c.armed)
	c.armed = make(chan struct{})
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, t)
		if i < 0 {
			return false
		}
		c.timers = slices.Delete(c.timers, i, i+1)
		return true
	}
}

// Advance moves the clock forward by d, stepping through every timer due
// by the new time, earliest first: a callback reads its own deadline from
// Now(), and timers it arms for a deadline within the span fire in the
// same call. The clock then reads start+d. Call it from one goroutine at a
// time.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var due *timer
		for _, t := range c.timers {
			if !t.at.After(end) && (due == nil || t.at.Before(due.at) || (t.at.Equal(due.at) && t.seq < due.seq)) {
				due = t
			}
		}
		if due == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.timers = slices.DeleteFunc(c.timers, func(t *timer) bool { return t == due })
		if due.at.After(c.now) {
			c.now = due.at
		}
		c.mu.Unlock()
		due.f()
	}
}

// Pending returns how many timers are armed and not yet fired or stopped.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Remaining returns the time left on every armed timer, shortest first; a
// test reads a backoff schedule or a sweep period from it.
func (c *Clock) Remaining() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, len(c.timers))
	for i, t := range c.timers {
		out[i] = t.at.Sub(c.now)
	}
	slices.Sort(out)
	return out
}

// WaitPending blocks until at least n timers are armed, or ctx ends (its
// error is returned). A test uses it to know that the code under test has
// reached the wait it is about to release with Advance, instead of sleeping.
func (c *Clock) WaitPending(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.timers) >= n {
			c.mu.Unlock()
			return nil
		}
		armed := c.armed
		c.mu.Unlock()
		select {
		case <-armed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
