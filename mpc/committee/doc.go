// Package committee owns a committee's threshold attestation key: the
// distributed key generation (kyber share/dkg/rabin over the BN256 G2 group)
// that a committee runs once, and the threshold BLS signatures (kyber
// sign/tbls) with which t of its n members sign every job's result record.
//
// The pieces, in the order a committee uses them:
//
//   - LongTermKey: each member's long-term DKG key (a G2 key pair). Its public
//     half is registered on the ledger per member; the DKG encrypts each
//     member's deal to it and authenticates every DKG message with it.
//   - RunDKG: the Rabin/Gennaro et al. DKG over an mpc/transport Conn. Any
//     deviation (a silent member, an invalid deal, a false complaint,
//     inconsistent commitments, a member that sees a different result) aborts
//     with an error that names the member at fault; the committee then re-runs
//     without it. On success every member holds a Share and the same
//     CommitteeKey. RunDKG is only the network driver: the protocol itself is
//     DKGProtocol, one step per round (GenDeals, ProcessDeals, …, Finish) that
//     takes the previous round's messages and returns this member's next
//     message or the blame, so each round's blame is tested without a network.
//   - CommitteeKey: the canonical public record the ledger stores: threshold t,
//     size n, a digest of the members' ordered long-term keys, and the public
//     polynomial commitments (commits[0] is the group public key). Its ID is a
//     hash of its canonical encoding.
//   - SignPartial / VerifyPartial / Combine / VerifySignature, and SignRound,
//     which runs one signing round over a Conn and finishes as soon as t valid
//     partial signatures are in hand.
//   - ResultMessage: the canonical, domain-separated bytes that a job's result
//     signature covers (job ID, input commitments, output commitment).
//
// Every decoder of untrusted bytes (keys, shares, partial signatures,
// signatures, DKG messages) checks exact lengths before it allocates, rejects
// non-canonical encodings and points outside the prime-order group, and turns a
// panic inside the curve library into an error.
//
// Security note: kyber v3.1.0's only pairing group is the 256-bit
// Barreto–Naehrig curve of Naehrig, Niederhagen and Schwabe ("bn256"); after
// the 2016 exTNFS improvements its estimated security is about 100 bits, not
// 128. A move to BLS12-381 would change the encodings but not this API.
package committee
