package jobspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/cohortnet/cohort/mpc/jobs"
)

// Limits of the parameters of each job type.
const (
	// MaxFeatures bounds a credit model's width.
	MaxFeatures = 256
	// MaxSubjects bounds a credit job's subjects: one CKKS ciphertext of the
	// secure preset (2^13 slots) per feature column.
	MaxSubjects = 1 << 13
	// MaxDegree bounds the sigmoid approximation's degree: a degree-d
	// polynomial costs 1+⌈log2(d+1)⌉ levels and the HE presets have 6
	// (jobrun.CheckPreset; TestSpecLimitsFitSecurePreset in node/jobrun).
	MaxDegree = 31
	// MaxCoefExp10 bounds a credit model coefficient: |c| < 10^MaxCoefExp10.
	MaxCoefExp10 = 6
	// MaxCoefBytes bounds a coefficient's decimal literal.
	MaxCoefBytes = 32
	// MaxBins bounds an aggregate's histogram.
	MaxBins = 1024
	// MaxAggregateValues bounds one provider's values in an aggregate job (a
	// BGV row of the secure preset).
	MaxAggregateValues = 1 << 13
	// MaxAggregateMagnitude bounds |value| in an aggregate job (the engine's
	// bound, so that sums of squares stay exact).
	MaxAggregateMagnitude = jobs.MaxAggregateMagnitude
	// MaxClearingLevels bounds a clearing job's price grid (the engine's).
	MaxClearingLevels = jobs.MaxClearingLevels
	// MaxClearingQuantity bounds one level's quantity in a clearing curve, so
	// that aggregates of up to MaxProviders curves stay below 2^64.
	MaxClearingQuantity = 1 << 48
	// MaxTenderQuotes bounds a tender's quotes (two provider slots each):
	// the ranking compares every pair, 2,016 comparisons at this bound.
	MaxTenderQuotes = jobs.MaxTenderQuotes
	// MaxTenderPartners bounds the partners a tender may choose (an order's
	// partner slots).
	MaxTenderPartners = 16
	// MaxTenderQuantity and MaxTenderPrice bound a tender's quantity and a
	// quote's unit price; MaxPriceFactor bounds a rating weight. A weighted
	// price is below 2^60 and a sum of 64 capacities below 2^46, so every
	// comparison the engine makes is between integers below 2^64.
	MaxTenderQuantity = 1 << 40
	MaxTenderPrice    = 1 << 40
	MaxPriceFactor    = 1 << 20
)

// CreditParams are the parameters of a credit-score job. The model's
// coefficients are decimal literals: the ledger checks them without floating
// point, the nodes parse them (Float64).
type CreditParams struct {
	// Subjects is the number of subjects (rows); every provider's columns
	// have exactly this many entries, in the same agreed subject order.
	Subjects int `json:"subjects"`
	// Weights is the public logistic model: one coefficient per feature.
	Weights []json.Number `json:"weights"`
	Bias    json.Number   `json:"bias,omitempty"`
	// Domain and Degree of the sigmoid approximation (absent or 0: the
	// defaults of mpc/jobs, [-8, 8] and 31).
	Domain json.Number `json:"domain,omitempty"`
	Degree int         `json:"degree,omitempty"`
	// ProviderFeatures[i] lists the feature indices provider i supplies; the
	// lists partition 0..len(Weights)-1.
	ProviderFeatures [][]int `json:"provider_features"`
}

// AggregateParams are the parameters of an aggregate job: the histogram has
// Bins (a power of two) equal-width bins over [Lo, Hi).
type AggregateParams struct {
	Bins int   `json:"bins"`
	Lo   int64 `json:"lo"`
	Hi   int64 `json:"hi"`
}

// AuctionParams are the parameters of an auction: bids must lie in
// [0, MaxBid] (absent or 0: no bound but 2^64−1, and no proof required).
type AuctionParams struct {
	MaxBid uint64 `json:"max_bid,omitempty"`
}

// BidBound is the largest bid the auction accepts.
func (p *AuctionParams) BidBound() uint64 {
	if p.MaxBid == 0 {
		return math.MaxUint64
	}
	return p.MaxBid
}

// ClearingParams are the parameters of a clearing job: the strictly
// increasing price grid and each provider's side ("buyer" or "seller").
type ClearingParams struct {
	Prices []uint64 `json:"prices"`
	Sides  []string `json:"sides"`
}

