package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/ledger"
)

const exampleOrderSpec = `{
  "id": "O-1", "product": "gearbox housings", "quantity": 100, "deadline_blocks": 50,
  "min_grade": "BBB", "max_partners": 3, "mode": "hybrid", "profit_pool": 1000000, "funds": 1080000,
  "threshold_bps": 8000,
  "partners": [
    {"member": "node1", "quantity": 60, "unit_value": 1000, "fixed_amount": 50000},
    {"member": "node2", "quantity": 40, "unit_value": 1500, "fixed_amount": 30000}
  ]
}`

func TestParseOrderSpec(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	terms, err := parseOrderSpec([]byte(exampleOrderSpec), 7, key)
	if err != nil {
		t.Fatal(err)
	}
	if terms.OrderId != "O-1" || terms.DeadlineHeight != 57 || terms.Mode != ledger.ModeHybrid || len(terms.Partners) != 2 ||
		terms.Partners[1].FixedAmount != 30000 || terms.Funds != 1_080_000 || !bytes.Equal(terms.CounterpartyKey, key) {
		t.Fatalf("terms %v", terms)
	}
	for _, bad := range []struct{ spec, err string }{
		{`{"id": "x", "deadline_blocks": 5, "partners": [{"member": "a"}], "price": 3}`, "unknown field"},
		{`{"id": "x", "deadline_blocks": 5, "partners": [{"member": "a"}]} {}`, "trailing"},
		{`{"id": "x", "deadline_blocks": 0, "partners": [{"member": "a"}]}`, "deadline_blocks"},
		{`{"id": "x", "deadline_blocks": 5, "partners": []}`, "partner"},
		{`{"id": "x", "quantity": -1}`, "cannot unmarshal"},
	} {
		if _, err := parseOrderSpec([]byte(bad.spec), 1, key); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("spec %s: error %v, want %q", bad.spec, err, bad.err)
		}
	}
}

// FuzzParseOrderSpec: arbitrary spec bytes never panic, and a spec that
// parses yields terms whose partner quantities are the spec's.
func FuzzParseOrderSpec(f *testing.F) {
	f.Add([]byte(exampleOrderSpec), int64(1))
	f.Add([]byte(`{"id":"a","deadline_blocks":1,"partners":[{"member":"b","quantity":1}]}`), int64(0))
	f.Add([]byte(`{`), int64(5))
	f.Fuzz(func(t *testing.T, raw []byte, height int64) {
		terms, err := parseOrderSpec(raw, height, nil)
		if err != nil {
			return
		}
		if len(terms.Partners) == 0 || terms.OrderId == "" || terms.MaxPartners == 0 {
			t.Fatalf("accepted a spec without partners, id or partner limit: %v", terms)
		}
	})
}
