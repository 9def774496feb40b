// Package blob owns a node's off-chain store of large objects (sealed
// supervision records, HE public keys and ciphertexts) and the libp2p
// protocol /cohort/blob/1 that members use to fetch them from each other.
// Objects are content-addressed by SHA-256: the hash on the ledger is the
// address, and a fetched object is accepted only if it hashes to it.
package blob
