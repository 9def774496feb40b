// Package sealbox encrypts a short message to one member's sealing key (the
// edwards25519 key every member registers at genesis, node/supervision's
// KeyPair), bound to associated data the caller names.
//
// Construction (one ciphertext per recipient, no state between them):
//
//	r ← random scalar, R = r·G                    (ephemeral key, 32 bytes)
//	S = r·P                                       (P: recipient's sealing key)
//	k = HKDF-SHA256(ikm = S, info = tag ‖ R ‖ P)   (32 bytes)
//	b = AES-256-GCM_k(nonce = 0¹², msg, aad)
//	π = Schnorr PoK of r: a ← random, A = a·G,
//	    e = H(pokTag ‖ aad ‖ G ‖ P ‖ R ‖ A ‖ b) mod l, z = a + e·r   (e ‖ z, 64 bytes)
//	c = R ‖ π ‖ b
//
// The sender's proof of knowledge of r (Schnorr-signed ElGamal, TDH0 in
// Shoup–Gennaro's terms; non-malleable in the random-oracle plus algebraic
// group model: Schnorr–Jakobsson 2000, Fuchsbauer–Kiltz–Loss 2018) makes
// the ciphertext publicly checkable (Check: the ledger refuses a
// sealed share without a valid one at job input) and is what lets the
// recipient publish S for it (opening.go): only a ciphertext whose sender
// already knew S is ever proven. Open and ProveOpening refuse one without
// it.
// The key k is fresh for every message (a fresh r), so the fixed nonce is
// never reused under one key. The recipient computes S = x·R. R and P are in
// the KDF's info so that a ciphertext cannot be re-targeted to a related
// key; the AAD binds the message to its context (the sealed job inputs bind
// chain, job, input slot and committee member), so a ciphertext moved to
// another context does not open. An R of small order (S the identity) is
// refused on both sides.
//
// Recipient keys are long-term (each member's sealing key, registered at
// genesis, never rotated) and a sealed message carries no erasable state:
// there is NO forward secrecy. Whatever was sealed to a key opens for
// whoever ever holds that key's file, for as long as the ciphertext exists —
// and sealed job inputs are in the chain's block history forever. For
// Shamir shares sealed to a committee, t_ss+1 = ⌊(n−1)/2⌋+1 leaked member
// key files (2 of a committee of 4) reveal every input ever sealed to it.
// Recipient keys outside the prime-order subgroup are refused
// (CheckPublicKey): what is sealed to a small-order key opens for anyone.
//
// Proven openings (opening.go): the recipient can publish S = x·R for one
// publicly valid message with a Chaum–Pedersen proof that S and its key
// share x, bound to the message and its AAD (ProveOpening); anyone then
// checks the proof and sees whether, and to what, the message opens
// (VerifyOpening, deterministic). A member's claim that the share sealed to
// it does not open is thereby proven or refuted, on the committee and on
// the ledger. S opens every ciphertext to the member with that R, which
// only the holder of r can make: it discloses nothing the sender did not
// know (opening.go says why, and why the PoK is needed).
//
// Its user is the sealed job input: a member without a node posts its Shamir
// shares on the ledger, each sealed to one committee member
// (jobrun.PreparedInput.SealShares, ledger JobInput.sealed_shares).
package sealbox
