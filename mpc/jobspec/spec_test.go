package jobspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const validSpec = `{"id":"job-1","type":"auction-vickrey","params":{"max_bid":1000},
 "providers":["a","b","c"],"committee":["n0","n1","n2","n3"],"threshold":3,"recipient":"a"}`

func TestDecodeSpecAcceptsDocExamples(t *testing.T) {
	for _, s := range []string{
		validSpec,
		`{"id":"c","type":"credit-score","params":{"subjects":1000,"weights":[0.8,-1.2,0.5],"bias":-0.3,"provider_features":[[0,1],[2]]},
		  "providers":["p","q"],"committee":["n0","n1","n2","n3"],"threshold":2,"recipient":"r"}`,
		`{"id":"g","type":"aggregate","params":{"bins":8,"lo":0,"hi":100},"providers":["p"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`,
		`{"id":"k","type":"clearing","params":{"prices":[10,11,12],"sides":["buyer","seller","seller"]},
		  "providers":["a","b","c"],"committee":["n0","n1","n2","n3"],"threshold":3,"recipient":"a"}`,
		`{"id":"f","type":"auction-first","providers":["a","b"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"a"}`,
		`{"id":"f","type":"auction-first","params":null,"providers":["a","b"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"a"}`,
	} {
		if _, err := DecodeSpec([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestDecodeSpecRejects(t *testing.T) {
	edit := func(from, to string) string { return strings.Replace(validSpec, from, to, 1) }
	for name, s := range map[string]string{
		"unknown field":        edit(`"id"`, `"extra":1,"id"`),
		"trailing data":        validSpec + `{}`,
		"unknown type":         edit(`auction-vickrey`, `lottery`),
		"bad job ID":           edit(`"job-1"`, `"job/1"`),
		"empty job ID":         edit(`"job-1"`, `""`),
		"long job ID":          edit(`"job-1"`, `"`+strings.Repeat("j", MaxIDBytes+1)+`"`),
		"duplicate provider":   edit(`["a","b","c"]`, `["a","b","a"]`),
		"duplicate member":     edit(`["n0","n1","n2","n3"]`, `["n0","n1","n2","n0"]`),
		"committee of 2":       edit(`["n0","n1","n2","n3"]`, `["n0","n1"]`),
		"committee of 10":      edit(`["n0","n1","n2","n3"]`, `["n0","n1","n2","n3","n4","n5","n6","n7","n8","n9"]`),
		"threshold 1":          edit(`"threshold":3`, `"threshold":1`),
		"threshold too low":    edit(`"threshold":3`, `"threshold":1`),
		"threshold too high":   edit(`"threshold":3`, `"threshold":5`),
		"no recipient":         edit(`"recipient":"a"`, `"recipient":""`),
		"params unknown field": edit(`"max_bid":1000`, `"max_bid":1000,"reserve":5`),
		"params wrong type":    edit(`"max_bid":1000`, `"max_bid":"lots"`),
		"params not object":    edit(`{"max_bid":1000}`, `[1000]`),
		"params trailing":      edit(`{"max_bid":1000}`, `{"max_bid":1000} {}`),
		"one bidder":           edit(`["a","b","c"]`, `["a"]`),
		"empty slot label":     edit(`["a","b","c"]`, `["a","b/"]`),
		"nested slot":          edit(`["a","b","c"]`, `["a","b/x/y"]`),
		"slot without party":   edit(`["a","b","c"]`, `["a","/x"]`),
		"colon in slot label":  edit(`["a","b","c"]`, `["a","b/x:y"]`),
		"duplicate slot":       edit(`["a","b","c"]`, `["a","b/x","b/x"]`),
	} {
		if _, err := DecodeSpec([]byte(s)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	spec, err := DecodeSpec([]byte(edit(`["a","b","c"]`, `["a","b","b/x","b/y"]`)))
	if err != nil {
		t.Fatalf("labelled slots rejected: %v", err)
	}
	if got := spec.SlotsOf("b"); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("slots of b: %v", got)
	}
	if _, err := DecodeSpec(bytes.Repeat([]byte(" "), MaxSpecBytes+1)); err == nil {
		t.Error("oversized spec accepted")
	}
	big := `{"id":"x","type":"aggregate","params":{"bins":8,"lo":0,"hi":100` + strings.Repeat(" ", MaxParamsBytes) +
		`},"providers":["p"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`
	if _, err := DecodeSpec([]byte(big)); err == nil {
		t.Error("oversized params accepted")
	}
}

func TestCommitteeLimits(t *testing.T) {
	names := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "m" + string(rune('a'+i))
		}
		return out
	}
	for n := 0; n <= 16; n++ {
		for th := 0; th <= n+1; th++ {
			err := CheckCommittee(names(n), th)
			want := n >= 3 && n <= 9 && 2*th >= n && th <= n
			if (err == nil) != want {
				t.Errorf("committee %d, threshold %d: err %v, want ok=%v", n, th, err, want)
			}
		}
	}
	if err := CheckCommittee([]string{"a", "b", "a"}, 2); err == nil {
		t.Error("repeated member accepted")
	}
	if err := CheckCommittee([]string{"a", "b", "c d"}, 2); err == nil {
		t.Error("bad member name accepted")
	}
}

// TestHECommitteeRule: HE jobs run only on committees whose HE setup is
// checked, t = ⌈n/2⌉ within the committee limits; SS jobs on every
// committee. A 3-of-4 HE spec is refused naming the bound; the same spec as
// 2-of-4 is accepted. (mpc/he's TestHESetupCheckedRuleMatchesShareCheck
// ties the rule to he.ShareCheckRuns.)
func TestHECommitteeRule(t *testing.T) {
	for n := MinCommittee; n <= MaxCommittee; n++ {
		for th := MinThreshold(n); th <= n; th++ {
			want := 2*th-1 <= n // t ≤ ⌈n/2⌉
			if got := HESetupChecked(n, th); got != want || (th == MinThreshold(n)) != want {
				t.Errorf("%d-of-%d: checked %v, want %v", th, n, got, want)
			}
			for _, typ := range Types() {
				err := CheckHECommittee(typ, n, th)
				if (err == nil) != (!typ.IsHE() || want) {
					t.Errorf("%s on %d-of-%d: %v", typ, th, n, err)
				}
			}
		}
	}
	for n := 0; n < MinCommittee; n++ {
		if MaxHEThreshold(n) != 0 || HESetupChecked(n, 1) {
			t.Errorf("a committee of %d runs HE jobs", n)
		}
	}
	spec := func(th int) string {
		return fmt.Sprintf(`{"id":"c","type":"credit-score","params":{"subjects":10,"weights":[0.8,-1.2],"provider_features":[[0,1]]},
		  "providers":["p"],"committee":["n0","n1","n2","n3"],"threshold":%d,"recipient":"r"}`, th)
	}
	_, err := DecodeSpec([]byte(spec(3)))
	if err == nil || !strings.Contains(err.Error(), "threshold at most ⌈n/2⌉ = 2, the committee is 3-of-4") {
		t.Fatalf("3-of-4 credit-score spec: %v", err)
	}
	if _, err := DecodeSpec([]byte(spec(2))); err != nil {
		t.Fatalf("2-of-4 credit-score spec: %v", err)
	}
	if _, err := DecodeSpec([]byte(strings.Replace(validSpec, `"threshold":3`, `"threshold":4`, 1))); err != nil {
		t.Fatalf("4-of-4 auction spec: %v", err)
	}
}

func TestParamsValidation(t *testing.T) {
	base := func(typ Type, params string, providers int) *Spec {
		s := &Spec{ID: "x", Type: typ, Params: json.RawMessage(params), Committee: []string{"n0", "n1", "n2", "n3"}, Threshold: 2, Recipient: "r"}
		for i := 0; i < providers; i++ {
			s.Providers = append(s.Providers, string(rune('a'+i)))
		}
		return s
	}
	for name, s := range map[string]*Spec{
		"credit feature twice":    base(CreditScore, `{"subjects":5,"weights":[1,2],"provider_features":[[0],[0]]}`, 2),
		"credit feature missing":  base(CreditScore, `{"subjects":5,"weights":[1,2,3],"provider_features":[[0],[1]]}`, 2),
		"credit feature range":    base(CreditScore, `{"subjects":5,"weights":[1],"provider_features":[[1]]}`, 1),
		"credit too many":         base(CreditScore, `{"subjects":100000,"weights":[1],"provider_features":[[0]]}`, 1),
		"credit no subjects":      base(CreditScore, `{"subjects":0,"weights":[1],"provider_features":[[0]]}`, 1),
		"credit provider count":   base(CreditScore, `{"subjects":5,"weights":[1],"provider_features":[[0]]}`, 2),
		"credit huge weight":      base(CreditScore, `{"subjects":5,"weights":[1e6],"provider_features":[[0]]}`, 1),
		"credit overflow weight":  base(CreditScore, `{"subjects":5,"weights":[1e400],"provider_features":[[0]]}`, 1),
		"credit long weight":      base(CreditScore, `{"subjects":5,"weights":[0.`+strings.Repeat("1", 40)+`],"provider_features":[[0]]}`, 1),
		"credit string weight":    base(CreditScore, `{"subjects":5,"weights":["x"],"provider_features":[[0]]}`, 1),
		"credit huge bias":        base(CreditScore, `{"subjects":5,"weights":[1],"bias":-2e7,"provider_features":[[0]]}`, 1),
		"credit negative domain":  base(CreditScore, `{"subjects":5,"weights":[1],"domain":-8,"provider_features":[[0]]}`, 1),
		"credit degree":           base(CreditScore, `{"subjects":5,"weights":[1],"degree":32,"provider_features":[[0]]}`, 1),
		"aggregate bins":          base(Aggregate, `{"bins":6,"lo":0,"hi":10}`, 1),
		"aggregate many bins":     base(Aggregate, `{"bins":2048,"lo":0,"hi":10}`, 1),
		"aggregate empty range":   base(Aggregate, `{"bins":4,"lo":10,"hi":10}`, 1),
		"aggregate huge range":    base(Aggregate, `{"bins":4,"lo":0,"hi":10000000}`, 1),
		"clearing not increasing": base(Clearing, `{"prices":[3,3],"sides":["buyer"]}`, 1),
		"clearing no prices":      base(Clearing, `{"prices":[],"sides":["buyer"]}`, 1),
		"clearing bad side":       base(Clearing, `{"prices":[3,4],"sides":["lender"]}`, 1),
		"clearing side count":     base(Clearing, `{"prices":[3,4],"sides":["buyer"]}`, 2),
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, s := range map[string]*Spec{
		"small weights":   base(CreditScore, `{"subjects":5,"weights":[1e-300, -0.000001, 999999.9],"provider_features":[[0,1,2]]}`, 1),
		"quoted weight":   base(CreditScore, `{"subjects":5,"weights":["1.5"],"provider_features":[[0]]}`, 1),
		"default domain":  base(CreditScore, `{"subjects":5,"weights":[0],"domain":0,"degree":0,"provider_features":[[0]]}`, 1),
		"domain and deg":  base(CreditScore, `{"subjects":5,"weights":[2],"domain":12.5,"degree":31,"provider_features":[[0]]}`, 1),
		"aggregate range": base(Aggregate, `{"bins":1024,"lo":-65536,"hi":65537}`, 1),
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: rejected: %v", name, err)
		}
	}
}

func TestDecimalExp10(t *testing.T) {
	for s, want := range map[string]int{
		"1": 0, "9.99": 0, "10": 1, "-123.4": 2, "0.01": -2, "0.5e3": 2, "12E-3": -2, "1e+2": 2, "000.0012": -3,
	} {
		got, zero, err := decimalExp10(s)
		if err != nil || zero || got != want {
			t.Errorf("%s: %d %v %v, want %d", s, got, zero, err, want)
		}
	}
	for _, s := range []string{"0", "-0.000", "0e99"} {
		if _, zero, err := decimalExp10(s); err != nil || !zero {
			t.Errorf("%s: not zero (%v)", s, err)
		}
	}
	for _, s := range []string{"", "e5", "1.2.3", "1e", "x", "1ee2", ".5"} {
		if _, _, err := decimalExp10(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
	if _, _, err := decimalExp10("1e99999999999999999999999"); err != nil {
		t.Errorf("huge exponent: %v", err)
	}
}

func TestInputRange(t *testing.T) {
	s, err := DecodeSpec([]byte(validSpec))
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi, ok := s.SlotRange(0); !ok || lo != 0 || hi != 1000 {
		t.Fatalf("range %d %d %v", lo, hi, ok)
	}
	s, err = DecodeSpec([]byte(strings.Replace(validSpec, `{"max_bid":1000}`, `{}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.SlotRange(0); ok {
		t.Fatal("unbounded auction has a proven range")
	}
	if s.Auction().BidBound() != 1<<64-1 {
		t.Fatal("unbounded auction's bid bound")
	}
	for _, typ := range Types() {
		if typ.Engine() == "" {
			t.Errorf("%s has no engine", typ)
		}
	}
}

// TestValidateIsFloatFree: the ledger runs Validate in FinalizeBlock, which
// must not use floating point; the package's non-test sources mention no
// float type.
func TestValidateIsFloatFree(t *testing.T) {
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	float := regexp.MustCompile(`\bfloat(32|64)\b|strconv\.ParseFloat|"math"\.Float`)
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if loc := float.FindIndex(src); loc != nil {
			t.Errorf("%s mentions %q", name, src[loc[0]:loc[1]])
		}
	}
}
