package policies

import (
	"fmt"
	"math/big"
	"strings"
)

// Rule syntax (one linear comparison, in the fields' declared units):
//
//	rule   := expr op expr          op ∈ { <=, >=, <, >, == }
//	expr   := ['+'|'-'] term { ('+'|'-') term }
//	term   := factor { ('*'|'/') factor }
//	factor := number ['%'] | field | '(' expr ')' | '-' factor
//
// Numbers are exact decimals ("0.05", "5%" = 0.05); a product needs at least
// one constant side and a divisor must be a non-zero constant, so every rule
// is linear: Σⱼ qⱼ·fieldⱼ + q₀ op 0 with exact rational qⱼ.
//
// Examples: "fee <= 0.05 * price", "fee <= 5% * price", "quantity > 0",
// "price * quantity <= 1000000" is rejected (not linear).

const (
	maxRuleLen   = 512
	maxRuleDepth = 16
)

// linear is Σ coef[name]·name + c with exact rational coefficients.
type linear struct {
	coef map[string]*big.Rat
	c    *big.Rat
}

func constLinear(v *big.Rat) linear { return linear{coef: map[string]*big.Rat{}, c: v} }

func (l linear) isConst() bool {
	for _, v := range l.coef {
		if v.Sign() != 0 {
			return false
		}
	}
	return true
}

func (l linear) scaled(k *big.Rat) linear {
	out := linear{coef: make(map[string]*big.Rat, len(l.coef)), c: new(big.Rat).Mul(l.c, k)}
	for n, v := range l.coef {
		out.coef[n] = new(big.Rat).Mul(v, k)
	}
	return out
}

func (l linear) plus(o linear, sign int) linear {
	out := linear{coef: make(map[string]*big.Rat, len(l.coef)+len(o.coef)), c: new(big.Rat).Set(l.c)}
	for n, v := range l.coef {
		out.coef[n] = new(big.Rat).Set(v)
	}
	for n, v := range o.coef {
		t := new(big.Rat).Set(v)
		if sign < 0 {
			t.Neg(t)
		}
		if cur, ok := out.coef[n]; ok {
			cur.Add(cur, t)
		} else {
			out.coef[n] = t
		}
	}
	if sign < 0 {
		out.c.Sub(out.c, o.c)
	} else {
		out.c.Add(out.c, o.c)
	}
	return out
}

// eval computes the form exactly for field values given in declared units.
func (l linear) eval(values map[string]*big.Rat) *big.Rat {
	v := new(big.Rat).Set(l.c)
	for n, q := range l.coef {
		v.Add(v, new(big.Rat).Mul(q, values[n]))
	}
	return v
}

// cmpOp is a rule's comparison.
type cmpOp string

const (
	opLE cmpOp = "<="
	opGE cmpOp = ">="
	opLT cmpOp = "<"
	opGT cmpOp = ">"
	opEQ cmpOp = "=="
)

// rule is a parsed comparison lhs op rhs.
type rule struct {
	lhs, rhs linear
	op       cmpOp
}

// holds evaluates the rule exactly on field values in declared units.
func (r rule) holds(values map[string]*big.Rat) bool {
	c := r.lhs.eval(values).Cmp(r.rhs.eval(values))
	switch r.op {
	case opLE:
		return c <= 0
	case opGE:
		return c >= 0
	case opLT:
		return c < 0
	case opGT:
		return c > 0
	default:
		return c == 0
	}
}

type tokKind int

const (
	tEOF tokKind = iota
	tNum
	tIdent
	tOp // + - * / ( ) %
	tCmp
)

type token struct {
	kind tokKind
	text string
	at   int // byte offset, for error messages
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			i++
		case ch >= '0' && ch <= '9' || ch == '.':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			out = append(out, token{tNum, s[i:j], i})
			i = j
		case isIdentStart(ch):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			out = append(out, token{tIdent, s[i:j], i})
			i = j
		case strings.ContainsRune("+-*/()%", rune(ch)):
			out = append(out, token{tOp, s[i : i+1], i})
			i++
		case ch == '<' || ch == '>' || ch == '=' || ch == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			text := s[i:j]
			if text == "=" {
				text = "=="
			}
			if text == "!=" || text == "!" {
				return nil, fmt.Errorf("at column %d: %q is not supported (the circuit proves ≥ constraints; use <, <=, >, >= or ==)", i+1, s[i:j])
			}
			out = append(out, token{tCmp, text, i})
			i = j
		default:
			return nil, fmt.Errorf("at column %d: unexpected character %q", i+1, rune(ch))
		}
	}
	return append(out, token{tEOF, "", len(s)}), nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

type exprParser struct {
	toks  []token
	i     int
	depth int
	known func(string) bool
}

