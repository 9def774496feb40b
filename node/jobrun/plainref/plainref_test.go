package plainref

import (
	"cmp"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/node/jobrun"
)

// Every expected value below is worked out by hand from the job's stated
// rule (the comments show the working), not by running the code under test.

func TestPlainAuction(t *testing.T) {
	cases := []struct {
		name           string
		bids           []uint64
		winner         int
		first, vickrey uint64
	}{
		{"no bids: no winner", nil, -1, 0, 0},
		{"one bidder: pays its bid, or nothing in Vickrey", []uint64{42}, 0, 42, 0},
		{"two bidders", []uint64{10, 30}, 1, 30, 10},
		{"top tied: lowest index wins, Vickrey pays the tied bid", []uint64{7, 9, 9, 3}, 1, 9, 9},
		{"second tied", []uint64{9, 5, 5}, 0, 9, 5},
		{"winner first, runner-up last", []uint64{100, 1, 99}, 0, 100, 99},
		{"all zero", []uint64{0, 0, 0}, 0, 0, 0},
		{"largest bids", []uint64{math.MaxUint64 - 1, math.MaxUint64}, 1, math.MaxUint64, math.MaxUint64 - 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if w, p := PlainAuction(jobrun.AuctionFirst, c.bids); w != c.winner || p != c.first {
				t.Errorf("first price: winner %d price %d, want %d %d", w, p, c.winner, c.first)
			}
			if w, p := PlainAuction(jobrun.AuctionVickrey, c.bids); w != c.winner || p != c.vickrey {
				t.Errorf("Vickrey: winner %d price %d, want %d %d", w, p, c.winner, c.vickrey)
			}
		})
	}
	wantPanic(t, "is not an auction", func() { PlainAuction(jobrun.Clearing, []uint64{1, 2}) })
}

func TestPlainClearing(t *testing.T) {
	const b, s = "buyer", "seller"
	cases := []struct {
		name   string
		sides  []string
		curves [][]uint64
		level  int
		alloc  []uint64
	}{
		// D = [10, 5, 2] (suffix sums), S = [1, 5, 11] (prefix sums):
		// D ≥ S at levels 0 and 1 (5 ≥ 5, a tie counts), not at 2.
		// At level 1 the buyer demands 5 and the seller supplies 5.
		{"crossing with a tie at the level", []string{b, s}, [][]uint64{{5, 3, 2}, {1, 4, 6}}, 1, []uint64{5, 5}},
		// D = [1, 1, 1] < S = [3, 3, 3] everywhere.
		{"no crossing", []string{b, s}, [][]uint64{{0, 0, 1}, {3, 0, 0}}, -1, []uint64{0, 0}},
		// D = [9, 9, 9] ≥ S = [2, 2, 2] everywhere: the top level; volume
		// min(9, 2) = 2.
		{"every level crosses", []string{b, s}, [][]uint64{{0, 0, 9}, {2, 0, 0}}, 2, []uint64{2, 2}},
		// Level 1: D = 4 + 3 = 7, S = 5. Buyers are long: in provider order
		// the first buyer gets min(4, 5) = 4, the second min(3, 5 − 4) = 1.
		{"long buyers rationed in provider order", []string{b, b, s}, [][]uint64{{0, 4}, {0, 3}, {5, 0}}, 1, []uint64{4, 1, 5}},
		// The same with the seller first: the buyers' order among
		// themselves is what counts.
		{"rationing ignores the other side's positions", []string{s, b, b}, [][]uint64{{5, 0}, {0, 4}, {0, 3}}, 1, []uint64{5, 4, 1}},
		// D = [6, 0], S = [3 + 4, 3 + 4 + 1] = [7, 8]: 6 < 7 already at
		// level 0.
		{"no crossing at the lowest level", []string{b, s, s}, [][]uint64{{6, 0}, {3, 1}, {4, 0}}, -1, []uint64{0, 0, 0}},
		// With the first seller at 2: S = [6, 7], level 0 where D = S = 6:
		// nobody is rationed. (At the level D ≥ S, so the sellers are
		// never the long side.)
		{"demand meets supply exactly", []string{b, s, s}, [][]uint64{{6, 0}, {2, 1}, {4, 0}}, 0, []uint64{6, 2, 4}},
		// D = S = 0 at every level: the top level, nothing traded.
		{"all zero curves", []string{b, s}, [][]uint64{{0, 0}, {0, 0}}, 1, []uint64{0, 0}},
		// A lone buyer: D = [4, 1] ≥ S = 0: level 1, volume min(1, 0) = 0.
		{"one buyer", []string{b}, [][]uint64{{3, 1}}, 1, []uint64{0}},
		// A lone seller: D = 0 < S = [2, 3].
		{"one seller", []string{s}, [][]uint64{{2, 1}}, -1, []uint64{0}},
		{"no bidders", nil, nil, -1, []uint64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			level, alloc := PlainClearing(c.sides, c.curves)
			if level != c.level || !slices.Equal(alloc, c.alloc) {
				t.Errorf("level %d allocation %v, want %d %v", level, alloc, c.level, c.alloc)
			}
		})
	}
	wantPanic(t, "2 sides and 1 curves", func() { PlainClearing([]string{b, s}, [][]uint64{{1}}) })
	wantPanic(t, "curve 1 has 1 levels", func() { PlainClearing([]string{b, s}, [][]uint64{{1, 2}, {1}}) })
	wantPanic(t, `side "bidder"`, func() { PlainClearing([]string{b, "bidder"}, [][]uint64{{1}, {1}}) })
}

