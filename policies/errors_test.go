package policies

import (
	"errors"
	"strings"
	"testing"
)

// basePolicy is a small valid policy that the error tests break one piece
// at a time.
const basePolicy = `format: cohort-policy/1
name: test
revision: 3
members:
  acme: enterprise
  market: platform
  regulator: supervisor
  auditor: supervisor
governance:
  supervisors_quorum: 2
credit:
  grades:
    - {grade: A, min: 700}
    - {grade: B, min: 400}
    - {grade: C, min: 0}
  committee_min_grade: B
  validator_min_grade: B
jobs:
  aggregate: {roles: [enterprise], min_grade: C}
rule_sets:
  trade:
    fields:
      - {name: price, unit: CNY, scale: 100, min: 1, max: 1000}
      - {name: fee, unit: CNY, scale: 100}
    constraints:
      - {name: fee-cap, rule: "fee <= 0.05 * price"}
channels:
  dps:
    members: [acme, market, regulator]
    rule_set: trade
`

func TestBasePolicyIsValid(t *testing.T) {
	if _, err := Parse([]byte(basePolicy)); err != nil {
		t.Fatal(err)
	}
}

// mustFail parses src and checks that for every want there is an error whose
// text contains it, and that every error has a line number.
func mustFail(t *testing.T, src string, wants ...string) ErrorList {
	t.Helper()
	_, err := Parse([]byte(src))
	if err == nil {
		t.Fatalf("accepted; want errors %q", wants)
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, not ErrorList: %v", err, err)
	}
	for _, w := range wants {
		found := false
		for _, e := range list {
			found = found || strings.Contains(e.Error(), w)
		}
		if !found {
			t.Errorf("no error contains %q; got:\n%v", w, err)
		}
	}
	for _, e := range list {
		if e.Line == 0 {
			t.Errorf("error without a line: %v", e)
		}
	}
	return list
}

func replace(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(basePolicy, old) {
		t.Fatalf("base policy has no %q", old)
	}
	return strings.Replace(basePolicy, old, new, 1)
}

