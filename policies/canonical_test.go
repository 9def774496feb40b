package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// reordered is basePolicy with every mapping's keys in a different order,
// flow and block styles swapped, comments and different spellings of the
// same numbers.
const reordered = `# same policy, different order
channels:
  dps: {rule_set: trade, members: [acme, market, regulator]}
rule_sets:
  trade:
    constraints:
      - rule: "fee <= 0.05 * price"
        name: fee-cap
    fields:
      - max: 1000.00
        min: 1
        scale: 100
        unit: CNY
        name: price
      - {unit: CNY, name: fee, scale: 100}
jobs:
  aggregate:
    min_grade: C
    roles:
      - enterprise
credit:
  validator_min_grade: B
  committee_min_grade: B
  grades: [{min: 700, grade: A}, {min: 400, grade: B}, {min: 0, grade: C}]
governance: {supervisors_quorum: 2}
members: {regulator: supervisor, auditor: supervisor, market: platform, acme: enterprise}
revision: 3
name: "test"
format: 'cohort-policy/1'
`

func TestCanonicalStableAcrossReordering(t *testing.T) {
	a, err := Parse([]byte(basePolicy))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte(reordered))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := a.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, cb) {
		t.Fatalf("canonical forms differ:\n%s\n%s", ca, cb)
	}
	if a.Hash() != b.Hash() {
		t.Fatal("hashes differ")
	}
	// Canonical JSON is valid JSON with sorted keys at every level.
	var v any
	if err := json.Unmarshal(ca, &v); err != nil {
		t.Fatal(err)
	}
	checkSortedKeys(t, ca)
}

// checkSortedKeys walks the JSON token stream and checks that the keys of
// every object appear in sorted order.
func checkSortedKeys(t *testing.T, b []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object  bool
		lastKey string
		wantKey bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey {
			if k, ok := tok.(string); ok {
				top := &stack[len(stack)-1]
				if k <= top.lastKey && top.lastKey != "" {
					t.Errorf("key %q after %q", k, top.lastKey)
				}
				top.lastKey, top.wantKey = k, false
				continue
			}
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
		}
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	for name, src := range map[string][]byte{"base": []byte(basePolicy), "default": DefaultYAML()} {
		p, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		c1, err := p.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse(c1)
		if err != nil {
			t.Fatalf("%s: canonical JSON does not parse: %v\n%s", name, err, c1)
		}
		c2, err := q.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c1, c2) {
			t.Fatalf("%s: round trip changed the canonical form:\n%s\n%s", name, c1, c2)
		}
		// The compiled constraints survive the round trip too.
		for i := range p.RuleSets {
			if p.RuleSets[i].Compiled.String() != q.RuleSets[i].Compiled.String() {
				t.Errorf("%s: compiled %s differs after round trip", name, p.RuleSets[i].Name)
			}
		}
	}
}

func TestHashChangesWithContent(t *testing.T) {
	a, _ := Parse([]byte(basePolicy))
	for _, r := range [][2]string{
		{"revision: 3", "revision: 4"},
		{`"fee <= 0.05 * price"`, `"fee <= 0.06 * price"`},
		{"[acme, market, regulator]", "[market, acme, regulator]"}, // member order is meaningful
		{"max: 1000}", "max: 1001}"},
	} {
		b, err := Parse([]byte(strings.Replace(basePolicy, r[0], r[1], 1)))
		if err != nil {
			t.Fatal(err)
		}
		if a.Hash() == b.Hash() {
			t.Errorf("%q → %q does not change the hash", r[0], r[1])
		}
	}
}

