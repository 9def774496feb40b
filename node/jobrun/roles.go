package jobrun

import (
	"context"
	"sync"
)

// Roles are the parts one party plays in one job attempt, over one Session:
// the in-process Cluster and the node's scheduler (node/sched) both run a
// party's roles with PlayRoles.
type Roles struct {
	// Inputs are the prepared inputs of the provider slots the party sends.
	Inputs   []*PreparedInput
	Provider ProviderOptions
	// Member, if set, plays the committee role.
	Member *MemberRole
	// Recipient, if set, receives the result.
	Recipient *RecipientJob
	// OnOutcome, if set, is called as soon as the committee role returns,
	// before the other roles end: the node posts the result record or the
	// abort from there.
	OnOutcome func(*Outcome, error)
	// OnProvided, if set, is called as soon as the provider role of input i
	// returns, before the other roles end: the node saves a bidder's
	// allocation from there, so that the bidder can read it while its
	// committee role is still posting the result.
	OnProvided func(i int, res *ProviderResult, err error)
	// Outputs, if set, bounds the provider and recipient roles, which wait
	// for the committee's outputs (the in-process cluster ends them a grace
	// period after every member returned); nil means ctx.
	Outputs context.Context
}

// MemberRole is a committee member's part: its keys and the job as the
// ledger describes it.
type MemberRole struct {
	Keys *CommitteeKeys
	Job  CommitteeJob
}

// RolesResult is what each role of PlayRoles returned.
type RolesResult struct {
	Outcome   *Outcome
	MemberErr error
	Result    *Result
	// RecipientErr is the recipient role's error.
	RecipientErr error
	// Provided and ProviderErrs are per Roles.Inputs.
	Provided     []*ProviderResult
	ProviderErrs []error
}

// PlayRoles runs every role of r concurrently on sess and returns when all
// have returned.
func PlayRoles(ctx context.Context, sess *Session, r Roles) *RolesResult {
	out := &RolesResult{Provided: make([]*ProviderResult, len(r.Inputs)), ProviderErrs: make([]error, len(r.Inputs))}
	octx := r.Outputs
	if octx == nil {
		octx = ctx
	}
	var wg sync.WaitGroup
	if r.Member != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Outcome, out.MemberErr = RunCommittee(ctx, sess, r.Member.Keys, r.Member.Job)
			if r.OnOutcome != nil {
				r.OnOutcome(out.Outcome, out.MemberErr)
			}
		}()
	}
	for i, in := range r.Inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Provided[i], out.ProviderErrs[i] = Provide(octx, sess, in, r.Provider)
			if r.OnProvided != nil {
				r.OnProvided(i, out.Provided[i], out.ProviderErrs[i])
			}
		}()
	}
	if r.Recipient != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Result, out.RecipientErr = ReceiveResult(octx, sess, *r.Recipient)
		}()
	}
	wg.Wait()
	return out
}
