// Package metrics owns cohort's own Prometheus metrics (txs by type and
// result, job phases and durations, proof verifications, credit updates,
// console checks) and serves a registry at /metrics. It derives everything
// from committed blocks and ledger state: no job inputs, private-data IDs or
// secrets ever become label values, and every label takes a bounded set of
// values (no job, record or task IDs).
package metrics
