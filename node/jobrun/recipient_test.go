package jobrun

import (
	"errors"
	"slices"
	"testing"
)

func TestAgreedOutput(t *testing.T) {
	spec := &Spec{ID: "j", Committee: []string{"n0", "n1", "n2", "n3", "n4"}}
	a, b := [][]byte{[]byte("oc"), []byte("sig")}, [][]byte{[]byte("oc"), []byte("SIG")}
	const k = 3 // t = 2 of 5
	cases := []struct {
		name      string
		pubs      [][][]byte
		malformed []string
		missing   []string
		kind      FaultKind // "" when ref is returned
		named     []string
	}{
		{name: "all agree", pubs: [][][]byte{a, a, a, a, a}},
		{name: "deviant first is named, not the honest", pubs: [][][]byte{b, a, a, a, a}, kind: FaultBadOutput, named: []string{"n0"}},
		{name: "two deviants", pubs: [][][]byte{b, a, b, a, a}, kind: FaultBadOutput, named: []string{"n0", "n2"}},
		{name: "malformed named though k agree", pubs: [][][]byte{a, a, a, nil, a}, malformed: []string{"n3"}, kind: FaultBadOutput, named: []string{"n3"}},
		{name: "malformed and differing", pubs: [][][]byte{a, nil, a, b, a}, malformed: []string{"n1"}, kind: FaultBadOutput, named: []string{"n1", "n3"}},
		{name: "k agree with the rest missing", pubs: [][][]byte{a, nil, a, nil, a}, missing: []string{"n1", "n3"}},
		{name: "no k agree", pubs: [][][]byte{a, a, b, b, nil}, missing: []string{"n4"}, kind: FaultBadOutput},
		{name: "too few", pubs: [][][]byte{a, a, nil, nil, nil}, missing: []string{"n2", "n3", "n4"}, kind: FaultMemberDropped, named: []string{"n2", "n3", "n4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := agreedOutput(spec, "output", k, tc.pubs, tc.malformed, tc.missing)
			if tc.kind == "" {
				if err != nil || !equalChunks(ref, a) {
					t.Fatalf("got %q, %v; want the agreed part", ref, err)
				}
				return
			}
			var fe *FaultError
			if !errors.As(err, &fe) || fe.Kind != tc.kind || !slices.Equal(fe.Parties, tc.named) {
				t.Fatalf("got %v; want a %s fault naming %v", err, tc.kind, tc.named)
			}
			if ref != nil {
				t.Fatal("a part returned with a fault")
			}
		})
	}
	// Two different parts each sent by k members (more than t deviants):
	// neither is taken.
	if ref, split := agreedPublic([][][]byte{a, a, a, b, b, b}, k); ref != nil || !split {
		t.Fatalf("agreedPublic took %q of two k-groups", ref)
	}
}
