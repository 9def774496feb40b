//go:build unix

package main

import (
	"syscall"
	"time"
)

// processCPUSys returns the user+system CPU time this process has used so
// far (getrusage RUSAGE_SELF: every thread) and its system part.
func processCPUSys() (total, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(ru.Stime.Nano())
}
