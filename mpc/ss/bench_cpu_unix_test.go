//go:build unix

package ss_test

import "syscall"

// processCPU returns the CPU time (user + system) the process used so far, in
// seconds: on a shared machine a steadier measure of work than wall time.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
