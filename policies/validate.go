package policies

import (
	"fmt"
	"strings"
)

// validate checks everything that relates one part of the policy to another
// and compiles the rule sets. It reports every error to sink.
func validate(p *Policy, sink *errSink) {
	roles := map[string]bool{}
	for _, r := range Roles() {
		roles[r] = true
	}
	memberRole := map[string]string{}
	supervisors := 0
	for _, m := range p.Members {
		path := join("members", m.Name)
		if err := checkName(m.Name); err != nil {
			sink.add(m.at, path, "member name: %v", err)
		}
		memberRole[m.Name] = m.Role
		if m.Role == "" {
			continue // already reported
		}
		if !roles[m.Role] {
			sink.add(m.at, path, "unknown role %q (roles: %s)", clip(m.Role), strings.Join(Roles(), ", "))
		}
		if m.Role == RoleSupervisor {
			supervisors++
		}
	}
	if len(p.Members) > 0 && supervisors == 0 {
		sink.add(p.Members[0].at, "members", "no member has the supervisor role; a policy needs at least one supervisor to govern it and to sit on its channels")
	}

	if q := p.Governance.SupervisorsQuorum; p.Governance.at.line > 0 && (q < 1 || q > supervisors) {
		if supervisors > 0 || q < 1 {
			sink.add(p.Governance.at, "governance.supervisors_quorum",
				"quorum %d is not between 1 and the number of supervisors (%d)", q, supervisors)
		}
	}

	grades := validateCredit(&p.Credit, sink)

	seenCreator := map[string]bool{}
	for i, r := range p.Committees.Creators {
		at, path := p.Committees.creatorAt[i], index("committees.creators", i)
		if !roles[r] {
			sink.add(at, path, "unknown role %q (roles: %s)", clip(r), strings.Join(Roles(), ", "))
		}
		if seenCreator[r] {
			sink.add(at, path, "role %q listed twice", clip(r))
		}
		seenCreator[r] = true
	}
	sortStrings(p.Committees.Creators)
	// Quorum charging is sound only if every committee has an honest
	// majority; with any member free to create a committee of its choice,
	// two colluders create {C1, C2, V} and charge V at will. Naming the
	// roles that compose committees is what makes that assumption the
	// alliance's explicit trust in those members rather than a hope.
	if p.Credit.ChargeAttestedFaults && len(p.Committees.Creators) == 0 {
		sink.add(p.Credit.chargeAt, "credit.charge_attested_faults",
			"charging on attestations needs committees.creators: a quorum of a committee charges the member it names, "+
				"which is sound only if every committee has an honest majority, and while any member may create a committee "+
				"two colluders can create one with a member of their choice and charge it; list the roles trusted to compose "+
				"committees (e.g. committees: {creators: [supervisor]}) or leave charging off")
	}

	jobTypes := map[string]bool{}
	for _, t := range JobTypes() {
		jobTypes[t] = true
	}
	for _, j := range p.Jobs {
		path := join("jobs", j.Type)
		if !jobTypes[j.Type] {
			sink.add(j.at, path, "unknown job type %q (job types: %s)", clip(j.Type), strings.Join(JobTypes(), ", "))
		}
		if len(j.Roles) == 0 {
			sink.add(j.at, join(path, "roles"), "no role may submit this job type; list at least one role or remove the job type")
		}
		seen := map[string]bool{}
		for _, r := range j.Roles {
			if !roles[r] {
				sink.add(j.at, join(path, "roles"), "unknown role %q (roles: %s)", clip(r), strings.Join(Roles(), ", "))
			}
			if seen[r] {
				sink.add(j.at, join(path, "roles"), "role %q listed twice", clip(r))
			}
			seen[r] = true
		}
		sortStrings(j.Roles)
		if j.MinGrade != "" && grades != nil && !grades[j.MinGrade] {
			sink.add(j.gradeAt, join(path, "min_grade"), "unknown grade %q (grades: %s)", clip(j.MinGrade), gradeNames(p.Credit.Grades))
		}
	}

	ruleSets := map[string]bool{}
	for i := range p.RuleSets {
		rs := &p.RuleSets[i]
		ruleSets[rs.Name] = true
		path := join("rule_sets", rs.Name)
		if err := checkName(rs.Name); err != nil {
			sink.add(rs.at, path, "rule set name: %v", err)
		}
		rs.Compiled = compileRuleSet(rs, path, sink)
	}

	for _, ch := range p.Channels {
		path := join("channels", ch.Name)
		if err := checkName(ch.Name); err != nil {
			sink.add(ch.at, path, "channel name: %v", err)
		}
		seen := map[string]bool{}
		hasSupervisor := false
		for i, m := range ch.Members {
			role, ok := memberRole[m]
			switch {
			case !ok:
				sink.add(ch.memberAt[i], index(join(path, "members"), i), "%q is not a member of this policy (declare it under members)", clip(m))
			case seen[m]:
				sink.add(ch.memberAt[i], index(join(path, "members"), i), "member %q listed twice", clip(m))
			case role == RoleSupervisor:
				hasSupervisor = true
			}
			seen[m] = true
		}
		if len(ch.Members) > 0 && !hasSupervisor {
			sink.add(ch.memberAt[0], join(path, "members"), "a channel needs at least one supervisor member (supervisors: %s)", membersWithRole(p.Members, RoleSupervisor))
		}
		if len(ch.Members) == 1 {
			sink.add(ch.memberAt[0], join(path, "members"), "a channel needs at least two members")
		}
		if ch.RuleSet != "" && !ruleSets[ch.RuleSet] {
			sink.add(ch.ruleSetAt, join(path, "rule_set"), "unknown rule set %q", clip(ch.RuleSet))
		}
	}
}

