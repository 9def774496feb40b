package zk

import "errors"

// Errors a verifier distinguishes. Every error returned by verification
// wraps exactly one of them.
var (
	// ErrMalformed: the input cannot be a proof for the key: wrong length,
	// non-canonical or off-curve encoding, bad JSON, out-of-bounds statement.
	ErrMalformed = errors.New("malformed")
	// ErrUnknownKey: no verifying key is registered under the ID.
	ErrUnknownKey = errors.New("unknown verifying key")
	// ErrInvalidProof: a well-formed proof that does not verify.
	ErrInvalidProof = errors.New("invalid proof")
)
