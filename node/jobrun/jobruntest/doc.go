// Package jobruntest is jobrun's test kit: an in-process Cluster that runs
// whole jobs with every party on one transport.Network (the ledger's part
// played by handing the providers' commitments to the committee and the
// recipient), SampleJob's random jobs with their plaintext checks (against
// node/jobrun/plainref, which holds the references of every job type), and
// LegacyHEStore. Tests use it; no production code does (cmd/cohort and
// bench import plainref, not this).
package jobruntest