func TestErrorKinds(t *testing.T) {
	cases := []struct {
		name     string
		old, new string
		wants    []string
	}{
		{"yaml syntax", "  acme: enterprise", "  acme: [enterprise", []string{"YAML syntax"}},
		{"unknown key", "revision: 3", "revision: 3\nrevison: 4", []string{"revison: unknown key"}},
		{"missing key", "revision: 3\n", "", []string{`missing required key "revision"`}},
		{"duplicate key", "  market: platform", "  market: platform\n  acme: platform", []string{"members.acme: duplicate key (first defined at line 5)"}},
		{"wrong format", "cohort-policy/1", "cohort-policy/9", []string{"unsupported format"}},
		{"bad revision", "revision: 3", "revision: three", []string{"revision: expected a whole number"}},
		{"unknown role", "market: platform", "market: platfrom", []string{`members.market: unknown role "platfrom"`}},
		{"bad member name", "  acme: enterprise", "  Acme Corp: enterprise", []string{"member name"}},
		{"no supervisor", "  regulator: supervisor\n  auditor: supervisor", "  regulator: enterprise\n  auditor: enterprise",
			[]string{"no member has the supervisor role", "a channel needs at least one supervisor"}},
		{"quorum too large", "supervisors_quorum: 2", "supervisors_quorum: 3", []string{"quorum 3 is not between 1 and the number of supervisors (2)"}},
		{"quorum zero", "supervisors_quorum: 2", "supervisors_quorum: 0", []string{"quorum 0"}},
		{"grades not decreasing", "{grade: B, min: 400}", "{grade: B, min: 700}", []string{"strictly decrease"}},
		{"grades not covering 0", "{grade: C, min: 0}", "{grade: C, min: 100}", []string{"last (worst) grade must have min 0"}},
		{"grade above max", "{grade: A, min: 700}", "{grade: A, min: 1700}", []string{"1700 is larger than 1000"}},
		{"duplicate grade", "{grade: B, min: 400}", "{grade: A, min: 400}", []string{`grade "A" listed twice`}},
		{"unknown committee grade", "committee_min_grade: B", "committee_min_grade: BB", []string{`credit.committee_min_grade: unknown grade "BB"`}},
		{"unknown job type", "aggregate:", "agregate:", []string{`unknown job type "agregate"`}},
		{"unknown job role", "roles: [enterprise]", "roles: [enterprise, bank]", []string{`unknown role "bank"`}},
		{"no job roles", "roles: [enterprise]", "roles: []", []string{"no role may submit"}},
		{"unknown job grade", "min_grade: C}", "min_grade: D}", []string{`jobs.aggregate.min_grade: unknown grade "D"`}},
		{"unknown field in rule", `"fee <= 0.05 * price"`, `"fee <= 0.05 * prices"`, []string{`unknown field "prices"`}},
		{"non-linear rule", `"fee <= 0.05 * price"`, `"fee <= price * price"`, []string{"product of two fields is not linear"}},
		{"division by field", `"fee <= 0.05 * price"`, `"fee / price <= 0.05"`, []string{"division by a field"}},
		{"division by zero", `"fee <= 0.05 * price"`, `"fee <= price / 0"`, []string{"division by zero"}},
		{"syntax in rule", `"fee <= 0.05 * price"`, `"fee <= 0.05 * * price"`, []string{"expected a number, a field or '('"}},
		{"not equal", `"fee <= 0.05 * price"`, `"fee != price"`, []string{"not supported"}},
		{"chained comparison", `"fee <= 0.05 * price"`, `"0 <= fee <= price"`, []string{"chained comparisons"}},
		{"no comparison", `"fee <= 0.05 * price"`, `"fee + price"`, []string{"rule ends early: expected a comparison"}},
		{"always true", `"fee <= 0.05 * price"`, `"fee <= fee + 1"`, []string{"always holds"}},
		{"never true", `"fee <= 0.05 * price"`, `"fee + 1 <= fee"`, []string{"can never hold"}},
		{"coefficient too big", `"fee <= 0.05 * price"`, `"fee <= 0.0000000000000000000001 * price"`, []string{"does not fit the circuit's 64-bit signed coefficients"}},
		{"min not whole", "min: 1, max: 1000}", "min: 0.001, max: 1000}", []string{"min 0.001 is not a whole number of 1/100 CNY"}},
		{"max too large", "min: 1, max: 1000}", "min: 1, max: 1000000000000000000}", []string{"exceeds the 64-bit field range"}},
		{"empty range", "min: 1, max: 1000}", "min: 10, max: 1}", []string{"empty range: min 10 is above max 1"}},
		{"negative min", "min: 1, max: 1000}", "min: -1, max: 1000}", []string{"not a decimal number"}},
		{"zero scale", "unit: CNY, scale: 100}", "unit: CNY, scale: 0}", []string{"scale must be at least 1"}},
		{"duplicate field", "{name: fee, unit: CNY, scale: 100}", "{name: price, unit: CNY, scale: 100}", []string{`field "price" declared twice`}},
		{"bad field name", "{name: fee, unit: CNY, scale: 100}", "{name: Fee, unit: CNY, scale: 100}", []string{"field name \"Fee\""}},
		{"channel unknown member", "[acme, market, regulator]", "[acme, shop, regulator]", []string{`"shop" is not a member of this policy`}},
		{"channel without supervisor", "[acme, market, regulator]", "[acme, market]", []string{"a channel needs at least one supervisor member (supervisors: auditor, regulator)"}},
		{"channel duplicate member", "[acme, market, regulator]", "[acme, acme, regulator]", []string{`member "acme" listed twice`}},
		{"channel unknown rule set", "rule_set: trade", "rule_set: trades", []string{`unknown rule set "trades"`}},
		{"alias", "  market: platform", "  market: &p platform\n  shop: *p", []string{"YAML anchors are not allowed", "YAML aliases are not allowed"}},
		{"wrong type", "members:\n", "members: acme\nx:\n", []string{"members: expected a mapping"}},
		{"custom tag", "  market: platform", "  market: !role platform", []string{"YAML tag !role is not allowed"}},
		{"binary tag", "  market: platform", "  market: !!binary cGxhdGZvcm0=", []string{"YAML tag !!binary is not allowed"}},
		{"null value", "rule_set: trade", "rule_set:", []string{"channels.dps.rule_set: missing value"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mustFail(t, replace(t, c.old, c.new), c.wants...)
		})
	}
}

