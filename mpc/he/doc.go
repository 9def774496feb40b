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
//   - Output: any t online members re-run the deterministic job circuit,
//     compare ciphertext hashes, turn their threshold shares into additive
//     shares of the chosen subset (mhe.Combiner) and key-switch the result to
//     the recipient's public key with smudging noise (mhe.PublicKeySwitch). A
//     member that drops makes the run retry with another t-subset.
//
// One committee key set serves both CKKS (hefloat, credit scoring) and BGV
// (heint, exact aggregates): a Preset builds both schemes over the same ring
// (same N, Q, P and error distributions), so the secret, public and
// evaluation keys are shared.
//
// Security model: semi-honest members (lattigo's mhe protocols carry no
// proofs of correct share generation); mpc/transport must provide
// authenticated and confidential channels, since Setup sends each member its
// Shamir shares of the others' secrets. Fewer than t colluding members learn
// nothing about the collective secret key; the recipient learns the job
// output and nothing else the committee holds.
package he
