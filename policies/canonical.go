package policies

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// Canonical JSON: the policy in the same schema as the YAML file, with every
// object's keys sorted (struct fields are declared in key order; maps are
// sorted by encoding/json), no insignificant whitespace, numbers as
// integers or exact decimals, lists in their meaningful order (grades best
// to worst, fields in circuit slot order, constraints and channel members as
// declared) or sorted where order carries no meaning (job roles, committee
// creators).
// Comments, formatting and key order in the YAML do not affect it, and Parse
// accepts it (JSON is YAML), giving back the same policy.

type canonPolicy struct {
	Channels    map[string]canonChannel `json:"channels,omitempty"`
	Committees  *canonCommittees        `json:"committees,omitempty"`
	Credit      canonCredit             `json:"credit"`
	Description string                  `json:"description,omitempty"`
	Format      string                  `json:"format"`
	Governance  canonGovernance         `json:"governance"`
	Jobs        map[string]canonJob     `json:"jobs"`
	Members     map[string]string       `json:"members"`
	Name        string                  `json:"name"`
	Revision    uint64                  `json:"revision"`
	RuleSets    map[string]canonRuleSet `json:"rule_sets,omitempty"`
}

type canonChannel struct {
	Description string   `json:"description,omitempty"`
	Members     []string `json:"members"`
	RuleSet     string   `json:"rule_set"`
}

// canonCommittees appears only when creators are named: an empty list is
// the default (any member), and a policy without the key keeps its hash.
type canonCommittees struct {
	Creators []string `json:"creators"`
}

type canonCredit struct {
	ChargeAttested    bool              `json:"charge_attested_faults,omitempty"`
	CommitteeMinGrade string            `json:"committee_min_grade"`
	Grades            []canonGrade      `json:"grades"`
	Orders            *canonOrderCredit `json:"orders,omitempty"`
	TenderPenaltyBp   *uint64           `json:"tender_penalty_bp,omitempty"`
	ValidatorMinGrade string            `json:"validator_min_grade"`
}

// canonOrderCredit lists every move once the table differs from the
// default in any of them.
type canonOrderCredit struct {
	Activated    int64 `json:"activated"`
	Breach       int64 `json:"breach"`
	DemanderPaid int64 `json:"demander_paid"`
	Delivered    int64 `json:"delivered"`
	Terminated   int64 `json:"terminated"`
}

type canonGrade struct {
	Grade string `json:"grade"`
	Min   uint32 `json:"min"`
}

type canonGovernance struct {
	SupervisorsQuorum int `json:"supervisors_quorum"`
}

type canonJob struct {
	MinGrade string   `json:"min_grade"`
	Roles    []string `json:"roles"`
}

type canonRuleSet struct {
	Constraints []canonConstraint `json:"constraints,omitempty"`
	Description string            `json:"description,omitempty"`
	Fields      []canonField      `json:"fields"`
}

type canonConstraint struct {
	Constant json.Number            `json:"constant,omitempty"`
	Name     string                 `json:"name,omitempty"`
	Rule     string                 `json:"rule,omitempty"`
	Terms    map[string]json.Number `json:"terms,omitempty"`
}

type canonField struct {
	Description string      `json:"description,omitempty"`
	Max         json.Number `json:"max,omitempty"`
	Min         json.Number `json:"min,omitempty"`
	Name        string      `json:"name"`
	Scale       uint64      `json:"scale"`
	Unit        string      `json:"unit"`
}

