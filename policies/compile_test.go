package policies

import (
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"strings"
	"testing"
)

// genTerm is one term of a generated rule side: coef·field, or a constant
// when field is "".
type genTerm struct {
	coef  string // decimal literal, possibly with %
	neg   bool
	field string
}

func (g genTerm) value(values map[string]*big.Rat) *big.Rat {
	lit := strings.TrimSuffix(g.coef, "%")
	v, err := parseDecimal(lit)
	if err != nil {
		panic(err)
	}
	if strings.HasSuffix(g.coef, "%") {
		v.Quo(v, big.NewRat(100, 1))
	}
	if g.field != "" {
		v.Mul(v, values[g.field])
	}
	if g.neg {
		v.Neg(v)
	}
	return v
}

func randDecimal(rng *rand.Rand) string {
	switch rng.Intn(5) {
	case 0:
		return fmt.Sprint(rng.Intn(20))
	case 1:
		return fmt.Sprintf("%d.%02d", rng.Intn(5), rng.Intn(100))
	case 2:
		return fmt.Sprintf("%d%%", rng.Intn(150))
	case 3:
		return fmt.Sprintf("0.%03d", rng.Intn(1000))
	default:
		return fmt.Sprint(1 + rng.Intn(3))
	}
}

func sideString(terms []genTerm) string {
	var b strings.Builder
	for i, t := range terms {
		switch {
		case i == 0 && t.neg:
			b.WriteString("-")
		case i > 0 && t.neg:
			b.WriteString(" - ")
		case i > 0:
			b.WriteString(" + ")
		}
		b.WriteString(t.coef)
		if t.field != "" {
			b.WriteString(" * " + t.field)
		}
	}
	return b.String()
}

