package jobrun

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

const validSpec = `{"id":"job-1","type":"auction-vickrey","params":{"max_bid":1000},
 "providers":["a","b","c"],"committee":["n0","n1","n2","n3"],"threshold":3,"recipient":"a"}`

// The spec itself is tested in mpc/jobspec; here, what jobrun derives from it.
func TestLabelledSlotsShareASession(t *testing.T) {
	// Slots of one party are distinct providers; the io session lists the
	// party once.
	spec, err := DecodeSpec([]byte(strings.Replace(validSpec, `["a","b","c"]`, `["a","b","b/x","b/y"]`, 1)))
	if err != nil {
		t.Fatalf("labelled slots rejected: %v", err)
	}
	if got := spec.SlotsOf("b"); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("slots of b: %v", got)
	}
	if parties, _ := SessionParties(spec, SessionIO); slices.Index(parties, "b") < 0 || slices.Contains(parties, "b/x") {
		t.Fatalf("io session parties %v", parties)
	}
}

func TestParseInputRejects(t *testing.T) {
	specs := map[Type]*Spec{}
	for _, s := range []string{
		validSpec,
		`{"id":"c","type":"credit-score","params":{"subjects":2,"weights":[1,2],"provider_features":[[0,1]]},"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`,
		`{"id":"g","type":"aggregate","params":{"bins":8,"lo":0,"hi":100},"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`,
		`{"id":"k","type":"clearing","params":{"prices":[10,11],"sides":["buyer"]},"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"a"}`,
	} {
		spec, err := DecodeSpec([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		specs[spec.Type] = spec
	}
	for _, c := range []struct {
		typ  Type
		file string
	}{
		{AuctionVickrey, `{}`},
		{AuctionVickrey, `{"bid":1001}`},
		{AuctionVickrey, `{"bid":-1}`},
		{AuctionVickrey, `{"bid":5,"note":"x"}`},
		{CreditScore, `{"features":[[1,2]]}`},
		{CreditScore, `{"features":[[1,2],[3]]}`},
		{Aggregate, `{"values":[]}`},
		{Clearing, `{"quantities":[1]}`},
		{Clearing, `{"quantities":[1,281474976710657]}`},
	} {
		if _, err := parseInput(specs[c.typ], 0, []byte(c.file)); err == nil {
			t.Errorf("%s input %s accepted", c.typ, c.file)
		}
	}
	if _, err := parseInput(specs[AuctionVickrey], 0, []byte(`{"bid":1000}`)); err != nil {
		t.Errorf("valid bid rejected: %v", err)
	}
}

func TestSessionIDs(t *testing.T) {
	id := SessionID("job-1", 7, SessionMPC)
	job, a, kind, err := ParseSessionID(id)
	if err != nil || job != "job-1" || a != 7 || kind != SessionMPC {
		t.Fatalf("round trip of %q: %s %d %s %v", id, job, a, kind, err)
	}
	for _, bad := range []string{"job-1/7", "job-1/07/mpc", "job-1/-1/io", "job-1/1/zz", "a/b/1/io", "/1/io"} {
		if _, _, _, err := ParseSessionID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	spec, _ := DecodeSpec([]byte(validSpec))
	io, _ := SessionParties(spec, SessionIO)
	if strings.Join(io, ",") != "n0,n1,n2,n3,a,b,c" {
		t.Fatalf("io parties %v", io)
	}
}

func TestChunkCodec(t *testing.T) {
	msg := encodeChunks(kindOutput, []byte("ab"), nil, []byte("xyz"))
	ch, err := decodeChunks(msg, kindOutput, 3, 3)
	if err != nil || string(ch[0]) != "ab" || len(ch[1]) != 0 || string(ch[2]) != "xyz" {
		t.Fatalf("round trip: %q %v", ch, err)
	}
	for name, b := range map[string][]byte{
		"wrong kind":  encodeChunks(kindInput, []byte("ab")),
		"too many":    encodeChunks(kindOutput, nil, nil, nil, nil),
		"truncated":   msg[:len(msg)-1],
		"trailing":    append(append([]byte(nil), msg...), 0),
		"huge length": {wireVersion, kindOutput, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff},
		"huge count":  {wireVersion, kindOutput, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, err := decodeChunks(b, kindOutput, 3, 3); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPreparedInputSurvivesRestart(t *testing.T) {
	spec, err := DecodeSpec([]byte(validSpec))
	if err != nil {
		t.Fatal(err)
	}
	in, err := PrepareInput(spec, "c", []byte(`{"bid":42}`), ProviderKeys{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePreparedInput(spec, b)
	if err != nil {
		t.Fatal(err)
	}
	w1, _ := in.InputWitness()
	w2, err := back.InputWitness()
	if err != nil || *w1 != *w2 || back.Index != 2 || !bytes.Equal(back.Commitment, in.Commitment) || len(back.messages) != len(in.messages) {
		t.Fatalf("round trip changed the input: %+v %v", back, err)
	}
	for j := range in.messages {
		if !bytes.Equal(in.messages[j], back.messages[j]) {
			t.Fatalf("message %d changed", j)
		}
	}
	other := *spec
	other.Providers = []string{"x", "y", "z"}
	if _, err := ParsePreparedInput(&other, b); err == nil {
		t.Fatal("input of another provider list accepted")
	}
	if _, err := ParsePreparedInput(spec, b[:len(b)-1]); err == nil {
		t.Fatal("truncated input accepted")
	}
}

// TestSpecLimitsFitSecurePreset: a job at jobspec's limits runs on the
// secure preset, so that the ledger's validation is also the preset's.
func TestSpecLimitsFitSecurePreset(t *testing.T) {
	preset, err := he.SecurePreset()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := DecodeSpec([]byte(fmt.Sprintf(`{"id":"c","type":"credit-score","params":{"subjects":%d,"weights":[1,2],"degree":%d,"domain":8,"provider_features":[[0,1]]},
		"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`, jobspec.MaxSubjects, jobspec.MaxDegree)))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPreset(spec, preset); err != nil {
		t.Fatalf("credit job at the limits: %v", err)
	}
	spec, err = DecodeSpec([]byte(fmt.Sprintf(`{"id":"g","type":"aggregate","params":{"bins":%d,"lo":%d,"hi":%d},
		"providers":["a"],"committee":["n0","n1","n2"],"threshold":2,"recipient":"r"}`, jobspec.MaxBins, -jobspec.MaxAggregateMagnitude, jobspec.MaxAggregateMagnitude+1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPreset(spec, preset); err != nil {
		t.Fatalf("aggregate job at the limits: %v", err)
	}
}