// Canonical returns the policy's canonical JSON encoding: deterministic
// bytes for hashing and signing (see Hash).
func (p *Policy) Canonical() ([]byte, error) {
	c := canonPolicy{
		Description: p.Description,
		Format:      Format,
		Governance:  canonGovernance{SupervisorsQuorum: p.Governance.SupervisorsQuorum},
		Jobs:        make(map[string]canonJob, len(p.Jobs)),
		Members:     make(map[string]string, len(p.Members)),
		Name:        p.Name,
		Revision:    p.Revision,
		Credit: canonCredit{
			CommitteeMinGrade: p.Credit.CommitteeMinGrade,
			ValidatorMinGrade: p.Credit.ValidatorMinGrade,
			Grades:            make([]canonGrade, len(p.Credit.Grades)),
		},
	}
	for i, g := range p.Credit.Grades {
		c.Credit.Grades[i] = canonGrade{Grade: g.Name, Min: g.Min}
	}
	// The optional credit keys appear only when they differ from their
	// defaults: a policy that states the defaults is the same policy as one
	// that omits them (same canonical form, same hash), and every policy
	// written before the keys existed keeps its hash.
	if p.Credit.TenderPenaltyBp != DefaultTenderPenaltyBp {
		bp := p.Credit.TenderPenaltyBp
		c.Credit.TenderPenaltyBp = &bp
	}
	c.Credit.ChargeAttested = p.Credit.ChargeAttestedFaults // omitted when false, the default
	if oc := p.Credit.Orders; oc != DefaultOrderCredit {
		c.Credit.Orders = &canonOrderCredit{Activated: oc.Activated, Breach: oc.Breach, DemanderPaid: oc.DemanderPaid,
			Delivered: oc.Delivered, Terminated: oc.Terminated}
	}
	if len(p.Committees.Creators) > 0 {
		creators := append([]string{}, p.Committees.Creators...)
		sortStrings(creators)
		c.Committees = &canonCommittees{Creators: creators}
	}
	for _, m := range p.Members {
		c.Members[m.Name] = m.Role
	}
	for _, j := range p.Jobs {
		roles := append([]string{}, j.Roles...)
		sortStrings(roles)
		c.Jobs[j.Type] = canonJob{MinGrade: j.MinGrade, Roles: roles}
	}
	if len(p.RuleSets) > 0 {
		c.RuleSets = make(map[string]canonRuleSet, len(p.RuleSets))
	}
	for _, rs := range p.RuleSets {
		cr := canonRuleSet{Description: rs.Description, Fields: make([]canonField, len(rs.Fields))}
		for i, f := range rs.Fields {
			cf := canonField{Description: f.Description, Name: f.Name, Scale: f.Scale, Unit: f.Unit}
			if f.Min != nil {
				cf.Min = json.Number(formatDecimal(f.Min))
			}
			if f.Max != nil {
				cf.Max = json.Number(formatDecimal(f.Max))
			}
			cr.Fields[i] = cf
		}
		for _, k := range rs.Constraints {
			cc := canonConstraint{Name: k.Name, Rule: k.Rule}
			if len(k.Terms) > 0 {
				cc.Terms = make(map[string]json.Number, len(k.Terms))
				for _, t := range k.Terms {
					cc.Terms[t.Field] = json.Number(formatDecimal(t.Coef))
				}
			}
			if k.Constant != nil && k.Constant.Sign() != 0 {
				cc.Constant = json.Number(formatDecimal(k.Constant))
			}
			cr.Constraints = append(cr.Constraints, cc)
		}
		c.RuleSets[rs.Name] = cr
	}
	if len(p.Channels) > 0 {
		c.Channels = make(map[string]canonChannel, len(p.Channels))
	}
	for _, ch := range p.Channels {
		c.Channels[ch.Name] = canonChannel{Description: ch.Description, Members: append([]string{}, ch.Members...), RuleSet: ch.RuleSet}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("policy: canonical encoding: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// approvalDomain separates policy-update approvals from every other
// signature a member makes.
const approvalDomain = "cohort/policy-update/v1\x00"

// ApprovalMessage is what a supervisor signs to approve this policy as an
// update on the chain chainID: the domain, the chain ID and Hash. Binding
// the chain ID stops an approval from being replayed on another network
// that happens to run the same policy revision; the revision inside the
// hash stops it from being replayed on this one (CheckUpdate).
func (p *Policy) ApprovalMessage(chainID string) []byte {
	h := p.Hash()
	msg := make([]byte, 0, len(approvalDomain)+len(chainID)+1+len(h))
	msg = append(msg, approvalDomain...)
	msg = append(msg, chainID...)
	msg = append(msg, 0)
	return append(msg, h[:]...)
}

// hashDomain separates policy hashes from every other hash in cohort.
const hashDomain = "cohort/policy/v1\x00"

// Hash is SHA-256(hashDomain ‖ Canonical()): what supervisors sign to
// approve a policy update and what the ledger records.
func (p *Policy) Hash() [32]byte {
	b, err := p.Canonical()
	if err != nil {
		// Canonical only fails if encoding/json fails on plain strings,
		// numbers and slices, which it does not; hash the error text so
		// that the result is still deterministic and never a valid hash.
		b = []byte("canonical encoding failed: " + err.Error())
	}
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write(b)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