// TenderParams are the parameters of a tender job. Each quoting member
// supplies two provider slots, in this order: "<member>/price" (its unit
// price, proven in [0, MaxPrice]) and "<member>/capacity" (the quantity it
// can deliver, proven in [0, Quantity]); quote k is slots 2k and 2k+1.
//
// The engine ranks quote k by its weighted price price_k × PriceFactors[k]
// (lower is better; ties go to the lower k), takes the MaxPartners best
// quotes and fills Quantity from the best down: quote k is assigned
// min(capacity_k, Quantity − the capacities of the quotes ranked before it),
// or nothing when that is not positive or k is not among the best
// MaxPartners. A quote with a positive assignment is chosen.
//
// What the outputs imply: the demander learns the chosen quotes' quantities
// and prices; a quoter learns its own assignment, so a partly filled quote
// learns Quantity minus the capacities ranked before it (the chosen
// competitors' total capacity). Nothing depends on a losing quote.
type TenderParams struct {
	// Order is the ledger order the tender fills.
	Order       string `json:"order"`
	Quantity    uint64 `json:"quantity"`
	MaxPartners int    `json:"max_partners"`
	MaxPrice    uint64 `json:"max_price"`
	// PriceFactors[k] weighs quote k's price by its quoter's public rating
	// (the policy's formula; the ledger checks every factor against the
	// quoter's rating when the job is submitted).
	PriceFactors []uint64 `json:"price_factors"`
}

// Slot labels of a tender quote.
const (
	TenderPriceLabel    = "price"
	TenderCapacityLabel = "capacity"
)

// TenderSlots returns the two provider slots of a quoting member.
func TenderSlots(member string) (price, capacity string) {
	return member + "/" + TenderPriceLabel, member + "/" + TenderCapacityLabel
}

// Quoters returns the number of quotes of a tender with the given slots.
func (p *TenderParams) Quoters() int { return len(p.PriceFactors) }

func (p *TenderParams) validate(slots []string) error {
	if err := CheckID("order", p.Order); err != nil {
		return err
	}
	if p.Quantity < 1 || p.Quantity > MaxTenderQuantity {
		return fmt.Errorf("quantity %d, want 1..%d", p.Quantity, uint64(MaxTenderQuantity))
	}
	if p.MaxPrice < 1 || p.MaxPrice > MaxTenderPrice {
		return fmt.Errorf("max_price %d, want 1..%d", p.MaxPrice, uint64(MaxTenderPrice))
	}
	if len(slots)%2 != 0 {
		return fmt.Errorf("%d provider slots: a tender has two per quote (price, capacity)", len(slots))
	}
	quotes := len(slots) / 2
	if quotes < 2 || quotes > MaxTenderQuotes {
		return fmt.Errorf("%d quotes, want 2..%d", quotes, MaxTenderQuotes)
	}
	if len(p.PriceFactors) != quotes {
		return fmt.Errorf("price_factors lists %d quotes, the job has %d", len(p.PriceFactors), quotes)
	}
	if p.MaxPartners < 1 || p.MaxPartners > min(quotes, MaxTenderPartners) {
		return fmt.Errorf("max_partners %d, want 1..%d", p.MaxPartners, min(quotes, MaxTenderPartners))
	}
	seen := make(map[string]bool, quotes)
	for k := 0; k < quotes; k++ {
		member := SlotMember(slots[2*k])
		price, capacity := TenderSlots(member)
		if slots[2*k] != price || slots[2*k+1] != capacity {
			return fmt.Errorf("quote %d: slots %q, %q, want %q, %q", k, slots[2*k], slots[2*k+1], price, capacity)
		}
		if seen[member] {
			return fmt.Errorf("member %q quotes twice", member)
		}
		seen[member] = true
		if f := p.PriceFactors[k]; f < 1 || f > MaxPriceFactor {
			return fmt.Errorf("quote %d: price factor %d, want 1..%d", k, f, uint64(MaxPriceFactor))
		}
	}
	return nil
}

// Clearing sides.
const (
	SideBuyer  = "buyer"
	SideSeller = "seller"
)

func (s *Spec) decodeParams() (any, error) {
	raw := s.Params
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		raw = []byte("{}")
	}
	switch s.Type {
	case CreditScore:
		var p CreditParams
		if err := strictJSON(raw, &p); err != nil {
			return nil, err
		}
		return &p, p.validate(len(s.Providers))
	case Aggregate:
		var p AggregateParams
		if err := strictJSON(raw, &p); err != nil {
			return nil, err
		}
		return &p, p.validate()
	case AuctionFirst, AuctionVickrey:
		var p AuctionParams
		if err := strictJSON(raw, &p); err != nil {
			return nil, err
		}
		if len(s.Providers) < 2 {
			return nil, errors.New("an auction needs at least two bidders")
		}
		return &p, nil
	case Clearing:
		var p ClearingParams
		if err := strictJSON(raw, &p); err != nil {
			return nil, err
		}
		return &p, p.validate(len(s.Providers))
	case Tender:
		var p TenderParams
		if err := strictJSON(raw, &p); err != nil {
			return nil, err
		}
		return &p, p.validate(s.Providers)
	}
	return nil, fmt.Errorf("unknown job type %q", s.Type)
}

