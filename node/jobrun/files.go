package jobrun

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/cohortnet/cohort/mpc/jobspec"
)

// Provider input files, one JSON object per job type (unknown fields are
// rejected, the file is bounded by MaxInputFileBytes):
//
//	credit-score:    {"features": [[x_0 … x_{S-1}], …]}   one column per feature
//	                  the provider supplies, in the order of its
//	                  provider_features entry, subjects in the agreed order
//	aggregate:       {"values": [v, …]}                  integers, |v| ≤ 2^16
//	auction-*:       {"bid": b}                          0 ≤ b ≤ max_bid
//	clearing:        {"quantities": [q_0 … q_{L-1}]}      per price level, q ≤ 2^48

// CreditInput is a credit-score provider's file.
type CreditInput struct {
	Features [][]float64 `json:"features"`
}

// AggregateInput is an aggregate provider's file.
type AggregateInput struct {
	Values []int64 `json:"values"`
}

// AuctionInput is a bidder's file.
type AuctionInput struct {
	Bid *uint64 `json:"bid"`
}

// ClearingInput is a clearing bidder's file: the quantity it adds at each
// price level (see jobs.ClearingBid for buyers' and sellers' semantics).
type ClearingInput struct {
	Quantities []uint64 `json:"quantities"`
}

// parseInput decodes and checks provider idx's input file for the spec.
func parseInput(s *Spec, idx int, file []byte) (any, error) {
	if len(file) > MaxInputFileBytes {
		return nil, fmt.Errorf("jobrun: input file of %d bytes exceeds %d", len(file), MaxInputFileBytes)
	}
	bad := func(format string, args ...any) (any, error) {
		return nil, fmt.Errorf("jobrun: %s input: %s", s.Type, fmt.Sprintf(format, args...))
	}
	switch s.Type {
	case CreditScore:
		var in CreditInput
		if err := strictJSON(file, &in); err != nil {
			return bad("%v", err)
		}
		p := s.Credit()
		want := p.ProviderFeatures[idx]
		if len(in.Features) != len(want) {
			return bad("%d feature columns, provider %d supplies %d", len(in.Features), idx, len(want))
		}
		for k, col := range in.Features {
			if len(col) != p.Subjects {
				return bad("feature %d has %d values for %d subjects", want[k], len(col), p.Subjects)
			}
			for _, v := range col {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return bad("feature %d has a non-finite value", want[k])
				}
			}
		}
		return &in, nil
	case Aggregate:
		var in AggregateInput
		if err := strictJSON(file, &in); err != nil {
			return bad("%v", err)
		}
		if len(in.Values) == 0 || len(in.Values) > jobspec.MaxAggregateValues {
			return bad("%d values, want 1..%d", len(in.Values), jobspec.MaxAggregateValues)
		}
		return &in, nil
	case AuctionFirst, AuctionVickrey:
		var in AuctionInput
		if err := strictJSON(file, &in); err != nil {
			return bad("%v", err)
		}
		if in.Bid == nil {
			return bad("missing bid")
		}
		if *in.Bid > s.Auction().BidBound() {
			return bad("bid above max_bid %d", s.Auction().BidBound())
		}
		return &in, nil
	case Clearing:
		var in ClearingInput
		if err := strictJSON(file, &in); err != nil {
			return bad("%v", err)
		}
		if len(in.Quantities) != len(s.ClearingParams().Prices) {
			return bad("%d quantities for %d price levels", len(in.Quantities), len(s.ClearingParams().Prices))
		}
		for l, q := range in.Quantities {
			if q > jobspec.MaxClearingQuantity {
				return bad("quantity at level %d exceeds %d", l, uint64(jobspec.MaxClearingQuantity))
			}
		}
		return &in, nil
	}
	return bad("unknown type")
}

// Result is what the recipient learns, written as JSON by the node
// (`cohort job result`). Exactly one of the type-specific fields is set.
type Result struct {
	JobID string `json:"job_id"`
	Type  Type   `json:"type"`
	// OutputCommitment is the commitment on the result record, hex; the
	// committee's threshold BLS Signature (hex) covers it.
	OutputCommitment string `json:"output_commitment"`
	Signature        string `json:"signature"`
	// OpeningSalt (SS jobs) is the salt under which OutputCommitment's
	// Poseidon2 preimage opens (hex, 32-byte big-endian field element); the
	// recipient may later prove statements about the result with it.
	OpeningSalt string `json:"opening_salt,omitempty"`

	Scores    []float64        `json:"scores,omitempty"`
	Aggregate *AggregateResult `json:"aggregate,omitempty"`
	Auction   *AuctionResult   `json:"auction,omitempty"`
	Clearing  *ClearingResult  `json:"clearing,omitempty"`
}

// AggregateResult holds an aggregate job's statistics.
type AggregateResult struct {
	Count     int64   `json:"count"`
	Sum       int64   `json:"sum"`
	SumSq     int64   `json:"sum_sq"`
	Mean      float64 `json:"mean"`
	Variance  float64 `json:"variance"`
	Histogram []int64 `json:"histogram"`
}

// AuctionResult names the winning provider and the price it pays.
type AuctionResult struct {
	Winner      string `json:"winner"`
	WinnerIndex int    `json:"winner_index"`
	Price       uint64 `json:"price"`
}

// ClearingResult is the public outcome of a clearing job: the clearing
// level (−1: no trade) and price. Allocations go to each bidder alone.
type ClearingResult struct {
	Level int    `json:"level"`
	Price uint64 `json:"price"`
}

// Allocation is what a clearing bidder learns: the quantity it trades at the
// clearing price (the long side is filled in provider order up to the short
// side's volume), with the salt that opens its per-bidder commitment.
type Allocation struct {
	Quantity    uint64 `json:"quantity"`
	Commitment  string `json:"commitment"`
	OpeningSalt string `json:"opening_salt"`
}

// MarshalResult renders a result as indented JSON.
func MarshalResult(r *Result) ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
