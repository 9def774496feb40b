// Package jobruntest is jobrun's test kit: an in-process Cluster that runs
// whole jobs with every party on one transport.Network (the ledger's part
// played by handing the providers' commitments to the committee and the
// recipient), SampleJob's random jobs with their plaintext checks, and the
// plaintext references of every job type (Plain*). Tests, the bench harness
// and the demo use it; production code (node, node/sched) does not.
package jobruntest
