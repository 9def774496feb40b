//go:build !unix

package ss_test

// processCPU is not measured on this platform.
func processCPU() float64 { return 0 }
