package jobspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	vss "go.dedis.ch/kyber/v3/share/vss/rabin"

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
	// Tender chooses an order's partners from sealed quotes (SS): quotes are
	// ranked by unit price weighted by each quoter's public rating, the
	// order's quantity is filled from the best quote down; the demander (the
	// recipient) learns only the chosen partners' quantities and prices, each
	// quoter only its own assignment. See TenderParams.
	Tender Type = "tender"
)

// Types lists every job type, sorted by name.
func Types() []Type {
	return []Type{Aggregate, AuctionFirst, AuctionVickrey, Clearing, CreditScore, Tender}
}

// TypeNames lists every job type's name, sorted.
func TypeNames() []string {
	out := make([]string, 0, len(Types()))
	for _, t := range Types() {
		out = append(out, string(t))
	}
	return out
}

// Valid reports whether t is a known job type.
func (t Type) Valid() bool { return slices.Contains(Types(), t) }

// Engine is the MPC engine a job type runs on.
type Engine string

// Engines.
const (
	// EngineHE is multiparty homomorphic encryption (mpc/he): inputs are
	// ciphertexts, committed by the SHA-256 of their content addresses.
	EngineHE Engine = "he"
	// EngineSS is Shamir secret sharing (mpc/ss): inputs are shares,
	// committed by a Poseidon2 field element.
	EngineSS Engine = "ss"
)

// Engine returns the engine a job type runs on ("" for an unknown type).
func (t Type) Engine() Engine {
	switch t {
	case CreditScore, Aggregate:
		return EngineHE
	case AuctionFirst, AuctionVickrey, Clearing, Tender:
		return EngineSS
	}
	return ""
}

// IsAuction reports whether a job type is a sealed-bid auction.
func (t Type) IsAuction() bool { return t == AuctionFirst || t == AuctionVickrey }

// IsHE reports whether a job type runs on the homomorphic engine.
func (t Type) IsHE() bool { return t.Engine() == EngineHE }

// Limits of a job and of a committee.
const (
	// MaxIDBytes bounds a job or committee ID.
	MaxIDBytes = 64
	// MaxNameBytes bounds a party (member) name.
	MaxNameBytes = 64
	// MaxSlotLabelBytes bounds the label of a provider slot "member/label".
	MaxSlotLabelBytes = 64
	// MinCommittee and MaxCommittee bound a committee's size: the
	// secret-sharing engine's range (HE and the DKG accept it too).
	MinCommittee = ss.MinParties
	MaxCommittee = ss.MaxParties
	// MaxProviders bounds a job's provider slots.
	MaxProviders = 1024
	// MaxParamsBytes bounds a job's params (a clearing grid of 4096 levels
	// and the sides of 1024 bidders fit).
	MaxParamsBytes = 64 << 10
	// MaxSpecBytes bounds an encoded Spec (DecodeSpec).
	MaxSpecBytes = 256 << 10
)

// MinThreshold is the smallest threshold a committee of n may have: ⌈n/2⌉,
// below which kyber's VSS (the BLS DKG) makes no security claim.
func MinThreshold(n int) int { return max(2, vss.MinimumT(n)) }

// CheckCommittee checks a committee's members (names, no repeats) and
// threshold against what the engines can run.
func CheckCommittee(members []string, threshold int) error {
	n := len(members)
	if n < MinCommittee || n > MaxCommittee {
		return fmt.Errorf("committee of %d members, want %d..%d", n, MinCommittee, MaxCommittee)
	}
	if err := uniqueNames("committee member", members); err != nil {
		return err
	}
	if lo := MinThreshold(n); threshold < lo || threshold > n {
		return fmt.Errorf("threshold %d for a committee of %d, want %d..%d", threshold, n, lo, n)
	}
	return nil
}

// MaxHEThreshold is the largest threshold of an n-member committee whose HE
// setup checks every member's key shares, and so the largest that may run HE
// jobs: ⌊(n−1)/2⌋+1 = ⌈n/2⌉ (0 for n < 3: such a committee runs no HE job).
//
// Why: mpc/he's setup proves every member's key shares well formed in the
// committee's malicious-secure SS engine (mpc/he/sharecheck), which shares
// with degree ⌊(n−1)/2⌋; ⌊(n−1)/2⌋+1 members can open what is dealt into it,
// including every member's secret key share. With t above that bound such a
// coalition is smaller than t and would read the collective key, so the
// setup runs unchecked (he.ShareCheckRuns), and then ONE malicious member can
// recover the collective secret through the setup's key test, or shift every
// CKKS result unseen (mpc/he, security model). The ledger therefore refuses
// HE jobs on such a committee; its SS jobs are unaffected (the SS engine's
// degree does not depend on t, a larger t only makes signing need more
// members). mpc/he's tests assert that this rule equals he.ShareCheckRuns
// (this package may not import mpc/he: the ledger imports it).
func MaxHEThreshold(n int) int {
	if n < 3 {
		return 0
	}
	return (n-1)/2 + 1
}

