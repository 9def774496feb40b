package ledger

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

var keyPolicy = []byte("policy/yaml")

// Policy revisions are kept with the height from which they apply, so that a
// record is judged, now and later, by the revision its block was checked
// against: the genesis policy applies from the initial height, an update
// committed in block h from h+1 (FinalizeBlock checks block h against the
// policy committed before it).
var prefixPolicyAt = []byte("policyh/")

func keyPolicyAt(activation int64) []byte {
	return append(slices.Clone(prefixPolicyAt), heightBytes(activation)...)
}

func putPolicyRevision(b *blockState, activation int64, yaml []byte) {
	b.set(keyPolicyAt(max(activation, 1)), yaml)
}

// policyAt returns the YAML of the policy revision in force at height h (the
// latest one activated at or before h), or ErrNotFound.
func policyAt(s *Store, h int64) ([]byte, error) {
	if h < 1 {
		return nil, fmt.Errorf("policy at height %d: heights start at 1", h)
	}
	var found []byte
	err := s.scan(prefixPolicyAt, func(key, val []byte) error {
		if int64(bytesToHeight(key[len(prefixPolicyAt):])) <= h {
			found = slices.Clone(val)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, ErrNotFound
	}
	return found, nil
}

const maxPolicyApprovals = 64

// parsePolicy parses a policy and checks it against the ledger's members.
func parsePolicy(yaml []byte, members *memberIndex) (*policies.Policy, error) {
	p, err := policies.Parse(yaml)
	if err != nil {
		return nil, err
	}
	err = p.CheckMembership(func(name string) (string, bool) {
		m, ok := members.byName[name]
		if !ok {
			return "", false
		}
		want, _ := p.Member(name)
		for _, r := range m.Roles {
			if r == want.Role {
				return r, true
			}
		}
		return m.Roles[0], true
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func loadPolicy(s *Store, members *memberIndex) (*policies.Policy, error) {
	raw, err := s.get(keyPolicy)
	if err != nil || raw == nil {
		return nil, err
	}
	p, err := parsePolicy(raw, members)
	if err != nil {
		return nil, fmt.Errorf("stored policy: %w", err)
	}
	return p, nil
}

// checkPolicyUpdate verifies the approvals and the update rules; it returns
// the new policy.
func checkPolicyUpdate(m *ledgerpb.PolicyUpdate, v *committedView) (*policies.Policy, *TxError) {
	if v.policy == nil {
		return nil, txErr(CodeInvalid, "no current policy: a chain without a genesis policy cannot take updates")
	}
	if len(m.Approvals) > maxPolicyApprovals {
		return nil, txErr(CodeInvalid, "at most %d approvals", maxPolicyApprovals)
	}
	next, err := parsePolicy(m.PolicyYaml, v.members)
	if err != nil {
		return nil, txErr(CodeInvalid, "new policy: %v", err)
	}
	msg := next.ApprovalMessage(v.chainID)
	var signers []string
	for _, a := range m.Approvals {
		member, ok := v.members.byName[a.Supervisor]
		if !ok {
			return nil, txErr(CodeInvalid, "approval by unknown member %q", a.Supervisor)
		}
		if len(a.Signature) != ed25519.SignatureSize || !ed25519.Verify(member.AccountKey, msg, a.Signature) {
			return nil, txErr(CodeBadSignature, "approval by %q does not verify over the new policy's hash", a.Supervisor)
		}
		signers = append(signers, a.Supervisor)
	}
	if err := v.policy.CheckUpdate(next, signers); err != nil {
		code := CodeInvalid
		if errors.Is(err, policies.ErrNotPermitted) {
			code = CodeUnauthorized
		}
		return nil, txErr(code, "%v", err)
	}
	return next, nil
}
