// Package he owns cohort's multiparty homomorphic-encryption engine.
//
// It wraps lattigo v5's mhe package into protocols that run over
// mpc/transport between the members of a committee:
//
//   - Setup: every member samples a secret key share; the committee derives a
//     t-out-of-N Shamir sharing of the collective secret (mhe.Thresholdizer),
//     the collective public key, the relinearisation key (two rounds) and the
//     Galois keys the job circuits need. Each member aggregates every share
//     itself, so any member can finish the setup, and the members cross-check
//     a digest of the resulting public keys. Keys persist in a KeyStore and are
//     reused by later jobs. SetupProtocol is the same setup as per-round steps
//     without I/O (Gen*/Add*/Gen…Key, in lattigo mhe's style), each naming the
//     peer whose share it rejects or never received (*transport.PartyError);
//     Setup is its network driver.
//   - Public keys (the committee's, a recipient's) cross the network in one
//     canonical, length-checked encoding: Preset.MarshalPublicKey and
//     Preset.UnmarshalPublicKey.
//   - Inputs: data providers encrypt under the collective public key; a
//     ciphertext travels in a canonical, length-bounded encoding (Codec) and is
//     addressed by the SHA-256 of that encoding.
//   - Output: every online member re-runs the deterministic job circuit and
//     the members compare ciphertext hashes. With exactly t members online,
//     they turn their threshold shares into additive shares of that subset
//     (mhe.Combiner) and key-switch the result to the recipient's public key
//     with smudging noise (mhe.PublicKeySwitch). With k > t online, a family
//     of t-subsets key-switches it (KeySwitchFamily: ⌈k/(k−t)⌉ subsets that
//     leave every online member out of at least one, plus, when t < k/2,
//     further subsets holding the k−2t members those leave in none, so
//     that every online member is in some subset), each with its own
//     Lagrange coefficients and fresh smudging; every member aggregates
//     every subset's key switch itself. The recipient decrypts every key switch and compares them
//     (Recipient.DecryptFloatsChecked, DecryptIntsChecked). A member that
//     drops before its shares reached everyone makes the run retry without
//     it (a member that misses a peer's share for RunConfig.StepTimeout
//     suspects it). Before any key-switching share leaves, the members of
//     the family exchange their views (evaluation IDs and the family's
//     digest, on a round of its own, each with a fresh seed half for the
//     pair's share masks, see Privacy) and release shares only when
//     every view they received equals their own; members whose views of
//     who is online differ (different families) redo the attempt without
//     suspecting anyone, and no share of theirs has left. A peer whose
//     shares then come for another family than the one it agreed to is
//     suspected. A JobState (RunConfig.State) carries suspects, the shares
//     made so far and the count of attempts that released shares from
//     epoch to epoch.
//   - Re-forms: a member that drops after the others finished with it in
//     the family cannot be noticed by them; the recipient notices (node/jobrun
//     re-forms: its candidate never comes) and asks the members it heard
//     from to run again as epoch e+1 (RunConfig.Epoch, on rounds of its own)
//     without the silent ones (RunConfig.Exclude): a fresh family over the
//     members left, fresh Lagrange coefficients and smudging. node/jobrun
//     allows at most n−t−1 re-forms (each leaves out one more member and
//     keeps more than t); Run accepts Epoch < MaxEpochs.
//   - Announcements: a member that finished an attempt announces its result
//     in the next attempt's hello. Only a member that was outside every
//     subset of that attempt adopts it, after checking the evaluation IDs
//     against its own evaluation, and the result is marked Result.Adopted
//     (its key switches are the announcer's word: node/jobrun does not send
//     it to the recipient, the key test fails on it). An announcement before
//     the first attempt is forged and its sender is left out; one from an
//     attempt this member took part in but could not finish is not adopted
//     either: the member stops with ErrFinishedWithout rather than finish
//     a second, different result without the announcer (node/jobrun then
//     has it stand by for a re-form). Since
//     KeySwitchFamily puts every member of a view in some subset and a
//     member's own view always contains itself, no member is ever outside
//     every subset: in this version nothing is adopted at all; the guarded
//     path remains for families that would leave members out.
//   - Setup ends with a known-answer test (keyTest): a public test
//     ciphertext under the collective key, its relinearised square and its
//     Galois images are key-switched to the zero key by the family of all
//     online members and checked by every member on the key switches it
//     aggregated itself.
//
// One committee key set serves both CKKS (hefloat, credit scoring) and BGV
// (heint, exact aggregates): a Preset builds both schemes over the same ring
// (same N, Q, P and error distributions), so the secret, public and
// evaluation keys are shared.
//
// # Security model
//
// Setup shares are verified in MPC (mpc/he/sharecheck, SetupProtocol.
// CheckShares). lattigo's mhe has no proofs that a share is short, and a
// member could send a share that is right but for an error far larger than
// the protocol's (its own choice, up to what still decodes: the known-answer
// test decodes BGV exactly at the top level, where noise up to about 2^279
// still decodes, so it would pass). Found by a review, the consequences were:
//
//   - Key-test leak (critical): the test floods with B fixed from honest
//     noise (2^156 at N = 2^14, see Key-test leakage below). An inflated
//     public-key share makes the relinearised square's noise contain
//     2T·(u·e_D)·h with u the test's public randomness and e_D the deviant's
//     error; grown far above B, the flood no longer hides it, and the
//     deviant, which knows e_D, can recover u·h and from it the collective
//     secret s.
//   - CKKS results wrong unseen: an inflated share moves every decryption
//     under the collective key by the same error, so all subsets of a
//     family agree and the recipient's comparison accepts a wrong result
//     (measured slot error 0.03 with an error of 2^100, 0.7 at 2^104, values
//     in [0, 1)). BGV results stay exact while the noise decodes.
//
// So the committee checks every setup share except the Shamir dealing in its
// malicious-secure SS engine (mpc/ss, SPDZ-wise Shamir over BN254's Fr,
// secure with abort against t_ss = ⌊(n−1)/2⌋ malicious members; n ≥ 3),
// with every member's secrets and errors secret-shared (mpc/he/sharecheck)
// — but only when the HE threshold is t = ⌈n/2⌉ (ShareCheckRuns; any
// smaller t too). The engine shares with degree t_ss, so any t_ss+1 = ⌈n/2⌉
// members pooling their shares of the check's inputs rebuild every s_i,
// hence s, without deviating (a review's finding, issue 10;
// sharecheck.TestSecretOpensToHonestMajority); an honest-majority engine
// cannot share with degree ≥ n/2 and still multiply. So:
//
//   - t = ⌈n/2⌉ (recommended for malicious security): the setup runs the
//     checks below; it is secure against ⌊(n−1)/2⌋ malicious members, and
//     privacy holds against fewer than t colluding members.
//   - t > ⌈n/2⌉ (jobspec.CheckCommittee allows up to n, e.g. 3-of-4): this
//     package's Setup runs WITHOUT the checks and deals nothing into the SS
//     engine (TestSetupShareCheckGate); its shares are unchecked, so ONE
//     malicious member could recover the collective secret through the key
//     test (the key-test leak above) or bias CKKS results unseen. So such a
//     committee runs no HE job: the ledger refuses HE jobs on it
//     (jobspec.CheckHECommittee, whose rule jobspec.HESetupChecked equals
//     ShareCheckRuns: TestHESetupCheckedRuleMatchesShareCheck), node/jobrun
//     does not run this setup for it at all (no unchecked key is made; it
//     gets its BLS key only and runs SS jobs), and a member whose key
//     record says unchecked refuses any HE job (node/jobrun.CheckKeys,
//     ErrHESetupUnchecked: the job aborts with that reason). A committee
//     set up with t > ⌈n/2⌉ before this rule keeps its unchecked key on
//     disk, unused: its HE jobs are refused; to run HE jobs, create a
//     committee with t = ⌈n/2⌉.
//
// Which of the two a setup ran is in every member's key record, part
// of the key digest the members compare (Member.SharesChecked; node/jobrun
// prints it with the setup's progress, node/sched logs it as he_keys;
// records written before the check existed load as unchecked). The checks,
// when they run:
//
//   - after the first relinearisation round and before any round-two share
//     leaves (a round-two share multiplies the first round's aggregate,
//     which a rushing member could otherwise choose): the public-key share
//     is −a·s + e and the first-round share (−c_i·u + P·s·g_i + e0_i,
//     c_i·s + e1_i);
//   - after every Galois round, before any Galois key is made: one check of
//     all elements' shares (sharecheck.CheckBatch; the public-key share
//     re-proven once), the share of element g being −c_i·π(s) + P·s·g_i +
//     e_i with π = X → X^(g^-1);
//   - after the second relinearisation round, before the relinearisation
//     key: (R0_i·s + e2_i, R1_i·(u − s) + e3_i) for the first round's public
//     aggregate (R0, R1).
//
// The later checks re-prove the public-key share (and one first-round row)
// so that s and u are the same as in the first. All relations hold modulo
// every prime of QP with s, u ternary and every error coefficient in
// [−32, 32) (honest: |e| ≤ 6σ ≈ 19), the same integer error in every limb.
// False acceptance: ≤ 2^-90 per limb and relation (three random points per
// limb; ≤ ((N−1)/q)^3 with q ≥ 2^44), plus the MAC check's ≤ (K+2)/|Fr|. A
// member whose shares fail is named (*transport.PartyError in roundCKG,
// roundRKG1, roundRKG2 or roundGKG+i, which node/jobrun turns into a blamed
// abort) and nobody keeps keys; a failed MAC check or inconsistent opening
// aborts the setup naming nobody. Before each check the members compare a
// digest of the shares they received (SharesDigest, GaloisSharesDigest): a
// member that sent different shares to different peers makes the setup fail
// with ErrKeysDiffer, naming nobody, before any round-two share is made from
// a first-round aggregate it chose per peer
// (TestSetupEquivocationFailsBeforeTheCheck). The checks open only their
// random coins and, per member and round, values that are 0 for an honest
// member. So, in a checked setup, the key test's "≤ 2^-41" below holds
// whatever a minority does with its shares. Cost (BenchmarkCheck in
// sharecheck, BenchmarkSetupSecure here: 4 members in one process): the
// checks took BenchmarkSetupSecure from 132.5 s to 82.8 s of CPU and its
// peak RSS from 6.3 to 4.1 GB once the Galois checks were batched and the
// witness's products moved to 64-bit NTTs (A/B in one window on the loaded
// 2-core machine; sharecheck's doc has the breakdown); without the checks
// the setup takes about 12 s and 2.1 GB (see the README).
//
// Where an unchecked setup's CPU goes (BenchmarkSetupUnchecked: t = 3 of
// 4 in one process, secure preset, 13 Galois keys, the setup bench/suite_he
// compares with raw lattigo; CPU profile samples of all 4 members on the
// loaded 2-core machine, 2026-12-07): of 14.7 s, the known-answer key test
// 4.7 s (its pairwise masks' BLAKE2b 0.9 s, key-switch shares 0.7 s, the
// Galois images 1.2 s, message buffers 0.8 s), sampling the CRPs 2.8 s
// (BLAKE2b, as in raw lattigo), the Galois shares 1.4 s plus 1.3 s to
// encode them, the key record and its digest 1.4 s, mhe's GenGaloisKey
// copies 1.6 s. Most "encoding" time is first writes to fresh memory (page
// faults: a fifth to a quarter of the process's time is system time). Cut
// (nothing sent or checked changed except how the masks are expanded, see
// Privacy): encodings written once (not zeroed first), key-switch messages
// sized up front, Galois keys made from the aggregated share and the CRP
// without copies (galoisKeyOf), the key test's Galois images hoisted (one
// decomposition of c1), masks from AES-256-CTR. After: 10.7 s (key test
// 3.1 s, CRPs 2.8 s, Galois shares 2.2 s, record 1.2 s). A/B in one window
// (3 alternated pairs, /usr/bin/time): 3.65 → 3.28 s CPU per member, peak
// RSS 1.91 → 1.79 GB. Left: the CRS's BLAKE2b expansion (a sixth of the
// setup, as in raw) could use AES-CTR too, but stored records re-derive
// their CRP halves from it, so that needs a record version (and
// node/jobrun/jobruntest's legacy-record helper to follow).
//
// Not verified (open): the consistency of the Shamir shares a member deals
// of its secret with the s it proved (a dealing of another secret is caught
// by the key test, unnamed); more than t_ss = ⌊(n−1)/2⌋ malicious members
// (the checks' engine needs an honest majority). A committee with
// t > ⌈n/2⌉, whose setup could not be checked, runs no HE job (see above).
//
// Privacy: fewer than t colluding members that follow the protocol learn
// nothing about the collective secret key or the inputs; the recipient learns
// the job output and nothing else the committee holds. Against malicious
// members this holds for a checked setup (t = ⌈n/2⌉: fewer than t =
// ⌈n/2⌉ colluders, at most ⌊(n−1)/2⌋ of them malicious), the only one HE
// jobs run on; with t > ⌈n/2⌉ one malicious member could break it through
// the key test, which is why such a committee runs no HE job (see above).
// mpc/transport must provide authenticated and
// confidential channels, since Setup sends each member its Shamir shares of
// the others' secrets. With s subsets key-switching, the recipient sees s
// decryptions of the same ciphertext, each with the fresh smudging of its t
// members (σ = 2^30 each, see SmudgingSigma; circuit noise far below it). A
// recipient colluding with c < t members subtracts their smudging; every
// subset still carries that of at least t−c honest members, so the mean of
// the s decryptions hides the circuit's noise (which depends on the secret
// key) behind smudging of standard deviation at least σ·√((t−c)/s): with
// c = t−1, σ/√s, i.e. ½·log2 s bits less statistical margin than one key
// switch by one honest member. s counts every distinct subset of every
// attempt whose key-switching shares left a member, failed attempts and
// re-forms included: a member colluding with the recipient that received
// the others' shares can aggregate every subset of that attempt itself,
// even if it then withholds its own share or sends garbage, and a member's
// candidate carries its epoch's whole family even when another member of
// it never delivers. Three rules bound it. (1) Views are agreed before any
// share leaves (see Output above), so the attempts that views split (a
// lost or withheld hello) release nothing; a deviant can still tell
// different members different views so that some release and others
// withhold, but (2) each member releases its shares in at most
// MaxReleases(n, t) = n−t+1 attempts per job (it gives up beyond:
// ErrGaveUp), and an attempt that fails after releasing makes it suspect
// the peer whose share did not come or was malformed, for the rest of the
// job (re-forms included; a member that agreed on the views and then
// answers with a withheld message is not suspected, so it can use up the
// releases and abort the job unnamed, as a view split could). (3) A
// member makes its share for a subset once per job and resends it
// unchanged whenever a later attempt or epoch has the same subset, so a
// repeated subset gives the recipient the same key switch, not a second one with fresh smudging (a colluding member's own
// share may vary, but the recipient learns nothing from what it can
// subtract). Hence s ≤ C(n, t), and every honest member's smudging enters
// at most (n−t+1)·F(n) distinct subsets, with F(k) ≤ k the default
// family's size (⌈k/(k−t)⌉, plus k−2t when t < k/2). n = 4, t = 2: s ≤ 6
// (2 when nothing fails; a colluder that receives the first attempt's
// shares and then sends a wrong share message is suspected, and the retry
// without it gives 4: TestColluderGetsOneFamilyAndIsSuspected), a margin
// of at most ½·log2 6 ≈ 1.3 bits; n = 4, t = 3: s ≤ 4. node/jobrun allows
// at most n−t−1 re-forms, each leaving out one more member; a malicious
// recipient may ask for re-forms it does not need, but the members enforce
// that bound and the per-job bounds above, so it gains at most these s.
// More subsets (RunConfig.Subsets) raise F accordingly.
//
// Individual shares: every member receives every family member's individual
// share of every subset (each member aggregates every subset itself). Bare,
// honest member h's share for a subset S, λ_{S,h}·f(x_h)·c1 + e_h, would
// give a member colluding with the recipient (its key shares and the
// decryption substituted) α·e_ct + e_h plus known terms, α = λ_{S,h}·L₀^C(x_h)
// a Lagrange factor: the circuit noise behind σ/|α| (|α| up to 9 for n = 4,
// t = 2, 45 for n = 5, t = 3, about 2^15 for n = 10, t = 5; found by
// review). So the members of each subset mask their shares pairwise
// (pcksmask.go): keys from seed halves exchanged in the view round, masks
// uniform mod q with opposite signs on the two sides, cancelling in the
// subset's sum. Each mask is drawn by lattigo's uniform sampler (rejection
// sampling mod each prime) from an AES-256-CTR stream keyed by SHA-256 of
// the pair's key and the (subset, output, part) label (prg.go; version 2 —
// version 1 expanded the same key and label with lattigo's BLAKE2b
// KeyedPRNG, several times slower: a twentieth of a secure setup's CPU in
// its key test alone). Members of the two versions derive different masks,
// which would not cancel, so the view message binds the family digest to
// the mask scheme (viewDigest): members on different schemes disagree on
// the view before any share leaves, and the attempt fails naming nobody;
// a committee must still upgrade together to run HE jobs. Each pair's key
// is bound to the attempt's round and family digest as well (seeds are
// fresh per attempt; this is defence in depth). A share of a subset with two or more honest members is
// uniform to anyone outside its honest pairs; what a coalition can still
// extract is an aggregate over honest members, with α = 1, which the bound
// above counts. Open: a member's JobState (share cache, release count) is
// in memory only, so a member that restarts mid-job makes fresh shares for
// subsets it released.
//
// Correctness: lattigo's mhe has no proofs that shares are well formed, so a
// deviating member cannot be prevented from sending a wrong share; the
// engine detects it where it can, and then nothing is accepted. All members
// evaluate the circuit and compare ciphertext hashes before key switching,
// so a member cannot change the evaluated ciphertext unseen. Key switching:
// every honest t-subset reconstructs the same secret s exactly (Lagrange
// interpolation of the Shamir shares), so honest key switches of one
// ciphertext decrypt to the same message and circuit noise and differ only
// by their fresh smudging and encryption noise. A deviant's wrong share
// shifts the decryption of every subset it is in by an amount it chooses
// per subset (shares are not bound to the Lagrange coefficients, so it can
// shift all its subsets alike); the subset that leaves it out is correct,
// so the shifted results cannot all agree with it.
//
// Detection is guaranteed when some subset of the family contains no
// deviant: with the default family, against any single deviating member.
// Several deviants are detected only when some subset avoids all of them;
// when every subset contains one (e.g. n = 4, t = 3, two deviants, all
// online) they go undetected. Even with every t-subset key-switching
// (RunConfig.Subsets), every set of t−1 deviants is avoided only when
// k ≥ 2t−1. CKKS: two key switches disagree when some slot differs by more
// than CKKSTolerance, the bound on the smudging difference at failure
// probability 2^-64 (≈ 8.5e-6 for the test preset, 1.7e-5 for the secure
// preset, t = 3, scale 2^57); a shift below it is not detected and moves
// the result by at most that much. BGV: any difference in a decoded slot
// (decryption is exact); a shift the noise absorbs changes nothing.
//
// Exactly t online: there is one subset and a wrong key-switching share is
// not detectable; a single deviant can force that case (by withholding its
// hello from some members, so that they leave it out). So when the
// committee has n > t members the recipient rejects a result key-switched
// by one subset (ErrSingleSubset): with n > t, "any t members online" no
// longer yields a result, the job aborts (nobody named) and can be retried
// with more members online. Only a committee with n = t accepts its single
// subset, undetected.
//
// Identification: the recipient names a member only if it deviated in every
// explanation of the observed disagreements by fewer than t deviants (a set
// C explains them when the subsets disjoint from C agree); the true
// deviators always explain them, so a named member did deviate whenever
// fewer than t members are corrupt. With k = t+1 online (each member left
// out of one subset) any single member explains any outcome and nobody is
// named; with t = 2, k ≥ 4 online and every 2-subset key-switching
// (RunConfig.Subsets) a member that shifts all its subsets is named.
//
// Setup: every member aggregates every public share itself and the members
// compare a digest of the resulting keys. That catches a member sending
// different public shares to different peers (the members derive different
// keys; the error names a member whose digest differs from ours, which is
// not necessarily the deviant). It does not catch a consistent wrong share:
// a public-key share that does not match the secret its owner dealt in
// Shamir shares makes every decryption garbage (all subsets agree on it, so
// the job-time comparison does not see it) and, chosen after seeing the
// others' shares, could give a public key whose secret only the deviant
// knows; wrong relinearisation or Galois shares make products and rotations
// garbage for everyone alike. The known-answer test at the end of setup
// catches these (ErrKeyTest) before any input is encrypted under the keys
// (wrong shares; the share check names a member whose public-key,
// relinearisation or Galois share is wrong or has an inflated error, see the
// start of this section, so only a wrong Shamir dealing is left to it),
// provided more than t members take part in it: each member checks only
// key switches it aggregated itself (a forged or adopted announcement fails
// the test), the test refuses a single subset when N > t, and the subset
// that leaves the deviant out decrypts wrong. With N = t a deviant that also
// corrects its test key switch is not caught. The test does not name the
// deviant. A dealing that is not a degree t−1 polynomial makes subsets
// reconstruct different secrets: caught by the known-answer test and by the
// job-time comparison.
//
// Key-test leakage: the test ciphertext's randomness is public, so the
// members' test decryptions reveal the outputs' key-dependent noise up to
// the key switch's own noise. Measured (TestKeyTestNoiseBound, max per
// coefficient, N = 2^12 / 2^14): fresh encryption 2^11 / 2^12, Galois
// images 2^12 / 2^13, relinearised square 2^77 / 2^80 (BGV's tensoring
// leaves T·e1·e2 with the 50-bit plaintext modulus T; the earlier estimate
// of 2^27 missed it). The earlier smudging, σ = 2^40 (all that lattigo's
// float sampler allows below the 45-bit moduli), thus hid the square's noise
// not at all. The test now floods instead (keyTestFloodBits, flood): every
// member adds to each test key-switching share uniform noise over [−B, B)
// per coefficient, one crypto/rand integer reduced modulo every RNS
// modulus, B = 2^(92+40+logN+10) (2^156 at N = 2^14; 92 bits bound the
// noise's part that depends on the honest members' secrets, with 4 bits to
// spare, also when up to ⌊(n−1)/2⌋ members of a checked setup use the
// largest errors the share check allows: derived at keyTestNoiseBits, 2^87.3;
// measured 2^84 with 4 of 9 deviants at N = 2^14; it was 84 when only honest
// noise, 2^80, was assumed). Each subset holds an honest member
// whose flood the others do not know, which hides a shift of at most 2^92
// at statistical distance ≤ 2^92/(2B) per coefficient; over the N
// coefficients, 3 outputs and at most maxSubsets subsets (< 2^10 outputs),
// the members' view is within statistical distance 2^-41 of one that does
// not depend on the noise, provided the setup shares carry the protocol's
// noise (an inflated public-key, relinearisation or Galois share would grow
// the square's noise past the bound; the share check, which runs before the
// key test, rules them out in a checked setup, t = ⌈n/2⌉; with t > ⌈n/2⌉
// nothing does, and no HE job runs: see the start of this section). The test runs at the top level, where BGV still
// decodes exactly (T·t·B ≤ 2^(50+8+156) ≪ Q/2 = 2^328), so every check
// decides as before: same detection power (the setup tests are unchanged).
// The recipient takes no part in setup.
//
//	job type      scheme  who may deviate           detected (nothing accepted)                     not detected                        identified
//	credit-score  CKKS    any committee member      one member's wrong key-switch share when        n = t and t online; a shift below   only when every explanation by
//	                      (privacy: < t colluding;  k > t online (key switches differ by > τ per    τ = CKKSTolerance per slot; several < t deviants contains the member
//	                      malicious only if         slot); several deviants only if some subset     deviants that every subset contains (never with k = t+1, e.g. 4 of 4,
//	                      t = ⌈n/2⌉, see the        avoids them; Shamir dealing off the proven      (e.g. 2 of n = 4, t = 3)            t = 3); setup: a member whose
//	                      share check)              secret (key test, unnamed); a public-key,                                           public-key, relinearisation or
//	                                                relinearisation or Galois share not well                                            Galois share fails the share
//	                                                formed or with inflated noise (share check,                                         check
//	                                                t = ⌈n/2⌉; ≤ ⌊(n−1)/2⌋ malicious members;
//	                                                HE jobs on t > ⌈n/2⌉ are refused: ledger,
//	                                                node/jobrun)
//	                                                n > t with t online: rejected (ErrSingleSubset)
//	aggregate     BGV     any committee member      as above (any decoded difference)               as above (no τ: exact)              as above
//	                      (privacy: < t colluding;
//	                      as above)
//	both, after   —       as above                  as above, per epoch: each epoch's family is     as above                            as above
//	a re-form                                       judged alone; a single subset is still rejected;
//	(node/jobrun)                                   a member left out cannot be in a subset; the
//	                                                key switches an epoch delivered are compared
//	                                                before it is re-formed (a deviant that shifts,
//	                                                then falls silent, is caught)
//
// Liveness (node/jobrun): a member dropping before its shares reached
// everyone: retried without it within the epoch; after (it joined the
// family): re-formed without it, at most n−t−1 times; either way the job
// finishes while more than t members remain (exactly t: ErrSingleSubset).
//
// In node/jobrun the recipient runs the comparison before the committee
// signs; a rejected result is never signed and the members abort the job.
//
// Recipient veto: the recipient receives the key switches, and so the
// result, before the committee signs. A malicious recipient can therefore
// read the result and then reject it at no cost: the members cannot check
// its claim (they cannot decrypt), so they abort naming no fault party; the
// abort reason says "rejected by recipient <name>; unverifiable", as text
// only, with no credit penalty. A second job on the very same ciphertexts
// would yield more key switches of the same evaluated ciphertext with fresh
// smudging, which the recipient could average (after r runs the circuit
// noise is hidden only by the smudging of r·s key switches, σ·√((t−c)/(r·s)),
// see Privacy). The ledger refuses this: an HE input commitment (the hash of
// a provider's ciphertexts) fills one job only, and honest providers encrypt
// afresh for every job, so a resubmitted job evaluates fresh ciphertexts
// with fresh noise. Within one job, re-forms after a member drops out give
// the recipient more key switches of the same ciphertexts; the members
// bound them (at most n−t−1, see Privacy for the resulting s).
package he
