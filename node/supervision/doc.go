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
//
// The wrap uses the member's sealing key, the same key pair as sealed job
// inputs (internal/sealbox). A wrap's secret is S = x·R for its ephemeral
// R, and a member's node publishes such an S when it proves that a sealed
// share does not open (sealbox.ProveOpening). It never does so for a wrap's
// R: it proves only ciphertexts whose sender proved knowledge of r, bound
// to a sealed-share AAD and the member's key, and a wrap's R comes with no
// such proof; nobody but the record's sealer (who knows the wrapped key
// anyway) can make one (TestRecordWrapNotProvable).
package supervision
