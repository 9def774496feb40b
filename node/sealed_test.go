package node

import "testing"

// TestTenderDraft: a quoter's draft of a tender has its two slots with the
// order's ranges, whatever the quoter's name.
func TestTenderDraft(t *testing.T) {
	for _, member := range []string{"firm0", "draft"} {
		spec, err := TenderDraft("O-1", 400, 10_000, member, []string{"node0", "node1", "node2", "node3"}, 3)
		if err != nil {
			t.Fatalf("%s: %v", member, err)
		}
		for i, hi := range []uint64{10_000, 400} {
			if spec.Providers[i] != member+[]string{"/price", "/capacity"}[i] {
				t.Fatalf("%s: slot %d is %s", member, i, spec.Providers[i])
			}
			if lo, h, ok := spec.SlotRange(i); !ok || lo != 0 || h != hi {
				t.Fatalf("%s: slot %d range [%d, %d] %v, want [0, %d]", member, i, lo, h, ok, hi)
			}
		}
	}
}
