package policies

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNotPermitted is wrapped by every access-check refusal, so callers can
// tell a policy refusal from a malformed request.
var ErrNotPermitted = errors.New("not permitted by policy")

// Member returns a member by name.
func (p *Policy) Member(name string) (Member, bool) {
	i, ok := p.members[name]
	if !ok {
		return Member{}, false
	}
	return p.Members[i], true
}

// Supervisors returns the names of the supervisor members, sorted.
func (p *Policy) Supervisors() []string {
	var out []string
	for _, m := range p.Members {
		if m.Role == RoleSupervisor {
			out = append(out, m.Name)
		}
	}
	return out
}

// RuleSet returns a rule set by name.
func (p *Policy) RuleSet(name string) (*RuleSet, bool) {
	i, ok := p.ruleSets[name]
	if !ok {
		return nil, false
	}
	return &p.RuleSets[i], true
}

// Channel returns a channel by name.
func (p *Policy) Channel(name string) (*Channel, bool) {
	i, ok := p.channels[name]
	if !ok {
		return nil, false
	}
	return &p.Channels[i], true
}

// Job returns the rule for a job type; a job type the policy does not list
// may not be submitted by anyone.
func (p *Policy) Job(jobType string) (JobRule, bool) {
	i, ok := p.jobs[jobType]
	if !ok {
		return JobRule{}, false
	}
	return p.Jobs[i], true
}

// GradeOf returns the grade of a credit rating in [0, MaxRating].
func (p *Policy) GradeOf(rating uint32) (string, error) {
	if rating > MaxRating {
		return "", fmt.Errorf("credit rating %d outside [0, %d]", rating, MaxRating)
	}
	for _, g := range p.Credit.Grades {
		if rating >= g.Min {
			return g.Name, nil
		}
	}
	// Unreachable for a parsed policy: the last grade starts at 0.
	return "", fmt.Errorf("credit rating %d has no grade", rating)
}

// MeetsGrade reports whether a rating reaches a grade (is graded at or above
// it).
func (p *Policy) MeetsGrade(rating uint32, grade string) (bool, error) {
	i, ok := p.grades[grade]
	if !ok {
		return false, fmt.Errorf("unknown grade %q", clip(grade))
	}
	if rating > MaxRating {
		return false, fmt.Errorf("credit rating %d outside [0, %d]", rating, MaxRating)
	}
	return rating >= p.Credit.Grades[i].Min, nil
}

// CheckSubmit checks that a member with this role and credit rating may
// submit a job of this type. Refusals wrap ErrNotPermitted.
func (p *Policy) CheckSubmit(role, jobType string, rating uint32) error {
	j, ok := p.Job(jobType)
	if !ok {
		return fmt.Errorf("job type %q: %w (the policy does not list it)", clip(jobType), ErrNotPermitted)
	}
	allowed := false
	for _, r := range j.Roles {
		allowed = allowed || r == role
	}
	if !allowed {
		return fmt.Errorf("job type %s: role %q: %w (allowed roles: %s)", jobType, clip(role), ErrNotPermitted, strings.Join(j.Roles, ", "))
	}
	return p.checkGrade(rating, j.MinGrade, "submit "+jobType)
}

// CheckCommittee checks that a member with this rating may sit on a job
// committee.
func (p *Policy) CheckCommittee(rating uint32) error {
	return p.checkGrade(rating, p.Credit.CommitteeMinGrade, "sit on a committee")
}

// CheckCommitteeCreate checks that a member with this role may create a
// job committee: any role when the policy names no creators. Refusals wrap
// ErrNotPermitted.
func (p *Policy) CheckCommitteeCreate(role string) error {
	if len(p.Committees.Creators) == 0 {
		return nil
	}
	for _, r := range p.Committees.Creators {
		if r == role {
			return nil
		}
	}
	return fmt.Errorf("create a committee: role %q: %w (committees.creators: %s)", clip(role), ErrNotPermitted, strings.Join(p.Committees.Creators, ", "))
}

