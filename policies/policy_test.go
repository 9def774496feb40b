package policies

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/mpc/jobspec"
)

func mustDefault(t *testing.T) *Policy {
	t.Helper()
	p, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultPolicy(t *testing.T) {
	p := mustDefault(t)
	if p.Name != "electronics-cluster" || p.Revision != 1 {
		t.Fatalf("name/revision: %s %d", p.Name, p.Revision)
	}
	wantRoles := map[string]string{"node0": RoleEnterprise, "node1": RoleEnterprise, "node2": RolePlatform, "node3": RoleSupervisor}
	if len(p.Members) != len(wantRoles) {
		t.Fatalf("%d members", len(p.Members))
	}
	for name, role := range wantRoles {
		m, ok := p.Member(name)
		if !ok || m.Role != role {
			t.Errorf("member %s: %+v %v", name, m, ok)
		}
	}
	if got := p.Supervisors(); len(got) != 1 || got[0] != "node3" {
		t.Errorf("supervisors %v", got)
	}
	for name, members := range map[string][]string{
		"demander-platform-supervisor":          {"node0", "node2", "node3"},
		"demander-platform-provider-supervisor": {"node0", "node2", "node1", "node3"},
	} {
		ch, ok := p.Channel(name)
		if !ok || strings.Join(ch.Members, ",") != strings.Join(members, ",") || ch.RuleSet != "trade" {
			t.Errorf("channel %s: %+v", name, ch)
		}
	}
	rs, ok := p.RuleSet("trade")
	if !ok || rs.Compiled == nil {
		t.Fatal("no compiled trade rule set")
	}
	if got := strings.Join(rs.Compiled.Fields, ","); got != "price,quantity,fee,delivery_days" {
		t.Errorf("fields %s", got)
	}
	// The fee cap: fee ≤ 5%·price over fen compiles to price − 20·fee ≥ 0.
	found := false
	for _, c := range rs.Compiled.Constraints {
		if c.Coefficients[0] == 1 && c.Coefficients[2] == -20 && c.Constant.Sign() == 0 && c.Coefficients[1] == 0 && c.Coefficients[3] == 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("fee cap not compiled as expected:\n%s", rs.Compiled)
	}
	// A compliant trade: 1,000.00 CNY, 10 pieces, fee 50.00 CNY, 30 days.
	if err := rs.Compiled.Check([]uint64{100000, 10, 5000, 30}); err != nil {
		t.Errorf("compliant trade rejected: %v", err)
	}
	// Fee 50.01 CNY is above 5%.
	if err := rs.Compiled.Check([]uint64{100000, 10, 5001, 30}); err == nil || !strings.Contains(err.Error(), "fee-cap") {
		t.Errorf("fee above cap: %v", err)
	}
	if err := rs.Compiled.Check([]uint64{100000, 0, 0, 30}); err == nil || !strings.Contains(err.Error(), "nonempty-order") {
		t.Errorf("zero quantity: %v", err)
	}
	zc := rs.Compiled.ZKConstraints()
	if len(zc) != len(rs.Compiled.Constraints) || len(zc[0].Coefficients) != 4 {
		t.Fatalf("zk constraints: %d", len(zc))
	}
}

func TestGradesAndAccess(t *testing.T) {
	p := mustDefault(t)
	for _, c := range []struct {
		rating uint32
		grade  string
	}{{1000, "AAA"}, {900, "AAA"}, {899, "AA"}, {700, "A"}, {600, "BBB"}, {599, "BB"}, {400, "B"}, {399, "C"}, {0, "C"}} {
		g, err := p.GradeOf(c.rating)
		if err != nil || g != c.grade {
			t.Errorf("GradeOf(%d) = %s, %v; want %s", c.rating, g, err, c.grade)
		}
	}
	if _, err := p.GradeOf(1001); err == nil {
		t.Error("rating 1001 accepted")
	}
	if err := p.CheckSubmit(RoleEnterprise, string(jobspec.AuctionVickrey), 600); err != nil {
		t.Errorf("enterprise BBB auction: %v", err)
	}
	if err := p.CheckSubmit(RoleEnterprise, string(jobspec.AuctionVickrey), 599); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("enterprise BB auction: %v", err)
	}
	if err := p.CheckSubmit(RoleEnterprise, string(jobspec.Clearing), 1000); !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "platform") {
		t.Errorf("enterprise clearing: %v", err)
	}
	if err := p.CheckSubmit(RolePlatform, string(jobspec.Clearing), 650); err != nil {
		t.Errorf("platform clearing: %v", err)
	}
	if err := p.CheckSubmit(RolePlatform, "mining", 1000); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("unknown job: %v", err)
	}
	if err := p.CheckCommittee(600); err != nil {
		t.Error(err)
	}
	if err := p.CheckCommittee(599); !errors.Is(err, ErrNotPermitted) {
		t.Error(err)
	}
	if !p.KeepsValidatorPower(500) || p.KeepsValidatorPower(499) || p.KeepsValidatorPower(5000) {
		t.Error("validator threshold")
	}
}

func TestParseDecimal(t *testing.T) {
	for s, want := range map[string]string{"0": "0", "5": "5", "0.05": "1/20", "12.50": "25/2", "007": "7"} {
		v, err := parseDecimal(s)
		if err != nil || v.Cmp(ratOf(want)) != 0 {
			t.Errorf("parseDecimal(%q) = %v, %v; want %s", s, v, err, want)
		}
	}
	for _, s := range []string{"", ".5", "5.", "-1", "1e3", "0x10", "1_000", "1.2.3", strings.Repeat("9", 41)} {
		if _, err := parseDecimal(s); err == nil {
			t.Errorf("parseDecimal(%q) accepted", s)
		}
	}
	for s, want := range map[string]string{"1/20": "0.05", "25/2": "12.5", "7": "7", "1/3": "1/3", "1/1024": "0.0009765625"} {
		if got := formatDecimal(ratOf(s)); got != want {
			t.Errorf("formatDecimal(%s) = %s, want %s", s, got, want)
		}
	}
}

func ratOf(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// TestRuleEvaluation pins the exact evaluator the property test relies on.
func TestRuleEvaluation(t *testing.T) {
	r, err := parseRule("fee <= 5% * price", func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if !r.holds(map[string]*big.Rat{"fee": ratOf("5"), "price": ratOf("100")}) ||
		r.holds(map[string]*big.Rat{"fee": ratOf("5.01"), "price": ratOf("100")}) {
		t.Fatal("fee rule evaluated wrongly")
	}
}
