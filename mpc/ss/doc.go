// Package ss owns cohort's secret-sharing MPC engine: Shamir sharing over the
// BN254 scalar field with threshold t < n/2 (semi-honest, honest majority),
// 3 ≤ n ≤ 9.
//
// A Party is one committee member's engine for one job. It speaks only the
// mpc/transport interface and offers batched, vectorised operations on share
// vectors (fr.Vector, one share per secret):
//
//   - input sharing (Input, and the provider-side Share / Reconstruct for data
//     providers outside the committee), opening to all or to one party;
//   - local linear operations (plain fr.Vector arithmetic on shares);
//   - multiplication by one-round degree reduction (GRR re-sharing) in which t
//     of each party's sub-shares come from pairwise PRGs, so a party sends
//     n−1−t messages per batch; dot products are reduced once;
//   - random bits (XOR of t+1 parties' bits) prepared in batches;
//   - less-than and equality of 64-bit values (Catrina–de Hoogh masked opening
//     with 40-bit statistical security and a log-depth bitwise comparison),
//     probabilistic truncation and fixed-point multiplication;
//   - the Poseidon2 permutation of gnark-crypto's bn254 (width 2, 6 full and
//     50 partial rounds) and the project's Poseidon2 commitment on shares.
//
// Every value a party learns is reported to Config.OnOpen with a label, so
// tests can list exactly what the engine reveals. All randomness of a party
// comes from Config.Rand, so tests can replay a party's coins.
package ss