// TestEveryErrorReported breaks many things at once: all are reported, in
// line order, each with its own path.
func TestEveryErrorReported(t *testing.T) {
	src := basePolicy
	for _, r := range [][2]string{
		{"market: platform", "market: platfrom"},
		{"supervisors_quorum: 2", "supervisors_quorum: 9"},
		{"{grade: C, min: 0}", "{grade: C, min: 5}"},
		{"aggregate:", "agregate:"},
		{`"fee <= 0.05 * price"`, `"fee <= price * price"`},
		{"rule_set: trade", "rule_set: trades"},
	} {
		src = strings.Replace(src, r[0], r[1], 1)
	}
	list := mustFail(t, src, "unknown role", "quorum 9", "min 0", "unknown job type", "not linear", "unknown rule set")
	if len(list) != 6 {
		t.Errorf("%d errors, want 6:\n%v", len(list), list)
	}
	for i := 1; i < len(list); i++ {
		if list[i].Line < list[i-1].Line {
			t.Errorf("errors out of line order: %v", list)
		}
	}
}

func TestRuleSetTooLarge(t *testing.T) {
	var fields, cons strings.Builder
	for i := 0; i < 9; i++ {
		fields.WriteString("      - {name: f" + string(rune('a'+i)) + ", unit: u, min: 1, max: 9}\n")
	}
	src := strings.Replace(basePolicy, "      - {name: price, unit: CNY, scale: 100, min: 1, max: 1000}\n", fields.String()+"      - {name: price, unit: CNY, scale: 100, min: 1, max: 1000}\n", 1)
	_ = cons
	mustFail(t, src, "rule set trade has 11 fields; the compliance circuit takes at most 8",
		"rule set trade compiles to 21 constraints (20 from field ranges, 1 from rules); the compliance circuit takes at most 8")
}

func TestLimits(t *testing.T) {
	big := make([]byte, MaxPolicyBytes+1)
	if _, err := Parse(big); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("oversized: %v", err)
	}
	if _, err := Parse(nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty: %v", err)
	}
	if _, err := Parse([]byte(basePolicy + "---\nname: x\n")); err == nil || !strings.Contains(err.Error(), "exactly one YAML document") {
		t.Errorf("two documents: %v", err)
	}
	var many strings.Builder
	many.WriteString("members:\n")
	for i := 0; i <= MaxMembers; i++ {
		many.WriteString("  m" + itoa(i) + ": enterprise\n")
	}
	if _, err := Parse([]byte(many.String())); err == nil || !strings.Contains(err.Error(), "at most 256") {
		t.Errorf("too many members: %v", err)
	}
	// Hundreds of errors are capped.
	var bad strings.Builder
	for i := 0; i < 500; i++ {
		bad.WriteString("k" + itoa(i) + ": 1\n")
	}
	_, err := Parse([]byte(bad.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != maxReportedErrors+1 || !strings.Contains(list[len(list)-1].Msg, "not reported") {
		t.Errorf("error cap: %d errors", len(list))
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestErrorsStayOnOneLine(t *testing.T) {
	list := mustFail(t, replace(t, "  acme: enterprise", "  \"Acme\\nCorp\": enterprise\n  \""+strings.Repeat("x", 500)+"\": platform"),
		`members."Acme\nCorp": member name`)
	for _, e := range list {
		if strings.Contains(e.Error(), "\n") || len(e.Error()) > 400 {
			t.Errorf("error spans lines or is huge: %q", e.Error())
		}
	}
}
