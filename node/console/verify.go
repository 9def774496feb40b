package console

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// Step is one line of a trail: what was checked on this node and how it came out.
type Step struct {
	Name    string
	State   string // "ok", "fail", "pending"
	Detail  string
	Links   []Link
	Private []Field // opened private info (records of this node's channels)
}

// Link is a link to another console page.
type Link struct{ Text, Href string }

// Field is a name and value shown in a table.
type Field struct{ Name, Value string }

func okStep(name, detail string) Step      { return Step{Name: name, State: "ok", Detail: detail} }
func failStep(name, detail string) Step    { return Step{Name: name, State: "fail", Detail: detail} }
func pendingStep(name, detail string) Step { return Step{Name: name, State: "pending", Detail: detail} }

// verifier re-runs the ledger's checks with keys read from the ledger. The
// registry caches parsed verifying keys by ID (an ID is the hash of the key).
type verifier struct {
	l    ledgerReader
	mu   sync.Mutex
	keys *zk.Registry
	have map[string]bool
}

func newVerifier(l ledgerReader) *verifier {
	return &verifier{l: l, keys: zk.NewRegistry(), have: map[string]bool{}}
}

// verify checks proof against st with the ledger's verifying key vkID,
// re-deriving the key's ID from its bytes.
func (v *verifier) verify(ctx context.Context, vkID string, st zk.Statement, proof []byte) error {
	v.mu.Lock()
	have := v.have[vkID]
	v.mu.Unlock()
	if !have {
		circuit, key, err := v.l.vk(ctx, vkID)
		if err != nil {
			return fmt.Errorf("verifying key %s: %w", vkID, err)
		}
		v.mu.Lock()
		id, err := v.keys.Register(circuit, key)
		if err == nil && id != vkID {
			err = fmt.Errorf("the ledger's key %s hashes to %s", vkID, id)
		}
		if err == nil {
			v.have[vkID] = true
		}
		v.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return v.keys.VerifyStatement(vkID, st, proof)
}

func felt(b []byte, what string) (zk.Felt, error) {
	var e fr.Element
	if err := e.SetBytesCanonical(b); err != nil {
		return zk.Felt{}, fmt.Errorf("%s: %w", what, err)
	}
	return zk.FeltOf(e), nil
}

// jobTrail re-verifies a job's life cycle: submission, the access check,
// each input commitment and its validity proof, the committee, and the
// result's threshold signature or the abort.
func (s *Server) jobTrail(ctx context.Context, j *ledgerpb.Job) []Step {
	var steps []Step
	sub := okStep("Submitted", fmt.Sprintf("%s job at height %d by %s for recipient %s, deadline height %d",
		j.Type, j.SubmittedHeight, j.Requester, j.Recipient, j.DeadlineHeight))
	sub.Links = []Link{{j.Requester, memberHref(j.Requester)}}
	steps = append(steps, sub)
	steps = append(steps, s.check("access", s.accessStep(ctx, j)))

	for i, p := range j.Providers {
		// The ledger accepted the job, so its params decode; a failure here
		// leaves the slot unbounded and its proof unchecked, as the ledger's.
		lo, hi, bounded, _ := jobspec.SlotRangeOf(jobspec.Type(j.Type), j.Params, j.Providers, i)
		name := "Input of " + p
		var c []byte
		if i < len(j.InputCommitments) {
			c = j.InputCommitments[i]
		}
		if len(c) == 0 {
			if j.Status == ledger.JobAborted {
				steps = append(steps, failStep(name, "never committed"))
			} else {
				steps = append(steps, pendingStep(name, "waiting for the provider's input commitment"))
			}
			continue
		}
		short := hex.EncodeToString(c)
		if !bounded {
			steps = append(steps, okStep(name, "commitment "+short+" on the ledger; this job type bounds no input, so no validity proof is required"))
			continue
		}
		var proof []byte
		var vk string
		if i < len(j.InputProofs) {
			proof = j.InputProofs[i]
		}
		if i < len(j.InputVkIds) {
			vk = j.InputVkIds[i]
		}
		if len(proof) == 0 {
			steps = append(steps, s.check("input_validity", failStep(name, "commitment "+short+" carries no validity proof")))
			continue
		}
		cf, err := felt(c, "input commitment")
		if err == nil {
			err = s.v.verify(ctx, vk, zk.InputStatement{Commitment: cf, Lo: zk.Uint64(lo), Hi: zk.Uint64(hi)}, proof)
		}
		if err != nil {
			steps = append(steps, s.check("input_validity", failStep(name, fmt.Sprintf("validity proof (vk %s) does not verify: %v", vk, err))))
			continue
		}
		steps = append(steps, s.check("input_validity", okStep(name,
			fmt.Sprintf("commitment %s; proof that the input lies in [%d, %d] re-verified with vk %s", short, lo, hi, vk))))
	}

	c, cerr := s.l.committee(ctx, j.CommitteeId)
	var key *committee.CommitteeKey
	switch {
	case cerr != nil:
		steps = append(steps, failStep("Committee "+j.CommitteeId, cerr.Error()))
	default:
		st := Step{Name: "Committee " + c.Id}
		for _, m := range c.Members {
			st.Links = append(st.Links, Link{m, memberHref(m)})
		}
		var err error
		if key, err = committee.ParseCommitteeKey(c.CommitteeKey); err != nil || c.Status != ledger.CommitteeActive {
			st.State, st.Detail = "fail", fmt.Sprintf("committee is %s; key: %v", c.Status, err)
			key = nil
		} else {
			st.State, st.Detail = "ok", fmt.Sprintf("%d of %d members sign; key confirmed by %s", c.Threshold, len(c.Members), strings.Join(c.Confirmed, ", "))
		}
		steps = append(steps, st)
	}

	switch j.Status {
	case ledger.JobCompleted:
		name := "Result under the committee's threshold signature"
		msg, err := ledger.ResultMessage(j, j.OutputCommitment)
		if err == nil && key == nil {
			err = errors.New("no committee key to check it with")
		}
		if err == nil {
			err = committee.VerifySignature(key, msg, j.Signature)
		}
		if err != nil {
			steps = append(steps, s.check("committee_signature", failStep(name, "signature does not verify: "+err.Error())))
		} else {
			steps = append(steps, s.check("committee_signature", okStep(name, fmt.Sprintf(
				"output commitment %s at height %d; threshold BLS signature over (job, inputs, output) re-verified",
				hex.EncodeToString(j.OutputCommitment), j.FinishedHeight))))
		}
	case ledger.JobAborted:
		st := failStep("Aborted", fmt.Sprintf("at height %d: %s", j.FinishedHeight, j.AbortReason))
		if j.Culprit != "" {
			st.Detail += " — party at fault: " + j.Culprit
			st.Links = []Link{{j.Culprit, memberHref(j.Culprit)}}
		}
		// The committee's attestations and what they charged (ledger/attest.go).
		var att []string
		for _, a := range j.Attestations {
			switch {
			case a.Fault != "" && a.NotCharged != "":
				att = append(att, fmt.Sprintf("%s: %s %s (not charged: %s)", a.Member, a.Fault, a.Culprit, a.NotCharged))
			case a.Fault != "" && !ledger.AttestableFault(a.Fault):
				// Timeouts and one party's verdicts: recorded, never charged.
				att = append(att, fmt.Sprintf("%s: %s %s (recorded only)", a.Member, a.Fault, a.Culprit))
			case a.Fault != "":
				att = append(att, fmt.Sprintf("%s: %s %s", a.Member, a.Fault, a.Culprit))
			case a.Convicted != "":
				att = append(att, fmt.Sprintf("%s: proof convicting %s", a.Member, a.Convicted))
			default:
				att = append(att, a.Member+": no fault of its own")
			}
		}
		if len(att) > 0 {
			st.Detail += "; attested by " + strings.Join(att, ", ")
		}
		for _, c := range j.Charges {
			st.Detail += fmt.Sprintf("; charged %s %+d (%s)", c.Member, c.Delta, c.Cause)
			st.Links = append(st.Links, Link{c.Member, memberHref(c.Member)})
		}
		steps = append(steps, st)
	default:
		steps = append(steps, pendingStep("Result", "the committee is computing"))
	}
	return steps
}

// accessStep re-runs the access check with the policy in force and the
// requester's rating when it submitted (from its credit history).
func (s *Server) accessStep(ctx context.Context, j *ledgerpb.Job) Step {
	name := "Access check"
	pol, _, err := s.l.policy(ctx)
	if err != nil {
		return failStep(name, err.Error())
	}
	rep, err := s.l.credit(ctx, j.Requester)
	if err != nil {
		return failStep(name, fmt.Sprintf("credit of %s: %v", j.Requester, err))
	}
	rating := ratingAt(rep, j.SubmittedHeight)
	role := ""
	if pm, ok := pol.Member(j.Requester); ok {
		role = pm.Role
	}
	if err := pol.CheckSubmit(role, j.Type, uint32(rating)); err != nil {
		return failStep(name, fmt.Sprintf("under policy %s revision %d: %v", pol.Name, pol.Revision, err))
	}
	grade, _ := pol.GradeOf(uint32(rating))
	return okStep(name, fmt.Sprintf("%s (role %s, rating %d, grade %s) may submit %s jobs under policy %s revision %d",
		j.Requester, role, rating, grade, j.Type, pol.Name, pol.Revision))
}

// ratingAt is a member's rating just before height, as far as its credit
// history reaches back; beyond it, the oldest known rating.
func ratingAt(rep *ledgerpb.CreditReport, height int64) int64 {
	r := rep.Credit.GetScore()
	for i := len(rep.History) - 1; i >= 0; i-- {
		e := rep.History[i]
		if e.Height < height {
			return e.Score
		}
		r = e.Score - e.Delta
	}
	return r
}

// check counts a step's outcome in the node's metrics.
func (s *Server) check(kind string, st Step) Step {
	if st.State != "pending" {
		s.cfg.Metrics.ConsoleCheck(kind, st.State == "ok", nil)
	}
	return st
}

// complianceStep re-verifies a channel record's compliance proof as the
// ledger did: with the ledger's verifying key, the channel's rule set in the
// policy revision in force at the record's height, and the record's binding
// (chain, anchoring tx ID, submitter and the anchor's content), so a proof
// replayed under another record does not verify here either.
func (s *Server) complianceStep(ctx context.Context, rec *ledgerpb.Record) Step {
	name := "Compliance proof"
	if rec.Channel == "" {
		return okStep(name, "not a channel record: it carries no compliance proof")
	}
	pol, _, err := s.l.policyAt(ctx, rec.Height)
	if err != nil {
		return s.check("compliance_proof", failStep(name, fmt.Sprintf("policy in force at height %d: %v", rec.Height, err)))
	}
	ch, ok := pol.Channel(rec.Channel)
	if !ok {
		return s.check("compliance_proof", failStep(name, fmt.Sprintf("channel %q is not in policy revision %d", rec.Channel, pol.Revision)))
	}
	rs, _ := pol.RuleSet(ch.RuleSet)
	st, err := s.cfg.Chain.Status(ctx)
	if err != nil {
		return failStep(name, "node status: "+err.Error())
	}
	txID, err := hex.DecodeString(rec.Id)
	if err != nil {
		return s.check("compliance_proof", failStep(name, fmt.Sprintf("record ID %q is not hex", rec.Id)))
	}
	cf, err := felt(rec.Commitment, "record commitment")
	if err == nil {
		anchor := &ledgerpb.RecordAnchor{Hash: rec.Hash, Kind: rec.Kind, Channel: rec.Channel, Locator: rec.Locator, PublicInfo: rec.PublicInfo}
		stmt := zk.ComplianceStatement{Commitment: cf, NumFields: len(rs.Compiled.Fields), Constraints: rs.Compiled.ZKConstraints(),
			Binding: ledger.RecordBinding(st.NodeInfo.Network, txID, rec.Submitter, anchor)}
		err = s.v.verify(ctx, rec.VkId, stmt, rec.Proof)
	}
	if err != nil {
		return s.check("compliance_proof", failStep(name, "does not verify: "+err.Error()))
	}
	return s.check("compliance_proof", okStep(name, fmt.Sprintf("the private fields committed to (%s) satisfy rule set %s of channel %s (policy revision %d, in force at height %d); Groth16 proof bound to this record re-verified with vk %s",
		hex.EncodeToString(rec.Commitment), rs.Name, rec.Channel, pol.Revision, rec.Height, rec.VkId)))
}

// completionCheck re-verifies a task's completion proof, read from the tx
// that completed it.
func (s *Server) completionCheck(ctx context.Context, t *ledgerpb.Task) Step {
	name := "Completion proof"
	if t.Status != ledger.TaskCompleted {
		return pendingStep(name, "task "+t.Status)
	}
	h := t.CompletedHeight
	b, err := s.cfg.Chain.Block(ctx, &h)
	if err != nil {
		return failStep(name, fmt.Sprintf("block %d: %v", h, err))
	}
	for _, raw := range b.Block.Txs {
		p, err := ledger.DecodePayload(raw, b.Block.ChainID)
		if err != nil {
			continue
		}
		tc := p.GetTaskComplete()
		if tc == nil || tc.TaskId != t.Id {
			continue
		}
		order, err1 := felt(t.OrderCommitment, "order commitment")
		delivery, err2 := felt(tc.DeliveryCommitment, "delivery commitment")
		if err := errors.Join(err1, err2); err != nil {
			return s.check("completion_proof", failStep(name, err.Error()))
		}
		st := zk.CompletionStatement{TaskID: zk.FeltOf(ledger.TaskFelt(t.Id)), OrderCommitment: order,
			DeliveryCommitment: delivery, ThresholdBps: zk.Uint64(tc.ClaimedBps), CounterpartyKey: t.CounterpartyKey}
		if err := s.v.verify(ctx, tc.VkId, st, tc.Proof); err != nil {
			return s.check("completion_proof", failStep(name, "does not verify: "+err.Error()))
		}
		return s.check("completion_proof", okStep(name, fmt.Sprintf("≥ %d bps delivered, proof re-verified (block %d, vk %s)",
			tc.ClaimedBps, h, tc.VkId)))
	}
	return s.check("completion_proof", failStep(name, fmt.Sprintf("no completion tx for the task in block %d", h)))
}

// approvalChecks re-verifies a policy update's approvals.
func approvalChecks(chainID string, next *policies.Policy, approvals []*ledgerpb.PolicyApproval, members map[string]*ledgerpb.Member) []Step {
	msg := next.ApprovalMessage(chainID)
	var out []Step
	for _, a := range approvals {
		m, ok := members[a.Supervisor]
		name := "Approval by " + a.Supervisor
		switch {
		case !ok:
			out = append(out, failStep(name, "not a member"))
		case len(a.Signature) != ed25519.SignatureSize || !ed25519.Verify(m.AccountKey, msg, a.Signature):
			out = append(out, failStep(name, "signature does not verify over the policy's hash"))
		default:
			h := next.Hash()
			st := okStep(name, "ed25519 signature over policy hash "+hex.EncodeToString(h[:8])+"… re-verified")
			st.Links = []Link{{a.Supervisor, memberHref(a.Supervisor)}}
			out = append(out, st)
		}
	}
	return out
}
