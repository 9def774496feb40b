package ledger

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// Attestations: what a job's committee says about its abort, and when the
// ledger charges the party it names.
//
// Every committee member of a job that fails posts its own job.abort
// (node/sched postOutcome). The first to land ends the job; for
// attestWindowBlocks blocks after that height the ledger takes the other
// members' aborts as attestations: they change neither the job's status nor
// its reason, they are recorded on the job (Job.attestations, in the order
// they land, one per member: a member's second abort of the job is refused
// with CodeJobFinished, as an abort of a finished job always was, so a node
// that resubmits after a restart sees its first one stand). The first abort
// is its signer's attestation too when the signer sits on the committee. The
// requester's abort, when the requester is not on the committee, ends the
// job and is no attestation; a requester that sits on the committee attests
// as the member it is (the bound t below counts it among the members).
//
// Quorum charging. An attestation carries the fault its member determined
// itself (JobAbort.fault, node/jobrun FaultKind) and the culprit it names.
// When the attestations of distinct committee members other than the
// culprit's member that name the same culprit with the same attestable fault
// reach ⌊(n−1)/2⌋+1 — one more than the malicious members the SS engine
// tolerates (t < n/2) — at least one honest member attests it, and the
// culprit's member is charged, once per job (the first quorum reached). The
// ledger cannot check the claim; the quorum is what it rests on. A fault is
// attestable when an honest member names a party with it only after seeing
// the fault itself, on its own link or in an opening every honest member
// shares, so that no coalition of t members makes an honest member name an
// honest party:
//
//   - member-dropped (committee member, ratingAttestedDropped = the −25 of a
//     job timeout): the member saw on its own connection that the culprit
//     left without an abort notice, stopped answering, or sent a malformed
//     message (mpc/ss names a member only then: an abort notice is its
//     sender's word and is relayed only when the receiver confirms the
//     accused gone on its own link; mpc/committee names a member whose
//     signing or DKG message is missing or invalid). A member partitioned
//     from the honest majority is charged — as a provider whose input never
//     reaches the ledger is: the ledger cannot tell a partition from a
//     member that stops. A timeout is the member's own observation, but
//     a colluder that delays a third member can make it late; the engines
//     size their waits so that a member late only because of a slow third
//     party is not named (mpc/ss abort notices and abortGrace, mpc/he's
//     doubled view wait). A delay cascade they do not foresee would let t
//     colluders and one misled honest member charge an honest one −25:
//     the residual risk of charging on timeouts. Nodes run every SS job in
//     the malicious mode (node/jobrun DefaultSSSecurity), where a relayed
//     accusation is never a culprit.
//   - mpc-check-failed with a culprit (committee member, ratingAttestedCheat):
//     the SS engine names a member only as the dealer of a non-bit or of an
//     out-of-range mask integer, opened under the MAC check with all n
//     shares: every honest member sees the same value (mpc/ss CheckError).
//     A failed MAC check, an inconsistent opening (its "suspect" can be an
//     honest member framed by two colluders) or inconsistent dealt shares
//     name nobody, and an abort naming nobody charges nobody.
//   - commitment-mismatch (provider slot, ratingAttestedBadInput): an SS
//     input that does not open its commitment is found by an opening with
//     all n shares under the MAC check (mpc/jobs); an HE input by the
//     member's own SHA-256 of the ciphertexts it received.
//   - missing-input (provider slot, ratingAttestedMissingInput, −25) and
//     bad-input (provider slot, ratingAttestedBadInput): an HE input this
//     member did not receive, or received malformed, on its own link.
//
// A provider slot "node/label" charges its node (jobspec.SlotMember), as the
// deadline does. An abort names one culprit (node/jobrun: the first of the
// fault's parties in sorted order), so of two members dropped from one job
// only that one can be charged. Not attestable, recorded only: recipient-unavailable and
// bad-output (the recipient is one party, whose verdicts other members
// cannot check), false-input-claim (charged by its proof, below). A member
// does not attest a fault it relays: an SS input fault agreed in
// node/jobrun agreeInputs rests on the claimants' word (one malicious
// claimant makes every honest member name the provider), so the node posts
// such an abort with no fault (node/jobrun FaultError.Attested), and a
// sealed share's fault is charged by its proof.
//
// Late sealed evidence. An attestation may carry a sealed_opening, checked
// exactly as the first abort's (checkSealedOpening, against the ciphertexts
// the ledger keeps until the window closes) and refused if it does not
// verify; its verdict charges whom it convicts, once per job and convicted
// member. So a proof-less first abort (the requester's, a colluder's) does
// not spare a proven provider, and a job with a proven bad provider and a
// lying claimant charges both, from the members' openings.
//
// Consensus rule: this changes what FinalizeBlock accepts and writes, with
// no height gate (as the sealed-share rules before it); every validator of a
// chain must run it from its genesis.
//
// Deterministic: attestations are kept and tallied in the order they land;
// no map is iterated.

