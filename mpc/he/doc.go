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
//     reused by later jobs.
//   - Inputs: data providers encrypt under the collective public key; a
//     ciphertext travels in a canonical, length-bounded encoding (Codec) and is
//     addressed by the SHA-256 of that encoding.
//   - Output: every online member re-runs the deterministic job circuit and
//     the members compare ciphertext hashes. With exactly t members online,
//     they turn their threshold shares into additive shares of that subset
//     (mhe.Combiner) and key-switch the result to the recipient's public key
//     with smudging noise (mhe.PublicKeySwitch). With k > t online, a family
//     of t-subsets key-switches it (KeySwitchFamily: the fewest subsets,
//     ⌈k/(k−t)⌉, that leave every online member out of at least one), each
//     with its own Lagrange coefficients and fresh smudging; the recipient
//     decrypts every key switch and compares them
//     (Recipient.DecryptFloatsChecked, DecryptIntsChecked). A member that
//     drops makes the run retry without it.
//   - Setup ends with a known-answer test (keyTest): a public test
//     ciphertext under the collective key, its relinearised square and its
//     Galois images are key-switched to the zero key by the covering family
//     and checked by every member.
//
// One committee key set serves both CKKS (hefloat, credit scoring) and BGV
// (heint, exact aggregates): a Preset builds both schemes over the same ring
// (same N, Q, P and error distributions), so the secret, public and
// evaluation keys are shared.
//
// # Security model
//
// Privacy: fewer than t colluding members learn nothing about the collective
// secret key or the inputs; the recipient learns the job output and nothing
// else the committee holds. mpc/transport must provide authenticated and
// confidential channels, since Setup sends each member its Shamir shares of
// the others' secrets. With s subsets key-switching, the recipient sees s
// decryptions of the same ciphertext with independent smudging: their mean
// hides the circuit's noise (which depends on the secret key) as smudging
// σ/√s would, i.e. ½·log2 s bits less statistical margin than one key switch
// (σ = 2^30 against circuit noise far below it, see SmudgingSigma).
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
// deviant: with the default family, against any single deviating member
// (and any set of deviants that one subset avoids). CKKS: two key switches
// disagree when some slot differs by more than CKKSTolerance, the bound on
// the smudging difference at failure probability 2^-64 (≈ 8.5e-6 for the
// test preset, 1.7e-5 for the secure preset, t = 3, scale 2^57); a shift
// below it is not detected and moves the result by at most that much. BGV:
// any difference in a decoded slot (decryption is exact); a shift the noise
// absorbs changes nothing. With exactly t members online there is one subset
// and a wrong key-switching share is NOT detected: the recipient decrypts a
// wrong result.
//
// Identification: the recipient names a member only if it deviated in every
// explanation of the observed disagreements by fewer than t deviants (a set
// C explains them when the subsets disjoint from C agree); the true
// deviators always explain them, so a named member did deviate whenever
// fewer than t members are corrupt. With k = t+1 online (each member left
// out of one subset) any single member explains any outcome and nobody is
// named; with t = 2 and every 2-subset key-switching (RunConfig.Subsets) a
// member that shifts all its subsets is named.
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
// catches all of these (ErrKeyTest) before any input is encrypted under the
// keys, when N > t (with N = t a deviant that also corrects its test key
// switch is not caught). It does not name the deviant. Its test
// ciphertext's randomness is public, so the members' test decryptions reveal
// key-dependent noise masked only by the test's smudging, σ = 2^40
// (keyTestSmudging: statistical distance ~2^-26 for a fresh encryption's
// noise at N = 2^14, against ~2^-16 for a job result at σ = 2^30). A dealing that is
// not a degree t−1 polynomial makes subsets reconstruct different secrets:
// caught by the known-answer test and by the job-time comparison.
//
//	job type      scheme  who may deviate          detected (nothing accepted)                   not detected                       identified
//	credit-score  CKKS    any committee member     wrong key-switch share when k > t members     k = t online; a shift below        only when every explanation by
//	                      (privacy: < t colluding)  online (key switches differ by > τ per slot); CKKSTolerance τ per slot          < t deviants contains the member
//	                                               wrong setup share (known-answer test)                                            (never with k = t+1, e.g. 4 of 4, t = 3)
//	aggregate     BGV     any committee member     wrong key-switch share when k > t online      k = t online                       as above
//	                      (privacy: < t colluding)  (any decoded difference); wrong setup share
//
// In node/jobrun the recipient runs the comparison before the committee
// signs; a rejected result is never signed and the members abort the job.
package he
