package policies

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/cohortnet/cohort/zk"
)

// maxScale bounds a field's scale (10^18): larger scales leave no room in a
// 64-bit field for any value of the declared unit.
const maxScale = 1_000_000_000_000_000_000

// CompiledRuleSet is a rule set in the compliance circuit's form: over the
// fields' integer circuit values x (value in the declared unit × scale, in
// Fields order), every constraint is Σⱼ Coefficients[j]·xⱼ + Constant ≥ 0.
// Compilation is exact: a record satisfies every compiled constraint iff its
// field values satisfy the rule set's ranges and rules evaluated over exact
// rationals.
type CompiledRuleSet struct {
	Name        string
	Fields      []string
	Constraints []CompiledConstraint
}

// CompiledConstraint is Σⱼ Coefficients[j]·xⱼ + Constant ≥ 0, with
// len(Coefficients) == len(Fields), every coefficient an int64 and the
// constant within the circuit's ConstantBits.
type CompiledConstraint struct {
	// Origin says which range or rule the constraint came from, for people.
	Origin       string
	Coefficients []int64
	Constant     *big.Int
}

// ZKConstraints returns the constraints as the compliance circuit's public
// coefficients (zk.ComplianceStatement / zk.ComplianceWitness).
func (c *CompiledRuleSet) ZKConstraints() []zk.LinearConstraint {
	out := make([]zk.LinearConstraint, len(c.Constraints))
	for i, k := range c.Constraints {
		coefs := make([]zk.Int64, len(k.Coefficients))
		for j, a := range k.Coefficients {
			coefs[j] = zk.Int64(a)
		}
		out[i] = zk.LinearConstraint{Coefficients: coefs, Constant: zk.NewInt(k.Constant)}
	}
	return out
}

// Check evaluates the compiled constraints on circuit values (one per field,
// in Fields order) and reports every violated constraint.
func (c *CompiledRuleSet) Check(values []uint64) error {
	if len(values) != len(c.Fields) {
		return fmt.Errorf("rule set %s: %d values for %d fields", c.Name, len(values), len(c.Fields))
	}
	var bad []string
	for _, k := range c.Constraints {
		if k.eval(values).Sign() < 0 {
			bad = append(bad, k.Origin)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("rule set %s: violated: %s", c.Name, strings.Join(bad, "; "))
	}
	return nil
}

func (k CompiledConstraint) eval(values []uint64) *big.Int {
	v := new(big.Int).Set(k.Constant)
	var t, x big.Int
	for j, a := range k.Coefficients {
		t.Mul(big.NewInt(a), x.SetUint64(values[j]))
		v.Add(v, &t)
	}
	return v
}

// String writes the compiled rule set readably, one constraint a line,
// e.g. "c5: price − 20·fee ≥ 0   (fee-cap: fee <= 5% * price)", over the
// fields' circuit integers.
func (c *CompiledRuleSet) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule set %s: %d fields [%s], %d constraints\n", c.Name, len(c.Fields), strings.Join(c.Fields, ", "), len(c.Constraints))
	for i, k := range c.Constraints {
		fmt.Fprintf(&b, "  c%d: %s ≥ 0   (%s)\n", i, k.format(c.Fields), k.Origin)
	}
	return b.String()
}

func (k CompiledConstraint) format(fields []string) string {
	var b strings.Builder
	term := func(neg bool, mag string) {
		switch {
		case b.Len() == 0 && neg:
			b.WriteString("−")
		case b.Len() > 0 && neg:
			b.WriteString(" − ")
		case b.Len() > 0:
			b.WriteString(" + ")
		}
		b.WriteString(mag)
	}
	for j, a := range k.Coefficients {
		if a == 0 {
			continue
		}
		mag := new(big.Int).Abs(big.NewInt(a))
		if mag.Cmp(big.NewInt(1)) == 0 {
			term(a < 0, fields[j])
		} else {
			term(a < 0, mag.String()+"·"+fields[j])
		}
	}
	if k.Constant.Sign() != 0 || b.Len() == 0 {
		term(k.Constant.Sign() < 0, new(big.Int).Abs(k.Constant).String())
	}
	return b.String()
}

var (
	maxUint64Big = new(big.Int).SetUint64(math.MaxUint64)
	constBound   = new(big.Int).Lsh(big.NewInt(1), zk.ConstantBits-1)
	negConst     = new(big.Int).Neg(constBound)
)