// attestWindowBlocks is how many blocks after a job's abort its committee
// members' attestations are taken (block height only). Members post theirs
// as they fail, which can be a step timeout (node/jobrun StepTimeout, 30 s)
// after the first: at the idle pace of about 0.4 s a block (node config),
// 100 blocks is some 40 s. The cost is the sealed inputs of an aborted job
// kept that much longer.
const attestWindowBlocks = 100

// Fault kinds the ledger knows (node/jobrun FaultKind; the ledger does not
// import node/). JobAbort.fault is empty or one of these.
const (
	FaultMissingInput       = "missing-input"
	FaultBadInput           = "bad-input"
	FaultCommitmentMismatch = "commitment-mismatch"
	FaultMemberDropped      = "member-dropped"
	FaultRecipient          = "recipient-unavailable"
	FaultBadOutput          = "bad-output"
	FaultCheckFailed        = "mpc-check-failed"
	FaultFalseClaim         = "false-input-claim"
)

// faultRule is what the ledger knows of a fault kind: whether a quorum of
// attestations charges it, whom its culprit names (a committee member or a
// provider slot) and the charge.
type faultRule struct {
	attestable bool
	member     bool // culprit is a committee member, else a provider slot
	rating     int64
}

// faultRuleOf returns the rule of a fault kind, and false for a kind the
// ledger does not know.
func faultRuleOf(kind string) (faultRule, bool) {
	switch kind {
	case FaultMemberDropped:
		return faultRule{attestable: true, member: true, rating: ratingAttestedDropped}, true
	case FaultCheckFailed:
		return faultRule{attestable: true, member: true, rating: ratingAttestedCheat}, true
	case FaultCommitmentMismatch, FaultBadInput:
		return faultRule{attestable: true, rating: ratingAttestedBadInput}, true
	case FaultMissingInput:
		return faultRule{attestable: true, rating: ratingAttestedMissingInput}, true
	case FaultRecipient, FaultBadOutput, FaultFalseClaim:
		return faultRule{}, true
	}
	return faultRule{}, false
}

// KnownFault reports whether kind is a fault kind job.abort may carry.
func KnownFault(kind string) bool {
	_, ok := faultRuleOf(kind)
	return ok
}

// AttestableFault reports whether a quorum of attestations of kind charges
// its culprit.
func AttestableFault(kind string) bool {
	r, _ := faultRuleOf(kind)
	return r.attestable
}

// attestQuorum is the number of attestations by distinct members other than
// the culprit's that charge it on a committee of n: ⌊(n−1)/2⌋+1.
func attestQuorum(n int) int { return (n-1)/2 + 1 }

// checkAbortFault checks an abort's fault and culprit: a known kind, and for
// an attestable one a culprit of the right sort (a member of the committee,
// or a provider slot of the job).
func checkAbortFault(j *ledgerpb.Job, c *ledgerpb.Committee, m *ledgerpb.JobAbort) *TxError {
	if m.Fault == "" {
		return nil
	}
	rule, ok := faultRuleOf(m.Fault)
	if !ok {
		return txErr(CodeInvalid, "abort of job %q: unknown fault %.40q", j.Id, m.Fault)
	}
	if !rule.attestable {
		return nil
	}
	switch {
	case rule.member && !slices.Contains(c.Members, m.Culprit):
		return txErr(CodeInvalid, "abort of job %q: a %s fault names a member of committee %s, not %q", j.Id, m.Fault, c.Id, m.Culprit)
	case !rule.member && !slices.Contains(j.Providers, m.Culprit):
		return txErr(CodeInvalid, "abort of job %q: a %s fault names a provider slot of the job, not %q", j.Id, m.Fault, m.Culprit)
	}
	return nil
}

// checkAttestation checks that signer may attest the abort of job j (its
// status is aborted): a committee member, within the window, not yet
// attested. A refusal is CodeJobFinished: the job ended, and this abort
// changes nothing.
func checkAttestation(signer string, j *ledgerpb.Job, c *ledgerpb.Committee, height int64) *TxError {
	switch {
	case !slices.Contains(c.Members, signer):
		return txErr(CodeJobFinished, "job %q is %s", j.Id, j.Status)
	case height > j.FinishedHeight+attestWindowBlocks:
		return txErr(CodeJobFinished, "job %q is %s since height %d: attestations closed at %d", j.Id, j.Status, j.FinishedHeight, j.FinishedHeight+attestWindowBlocks)
	case slices.ContainsFunc(j.Attestations, func(a *ledgerpb.JobAttestation) bool { return a.Member == signer }):
		return txErr(CodeJobFinished, "job %q is %s and %s has attested it already", j.Id, j.Status, signer)
	}
	return nil
}

