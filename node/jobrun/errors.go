package jobrun

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// FaultKind classifies why a job failed, for the node's job.abort reason.
type FaultKind string

// Fault kinds.
const (
	// FaultMissingInput: a provider's input did not reach the committee
	// before the input deadline.
	FaultMissingInput FaultKind = "missing-input"
	// FaultBadInput: a provider sent bytes that do not decode as an input of
	// the job (wrong size, bad ciphertext, …).
	FaultBadInput FaultKind = "bad-input"
	// FaultCommitmentMismatch: a provider's input does not open the input
	// commitment on the ledger.
	FaultCommitmentMismatch FaultKind = "commitment-mismatch"
	// FaultMemberDropped: a committee member did not answer or left the
	// computation (SS needs every member; HE needs t).
	FaultMemberDropped FaultKind = "member-dropped"
	// FaultRecipient: the recipient did not take part (HE: never sent its
	// key).
	FaultRecipient FaultKind = "recipient-unavailable"
	// FaultBadOutput: the committee's output did not verify at the recipient
	// or a bidder (bad signature, shares not opening the commitment).
	FaultBadOutput FaultKind = "bad-output"
	// FaultCheckFailed: a check of the SS engine's malicious mode failed (a
	// MAC check, an inconsistent opening, a bitness check, inconsistent
	// input shares). It names the member that deviated when the engine could
	// prove it, and nobody otherwise.
	FaultCheckFailed FaultKind = "mpc-check-failed"
	// FaultFalseClaim: a committee member claimed its sealed share of an
	// input bad, and its own proven opening shows the claim false (the
	// share opens, to a well-formed share) or its proof does not verify
	// (sealed.go). The claimant is named, not the provider.
	FaultFalseClaim FaultKind = "false-input-claim"
)

// FaultError is a job failure that names the parties at fault. The node posts
// job.abort with Reason().
type FaultError struct {
	Job     string
	Kind    FaultKind
	Parties []string // party IDs as in the Spec, sorted
	// Claimants are the committee members that reported a named
	// provider's input missing, malformed, its sealed share bad, or not
	// opening its commitment (agreeInputs), sorted. A claim on a libp2p
	// input rests on the claimant's word (nobody else saw what it
	// received), so the abort names who made it as well as whom it
	// accuses; a claim on a sealed share comes with a proof (Evidence).
	Claimants []string
	// Evidence is the first proven claim, in slot order, that a
	// provider's sealed share does not open or is malformed, whatever the
	// fault names (a FaultFalseClaim's liars, another provider's
	// commitment mismatch; Reason then names the proven provider too);
	// with none, for FaultFalseClaim, a verifying proof that a liar's
	// share opens well formed (nil when the liars' proofs did not verify).
	// The node
	// puts it in job.abort, where the ledger checks it against the
	// ciphertext it keeps and charges whom it convicts.
	Evidence *SealedEvidence
	Err      error
}

func (e *FaultError) Error() string {
	if len(e.Parties) == 0 {
		return fmt.Sprintf("jobrun: job %s: %s: %v", e.Job, e.Kind, e.Err)
	}
	return fmt.Sprintf("jobrun: job %s: %s: %s: %v", e.Job, e.Kind, strings.Join(e.Parties, ", "), e.Err)
}

func (e *FaultError) Unwrap() error { return e.Err }

// Reason is the short, non-secret abort reason: kind and parties, and
// the members that claimed an input fault.
func (e *FaultError) Reason() string {
	r := string(e.Kind) + ": " + strings.Join(e.Parties, ",")
	switch {
	case e.Evidence != nil && e.Kind == FaultBadInput:
		r += " (proven by " + e.Evidence.Claimant + "; claimed by " + strings.Join(e.Claimants, ",") + ")"
	case len(e.Claimants) > 0:
		r += " (claimed by " + strings.Join(e.Claimants, ",") + ")"
	}
	if ev := e.Evidence; ev != nil && e.Kind != FaultBadInput && ev.Culprit != ev.Claimant {
		// Named with other parties (a liar, another kind of fault), a
		// provider proven bad: the ledger charges it from the evidence.
		r += "; " + ev.Culprit + " proven bad by " + ev.Claimant
	}
	return r
}

