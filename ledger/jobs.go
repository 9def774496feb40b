package ledger

import (
	"bytes"
	"fmt"
	"slices"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// Committee and job states.
const (
	CommitteePending = "pending"
	CommitteeActive  = "active"

	JobCollecting = "collecting" // waiting for every provider's input commitment
	JobRunning    = "running"    // inputs committed; the committee computes
	JobCompleted  = "completed"
	JobAborted    = "aborted"
)

// Job types, params and their limits are defined once, in mpc/jobspec: the
// ledger runs its Validate on every job and committee it accepts.
const (
	maxReasonBytes    = 512
	maxJobLifetime    = 1_000_000
	maxCommitKeyBytes = 8 << 10
	dkgKeyBytes       = 128
)

func keyCommittee(id string) []byte { return append([]byte("committee/"), id...) }
func keyJob(id string) []byte       { return append([]byte("job/"), id...) }

var prefixJobOpen = []byte("jobopen/")

// keyJobOpen indexes unfinished jobs by deadline for expiry.
func keyJobOpen(deadline int64, id string) []byte {
	return append(heightKey(prefixJobOpen, deadline), id...)
}

func heightKey(prefix []byte, h int64) []byte {
	k := append([]byte(nil), prefix...)
	return append(k, heightBytes(h)...)
}

func loadProto[T proto.Message](st stateReader, key []byte, msg T) (bool, error) {
	raw, err := st.get(key)
	if err != nil || raw == nil {
		return false, err
	}
	if err := proto.Unmarshal(raw, msg); err != nil {
		return false, fmt.Errorf("corrupt %s: %w", key, err)
	}
	return true, nil
}

func putProto(b *blockState, key []byte, msg proto.Message) error {
	raw, err := marshal(msg)
	if err != nil {
		return err
	}
	b.set(key, raw)
	return nil
}

// keyHEInput marks an HE input commitment (the SHA-256 of a provider's
// ciphertexts) as used, with the job it was committed to.
func keyHEInput(commitment []byte) []byte { return append([]byte("heinput/"), commitment...) }

// inputSlot is the slot a job input fills: the one it names, or the signer's
// own unlabelled slot.
func inputSlot(signer string, m *ledgerpb.JobInput) string {
	if m.Provider != "" {
		return m.Provider
	}
	return signer
}

func validID(id, what string) *TxError {
	if err := jobspec.CheckID(what, id); err != nil {
		return txErr(CodeInvalid, "%v", err)
	}
	return nil
}

// JobSpec is the job spec of a job record and its committee: what every
// node validates and runs. The ledger accepted only jobs whose spec
// validates; the returned spec is validated.
func JobSpec(j *ledgerpb.Job, c *ledgerpb.Committee) (*jobspec.Spec, error) {
	s := jobSpecOf(j.Id, j.Type, j.Params, j.Requester, j.Providers, j.Recipient, c)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func jobSpecOf(id, typ string, params []byte, requester string, providers []string, recipient string, c *ledgerpb.Committee) *jobspec.Spec {
	return &jobspec.Spec{ID: id, Type: jobspec.Type(typ), Params: params, Requester: requester, Providers: providers,
		Committee: c.Members, Threshold: int(c.Threshold), Recipient: recipient}
}

// inputRange is the range the input of a job's provider slot i must be
// proven to lie in, if any.
func inputRange(j *ledgerpb.Job, i int) (lo, hi uint64, ok bool, err error) {
	return jobspec.SlotRangeOf(jobspec.Type(j.Type), j.Params, j.Providers, i)
}

// --- committees ---

func checkCommitteeCreate(signer string, m *ledgerpb.CommitteeCreate, v *committedView, st stateReader) *TxError {
	if terr := validID(m.CommitteeId, "committee id"); terr != nil {
		return terr
	}
	// Who composes committees (policy committees.creators): the creator
	// chooses the members, and quorum charging on attestations rests on
	// every committee having an honest majority, so an alliance that
	// charges names the roles it trusts to choose (ledger/attest.go). The
	// role is the signer's role in the policy, as for job submission.
	if v.policy != nil {
		if err := v.policy.CheckCommitteeCreate(policyRole(v.policy, signer)); err != nil {
			return txErr(CodeUnauthorized, "%s may not create committees: %v", signer, err)
		}
	}
	// The engines' limits (size, threshold, names, no repeats): a committee
	// its members could not set up never reaches the chain.
	if err := jobspec.CheckCommittee(m.Members, int(min(m.Threshold, jobspec.MaxCommittee+1))); err != nil {
		return txErr(CodeInvalid, "committee %q: %v", m.CommitteeId, err)
	}
	for _, name := range m.Members {
		member, ok := v.members.byName[name]
		if !ok {
			return txErr(CodeInvalid, "committee member %q is not a member", name)
		}
		if len(member.DkgKey) != dkgKeyBytes {
			return txErr(CodeInvalid, "member %q has no DKG key registered", name)
		}
		if !HasNode(member) {
			return txErr(CodeInvalid, "member %q runs no node: it cannot sit on a committee", name)
		}
		if v.policy != nil {
			c, err := loadRating(st, name)
			if err != nil {
				return txErr(CodeInvalid, "read state: %v", err)
			}
			if err := v.policy.CheckCommittee(uint32(c.Score)); err != nil {
				return txErr(CodeUnauthorized, "member %q may not sit on a committee: %v", name, err)
			}
		}
	}
	var c ledgerpb.Committee
	found, err := loadProto(st, keyCommittee(m.CommitteeId), &c)
	if err != nil {
		return txErr(CodeInvalid, "read state: %v", err)
	}
	if found {
		return txErr(CodeInvalid, "committee %q already exists", m.CommitteeId)
	}
	return nil
}

// trustedCreator reports whether the policy lets member create committees
// now.
func trustedCreator(p *policies.Policy, member string) bool {
	return p.CheckCommitteeCreate(policyRole(p, member)) == nil
}

// policyRole is member's role in the policy, "" if the policy does not
// name it (a role no rule lists).
func policyRole(p *policies.Policy, member string) string {
	if pm, ok := p.Member(member); ok {
		return pm.Role
	}
	return ""
}

func applyCommitteeCreate(b *blockState, signer string, m *ledgerpb.CommitteeCreate, height int64) error {
	return putProto(b, keyCommittee(m.CommitteeId), &ledgerpb.Committee{
		Id: m.CommitteeId, Members: m.Members, Threshold: m.Threshold, Creator: signer,
		CreatedHeight: height, Status: CommitteePending,
	})
}

// checkCommitteeConfirm checks a member's confirmation of the committee key:
// its threshold and size match the committee, and it binds the members' DKG
// keys in committee order (so share i belongs to member i).
func checkCommitteeConfirm(signer string, m *ledgerpb.CommitteeConfirm, v *committedView, st stateReader) (*ledgerpb.Committee, *TxError) {
	var c ledgerpb.Committee
	found, err := loadProto(st, keyCommittee(m.CommitteeId), &c)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	switch {
	case !found:
		return nil, txErr(CodeInvalid, "unknown committee %q", m.CommitteeId)
	case c.Status != CommitteePending:
		return nil, txErr(CodeInvalid, "committee %q is already %s", c.Id, c.Status)
	case !slices.Contains(c.Members, signer):
		return nil, txErr(CodeUnauthorized, "%s is not on committee %q", signer, c.Id)
	case slices.Contains(c.Confirmed, signer):
		return nil, txErr(CodeInvalid, "%s already confirmed committee %q", signer, c.Id)
	case len(m.CommitteeKey) == 0 || len(m.CommitteeKey) > maxCommitKeyBytes:
		return nil, txErr(CodeInvalid, "committee key must be 1 to %d bytes", maxCommitKeyBytes)
	}
	key, err := committee.ParseCommitteeKey(m.CommitteeKey)
	if err != nil {
		return nil, txErr(CodeInvalid, "committee key: %v", err)
	}
	if key.T != int(c.Threshold) || key.N != len(c.Members) {
		return nil, txErr(CodeInvalid, "committee key is %d-of-%d, committee %q is %d-of-%d", key.T, key.N, c.Id, c.Threshold, len(c.Members))
	}
	var pubs []committee.LongTermPublicKey
	for _, name := range c.Members {
		pk, err := committee.ParseLongTermPublicKey(v.members.byName[name].DkgKey)
		if err != nil {
			return nil, txErr(CodeInvalid, "member %q DKG key: %v", name, err)
		}
		pubs = append(pubs, pk)
	}
	digest, err := committee.MembersDigest(pubs)
	if err != nil || digest != key.Members {
		return nil, txErr(CodeInvalid, "committee key does not bind the members of committee %q in order", c.Id)
	}
	id := key.ID()
	if len(c.PendingKeyId) != 0 && !bytes.Equal(c.PendingKeyId, id[:]) {
		return nil, txErr(CodeInvalid, "committee key %x differs from the one other members confirmed (%x): the DKG diverged", id[:8], c.PendingKeyId[:8])
	}
	if len(m.HeKeyHash) != 0 && len(m.HeKeyHash) != 32 {
		return nil, txErr(CodeInvalid, "HE key hash must be 32 bytes")
	}
	if len(c.Confirmed) > 0 && !bytes.Equal(c.HeKeyHash, m.HeKeyHash) {
		return nil, txErr(CodeInvalid, "HE key %x differs from the one other members confirmed: the HE setup diverged", m.HeKeyHash)
	}
	return &c, nil
}

func applyCommitteeConfirm(b *blockState, signer string, c *ledgerpb.Committee, m *ledgerpb.CommitteeConfirm) error {
	key, _ := committee.ParseCommitteeKey(m.CommitteeKey)
	id := key.ID()
	c.PendingKeyId, c.HeKeyHash = id[:], m.HeKeyHash
	c.Confirmed = append(c.Confirmed, signer)
	sort.Strings(c.Confirmed)
	if len(c.Confirmed) == len(c.Members) {
		c.Status, c.CommitteeKey = CommitteeActive, m.CommitteeKey
	}
	return putProto(b, keyCommittee(c.Id), c)
}

// --- jobs ---

func checkJobSubmit(signer string, m *ledgerpb.JobSubmit, v *committedView, st stateReader, height int64) *TxError {
	if terr := validID(m.JobId, "job id"); terr != nil {
		return terr
	}
	var c ledgerpb.Committee
	found, err := loadProto(st, keyCommittee(m.CommitteeId), &c)
	if err != nil {
		return txErr(CodeInvalid, "read state: %v", err)
	}
	if !found || c.Status != CommitteeActive {
		return txErr(CodeInvalid, "committee %q is not active", m.CommitteeId)
	}
	// HE jobs only on a committee whose HE setup checked every member's key
	// shares (t = ⌈n/2⌉): on any other, one malicious member could read the
	// collective key or shift CKKS results unseen (mpc/jobspec.
	// CheckHECommittee; Validate below checks it too, without the ID).
	if err := jobspec.CheckHECommittee(jobspec.Type(m.Type), len(c.Members), int(c.Threshold)); err != nil {
		return txErr(CodeInvalid, "job %q on committee %q: %v", m.JobId, c.Id, err)
	}
	// The full validation every node runs on the job: type, params, limits,
	// slots, names. A job the nodes would refuse is refused here, before it
	// can change anything or cost anybody rating.
	spec := jobSpecOf(m.JobId, m.Type, m.Params, signer, m.Providers, m.Recipient, &c)
	if err := spec.Validate(); err != nil {
		return txErr(CodeInvalid, "job %q: %v", m.JobId, err)
	}
	for _, p := range m.Providers {
		if member := jobspec.SlotMember(p); v.members.byName[member] == nil {
			return txErr(CodeInvalid, "provider %q is not a member", member)
		}
	}
	for _, p := range m.Providers {
		// A member without a node supplies its input sealed on the ledger
		// (SS jobs); an HE input is ciphertexts sent to the committee, and a
		// clearing bidder's allocation comes to its node only. A tender
		// quoter without a node reads its assignment in the award.
		if member := v.members.byName[jobspec.SlotMember(p)]; !HasNode(member) && !sealableType(spec.Type) {
			return txErr(CodeInvalid, "provider %q runs no node: it can supply auctions and tenders only (sealed shares)", member.Name)
		}
	}
	if r, ok := v.members.byName[m.Recipient]; !ok {
		return txErr(CodeInvalid, "recipient %q is not a member", m.Recipient)
	} else if !HasNode(r) {
		return txErr(CodeInvalid, "recipient %q runs no node: it could not receive the result", m.Recipient)
	}
	if len(m.RecipientKeyHash) != 0 && len(m.RecipientKeyHash) != 32 {
		return txErr(CodeInvalid, "recipient key hash must be 32 bytes")
	}
	if m.DeadlineHeight <= height || m.DeadlineHeight > height+maxJobLifetime {
		return txErr(CodeInvalid, "deadline height %d must be after %d and within %d blocks", m.DeadlineHeight, height, maxJobLifetime)
	}
	// The access step: the requester's role and rating under the policy.
	if v.policy != nil {
		credit, err := loadRating(st, signer)
		if err != nil {
			return txErr(CodeInvalid, "read state: %v", err)
		}
		role := ""
		if pm, ok := v.policy.Member(signer); ok {
			role = pm.Role
		}
		if err := v.policy.CheckSubmit(role, m.Type, uint32(credit.Score)); err != nil {
			return txErr(CodeUnauthorized, "%s may not submit %s jobs: %v", signer, m.Type, err)
		}
	}
	var j ledgerpb.Job
	if found, err := loadProto(st, keyJob(m.JobId), &j); err != nil || found {
		return txErr(CodeInvalid, "job %q already exists", m.JobId)
	}
	if p := spec.TenderParams(); p != nil {
		return checkTenderJob(signer, m, p, v, st)
	}
	return nil
}

func applyJobSubmit(b *blockState, signer string, m *ledgerpb.JobSubmit, height int64) error {
	j := &ledgerpb.Job{
		Id: m.JobId, Type: m.Type, Params: m.Params, Providers: m.Providers, CommitteeId: m.CommitteeId,
		Recipient: m.Recipient, DeadlineHeight: m.DeadlineHeight, RecipientKeyHash: m.RecipientKeyHash,
		Requester: signer, SubmittedHeight: height, Status: JobCollecting,
		InputCommitments: make([][]byte, len(m.Providers)),
		InputProofs:      make([][]byte, len(m.Providers)),
		InputVkIds:       make([]string, len(m.Providers)),
	}
	b.set(keyJobOpen(j.DeadlineHeight, j.Id), []byte{})
	if jobspec.Type(j.Type) == jobspec.Tender {
		if err := applyTenderSubmit(b, m); err != nil {
			return err
		}
	}
	return putProto(b, keyJob(j.Id), j)
}

func loadOpenJob(st stateReader, id string) (*ledgerpb.Job, *TxError) {
	var j ledgerpb.Job
	found, err := loadProto(st, keyJob(id), &j)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	if !found {
		return nil, txErr(CodeInvalid, "unknown job %q", id)
	}
	if j.Status == JobCompleted || j.Status == JobAborted {
		return nil, txErr(CodeJobFinished, "job %q is %s", id, j.Status)
	}
	return &j, nil
}

// checkJobInput runs the cheap checks of a provider's input commitment.
func checkJobInput(signer string, m *ledgerpb.JobInput, v *committedView, st stateReader, height int64) (*ledgerpb.Job, *TxError) {
	j, terr := loadOpenJob(st, m.JobId)
	if terr != nil {
		return nil, terr
	}
	slot := inputSlot(signer, m)
	i := slices.Index(j.Providers, slot)
	switch {
	case i < 0 || jobspec.SlotMember(slot) != signer:
		return nil, txErr(CodeUnauthorized, "%s is not provider %q of job %q", signer, slot, j.Id)
	case len(j.InputCommitments[i]) != 0:
		return nil, txErr(CodeInvalid, "%s already committed input %q to job %q", signer, slot, j.Id)
	case height > j.DeadlineHeight:
		return nil, txErr(CodeInvalid, "job %q passed its deadline", j.Id)
	}
	if jobspec.Type(j.Type) == jobspec.Tender {
		if terr := checkQuoteGrade(signer, j, v, st); terr != nil {
			return nil, terr
		}
	}
	// Secret-shared inputs are committed with Poseidon2 (a field element the
	// committee re-derives inside the MPC); HE inputs by the SHA-256 of their
	// ciphertexts.
	if jobspec.Type(j.Type).Engine() == jobspec.EngineHE {
		if len(m.Commitment) != 32 {
			return nil, txErr(CodeInvalid, "input commitment must be 32 bytes")
		}
		// A ciphertext is evaluated in one job only. A recipient that
		// vetoes a result has seen its key switches; a second job on the
		// very same ciphertexts would hand it more key switches of the same
		// evaluated ciphertext to average (mpc/he, "Recipient veto"). Honest
		// providers encrypt afresh for every job, so this refuses only a
		// replay.
		used, err := st.get(keyHEInput(m.Commitment))
		if err != nil {
			return nil, txErr(CodeInvalid, "job %q: read state: %v", j.Id, err)
		}
		if used != nil {
			return nil, txErr(CodeInvalid, "HE input %x was committed to job %q already: a ciphertext is evaluated in one job only (encrypt afresh)", m.Commitment, used)
		}
	} else if _, terr := fieldElement(m.Commitment, "input commitment"); terr != nil {
		return nil, terr
	}
	if terr := checkSealedShares(signer, j, m, v, st); terr != nil {
		return nil, terr
	}
	_, _, bounded, err := inputRange(j, i)
	if err != nil {
		return nil, txErr(CodeInvalid, "job %q: %v", j.Id, err)
	}
	if bounded {
		if len(m.Proof) == 0 || len(m.Proof) > maxProofBytes {
			return nil, txErr(CodeInvalid, "job %q bounds its inputs: an input-validity proof is required", j.Id)
		}
		info, ok := v.keys.Key(m.VkId)
		if !ok || info.Circuit != zk.CircuitInput {
			return nil, txErr(CodeInvalid, "vk %q is not a registered input key", m.VkId)
		}
	}
	return j, nil
}

func verifyJobInput(v *committedView, signer string, j *ledgerpb.Job, m *ledgerpb.JobInput) error {
	lo, hi, bounded, err := inputRange(j, slices.Index(j.Providers, inputSlot(signer, m)))
	if err != nil || !bounded {
		return err
	}
	c, _ := fieldElement(m.Commitment, "input commitment")
	stmt := zk.InputStatement{Commitment: zk.FeltOf(c), Lo: zk.Uint64(lo), Hi: zk.Uint64(hi)}
	return v.keys.VerifyStatement(m.VkId, stmt, m.Proof)
}

func applyJobInput(b *blockState, signer string, j *ledgerpb.Job, m *ledgerpb.JobInput) error {
	i := slices.Index(j.Providers, inputSlot(signer, m))
	j.InputCommitments[i] = m.Commitment
	if jobspec.Type(j.Type).Engine() == jobspec.EngineHE {
		b.set(keyHEInput(m.Commitment), []byte(j.Id))
	}
	if len(m.Proof) > 0 {
		j.InputProofs[i], j.InputVkIds[i] = m.Proof, m.VkId
	}
	if len(m.SealedShares) > 0 {
		if err := putProto(b, keySealedInput(j.Id, i), &ledgerpb.SealedShares{Shares: m.SealedShares, Commitments: m.ShareCommitments}); err != nil {
			return err
		}
	}
	complete := true
	for _, c := range j.InputCommitments {
		complete = complete && len(c) != 0
	}
	if complete {
		j.Status = JobRunning
	}
	return putProto(b, keyJob(j.Id), j)
}

func checkJobResult(signer string, m *ledgerpb.JobResult, st stateReader) (*ledgerpb.Job, *committee.CommitteeKey, *TxError) {
	j, terr := loadOpenJob(st, m.JobId)
	if terr != nil {
		return nil, nil, terr
	}
	var c ledgerpb.Committee
	if _, err := loadProto(st, keyCommittee(j.CommitteeId), &c); err != nil {
		return nil, nil, txErr(CodeInvalid, "read state: %v", err)
	}
	switch {
	case !slices.Contains(c.Members, signer):
		return nil, nil, txErr(CodeUnauthorized, "%s is not on committee %q", signer, c.Id)
	case j.Status != JobRunning:
		return nil, nil, txErr(CodeInvalid, "job %q is %s: not every input is committed", j.Id, j.Status)
	case len(m.OutputCommitment) == 0 || len(m.OutputCommitment) > 128:
		return nil, nil, txErr(CodeInvalid, "output commitment must be 1 to 128 bytes")
	case len(m.Signature) == 0 || len(m.Signature) > 256:
		return nil, nil, txErr(CodeInvalid, "committee signature must be 1 to 256 bytes")
	}
	key, err := committee.ParseCommitteeKey(c.CommitteeKey)
	if err != nil {
		return nil, nil, txErr(CodeInvalid, "committee key: %v", err)
	}
	return j, key, nil
}

// ResultMessage is what a job's committee signs.
func ResultMessage(j *ledgerpb.Job, output []byte) ([]byte, error) {
	return committee.ResultMessage(j.Id, j.InputCommitments, output)
}

func verifyJobResult(j *ledgerpb.Job, key *committee.CommitteeKey, m *ledgerpb.JobResult) error {
	msg, err := ResultMessage(j, m.OutputCommitment)
	if err != nil {
		return err
	}
	return committee.VerifySignature(key, msg, m.Signature)
}

// finishJob records a job's end. A completed job's sealed inputs are
// pruned now; an aborted job's when its attestation window closes
// (attest.go: late sealed-share proofs are checked against them).
func finishJob(b *blockState, j *ledgerpb.Job, height int64) error {
	b.delete(keyJobOpen(j.DeadlineHeight, j.Id))
	j.FinishedHeight = height
	if j.Status == JobAborted {
		sealed, err := hasSealedInputs(b, j)
		if err != nil {
			return err
		}
		if sealed {
			b.set(keySealedPrune(height+attestWindowBlocks, j.Id), []byte{})
		}
	} else if err := pruneSealedInputs(b, j); err != nil {
		return err
	}
	return putProto(b, keyJob(j.Id), j)
}

func applyJobResult(b *blockState, j *ledgerpb.Job, m *ledgerpb.JobResult, height int64) error {
	j.Status, j.OutputCommitment, j.Signature = JobCompleted, m.OutputCommitment, m.Signature
	if err := finishJob(b, j, height); err != nil {
		return err
	}
	var c ledgerpb.Committee
	if _, err := loadProto(b, keyCommittee(j.CommitteeId), &c); err != nil {
		return err
	}
	for _, name := range c.Members {
		if err := adjustRating(b, name, ratingJobParticipation, "job completed: "+j.Id, height); err != nil {
			return err
		}
		if err := addOutput(b, name, 1); err != nil {
			return err
		}
	}
	return nil
}

// checkedAbort is a job.abort that passed its checks, with the verdict of
// its sealed-share proof, if it carries one. attestation: the job is already
// aborted and the abort is a committee member's attestation (attest.go).
type checkedAbort struct {
	job         *ledgerpb.Job
	committee   *ledgerpb.Committee
	verdict     *sealedVerdict
	attestation bool
}

func checkJobAbort(signer string, m *ledgerpb.JobAbort, v *committedView, st stateReader, height int64) (checkedAbort, *TxError) {
	var j ledgerpb.Job
	found, err := loadProto(st, keyJob(m.JobId), &j)
	if err != nil {
		return checkedAbort{}, txErr(CodeInvalid, "read state: %v", err)
	}
	if !found {
		return checkedAbort{}, txErr(CodeInvalid, "unknown job %q", m.JobId)
	}
	if j.Status == JobCompleted {
		return checkedAbort{}, txErr(CodeJobFinished, "job %q is %s", j.Id, j.Status)
	}
	if m.Reason == "" || len(m.Reason) > maxReasonBytes || len(m.Culprit) > jobspec.MaxNameBytes+1+jobspec.MaxSlotLabelBytes {
		return checkedAbort{}, txErr(CodeInvalid, "an abort needs a reason of 1 to %d bytes", maxReasonBytes)
	}
	var c ledgerpb.Committee
	if _, err := loadProto(st, keyCommittee(j.CommitteeId), &c); err != nil {
		return checkedAbort{}, txErr(CodeInvalid, "read state: %v", err)
	}
	out := checkedAbort{job: &j, committee: &c, attestation: j.Status == JobAborted}
	if out.attestation {
		if terr := checkAttestation(signer, &j, &c, height); terr != nil {
			return checkedAbort{}, terr
		}
	} else if signer != j.Requester && !slices.Contains(c.Members, signer) {
		return checkedAbort{}, txErr(CodeUnauthorized, "only the requester or the committee can abort job %q", j.Id)
	}
	if terr := checkAbortFault(&j, &c, m); terr != nil {
		return checkedAbort{}, terr
	}
	if m.SealedOpening != nil && !slices.Contains(c.Members, signer) {
		// Only the committee judges sealed claims; a requester's abort
		// with one would make every validator verify proofs for nothing.
		return checkedAbort{}, txErr(CodeUnauthorized, "only a member of committee %s may abort job %q with a sealed-share proof", c.Id, j.Id)
	}
	if m.SealedOpening != nil {
		var terr *TxError
		if out.verdict, terr = checkSealedOpening(&j, &c, m.SealedOpening, v, st); terr != nil {
			return checkedAbort{}, terr
		}
	}
	return out, nil
}

// applyJobAbort ends a job, or records a committee member's attestation of
// a job already aborted (attest.go). The job's reason and culprit are the
// first abort's; a sealed-share proof's verdict names and charges the party
// it convicts; a culprit named by the committee is charged only by a quorum
// of attestations of an attestable fault.
func applyJobAbort(b *blockState, v *committedView, signer string, ca checkedAbort, m *ledgerpb.JobAbort, height int64) error {
	j := ca.job
	member := slices.Contains(ca.committee.Members, signer)
	// A quorum charges only on a committee composed by a member whose role
	// the policy in force trusts to compose committees: one created before
	// the policy listed creators, or by a role since removed from them, is
	// recorded and charges nobody, as under a policy that does not charge
	// (committees.creators, attest.go).
	chargeQuorum := v.policy != nil && v.policy.Credit.ChargeAttestedFaults && trustedCreator(v.policy, ca.committee.Creator)
	if ca.attestation {
		if err := attest(b, j, ca.committee, signer, m, ca.verdict, false, chargeQuorum, height); err != nil {
			return err
		}
		return putProto(b, keyJob(j.Id), j)
	}
	j.Status, j.AbortReason, j.Culprit = JobAborted, fmt.Sprintf("%s (reported by %s)", m.Reason, signer), m.Culprit
	if ca.verdict != nil {
		j.Culprit = ca.verdict.culprit
		j.AbortReason = fmt.Sprintf("%s (reported by %s; %s)", m.Reason, signer, ca.verdict.why)
	}
	if member {
		if err := attest(b, j, ca.committee, signer, m, ca.verdict, true, chargeQuorum, height); err != nil {
			return err
		}
	}
	return finishJob(b, j, height)
}

// abortJobForInvalidInput ends a job whose provider posted an input proof
// that does not verify, and penalises the member that posted it.
func abortJobForInvalidInput(b *blockState, j *ledgerpb.Job, signer string, m *ledgerpb.JobInput, cause error, height int64) error {
	slot := inputSlot(signer, m)
	j.Status, j.AbortReason, j.Culprit = JobAborted, fmt.Sprintf("provider %s posted an invalid input-validity proof: %v", slot, cause), slot
	if err := finishJob(b, j, height); err != nil {
		return err
	}
	return adjustRating(b, signer, ratingInvalidProof, "invalid input proof: "+j.Id, height)
}

// expireJobs aborts every unfinished job whose deadline is before height.
// Providers that never committed their input are named and penalised: the
// chain itself shows they did not deliver. A tender's quoter whose grade is
// under the order's minimum is named but not penalised: the ledger refuses
// its quote (checkQuoteGrade), so it could not deliver.
func expireJobs(b *blockState, v *committedView, height int64) error {
	var expired [][]byte
	err := b.scan(prefixJobOpen, func(key, _ []byte) error {
		if int64(bytesToHeight(key[len(prefixJobOpen):])) >= height {
			return errStopScan
		}
		expired = append(expired, append([]byte(nil), key...))
		return nil
	})
	if err != nil && err != errStopScan {
		return err
	}
	for _, key := range expired {
		id := string(key[len(prefixJobOpen)+8:])
		var j ledgerpb.Job
		if found, err := loadProto(b, keyJob(id), &j); err != nil || !found {
			return fmt.Errorf("open-job index points to a missing job %q: %v", id, err)
		}
		var missing []string
		for i, c := range j.InputCommitments {
			if len(c) == 0 {
				missing = append(missing, j.Providers[i])
			}
		}
		j.Status = JobAborted
		if len(missing) > 0 {
			j.AbortReason = fmt.Sprintf("deadline passed without input from %v", missing)
			j.Culprit = missing[0]
		} else {
			j.AbortReason = "deadline passed without a result from the committee"
		}
		// One penalty per member, however many of its slots are missing,
		// recorded on the job (cause "deadline") so that a later quorum of
		// attestations does not charge the member again for the job.
		for _, p := range missing {
			member := jobspec.SlotMember(p)
			if slices.ContainsFunc(j.Charges, func(ch *ledgerpb.JobCharge) bool { return ch.Member == member }) {
				continue
			}
			if jobspec.Type(j.Type) == jobspec.Tender {
				refused, err := quoteRefusal(member, &j, v, b)
				if err != nil {
					return err
				}
				if refused != nil {
					continue
				}
			}
			if err := charge(b, &j, &ledgerpb.JobCharge{Member: member, Culprit: p, Cause: causeDeadline, Delta: ratingJobTimeout, Height: height},
				"job input missing: "+id); err != nil {
				return err
			}
		}
		if err := finishJob(b, &j, height); err != nil {
			return err
		}
	}
	return nil
}

// --- typed reads of committed state (the node's scheduler uses them) ---

// Job returns a committed job; ErrNotFound if there is none.
func (a *App) Job(id string) (*ledgerpb.Job, error) {
	var j ledgerpb.Job
	found, err := loadProto(committedReader{a.store}, keyJob(id), &j)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return &j, nil
}

// Committee returns a committed committee; ErrNotFound if there is none.
func (a *App) Committee(id string) (*ledgerpb.Committee, error) {
	var c ledgerpb.Committee
	found, err := loadProto(committedReader{a.store}, keyCommittee(id), &c)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("committee %q: %w", id, ErrNotFound)
	}
	return &c, nil
}

// Committees returns every committed committee, by ID.
func (a *App) Committees() ([]*ledgerpb.Committee, error) {
	var out []*ledgerpb.Committee
	err := a.store.scan([]byte("committee/"), func(_, val []byte) error {
		var c ledgerpb.Committee
		if err := proto.Unmarshal(val, &c); err != nil {
			return fmt.Errorf("corrupt committee: %w", err)
		}
		out = append(out, &c)
		return nil
	})
	return out, err
}

// OpenJobs returns every unfinished committed job, by deadline.
func (a *App) OpenJobs() ([]*ledgerpb.Job, error) {
	var out []*ledgerpb.Job
	err := a.store.scan(prefixJobOpen, func(key, _ []byte) error {
		j, err := a.Job(string(key[len(prefixJobOpen)+8:]))
		if err != nil {
			return fmt.Errorf("open-job index: %w", err)
		}
		out = append(out, j)
		return nil
	})
	return out, err
}
