// Package sealedinput is what the committee (node/jobrun) and the ledger
// must agree on about a sealed SS job input (a provider without a node
// posts its Shamir shares on the ledger, each sealed to one committee
// member with internal/sealbox): the associated data that binds a sealed
// share to its chain, job, slot and member, the share message inside it,
// and the provider's Pedersen commitments to its sharing.
//
// Both sides judge a member's claim that its share is bad with these
// functions: the member when it opens its share, every other member when it
// checks the member's proven opening (agreeInputs), and the ledger when a
// job.abort carries that proof. One implementation (Judge: the share opens
// to a well-formed message whose share is on the provider's commitments),
// so that a claim the committee finds proven is proven on the ledger too,
// and a share the member decodes is one the ledger decodes.
//
// # Commitments to the sharing (pedersen.go)
//
// A provider shares W = fields+1 elements (the input's fields, then the
// salt of its Poseidon2 commitment), each on its own polynomial
// f_m(X) = Σ_k a_{m,k} X^k of degree t = ⌊(n−1)/2⌋ (the SS engine's, mpc/ss
// Params; member j holds f_m(j+1)). It draws a blinding polynomial
// g_m(X) = Σ_k b_{m,k} X^k of the same degree per element and posts, in
// JobInput.share_commitments,
//
//	C_{m,k} = a_{m,k}·G + b_{m,k}·H     (m = 0..W−1, k = 0..t; 32-byte compressed BN254 G1 points, element-major)
//
// Member j's share message carries f_m(j+1) and g_m(j+1) for every m. G is
// G1's standard generator; H = HashToG1("H", "cohort/sealedinput/pedersen/v1/H")
// (RFC 9380 hash to curve, gnark-crypto's map for BN254 G1): a
// nothing-up-my-sleeve point whose discrete logarithm to G nobody knows.
// The group order is the SS field's modulus (fr), so shares are scalars as
// they are.
//
// Hiding: perfect, as far as the provider's randomness is uniform. Deal
// reads every blinding coefficient b_{m,k} directly from the randomness
// source (crypto/rand unless the caller passes another; rejection sampling,
// no PRG in between, so hiding rests on no PRG assumption). Each C_{m,k} is
// then uniformly distributed whatever a_{m,k} is, and with up to t members' (f(j), g(j)) pairs as
// well, the secret f_m(0) is still information-theoretically hidden
// (Pedersen, CRYPTO '91: the commitments fix h = f + λ·g, λ = log_G H, and
// each pair adds one equation on f and one redundant with h, leaving one
// degree of freedom). Binding: computational, under the discrete logarithm
// in G1: opening a C_k to two different (a, b) reveals λ. A share that
// verifies is therefore on the one committed polynomial of degree ≤ t.
//
// Verification (Commitments.Verify) checks Σ_k x^k·C_{m,k} = f_m(x)·G +
// g_m(x)·H for all m at once, weighted by powers of a Fiat–Shamir challenge
// ρ over the commitments, x and the share: one multi-scalar multiplication
// of W(t+1)+2 points. A share off the commitments in any element passes
// with probability below W/r per hash evaluation. Deterministic (the
// ledger runs it in FinalizeBlock).
//
// Sizes: a member's share message has exactly MessageLen(fields) bytes and
// its sealed share SealedLen(fields) (151 and 263 for a scalar input); the
// ledger refuses a sealed share of any other size, and an input whose
// SealedLen exceeds its bound (ledger.MaxSealedShareBytes), before it
// parses a commitment.
//
// Format versions: the share message is node/jobrun's frame with two
// chunks (the input share, the blinding shares); the AAD's tag is v2. A
// share sealed under the previous format (one chunk, AAD v1) is publicly
// invalid under v2 (sealbox's sender proof binds the AAD): the ledger
// refuses it at input and it convicts nobody. All validators and nodes
// upgrade together.
package sealedinput