// compileRuleSet validates a rule set's fields and rules and compiles them.
// It returns nil (after reporting) if anything is wrong.
func compileRuleSet(rs *RuleSet, path string, sink *errSink) *CompiledRuleSet {
	before := len(sink.list)
	out := &CompiledRuleSet{Name: rs.Name}
	fieldIdx := map[string]int{}
	type bounds struct {
		f      *Field
		lo, hi *big.Int
	}
	var ranges []bounds
	if len(rs.Fields) == 0 {
		sink.add(rs.at, join(path, "fields"), "a rule set needs at least one field")
	}
	for i := range rs.Fields {
		f := &rs.Fields[i]
		fp := index(join(path, "fields"), i)
		if f.Name == "" {
			continue // missing, already reported
		}
		if err := checkFieldName(f.Name); err != nil {
			sink.add(f.at, join(fp, "name"), "%v", err)
		}
		if _, dup := fieldIdx[f.Name]; dup {
			sink.add(f.at, join(fp, "name"), "field %q declared twice", f.Name)
			continue
		}
		fieldIdx[f.Name] = len(out.Fields)
		out.Fields = append(out.Fields, f.Name)
		b := bounds{f: f}
		scale := new(big.Rat).SetInt(new(big.Int).SetUint64(f.Scale))
		for _, e := range []struct {
			key string
			v   *big.Rat
			dst **big.Int
			at  pos
		}{{"min", f.Min, &b.lo, f.minAt}, {"max", f.Max, &b.hi, f.maxAt}} {
			if e.v == nil {
				continue
			}
			x := new(big.Rat).Mul(e.v, scale)
			if !x.IsInt() {
				sink.add(e.at, join(fp, e.key), "%s %s is not a whole number of 1/%d %s (the circuit stores %s × %d as an integer)",
					e.key, formatDecimal(e.v), f.Scale, f.Unit, f.Name, f.Scale)
				continue
			}
			if x.Num().Cmp(maxUint64Big) > 0 {
				sink.add(e.at, join(fp, e.key), "%s %s × scale %d exceeds the 64-bit field range (max %s)",
					e.key, formatDecimal(e.v), f.Scale, formatDecimal(new(big.Rat).SetFrac(maxUint64Big, scale.Num())))
				continue
			}
			*e.dst = new(big.Int).Set(x.Num())
		}
		if b.lo != nil && b.hi != nil && b.lo.Cmp(b.hi) > 0 {
			sink.add(f.at, fp, "empty range: min %s is above max %s", formatDecimal(f.Min), formatDecimal(f.Max))
		}
		ranges = append(ranges, b)
	}

	// Ranges: x − lo ≥ 0 and hi − x ≥ 0. Bounds the circuit already
	// enforces (0 ≤ x < 2^64) take no slot.
	n := len(out.Fields)
	rangeCount := 0
	for j, b := range ranges {
		if b.lo != nil && b.lo.Sign() > 0 {
			coefs := make([]int64, n)
			coefs[j] = 1
			out.Constraints = append(out.Constraints, CompiledConstraint{
				Origin:       fmt.Sprintf("range: %s >= %s %s", b.f.Name, formatDecimal(b.f.Min), b.f.Unit),
				Coefficients: coefs, Constant: new(big.Int).Neg(b.lo),
			})
			rangeCount++
		}
		if b.hi != nil && b.hi.Cmp(maxUint64Big) < 0 {
			coefs := make([]int64, n)
			coefs[j] = -1
			out.Constraints = append(out.Constraints, CompiledConstraint{
				Origin:       fmt.Sprintf("range: %s <= %s %s", b.f.Name, formatDecimal(b.f.Max), b.f.Unit),
				Coefficients: coefs, Constant: new(big.Int).Set(b.hi),
			})
			rangeCount++
		}
	}

	known := func(s string) bool { _, ok := fieldIdx[s]; return ok }
	names := map[string]bool{}
	for i := range rs.Constraints {
		c := &rs.Constraints[i]
		cp := index(join(path, "constraints"), i)
		if c.Name != "" {
			if err := checkName(c.Name); err != nil {
				sink.add(c.at, join(cp, "name"), "constraint name: %v", err)
			}
			if names[c.Name] {
				sink.add(c.at, join(cp, "name"), "constraint name %q used twice", c.Name)
			}
			names[c.Name] = true
		}
		var r rule
		var label string
		switch {
		case c.Rule != "":
			var err error
			r, err = parseRule(c.Rule, known)
			if err != nil {
				sink.add(c.at, cp, "rule %q: %v", clip(c.Rule), err)
				continue
			}
			label = c.Rule
		case len(c.Terms) > 0:
			var ok bool
			r, ok = termsRule(c, known, cp, sink)
			if !ok {
				continue
			}
			label = termsString(c)
		default:
			continue // missing or malformed: already reported
		}
		c.r = r
		if c.Name != "" {
			label = c.Name + ": " + label
		}
		// lhs op rhs ⇒ d ≥ 0 (or > 0) with d = lhs − rhs or rhs − lhs.
		type part struct {
			d      linear
			strict bool
			origin string
		}
		var parts []part
		switch r.op {
		case opGE, opGT:
			parts = []part{{r.lhs.plus(r.rhs, -1), r.op == opGT, label}}
		case opLE, opLT:
			parts = []part{{r.rhs.plus(r.lhs, -1), r.op == opLT, label}}
		case opEQ:
			parts = []part{{r.lhs.plus(r.rhs, -1), false, label + " (as >=)"}, {r.rhs.plus(r.lhs, -1), false, label + " (as <=)"}}
		}
		for _, pt := range parts {
			k, err := integerize(pt.d, rs.Fields, fieldIdx, n, pt.strict)
			if err != nil {
				sink.add(c.at, cp, "rule %q: %v", clip(label), err)
				break
			}
			k.Origin = pt.origin
			out.Constraints = append(out.Constraints, k)
		}
	}

	if len(sink.list) > before {
		return nil
	}
	if n > zk.MaxPolicyFields {
		sink.add(rs.at, path, "rule set %s has %d fields; the compliance circuit takes at most %d", rs.Name, n, zk.MaxPolicyFields)
	}
	if len(out.Constraints) > zk.MaxPolicyConstraints {
		sink.add(rs.at, path, "rule set %s compiles to %d constraints (%d from field ranges, %d from rules); the compliance circuit takes at most %d",
			rs.Name, len(out.Constraints), rangeCount, len(out.Constraints)-rangeCount, zk.MaxPolicyConstraints)
	}
	if len(sink.list) > before {
		return nil
	}
	return out
}

