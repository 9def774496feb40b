// Package transport owns party-to-party messaging for the MPC engines.
//
// A Network opens a Conn per job; a Conn delivers authenticated, length-bounded
// messages between the committee's parties, addressed by (round, party). Both
// the secret-sharing engine (mpc/ss) and the homomorphic engine (mpc/he) speak
// only this interface, so they run unchanged over the in-memory implementation
// (tests) and the libp2p implementation (/cohort/mpc/1).
//
// A Conn may also implement Buffers (the P2PNetwork's do): an engine then
// allocates the payloads it streams from the network's pool, hands them over
// with SendOwned, and gives received payloads back with Release once decoded,
// so that megabyte-sized rounds reuse memory instead of allocating, zeroing and
// faulting in fresh buffers per message.
//
// Every blocking call takes a context; a party that does not answer before the
// context's deadline yields a *PartyError naming it.
//
// The P2PNetwork's own timers (redial backoff, dial timeout, expiry of
// messages for unopened jobs) run on an injectable Clock, the real one by
// default, so that tests fire them at will (mpc/mpctest/fakeclock).
package transport
