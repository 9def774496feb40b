package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/policies"
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
	terms, err := parseOrderSpec([]byte(exampleOrderSpec), 7, key, false)
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
		if _, err := parseOrderSpec([]byte(bad.spec), 1, key, false); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("spec %s: error %v, want %q", bad.spec, err, bad.err)
		}
	}
}

// FuzzParseOrderSpec: arbitrary spec bytes never panic, and a spec that
// parses yields terms with an ID and a partner limit, partners unless it is
// a tender order and a max price only if it is (even heights parse as
// tender specs).
func FuzzParseOrderSpec(f *testing.F) {
	f.Add([]byte(exampleOrderSpec), int64(1))
	f.Add([]byte(`{"id":"a","deadline_blocks":1,"partners":[{"member":"b","quantity":1}]}`), int64(1))
	f.Add([]byte(`{"id":"a","deadline_blocks":1,"quantity":5,"max_partners":2,"max_price":9}`), int64(2))
	f.Add([]byte(`{`), int64(5))
	f.Fuzz(func(t *testing.T, raw []byte, height int64) {
		terms, err := parseOrderSpec(raw, height, nil, height%2 == 0)
		tender := height%2 == 0
		if err != nil {
			return
		}
		if len(terms.Partners) == 0 != tender || terms.OrderId == "" || terms.MaxPartners == 0 || tender != (terms.MaxPrice != 0) {
			t.Fatalf("accepted a spec without partners (or a tender with some), id, partner limit or max price: %v", terms)
		}
	})
}

const exampleTenderSpec = `{
  "id": "T-1", "product": "motor housings", "quantity": 100, "deadline_blocks": 500,
  "min_grade": "BBB", "max_partners": 2, "mode": "fixed", "funds": 5000, "max_price": 50,
  "threshold_bps": 8000, "partners": []
}`

func TestParseTenderOrderSpec(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	terms, err := parseOrderSpec([]byte(exampleTenderSpec), 10, key, true)
	if err != nil {
		t.Fatal(err)
	}
	if !terms.Tender || terms.MaxPrice != 50 || len(terms.Partners) != 0 || terms.MaxPartners != 2 || terms.Quantity != 100 {
		t.Fatalf("tender terms %v", terms)
	}
	for _, bad := range []struct {
		spec   string
		tender bool
		err    string
	}{
		{exampleOrderSpec, true, "a tender order has no partners"},
		{strings.Replace(exampleTenderSpec, `"max_price": 50,`, "", 1), true, "needs quantity, max_partners and max_price"},
		{exampleTenderSpec, false, "max_price is a tender order's term"},
	} {
		if _, err := parseOrderSpec([]byte(bad.spec), 1, key, bad.tender); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("tender=%v: error %v, want %q", bad.tender, err, bad.err)
		}
	}
}

func TestNextTenderJobID(t *testing.T) {
	for _, c := range []struct{ last, want string }{
		{"", "T-1-tender-1"}, {"T-1-tender-1", "T-1-tender-2"}, {"T-1-tender-9", "T-1-tender-10"},
		{"custom", "custom-tender-2"}, {"x-tender-0", "x-tender-0-tender-2"},
	} {
		if got := nextTenderJobID(&client.Order{ID: "T-1", TenderJob: c.last}); got != c.want {
			t.Errorf("after %q: %q, want %q", c.last, got, c.want)
		}
	}
}

func TestTenderJobSpec(t *testing.T) {
	pol, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	o := &client.Order{ID: "T-1", Demander: "node0", Quantity: 100, MaxPartners: 2, MaxPrice: 50, Status: ledger.OrderTendering}
	p, slots, err := tenderJobSpec(o, []string{"node1", "node2", "node3"}, []int64{600, 1000, 0}, pol, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"node1/price", "node1/capacity", "node2/price", "node2/capacity", "node3/price", "node3/capacity"}
	if strings.Join(slots, ",") != strings.Join(want, ",") || p.MaxPartners != 2 || p.Quantity != 100 || p.MaxPrice != 50 ||
		fmt.Sprint(p.PriceFactors) != "[12000 10000 15000]" {
		t.Fatalf("params %+v slots %v", p, slots)
	}
	// The spec the CLI builds is one the nodes (and the ledger) validate.
	raw, _ := json.Marshal(p)
	s := &jobspec.Spec{ID: "T-1-tender-1", Type: jobspec.Tender, Params: raw, Requester: "node0", Providers: slots,
		Committee: []string{"node0", "node1", "node2"}, Threshold: 2, Recipient: "node0"}
	if err := s.Validate(); err != nil {
		t.Fatalf("the CLI's tender spec does not validate: %v", err)
	}
	if _, _, err := tenderJobSpec(o, []string{"node0", "node1"}, []int64{600, 600}, pol, 0); err == nil {
		t.Fatal("the demander quoted")
	}
	o.Status = ledger.OrderDraft
	if _, _, err := tenderJobSpec(o, []string{"node1", "node2"}, []int64{600, 600}, pol, 0); err == nil {
		t.Fatal("a tender for an order that is not tendering")
	}
}

