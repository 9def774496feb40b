package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// sealingKeyBytes is the size of an edwards25519 point.
const sealingKeyBytes = 32

// Roles a member can hold.
const (
	RoleEnterprise = "enterprise"
	RolePlatform   = "platform"
	RoleSupervisor = "supervisor"
)

// KnownRoles lists the roles the ledger accepts, in a fixed order.
var knownRoles = []string{RoleEnterprise, RolePlatform, RoleSupervisor}

// IsKnownRole reports whether r is a role the ledger accepts.
func IsKnownRole(r string) bool {
	for _, k := range knownRoles {
		if k == r {
			return true
		}
	}
	return false
}

// GenesisMember is a member as written in genesis app_state (JSON).
type GenesisMember struct {
	Name         string   `json:"name"`
	Roles        []string `json:"roles"`
	AccountKey   []byte   `json:"account_key"`             // ed25519 public key (base64 in JSON)
	PeerID       string   `json:"peer_id"`                 // libp2p peer ID
	ValidatorKey []byte   `json:"validator_key,omitempty"` // ed25519 consensus public key
	Power        int64    `json:"power,omitempty"`
	SealingKey   []byte   `json:"sealing_key,omitempty"` // edwards25519 point for supervision records
	DKGKey       []byte   `json:"dkg_key,omitempty"`     // BN256 G2 point for committee DKGs
}

// Genesis is the app_state of the CometBFT genesis document.
type Genesis struct {
	Members []GenesisMember `json:"members"`
	// Params are the chain's rules; omitted fields take DefaultParams' values.
	Params *Params `json:"params,omitempty"`
	// VerifyingKeys are the zk verifying keys proofs may name (by vk ID).
	VerifyingKeys []GenesisKey `json:"verifying_keys,omitempty"`
	// Policy is the alliance policy (YAML, see policies/). Without one the
	// chain has no supervision channels or job rules, and built-in credit
	// grades and thresholds apply.
	Policy string `json:"policy,omitempty"`
}

// GenesisKey is a zk verifying key registered at genesis.
type GenesisKey struct {
	Circuit string `json:"circuit"`
	Key     []byte `json:"key"` // gnark verifying key bytes (base64 in JSON)
}

// Params are the ledger's tunable rules. All arithmetic on them is integer.
type Params struct {
	// EpochLength is the number of blocks between credit decay, task
	// timeouts and validator power updates.
	EpochLength int64 `json:"epoch_length"`
	// InitialCredit is every member's rating at genesis (0 to 1000).
	InitialCredit int64 `json:"initial_credit"`
	// CreditBaseline is where decay pulls ratings, by 1/CreditDecayDivisor of
	// the distance per epoch.
	CreditBaseline     int64 `json:"credit_baseline"`
	CreditDecayDivisor int64 `json:"credit_decay_divisor"`
	// ValidatorMinCredit: a validator rated below it has no voting power
	// from the next epoch until its rating recovers.
	ValidatorMinCredit int64 `json:"validator_min_credit"`
}

// DefaultParams are the rules of a chain whose genesis sets none.
func DefaultParams() Params {
	return Params{
		EpochLength:        100,
		InitialCredit:      600,
		CreditBaseline:     600,
		CreditDecayDivisor: 16,
		ValidatorMinCredit: 400,
	}
}

// Validate checks the params' ranges.
func (p Params) Validate() error {
	switch {
	case p.EpochLength < 1:
		return fmt.Errorf("params: epoch_length must be positive")
	case p.InitialCredit < 0 || p.InitialCredit > policies.MaxRating:
		return fmt.Errorf("params: initial_credit must be 0 to %d", policies.MaxRating)
	case p.CreditBaseline < 0 || p.CreditBaseline > policies.MaxRating:
		return fmt.Errorf("params: credit_baseline must be 0 to %d", policies.MaxRating)
	case p.CreditDecayDivisor < 1:
		return fmt.Errorf("params: credit_decay_divisor must be positive")
	case p.ValidatorMinCredit < 0 || p.ValidatorMinCredit > policies.MaxRating:
		return fmt.Errorf("params: validator_min_credit must be 0 to %d", policies.MaxRating)
	}
	return nil
}

// params returns the genesis params with defaults filled in.
func (g *Genesis) params() Params {
	if g.Params == nil {
		return DefaultParams()
	}
	return *g.Params
}

