package jobrun

import (
	"slices"
	"testing"
)

func TestSubsets(t *testing.T) {
	var got [][]int
	subsets(4, 2, func(s []int) bool { got = append(got, slices.Clone(s)); return true })
	want := [][]int{{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("subsets(4, 2) = %v", got)
	}
	calls := 0
	subsets(5, 3, func([]int) bool { calls++; return calls < 2 })
	if calls != 2 {
		t.Fatalf("subsets kept going after yield returned false: %d calls", calls)
	}
	subsets(2, 3, func([]int) bool { t.Fatal("no 3-subsets of 2"); return false })
}
