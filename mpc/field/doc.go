// Package field owns vectors over the BN254 scalar field (gnark-crypto
// ecc/bn254/fr), the field shared by the secret-sharing engine and the zk
// circuits: batch helpers, a length-bounded wire codec for vectors, and a
// deterministic AES-CTR pseudo-random generator that samples field elements
// (used for injectable per-party randomness and pairwise-PRG shares).
package field
