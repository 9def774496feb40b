//go:build !unix

package main

import "time"

// processCPUSys is not measured on this platform: it reports 0, and the
// suites' CPU figures are left out or meaningless there.
func processCPUSys() (total, sys time.Duration) { return 0, 0 }