// TestCompiledMatchesExactRule is the compilation property: for random rule
// sets and random integer records, the compiled integer constraints hold
// iff the ranges and the rules, evaluated with exact rationals in the
// declared units, hold.
func TestCompiledMatchesExactRule(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	scales := []uint64{1, 3, 10, 100, 1000}
	compiled, agreeTrue, agreeFalse := 0, 0, 0
	for iter := 0; iter < 300; iter++ {
		nf := 1 + rng.Intn(4)
		var fields []Field
		var yamlFields strings.Builder
		for j := 0; j < nf; j++ {
			f := Field{Name: fmt.Sprintf("f%d", j), Unit: "u", Scale: scales[rng.Intn(len(scales))]}
			fmt.Fprintf(&yamlFields, "      - {name: %s, unit: u, scale: %d", f.Name, f.Scale)
			if rng.Intn(3) == 0 {
				f.Min = big.NewRat(int64(rng.Intn(20)), 1)
				fmt.Fprintf(&yamlFields, ", min: %s", f.Min.RatString())
			}
			if rng.Intn(3) == 0 {
				f.Max = big.NewRat(int64(20+rng.Intn(100)), 1)
				fmt.Fprintf(&yamlFields, ", max: %s", f.Max.RatString())
			}
			yamlFields.WriteString("}\n")
			fields = append(fields, f)
		}
		type genRule struct {
			lhs, rhs []genTerm
			op       cmpOp
		}
		var rules []genRule
		var yamlRules strings.Builder
		ops := []cmpOp{opLE, opGE, opLT, opGT, opEQ}
		for r := 0; r < 1+rng.Intn(2); r++ {
			var g genRule
			g.op = ops[rng.Intn(len(ops))]
			for side := 0; side < 2; side++ {
				n := 1 + rng.Intn(3)
				var terms []genTerm
				for k := 0; k < n; k++ {
					tm := genTerm{coef: randDecimal(rng), neg: rng.Intn(3) == 0}
					if rng.Intn(4) != 0 {
						tm.field = fields[rng.Intn(nf)].Name
					}
					terms = append(terms, tm)
				}
				if side == 0 {
					g.lhs = terms
				} else {
					g.rhs = terms
				}
			}
			rules = append(rules, g)
			fmt.Fprintf(&yamlRules, "      - %q\n", sideString(g.lhs)+" "+string(g.op)+" "+sideString(g.rhs))
		}
		src := strings.Replace(basePolicy,
			"      - {name: price, unit: CNY, scale: 100, min: 1, max: 1000}\n      - {name: fee, unit: CNY, scale: 100}\n",
			yamlFields.String(), 1)
		src = strings.Replace(src, "      - {name: fee-cap, rule: \"fee <= 0.05 * price\"}\n", yamlRules.String(), 1)
		p, err := Parse([]byte(src))
		if err != nil {
			// Random rules may cancel out (always/never true) or exceed 8
			// constraints; anything else is a bug.
			if !strings.Contains(err.Error(), "cancel out") && !strings.Contains(err.Error(), "at most 8") {
				t.Fatalf("generated policy rejected: %v\n%s", err, src)
			}
			continue
		}
		compiled++
		rs, _ := p.RuleSet("trade")
		for trial := 0; trial < 200; trial++ {
			x := make([]uint64, nf)
			values := map[string]*big.Rat{}
			for j, f := range fields {
				switch rng.Intn(10) {
				case 0:
					x[j] = math.MaxUint64 - uint64(rng.Intn(3))
				case 1:
					x[j] = 0
				default:
					x[j] = uint64(rng.Intn(int(150 * f.Scale)))
				}
				values[f.Name] = new(big.Rat).SetFrac(new(big.Int).SetUint64(x[j]), new(big.Int).SetUint64(f.Scale))
			}
			want := true
			for _, f := range fields {
				if f.Min != nil && values[f.Name].Cmp(f.Min) < 0 || f.Max != nil && values[f.Name].Cmp(f.Max) > 0 {
					want = false
				}
			}
			for _, g := range rules {
				l, r := new(big.Rat), new(big.Rat)
				for _, tm := range g.lhs {
					l.Add(l, tm.value(values))
				}
				for _, tm := range g.rhs {
					r.Add(r, tm.value(values))
				}
				c := l.Cmp(r)
				ok := map[cmpOp]bool{opLE: c <= 0, opGE: c >= 0, opLT: c < 0, opGT: c > 0, opEQ: c == 0}[g.op]
				want = want && ok
			}
			got := rs.Compiled.Check(x) == nil
			if got != want {
				t.Fatalf("record %v: compiled says %v, exact rule says %v\n%s\n%s", x, got, want, src, rs.Compiled)
			}
			if want {
				agreeTrue++
			} else {
				agreeFalse++
			}
		}
	}
	// The generator must exercise both outcomes, or the test proves little.
	if compiled < 150 || agreeTrue < 1000 || agreeFalse < 1000 {
		t.Fatalf("weak coverage: %d rule sets compiled, %d satisfying and %d violating records", compiled, agreeTrue, agreeFalse)
	}
	t.Logf("%d rule sets, %d satisfying and %d violating records agree", compiled, agreeTrue, agreeFalse)
}

// TestRuleSyntax checks that equivalent spellings compile to the same
// integer constraint.
func TestRuleSyntax(t *testing.T) {
	compile := func(rule string) string {
		t.Helper()
		src := strings.Replace(basePolicy, `"fee <= 0.05 * price"`, fmt.Sprintf("%q", rule), 1)
		p, err := Parse([]byte(src))
		if err != nil {
			t.Fatalf("%s: %v", rule, err)
		}
		rs, _ := p.RuleSet("trade")
		c := rs.Compiled.Constraints[len(rs.Compiled.Constraints)-1]
		return fmt.Sprint(c.Coefficients, c.Constant)
	}
	want := compile("fee <= 0.05 * price")
	if want != "[1 -20] 0" {
		t.Fatalf("fee cap compiled to %s", want)
	}
	for _, r := range []string{
		"fee <= 5% * price",
		"fee <= price * 0.05",
		"fee <= price / 20",
		"20 * fee <= price",
		"-price + 20*fee <= 0",
		"0 >= 2 * (10 * fee - price / 2)",
		"price >= fee*20",
		"fee - 0.05*price <= -(-0)",
		"fee<=0.050*price",
		"fee <= -(-(5%)) * price",
	} {
		if got := compile(r); got != want {
			t.Errorf("%q compiled to %s, want %s", r, got, want)
		}
	}
	// Strict inequality over integers: fee < 5% price ⇔ price − 20·fee − 1 ≥ 0.
	if got := compile("fee < 0.05 * price"); got != "[1 -20] -1" {
		t.Errorf("strict: %s", got)
	}
	// gcd reduction with floor: 2·price ≥ 3 (price in fen) ⇔ price ≥ 2 fen.
	if got := compile("2 * price >= 0.03"); got != "[1 0] -2" {
		t.Errorf("rounded constant: %s", got)
	}
}

