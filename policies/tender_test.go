package policies

import (
	"testing"

	"github.com/cohortnet/cohort/mpc/jobspec"
)

// TestCreditDefaultsWhenAbsent: a policy without the tender and order keys
// gets the defaults (the ledger's former constants), and stating the
// defaults changes neither the canonical form nor the hash.
func TestCreditDefaultsWhenAbsent(t *testing.T) {
	base, err := Parse([]byte(basePolicy))
	if err != nil {
		t.Fatal(err)
	}
	if base.Credit.TenderPenaltyBp != DefaultTenderPenaltyBp || base.Credit.Orders != DefaultOrderCredit {
		t.Fatalf("defaults: %d %+v", base.Credit.TenderPenaltyBp, base.Credit.Orders)
	}
	if want := (OrderCredit{Activated: 2, Breach: -20, Terminated: -10, Delivered: 10, DemanderPaid: 5}); DefaultOrderCredit != want {
		t.Fatalf("default order credit %+v, want the ledger's former constants %+v", DefaultOrderCredit, want)
	}
	explicit, err := Parse([]byte(replace(t, "  validator_min_grade: B\n", "  validator_min_grade: B\n  tender_penalty_bp: 5000\n"+
		"  orders: {activated: 2, breach: -20, terminated: -10, delivered: 10, demander_paid: 5}\n")))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := base.Canonical()
	b, _ := explicit.Canonical()
	if string(a) != string(b) || base.Hash() != explicit.Hash() {
		t.Fatalf("stating the defaults changed the canonical form:\n%s\n%s", a, b)
	}
}

func TestCreditKeysParsedAndCanonical(t *testing.T) {
	src := replace(t, "  validator_min_grade: B\n", "  validator_min_grade: B\n  tender_penalty_bp: 20000\n  orders: {breach: -40, delivered: 0}\n")
	p, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultOrderCredit
	want.Breach, want.Delivered = -40, 0
	if p.Credit.TenderPenaltyBp != 20000 || p.Credit.Orders != want {
		t.Fatalf("parsed %d %+v", p.Credit.TenderPenaltyBp, p.Credit.Orders)
	}
	c, err := p.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(c)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, c)
	}
	if q.Credit.TenderPenaltyBp != p.Credit.TenderPenaltyBp || q.Credit.Orders != p.Credit.Orders || q.Hash() != p.Hash() {
		t.Fatalf("canonical round trip: %+v vs %+v", q.Credit, p.Credit)
	}
	base, _ := Parse([]byte(basePolicy))
	if base.Hash() == p.Hash() {
		t.Fatal("the credit keys do not change the hash")
	}
}

func TestCreditKeysRefused(t *testing.T) {
	for _, c := range []struct{ add, want string }{
		{"  tender_penalty_bp: 1000001\n", "tender_penalty_bp: 1000001 is larger than 1000000"},
		{"  tender_penalty_bp: -1\n", "tender_penalty_bp: expected a whole number"},
		{"  orders: {breach: 5}\n", "orders.breach: 5 is outside -100..0"},
		{"  orders: {activated: -1}\n", "orders.activated: -1 is outside 0..100"},
		{"  orders: {delivered: 101}\n", "orders.delivered: 101 is outside 0..100"},
		{"  orders: {terminated: -05}\n", "orders.terminated: expected a whole number"},
		{"  orders: {paid: 1}\n", "orders.paid: unknown key"},
	} {
		mustFail(t, replace(t, "  validator_min_grade: B\n", "  validator_min_grade: B\n"+c.add), c.want)
	}
}

func TestTenderPriceFactor(t *testing.T) {
	p := mustDefault(t)
	for _, c := range []struct {
		rating int64
		want   uint64
	}{
		{MaxRating, 10000}, {0, 15000}, {600, 12000}, {999, 10005}, {1, 14995}, {-5, 15000}, {2000, 10000},
	} {
		if got := p.TenderPriceFactor(c.rating); got != c.want {
			t.Errorf("factor at rating %d: %d, want %d", c.rating, got, c.want)
		}
	}
	src := replace(t, "  validator_min_grade: B\n", "  validator_min_grade: B\n  tender_penalty_bp: 1000000\n")
	q, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if f := q.TenderPriceFactor(0); f != 1_010_000 || f > jobspec.MaxPriceFactor {
		t.Fatalf("largest factor %d, must stay within jobspec.MaxPriceFactor %d", f, jobspec.MaxPriceFactor)
	}
}

// TestChargeAttestedFaults: the key is off unless stated true; stating
// false is the same policy (canonical form, hash) as omitting it; true
// (with committees.creators, which it requires: TestChargeNeedsCreators)
// round-trips through the canonical form and changes the hash; anything
// but true/false is refused.
func TestChargeAttestedFaults(t *testing.T) {
	base, err := Parse([]byte(basePolicy))
	if err != nil {
		t.Fatal(err)
	}
	if base.Credit.ChargeAttestedFaults {
		t.Fatal("charge_attested_faults is on by default")
	}
	off, err := Parse([]byte(replace(t, "  validator_min_grade: B\n", "  validator_min_grade: B\n  charge_attested_faults: false\n")))
	if err != nil {
		t.Fatal(err)
	}
	if off.Credit.ChargeAttestedFaults || off.Hash() != base.Hash() {
		t.Fatal("stating charge_attested_faults: false changed the policy")
	}
	on, err := Parse([]byte(replace(t, "  validator_min_grade: B\n", "  validator_min_grade: B\n  charge_attested_faults: true\ncommittees: {creators: [supervisor]}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if !on.Credit.ChargeAttestedFaults || on.Hash() == base.Hash() {
		t.Fatal("charge_attested_faults: true not parsed or not in the hash")
	}
	c, err := on.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(c)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, c)
	}
	if !q.Credit.ChargeAttestedFaults || q.Hash() != on.Hash() {
		t.Fatalf("canonical round trip lost the key:\n%s", c)
	}
	for _, v := range []string{"yes", "1", "True", "on", "[true]"} {
		mustFail(t, replace(t, "  validator_min_grade: B\n", "  validator_min_grade: B\n  charge_attested_faults: "+v+"\n"), "charge_attested_faults")
	}
}
