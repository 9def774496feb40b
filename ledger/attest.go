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
// Quorum charging is an alliance policy, off by default
// (policies Credit.ChargeAttestedFaults, credit.charge_attested_faults;
// a chain with no policy never charges). With it off, attestations are
// recorded and shown, each attestable one marked not_charged "policy", and
// charge nobody. With it on: an attestation carries the fault its member
// determined itself (JobAbort.fault, node/jobrun FaultKind) and the culprit
// it names; when the attestations of distinct committee members other than
// the culprit's member that name the same culprit with the same attestable
// fault reach ⌊(n−1)/2⌋+1, the culprit's member is charged. One quorum
// charge per job, the first quorum reached, and none on a member the
// deadline already charged in the job (cause "deadline", expireJobs): a
// colluding quorum charges at most once per job it can make abort.
//
// Why a policy: the quorum is a majority of the committee, and it is sound
// only if every committee has an honest majority (then at least one honest
// member attests the fault). A committee's creator chooses its members, so
// where any member may create one, two colluders create {C1, C2, V} and
// charge V on every job they submit to it (TestPoCChosenCommitteeFramesMember).
// The policy therefore names who composes committees, committees.creators
// (a list of roles; empty, the default, lets any member), and
// checkCommitteeCreate refuses, CodeUnauthorized, a committee.create whose
// signer's policy role is not listed; policy validation refuses
// charge_attested_faults: true unless creators is non-empty. A quorum
// charges only on a committee whose creator's role the policy in force
// lists (applyJobAbort): one created before the alliance named creators,
// or by a role it has since removed, is recorded and marked not_charged
// "policy". What remains
// trusted is the creators' role: the ledger checks who composed a
// committee, not that the composition has an honest majority, so the
// alliance trusts every member of those roles to compose committees that do
// (a creator that colludes can still compose {C1, C2, V}). Nodes that do
// not confirm committees blindly (jobs.confirm_committees_of, node/sched)
// remain a member's own second defence. This is a consensus-rule change
// with no height gate: an older binary refuses a policy with the
// committees key as unknown, so no chain history before this binary holds
// one and replays agree; validators must upgrade before the alliance adopts
// such a policy (an update an older validator rejects would split them).
//
// A fault is attestable when an honest member names a party with it only
// after seeing the fault itself, in data every honest member shares, at the
// same step of the protocol, so that no coalition of t members makes an
// honest member name an honest party and the honest members' attestations
// land together (within the window below):
//
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
//   - bad-input (provider slot, ratingAttestedBadInput): an HE input this
//     member received malformed on its own link: the provider's own bytes.
//
// Timeouts are not attestable: member-dropped and missing-input are
// recorded (culprit checked: a committee member, a provider slot) and never
// charged on attestations. A timeout is a member's view of a clock the
// ledger does not see, and third parties steer it: a provider that
// withholds its SS input from one member V makes the others time out on V
// (StepTimeout, 30 s) while V still waits for the input (InputTimeout,
// 2 min); one colluder that withholds its last signing message from an
// honest member makes the others name that member silent at signing
// (mpc/committee); and delay cascades across per-node deadlines defeat the
// engines' grace periods. Each makes a majority of honest members name an
// honest one. The waits are also far longer than the window (an SS job
// waits until JobTimeout, an input or HE verdict two minutes), so a
// stalling colluder's accusers would land after it closed. missing-input
// stays off for the same reasons: the input deadline it is judged against
// is each node's InputTimeout, not a height on chain, and whether a
// provider's input reached a member depends on that member's link and
// clock as much as on the provider. A provider whose input commitment never
// reaches the chain is charged by the deadline (expireJobs), which the
// chain itself shows; a committee member that stops is charged on nobody's
// word: it forgoes the completed-job reward (ratingJobParticipation).
//
// A provider slot "node/label" charges its node (jobspec.SlotMember), as the
// deadline does. An abort names one culprit (node/jobrun: the first of the
// fault's parties in sorted order), and a job has at most one quorum
// charge. Not attestable, recorded only, besides the timeouts above:
// recipient-unavailable and bad-output (the recipient is one party, whose
// verdicts other members cannot check), false-input-claim (charged by its
// proof, below). A member does not attest a fault it relays: an SS input
// fault agreed in node/jobrun agreeInputs rests on the claimants' word (one
// malicious claimant makes every honest member name the provider), so the
// node posts such an abort with no fault (node/jobrun FaultError.Attested),
// and a sealed share's fault is charged by its proof. A charge records the
// move actually made (JobCharge.delta: the penalty clamped at rating 0).
//
// Late sealed evidence. An attestation may carry a sealed_opening, checked
// exactly as the first abort's (checkSealedOpening, against the ciphertexts
// the ledger keeps until the window closes) and refused if it does not
// verify; its verdict charges whom it convicts, once per job and convicted
// member. So a proof-less first abort (the requester's, a colluder's) does
// not spare a proven provider, and a job with a proven bad provider and a
// lying claimant charges both, from the members' openings.
//
// Consensus rule: this changes what FinalizeBlock accepts and writes (the
// policy gate, the faults charged, one quorum charge per job, deadline
// charges on the job, clamped deltas, JobAttestation.not_charged, the
// window), with no height gate (as the sealed-share rules before it); every
// validator of a chain must run it from its genesis, and a chain started
// under the former rules does not replay under these.
//
// Deterministic: attestations are kept and tallied in the order they land;
// no map is iterated.

