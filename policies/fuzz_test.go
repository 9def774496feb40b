package policies

import (
	"bytes"
	"math/big"
	"testing"
)

// FuzzParse: Parse never panics; whatever it accepts has a canonical form
// that parses back to the same canonical form and hash.
func FuzzParse(f *testing.F) {
	f.Add([]byte(basePolicy))
	f.Add([]byte(reordered))
	f.Add(DefaultYAML())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		c1, err := p.Canonical()
		if err != nil {
			t.Fatalf("canonical: %v", err)
		}
		q, err := Parse(c1)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, c1)
		}
		c2, err := q.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c1, c2) || p.Hash() != q.Hash() {
			t.Fatalf("canonical round trip differs:\n%s\n%s", c1, c2)
		}
		for _, rs := range p.RuleSets {
			if rs.Compiled == nil || len(rs.Compiled.Fields) > 8 || len(rs.Compiled.Constraints) > 8 {
				t.Fatalf("accepted rule set %s outside the circuit's size class", rs.Name)
			}
		}
	})
}

// FuzzRule: the rule parser never panics, and a parsed rule over known
// fields evaluates without panicking.
func FuzzRule(f *testing.F) {
	for _, s := range []string{"fee <= 0.05 * price", "fee <= 5% * price", "(a + 2*b) / 3 >= c - 1.5", "-(-(a)) == 0", "a * b > 1", "a / 0 < 1", "((((a))))", "a <= b <= c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRule(s, func(name string) bool { return len(name) == 1 })
		if err != nil {
			return
		}
		values := map[string]*big.Rat{}
		for _, side := range []linear{r.lhs, r.rhs} {
			for name := range side.coef {
				values[name] = big.NewRat(1, 1)
			}
		}
		_ = r.holds(values)
	})
}