// HESetupChecked reports whether an n-member committee with threshold t has
// its HE setup checked (t ≤ MaxHEThreshold(n)), i.e. whether it may run HE
// jobs. With the committee limits (t ≥ ⌈n/2⌉) that is exactly t = ⌈n/2⌉.
func HESetupChecked(n, t int) bool { return t >= 1 && t <= MaxHEThreshold(n) }

// CheckHECommittee checks that a job of type typ may run on a committee of n
// members with threshold t: any committee for an SS job, one whose HE setup
// is checked (HESetupChecked) for an HE job. Deterministic (the ledger runs
// it).
func CheckHECommittee(typ Type, n, t int) error {
	if !typ.IsHE() || HESetupChecked(n, t) {
		return nil
	}
	return fmt.Errorf("%s: HE jobs need a committee whose HE setup checks every member's key shares: threshold at most ⌈n/2⌉ = %d, the committee is %d-of-%d (it runs SS jobs only)",
		typ, MaxHEThreshold(n), t, n)
}

// Spec is the public description of one job: what the ledger's job record
// and its committee's record carry. Parties are named by member names; their
// position in Committee is their committee index (HE party, BLS share index),
// their position in Providers their provider index.
//
// Validate (or DecodeSpec) decodes Params into the spec; call it before a
// spec is shared between goroutines, and do not modify a validated spec.
type Spec struct {
	ID        string          `json:"id"`
	Type      Type            `json:"type"`
	Params    json.RawMessage `json:"params"`
	Requester string          `json:"requester,omitempty"`
	Providers []string        `json:"providers"`
	Committee []string        `json:"committee"`
	// Threshold is the committee's signing threshold t (threshold BLS) and,
	// for HE jobs, the number of members that must stay online (an HE job
	// needs t = ⌈n/2⌉, see CheckHECommittee). SS jobs need every member
	// online; the Shamir degree is fixed by the engine at ⌊(n−1)/2⌋ < n/2.
	Threshold int    `json:"threshold"`
	Recipient string `json:"recipient"`
	// Nodeless lists the members among the providers that run no node (the
	// ledger's members without a peer ID). They supply their slots sealed
	// on the ledger and are no party of the job's sessions. Not part of the
	// job's description: whoever builds the spec from the ledger fills it
	// in from the member registry, before the spec is shared.
	Nodeless []string `json:"-"`

	params any // decoded by Validate
}

// DecodeSpec parses a JSON spec (at most MaxSpecBytes, unknown fields
// rejected) and validates it.
func DecodeSpec(b []byte) (*Spec, error) {
	if len(b) > MaxSpecBytes {
		return nil, fmt.Errorf("jobspec: spec of %d bytes exceeds %d", len(b), MaxSpecBytes)
	}
	var s Spec
	if err := strictJSON(b, &s); err != nil {
		return nil, fmt.Errorf("jobspec: spec: %w", err)
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

// CheckID checks a job or committee ID: 1 to MaxIDBytes letters, digits or
// - _ . : (IDs name transport sessions and files).
func CheckID(what, id string) error { return checkName(what, id, MaxIDBytes) }

// CheckToken checks that s is 1 to max letters, digits or - _ . : (the
// alphabet of IDs and names, safe in session IDs and file names).
func CheckToken(what, s string, max int) error { return checkName(what, s, max) }

// CheckName checks a party name: 1 to MaxNameBytes letters, digits or - _ . :
func CheckName(what, name string) error { return checkName(what, name, MaxNameBytes) }

func checkName(what, s string, max int) error {
	if len(s) == 0 || len(s) > max {
		return fmt.Errorf("%s of %d bytes, want 1..%d", what, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return fmt.Errorf("%s %q: only letters, digits and - _ . : are allowed", what, s)
		}
	}
	return nil
}

// Validate checks the spec strictly and decodes its parameters. It is
// deterministic and uses no floating point (the ledger runs it).
func (s *Spec) Validate() error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("jobspec: %w", err)
	}
	return nil
}

