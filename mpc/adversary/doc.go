// Package adversary lets a node process play a corrupted committee member,
// for the end-to-end adversarial tests only (test/adversary_test.go): the
// node runs its SS jobs under a mpc/internal/cheat plan and its HE jobs with
// he.Deviant keys, so that the test can show, through the whole pipeline
// (ledger, scheduler, libp2p, recipient), that the malicious SS mode and the
// HE recipient's cross-subset check turn the deviation into an abort.
//
// Nothing in production reaches it: the deviation exists only in binaries
// built with the cohort_adversary build tag (`go build -tags
// cohort_adversary ./cmd/cohort`). Without the tag FromEnv is a no-op that
// ignores the environment and returns nil, and a nil *Adversary is honest:
// its Context and HE return their argument unchanged. No configuration file
// or flag names it; with the tag, the node reads EnvVar at start.
//
// EnvVar is a comma-separated list of deviations (one SS and one HE at most):
//
//	ss-mul-offset       adds 1 to the member's multiplication re-sharing
//	                    (cheat.Plan.MulOffset): caught by the MAC check
//	ss-flip-bit         the same, in the last level of comparisons only
//	                    (a flipped comparison bit)
//	ss-bad-bit          deals 2 as its first random bit (cheat.Plan.BadBit):
//	                    caught by the bitness check, which names it
//	ss-shift-open       adds 1 to its share in the opening of the job's
//	                    output commitment, sent to every member: caught
//	                    by the all-n-shares consistency check
//	he-keyswitch-shift  shifts its key-switching shares so that the result
//	                    moves by 0.01 (CKKS) or by 1 (BGV) in every slot
//	he-keyswitch-random adds a random polynomial to them instead
package adversary
