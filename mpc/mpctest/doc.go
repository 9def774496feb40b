// Package mpctest is the test kit of the MPC engines: n-party fixtures over
// the in-memory transport and seeded, reproducible randomness.
//
// Run starts n parties of one job, each on its own goroutine with its own
// Conn, under one context with a timeout, and returns every party's result
// and error once all have returned and their Conns are closed. Open opens
// the Conns of a job for tests that drive the parties by hand.
//
// Seed and Rand give each test a seed and named deterministic streams
// derived from it. By default a test's seed is derived from its name, so a
// run is reproducible as the fixed seeds it replaces were; a failing test
// logs its seed, and -mpctest.seed=N (or MPCTEST_SEED=N) replays any seed,
// while -mpctest.seed=random draws a fresh one per test to explore. The
// flag exists only in test binaries that import mpctest; for a run over
// several packages use the variable: MPCTEST_SEED=N go test ./mpc/...
//
// The fake clock for code that takes an injectable clock lives in the
// subpackage fakeclock, which imports nothing of cohort so that the
// transport's own tests can use it.
package mpctest
