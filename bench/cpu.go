package main

import "time"

// cost is one measured interval: its wall-clock time and the CPU time
// (user + system) the whole process spent in it. Every party of a suite runs
// in this process, so cpu counts all of them together, with their transport
// and the Go runtime (GC); on the shared machine it varies far less with load
// than wall does.
type cost struct{ wall, cpu time.Duration }

// measure runs f and returns its cost. On platforms without getrusage cpu is
// 0 (see processCPUSys), and suites leave their CPU figures out.
func measure(f func() error) (cost, error) {
	c0 := processCPU()
	t0 := time.Now()
	err := f()
	return cost{wall: time.Since(t0), cpu: processCPU() - c0}, err
}

// processCPU is the user+system CPU time this process has used so far.
func processCPU() time.Duration {
	total, _ := processCPUSys()
	return total
}
