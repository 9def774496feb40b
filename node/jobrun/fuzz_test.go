package jobrun

import (
	"bytes"
	"testing"
)

// FuzzProviderInput: input files of every type either fail or parse.
func FuzzProviderInput(f *testing.F) {
	specs := []string{
		validSpec,
		`{"id":"c","type":"credit-score","params":{"subjects":2,"weights":[1,2],"provider_features":[[0,1]]},"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`,
		`{"id":"g","type":"aggregate","params":{"bins":8,"lo":0,"hi":100},"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`,
		`{"id":"k","type":"clearing","params":{"prices":[10,11],"sides":["buyer"]},"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"a"}`,
		`{"id":"t","type":"tender","params":{"order":"o-1","quantity":50,"max_partners":1,"max_price":100,"price_factors":[1,2]},"providers":["a/price","a/capacity","b/price","b/capacity"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`,
	}
	var parsed []*Spec
	for _, s := range specs {
		spec, err := DecodeSpec([]byte(s))
		if err != nil {
			f.Fatal(err)
		}
		parsed = append(parsed, spec)
	}
	f.Add(uint8(0), []byte(`{"bid":5}`))
	f.Add(uint8(1), []byte(`{"features":[[1,2],[3,4]]}`))
	f.Add(uint8(2), []byte(`{"values":[1,2,3]}`))
	f.Add(uint8(3), []byte(`{"quantities":[1,2]}`))
	f.Add(uint8(4), []byte(`{"price":100}`))
	f.Add(uint8(4+len(specs)), []byte(`{"capacity":50}`))
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		// which selects the spec and, above it, the provider slot (a
		// tender's even and odd slots parse different files).
		spec := parsed[int(which)%len(parsed)]
		slot := int(which) / len(parsed) % len(spec.Providers)
		in, err := parseInput(spec, slot, b)
		if err != nil {
			return
		}
		if tin, ok := in.(*TenderInput); ok {
			v, err := tin.value(slot)
			if lo, hi, _ := spec.SlotRange(slot); err != nil || v < lo || v > hi {
				t.Fatalf("tender slot %d accepted %s: %d, %v", slot, b, v, err)
			}
		}
	})
}

// FuzzDecodeChunks: a decoded message re-encodes to the same bytes.
func FuzzDecodeChunks(f *testing.F) {
	f.Add(encodeChunks(kindOutput, []byte("ab"), nil, []byte("xyz")))
	f.Add([]byte{wireVersion, kindOutput, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, err := decodeChunks(b, kindOutput, 0, 64)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeChunks(kindOutput, ch...), b) {
			t.Fatal("decoding is not canonical")
		}
	})
}

// FuzzParseSessionID: parsed IDs round-trip.
func FuzzParseSessionID(f *testing.F) {
	f.Add("job-1/0/io")
	f.Add("job-1/12/mpc")
	f.Fuzz(func(t *testing.T, s string) {
		job, a, kind, err := ParseSessionID(s)
		if err != nil {
			return
		}
		if SessionID(job, a, kind) != s {
			t.Fatalf("%q does not round-trip", s)
		}
	})
}

// FuzzParsePreparedInput: stored inputs either fail or re-encode identically.
func FuzzParsePreparedInput(f *testing.F) {
	spec, err := DecodeSpec([]byte(validSpec))
	if err != nil {
		f.Fatal(err)
	}
	in, err := PrepareInput(spec, "a", []byte(`{"bid":7}`), ProviderKeys{})
	if err != nil {
		f.Fatal(err)
	}
	b, _ := in.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePreparedInput(spec, b)
		if err != nil {
			return
		}
		again, _ := p.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatal("stored input is not canonical")
		}
	})
}
