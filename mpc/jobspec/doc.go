// Package jobspec is the one definition of a cohort private job: the job
// types and the engine each runs on, the parameters of each type, every limit
// (committee size and threshold, providers, params bytes, input ranges) and
// one Validate.
//
// The ledger runs Validate on every job.submit in CheckTx and FinalizeBlock,
// the policy checks job types against Types, and the nodes (node/jobrun,
// node/sched) run the same Validate on the job record they read back: a job
// the nodes would refuse never reaches the chain.
//
// Validate is deterministic and float-free, as the ledger's state machine
// requires: it iterates no map, reads no clock, draws no randomness, and
// checks a credit model's coefficients as decimal strings (json.Number);
// only the nodes turn them into binary floating point. Params are decoded strictly
// (unknown fields and trailing data rejected) after their length is bounded.
//
// The limits come from the engines: a committee has ss.MinParties to
// ss.MaxParties members (the secret-sharing engine's range; HE and the BLS
// DKG accept it too) and a threshold t with ⌈n/2⌉ ≤ t ≤ n (kyber's VSS makes
// no security claim below ⌈n/2⌉; the DKG needs t ≥ 2). A committee is created
// before any job names it. Every committee runs SS jobs; HE jobs need one
// whose HE setup checked every member's key shares, t = ⌈n/2⌉
// (MaxHEThreshold, CheckHECommittee: with a larger t the check would hand
// a coalition smaller than t the key, so the setup could not run it, and
// one malicious member could then read the collective key). Validate
// refuses an HE job on any other committee.
//
// This package sits below ledger and policies in the import graph and
// imports only mpc engines' constants.
package jobspec
