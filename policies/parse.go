package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse reads a policy file (YAML; canonical JSON is also accepted, being
// YAML), validates it and compiles its rule sets. On failure it returns an
// ErrorList with every error found, each with its YAML path and line.
// Parse is deterministic and never panics on any input.
func Parse(data []byte) (*Policy, error) {
	var sink errSink
	if len(data) > MaxPolicyBytes {
		sink.add(pos{}, "", "policy is %d bytes, at most %d", len(data), MaxPolicyBytes)
		return nil, sink.result()
	}
	root, err := decodeYAML(data)
	if err != nil {
		sink.list = append(sink.list, err)
		return nil, sink.result()
	}
	d := &decoder{sink: &sink}
	p := d.policy(root)
	validate(p, &sink)
	if err := sink.result(); err != nil {
		return nil, err
	}
	p.index()
	return p, nil
}

// decodeYAML parses exactly one YAML document into a node tree.
func decodeYAML(data []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Msg: "empty policy file"}
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		e := &Error{Msg: "a policy file holds exactly one YAML document"}
		if err == nil {
			e.Line, e.Column = extra.Line, extra.Column
		}
		return nil, e
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Msg: "empty policy file"}
	}
	return doc.Content[0], nil
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: …") into an Error
// with the line extracted.
func yamlError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{Msg: "YAML syntax: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				e.Line = n
				e.Msg = "YAML syntax: " + tail
			}
		}
	}
	return e
}

func at(n *yaml.Node) pos { return pos{n.Line, n.Column} }

type decoder struct{ sink *errSink }

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	var p pos
	if n != nil {
		p = at(n)
	}
	d.sink.add(p, path, format, args...)
}

// plain rejects aliases and anchors: policies are small and explicit, and
// refusing them removes alias-expansion attacks and shared-node surprises.
func (d *decoder) plain(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode {
		d.errorf(n, path, "YAML aliases are not allowed in policy files")
		return false
	}
	if n.Anchor != "" {
		d.errorf(n, path, "YAML anchors are not allowed in policy files")
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") || n.Tag == "!!binary" {
		d.errorf(n, path, "YAML tag %s is not allowed in policy files", clip(n.Tag))
		return false
	}
	return true
}

type pair struct {
	key  string
	k, v *yaml.Node
}

// mapping returns a mapping's entries, reporting non-mappings, non-string
// keys, duplicate keys and more than max entries (0 = no limit beyond the
// file size).
func (d *decoder) mapping(n *yaml.Node, path string, max int) []pair {
	if !d.plain(n, path) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping (key: value lines), found %s", kindName(n))
		return nil
	}
	count := len(n.Content) / 2
	if max > 0 && count > max {
		d.errorf(n, path, "%d entries, at most %d", count, max)
		return nil
	}
	out := make([]pair, 0, count)
	seen := make(map[string]pos, count)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.plain(k, path) {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			d.errorf(k, path, "keys must be plain strings")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "duplicate key (first defined at line %d)", first.line)
			continue
		}
		seen[k.Value] = at(k)
		out = append(out, pair{key: k.Value, k: k, v: v})
	}
	return out
}

type fieldSpec struct {
	key      string
	required bool
	decode   func(v *yaml.Node, path string)
}

// object decodes a mapping with a fixed set of keys: unknown keys and
// missing required keys are errors.
func (d *decoder) object(n *yaml.Node, path string, specs ...fieldSpec) {
	pairs := d.mapping(n, path, 0)
	if n.Kind != yaml.MappingNode {
		return
	}
	got := map[string]bool{}
	for _, p := range pairs {
		found := false
		for _, s := range specs {
			if s.key == p.key {
				found = true
				got[p.key] = true
				s.decode(p.v, join(path, p.key))
			}
		}
		if !found {
			d.errorf(p.k, join(path, p.key), "unknown key (expected one of: %s)", specKeys(specs))
		}
	}
	for _, s := range specs {
		if s.required && !got[s.key] {
			d.errorf(n, path, "missing required key %q", s.key)
		}
	}
}

func specKeys(specs []fieldSpec) string {
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = s.key
	}
	return strings.Join(keys, ", ")
}

