// Command bench is cohort's benchmark harness.
//
// Each suite (ledger, ss, he, zk, e2e, trace) measures one layer on this
// machine and returns named figures ("ledger.anchor_tps", …). `go run ./bench
// -suite NAME` prints one JSON object; `-suite all` runs every suite and, with
// -out, writes the merged object to a file (make bench → bench/results/latest.json).
// Progress goes to stderr so that stdout stays machine-readable.
package main