func (p *CreditParams) validate(providers int) error {
	if p.Subjects < 1 || p.Subjects > MaxSubjects {
		return fmt.Errorf("%d subjects, want 1..%d", p.Subjects, MaxSubjects)
	}
	if len(p.Weights) < 1 || len(p.Weights) > MaxFeatures {
		return fmt.Errorf("%d weights, want 1..%d", len(p.Weights), MaxFeatures)
	}
	for i, w := range p.Weights {
		if err := checkCoef(w); err != nil {
			return fmt.Errorf("weight %d: %w", i, err)
		}
	}
	if p.Bias != "" {
		if err := checkCoef(p.Bias); err != nil {
			return fmt.Errorf("bias: %w", err)
		}
	}
	if p.Domain != "" {
		if err := checkCoef(p.Domain); err != nil {
			return fmt.Errorf("domain: %w", err)
		}
		if neg, _ := decimalSign(string(p.Domain)); neg {
			return fmt.Errorf("sigmoid domain %s must not be negative", p.Domain)
		}
	}
	if p.Degree < 0 || p.Degree > MaxDegree {
		return fmt.Errorf("sigmoid degree %d, want 0..%d", p.Degree, MaxDegree)
	}
	if len(p.ProviderFeatures) != providers {
		return fmt.Errorf("provider_features lists %d providers, the job has %d", len(p.ProviderFeatures), providers)
	}
	owner := make([]int, len(p.Weights))
	for j := range owner {
		owner[j] = -1
	}
	for i, fs := range p.ProviderFeatures {
		if len(fs) == 0 {
			return fmt.Errorf("provider %d supplies no feature", i)
		}
		for _, j := range fs {
			if j < 0 || j >= len(p.Weights) {
				return fmt.Errorf("provider %d: feature %d out of range", i, j)
			}
			if owner[j] >= 0 {
				return fmt.Errorf("feature %d supplied by providers %d and %d", j, owner[j], i)
			}
			owner[j] = i
		}
	}
	for j, o := range owner {
		if o < 0 {
			return fmt.Errorf("feature %d supplied by no provider", j)
		}
	}
	return nil
}

func (p *AggregateParams) validate() error {
	if p.Bins < 1 || p.Bins > MaxBins || p.Bins&(p.Bins-1) != 0 {
		return fmt.Errorf("bins %d must be a power of two in 1..%d", p.Bins, MaxBins)
	}
	if p.Hi <= p.Lo {
		return fmt.Errorf("histogram range [%d, %d) is empty", p.Lo, p.Hi)
	}
	if p.Lo < -MaxAggregateMagnitude || p.Hi > MaxAggregateMagnitude+1 {
		return fmt.Errorf("histogram range [%d, %d) exceeds ±%d", p.Lo, p.Hi, MaxAggregateMagnitude)
	}
	return nil
}

func (p *ClearingParams) validate(providers int) error {
	if len(p.Prices) < 1 || len(p.Prices) > MaxClearingLevels {
		return fmt.Errorf("%d price levels, want 1..%d", len(p.Prices), MaxClearingLevels)
	}
	for l := 1; l < len(p.Prices); l++ {
		if p.Prices[l] <= p.Prices[l-1] {
			return errors.New("prices must increase strictly")
		}
	}
	if len(p.Sides) != providers {
		return fmt.Errorf("sides lists %d providers, the job has %d", len(p.Sides), providers)
	}
	for i, s := range p.Sides {
		if s != SideBuyer && s != SideSeller {
			return fmt.Errorf("provider %d: side %q, want buyer or seller", i, s)
		}
	}
	return nil
}

// IsBuyer reports whether bidder i of a clearing job buys.
func (p *ClearingParams) IsBuyer(i int) bool { return p.Sides[i] == SideBuyer }

// Decoded parameters of a validated spec; nil for another job type or a
// spec that was not validated.
func (s *Spec) Credit() *CreditParams {
	p, _ := s.params.(*CreditParams)
	return p
}

// AggregateParams returns an aggregate job's decoded parameters (see Credit).
func (s *Spec) AggregateParams() *AggregateParams {
	p, _ := s.params.(*AggregateParams)
	return p
}

// Auction returns an auction's decoded parameters (see Credit).
func (s *Spec) Auction() *AuctionParams {
	p, _ := s.params.(*AuctionParams)
	return p
}

// TenderParams returns a tender's decoded parameters (see Credit).
func (s *Spec) TenderParams() *TenderParams {
	p, _ := s.params.(*TenderParams)
	return p
}

// ClearingParams returns a clearing job's decoded parameters (see Credit).
func (s *Spec) ClearingParams() *ClearingParams {
	p, _ := s.params.(*ClearingParams)
	return p
}
