// Package p2p owns a cohort node's libp2p host: its persisted ed25519
// identity, its transports (TCP, and QUIC as a fallback) and security
// handshakes (TLS 1.3 preferred, Noise), the connection gater that admits only
// members registered on the ledger, and the address book of known member
// peers with reconnecting dials.
//
// A node builds it with New(ctx, Config{Home, ListenAddrs, Members}), adds
// configured peers with AddPeer, runs KeepConnected in a goroutine it owns,
// and calls EnforceMembership when the ledger's member set changes. The
// gater consults Config.Members on every dial and handshake, so membership
// changes apply to new connections at once.
//
// It does not define application protocols: the MPC protocol /cohort/mpc/1
// lives in mpc/transport and is attached to the host returned by
// (*Host).Libp2p. Membership is supplied by the caller through MemberSet, so
// this package never imports the ledger.
package p2p
