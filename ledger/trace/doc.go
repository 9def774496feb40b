// Package trace lets a supervisor check an off-chain record against its
// anchor on the ledger without trusting the node that serves it: a CometBFT
// light client verifies the block header from a trusted height (cross-checked
// with witnesses), a Merkle proof shows the anchoring tx is in that block, the
// next header's results hash shows the tx succeeded, and the record's bytes
// must hash to the anchored value.
package trace
