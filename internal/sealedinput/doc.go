// Package sealedinput is what the committee (node/jobrun) and the ledger
// must agree on about a sealed SS job input (a provider without a node
// posts its Shamir shares on the ledger, each sealed to one committee
// member with internal/sealbox): the associated data that binds a sealed
// share to its chain, job, slot and member, and the well-formedness of the
// share message inside it.
//
// Both sides judge a member's claim that its share is bad with these
// functions: the member when it opens its share, every other member when it
// checks the member's proven opening (agreeInputs), and the ledger when a
// job.abort carries that proof. One implementation, so that a claim the
// committee finds proven is proven on the ledger too, and a share the
// member decodes is one the ledger decodes.
package sealedinput
