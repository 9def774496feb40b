package policies

import (
	"context"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/zk"
)

func TestRecordValues(t *testing.T) {
	p := mustDefault(t)
	rs, _ := p.RuleSet("trade")
	x, err := rs.Values(map[string]string{"price": "1000.00", "quantity": "10", "fee": "49.99", "delivery_days": "30"})
	if err != nil {
		t.Fatal(err)
	}
	if x[0] != 100000 || x[1] != 10 || x[2] != 4999 || x[3] != 30 {
		t.Fatalf("values %v", x)
	}
	_, err = rs.Values(map[string]string{"price": "1000.001", "quantity": "-1", "fee": "1", "colour": "red"})
	for _, want := range []string{"price: 1000.001 CNY is not a whole number of 1/100 CNY", "quantity:", "missing field delivery_days", "unknown field colour"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

// TestComplianceProofFromPolicy runs the whole path a trade record takes:
// the default policy's trade rule set compiles to the compliance circuit's
// public coefficients; the zk layer's native check agrees with the compiled
// constraints; a Groth16 proof (development keys) over a compliant record
// verifies against the statement the ledger rebuilds from the policy, and
// not against another policy's constraints.
func TestComplianceProofFromPolicy(t *testing.T) {
	p := mustDefault(t)
	rs, _ := p.RuleSet("trade")
	cons := rs.Compiled.ZKConstraints()
	var salt fr.Element
	if _, err := salt.SetRandom(); err != nil {
		t.Fatal(err)
	}
	witness := func(record map[string]string) zk.ComplianceWitness {
		x, err := rs.Values(record)
		if err != nil {
			t.Fatal(err)
		}
		w := zk.ComplianceWitness{Salt: zk.FeltOf(salt), Constraints: cons}
		for _, v := range x {
			w.Fields = append(w.Fields, zk.Uint64(v))
		}
		return w
	}
	good := witness(map[string]string{"price": "1000.00", "quantity": "10", "fee": "50.00", "delivery_days": "30"})
	bad := witness(map[string]string{"price": "1000.00", "quantity": "10", "fee": "50.01", "delivery_days": "30"})
	if err := good.Check(); err != nil {
		t.Fatalf("zk native check rejects a compliant record: %v", err)
	}
	if err := bad.Check(); err == nil {
		t.Fatal("zk native check accepts a fee above the cap")
	}
	if testing.Short() {
		t.Skip("Groth16 setup and proof skipped in -short")
	}
	ctx := context.Background()
	keys, err := zk.DevSetup(ctx, zk.CircuitCompliance)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := keys.Prove(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Prove(ctx, bad); err == nil {
		t.Fatal("proved a non-compliant record")
	}
	reg := zk.NewRegistry()
	vkID, err := reg.Register(zk.CircuitCompliance, keys.VKBytes)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := pf.ProofBytes()
	if err != nil {
		t.Fatal(err)
	}
	st, err := good.Statement()
	if err != nil {
		t.Fatal(err)
	}
	commitment := st.(zk.ComplianceStatement).Commitment
	// The ledger rebuilds the statement from the on-chain commitment and the
	// channel's rule set in the current policy.
	ledgerStatement := zk.ComplianceStatement{Commitment: commitment, NumFields: len(rs.Compiled.Fields), Constraints: cons}
	if err := reg.VerifyStatement(vkID, ledgerStatement, proof); err != nil {
		t.Fatalf("proof does not verify against the policy's constraints: %v", err)
	}
	// A looser policy (fee ≤ 6%) has different public coefficients: the
	// proof does not transfer.
	looser, err := Parse([]byte(strings.Replace(string(DefaultYAML()), "fee <= 5% * price", "fee <= 6% * price", 1)))
	if err != nil {
		t.Fatal(err)
	}
	lrs, _ := looser.RuleSet("trade")
	other := zk.ComplianceStatement{Commitment: commitment, NumFields: len(lrs.Compiled.Fields), Constraints: lrs.Compiled.ZKConstraints()}
	if err := reg.VerifyStatement(vkID, other, proof); err == nil {
		t.Fatal("proof verifies against another policy's constraints")
	}
}
