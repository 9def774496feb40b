// Package supervision seals and opens supervision records.
//
// A record has public supervision info (in clear: it also goes on the ledger)
// and private supervision info, which is encrypted once with a fresh
// AES-256-GCM key; that key is wrapped for each member of the record's
// channel with kyber's ECIES on edwards25519. Only channel members can open
// the private part; anyone can hash the sealed bytes and compare with the
// anchor on the ledger. The private part carries the opening (fields and
// salt) of the Poseidon2 commitment that the record's compliance proof is
// about, so a supervisor who opens it can check that the proof speaks of
// exactly these values.
package supervision
