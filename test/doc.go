// Package test holds cohort's multi-node integration, end-to-end and
// adversarial tests. They build the cohort binary and run nodes as separate
// processes on loopback, as an operator would.
package test
