package jobrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// A job's spec, types, params and limits are defined once, in mpc/jobspec,
// which the ledger validates every job against before it is on chain. The
// names below are aliases, so that the roles in this package read as before;
// they define nothing.
type (
	// Spec is a job's public description (jobspec.Spec).
	Spec = jobspec.Spec
	// Type names a job type (jobspec.Type).
	Type = jobspec.Type
	// CreditParams are a credit-score job's parameters.
	CreditParams = jobspec.CreditParams
	// AggregateParams are an aggregate job's parameters.
	AggregateParams = jobspec.AggregateParams
	// AuctionParams are an auction's parameters.
	AuctionParams = jobspec.AuctionParams
	// ClearingParams are a clearing job's parameters.
	ClearingParams = jobspec.ClearingParams
	// TenderParams are a tender's parameters.
	TenderParams = jobspec.TenderParams
)

// Job types (jobspec).
const (
	CreditScore    = jobspec.CreditScore
	Aggregate      = jobspec.Aggregate
	AuctionFirst   = jobspec.AuctionFirst
	AuctionVickrey = jobspec.AuctionVickrey
	Clearing       = jobspec.Clearing
	Tender         = jobspec.Tender
)

// MaxInputFileBytes bounds a provider's input file.
const MaxInputFileBytes = 16 << 20

// DecodeSpec parses and validates a JSON spec (jobspec.DecodeSpec).
func DecodeSpec(b []byte) (*Spec, error) { return jobspec.DecodeSpec(b) }

// SlotNode returns the party that supplies a provider slot.
func SlotNode(slot string) string { return jobspec.SlotMember(slot) }

// SlotLabel returns the label of a provider slot "party/label" ("" for an
// unlabelled slot).
func SlotLabel(slot string) string { return jobspec.SlotLabel(slot) }

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

// CreditModel is a validated credit job's model for the HE engine: the only
// place the model's decimal coefficients become floating point.
func CreditModel(p *CreditParams) (jobs.CreditModel, error) {
	m := jobs.CreditModel{Weights: make([]float64, len(p.Weights)), Degree: p.Degree}
	var err error
	for i, w := range p.Weights {
		if m.Weights[i], err = w.Float64(); err != nil {
			return m, fmt.Errorf("jobrun: weight %d: %w", i, err)
		}
	}
	if p.Bias != "" {
		if m.Bias, err = p.Bias.Float64(); err != nil {
			return m, fmt.Errorf("jobrun: bias: %w", err)
		}
	}
	if p.Domain != "" {
		if m.Domain, err = p.Domain.Float64(); err != nil {
			return m, fmt.Errorf("jobrun: domain: %w", err)
		}
	}
	return m, nil
}

// CreditWeights formats a model's coefficients as the decimal literals of
// CreditParams (shortest representation that parses back exactly).
func CreditWeights(ws ...float64) []json.Number {
	out := make([]json.Number, len(ws))
	for i, w := range ws {
		out[i] = CreditCoef(w)
	}
	return out
}

// CreditCoef formats one model coefficient as a decimal literal.
func CreditCoef(w float64) json.Number {
	return json.Number(strconv.FormatFloat(w, 'g', -1, 64))
}

func aggregateSpec(p *AggregateParams) jobs.AggregateSpec {
	return jobs.AggregateSpec{Bins: p.Bins, Lo: p.Lo, Hi: p.Hi}
}

func clearingSide(p *ClearingParams, i int) jobs.Side {
	if p.IsBuyer(i) {
		return jobs.Buyer
	}
	return jobs.Seller
}

// tenderSpec is the engine's view of a tender's params.
func tenderSpec(p *TenderParams) jobs.TenderSpec {
	return jobs.TenderSpec{Quantity: p.Quantity, MaxPartners: p.MaxPartners, MaxPrice: p.MaxPrice, PriceFactors: p.PriceFactors}
}
