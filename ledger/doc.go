// Package ledger owns cohort's replicated state machine: the ABCI application
// that CometBFT drives, its transaction envelope and rules, and its state in
// badger.
//
// Every tx is a SignedTx (ledgerpb) signed by a member's ed25519 account key,
// bound to the chain ID and carrying a unique tx ID. The signature rule is
// crypto/ed25519's (cofactorless; see sigcache.go, which implements it with
// curve25519-voi and verifies each tx once per node). CheckTx runs the cheap
// checks; FinalizeBlock re-runs every check deterministically against the
// committed state plus the writes of the block so far, and commits to the
// result in the AppHash: a hash chain over the ordered writes of each block.
// Nothing in FinalizeBlock depends on wall-clock time, randomness, floating
// point or map iteration order.
//
// Jobs and committees are checked with mpc/jobspec, the one definition of a
// job that the nodes run too: a job or committee the nodes would refuse is
// refused here and changes nothing. HE jobs are accepted only on committees
// with t = ⌈n/2⌉, whose HE setup checks every member's key shares
// (jobspec.CheckHECommittee); SS jobs on every committee. A member's rating (rating.go) is its
// reputation on the ledger, unrelated to the credit-score job; voting power
// and epochs are in power.go. A member registered without a peer ID runs no
// node (HasNode): it signs txs and supplies SS job inputs with the shares
// sealed to the committee (sealed.go), and is never a validator, committee
// member, recipient, HE provider or clearing bidder.
//
// A job's abort costs credit only on evidence the ledger can weigh
// (attest.go): a sealed-share proof it verifies itself, the deadline it
// sees pass, or — only on a chain whose policy enables
// credit.charge_attested_faults, which assumes every committee has an
// honest majority and requires committees.creators, the roles trusted to
// compose committees (checkCommitteeCreate) — a quorum of ⌊(n−1)/2⌋+1 committee members other than
// the culprit attesting the same fault, one the ledger knows an honest
// member names only on data every honest member shares (the dealer of a
// non-bit, an input not opening its commitment or malformed), in their
// aborts within attestWindowBlocks of the first. Timeouts (a member that
// dropped, an input that did not arrive), a culprit a single member names,
// the requester's word, and the recipient's verdicts charge nobody.
package ledger
