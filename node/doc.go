// Package node owns the runtime of a cohort node: its home directory (keys,
// config, genesis), and the wiring of the embedded CometBFT ledger, the libp2p
// host and the local HTTP API that the CLI talks to. It starts them in order,
// and stops them in reverse on shutdown, so a restarted node resumes from disk.
//
// Two components follow the committed blocks: the job scheduler (node/sched,
// wired in scheduler.go: typed ledger reads, txs through the node's API, the
// MPC network) and the record replicator (replicate.go), which keeps a copy
// of the sealed records of this node's supervision channels.
package node