// Attested returns the fault this member attests in its job.abort (the
// ledger's JobAbort.fault, ledger/attest.go) and the party it names: the
// fault's kind and its first party when the member determined the fault
// itself — a member it saw leave or stop answering, the dealer of a non-bit
// opened with all n shares, an input that did not open its commitment in
// the MPC, an HE input it did not receive or received malformed or not
// opening its commitment. A fault agreed from other members' input claims
// (Claimants: node/jobrun agreeInputs, where one malicious claimant makes
// every member name the provider) is no attestation: kind is "", and
// culprit still names the party for the record. A fault naming nobody
// attests nothing. The ledger records every attestation; it charges on a
// quorum of members other than the culprit attesting the same kind and
// culprit only when the chain's policy enables it
// (credit.charge_attested_faults), and only for the kinds whose
// determination no t colluders can steer against an honest party
// (ledger.AttestableFault): not member-dropped or missing-input, timeouts
// a third party can make an honest member report against an honest one.
func (e *FaultError) Attested() (kind FaultKind, culprit string) {
	if len(e.Parties) == 0 {
		return "", ""
	}
	if len(e.Claimants) > 0 {
		return "", e.Parties[0]
	}
	return e.Kind, e.Parties[0]
}

// ErrExcluded is returned by a committee member that the recipient left out
// of a re-formed HE key-switching family (it did not hear from the member in
// time). It is no outcome: the excluded member posts neither a result nor an
// abort (node/sched) and lets the members left finish the job. The member
// cannot check the recipient's claim, and naming itself, or ending the job
// the others re-form, would let a lying recipient or one late message abort
// a job that can still finish.
var ErrExcluded = errors.New("jobrun: the recipient re-formed the HE key-switching family without this member")

func fault(spec *Spec, kind FaultKind, err error, parties ...string) *FaultError {
	ps := slices.Clone(parties)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	return &FaultError{Job: spec.ID, Kind: kind, Parties: ps, Err: err}
}

// memberFault turns an engine error on the committee session into a
// FaultError naming the members it blames, or returns err unchanged when it
// blames nobody (e.g. the caller's context ended with no peer at fault).
func memberFault(spec *Spec, err error) error {
	if err == nil {
		return nil
	}
	var fe *FaultError
	if errors.As(err, &fe) {
		return err
	}
	var mm *jobs.CommitmentMismatchError
	if errors.As(err, &mm) {
		return fault(spec, FaultCommitmentMismatch, err, mm.Providers...)
	}
	var ce *ss.CheckError
	if errors.As(err, &ce) {
		var pe *transport.PartyError
		if errors.As(err, &pe) && int(pe.Party) >= 0 && int(pe.Party) < len(spec.Committee) {
			return fault(spec, FaultCheckFailed, err, spec.Committee[pe.Party])
		}
		return fault(spec, FaultCheckFailed, err)
	}
	var cf *committee.FaultError
	if errors.As(err, &cf) {
		var names []string
		for _, m := range cf.Members() {
			if m >= 0 && m < len(spec.Committee) {
				names = append(names, spec.Committee[m])
			}
		}
		if len(names) > 0 {
			return fault(spec, FaultMemberDropped, err, names...)
		}
	}
	var pe *transport.PartyError
	if errors.As(err, &pe) && int(pe.Party) >= 0 && int(pe.Party) < len(spec.Committee) {
		return fault(spec, FaultMemberDropped, err, spec.Committee[pe.Party])
	}
	if errors.Is(err, he.ErrNotEnoughMembers) {
		return fault(spec, FaultMemberDropped, err)
	}
	return err
}
