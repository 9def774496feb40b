// Package plainref computes every job type's result in the clear: the
// reference that a run of the MPC or HE engines is compared against by
// tests, by the bench harness, by the demo and by a requester that holds
// the inputs and wants to check a result itself.
//
// It owns the plaintext semantics of a job's result, as node/jobrun reports
// it: the auction's winner (ties to the lowest index) and price, the clearing
// level and each bidder's allocation (the long side rationed in provider
// order), the tender's award vector, the credit scores (the exact logistic
// function, which the HE engine approximates) and the aggregate statistics.
// Where mpc/jobs already has a plaintext rule (jobs.PlainRation,
// jobs.PlainTender, jobs.PlainCreditScores, jobs.PlainAggregate) the
// reference uses it, so that engine and reference state a rule once; this
// package adds the job-level parameters (jobspec's) and results (jobrun's).
//
// Inputs are those of a job the ledger accepts (jobspec validates the
// params): a reference given inputs no valid job has (a side that is neither
// buyer nor seller, curves of different lengths, a tender's slices of
// different lengths) panics, as an index out of range would, but with a
// message that says what is wrong; a credit model that does not parse is an
// error. Cases a valid job cannot have but a reference can state are total:
// an auction without bids has no winner (−1), a clearing without bidders no
// level (−1).
//
// It holds no secrets, runs no protocol and has no test support: production
// code (cmd/cohort's demo, the bench harness) imports it, and
// node/jobrun/jobruntest's test clusters check their runs with it.
package plainref