// culpritMember is the member an attestable fault's culprit charges: the
// member itself, or a provider slot's node.
func culpritMember(fault, culprit string) string {
	if r, _ := faultRuleOf(fault); r.member {
		return culprit
	}
	return jobspec.SlotMember(culprit)
}

// attest records signer's attestation of job j's abort and makes the
// charges it completes: its sealed verdict's, and the quorum's of the fault
// it names. The caller stores j.
func attest(b *blockState, j *ledgerpb.Job, c *ledgerpb.Committee, signer string, m *ledgerpb.JobAbort, verdict *sealedVerdict, first bool, height int64) error {
	a := &ledgerpb.JobAttestation{Member: signer, Fault: m.Fault, Culprit: m.Culprit, Height: height, First: first}
	if verdict != nil {
		a.Convicted = verdict.culprit
	}
	j.Attestations = append(j.Attestations, a)
	if verdict != nil {
		if err := chargeSealed(b, j, verdict, height); err != nil {
			return err
		}
	}
	if !AttestableFault(m.Fault) {
		return nil
	}
	charged := culpritMember(m.Fault, m.Culprit)
	if slices.ContainsFunc(j.Charges, func(ch *ledgerpb.JobCharge) bool {
		return ch.Member == charged && strings.HasPrefix(ch.Cause, causeAttested)
	}) {
		return nil // once per job
	}
	var count int
	for _, x := range j.Attestations {
		if x.Fault == m.Fault && x.Culprit == m.Culprit && x.Member != charged {
			count++ // one attestation per member: distinct members
		}
	}
	n := len(c.Members)
	if count < attestQuorum(n) {
		return nil
	}
	rule, _ := faultRuleOf(m.Fault)
	why := fmt.Sprintf("attested by %d of %d committee members: %s", count, n, m.Fault)
	if !rule.member {
		why += " (" + m.Culprit + ")"
	}
	return charge(b, j, &ledgerpb.JobCharge{Member: charged, Culprit: m.Culprit, Cause: causeAttested + m.Fault,
		Delta: rule.rating, Height: height, Attesters: uint32(count)}, why+" in job "+j.Id)
}

// Causes of a JobCharge.
const (
	causeAttested = "attested:"
	causeSealed   = "sealed"
)

// chargeSealed charges whom a verified sealed-share proof convicts, once per
// job and convicted member.
func chargeSealed(b *blockState, j *ledgerpb.Job, v *sealedVerdict, height int64) error {
	if slices.ContainsFunc(j.Charges, func(ch *ledgerpb.JobCharge) bool {
		return ch.Member == v.charged && ch.Cause == causeSealed
	}) {
		return nil
	}
	return charge(b, j, &ledgerpb.JobCharge{Member: v.charged, Culprit: v.culprit, Cause: causeSealed, Delta: v.rating, Height: height},
		v.why+": "+j.Id)
}

// charge moves a member's rating and records the charge on the job.
func charge(b *blockState, j *ledgerpb.Job, ch *ledgerpb.JobCharge, reason string) error {
	j.Charges = append(j.Charges, ch)
	return adjustRating(b, ch.Member, ch.Delta, reason, ch.Height)
}

// Sealed inputs of an aborted job stay in state until its attestation
// window closes, for late sealed-share proofs: finishJob indexes the job
// under sealedprune/<height> and pruneAttested deletes them then.
var prefixSealedPrune = []byte("sealedprune/")

func keySealedPrune(height int64, id string) []byte {
	return append(heightKey(prefixSealedPrune, height), id...)
}

// hasSealedInputs reports whether any input slot of j is sealed in state.
func hasSealedInputs(b *blockState, j *ledgerpb.Job) (bool, error) {
	for i := range j.Providers {
		v, err := b.get(keySealedInput(j.Id, i))
		if err != nil || v != nil {
			return v != nil, err
		}
	}
	return false, nil
}

// pruneAttested deletes the sealed inputs of aborted jobs whose attestation
// window closed before height, in key order (height, then job ID).
func pruneAttested(b *blockState, height int64) error {
	var due [][]byte
	err := b.scan(prefixSealedPrune, func(key, _ []byte) error {
		if int64(binary.BigEndian.Uint64(key[len(prefixSealedPrune):])) > height {
			return errStopScan
		}
		due = append(due, append([]byte(nil), key...))
		return nil
	})
	if err != nil && err != errStopScan {
		return err
	}
	for _, key := range due {
		id := string(key[len(prefixSealedPrune)+8:])
		var j ledgerpb.Job
		if found, err := loadProto(b, keyJob(id), &j); err != nil || !found {
			return fmt.Errorf("sealed-prune index points to a missing job %q: %v", id, err)
		}
		if err := pruneSealedInputs(b, &j); err != nil {
			return err
		}
		b.delete(key)
	}
	return nil
}