func (s *Spec) validate() error {
	if err := CheckID("job ID", s.ID); err != nil {
		return err
	}
	if !s.Type.Valid() {
		return fmt.Errorf("unknown job type %q (job types: %s)", s.Type, strings.Join(TypeNames(), ", "))
	}
	if s.Requester != "" {
		if err := CheckName("requester", s.Requester); err != nil {
			return err
		}
	}
	if err := CheckCommittee(s.Committee, s.Threshold); err != nil {
		return err
	}
	if err := CheckHECommittee(s.Type, len(s.Committee), s.Threshold); err != nil {
		return err
	}
	if len(s.Providers) < 1 || len(s.Providers) > MaxProviders {
		return fmt.Errorf("%d providers, want 1..%d", len(s.Providers), MaxProviders)
	}
	if err := checkProviderSlots(s.Providers); err != nil {
		return err
	}
	if err := CheckName("recipient", s.Recipient); err != nil {
		return err
	}
	if len(s.Params) > MaxParamsBytes {
		return fmt.Errorf("params of %d bytes exceed %d", len(s.Params), MaxParamsBytes)
	}
	p, err := s.decodeParams()
	if err != nil {
		return fmt.Errorf("%s params: %w", s.Type, err)
	}
	s.params = p
	return nil
}

// EnsureValid validates a spec that has not been validated yet.
func (s *Spec) EnsureValid() error {
	if s == nil {
		return errors.New("jobspec: nil spec")
	}
	if s.params != nil {
		return nil
	}
	return s.Validate()
}

// CheckSlot checks a provider slot: a member name, or "member/label" for
// one of several inputs a member supplies (label: 1 to MaxSlotLabelBytes
// letters, digits or - _ . so that it is safe in a file name).
func CheckSlot(slot string) error {
	member, label, labelled := strings.Cut(slot, "/")
	if err := CheckName("provider", member); err != nil {
		return err
	}
	if labelled {
		return CheckSlotLabel(label)
	}
	return nil
}

// CheckSlotLabel checks the label of a provider slot "member/label".
func CheckSlotLabel(label string) error {
	if err := checkName("provider slot label", label, MaxSlotLabelBytes); err != nil {
		return err
	}
	if strings.Contains(label, ":") {
		return fmt.Errorf("provider slot label %q: only letters, digits and - _ . are allowed", label)
	}
	return nil
}

// checkProviderSlots checks every slot and that none repeats.
func checkProviderSlots(slots []string) error {
	seen := make(map[string]bool, len(slots))
	for _, slot := range slots {
		if err := CheckSlot(slot); err != nil {
			return err
		}
		if seen[slot] {
			return fmt.Errorf("provider %q listed twice", slot)
		}
		seen[slot] = true
	}
	return nil
}

func uniqueNames(what string, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, id := range names {
		if err := CheckName(what, id); err != nil {
			return err
		}
		if seen[id] {
			return fmt.Errorf("%s %q listed twice", what, id)
		}
		seen[id] = true
	}
	return nil
}

// SlotMember returns the member that supplies a provider slot: the slot
// itself, or the part before the slash of "member/label".
func SlotMember(slot string) string {
	member, _, _ := strings.Cut(slot, "/")
	return member
}

// SlotLabel returns the label of a provider slot "member/label" ("" for an
// unlabelled slot).
func SlotLabel(slot string) string {
	_, label, _ := strings.Cut(slot, "/")
	return label
}

// ProviderIndex returns the index of provider slot id, or −1.
func (s *Spec) ProviderIndex(id string) int { return slices.Index(s.Providers, id) }

// ProviderNode returns the member that supplies provider slot i.
func (s *Spec) ProviderNode(i int) string { return SlotMember(s.Providers[i]) }

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

// SlotRange returns the range the input of provider slot i must lie in and
// be proven to lie in on the ledger (the `input` circuit): every bid of an
// auction whose params set max_bid lies in [0, max_bid]; a tender quote's
// price in [0, max_price] and its capacity in [0, quantity]. ok is false for
// a slot without a proven range. The spec must be valid.
func (s *Spec) SlotRange(i int) (lo, hi uint64, ok bool) {
	if i < 0 || i >= len(s.Providers) {
		return 0, 0, false
	}
	switch p := s.params.(type) {
	case *AuctionParams:
		if p.MaxBid != 0 {
			return 0, p.MaxBid, true
		}
	case *TenderParams:
		if i%2 == 0 {
			return 0, p.MaxPrice, true
		}
		return 0, p.Quantity, true
	}
	return 0, 0, false
}

// SlotRangeOf is SlotRange for a job known by its type, params and provider
// slots only (a job record read from the ledger, without its committee).
func SlotRangeOf(t Type, params json.RawMessage, providers []string, i int) (lo, hi uint64, ok bool, err error) {
	s := &Spec{Type: t, Params: params, Providers: providers}
	if len(params) > MaxParamsBytes {
		return 0, 0, false, fmt.Errorf("jobspec: params of %d bytes exceed %d", len(params), MaxParamsBytes)
	}
	if s.params, err = s.decodeParams(); err != nil {
		return 0, 0, false, fmt.Errorf("jobspec: %s params: %w", t, err)
	}
	lo, hi, ok = s.SlotRange(i)
	return lo, hi, ok, nil
}