// ParseGenesis decodes and validates app_state bytes.
func ParseGenesis(raw []byte) (*Genesis, error) {
	var g Genesis
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("decode genesis app_state: %w", err)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

// Validate checks names, roles and keys.
func (g *Genesis) Validate() error {
	if len(g.Members) == 0 {
		return fmt.Errorf("genesis: no members")
	}
	if err := g.params().Validate(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	for i, k := range g.VerifyingKeys {
		if k.Circuit == "" || len(k.Key) == 0 || len(k.Key) > maxVerifyingKeyBytes {
			return fmt.Errorf("genesis verifying key %d: needs a circuit and 1 to %d key bytes", i, maxVerifyingKeyBytes)
		}
	}
	names := make(map[string]bool)
	peers := make(map[string]bool)
	for i, m := range g.Members {
		if m.Name == "" || len(m.Name) > maxNameBytes {
			return fmt.Errorf("genesis member %d: name must be 1 to %d bytes", i, maxNameBytes)
		}
		if strings.ContainsAny(m.Name, "/ \t\n") {
			// "/" separates a member from the label of one of its job input slots.
			return fmt.Errorf("genesis member %q: a name may not contain / or white space", m.Name)
		}
		if names[m.Name] {
			return fmt.Errorf("genesis: duplicate member %q", m.Name)
		}
		names[m.Name] = true
		if len(m.Roles) == 0 {
			return fmt.Errorf("genesis member %q: no roles", m.Name)
		}
		for _, r := range m.Roles {
			if !IsKnownRole(r) {
				return fmt.Errorf("genesis member %q: unknown role %q (known: %v)", m.Name, r, knownRoles)
			}
		}
		if len(m.AccountKey) != ed25519.PublicKeySize {
			return fmt.Errorf("genesis member %q: account key must be %d bytes", m.Name, ed25519.PublicKeySize)
		}
		// A member without a peer ID runs no node (HasNode): it signs txs
		// and posts its job inputs sealed on the ledger, and can be neither
		// a validator, a committee member nor a job's recipient.
		if m.PeerID == "" && (len(m.ValidatorKey) != 0 || m.Power != 0) {
			return fmt.Errorf("genesis member %q: a validator needs a node (a libp2p peer id)", m.Name)
		}
		if m.PeerID == "" && len(m.SealingKey) == 0 {
			return fmt.Errorf("genesis member %q: a member without a node needs a sealing key (its assignments and shares are sealed)", m.Name)
		}
		if m.PeerID != "" && peers[m.PeerID] {
			return fmt.Errorf("genesis: peer id %s used twice", m.PeerID)
		}
		peers[m.PeerID] = true
		if len(m.ValidatorKey) != 0 && len(m.ValidatorKey) != ed25519.PublicKeySize {
			return fmt.Errorf("genesis member %q: validator key must be %d bytes", m.Name, ed25519.PublicKeySize)
		}
		if len(m.SealingKey) != 0 && len(m.SealingKey) != sealingKeyBytes {
			return fmt.Errorf("genesis member %q: sealing key must be %d bytes", m.Name, sealingKeyBytes)
		}
		if len(m.SealingKey) != 0 {
			// Shares and records sealed to a key of small order open for
			// anyone: such a key is refused here, where every member's is
			// registered.
			if _, err := sealbox.ParsePublicKey(m.SealingKey); err != nil {
				return fmt.Errorf("genesis member %q: %w", m.Name, err)
			}
		}
		if len(m.DKGKey) != 0 && len(m.DKGKey) != dkgKeyBytes {
			return fmt.Errorf("genesis member %q: DKG key must be %d bytes", m.Name, dkgKeyBytes)
		}
		if m.Power < 0 || (m.Power > 0 && len(m.ValidatorKey) == 0) {
			return fmt.Errorf("genesis member %q: power %d needs a validator key", m.Name, m.Power)
		}
	}
	return nil
}

// members returns the members as state records, sorted by name.
func (g *Genesis) members() []*ledgerpb.Member {
	out := make([]*ledgerpb.Member, 0, len(g.Members))
	for _, m := range g.Members {
		roles := append([]string(nil), m.Roles...)
		sort.Strings(roles)
		out = append(out, &ledgerpb.Member{
			Name: m.Name, Roles: roles, AccountKey: m.AccountKey,
			PeerId: m.PeerID, ValidatorKey: m.ValidatorKey, Power: m.Power, SealingKey: m.SealingKey, DkgKey: m.DKGKey,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var keyParams = []byte("m/params")

func putParams(b *blockState, p Params) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode params: %w", err)
	}
	b.set(keyParams, raw)
	return nil
}

func loadParams(s *Store) (Params, error) {
	raw, err := s.get(keyParams)
	if err != nil {
		return Params{}, err
	}
	if raw == nil {
		return DefaultParams(), nil // a store before InitChain
	}
	var p Params
	if err := json.Unmarshal(raw, &p); err != nil {
		return Params{}, fmt.Errorf("corrupt params: %w", err)
	}
	return p, nil
}
