package plainref

import (
	"fmt"

	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/jobrun"
)

// PlainAuction returns the winner and the price of a first-price or Vickrey
// auction (typ jobrun.AuctionFirst or jobrun.AuctionVickrey; any other type
// panics). The winner is the highest bid, ties to the lowest index; it pays
// its own bid (first price) or the highest bid of the others (Vickrey: equal
// to its own when the top bid is tied, 0 when it is the only bidder). Without
// bids there is no winner: (−1, 0). (The engine refuses an auction of fewer
// than two bids; the reference states those cases anyway.)
func PlainAuction(typ jobrun.Type, bids []uint64) (winner int, price uint64) {
	if typ != jobrun.AuctionFirst && typ != jobrun.AuctionVickrey {
		panic(fmt.Sprintf("plainref: %q is not an auction", typ))
	}
	if len(bids) == 0 {
		return -1, 0
	}
	for i, b := range bids {
		if b > bids[winner] {
			winner = i
		}
	}
	if typ == jobrun.AuctionFirst {
		return winner, bids[winner]
	}
	for i, b := range bids {
		if i != winner && b > price {
			price = b
		}
	}
	return winner, price
}

// PlainClearing returns the clearing level of a double auction and each
// bidder's allocation, with the semantics of jobs.Clear: curves[i][l] is the
// quantity bidder i adds at level l (jobs.ClearingBid), sides[i] its side
// (jobspec.SideBuyer or jobspec.SideSeller). Aggregate demand at level l is
// the buyers' quantities at levels ≥ l, aggregate supply the sellers' at
// levels ≤ l; the clearing level is the highest level at which demand covers
// supply (D ≥ S, ties included), −1 when there is none (no trade, every
// allocation 0). At the level, each bidder's quantity is its demand or supply
// there, and the long side is rationed to the short side's volume in
// provider order (jobs.PlainRation). Without bidders the level is −1 and the
// allocation empty; bidders whose curves are all zero clear at the top level
// with nothing traded, as the engine does.
//
// Sides and curves must be as a valid job has them: one side and one curve
// per bidder, every curve of the same length, each side buyer or seller
// (otherwise PlainClearing panics), and the aggregates below 2^64, which the
// providers' range proofs ensure (larger sums wrap, unchecked).
func PlainClearing(sides []string, curves [][]uint64) (level int, alloc []uint64) {
	if len(sides) != len(curves) {
		panic(fmt.Sprintf("plainref: clearing with %d sides and %d curves", len(sides), len(curves)))
	}
	alloc = make([]uint64, len(curves))
	if len(curves) == 0 {
		return -1, alloc
	}
	levels := len(curves[0])
	js := make([]jobs.Side, len(sides))
	// bought[l] and sold[l]: every buyer's and every seller's quantity at
	// level l.
	bought, sold := make([]uint64, levels), make([]uint64, levels)
	for i, c := range curves {
		if len(c) != levels {
			panic(fmt.Sprintf("plainref: clearing curve %d has %d levels, curve 0 has %d", i, len(c), levels))
		}
		per := sold
		switch sides[i] {
		case jobspec.SideBuyer:
			js[i], per = jobs.Buyer, bought
		case jobspec.SideSeller:
			js[i] = jobs.Seller
		default:
			panic(fmt.Sprintf("plainref: clearing bidder %d has side %q, want %q or %q", i, sides[i], jobspec.SideBuyer, jobspec.SideSeller))
		}
		for l, q := range c {
			per[l] += q
		}
	}
	// demand[l] = Σ_{k ≥ l} bought[k], supply[l] = Σ_{k ≤ l} sold[k]; the
	// level is the highest l with demand ≥ supply (demand − supply does not
	// increase with l, so that is also where the engine's binary search
	// ends).
	demand := make([]uint64, levels+1)
	for l := levels - 1; l >= 0; l-- {
		demand[l] = demand[l+1] + bought[l]
	}
	level = -1
	var supply uint64
	for l := 0; l < levels; l++ {
		supply += sold[l]
		if demand[l] >= supply {
			level = l
		}
	}
	if level < 0 {
		return -1, alloc
	}
	for i, c := range curves {
		lo, hi := 0, level+1 // a seller's levels ≤ level
		if js[i] == jobs.Buyer {
			lo, hi = level, levels // a buyer's levels ≥ level
		}
		for _, q := range c[lo:hi] {
			alloc[i] += q
		}
	}
	return level, jobs.PlainRation(js, alloc)
}

// PlainTender returns a tender's award vector in the clear, with the
// semantics of jobs.RunTender (jobs.PlainTender): for each quote k, its
// assigned quantity and its price, (0, 0) when it is not chosen. prices,
// capacities and p.PriceFactors have one entry per quote; otherwise
// PlainTender panics.
func PlainTender(p jobrun.TenderParams, prices, capacities []uint64) []uint64 {
	if len(prices) != len(capacities) || len(prices) != len(p.PriceFactors) {
		panic(fmt.Sprintf("plainref: tender with %d prices, %d capacities and %d price factors", len(prices), len(capacities), len(p.PriceFactors)))
	}
	q, pr := jobs.PlainTender(jobs.TenderSpec{Quantity: p.Quantity, MaxPartners: p.MaxPartners, MaxPrice: p.MaxPrice, PriceFactors: p.PriceFactors}, prices, capacities)
	award := make([]uint64, 0, 2*len(q))
	for k := range q {
		award = append(award, q[k], pr[k])
	}
	return award
}

// PlainCreditScores scores subjects in the clear with the exact logistic
// function σ(w·x + b) (the HE engine evaluates its Chebyshev approximation on
// the model's domain); cols[j] is feature j of every subject. It fails if
// the model's coefficients do not parse or the columns do not match the
// model (one per weight, all of the same length).
func PlainCreditScores(p jobrun.CreditParams, cols [][]float64) ([]float64, error) {
	m, err := jobrun.CreditModel(&p)
	if err != nil {
		return nil, fmt.Errorf("plainref: credit model: %w", err)
	}
	if len(cols) != len(m.Weights) {
		return nil, fmt.Errorf("plainref: %d feature columns for a model of %d weights", len(cols), len(m.Weights))
	}
	for j := range cols {
		if len(cols[j]) != len(cols[0]) {
			return nil, fmt.Errorf("plainref: feature column %d has %d subjects, column 0 has %d", j, len(cols[j]), len(cols[0]))
		}
	}
	return jobs.PlainCreditScores(m, cols), nil
}

// PlainAggregate computes an aggregate job's statistics in the clear
// (jobs.PlainAggregate): count, sum, sum of squares, mean, variance and the
// histogram of p.Bins equal-width bins over [p.Lo, p.Hi), values below Lo
// counted in the first bin and values from Hi on in the last. values[i] is
// provider i's values; p must be valid (p.Bins ≥ 1, jobspec checks).
func PlainAggregate(p jobrun.AggregateParams, values [][]int64) jobrun.AggregateResult {
	st := jobs.PlainAggregate(jobs.AggregateSpec{Bins: p.Bins, Lo: p.Lo, Hi: p.Hi}, values)
	return jobrun.AggregateResult{Count: st.Count, Sum: st.Sum, SumSq: st.SumSq, Mean: st.Mean, Variance: st.Variance, Histogram: st.Histogram}
}
