// Package ss owns cohort's secret-sharing MPC engine: Shamir sharing over the
// BN254 scalar field with threshold t = ⌊(n−1)/2⌋ < n/2 (semi-honest
// adversary, honest majority), 3 ≤ n ≤ 9.
//
// A Party is one committee member's engine for one job. It speaks only the
// mpc/transport interface and offers batched, vectorised operations on share
// vectors (fr.Vector, one share per secret); linear operations are plain
// fr.Vector arithmetic on shares (constants: every share plus the constant).
//
//   - Input / inputs: a party shares its values (one round); Share and
//     Reconstruct are the provider- and recipient-side functions for parties
//     outside the committee.
//   - Open, OpenTo: reveal to all (each party sends its share to t others and
//     reconstructs from t+1) or to one party.
//   - Mul, Dot: one-round degree reduction (GRR re-sharing). Each party
//     re-shares λ_i·(x_i y_i) with a degree-t polynomial whose values at t
//     fixed parties are drawn from pairwise AES-CTR streams keyed at setup, so
//     it sends only n−1−t vectors per round (one for n = 3). Dot products are
//     summed locally and reduced once. Random: the same with random
//     contributions.
//   - PrepareComparisons, LessThan, Equal: unsigned 64-bit comparison and
//     equality by masked opening (Catrina–de Hoogh) with 40-bit statistical
//     security, then a log-depth bitwise comparison; the random bits (XOR of
//     t+1 parties' bits) and the products of adjacent bit pairs are prepared
//     in batches ahead of the online phase.
//   - TruncPr, FixMul: probabilistic truncation and fixed-point products.
//   - Poseidon2, Commit: gnark-crypto's bn254 Poseidon2 permutation (width 2,
//     6 full + 50 partial rounds, x^5) and the project's commitment on
//     shares, bit for bit equal to NativeCommit: Poseidon2-MD(f1..fk, salt)
//     for up to 8 fields (gnark's std/hash/poseidon2 in-circuit, zk.Commit),
//     Poseidon2-MD(root, salt) over a binary tree of compressions for longer
//     inputs (clearing curves), whose ⌈log2 k⌉ levels batch in the MPC.
//
// Engineering: work is split in chunks processed by all cores, each chunk
// drawing its pairwise-PRG values from its own (round, chunk) stream; large
// rounds travel in pieces so that computing, sending and receiving overlap.
// Lane gives a job concurrent sub-protocols on one connection. A party that
// fails tells its peers whom it blames, so that when failures cascade every
// party's error still names the party at fault (*transport.PartyError).
//
// Testing hooks: every value a party learns is reported to Config.OnOpen with
// a label ("mask:…" for values hidden by fresh randomness), and all of a
// party's randomness comes from Config.Rand.
package ss