func TestPlainTender(t *testing.T) {
	cases := []struct {
		name                          string
		p                             jobrun.TenderParams
		prices, capacities, wantAward []uint64
	}{
		// Ranked by price: q1 (8) takes min(30, 50) = 30, q0 (10) the rest,
		// min(30, 50 − 30) = 20; q2 is third of at most two partners.
		{"cheapest first, partners bounded", jobrun.TenderParams{Quantity: 50, MaxPartners: 2, MaxPrice: 100, PriceFactors: []uint64{1, 1, 1}},
			[]uint64{10, 8, 12}, []uint64{30, 30, 30}, []uint64{20, 10, 30, 8, 0, 0}},
		// Equal weighted prices: the lower index first, 5 of 7, then 2.
		{"tie to the lower index", jobrun.TenderParams{Quantity: 7, MaxPartners: 2, MaxPrice: 100, PriceFactors: []uint64{1, 1}},
			[]uint64{10, 10}, []uint64{5, 5}, []uint64{5, 10, 2, 10}},
		// Weighted 100·1000 = 100000 < 90·1250 = 112500: q0 ranks first and
		// fills the quantity, q1 gets nothing although cheaper.
		{"rating factors rank", jobrun.TenderParams{Quantity: 10, MaxPartners: 2, MaxPrice: 100, PriceFactors: []uint64{1000, 1250}},
			[]uint64{100, 90}, []uint64{10, 10}, []uint64{10, 100, 0, 0}},
		// A zero capacity ranked first is chosen for nothing (quantity 0,
		// so price 0) and still takes the one partner place.
		{"zero capacity", jobrun.TenderParams{Quantity: 3, MaxPartners: 1, MaxPrice: 100, PriceFactors: []uint64{1, 1}},
			[]uint64{1, 2}, []uint64{0, 5}, []uint64{0, 0, 0, 0}},
		{"one quote above the quantity", jobrun.TenderParams{Quantity: 4, MaxPartners: 3, MaxPrice: 100, PriceFactors: []uint64{1}},
			[]uint64{70}, []uint64{9}, []uint64{4, 70}},
		{"no quotes", jobrun.TenderParams{Quantity: 4, MaxPartners: 1, MaxPrice: 100}, nil, nil, []uint64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := PlainTender(c.p, c.prices, c.capacities); !slices.Equal(got, c.wantAward) {
				t.Errorf("award %v, want %v", got, c.wantAward)
			}
		})
	}
	wantPanic(t, "2 prices, 1 capacities and 2 price factors", func() {
		PlainTender(jobrun.TenderParams{Quantity: 1, MaxPartners: 1, PriceFactors: []uint64{1, 1}}, []uint64{1, 2}, []uint64{1})
	})
}

func TestPlainCreditScores(t *testing.T) {
	p := jobrun.CreditParams{Subjects: 3, Weights: []json.Number{"0.5", "-1"}, Bias: "0.25"}
	// Subject 0: 0.5·1 − 1·2 + 0.25 = −1.25; subject 1: 0.25; subject 2:
	// 0.5·4 − 1·(−1) + 0.25 = 3.25; σ(z) = 1/(1 + e^−z).
	cols := [][]float64{{1, 0, 4}, {2, 0, -1}}
	want := []float64{0.22270013882530884, 0.5621765008857981, 0.9626731126558706}
	got, err := PlainCreditScores(p, cols)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d scores, want %d", len(got), len(want))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("score %d = %v, want %v", i, got[i], want[i])
		}
	}
	if got, err := PlainCreditScores(p, [][]float64{{}, {}}); err != nil || len(got) != 0 {
		t.Errorf("no subjects: %v, %v", got, err)
	}
	for name, c := range map[string]struct {
		p    jobrun.CreditParams
		cols [][]float64
		err  string
	}{
		"weight not a number": {jobrun.CreditParams{Weights: []json.Number{"x"}}, [][]float64{{1}}, "weight 0"},
		"missing column":      {p, cols[:1], "1 feature columns for a model of 2 weights"},
		"ragged columns":      {p, [][]float64{{1, 2}, {1}}, "column 1 has 1 subjects"},
	} {
		if _, err := PlainCreditScores(c.p, c.cols); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.err)
		}
	}
}