// validateCredit checks the grade table and returns the set of grade names
// (nil if the table itself is unusable).
func validateCredit(c *Credit, sink *errSink) map[string]bool {
	if len(c.Grades) == 0 {
		if c.at.line == 0 {
			return nil // the section or the list is missing or malformed: already reported
		}
		sink.add(c.at, "credit.grades", "the grade table is empty; list grades from best to worst, the last with min 0")
		return nil
	}
	names := map[string]bool{}
	for i, g := range c.Grades {
		path := index("credit.grades", i)
		if g.Name == "" {
			continue
		}
		if err := checkGradeName(g.Name); err != nil {
			sink.add(g.at, join(path, "grade"), "%v", err)
		}
		if names[g.Name] {
			sink.add(g.at, join(path, "grade"), "grade %q listed twice", g.Name)
		}
		names[g.Name] = true
		if i > 0 && g.Min >= c.Grades[i-1].Min {
			sink.add(g.at, join(path, "min"), "thresholds must strictly decrease from best to worst grade: %s has min %d, not below %s's %d",
				g.Name, g.Min, c.Grades[i-1].Name, c.Grades[i-1].Min)
		}
	}
	if last := c.Grades[len(c.Grades)-1]; last.Min != 0 {
		sink.add(last.at, index("credit.grades", len(c.Grades)-1)+".min",
			"the last (worst) grade must have min 0 so that every rating 0..%d has a grade; %s starts at %d", MaxRating, last.Name, last.Min)
	}
	for _, ref := range []struct {
		name, key string
		at        pos
	}{{c.CommitteeMinGrade, "committee_min_grade", c.committeeAt}, {c.ValidatorMinGrade, "validator_min_grade", c.validatorAt}} {
		if ref.name != "" && !names[ref.name] {
			sink.add(ref.at, join("credit", ref.key), "unknown grade %q (grades: %s)", clip(ref.name), gradeNames(c.Grades))
		}
	}
	return names
}

func gradeNames(gs []Grade) string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return strings.Join(out, ", ")
}

func membersWithRole(ms []Member, role string) string {
	var out []string
	for _, m := range ms {
		if m.Role == role {
			out = append(out, m.Name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	sortStrings(out)
	return strings.Join(out, ", ")
}

// checkName: member, rule set, channel and policy names are lowercase
// identifiers that can appear in CLI arguments and ledger keys.
func checkName(s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("%q must be 1 to %d characters", clip(s), maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_' || c == '.'))
		if !ok {
			return fmt.Errorf("%q: use lowercase letters, digits, and - _ . (not first)", clip(s))
		}
	}
	return nil
}

// checkFieldName: field names are identifiers usable in rules.
func checkFieldName(s string) error {
	if s == "" || len(s) > 32 {
		return fmt.Errorf("field name %q must be 1 to 32 characters", clip(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c == '_' || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("field name %q: use lowercase letters, digits and _ (not starting with a digit)", clip(s))
		}
	}
	return nil
}

func checkGradeName(s string) error {
	if len(s) > 8 {
		return fmt.Errorf("grade name %q is longer than 8 characters", clip(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || (i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-'))
		if !ok {
			return fmt.Errorf("grade name %q: use letters, then letters, digits, + or -", clip(s))
		}
	}
	return nil
}