// integerize turns d ≥ 0 (strict: d > 0), over field values in declared
// units, into Σ Aⱼ·xⱼ + C ≥ 0 over integer circuit values xⱼ = valueⱼ·scaleⱼ:
//
//  1. substitute valueⱼ = xⱼ/scaleⱼ and multiply by the positive least common
//     multiple of all denominators: an equivalent integer inequality;
//  2. strict: over integers, D > 0 ⇔ D − 1 ≥ 0;
//  3. divide by g = gcd(Aⱼ) and round the constant down: for integer x,
//     Σ Aⱼxⱼ ≥ −C ⇔ Σ (Aⱼ/g)xⱼ ≥ ⌈−C/g⌉ ⇔ Σ (Aⱼ/g)xⱼ + ⌊C/g⌋ ≥ 0.
//
// Each step preserves the set of integer solutions, so the result is exact.
func integerize(d linear, fields []Field, idx map[string]int, n int, strict bool) (CompiledConstraint, error) {
	q := make([]*big.Rat, n)
	for j := range q {
		q[j] = new(big.Rat)
	}
	names := make([]string, 0, len(d.coef))
	for name := range d.coef {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		j := idx[name]
		scale := new(big.Rat).SetInt(new(big.Int).SetUint64(fields[fieldIndex(fields, name)].Scale))
		q[j].Quo(d.coef[name], scale)
	}
	lcm := new(big.Int).Set(d.c.Denom())
	for _, v := range q {
		lcm = lcmInt(lcm, v.Denom())
	}
	L := new(big.Rat).SetInt(lcm)
	A := make([]*big.Int, n)
	g := new(big.Int)
	for j, v := range q {
		A[j] = new(big.Rat).Mul(v, L).Num()
		g.GCD(nil, nil, g, new(big.Int).Abs(A[j]))
	}
	C := new(big.Rat).Mul(d.c, L).Num()
	if strict {
		C.Sub(C, big.NewInt(1))
	}
	if g.Sign() == 0 {
		if C.Sign() >= 0 {
			return CompiledConstraint{}, fmt.Errorf("the fields cancel out and the rule always holds; remove it")
		}
		return CompiledConstraint{}, fmt.Errorf("the fields cancel out and the rule can never hold")
	}
	coefs := make([]int64, n)
	for j := range A {
		A[j].Quo(A[j], g) // exact
		if !A[j].IsInt64() {
			return CompiledConstraint{}, fmt.Errorf("compiled coefficient %s of field %s does not fit the circuit's %d-bit signed coefficients; use smaller scales or simpler numbers",
				A[j], fieldNameAt(idx, j), zk.CoefficientBits)
		}
		coefs[j] = A[j].Int64()
	}
	C.Div(C, g) // Euclidean division by g > 0 is floor division
	if C.Cmp(negConst) < 0 || C.Cmp(constBound) >= 0 {
		return CompiledConstraint{}, fmt.Errorf("compiled constant %s does not fit the circuit's %d-bit signed constants", clip(C.String()), zk.ConstantBits)
	}
	return CompiledConstraint{Coefficients: coefs, Constant: C}, nil
}

