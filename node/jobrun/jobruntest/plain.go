package jobruntest

import (
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/node/jobrun"
)

// Plaintext references of every job type, for tests, the bench harness and a
// requester's own checks.

// PlainAuction returns the winner (ties to the lowest index) and the price of
// a first-price or Vickrey auction.
func PlainAuction(typ jobrun.Type, bids []uint64) (winner int, price uint64) {
	var second uint64
	for i, b := range bids {
		if i == 0 || b > bids[winner] {
			if i > 0 {
				second = bids[winner]
			}
			winner = i
		} else if b > second {
			second = b
		}
	}
	if typ == jobrun.AuctionVickrey {
		return winner, second
	}
	return winner, bids[winner]
}

// PlainClearing returns the clearing level (−1: no trade) and each bidder's
// allocation (the long side rationed in provider order), with the semantics
// of jobs.Clear.
func PlainClearing(sides []string, curves [][]uint64) (int, []uint64) {
	levels := len(curves[0])
	demand := func(l int) (d, s uint64) {
		for i, c := range curves {
			if sides[i] == "buyer" {
				for k := l; k < levels; k++ {
					d += c[k]
				}
			} else {
				for k := 0; k <= l; k++ {
					s += c[k]
				}
			}
		}
		return d, s
	}
	level := -1
	for l := 0; l < levels; l++ {
		if d, s := demand(l); d >= s {
			level = l
		} else {
			break
		}
	}
	alloc := make([]uint64, len(curves))
	if level >= 0 {
		for i, c := range curves {
			if sides[i] == "buyer" {
				for k := level; k < levels; k++ {
					alloc[i] += c[k]
				}
			} else {
				for k := 0; k <= level; k++ {
					alloc[i] += c[k]
				}
			}
		}
		js := make([]jobs.Side, len(sides))
		for i, s := range sides {
			js[i] = jobs.Seller
			if s == "buyer" {
				js[i] = jobs.Buyer
			}
		}
		alloc = jobs.PlainRation(js, alloc)
	}
	return level, alloc
}

// PlainTender returns a tender's award vector in the clear, with the
// semantics of jobs.RunTender: for each quote k, its assigned quantity and
// its price (0, 0 when not chosen).
func PlainTender(p jobrun.TenderParams, prices, capacities []uint64) []uint64 {
	q, pr := jobs.PlainTender(jobs.TenderSpec{Quantity: p.Quantity, MaxPartners: p.MaxPartners, MaxPrice: p.MaxPrice, PriceFactors: p.PriceFactors}, prices, capacities)
	award := make([]uint64, 0, 2*len(q))
	for k := range q {
		award = append(award, q[k], pr[k])
	}
	return award
}

// PlainCreditScores scores subjects in the clear; cols[j] is feature j of
// every subject.
func PlainCreditScores(p jobrun.CreditParams, cols [][]float64) ([]float64, error) {
	m, err := jobrun.CreditModel(&p)
	if err != nil {
		return nil, err
	}
	return jobs.PlainCreditScores(m, cols), nil
}

// PlainAggregate computes an aggregate job's statistics in the clear.
func PlainAggregate(p jobrun.AggregateParams, values [][]int64) jobrun.AggregateResult {
	st := jobs.PlainAggregate(jobs.AggregateSpec{Bins: p.Bins, Lo: p.Lo, Hi: p.Hi}, values)
	return jobrun.AggregateResult{Count: st.Count, Sum: st.Sum, SumSq: st.SumSq, Mean: st.Mean, Variance: st.Variance, Histogram: st.Histogram}
}