func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if !d.plain(n, path) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected a single value, found %s", kindName(n))
		return "", false
	}
	if n.Tag == "!!null" {
		d.errorf(n, path, "missing value")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, path string, maxLen int) (string, bool) {
	s, ok := d.scalar(n, path)
	if !ok {
		return "", false
	}
	if len(s) > maxLen {
		d.errorf(n, path, "%d characters, at most %d", len(s), maxLen)
		return "", false
	}
	return s, true
}

func (d *decoder) uint(n *yaml.Node, path string, max uint64) (uint64, bool) {
	s, ok := d.scalar(n, path)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (len(s) > 1 && s[0] == '0') {
		d.errorf(n, path, "expected a whole number, found %q", clip(s))
		return 0, false
	}
	if v > max {
		d.errorf(n, path, "%d is larger than %d", v, max)
		return 0, false
	}
	return v, true
}

// bool decodes true or false, spelled so: YAML 1.1's yes/no/on/off are
// refused, so that a policy means the same to every YAML reader.
func (d *decoder) bool(n *yaml.Node, path string) (bool, bool) {
	s, ok := d.scalar(n, path)
	if !ok {
		return false, false
	}
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.errorf(n, path, "expected true or false, found %q", clip(s))
	return false, false
}

// int decodes a whole number in [lo, hi], possibly negative.
func (d *decoder) int(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	s, ok := d.scalar(n, path)
	if !ok {
		return 0, false
	}
	digits := strings.TrimPrefix(s, "-")
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || digits == "" || digits[0] == '+' || (len(digits) > 1 && digits[0] == '0') || s == "-0" {
		d.errorf(n, path, "expected a whole number, found %q", clip(s))
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, path, "%d is outside %d..%d", v, lo, hi)
		return 0, false
	}
	return v, true
}

func (d *decoder) decimal(n *yaml.Node, path string) (*big.Rat, bool) {
	s, ok := d.scalar(n, path)
	if !ok {
		return nil, false
	}
	v, err := parseDecimal(s)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return nil, false
	}
	return v, true
}

type strAt struct {
	s  string
	at pos
}

func (d *decoder) strList(n *yaml.Node, path string, max, maxLen int) []strAt {
	if !d.plain(n, path) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list ([a, b] or '- a' lines), found %s", kindName(n))
		return nil
	}
	if len(n.Content) > max {
		d.errorf(n, path, "%d items, at most %d", len(n.Content), max)
		return nil
	}
	out := make([]strAt, 0, len(n.Content))
	for i, item := range n.Content {
		if s, ok := d.str(item, index(path, i), maxLen); ok {
			out = append(out, strAt{s, at(item)})
		}
	}
	return out
}

func (d *decoder) seq(n *yaml.Node, path string, max int) []*yaml.Node {
	if !d.plain(n, path) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, found %s", kindName(n))
		return nil
	}
	if len(n.Content) > max {
		d.errorf(n, path, "%d items, at most %d", len(n.Content), max)
		return nil
	}
	return n.Content
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "an empty value"
		}
		return fmt.Sprintf("the value %q", clip(n.Value))
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a document"
	}
}