// exampleTenderResult is a recipient's result file as node/jobrun writes it.
const exampleTenderResult = `{
  "job_id": "T-1-tender-1", "type": "tender",
  "output_commitment": "00", "signature": "00",
  "tender": {
    "partners": [{"member": "node1", "quote": 0, "quantity": 50, "price": 30}],
    "award": [50, 30, 0, 0],
    "award_salt": "0101010101010101010101010101010101010101010101010101010101010101",
    "commitments": ["0202020202020202020202020202020202020202020202020202020202020202",
      "0303030303030303030303030303030303030303030303030303030303030303",
      "0404040404040404040404040404040404040404040404040404040404040404"]
  }
}`

func TestParseAwardResult(t *testing.T) {
	m, err := parseAwardResult([]byte(exampleTenderResult), "T-1")
	if err != nil {
		t.Fatal(err)
	}
	if m.OrderId != "T-1" || m.JobId != "T-1-tender-1" || fmt.Sprint(m.Award) != "[50 30 0 0]" || len(m.Commitments) != 3 ||
		m.Salt[0] != 1 || m.Commitments[2][31] != 4 {
		t.Fatalf("award message %v", m)
	}
	for _, bad := range []struct{ file, err string }{
		{`{"job_id": "x", "type": "auction-first", "auction": {}}`, "has no tender result"},
		{strings.Replace(exampleTenderResult, `"award_salt": "01`, `"award_salt": "zz`, 1), "award_salt must be 32 bytes"},
		{strings.Replace(exampleTenderResult, `"0404`, `"04`, 1), "commitment 2 must be 32 bytes"},
		{`{"tender": `, "result file"},
	} {
		if _, err := parseAwardResult([]byte(bad.file), "T-1"); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("file %.40s: error %v, want %q", bad.file, err, bad.err)
		}
	}
}

func TestQuoteFiles(t *testing.T) {
	files := quoteFiles("node2", "T-1-tender-1", 30, 70)
	if len(files) != 2 {
		t.Fatalf("%d files", len(files))
	}
	ps, cs := jobspec.TenderSlots("node2")
	for slot, want := range map[string]string{ps: `{"price": 30}`, cs: `{"capacity": 70}`} {
		raw, ok := files[node.InputFileName("T-1-tender-1", slot)]
		if !ok || strings.TrimSpace(string(raw)) != want {
			t.Errorf("slot %s: %q (present %v), want %s", slot, raw, ok, want)
		}
	}
}

// FuzzParseAwardResult: arbitrary result bytes never panic, and an accepted
// file gives 32-byte salt and commitments within a tender's bounds.
func FuzzParseAwardResult(f *testing.F) {
	f.Add([]byte(exampleTenderResult))
	f.Add([]byte(`{"tender": {"award": [], "award_salt": "", "commitments": []}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseAwardResult(raw, "T-1")
		if err != nil {
			return
		}
		if len(m.Salt) != 32 || len(m.Award) > 2*jobspec.MaxTenderQuotes || len(m.Commitments) > jobspec.MaxTenderQuotes+1 {
			t.Fatalf("accepted %v", m)
		}
		for _, c := range m.Commitments {
			if len(c) != 32 {
				t.Fatalf("commitment of %d bytes", len(c))
			}
		}
	})
}

func TestPrintTenderOrder(t *testing.T) {
	o := &client.Order{ID: "T-1", Status: ledger.OrderTendering, Product: "motor housings", Quantity: 100, MaxPartners: 2,
		Mode: ledger.ModeFixed, Funds: 5000, Tender: true, MaxPrice: 50, TenderJob: "T-1-tender-1", Signed: []string{"node0"},
		Transitions: []client.OrderTransition{{Height: 3, To: ledger.OrderTendering, Reason: "created", By: "node0"}}}
	var b bytes.Buffer
	if err := printOrder(context.Background(), &b, nil, o, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tender order: max price 50, up to 2 partners; tender job T-1-tender-1", "next tender job ID: T-1-tender-2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("order show lacks %q:\n%s", want, b.String())
		}
	}
	o.Status, o.Quantity, o.TenderedQuantity = ledger.OrderDraft, 80, 100
	b.Reset()
	if err := printOrder(context.Background(), &b, nil, o, nil); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); !strings.Contains(s, "under-filled: awarded 80 of the 100 units tendered") || strings.Contains(s, "next tender job") {
		t.Errorf("awarded order show:\n%s", s)
	}
}

// TestSealedQuoteNeedsAPIAndKeys: `order quote --sealed` is for a member
// without a node: it refuses to run (exit code 2) without the node API to
// post through, the input keys to prove with, or a member home.
func TestSealedQuoteNeedsAPIAndKeys(t *testing.T) {
	home, firm := t.TempDir(), filepath.Join(t.TempDir(), "firm0")
	if _, err := node.InitMember(firm, "firm0", ledger.RoleEnterprise); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"no api":                  {"--home", home, "--zk-keys", home},
		"no keys":                 {"--home", home, "--api", "127.0.0.1:1"},
		"no member home":          {"--home", home, "--api", "127.0.0.1:1", "--zk-keys", home},
		"--committee, no --order": {"--home", firm, "--api", "127.0.0.1:1", "--zk-keys", home, "--committee", "c1"},
	} {
		cmd := newOrderCmd()
		cmd.SetArgs(append([]string{"quote", "J-1", "--sealed", "--price", "10", "--capacity", "5"}, args...))
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		var ec *exitCodeError
		if !errors.As(err, &ec) || ec.code != 2 {
			t.Errorf("%s: %v, want exit code 2", name, err)
		}
	}
}