func TestZKConstraintsMatchCircuitChecks(t *testing.T) {
	p := mustDefault(t)
	rs, _ := p.RuleSet("trade")
	zc := rs.Compiled.ZKConstraints()
	for i, c := range zc {
		if c.Constant.Big().Cmp(rs.Compiled.Constraints[i].Constant) != 0 {
			t.Fatalf("constant %d differs", i)
		}
		for j, a := range c.Coefficients {
			if int64(a) != rs.Compiled.Constraints[i].Coefficients[j] {
				t.Fatalf("coefficient %d,%d differs", i, j)
			}
		}
	}
}

func TestStructuredTerms(t *testing.T) {
	compileWith := func(constraint string) (*Policy, error) {
		return Parse([]byte(strings.Replace(basePolicy, `{name: fee-cap, rule: "fee <= 0.05 * price"}`, constraint, 1)))
	}
	last := func(p *Policy) string {
		rs, _ := p.RuleSet("trade")
		c := rs.Compiled.Constraints[len(rs.Compiled.Constraints)-1]
		return fmt.Sprint(c.Coefficients, c.Constant, " ", c.Origin)
	}
	p, err := compileWith(`{name: fee-cap, terms: {fee: -100, price: 5}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := last(p); got != "[1 -20] 0 fee-cap: −100·fee + 5·price ≥ 0" {
		t.Errorf("terms compiled to %s", got)
	}
	p, err = compileWith(`{terms: {price: 0.5, fee: -1}, constant: -0.25}`)
	if err != nil {
		t.Fatal(err)
	}
	// 0.5·price/100 − fee/100 − 0.25 ≥ 0 ⇔ price − 2·fee − 50 ≥ 0 (fen).
	if got := last(p); got != "[1 -2] -50 −fee + 0.5·price − 0.25 ≥ 0" {
		t.Errorf("terms with constant compiled to %s", got)
	}
	// The canonical form keeps the structured form and round-trips.
	c1, _ := p.Canonical()
	if !strings.Contains(string(c1), `{"constant":-0.25,"terms":{"fee":-1,"price":0.5}}`) {
		t.Errorf("canonical: %s", c1)
	}
	q, err := Parse(c1)
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := q.Canonical(); string(c2) != string(c1) {
		t.Error("terms do not round-trip")
	}
	for constraint, want := range map[string]string{
		`{rule: "fee <= price", terms: {fee: 1}}`: "either rule or terms, not both",
		`{name: x}`:                                 "missing rule",
		`{rule: "fee <= price", constant: 5}`:       "constant belongs to the terms form",
		`{terms: {fees: 1}}`:                        `terms.fees: unknown field "fees"`,
		`{terms: {fee: 1e3}}`:                       "not a decimal number",
		`{terms: {}}`:                               "no terms",
		`{terms: {fee: 1, price: -1}, constant: 0}`: "",
		`{terms: {fee: 0}, constant: -1}`:           "can never hold",
	} {
		_, err := compileWith(constraint)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", constraint, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", constraint, err, want)
		}
	}
}