// KeepsValidatorPower reports whether a validator with this rating keeps
// its voting power at the next epoch. Ratings above MaxRating do not.
func (p *Policy) KeepsValidatorPower(rating uint32) bool {
	ok, err := p.MeetsGrade(rating, p.Credit.ValidatorMinGrade)
	return err == nil && ok
}

func (p *Policy) checkGrade(rating uint32, min, what string) error {
	ok, err := p.MeetsGrade(rating, min)
	if err != nil {
		return err
	}
	if !ok {
		g, _ := p.GradeOf(rating)
		return fmt.Errorf("%s: credit grade %s (rating %d) is below the minimum %s: %w", what, g, rating, min, ErrNotPermitted)
	}
	return nil
}

// CheckUpdateApprovals checks that the signers of a policy update include at
// least SupervisorsQuorum distinct supervisors of this (the current) policy.
// Duplicates and non-supervisors do not count. Verifying the signatures is
// the caller's job: signers are the members whose signatures over the new
// policy's Hash have been verified.
func (p *Policy) CheckUpdateApprovals(signers []string) error {
	seen := map[string]bool{}
	var ignored []string
	for _, s := range signers {
		if seen[s] {
			continue
		}
		seen[s] = true
		if m, ok := p.Member(s); !ok || m.Role != RoleSupervisor {
			ignored = append(ignored, s)
		}
	}
	valid := len(seen) - len(ignored)
	if valid >= p.Governance.SupervisorsQuorum {
		return nil
	}
	msg := fmt.Sprintf("policy update has %d distinct supervisor approval(s), the current policy needs %d (supervisors: %s)",
		valid, p.Governance.SupervisorsQuorum, strings.Join(p.Supervisors(), ", "))
	if len(ignored) > 0 {
		sort.Strings(ignored)
		for i := range ignored {
			ignored[i] = clip(ignored[i])
		}
		msg += "; not supervisors of the current policy: " + strings.Join(ignored, ", ")
	}
	return fmt.Errorf("%s: %w", msg, ErrNotPermitted)
}

// CheckUpdate checks that next may replace p: next.Revision is exactly
// p.Revision+1 (so a signed update cannot be replayed after a later one,
// nor an old policy restored) and the signers reach p's quorum. next must
// come from Parse (it is valid).
func (p *Policy) CheckUpdate(next *Policy, signers []string) error {
	if next == nil {
		return errors.New("policy update: no policy")
	}
	if next.Revision != p.Revision+1 {
		return fmt.Errorf("policy update: revision %d does not follow the current revision %d", next.Revision, p.Revision)
	}
	return p.CheckUpdateApprovals(signers)
}

// CheckMembership cross-checks the policy's members against the ledger's:
// lookup returns a member's ledger role, or false if there is no such
// member. Every mismatch is reported.
func (p *Policy) CheckMembership(lookup func(name string) (role string, ok bool)) error {
	var errs []error
	for _, m := range p.Members {
		role, ok := lookup(m.Name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("policy member %s is not a ledger member", m.Name))
		case role != m.Role:
			errs = append(errs, fmt.Errorf("policy member %s has role %s in the policy but %s on the ledger", m.Name, m.Role, clip(role)))
		}
	}
	return errors.Join(errs...)
}

// TenderPriceFactorUnit is the price factor of a quoter at MaxRating: a
// factor is a weight in basis points.
const TenderPriceFactorUnit = 10000

// TenderPriceFactor is the weight of a quote's price in a tender by its
// quoter's public rating (clamped to [0, MaxRating]):
//
//	factor = 10000 + tender_penalty_bp × (MaxRating − rating) / MaxRating
//
// in integers, rounded down. A tender ranks quotes by price × factor, so a
// quoter at MaxRating is ranked on its price and one at rating 0 as if it
// asked (1 + tender_penalty_bp/10000) times its price. The ledger checks
// every price factor of a tender job against this formula and the quoter's
// rating when the job is submitted; the CLI computes them the same way.
func (p *Policy) TenderPriceFactor(rating int64) uint64 {
	r := uint64(min(max(rating, 0), MaxRating))
	// ≤ 10^6 × 10^3: no overflow.
	return TenderPriceFactorUnit + p.Credit.TenderPenaltyBp*(MaxRating-r)/MaxRating
}
