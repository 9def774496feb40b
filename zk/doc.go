// Package zk owns cohort's zero-knowledge layer: Poseidon2 commitments
// (identical natively, in circuits and in the MPC engine), the Groth16/BN254
// circuits (compliance, input validity, task completion), their keys (dev
// setup and the multi-party setup ceremony), proving, and safe verification
// of untrusted proofs through a registry of verifying keys by vk ID.
//
// File formats (prover inputs, statements, proof files, key directories and
// ceremony directories), the public-input layout of each circuit and the
// soundness arguments are documented in README.md in this directory.
package zk