// fieldIndex finds a declared field by name (the first, if duplicated).
func fieldIndex(fields []Field, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return i
		}
	}
	return 0
}

func fieldNameAt(idx map[string]int, j int) string {
	for name, i := range idx {
		if i == j {
			return name
		}
	}
	return "?"
}

func lcmInt(a, b *big.Int) *big.Int {
	g := new(big.Int).GCD(nil, nil, a, b)
	out := new(big.Int).Div(a, g)
	return out.Mul(out, b)
}

func sortStrings(s []string) { sort.Strings(s) }

// Values converts a record written in the fields' declared units (exact
// decimals, e.g. {"price": "1000.00", "quantity": "10"}) to the circuit's
// integer values, in Fields order: the private inputs of a compliance proof.
// Every field must be present, and no other key.
func (rs *RuleSet) Values(record map[string]string) ([]uint64, error) {
	var problems []string
	out := make([]uint64, len(rs.Fields))
	for j, f := range rs.Fields {
		s, ok := record[f.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("missing field %s", f.Name))
			continue
		}
		v, err := parseDecimal(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.Name, err))
			continue
		}
		x := v.Mul(v, new(big.Rat).SetInt(new(big.Int).SetUint64(f.Scale)))
		if !x.IsInt() || x.Num().Cmp(maxUint64Big) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s %s is not a whole number of 1/%d %s below 2^64", f.Name, clip(s), f.Unit, f.Scale, f.Unit))
			continue
		}
		out[j] = x.Num().Uint64()
	}
	var extra []string
	for k := range record {
		if fieldIndexOK(rs.Fields, k) < 0 {
			extra = append(extra, clip(k))
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		problems = append(problems, fmt.Sprintf("unknown field %s", k))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("rule set %s: record: %s", rs.Name, strings.Join(problems, "; "))
	}
	return out, nil
}

func fieldIndexOK(fields []Field, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// termsRule builds Σ coef·field + constant >= 0 from the structured form.
func termsRule(c *Constraint, known func(string) bool, path string, sink *errSink) (rule, bool) {
	lhs := linear{coef: map[string]*big.Rat{}, c: new(big.Rat)}
	if c.Constant != nil {
		lhs.c.Set(c.Constant)
	}
	ok := true
	for _, t := range c.Terms {
		if !known(t.Field) {
			sink.add(c.at, join(join(path, "terms"), t.Field), "unknown field %q (declare it under fields)", clip(t.Field))
			ok = false
			continue
		}
		lhs.coef[t.Field] = new(big.Rat).Set(t.Coef)
	}
	return rule{lhs: lhs, rhs: constLinear(new(big.Rat)), op: opGE}, ok
}

// termsString renders a structured constraint for people:
// "5·price − 100·fee ≥ 0".
func termsString(c *Constraint) string {
	var b strings.Builder
	for _, t := range c.Terms {
		v := new(big.Rat).Abs(t.Coef)
		switch {
		case b.Len() == 0 && t.Coef.Sign() < 0:
			b.WriteString("−")
		case b.Len() > 0 && t.Coef.Sign() < 0:
			b.WriteString(" − ")
		case b.Len() > 0:
			b.WriteString(" + ")
		}
		if v.Cmp(big.NewRat(1, 1)) != 0 {
			b.WriteString(formatDecimal(v) + "·")
		}
		b.WriteString(t.Field)
	}
	if c.Constant != nil {
		if c.Constant.Sign() < 0 {
			b.WriteString(" − " + formatDecimal(new(big.Rat).Neg(c.Constant)))
		} else {
			b.WriteString(" + " + formatDecimal(c.Constant))
		}
	}
	b.WriteString(" ≥ 0")
	return b.String()
}
