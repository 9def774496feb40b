//go:build !unix

package ledger

import "time"

// processCPU is not measured here; benchmarks report 0 CPU µs/tx.
func processCPU() time.Duration { return 0 }
