// Package sched is a node's job scheduler: it follows the ledger block by
// block, runs the committee setups and job attempts this node has a part in,
// and posts what they produce (committee confirmations, input commitments,
// result records, aborts).
//
// It reads the ledger through the typed Ledger interface (the node passes its
// ledger.App and a signer; tests a fake) and is driven by block events:
// every committed block is handed to Run, which starts the work the block's
// txs create and wakes the attempts waiting for the ledger to move (every
// input committed, a result landed). Nothing polls or sleeps.
//
// One job attempt on this node is Scheduler.runJob: the node's provider
// slots, committee seat and recipient role, played together with
// jobrun.PlayRoles, the function the in-process cluster of the test kit
// (jobrun/jobruntest) uses too.
//
// Providers without a node (members registered with no peer ID) post their
// shares sealed on the ledger: the scheduler lists them in the spec's
// Nodeless from the member registry (so every node agrees they are no
// session party) and hands each committee seat its sealed shares, read from
// its own committed state once the job is running, with the node's sealing
// key.
//
// Every committee member posts its own abort of a failed job, with the
// fault it determined itself (jobrun FaultError.Attested) and its sealed
// proof if it has one: the first to land ends the job, the others are the
// ledger's attestations of it, and, on a chain whose policy enables it, a
// quorum of them charges the culprit of an attestable fault
// (ledger/attest.go). A refusal as finished (the window closed, the job
// completed, our abort already landed) is no error.
//
// A committee member that cannot run a job the ledger accepted (its HE
// preset cannot hold the job, its committee keys are missing, its HE key
// record says the setup did not check the key shares, the job's spec no
// longer validates) posts job.abort with the reason at once, so that the
// job ends before its deadline and no provider is penalised for it. A
// provider that does not deliver its own input is not such a case: the
// ledger names it at the deadline.
//
// A committee whose threshold is above ⌈n/2⌉ gets no HE key at setup
// (jobrun.SetupCommittee) and confirms no HE key hash: it runs SS jobs only.
//
// State the scheduler must not lose (committee key shares, prepared inputs)
// is in the jobrun.Store; everything else is re-derived from the ledger after
// a restart (Run resumes every pending committee and open job first).
package sched