func TestQuorum(t *testing.T) {
	p, err := Parse([]byte(basePolicy)) // supervisors auditor, regulator; quorum 2
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		signers []string
		ok      bool
	}{
		{[]string{"regulator", "auditor"}, true},
		{[]string{"auditor", "acme", "regulator"}, true},
		{[]string{"regulator", "regulator"}, false},      // duplicates count once
		{[]string{"regulator", "acme", "market"}, false}, // non-supervisors do not count
		{[]string{"regulator", "stranger"}, false},       // non-members do not count
		{nil, false},
		{[]string{"regulator", "auditor", "auditor"}, true},
	} {
		err := p.CheckUpdateApprovals(c.signers)
		if (err == nil) != c.ok {
			t.Errorf("signers %v: %v, want ok=%v", c.signers, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrNotPermitted) {
			t.Errorf("refusal does not wrap ErrNotPermitted: %v", err)
		}
	}
	err = p.CheckUpdateApprovals([]string{"regulator", "acme"})
	if err == nil || !strings.Contains(err.Error(), "1 distinct supervisor approval(s), the current policy needs 2") || !strings.Contains(err.Error(), "not supervisors of the current policy: acme") {
		t.Errorf("message: %v", err)
	}

	// CheckUpdate uses the CURRENT policy's supervisors: a new policy that
	// adds a supervisor cannot count that supervisor's signature.
	next, err := Parse([]byte(strings.Replace(strings.Replace(basePolicy, "revision: 3", "revision: 4", 1),
		"  auditor: supervisor", "  auditor: supervisor\n  newcomer: supervisor", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckUpdate(next, []string{"regulator", "newcomer"}); err == nil {
		t.Error("a supervisor added by the update approved it")
	}
	if err := p.CheckUpdate(next, []string{"regulator", "auditor"}); err != nil {
		t.Error(err)
	}
	// Revisions must advance by exactly one.
	if err := p.CheckUpdate(p, []string{"regulator", "auditor"}); err == nil || !strings.Contains(err.Error(), "revision 3 does not follow") {
		t.Errorf("same revision: %v", err)
	}
	if err := p.CheckUpdate(nil, nil); err == nil {
		t.Error("nil update accepted")
	}
}

func TestCheckMembership(t *testing.T) {
	p := mustDefault(t)
	ledger := map[string]string{"node0": RoleEnterprise, "node1": RoleEnterprise, "node2": RolePlatform, "node3": RoleSupervisor}
	lookup := func(n string) (string, bool) { r, ok := ledger[n]; return r, ok }
	if err := p.CheckMembership(lookup); err != nil {
		t.Fatal(err)
	}
	delete(ledger, "node1")
	ledger["node2"] = RoleEnterprise
	err := p.CheckMembership(lookup)
	if err == nil || !strings.Contains(err.Error(), "node1 is not a ledger member") || !strings.Contains(err.Error(), "node2 has role platform in the policy but enterprise on the ledger") {
		t.Errorf("membership: %v", err)
	}
}

// TestDeterministic parses the same file repeatedly (Go randomises map
// iteration on every range) and requires identical outputs.
func TestDeterministic(t *testing.T) {
	var first []byte
	var firstCompiled string
	for i := 0; i < 30; i++ {
		p, err := Parse(DefaultYAML())
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		var compiled strings.Builder
		for _, rs := range p.RuleSets {
			compiled.WriteString(rs.Compiled.String())
		}
		if i == 0 {
			first, firstCompiled = c, compiled.String()
			continue
		}
		if !bytes.Equal(c, first) || compiled.String() != firstCompiled {
			t.Fatal("Parse is not deterministic")
		}
	}
	// Error lists are deterministic too.
	bad := strings.Replace(strings.Replace(basePolicy, "market: platform", "market: platfrom", 1), "rule_set: trade", "rule_set: trades", 1)
	_, e1 := Parse([]byte(bad))
	for i := 0; i < 10; i++ {
		if _, e2 := Parse([]byte(bad)); e1.Error() != e2.Error() {
			t.Fatal("error list is not deterministic")
		}
	}
	// Equivalent spellings of a bound give the same canonical form.
	a, _ := Parse([]byte(strings.Replace(basePolicy, "{name: fee, unit: CNY, scale: 100}", "{name: fee, unit: CNY, scale: 100, min: 0.00}", 1)))
	b, _ := Parse([]byte(basePolicy))
	if a == nil || b == nil || a.Hash() != b.Hash() {
		t.Error("min 0 changes the hash")
	}
}

func TestApprovalMessageAndLoad(t *testing.T) {
	p := mustDefault(t)
	h := p.Hash()
	a, b := p.ApprovalMessage("cohort-1"), p.ApprovalMessage("cohort-2")
	if bytes.Equal(a, b) || !bytes.HasSuffix(a, h[:]) || !bytes.HasPrefix(a, []byte("cohort/policy-update/v1\x00cohort-1\x00")) {
		t.Errorf("approval message %q", a)
	}
	if _, err := Load("default.yaml"); err != nil {
		t.Fatal(err)
	}
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil {
		t.Fatal("missing file loaded")
	}
	var list ErrorList
	if _, err := Load("errors_test.go"); !errors.As(err, &list) || !strings.HasPrefix(err.Error(), "errors_test.go: policy: ") {
		t.Errorf("Load of a non-policy: %v", err)
	}
}

func TestCanonicalTextRoundTrip(t *testing.T) {
	src := strings.Replace(basePolicy, "revision: 3\n", "revision: 3\ndescription: \"供应链 <trade> & \\\"quotes\\\"\\nsecond line\\t\\u2028 end\"\n", 1)
	p, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Description, "供应链 <trade> & \"quotes\"\nsecond line") {
		t.Fatalf("description %q", p.Description)
	}
	c, _ := p.Canonical()
	q, err := Parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if q.Description != p.Description || q.Hash() != p.Hash() {
		t.Fatalf("text does not round-trip: %q", q.Description)
	}
}