// parseRule parses one rule. known reports whether a name is a declared field.
func parseRule(s string, known func(string) bool) (rule, error) {
	if strings.TrimSpace(s) == "" {
		return rule{}, fmt.Errorf("empty rule")
	}
	if len(s) > maxRuleLen {
		return rule{}, fmt.Errorf("rule is %d characters, at most %d", len(s), maxRuleLen)
	}
	toks, err := tokenize(s)
	if err != nil {
		return rule{}, err
	}
	p := &exprParser{toks: toks, known: known}
	lhs, err := p.expr()
	if err != nil {
		return rule{}, err
	}
	t := p.next()
	if t.kind != tCmp {
		return rule{}, p.unexpected(t, "a comparison (<=, >=, <, >, ==)")
	}
	rhs, err := p.expr()
	if err != nil {
		return rule{}, err
	}
	if t2 := p.next(); t2.kind != tEOF {
		if t2.kind == tCmp {
			return rule{}, fmt.Errorf("at column %d: chained comparisons are not supported; write one rule per comparison", t2.at+1)
		}
		return rule{}, p.unexpected(t2, "the end of the rule")
	}
	return rule{lhs: lhs, rhs: rhs, op: cmpOp(t.text)}, nil
}

func (p *exprParser) peek() token { return p.toks[p.i] }

func (p *exprParser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *exprParser) unexpected(t token, want string) error {
	if t.kind == tEOF {
		return fmt.Errorf("rule ends early: expected %s", want)
	}
	return fmt.Errorf("at column %d: expected %s, found %q", t.at+1, want, t.text)
}

func (p *exprParser) expr() (linear, error) {
	sign := 1
	if t := p.peek(); t.kind == tOp && (t.text == "+" || t.text == "-") {
		p.next()
		if t.text == "-" {
			sign = -1
		}
	}
	acc, err := p.term()
	if err != nil {
		return linear{}, err
	}
	if sign < 0 {
		acc = acc.scaled(big.NewRat(-1, 1))
	}
	for {
		t := p.peek()
		if t.kind != tOp || (t.text != "+" && t.text != "-") {
			return acc, nil
		}
		p.next()
		rhs, err := p.term()
		if err != nil {
			return linear{}, err
		}
		if t.text == "+" {
			acc = acc.plus(rhs, 1)
		} else {
			acc = acc.plus(rhs, -1)
		}
	}
}

func (p *exprParser) term() (linear, error) {
	acc, err := p.factor()
	if err != nil {
		return linear{}, err
	}
	for {
		t := p.peek()
		if t.kind != tOp || (t.text != "*" && t.text != "/") {
			return acc, nil
		}
		p.next()
		rhs, err := p.factor()
		if err != nil {
			return linear{}, err
		}
		switch {
		case t.text == "/":
			if !rhs.isConst() {
				return linear{}, fmt.Errorf("at column %d: division by a field is not linear; multiply both sides instead", t.at+1)
			}
			if rhs.c.Sign() == 0 {
				return linear{}, fmt.Errorf("at column %d: division by zero", t.at+1)
			}
			acc = acc.scaled(new(big.Rat).Inv(rhs.c))
		case rhs.isConst():
			acc = acc.scaled(rhs.c)
		case acc.isConst():
			acc = rhs.scaled(acc.c)
		default:
			return linear{}, fmt.Errorf("at column %d: product of two fields is not linear (the compliance circuit proves linear constraints)", t.at+1)
		}
	}
}

func (p *exprParser) factor() (linear, error) {
	t := p.next()
	switch {
	case t.kind == tNum:
		v, err := parseDecimal(t.text)
		if err != nil {
			return linear{}, fmt.Errorf("at column %d: %w", t.at+1, err)
		}
		if n := p.peek(); n.kind == tOp && n.text == "%" {
			p.next()
			v.Mul(v, big.NewRat(1, 100))
		}
		return constLinear(v), nil
	case t.kind == tIdent:
		if !p.known(t.text) {
			return linear{}, fmt.Errorf("at column %d: unknown field %q (declare it under fields)", t.at+1, clip(t.text))
		}
		return linear{coef: map[string]*big.Rat{t.text: big.NewRat(1, 1)}, c: new(big.Rat)}, nil
	case t.kind == tOp && t.text == "(":
		p.depth++
		if p.depth > maxRuleDepth {
			return linear{}, fmt.Errorf("at column %d: parentheses nested deeper than %d", t.at+1, maxRuleDepth)
		}
		inner, err := p.expr()
		if err != nil {
			return linear{}, err
		}
		p.depth--
		if c := p.next(); c.kind != tOp || c.text != ")" {
			return linear{}, p.unexpected(c, "')'")
		}
		return inner, nil
	case t.kind == tOp && t.text == "-":
		p.depth++
		if p.depth > maxRuleDepth {
			return linear{}, fmt.Errorf("at column %d: too many nested signs", t.at+1)
		}
		inner, err := p.factor()
		p.depth--
		if err != nil {
			return linear{}, err
		}
		return inner.scaled(big.NewRat(-1, 1)), nil
	default:
		return linear{}, p.unexpected(t, "a number, a field or '('")
	}
}
