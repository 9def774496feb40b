// Package jobrun runs one private job end to end over the MPC engines, for
// every role, without the ledger: the node feeds it the job's spec and the
// providers' on-ledger input commitments, and posts what it returns (result
// record, or the party to blame for an abort).
//
// # Lifecycle
//
// Once per committee, every member runs SetupCommittee over a connection of
// the committee alone: the HE key generation (mpc/he, t-of-N threshold
// shares, collective public key, evaluation keys; only when t = ⌈n/2⌉, see
// below) and the BLS DKG (mpc/committee). Both are persisted through Store; LoadCommittee restores
// them after a restart; CommitteeKeys.Record is the public part (BLS
// committee key for the ledger, HE public key for providers).
//
// Per job attempt, every party joins the job's session (Join) and runs its
// roles with it:
//
//   - provider: PrepareInput (parse the input file, commit, encrypt or
//     secret-share; the node posts PreparedInput.Commitment), then Provide
//     (send; clearing bidders also receive their own allocation). A
//     provider without a node (listed in Spec.Nodeless, no session party)
//     posts its SS shares sealed on the ledger instead, with Pedersen
//     commitments to its sharing (PreparedInput.SealShares, sealed.go),
//     and never sends;
//   - committee member: RunCommittee (collect inputs, its sealed share of a
//     slot from the ledger when there is one (CommitteeJob.Sealed), check
//     them against the commitments from the ledger, compute, sign the
//     result record with t BLS shares, deliver) → Outcome, the result
//     record to post;
//   - recipient: ReceiveResult → Result, verified against the committee's
//     signature and the output commitment.
//
// A failed attempt returns a *FaultError naming the parties at fault
// (FaultError.Reason for job.abort); a retry uses a fresh attempt number.
// A claim that a provider's input is missing or malformed rests on the
// claimant's word for an input sent over libp2p (the reason names the
// claimants), and on a proof for a sealed share: a member proves what its
// key makes of the share, every member checks it, and a proven bad share
// names the provider with FaultError.Evidence (for job.abort's
// sealed_opening, which the ledger checks and charges) while a false or
// unverifiable claim names the claimant (FaultFalseClaim; sealed.go). A
// sealed share is bad if it does not open, is malformed, or is off the
// provider's commitments to its sharing: so a sealed provider that deals a
// share off its degree-t polynomial is named and charged. With every
// sealed share on committed polynomials, the engine's consistency check of
// dealt inputs (mpc-check-failed) fails on a sealed slot only if a member
// deviated — substituted its share, or kept quiet about one off the
// commitments — which member is not identified, and the abort names nobody
// (the members' error says so: sealedCheckFailure); for an input over
// libp2p (no commitments) it still cannot tell a bad dealer from a lying
// member.
// The transport sessions of an attempt are described in session.go
// (SessionID, SessionParties, P2PResolver for the libp2p network).
//
// # Node integration
//
// Transport: one transport.P2PNetwork per node with
// transport.WithCommitteeResolver(P2PResolver(specFromLedger, peerOfMember));
// SetupCommittee needs a connection of the committee alone (e.g.
// OpenCommittee with the committee's peers under a setup ID).
//
// Per job (spec from the ledger's job record), on every node with a role:
//
//	sess, _ := Join(ctx, p2pNet, spec, attempt, selfID)   // once per node per attempt
//	defer sess.Close()                                    // after all local roles returned
//
//	provider:  in, _ := PrepareInput(spec, slot, file, ProviderKeys{Preset, CommitteeHEKey})
//	           post in.Commitment (auctions, tenders: + proof of in.InputWitness() with the input keys)
//	           res, err := Provide(ctx, sess, in, ProviderOptions{})   // clearing: res.Allocation; tender: res.Tender
//	member:    keys, _ := LoadCommittee(ctx, store, preset, committeeID, memberIndex)
//	           out, err := RunCommittee(ctx, sess, keys, CommitteeJob{InputCommitments: fromLedger})
//	           post the result record (out.OutputCommitment, out.Signature); on a
//	           *FaultError post job.abort with err.Reason(), err.Attested()
//	           as its fault and culprit (what the member saw itself: the
//	           ledger records it, and charges on a quorum of members
//	           attesting it when the chain's policy enables that and the
//	           fault is no timeout), and
//	           err.Evidence as its sealed_opening when set (CommitteeJob.
//	           SealedShares, SealingKeys and SealedCommitments from the ledger
//	           let members check their sealed shares and each other's claims)
//	recipient: res, err := ReceiveResult(ctx, sess, RecipientJob{Preset, CommitteeKey, InputCommitments})
//
// A provider slot is a party ID, or "party/label" for one of several inputs
// a party supplies (its clients' bids, say): the party runs the provider role
// once per slot it supplies (spec.SlotsOf), each input with its own
// commitment; messages about a slot carry its index in their round.
//
// Roles of one node run concurrently on the same Session. Members call
// RunCommittee once every provider's commitment is on the ledger; the
// context's deadline is the job's. The recipient's HE key pair is made per job
// inside ReceiveResult and sent to the members over the session (authenticated
// by the transport), so its secret key never leaves the call.
//
// # Engines and trust per job type
//
//	type             engine     inputs                   committee learns        recipient learns
//	credit-score     HE/CKKS    feature columns          nothing                 scores
//	aggregate        HE/BGV     integer values           nothing                 count, sum, mean, variance, histogram
//	auction-first    SS         one bid each             nothing (commitment)    winner, price (+ opening)
//	auction-vickrey  SS         one bid each             nothing (commitment)    winner, 2nd price (+ opening)
//	clearing         SS         quantity per price level clearing level, price   level, price; each bidder its allocation
//
// SS jobs need every committee member online (Shamir degree ⌊(n−1)/2⌋, so
// t < n/2 as the engine requires, semi-honest honest majority); HE jobs
// finish with any Spec.Threshold members. Spec.Threshold is the committee's
// BLS (and HE) threshold, ⌈n/2⌉ ≤ t ≤ n. Every committee runs SS jobs; HE
// jobs run only with t = ⌈n/2⌉ (e.g. 2 of 4), whose HE setup checks every
// member's key shares (mpc/he, security model): with a larger t the check
// cannot run and one malicious member could read the collective key, so
// SetupCommittee makes no HE key for such a committee, the ledger and
// Validate refuse its HE jobs (jobspec.CheckHECommittee), and CheckKeys
// refuses an HE job on a key record that says unchecked
// (ErrHESetupUnchecked).
//
// # Commitments
//
// SS inputs: Commit(fields…, salt) = Poseidon2-MD (ss.NativeCommit, the same
// function as zk.Commit; clearing curves of more than 8 levels in its tree
// mode), one 32-byte big-endian field element; for an
// auction it is exactly the zk input-validity circuit's commitment of the
// bid. The committee checks every input against its commitment inside the
// MPC. SS outputs: auctions Commit(winner, price, salt), clearing the
// Poseidon2-MD hash of the level's and every allocation's commitment, all
// computed inside the MPC with a joint random salt.
//
// HE inputs: HEInputCommitment, the SHA-256 of the job ID, the provider index
// and the content addresses of its canonical ciphertexts; HE outputs:
// HEOutputCommitment, the SHA-256 of the job ID, the evaluated ciphertexts'
// content addresses and, for every t-subset that key-switched them, its
// members and the content addresses of its key-switched ciphertexts. No
// member can commit to an HE result's plaintext (none sees it), so the record
// binds the exact ciphertexts the recipient decrypted and compared; the
// recipient recomputes the hash.
//
// HE results are checked before they are signed (hecheck.go): with more than
// t members online, a family of t-subsets key-switches the result (mpc/he);
// every member of the subsets sends the recipient all the key switches it
// aggregated itself (never a result adopted from a peer's announcement), the
// recipient requires them identical, decrypts and compares them and sends
// every member a verdict; the members sign only an accepted result. A
// rejected one (a member sent a wrong key-switching share) is never signed:
// the members abort with bad-output naming no fault party (they cannot check
// the recipient's decryptions; the reason text says "rejected by recipient
// <name>; unverifiable"), and the recipient's error names the deviant when
// its decryptions identify one. With exactly t members online there is one
// subset and a wrong share could not be detected, so when the committee has
// more than t members the recipient rejects such a result
// (he.ErrSingleSubset) and the job aborts. The recipient sees the result
// before the committee signs and can veto it at no cost. See the mpc/he
// package doc for what is and is not detected.
//
// HE re-forms (liveness): a member that announced itself to the run and
// then died (after sending its key-switching shares to all or some of the
// others) is in the family the others finished with, but never sends its
// candidate; over QUIC its death is noticed only at the idle timeout. The
// recipient waits RecipientJob.CandidateGrace (default 60 s, above the
// members' 30 s step timeout and below their 2 min wait for the verdict)
// after the first answer, then, instead of rejecting, sends every member a
// re-form verdict listing the members it did not hear from in that epoch.
// The others run the HE output protocol again (he.RunConfig.Epoch, fresh
// rounds per epoch; Exclude, the listed members), on the family of the
// members left, and send their candidates of the new epoch; each epoch is
// judged on its own key switches. A member that could not finish the
// attempt the others finished (the dead member's shares did not reach it)
// sends a standby, so that it is counted as present. Bound: every re-form
// must leave out at least one more member and keep more than t, and the
// members check this themselves (a recipient asking for more re-forms is
// refused as a recipient fault), so a job has at most n−t−1 re-forms, e.g.
// one for n = 4, t = 2, none for t = 3 (3 members left is a single subset,
// which is rejected anyway). Detection is unchanged: every epoch's family
// leaves every member out of some subset, a candidate whose family holds a
// member the re-form left out is malformed, a single subset is still
// rejected (he.ErrSingleSubset), and a standby never counts as an
// endorsement (a family with a member on standby is re-formed or
// rejected). Before re-forming, the recipient compares the key switches
// the epoch did deliver and rejects if they disagree, so that a deviant
// cannot shift its shares and then fall silent to escape the comparison.
// A member is left out only when it sent the recipient nothing in an
// epoch; a deviant withholding its shares from some members makes them
// stand by, not disappear, and the job is then rejected naming nobody (a
// member on standby is never named: it answered).
// Privacy cost: the recipient sees every family of every epoch, counted in
// mpc/he's "Privacy" bound; one he.JobState per job carries the members'
// suspects, their key-switching shares (resent unchanged for a repeated
// subset) and their count of share-releasing attempts across epochs. A
// member that is alive but whose candidate the recipient did not get
// within the grace (or whom a lying recipient leaves out) is excluded: it
// returns ErrExcluded, which is no fault and no outcome, and its node posts
// nothing (node/sched), so the others' re-formed result completes the job.
//
// Every result record carries the committee's threshold BLS signature on
// committee.ResultMessage(job ID, input commitments, output commitment).
//
// SS results at the recipient (receiveSS): every member sends the same
// public part (output commitment, signature; clearing: level, price and MPC
// commitments; tender: MPC commitments) and its shares for the recipient.
// The recipient waits for every member's message (or the output timeout),
// takes the public part that t+1 members sent identically (with at most t
// deviants, it is an honest member's) and names, refusing the result, every
// member whose message is malformed (e.g. a share that is not a reduced
// field element) or whose public part differs. Every SS output the
// recipient or a bidder combines — an auction's winner and price, a
// clearing's level salt (the level is public), a tender's award, a clearing
// bidder's allocation and a tender price slot's assignment — then follows
// one rule (jobs.OpenOutput): a set of t+1 well-formed shares whose
// reconstruction opens the commitment is searched among all (t+1)-subsets,
// never taken as the first t+1; every other received share is checked
// against the polynomial that set defines; if any is off it, the output is
// refused (secure with abort) and the members whose shares deviated beyond
// doubt are named as a bad output (identified). With at least 2t+1 shares
// received (e.g. every member's) and one deviant, or t = 1 (3 or 4
// members), those are exactly the members whose share is off; with members missing (2t shares or fewer) or
// colluders whose shifted shares also open the commitment, the shares alone
// cannot tell and nobody is named rather than an honest member. If no t+1
// shares open the commitment, nobody is named either (the shares cannot
// tell: at most t of them are right), except that a bidder then names the
// members that sent nothing. Otherwise a member that sent nothing is left
// out while t+1 messages agree, and named as dropped when fewer arrived. A
// wrong share can thus deny the recipient its output, never make it accept
// another (the signed commitment binds it).
//
// # Spec, input files and results (JSON)
//
// A spec (DecodeSpec; unknown fields rejected, params bounded):
//
//	{"id": "job-42", "type": "auction-vickrey", "params": {"max_bid": 1000000},
//	 "providers": ["acme", "globex", "globex/client-7"],
//	 "committee": ["n1", "n2", "n3", "n4"], "threshold": 3, "recipient": "acme"}
//
// Params per type:
//
//	credit-score     {"subjects": 1000, "weights": [0.8, -1.2, 0.5], "bias": -0.3,
//	                  "provider_features": [[0, 1], [2]]}   (optional "domain", "degree")
//	aggregate        {"bins": 8, "lo": 0, "hi": 100}
//	auction-*        {"max_bid": 1000000}                    (optional)
//	clearing         {"prices": [10, 11, 12], "sides": ["buyer", "seller", "seller"]}
//	tender           {"order": "o-1", "quantity": 500, "max_partners": 2, "max_price": 1000,
//	                  "price_factors": [10000, 12000]}   slots "<member>/price", "<member>/capacity"
//
// Provider input files:
//
//	credit-score     {"features": [[0.1, 0.4, …], [1.3, -0.2, …]]}   one column per
//	                  feature of provider_features[i], one value per subject
//	aggregate        {"values": [12, 40, 7]}
//	auction-*        {"bid": 5200}
//	clearing         {"quantities": [0, 5, 3]}   quantity added at each price level
//	tender           {"price": 120} for a "/price" slot, {"capacity": 40} for a "/capacity" slot
//
// The recipient's Result (MarshalResult):
//
//	{"job_id": "job-42", "type": "auction-vickrey", "output_commitment": "…",
//	 "signature": "…", "opening_salt": "…",
//	 "auction": {"winner": "globex", "winner_index": 1, "price": 4100}}
//
// with "scores" (credit-score), "aggregate" {count, sum, sum_sq, mean,
// variance, histogram}, "clearing" {level, price} or "tender" {partners
// [{member, quote, quantity, price}], award, award_salt, commitments} instead
// of "auction". A clearing bidder's Provide returns its Allocation {quantity,
// commitment, opening_salt}; a tender quote's price slot its TenderAssignment
// {quantity, price, commitment, opening_salt} (the capacity slot nothing).
package jobrun