func TestPlainAggregate(t *testing.T) {
	p := jobrun.AggregateParams{Bins: 4, Lo: 0, Hi: 100}
	// Values 10, 30, −5, 100, 99: count 5, sum 234, sum of squares
	// 100 + 900 + 25 + 10000 + 9801 = 20826, mean 46.8, variance
	// 20826/5 − 46.8² = 1974.96. Bins of width 25: 10 → 0, 30 → 1, −5 (below
	// Lo) → 0, 100 (from Hi on) → 3, 99 → 3.
	got := PlainAggregate(p, [][]int64{{10, 30}, {-5, 100, 99}})
	want := jobrun.AggregateResult{Count: 5, Sum: 234, SumSq: 20826, Mean: 46.8, Variance: 1974.96, Histogram: []int64{2, 1, 0, 2}}
	if got.Count != want.Count || got.Sum != want.Sum || got.SumSq != want.SumSq || !slices.Equal(got.Histogram, want.Histogram) ||
		math.Abs(got.Mean-want.Mean) > 1e-12 || math.Abs(got.Variance-want.Variance) > 1e-9 {
		t.Errorf("aggregate %+v, want %+v", got, want)
	}
	// No values: zero statistics, an empty histogram of p.Bins bins.
	got = PlainAggregate(p, [][]int64{{}, nil})
	if got.Count != 0 || got.Sum != 0 || got.SumSq != 0 || got.Mean != 0 || got.Variance != 0 || !slices.Equal(got.Histogram, []int64{0, 0, 0, 0}) {
		t.Errorf("no values: %+v", got)
	}
	// One value: variance 0.
	got = PlainAggregate(p, [][]int64{{50}})
	if got.Count != 1 || got.Mean != 50 || got.Variance != 0 || !slices.Equal(got.Histogram, []int64{0, 0, 1, 0}) {
		t.Errorf("one value: %+v", got)
	}
}

// wantPanic checks that f panics with a message containing msg.
func wantPanic(t *testing.T, msg string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if s, ok := r.(string); !ok || !strings.Contains(s, msg) {
			t.Errorf("panic %v, want one containing %q", r, msg)
		}
	}()
	f()
}

// TestPlainClearingMatchesDefinition compares PlainClearing with its
// definition written out naively (every level's demand and supply summed
// afresh, every level scanned, the long side filled bidder by bidder) on
// random small markets, ties and empty curves included.
func TestPlainClearingMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for it := 0; it < 2000; it++ {
		bidders, levels := rng.IntN(5), 1+rng.IntN(5)
		sides := make([]string, bidders)
		curves := make([][]uint64, bidders)
		for i := range curves {
			sides[i] = []string{"buyer", "seller"}[rng.IntN(2)]
			curves[i] = make([]uint64, levels)
			for l := range curves[i] {
				if rng.IntN(3) > 0 {
					curves[i][l] = rng.Uint64N(6)
				}
			}
		}
		level, alloc := PlainClearing(sides, curves)
		wantLevel, wantAlloc := naiveClearing(sides, curves, levels)
		if level != wantLevel || !slices.Equal(alloc, wantAlloc) {
			t.Fatalf("sides %v curves %v: level %d allocation %v, definition %d %v", sides, curves, level, alloc, wantLevel, wantAlloc)
		}
	}
}

// naiveClearing is the clearing rule of PlainClearing's doc, written
// without its shortcuts.
func naiveClearing(sides []string, curves [][]uint64, levels int) (int, []uint64) {
	qty := func(i, l int) uint64 { // bidder i's demand or supply at level l
		var q uint64
		for k := 0; k < levels; k++ {
			if (sides[i] == "buyer" && k >= l) || (sides[i] == "seller" && k <= l) {
				q += curves[i][k]
			}
		}
		return q
	}
	total := func(side string, l int) uint64 {
		var q uint64
		for i := range curves {
			if sides[i] == side {
				q += qty(i, l)
			}
		}
		return q
	}
	level := -1
	for l := 0; l < levels; l++ {
		if total("buyer", l) >= total("seller", l) {
			level = l
		}
	}
	alloc := make([]uint64, len(curves))
	if level < 0 || len(curves) == 0 {
		return -1, alloc
	}
	volume := min(total("buyer", level), total("seller", level))
	left := map[string]uint64{"buyer": volume, "seller": volume}
	for i := range curves {
		alloc[i] = min(qty(i, level), left[sides[i]])
		left[sides[i]] -= alloc[i]
	}
	return level, alloc
}

// TestPlainAuctionMatchesDefinition compares PlainAuction with a sort of
// the bids (descending, stable, so ties keep the lower index first) on
// random bids with many ties.
func TestPlainAuctionMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for it := 0; it < 2000; it++ {
		bids := make([]uint64, 1+rng.IntN(6))
		for i := range bids {
			bids[i] = rng.Uint64N(4)
		}
		order := make([]int, len(bids))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(bids[b], bids[a]) })
		var second uint64
		if len(order) > 1 {
			second = bids[order[1]]
		}
		if w, p := PlainAuction(jobrun.AuctionFirst, bids); w != order[0] || p != bids[order[0]] {
			t.Fatalf("bids %v: first price %d %d, want %d %d", bids, w, p, order[0], bids[order[0]])
		}
		if w, p := PlainAuction(jobrun.AuctionVickrey, bids); w != order[0] || p != second {
			t.Fatalf("bids %v: Vickrey %d %d, want %d %d", bids, w, p, order[0], second)
		}
	}
}