// join appends a key to a YAML path; keys that are not plain names are
// quoted (and clipped), so that every error stays on one line.
func join(path, key string) string {
	if !plainKey(key) {
		key = strconv.Quote(clip(key))
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func plainKey(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// --- the schema ---

func (d *decoder) policy(root *yaml.Node) *Policy {
	p := &Policy{}
	d.object(root, "",
		fieldSpec{"format", true, func(v *yaml.Node, path string) {
			if s, ok := d.str(v, path, maxNameLen); ok && s != Format {
				d.errorf(v, path, "unsupported format %q (this version reads %q)", clip(s), Format)
			}
		}},
		fieldSpec{"name", true, func(v *yaml.Node, path string) {
			if s, ok := d.str(v, path, maxNameLen); ok {
				p.Name = s
				if err := checkName(s); err != nil {
					d.errorf(v, path, "%v", err)
				}
			}
		}},
		fieldSpec{"revision", true, func(v *yaml.Node, path string) {
			if r, ok := d.uint(v, path, 1<<53); ok {
				p.Revision = r
			}
		}},
		fieldSpec{"description", false, func(v *yaml.Node, path string) {
			p.Description, _ = d.str(v, path, maxDescriptionLen)
		}},
		fieldSpec{"members", true, func(v *yaml.Node, path string) {
			for _, e := range d.mapping(v, path, MaxMembers) {
				m := Member{Name: e.key, at: at(e.k)}
				m.Role, _ = d.str(e.v, join(path, e.key), maxNameLen)
				p.Members = append(p.Members, m)
			}
		}},
		fieldSpec{"governance", true, func(v *yaml.Node, path string) {
			d.object(v, path,
				fieldSpec{"supervisors_quorum", true, func(v *yaml.Node, path string) {
					if q, ok := d.uint(v, path, MaxMembers); ok {
						p.Governance.at = at(v) // checked against the supervisors in validate
						p.Governance.SupervisorsQuorum = int(q)
					}
				}})
		}},
		fieldSpec{"committees", false, func(v *yaml.Node, path string) {
			p.Committees.at = at(v)
			d.object(v, path,
				fieldSpec{"creators", true, func(v *yaml.Node, path string) {
					p.Committees.at = at(v)
					for _, r := range d.strList(v, path, len(Roles())*2, maxNameLen) {
						p.Committees.Creators = append(p.Committees.Creators, r.s)
						p.Committees.creatorAt = append(p.Committees.creatorAt, r.at)
					}
				}})
		}},
		fieldSpec{"credit", true, func(v *yaml.Node, path string) { d.credit(v, path, &p.Credit) }},
		fieldSpec{"jobs", true, func(v *yaml.Node, path string) {
			for _, e := range d.mapping(v, path, len(JobTypes())*2) {
				p.Jobs = append(p.Jobs, d.job(e, join(path, e.key)))
			}
		}},
		fieldSpec{"rule_sets", false, func(v *yaml.Node, path string) {
			for _, e := range d.mapping(v, path, MaxRuleSets) {
				p.RuleSets = append(p.RuleSets, d.ruleSet(e, join(path, e.key)))
			}
		}},
		fieldSpec{"channels", false, func(v *yaml.Node, path string) {
			for _, e := range d.mapping(v, path, MaxChannels) {
				p.Channels = append(p.Channels, d.channel(e, join(path, e.key)))
			}
		}},
	)
	return p
}

func (d *decoder) credit(n *yaml.Node, path string, c *Credit) {
	c.TenderPenaltyBp, c.Orders = DefaultTenderPenaltyBp, DefaultOrderCredit
	if n.Kind == yaml.MappingNode {
		c.at = at(n) // marks the section present
	}
	d.object(n, path,
		fieldSpec{"grades", true, func(v *yaml.Node, path string) {
			c.at = at(v)
			for i, g := range d.seq(v, path, MaxGrades) {
				gr := Grade{at: at(g)}
				ip := index(path, i)
				d.object(g, ip,
					fieldSpec{"grade", true, func(v *yaml.Node, path string) { gr.Name, _ = d.str(v, path, maxNameLen) }},
					fieldSpec{"min", true, func(v *yaml.Node, path string) {
						if m, ok := d.uint(v, path, MaxRating); ok {
							gr.Min = uint32(m)
						}
					}},
				)
				c.Grades = append(c.Grades, gr)
			}
		}},
		fieldSpec{"committee_min_grade", true, func(v *yaml.Node, path string) {
			c.committeeAt = at(v)
			c.CommitteeMinGrade, _ = d.str(v, path, maxNameLen)
		}},
		fieldSpec{"validator_min_grade", true, func(v *yaml.Node, path string) {
			c.validatorAt = at(v)
			c.ValidatorMinGrade, _ = d.str(v, path, maxNameLen)
		}},
		fieldSpec{"tender_penalty_bp", false, func(v *yaml.Node, path string) {
			c.TenderPenaltyBp, _ = d.uint(v, path, MaxTenderPenaltyBp)
		}},
		fieldSpec{"orders", false, func(v *yaml.Node, path string) { d.orderCredit(v, path, &c.Orders) }},
		fieldSpec{"charge_attested_faults", false, func(v *yaml.Node, path string) {
			c.chargeAt = at(v)
			c.ChargeAttestedFaults, _ = d.bool(v, path)
		}},
	)
}

// orderCredit decodes credit.orders: every key is optional and defaults to
// DefaultOrderCredit's value; rewards are 0..MaxOrderCreditMove and
// penalties -MaxOrderCreditMove..0.
func (d *decoder) orderCredit(n *yaml.Node, path string, oc *OrderCredit) {
	move := func(dst *int64, penalty bool) func(v *yaml.Node, path string) {
		return func(v *yaml.Node, path string) {
			lo, hi := int64(0), int64(MaxOrderCreditMove)
			if penalty {
				lo, hi = -MaxOrderCreditMove, 0
			}
			if x, ok := d.int(v, path, lo, hi); ok {
				*dst = x
			}
		}
	}
	d.object(n, path,
		fieldSpec{"activated", false, move(&oc.Activated, false)},
		fieldSpec{"breach", false, move(&oc.Breach, true)},
		fieldSpec{"terminated", false, move(&oc.Terminated, true)},
		fieldSpec{"delivered", false, move(&oc.Delivered, false)},
		fieldSpec{"demander_paid", false, move(&oc.DemanderPaid, false)},
	)
}

func (d *decoder) job(e pair, path string) JobRule {
	j := JobRule{Type: e.key, at: at(e.k), gradeAt: at(e.v)}
	d.object(e.v, path,
		fieldSpec{"roles", true, func(v *yaml.Node, path string) {
			for _, r := range d.strList(v, path, len(Roles())*2, maxNameLen) {
				j.Roles = append(j.Roles, r.s)
			}
		}},
		fieldSpec{"min_grade", true, func(v *yaml.Node, path string) {
			j.gradeAt = at(v)
			j.MinGrade, _ = d.str(v, path, maxNameLen)
		}},
	)
	return j
}

func (d *decoder) ruleSet(e pair, path string) RuleSet {
	rs := RuleSet{Name: e.key, at: at(e.k)}
	d.object(e.v, path,
		fieldSpec{"description", false, func(v *yaml.Node, path string) {
			rs.Description, _ = d.str(v, path, maxDescriptionLen)
		}},
		fieldSpec{"fields", true, func(v *yaml.Node, path string) {
			for i, f := range d.seq(v, path, MaxRuleSetFields) {
				rs.Fields = append(rs.Fields, d.field(f, index(path, i)))
			}
		}},
		fieldSpec{"constraints", false, func(v *yaml.Node, path string) {
			for i, c := range d.seq(v, path, MaxRuleSetConstraints) {
				rs.Constraints = append(rs.Constraints, d.constraint(c, index(path, i)))
			}
		}},
	)
	return rs
}

func (d *decoder) field(n *yaml.Node, path string) Field {
	f := Field{at: at(n), Scale: 1}
	d.object(n, path,
		fieldSpec{"name", true, func(v *yaml.Node, path string) { f.Name, _ = d.str(v, path, maxNameLen) }},
		fieldSpec{"unit", true, func(v *yaml.Node, path string) { f.Unit, _ = d.str(v, path, maxUnitLen) }},
		fieldSpec{"scale", false, func(v *yaml.Node, path string) {
			if s, ok := d.uint(v, path, maxScale); ok {
				if s == 0 {
					d.errorf(v, path, "scale must be at least 1")
					return
				}
				f.Scale = s
			}
		}},
		fieldSpec{"min", false, func(v *yaml.Node, path string) {
			f.minAt = at(v)
			f.Min, _ = d.decimal(v, path)
			if f.Min != nil && f.Min.Sign() == 0 {
				f.Min = nil // min 0 is the circuit's own bound: same policy, same canonical form
			}
		}},
		fieldSpec{"max", false, func(v *yaml.Node, path string) { f.maxAt = at(v); f.Max, _ = d.decimal(v, path) }},
		fieldSpec{"description", false, func(v *yaml.Node, path string) { f.Description, _ = d.str(v, path, maxDescriptionLen) }},
	)
	return f
}

// constraint accepts a bare rule string or {name, rule}.
func (d *decoder) constraint(n *yaml.Node, path string) Constraint {
	c := Constraint{at: at(n)}
	if n.Kind == yaml.ScalarNode {
		c.Rule, _ = d.str(n, path, maxRuleLen)
		return c
	}
	hasRule, hasTerms, hasConstant := false, false, false
	d.object(n, path,
		fieldSpec{"name", false, func(v *yaml.Node, path string) { c.Name, _ = d.str(v, path, maxNameLen) }},
		fieldSpec{"rule", false, func(v *yaml.Node, path string) {
			hasRule = true
			c.at = at(v)
			c.Rule, _ = d.str(v, path, maxRuleLen)
		}},
		fieldSpec{"terms", false, func(v *yaml.Node, path string) {
			hasTerms = true
			c.at = at(v)
			for _, e := range d.mapping(v, path, MaxRuleSetFields) {
				if s, ok := d.scalar(e.v, join(path, e.key)); ok {
					coef, err := parseSignedDecimal(s)
					if err != nil {
						d.errorf(e.v, join(path, e.key), "%v", err)
						continue
					}
					c.Terms = append(c.Terms, Term{Field: e.key, Coef: coef})
				}
			}
			sort.Slice(c.Terms, func(i, j int) bool { return c.Terms[i].Field < c.Terms[j].Field })
			if len(c.Terms) == 0 && v.Kind == yaml.MappingNode {
				d.errorf(v, path, "no terms: list field: coefficient pairs")
			}
		}},
		fieldSpec{"constant", false, func(v *yaml.Node, path string) {
			hasConstant = true
			if s, ok := d.scalar(v, path); ok {
				k, err := parseSignedDecimal(s)
				if err != nil {
					d.errorf(v, path, "%v", err)
					return
				}
				if k.Sign() != 0 {
					c.Constant = k
				}
			}
		}},
	)
	switch {
	case n.Kind != yaml.MappingNode:
	case hasRule && hasTerms:
		d.errorf(n, path, "give either rule or terms, not both")
	case !hasRule && !hasTerms:
		d.errorf(n, path, "missing rule (e.g. rule: \"fee <= 5%% * price\") or terms (e.g. terms: {price: 5, fee: -100})")
	case hasConstant && !hasTerms:
		d.errorf(n, path, "constant belongs to the terms form; write it inside the rule")
	}
	return c
}

func (d *decoder) channel(e pair, path string) Channel {
	ch := Channel{Name: e.key, at: at(e.k)}
	d.object(e.v, path,
		fieldSpec{"description", false, func(v *yaml.Node, path string) {
			ch.Description, _ = d.str(v, path, maxDescriptionLen)
		}},
		fieldSpec{"members", true, func(v *yaml.Node, path string) {
			for _, m := range d.strList(v, path, MaxMembers, maxNameLen) {
				ch.Members = append(ch.Members, m.s)
				ch.memberAt = append(ch.memberAt, m.at)
			}
		}},
		fieldSpec{"rule_set", true, func(v *yaml.Node, path string) {
			ch.ruleSetAt = at(v)
			ch.RuleSet, _ = d.str(v, path, maxNameLen)
		}},
	)
	return ch
}

// index builds the lookup maps and sorts named collections.
func (p *Policy) index() {
	sort.Slice(p.Members, func(i, j int) bool { return p.Members[i].Name < p.Members[j].Name })
	sort.Slice(p.Jobs, func(i, j int) bool { return p.Jobs[i].Type < p.Jobs[j].Type })
	sort.Slice(p.RuleSets, func(i, j int) bool { return p.RuleSets[i].Name < p.RuleSets[j].Name })
	sort.Slice(p.Channels, func(i, j int) bool { return p.Channels[i].Name < p.Channels[j].Name })
	p.members = make(map[string]int, len(p.Members))
	for i, m := range p.Members {
		p.members[m.Name] = i
	}
	p.jobs = make(map[string]int, len(p.Jobs))
	for i, j := range p.Jobs {
		p.jobs[j.Type] = i
	}
	p.ruleSets = make(map[string]int, len(p.RuleSets))
	for i, r := range p.RuleSets {
		p.ruleSets[r.Name] = i
	}
	p.channels = make(map[string]int, len(p.Channels))
	for i, c := range p.Channels {
		p.channels[c.Name] = i
	}
	p.grades = make(map[string]int, len(p.Credit.Grades))
	for i, g := range p.Credit.Grades {
		p.grades[g.Name] = i
	}
}
