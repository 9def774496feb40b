package transport

import "time"

// Clock is the time source of a P2PNetwork's own timers: the redial backoff
// and dial timeout of a peer's stream, the janitor that expires messages for
// jobs never opened and the tombstones of closed jobs. Tests inject a fake
// one (mpctest/fakeclock) to fire those timers when they choose instead of
// sleeping; production uses the real clock (WithClock not given, or nil).
//
// Deadlines handed to the operating system — the write deadline of a
// libp2p stream — and the callers' context deadlines stay on the real
// clock: a fake one means nothing to a socket.
//
// The interface uses no type of this package, so a fake clock need not
// import it.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f on its own goroutine (or, for a fake clock, from
	// the call that advances it) once d has elapsed, unless stop is called
	// first; stop reports whether it prevented the call. f must not block.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// WithClock replaces the real clock of the network's timers; see Clock.
func WithClock(c Clock) P2POption {
	return func(cfg *p2pConfig) {
		if c != nil {
			cfg.clock = c
		}
	}
}
