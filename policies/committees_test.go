package policies

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// withCreators is basePolicy with a committees section holding list (YAML
// flow list text) and, if charge, quorum charging on.
func withCreators(t *testing.T, list string, charge bool) string {
	t.Helper()
	y := replace(t, "credit:\n", "committees:\n  creators: "+list+"\ncredit:\n")
	if charge {
		y = strings.Replace(y, "  validator_min_grade: B\n", "  validator_min_grade: B\n  charge_attested_faults: true\n", 1)
	}
	return y
}

// TestCommitteeCreators: committees.creators parses to a sorted list of
// roles; absent or empty it is the same policy (canonical form, hash) as
// before the key existed and lets any role create; listed, it is in the
// canonical form (sorted: the order written does not change the hash),
// round-trips through it, and CheckCommitteeCreate refuses other roles
// with ErrNotPermitted naming the listed ones.
func TestCommitteeCreators(t *testing.T) {
	base, err := Parse([]byte(basePolicy))
	if err != nil {
		t.Fatal(err)
	}
	empty, err := Parse([]byte(withCreators(t, "[]", false)))
	if err != nil {
		t.Fatal(err)
	}
	bc, _ := base.Canonical()
	if len(empty.Committees.Creators) != 0 || empty.Hash() != base.Hash() || strings.Contains(string(bc), "committees") {
		t.Fatalf("an empty creators list changed the policy, or the canonical form names it:\n%s", bc)
	}
	for _, role := range Roles() {
		if err := base.CheckCommitteeCreate(role); err != nil {
			t.Fatalf("no creators listed, %s refused: %v", role, err)
		}
	}

	two, err := Parse([]byte(withCreators(t, "[supervisor, platform]", false)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(two.Committees.Creators, []string{RolePlatform, RoleSupervisor}) {
		t.Fatalf("creators %v, want sorted [platform supervisor]", two.Committees.Creators)
	}
	sorted, err := Parse([]byte(withCreators(t, "[platform, supervisor]", false)))
	if err != nil {
		t.Fatal(err)
	}
	if two.Hash() != sorted.Hash() || two.Hash() == base.Hash() {
		t.Fatal("creators: the written order changed the hash, or the list is not in it")
	}
	c, err := two.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(c), `"committees":{"creators":["platform","supervisor"]}`) {
		t.Fatalf("canonical form: %s", c)
	}
	q, err := Parse(c)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, c)
	}
	if q.Hash() != two.Hash() || !slices.Equal(q.Committees.Creators, two.Committees.Creators) {
		t.Fatalf("canonical round trip lost the creators:\n%s", c)
	}
	for _, role := range []string{RolePlatform, RoleSupervisor} {
		if err := two.CheckCommitteeCreate(role); err != nil {
			t.Fatalf("listed role %s refused: %v", role, err)
		}
	}
	for _, role := range []string{RoleEnterprise, ""} {
		err := two.CheckCommitteeCreate(role)
		if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "committees.creators: platform, supervisor") {
			t.Fatalf("role %q: %v, want ErrNotPermitted naming the creators", role, err)
		}
	}
}

// TestCommitteeCreatorsErrors: unknown and repeated roles, non-lists, a
// section without creators and unknown keys are refused.
func TestCommitteeCreatorsErrors(t *testing.T) {
	mustFail(t, withCreators(t, "[regulator]", false), `committees.creators[0]: unknown role "regulator"`)
	list := mustFail(t, withCreators(t, "[supervisor, platform, supervisor]", false), `committees.creators[2]: role "supervisor" listed twice`)
	if len(list) != 1 || list[0].Line != 12 || list[0].Column != 36 {
		t.Fatalf("want one error at the repeated item (line 12, column 36): %v", list)
	}
	mustFail(t, withCreators(t, "supervisor", false), "committees.creators: expected a list")
	mustFail(t, withCreators(t, "[[supervisor]]", false), "committees.creators[0]: expected a single value")
	mustFail(t, withCreators(t, "[a, b, c, d, e, f, g]", false), "committees.creators: 7 items, at most 6")
	mustFail(t, replace(t, "credit:\n", "committees: {}\ncredit:\n"), `missing required key "creators"`)
	mustFail(t, replace(t, "credit:\n", "committees: {creators: [supervisor], members: [acme]}\ncredit:\n"), "committees.members: unknown key")
	mustFail(t, replace(t, "credit:\n", "committees: [supervisor]\ncredit:\n"), "committees: expected a mapping")
}

// TestChargeNeedsCreators: charge_attested_faults: true is refused unless
// committees.creators names who composes committees, and the error says
// why; with creators it parses.
func TestChargeNeedsCreators(t *testing.T) {
	const why = "charging on attestations needs committees.creators"
	list := mustFail(t, replace(t, "  validator_min_grade: B\n", "  validator_min_grade: B\n  charge_attested_faults: true\n"), why, "honest majority")
	if len(list) != 1 || !strings.HasPrefix(list[0].Path, "credit.charge_attested_faults") {
		t.Fatalf("errors: %v", list)
	}
	mustFail(t, withCreators(t, "[]", true), why)
	p, err := Parse([]byte(withCreators(t, "[supervisor]", true)))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Credit.ChargeAttestedFaults || !slices.Equal(p.Committees.Creators, []string{RoleSupervisor}) {
		t.Fatalf("charging with creators: %+v %+v", p.Credit, p.Committees)
	}
	if err := p.CheckCommitteeCreate(RoleEnterprise); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("enterprise may create committees under a charging policy: %v", err)
	}
}
