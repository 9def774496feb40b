package policies

import (
	"testing"

	"github.com/cohortnet/cohort/mpc/jobspec"
)

// BenchmarkParseDefault measures Parse (decode, validate, compile) of the
// default policy, which the ledger runs at genesis, on restart and for
// every policy.update.
func BenchmarkParseDefault(b *testing.B) {
	data := DefaultYAML()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHash measures Canonical + SHA-256.
func BenchmarkHash(b *testing.B) {
	p, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = p.Hash()
	}
}

// BenchmarkCheckSubmit measures the per-job access check.
func BenchmarkCheckSubmit(b *testing.B) {
	p, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := p.CheckSubmit(RoleEnterprise, string(jobspec.AuctionVickrey), 650); err != nil {
			b.Fatal(err)
		}
	}
}
