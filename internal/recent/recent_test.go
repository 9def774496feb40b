package recent

import "testing"

// TestSetEvictsOldest: bounded, oldest evicted first, a repeated key takes
// no second slot, a nil set remembers nothing.
func TestSetEvictsOldest(t *testing.T) {
	s := New(2)
	k := func(i byte) [32]byte { return [32]byte{i} }
	s.Add(k(1))
	s.Add(k(2))
	s.Add(k(2))
	if !s.Has(k(1)) || !s.Has(k(2)) {
		t.Fatal("keys lost before the set was full")
	}
	s.Add(k(3))
	if s.Has(k(1)) || !s.Has(k(2)) || !s.Has(k(3)) {
		t.Fatal("the oldest key was not the one evicted")
	}
	var none *Set
	none.Add(k(1))
	if none.Has(k(1)) {
		t.Fatal("a nil set remembered a key")
	}
}
