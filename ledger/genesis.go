package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

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
}

// Genesis is the app_state of the CometBFT genesis document.
type Genesis struct {
	Members []GenesisMember `json:"members"`
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
	names := make(map[string]bool)
	peers := make(map[string]bool)
	for i, m := range g.Members {
		if m.Name == "" || len(m.Name) > maxNameBytes {
			return fmt.Errorf("genesis member %d: name must be 1 to %d bytes", i, maxNameBytes)
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
		if m.PeerID == "" {
			return fmt.Errorf("genesis member %q: no libp2p peer id", m.Name)
		}
		if peers[m.PeerID] {
			return fmt.Errorf("genesis: peer id %s used twice", m.PeerID)
		}
		peers[m.PeerID] = true
		if len(m.ValidatorKey) != 0 && len(m.ValidatorKey) != ed25519.PublicKeySize {
			return fmt.Errorf("genesis member %q: validator key must be %d bytes", m.Name, ed25519.PublicKeySize)
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
			PeerId: m.PeerID, ValidatorKey: m.ValidatorKey, Power: m.Power,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
