// Package sealbox encrypts a short message to one member's sealing key (the
// edwards25519 key every member registers at genesis, node/supervision's
// KeyPair), bound to associated data the caller names.
//
// Construction (one ciphertext per recipient, no state between them):
//
//	r ← random scalar, R = r·G                    (ephemeral key, 32 bytes)
//	S = r·P                                       (P: recipient's sealing key)
//	k = HKDF-SHA256(ikm = S, info = tag ‖ R ‖ P)   (32 bytes)
//	c = R ‖ AES-256-GCM_k(nonce = 0¹², msg, aad)
//
// The key k is fresh for every message (a fresh r), so the fixed nonce is
// never reused under one key. The recipient computes S = x·R. R and P are in
// the KDF's info so that a ciphertext cannot be re-targeted to a related
// key; the AAD binds the message to its context (the sealed job inputs bind
// chain, job, input slot and committee member), so a ciphertext moved to
// another context does not open. An R of small order (S the identity) is
// refused on both sides.
//
// Its user is the sealed job input: a member without a node posts its Shamir
// shares on the ledger, each sealed to one committee member
// (node/jobrun.SealInput, ledger JobInput.sealed_shares).
package sealbox