// attestWindowBlocks is how many blocks after a job's abort its committee
// members' attestations are taken (block height only): at the idle pace of
// about 0.4 s a block (node config), 400 blocks is some 160 s, and blocks
// only slow down under load. It must cover how long an honest member may
// take, after the first abort, to reach its verdict on an attestable fault:
// the SS faults (a non-bit dealer, an input not opening its commitment) are
// found at an opening every member does in the same round, seconds apart,
// but an HE input verdict is given only when every provider's input is in
// or its InputTimeout (2 min) passed, so a colluder that aborts at once and
// a provider that stalls put honest members' attestations up to two
// minutes after the first abort — beyond the 100 blocks (40 s) this was.
// A late attestation is refused and only lowers the count: a window too
// short spares a culprit, it never charges an honest member. The cost of
// a longer one is the sealed inputs of an aborted job kept that much
// longer.
const attestWindowBlocks = 400

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
// attestations charges it, whom its culprit names (a committee member, a
// provider slot, or nobody the ledger checks) and the charge.
type faultRule struct {
	attestable bool
	names      culpritSort
	rating     int64
}

// culpritSort is what an abort's culprit must be for its fault kind.
type culpritSort uint8

const (
	namesAny    culpritSort = iota // not checked (not attestable, no sort)
	namesMember                    // a member of the job's committee
	namesSlot                      // a provider slot of the job
)

// faultRuleOf returns the rule of a fault kind, and false for a kind the
// ledger does not know.
func faultRuleOf(kind string) (faultRule, bool) {
	switch kind {
	case FaultCheckFailed:
		return faultRule{attestable: true, names: namesMember, rating: ratingAttestedCheat}, true
	case FaultCommitmentMismatch, FaultBadInput:
		return faultRule{attestable: true, names: namesSlot, rating: ratingAttestedBadInput}, true
	case FaultMemberDropped:
		return faultRule{names: namesMember}, true // a timeout: recorded, never charged
	case FaultMissingInput:
		return faultRule{names: namesSlot}, true // a timeout: recorded, never charged
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

// checkAbortFault checks an abort's fault and culprit: a known kind, and
// for a kind that names one a culprit of the right sort (a member of the
// committee, or a provider slot of the job). Kinds that are recorded only
// are checked too, so that what the job view shows is well-formed.
func checkAbortFault(j *ledgerpb.Job, c *ledgerpb.Committee, m *ledgerpb.JobAbort) *TxError {
	if m.Fault == "" {
		return nil
	}
	rule, ok := faultRuleOf(m.Fault)
	if !ok {
		return txErr(CodeInvalid, "abort of job %q: unknown fault %.40q", j.Id, m.Fault)
	}
	switch {
	case rule.names == namesMember && !slices.Contains(c.Members, m.Culprit):
		return txErr(CodeInvalid, "abort of job %q: a %s fault names a member of committee %s, not %q", j.Id, m.Fault, c.Id, m.Culprit)
	case rule.names == namesSlot && !slices.Contains(j.Providers, m.Culprit):
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
	if r, _ := faultRuleOf(fault); r.names == namesMember {
		return culprit
	}
	return jobspec.SlotMember(culprit)
}

// notChargedPolicy is JobAttestation.not_charged of an attestable fault's
// attestation on a chain whose policy does not enable quorum charging.
const notChargedPolicy = "policy"

// attest records signer's attestation of job j's abort and makes the
// charges it completes: its sealed verdict's, and, when chargeQuorum (the
// chain's policy enables charge_attested_faults), the quorum's of the fault
// it names. The caller stores j.
func attest(b *blockState, j *ledgerpb.Job, c *ledgerpb.Committee, signer string, m *ledgerpb.JobAbort, verdict *sealedVerdict, first, chargeQuorum bool, height int64) error {
	a := &ledgerpb.JobAttestation{Member: signer, Fault: m.Fault, Culprit: m.Culprit, Height: height, First: first}
	if verdict != nil {
		a.Convicted = verdict.culprit
	}
	j.Attestations = append(j.Attestations, a)
	if verdict != nil {
		// A proof, not a vote: charged whatever the policy says.
		if err := chargeSealed(b, j, verdict, height); err != nil {
			return err
		}
	}
	if !AttestableFault(m.Fault) {
		return nil
	}
	if !chargeQuorum {
		a.NotCharged = notChargedPolicy
		return nil
	}
	charged := culpritMember(m.Fault, m.Culprit)
	if slices.ContainsFunc(j.Charges, func(ch *ledgerpb.JobCharge) bool {
		return strings.HasPrefix(ch.Cause, causeAttested) || (ch.Member == charged && ch.Cause == causeDeadline)
	}) {
		return nil // one quorum charge per job, and none on top of the deadline's
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
	if rule.names == namesSlot {
		why += " (" + m.Culprit + ")"
	}
	return charge(b, j, &ledgerpb.JobCharge{Member: charged, Culprit: m.Culprit, Cause: causeAttested + m.Fault,
		Delta: rule.rating, Height: height, Attesters: uint32(count)}, why+" in job "+j.Id)
}

// Causes of a JobCharge.
const (
	causeAttested = "attested:"
	causeSealed   = "sealed"
	causeDeadline = "deadline" // a provider slot with no input at the deadline (expireJobs)
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

// charge moves a member's rating and records the charge on the job, with
// the move actually made (the nominal penalty clamped at rating 0).
func charge(b *blockState, j *ledgerpb.Job, ch *ledgerpb.JobCharge, reason string) error {
	applied, err := applyRating(b, ch.Member, ch.Delta, reason, ch.Height)
	if err != nil {
		return err
	}
	ch.Delta = applied
	j.Charges = append(j.Charges, ch)
	return nil
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
