package jobrun

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"

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
//	tender:          {"price": p}        slot "<member>/price",    0 ≤ p ≤ max_price
//	                 {"capacity": c}     slot "<member>/capacity", 0 ≤ c ≤ quantity

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

// TenderInput is a quoting member's file for one of its two tender slots:
// Price for its "/price" slot, Capacity for its "/capacity" slot (exactly
// the one the slot names).
type TenderInput struct {
	Price    *uint64 `json:"price,omitempty"`
	Capacity *uint64 `json:"capacity,omitempty"`
}

// value returns the one value the file gives for provider slot idx of a
// tender (price for even slots, capacity for odd ones).
func (in *TenderInput) value(idx int) (uint64, error) {
	want, other, name := in.Price, in.Capacity, jobspec.TenderPriceLabel
	if idx%2 == 1 {
		want, other, name = in.Capacity, in.Price, jobspec.TenderCapacityLabel
	}
	if want == nil || other != nil {
		return 0, fmt.Errorf("the %s slot's file must give exactly %q", name, name)
	}
	return *want, nil
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
	case Tender:
		var in TenderInput
		if err := strictJSON(file, &in); err != nil {
			return bad("%v", err)
		}
		v, err := in.value(idx)
		if err != nil {
			return bad("%v", err)
		}
		if lo, hi, ok := s.SlotRange(idx); !ok || v < lo || v > hi {
			return bad("%d outside [%d, %d]", v, lo, hi)
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
	Tender    *TenderResult    `json:"tender,omitempty"`
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

// TenderResult is what a tender's demander (the recipient) learns: the
// chosen partners, and the award vector with what opens its commitment, so
// that it can post the award to its order (the ledger checks
// CombineCommitments(Commitments) against the signed output commitment and
// NativeCommit(Award, AwardSalt) against Commitments[0]).
type TenderResult struct {
	// Partners are the chosen quotes (assigned quantity ≥ 1), in quote order.
	Partners []TenderPartner `json:"partners"`
	// Award holds two values per quote, in quote order: the quantity
	// assigned and the unit price (both 0 when the quote is not chosen).
	Award []uint64 `json:"award"`
	// AwardSalt opens Commitments[0] (hex, 32-byte big-endian field element).
	AwardSalt string `json:"award_salt"`
	// Commitments are the MPC commitments (hex): the award's, then each
	// quote's assignment's.
	Commitments []string `json:"commitments"`
}

// Opening decodes what an order.award carries besides the award: the award
// salt and the MPC commitments, 32-byte big-endian field elements each. It
// bounds the lengths by a tender's MaxTenderQuotes (the file is untrusted
// input to the command that posts it; the ledger checks the opening).
func (r *TenderResult) Opening() (salt []byte, commitments [][]byte, err error) {
	if len(r.Award) > 2*jobspec.MaxTenderQuotes || len(r.Commitments) > jobspec.MaxTenderQuotes+1 {
		return nil, nil, fmt.Errorf("%d award values and %d commitments exceed a tender's %d quotes", len(r.Award), len(r.Commitments), jobspec.MaxTenderQuotes)
	}
	if salt, err = hex32(r.AwardSalt, "award_salt"); err != nil {
		return nil, nil, err
	}
	for i, c := range r.Commitments {
		b, err := hex32(c, fmt.Sprintf("commitment %d", i))
		if err != nil {
			return nil, nil, err
		}
		commitments = append(commitments, b)
	}
	return salt, commitments, nil
}

func hex32(s, what string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%s must be 32 bytes of hex", what)
	}
	return b, nil
}

// TenderPartner is a chosen quote.
type TenderPartner struct {
	Member   string `json:"member"`
	Quote    int    `json:"quote"`
	Quantity uint64 `json:"quantity"`
	Price    uint64 `json:"price"`
}

// TenderAssignment is what a quoting member learns of a tender: the
// quantity it is to deliver and its price (0, 0 when not chosen), with the
// salt that opens its commitment (Commitments[1+quote] of the result).
type TenderAssignment struct {
	Quantity    uint64 `json:"quantity"`
	Price       uint64 `json:"price"`
	Commitment  string `json:"commitment"`
	OpeningSalt string `json:"opening_salt"`
}

// MarshalResult renders a result as indented JSON.
func MarshalResult(r *Result) ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
