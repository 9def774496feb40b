package adversary

import (
	"context"

	"github.com/cohortnet/cohort/mpc/he"
)

// EnvVar is the environment variable a node built with the cohort_adversary
// tag reads at start.
const EnvVar = "COHORT_ADVERSARY"

// Adversary is the deviation of a corrupted committee member. A nil
// *Adversary is an honest member.
type Adversary struct {
	name string
	// ss attaches the SS deviation to a job's context (nil: honest).
	ss func(context.Context) context.Context
	// he wraps the member's HE keys (nil: honest).
	he func(*he.Member) *he.Member
}

// String names the deviations, as EnvVar spelled them.
func (a *Adversary) String() string {
	if a == nil {
		return "honest"
	}
	return a.name
}

// Context returns the context an SS committee role must run under: ctx
// itself for an honest member.
func (a *Adversary) Context(ctx context.Context) context.Context {
	if a == nil || a.ss == nil {
		return ctx
	}
	return a.ss(ctx)
}

// HE returns the HE keys the member must compute with: m itself for an
// honest member.
func (a *Adversary) HE(m *he.Member) *he.Member {
	if a == nil || a.he == nil || m == nil {
		return m
	}
	return a.he(m)
}
