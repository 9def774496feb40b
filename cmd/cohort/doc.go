// Command cohort is the single binary of the cohort network: it initialises
// node homes and testnets, runs a node, submits transactions and jobs through a
// node's local API, and lets supervisors verify proofs and trace records.
package main
