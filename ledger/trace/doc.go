// Package trace lets a supervisor check an off-chain record against its
// anchor on the ledger without trusting the node that serves it: a CometBFT
// light client verifies the block header from a trusted height (cross-checked
// with witnesses), the block's txs must hash to the header's data hash and
// contain the anchoring tx, the next header's results hash shows the tx
// succeeded, and the record's bytes must hash to the anchored value.
//
// Blocks, not per-tx Merkle proofs, are fetched: a proof costs the serving
// node a pass over the whole block per request, while a block is fetched and
// checked once per height and then serves every trace at that height. The
// first request for a height prefetches the next one, and block results are
// read with a lean decoder of the fields LastResultsHash covers (the RPC
// client's reflective decoder of every event cost more than the rest of a
// height's load).
package trace
