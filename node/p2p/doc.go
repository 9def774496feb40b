// Package p2p owns a cohort node's libp2p host: its persisted ed25519
// identity, its transports (TCP and QUIC) and security handshakes (Noise and
// TLS), the connection gater that admits only members registered on the
// ledger, and the address book of known member peers with reconnecting dials.
//
// It does not define application protocols: the MPC protocol /cohort/mpc/1
// lives in mpc/transport and is attached to the host returned by
// (*Host).Libp2p. Membership is supplied by the caller through MemberSet, so
// this package never imports the ledger.
package p2p
