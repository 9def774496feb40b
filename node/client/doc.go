// Package client talks to a cohort node's local HTTP API: it defines the
// API's JSON shapes and a Client that submits signed txs, confirms their
// inclusion and resubmits them idempotently when the mempool dropped them.
package client
