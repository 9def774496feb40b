package jobrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
)

// Type names a job type.
type Type string

// Job types.
const (
	// CreditScore scores subjects with a public logistic model on features
	// split across providers (HE/CKKS); the scores go to the recipient only.
	CreditScore Type = "credit-score"
	// Aggregate computes count, sum, mean, variance and a histogram of
	// integer values held by the providers (HE/BGV).
	Aggregate Type = "aggregate"
	// AuctionFirst is a sealed-bid first-price auction among the providers
	// (SS): only the winner and the price are revealed.
	AuctionFirst Type = "auction-first"
	// AuctionVickrey is a sealed-bid second-price auction (SS).
	AuctionVickrey Type = "auction-vickrey"
	// Clearing clears a double auction (SS): the clearing price is revealed,
	// each bidder learns only its own allocation.
	Clearing Type = "clearing"
)

// Types lists every job type.
func Types() []Type { return []Type{CreditScore, Aggregate, AuctionFirst, AuctionVickrey, Clearing} }

// IsHE reports whether a job type runs on the homomorphic engine (the others
// run on the secret-sharing engine).
func (t Type) IsHE() bool { return t == CreditScore || t == Aggregate }

func (t Type) valid() bool { return slices.Contains(Types(), t) }

// Bounds on a Spec.
const (
	MaxIDBytes        = 128
	MaxPartyIDBytes   = 128
	MaxProviders      = 1024
	MinCommittee      = ss.MinParties
	MaxCommittee      = ss.MaxParties
	MaxParamsBytes    = 64 << 10
	MaxSpecBytes      = 256 << 10
	MaxInputFileBytes = 16 << 20
)

// Spec is the public description of one job: what the ledger's job record
// carries. Parties are named by opaque IDs (the node uses member IDs); their
// position in Committee is their committee index (HE party, BLS share index),
// their position in Providers their provider index.
//
// Validate (or DecodeSpec) decodes Params into the spec; call it before a
// spec is shared between goroutines, and do not modify a validated spec.
// Role functions validate a spec that has not been validated yet.
type Spec struct {
	ID        string          `json:"id"`
	Type      Type            `json:"type"`
	Params    json.RawMessage `json:"params"`
	Requester string          `json:"requester,omitempty"`
	Providers []string        `json:"providers"`
	Committee []string        `json:"committee"`
	// Threshold is the committee's signing threshold t (threshold BLS) and,
	// for HE jobs, the number of members that must stay online. SS jobs need
	// every member online; the Shamir degree is fixed by the engine at
	// ⌊(n−1)/2⌋ < n/2.
	Threshold int    `json:"threshold"`
	Recipient string `json:"recipient"`

	params any // decoded by Validate
}

