package jobspec

import (
	"strings"
	"testing"
)

const validTender = `{"id":"t1","type":"tender","params":{"order":"o-1","quantity":500,"max_partners":2,"max_price":1000,
 "price_factors":[10000,12000,10500]},
 "providers":["a/price","a/capacity","b/price","b/capacity","c/price","c/capacity"],
 "committee":["n0","n1","n2","n3"],"threshold":3,"recipient":"d"}`

func TestTenderSpec(t *testing.T) {
	s, err := DecodeSpec([]byte(validTender))
	if err != nil {
		t.Fatal(err)
	}
	if s.Type.Engine() != EngineSS {
		t.Fatalf("tender engine %q", s.Type.Engine())
	}
	p := s.TenderParams()
	if p == nil || p.Quoters() != 3 || p.Quantity != 500 {
		t.Fatalf("params %+v", p)
	}
	// Prices are proven in [0, max_price], capacities in [0, quantity].
	for i, want := range []uint64{1000, 500, 1000, 500, 1000, 500} {
		if lo, hi, ok := s.SlotRange(i); !ok || lo != 0 || hi != want {
			t.Errorf("slot %d: range [%d, %d] %v, want [0, %d]", i, lo, hi, ok, want)
		}
	}
	if _, _, ok := s.SlotRange(6); ok {
		t.Error("a slot past the providers has a range")
	}
	lo, hi, ok, err := SlotRangeOf(Tender, s.Params, s.Providers, 3)
	if err != nil || !ok || lo != 0 || hi != 500 {
		t.Errorf("SlotRangeOf: [%d, %d] %v %v", lo, hi, ok, err)
	}
	if pr, c := TenderSlots("acme"); pr != "acme/price" || c != "acme/capacity" {
		t.Errorf("slots %q %q", pr, c)
	}
}

func TestTenderSpecRejects(t *testing.T) {
	edit := func(from, to string) string {
		if !strings.Contains(validTender, from) {
			t.Fatalf("%q not in the spec", from)
		}
		return strings.Replace(validTender, from, to, 1)
	}
	three := `"providers":["a/price","a/capacity","b/price","b/capacity","c/price","c/capacity"]`
	for name, s := range map[string]string{
		"no order":            edit(`"order":"o-1",`, ``),
		"bad order ID":        edit(`"o-1"`, `"o/1"`),
		"zero quantity":       edit(`"quantity":500`, `"quantity":0`),
		"huge quantity":       edit(`"quantity":500`, `"quantity":1099511627777`),
		"zero max price":      edit(`"max_price":1000`, `"max_price":0`),
		"huge max price":      edit(`"max_price":1000`, `"max_price":1099511627777`),
		"zero partners":       edit(`"max_partners":2`, `"max_partners":0`),
		"partners > quotes":   edit(`"max_partners":2`, `"max_partners":4`),
		"factor zero":         edit(`[10000,12000,10500]`, `[10000,0,10500]`),
		"factor too big":      edit(`[10000,12000,10500]`, `[10000,1048577,10500]`),
		"factors short":       edit(`[10000,12000,10500]`, `[10000,12000]`),
		"odd slots":           edit(three, `"providers":["a/price","a/capacity","b/price"]`),
		"one quote":           edit(three, `"providers":["a/price","a/capacity"]`),
		"capacity first":      edit(three, `"providers":["a/capacity","a/price","b/price","b/capacity","c/price","c/capacity"]`),
		"mixed members":       edit(three, `"providers":["a/price","b/capacity","b/price","a/capacity","c/price","c/capacity"]`),
		"unlabelled slot":     edit(three, `"providers":["a","a/capacity","b/price","b/capacity","c/price","c/capacity"]`),
		"member quotes twice": edit(three, `"providers":["a/price","a/capacity","b/price","b/capacity","a/price","a/capacity"]`),
		"unknown param":       edit(`"max_price":1000`, `"max_price":1000,"reserve":3`),
	} {
		if _, err := DecodeSpec([]byte(s)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