// CreditParams are the parameters of a credit-score job.
type CreditParams struct {
	// Subjects is the number of subjects (rows); every provider's columns
	// have exactly this many entries, in the same agreed subject order.
	Subjects int `json:"subjects"`
	// Model is the public logistic model: len(Weights) features.
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
	// Domain and Degree of the sigmoid approximation (0: defaults of
	// mpc/jobs, [-8, 8] and 31).
	Domain float64 `json:"domain,omitempty"`
	Degree int     `json:"degree,omitempty"`
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
// [0, MaxBid] (0 means 2^64−1).
type AuctionParams struct {
	MaxBid uint64 `json:"max_bid,omitempty"`
}

// ClearingParams are the parameters of a clearing job: the strictly
// increasing price grid and each provider's side ("buyer" or "seller").
type ClearingParams struct {
	Prices []uint64 `json:"prices"`
	Sides  []string `json:"sides"`
}

// MaxClearingQuantity bounds one level's quantity in a clearing curve, so
// that aggregates of up to MaxProviders curves stay below 2^64.
const MaxClearingQuantity = 1 << 48

// DecodeSpec parses a JSON spec (at most MaxSpecBytes, unknown fields
// rejected) and validates it.
func DecodeSpec(b []byte) (*Spec, error) {
	if len(b) > MaxSpecBytes {
		return nil, fmt.Errorf("jobrun: spec of %d bytes exceeds %d", len(b), MaxSpecBytes)
	}
	var s Spec
	if err := strictJSON(b, &s); err != nil {
		return nil, fmt.Errorf("jobrun: spec: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// strictJSON decodes exactly one JSON value, rejecting unknown fields and
// trailing data.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func checkName(what, s string, max int) error {
	if len(s) == 0 || len(s) > max {
		return fmt.Errorf("jobrun: %s of %d bytes, want 1..%d", what, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return fmt.Errorf("jobrun: %s %q: only letters, digits and - _ . : are allowed", what, s)
		}
	}
	return nil
}

// Validate checks the spec strictly and decodes its parameters.
func (s *Spec) Validate() error {
	if err := checkName("job ID", s.ID, MaxIDBytes); err != nil {
		return err
	}
	if !s.Type.valid() {
		return fmt.Errorf("jobrun: unknown job type %q", s.Type)
	}
	if s.Requester != "" {
		if err := checkName("requester", s.Requester, MaxPartyIDBytes); err != nil {
			return err
		}
	}
	n := len(s.Committee)
	if n < MinCommittee || n > MaxCommittee {
		return fmt.Errorf("jobrun: committee of %d members, want %d..%d", n, MinCommittee, MaxCommittee)
	}
	if err := uniqueNames("committee member", s.Committee); err != nil {
		return err
	}
	// ⌈n/2⌉ ≤ t ≤ n is what the threshold BLS key (kyber's VSS) requires.
	if s.Threshold < (n+1)/2 || s.Threshold > n {
		return fmt.Errorf("jobrun: threshold %d for a committee of %d, want %d..%d", s.Threshold, n, (n+1)/2, n)
	}
	if len(s.Providers) < 1 || len(s.Providers) > MaxProviders {
		return fmt.Errorf("jobrun: %d providers, want 1..%d", len(s.Providers), MaxProviders)
	}
	if err := checkProviderSlots(s.Providers); err != nil {
		return err
	}
	if err := checkName("recipient", s.Recipient, MaxPartyIDBytes); err != nil {
		return err
	}
	if len(s.Params) > MaxParamsBytes {
		return fmt.Errorf("jobrun: params of %d bytes exceed %d", len(s.Params), MaxParamsBytes)
	}
	p, err := s.decodeParams()
	if err != nil {
		return fmt.Errorf("jobrun: %s params: %w", s.Type, err)
	}
	s.params = p
	return nil
}

// MaxSlotLabelBytes bounds the label of a provider slot "node/label".
const MaxSlotLabelBytes = 64

// checkProviderSlots checks the providers' input slots: each is a party ID,
// or "party/label" for one of several inputs a party supplies.
func checkProviderSlots(slots []string) error {
	seen := make(map[string]bool, len(slots))
	for _, slot := range slots {
		node, label, labelled := strings.Cut(slot, "/")
		if err := checkName("provider", node, MaxPartyIDBytes); err != nil {
			return err
		}
		if labelled {
			if err := checkName("provider slot label", label, MaxSlotLabelBytes); err != nil {
				return err
			}
			if strings.Contains(label, ":") {
				return fmt.Errorf("jobrun: provider slot label %q: only letters, digits and - _ . are allowed", label)
			}
		}
		if seen[slot] {
			return fmt.Errorf("jobrun: provider %q listed twice", slot)
		}
		seen[slot] = true
	}
	return nil
}

func uniqueNames(what string, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, id := range names {
		if err := checkName(what, id, MaxPartyIDBytes); err != nil {
			return err
		}
		if seen[id] {
			return fmt.Errorf("jobrun: %s %q listed twice", what, id)
		}
		seen[id] = true
	}
	return nil
}

func (s *Spec) decodeParams() (any, error) {
	raw := s.Params
	if len(bytes.TrimSpace(raw)) == 0 {
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
		if p.MaxBid == 0 {
			p.MaxBid = math.MaxUint64
		}
		return &p, nil
	case Clearing:
		var p ClearingParams
		if err := strictJSON(raw, &p); err != nil {
			return nil, err
		}
		return &p, p.validate(len(s.Providers))
	}
	return nil, fmt.Errorf("unknown job type %q", s.Type)
}

// MaxFeatures bounds a credit model's width.
const MaxFeatures = 256

func (p *CreditParams) validate(providers int) error {
	if p.Subjects < 1 || p.Subjects > MaxSubjects {
		return fmt.Errorf("%d subjects, want 1..%d", p.Subjects, MaxSubjects)
	}
	if len(p.Weights) < 1 || len(p.Weights) > MaxFeatures {
		return fmt.Errorf("%d weights, want 1..%d", len(p.Weights), MaxFeatures)
	}
	for _, w := range append([]float64{p.Bias, p.Domain}, p.Weights...) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return errors.New("non-finite model coefficient")
		}
	}
	if p.Domain < 0 || p.Degree < 0 || p.Degree > 255 {
		return fmt.Errorf("sigmoid domain %v / degree %d out of range", p.Domain, p.Degree)
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

func (p CreditParams) model() jobs.CreditModel {
	return jobs.CreditModel{Weights: p.Weights, Bias: p.Bias, Domain: p.Domain, Degree: p.Degree}
}

// MaxSubjects bounds a credit job's subjects: one CKKS ciphertext of the
// secure preset (2^13 slots) per feature column.
const MaxSubjects = 1 << 13

// MaxAggregateValues bounds one provider's values in an aggregate job (a BGV
// row of the secure preset).
const MaxAggregateValues = 1 << 13

func (p *AggregateParams) validate() error {
	if p.Bins < 1 || p.Bins > 1024 || p.Bins&(p.Bins-1) != 0 {
		return fmt.Errorf("bins %d must be a power of two in 1..1024", p.Bins)
	}
	if p.Hi <= p.Lo {
		return fmt.Errorf("histogram range [%d, %d) is empty", p.Lo, p.Hi)
	}
	if p.Lo < -jobs.MaxAggregateMagnitude || p.Hi > jobs.MaxAggregateMagnitude+1 {
		return fmt.Errorf("histogram range [%d, %d) exceeds ±%d", p.Lo, p.Hi, jobs.MaxAggregateMagnitude)
	}
	return nil
}

func (p AggregateParams) spec() jobs.AggregateSpec {
	return jobs.AggregateSpec{Bins: p.Bins, Lo: p.Lo, Hi: p.Hi}
}

func (p *ClearingParams) validate(providers int) error {
	if len(p.Prices) < 1 || len(p.Prices) > jobs.MaxClearingLevels {
		return fmt.Errorf("%d price levels, want 1..%d", len(p.Prices), jobs.MaxClearingLevels)
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
		if s != "buyer" && s != "seller" {
			return fmt.Errorf("provider %d: side %q, want buyer or seller", i, s)
		}
	}
	return nil
}

func (p ClearingParams) side(i int) jobs.Side {
	if p.Sides[i] == "buyer" {
		return jobs.Buyer
	}
	return jobs.Seller
}

// Decoded parameters; Validate must have succeeded.
func (s *Spec) credit() *CreditParams       { return s.params.(*CreditParams) }
func (s *Spec) aggregate() *AggregateParams { return s.params.(*AggregateParams) }
func (s *Spec) auction() *AuctionParams     { return s.params.(*AuctionParams) }
func (s *Spec) clearing() *ClearingParams   { return s.params.(*ClearingParams) }

// ensureValid validates a spec that has not been validated yet.
func (s *Spec) ensureValid() error {
	if s == nil {
		return errors.New("jobrun: nil spec")
	}
	if s.params != nil {
		return nil
	}
	return s.Validate()
}

// ProviderIndex returns the index of provider slot id, or −1.
func (s *Spec) ProviderIndex(id string) int { return slices.Index(s.Providers, id) }

// ProviderNode returns the party that supplies provider slot i: the slot
// itself, or the part before the slash of "party/label".
func (s *Spec) ProviderNode(i int) string { return SlotNode(s.Providers[i]) }

// SlotNode returns the party that supplies a provider slot.
func SlotNode(slot string) string {
	node, _, _ := strings.Cut(slot, "/")
	return node
}

// SlotLabel returns the label of a provider slot "party/label" ("" for an
// unlabelled slot).
func SlotLabel(slot string) string {
	_, label, _ := strings.Cut(slot, "/")
	return label
}

// SlotsOf returns the indices of the provider slots party supplies.
func (s *Spec) SlotsOf(party string) []int {
	var out []int
	for i := range s.Providers {
		if s.ProviderNode(i) == party {
			out = append(out, i)
		}
	}
	return out
}

// MemberIndex returns the committee index of member id, or −1.
func (s *Spec) MemberIndex(id string) int { return slices.Index(s.Committee, id) }
