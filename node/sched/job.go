package sched

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"go.dedis.ch/kyber/v3"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/blob"
	"github.com/cohortnet/cohort/node/jobrun"
)

// maxReasonBytes keeps an abort reason under the ledger's bound.
const maxReasonBytes = 500

// runJob plays every role this node has in one attempt of a job: commit its
// inputs, wait (block by block) until every input is on the ledger, then run
// its roles with jobrun.PlayRoles and post the committee's result or abort.
func (s *Scheduler) runJob(ctx context.Context, jobID string) error {
	spec, j, com, err := s.spec(jobID)
	if err != nil {
		if j == nil || com == nil {
			return err
		}
		// The ledger validated the job with the same rules; a job it holds
		// that does not validate here predates them. Say so on the ledger.
		return s.cannotRun(ctx, j, com, fmt.Errorf("job spec: %w", err))
	}
	member := slices.Index(com.Members, s.cfg.Name)
	log := s.log.With("job", jobID)

	// A member checks first that it can run the job at all (its keys, its
	// preset): if not, the job ends now, before providers commit, and nobody
	// is penalised at its deadline.
	var keys *jobrun.CommitteeKeys
	if member >= 0 {
		if keys, err = s.preflight(ctx, spec, com, member); err != nil {
			return s.cannotRun(ctx, j, com, err)
		}
	}

	// An input this node cannot supply (no input file, a bid out of range)
	// is its own failure as a provider, not the job's: it does not abort;
	// the ledger names the missing slot at the deadline and the provider
	// pays, as for any provider that does not deliver.
	prepared, err := s.commitInputs(ctx, spec, j, com)
	if err != nil {
		return err
	}
	// Every role talks in the job's session once every input is committed.
	if j, err = s.waitRunning(ctx, jobID); err != nil || j == nil {
		return err
	}
	jctx, cancel := context.WithTimeout(ctx, s.cfg.JobTimeout)
	defer cancel()
	// A member that cannot join is one the others name when they blame
	// (HE jobs finish without it); it does not abort the job for everyone.
	sess, err := jobrun.Join(jctx, s.cfg.Network, spec, 0, s.cfg.Name)
	if err != nil {
		return err
	}
	defer sess.Close()

	roles := jobrun.Roles{Inputs: prepared}
	saveErrs := make([]error, len(prepared))
	roles.OnProvided = func(k int, pr *jobrun.ProviderResult, err error) {
		if err != nil || pr == nil {
			return
		}
		// A clearing bidder's allocation, a tender quote's assignment (on
		// its price slot: "allocation-price").
		switch {
		case pr.Allocation != nil:
			saveErrs[k] = s.cfg.SaveResult(jobID, AllocationKind(prepared[k].Provider), pr.Allocation)
		case pr.Tender != nil:
			saveErrs[k] = s.cfg.SaveResult(jobID, AllocationKind(prepared[k].Provider), pr.Tender)
		}
	}
	var posted error
	if member >= 0 {
		// Inputs sealed on the ledger by providers without a node: the
		// job is running, so every one of them is in our committed state.
		sealed, err := s.cfg.Ledger.SealedInputs(j, member)
		if err != nil {
			return fmt.Errorf("job %s: sealed inputs: %w", jobID, err)
		}
		// Every member's sealed shares and sealing key: what a member's
		// proven claim on its share is checked against (jobrun sealed.go).
		all, sealingKeys, err := s.sealedClaimData(j, com)
		if err != nil {
			return fmt.Errorf("job %s: sealed inputs: %w", jobID, err)
		}
		shareCommitments, err := s.cfg.Ledger.SealedCommitments(j)
		if err != nil {
			return fmt.Errorf("job %s: sealed inputs: %w", jobID, err)
		}
		roles.Member = &jobrun.MemberRole{Keys: keys, Job: jobrun.CommitteeJob{InputCommitments: j.InputCommitments,
			Sealed: sealed, SealingKey: s.cfg.SealingKey, ChainID: s.cfg.Ledger.ChainID(),
			SealedShares: all, SealingKeys: sealingKeys, SealedCommitments: shareCommitments}}
		roles.OnOutcome = func(out *jobrun.Outcome, err error) { posted = s.postOutcome(ctx, j, member, out, err) }
	}
	if j.Recipient == s.cfg.Name {
		key, err := committee.ParseCommitteeKey(com.CommitteeKey)
		if err != nil {
			return fmt.Errorf("committee %s key: %w", com.Id, err)
		}
		roles.Recipient = &jobrun.RecipientJob{Preset: s.cfg.Preset, CommitteeKey: key, InputCommitments: j.InputCommitments}
	}
	if member >= 0 {
		// A no-op but in adversarial test builds (mpc/adversary).
		jctx = s.cfg.Adversary.Context(jctx)
	}
	res := jobrun.PlayRoles(jctx, sess, roles)

	memberErr := res.MemberErr
	if errors.Is(memberErr, jobrun.ErrExcluded) {
		memberErr = nil // no outcome of ours (postOutcome logged it)
	}
	errs := []error{memberErr, posted, res.RecipientErr}
	for k := range prepared {
		errs = append(errs, res.ProviderErrs[k], saveErrs[k])
	}
	if roles.Recipient != nil && res.RecipientErr == nil {
		errs = append(errs, s.cfg.SaveResult(jobID, "result", res.Result))
		log.Info("result received")
	}
	return errors.Join(errs...)
}

// preflight loads a member's committee keys (the HE key share for HE jobs
// only), checks them (jobrun.CheckKeys: an HE job needs a checked HE setup)
// and the job against its HE preset: what would make every attempt fail.
func (s *Scheduler) preflight(ctx context.Context, spec *jobrun.Spec, com *ledgerpb.Committee, member int) (*jobrun.CommitteeKeys, error) {
	load := func() (*jobrun.CommitteeKeys, error) {
		return jobrun.LoadCommittee(ctx, s.cfg.Store, s.cfg.Preset, com.Id, member)
	}
	if !spec.Type.IsHE() {
		load = func() (*jobrun.CommitteeKeys, error) { return jobrun.LoadCommitteeSS(ctx, s.cfg.Store, com.Id, member) }
	}
	keys, err := load()
	if err != nil {
		return nil, fmt.Errorf("committee %s keys: %w", com.Id, err)
	}
	// Keys of this committee and job; an HE job also needs a key record
	// that says the setup checked every member's key shares.
	if err := jobrun.CheckKeys(spec, keys, member); err != nil {
		return nil, fmt.Errorf("committee %s keys: %w", com.Id, err)
	}
	if err := jobrun.CheckPreset(spec, s.cfg.Preset); err != nil {
		return nil, err
	}
	if s.cfg.Adversary != nil && keys.HE != nil { // adversarial test builds only (mpc/adversary)
		keys = &jobrun.CommitteeKeys{HE: s.cfg.Adversary.HE(keys.HE), BLS: keys.BLS}
	}
	return keys, nil
}

// cannotRun posts the abort of a job this node cannot run, with the reason,
// if it sits on the job's committee (only members and the requester may
// abort); otherwise it returns the cause.
func (s *Scheduler) cannotRun(ctx context.Context, j *ledgerpb.Job, com *ledgerpb.Committee, cause error) error {
	if !slices.Contains(com.Members, s.cfg.Name) {
		return cause
	}
	reason := fmt.Sprintf("committee member %s cannot run the job: %v", s.cfg.Name, cause)
	s.log.Warn("cannot run job; aborting it on the ledger", "job", j.Id, "reason", reason)
	return errors.Join(cause, s.postAbort(ctx, j.Id, reason, "", "", nil))
}

// postOutcome posts a member's result record, or the abort naming the party
// at fault; nothing for a member a re-form left out (jobrun.ErrExcluded). The first member in committee order that signed posts the
// record; the others post too only if it has not landed within
// resultGraceBlocks blocks.
func (s *Scheduler) postOutcome(ctx context.Context, j *ledgerpb.Job, member int, out *jobrun.Outcome, err error) error {
	if errors.Is(err, jobrun.ErrExcluded) {
		// The recipient re-formed the job without this member: the others
		// finish it. An abort (naming ourselves) would end the job they
		// re-form; so would a recipient's lie or one late message.
		s.log.Info("left out of the job's re-formed key-switching family; posting nothing", "job", j.Id, "err", err)
		return nil
	}
	if err != nil {
		reason, culprit, kind := err.Error(), "", jobrun.FaultKind("")
		var opening *ledgerpb.SealedOpening
		var fe *jobrun.FaultError
		if errors.As(err, &fe) {
			reason = fe.Reason()
			kind, culprit = fe.Attested()
			if ev := fe.Evidence; ev != nil {
				opening = &ledgerpb.SealedOpening{Slot: uint32(ev.Slot), Claimant: ev.Claimant, Point: ev.Point(), Proof: ev.Proof()}
			}
		}
		s.log.Warn("job failed; aborting on the ledger", "job", j.Id, "reason", reason)
		return errors.Join(err, s.postAbort(ctx, j.Id, reason, culprit, string(kind), opening))
	}
	if len(out.Signers) > 0 && member != out.Signers[0] {
		ended, err := s.waitEnded(ctx, j.Id, resultGraceBlocks)
		if err != nil || ended {
			return err
		}
	}
	err = s.cfg.Ledger.Submit(ctx, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_JobResult{JobResult: &ledgerpb.JobResult{
			JobId: j.Id, OutputCommitment: out.OutputCommitment, Signature: out.Signature,
		}}
	})
	if finished(err) {
		return nil
	}
	return err
}

// sealedClaimData returns, for each provider slot of j sealed on the
// ledger, every committee member's sealed share (nil for a slot not
// sealed), and the members' genesis sealing keys in committee order.
func (s *Scheduler) sealedClaimData(j *ledgerpb.Job, com *ledgerpb.Committee) ([][][]byte, []kyber.Point, error) {
	all := make([][][]byte, len(j.Providers))
	keys := make([]kyber.Point, len(com.Members))
	for m, name := range com.Members {
		shares, err := s.cfg.Ledger.SealedInputs(j, m)
		if err != nil {
			return nil, nil, err
		}
		for i, sh := range shares {
			if sh == nil {
				continue
			}
			if all[i] == nil {
				all[i] = make([][]byte, len(com.Members))
			}
			all[i][m] = sh
		}
		if rec, ok := s.cfg.Ledger.Member(name); ok {
			// A key that does not parse stays nil: that member's claims
			// are then unchecked, alike for every member.
			keys[m], _ = sealbox.ParsePublicKey(rec.SealingKey)
		}
	}
	return all, keys, nil
}

// postAbort posts job.abort. fault is the fault this member attests
// (jobrun FaultError.Attested) naming culprit; opening, if not nil, is the
// committee's proven claim on a sealed share, which the ledger checks and
// charges. Every member posts its own: the first to land ends the job, the
// others are the ledger's attestations of it (ledger/attest.go), which a
// quorum of members turns into a charge of the culprit when the chain's
// policy enables it. A refusal as
// finished (the job completed, the attestation window closed, or this
// member's abort landed already, e.g. before a restart) is no error. If the
// ledger refuses the abort as invalid, it tries again, in this order: with
// the opening and no fault (the refusal may be the fault's — a culprit the
// ledger does not take for it — and the proof still convicts), with the
// fault and no opening (a proof it judges otherwise than the committee,
// e.g. against state this node read differently), and with neither: the
// job ends now, or the attestation is recorded, rather than nothing.
func (s *Scheduler) postAbort(ctx context.Context, jobID, reason, culprit, fault string, opening *ledgerpb.SealedOpening) error {
	submit := func(fault string, o *ledgerpb.SealedOpening) error {
		return s.cfg.Ledger.Submit(ctx, func(p *ledgerpb.TxPayload) {
			p.Msg = &ledgerpb.TxPayload_JobAbort{JobAbort: &ledgerpb.JobAbort{JobId: jobID, Reason: clip(reason, maxReasonBytes),
				Culprit: culprit, Fault: fault, SealedOpening: o}}
		})
	}
	invalid := func(err error) bool {
		var te *ledger.TxError
		return errors.As(err, &te) && te.Code == ledger.CodeInvalid
	}
	err := submit(fault, opening)
	if opening != nil && fault != "" && invalid(err) {
		// The refusal may be the fault's (its culprit of the wrong sort),
		// not the proof's: keep the proof, which the ledger weighs itself.
		s.log.Warn("the ledger refused the abort; trying again with its sealed-share proof and no fault", "job", jobID, "fault", fault, "err", err)
		err = submit("", opening)
	}
	if opening != nil && invalid(err) {
		s.log.Warn("the ledger refused the abort's sealed-share proof; aborting without it", "job", jobID, "err", err)
		err = submit(fault, nil)
	}
	if fault != "" && invalid(err) {
		s.log.Warn("the ledger refused the abort's fault; aborting without it", "job", jobID, "fault", fault, "err", err)
		err = submit("", nil)
	}
	if finished(err) {
		return nil
	}
	return err
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// commitInputs prepares and commits this node's input slots (its own and
// its clients' "node/label"), concurrently: each commitment waits for a
// block. Slots committed before a restart are reloaded from the store.
func (s *Scheduler) commitInputs(ctx context.Context, spec *jobrun.Spec, j *ledgerpb.Job, com *ledgerpb.Committee) ([]*jobrun.PreparedInput, error) {
	slots := spec.SlotsOf(s.cfg.Name)
	prepared := make([]*jobrun.PreparedInput, len(slots))
	errs := make([]error, len(slots))
	var wg sync.WaitGroup
	for k, i := range slots {
		slot := spec.Providers[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if len(j.InputCommitments[i]) == 0 {
				prepared[k], errs[k] = s.commitInput(ctx, spec, j, com, slot)
				if errs[k] != nil {
					s.log.Warn("cannot provide input; the job will end without it", "job", j.Id, "slot", slot, "err", errs[k])
				}
				return
			}
			in, err := s.loadPrepared(ctx, spec, slot)
			if err != nil {
				s.log.Warn("input committed before a restart cannot be resent", "job", j.Id, "slot", slot, "err", err)
				return
			}
			prepared[k] = in
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(prepared, func(in *jobrun.PreparedInput) bool { return in == nil }), nil
}

// commitInput reads the input file of one of this node's provider slots,
// prepares it and posts its commitment (with an input-validity proof when
// the job bounds the slot's input).
func (s *Scheduler) commitInput(ctx context.Context, spec *jobrun.Spec, j *ledgerpb.Job, com *ledgerpb.Committee, slot string) (*jobrun.PreparedInput, error) {
	raw, err := s.cfg.ReadInput(j.Id, slot)
	if err != nil {
		return nil, fmt.Errorf("input %s of job %s: %w", slot, j.Id, err)
	}
	keys := jobrun.ProviderKeys{Preset: s.cfg.Preset}
	if spec.Type.IsHE() {
		if keys.CommitteeHEKey, err = s.committeeHEKey(ctx, com); err != nil {
			return nil, err
		}
	}
	in, err := jobrun.PrepareInput(spec, slot, raw, keys)
	if err != nil {
		return nil, err
	}
	// Kept (privately, like key shares) so that a restart between committing
	// and sending does not lose the input.
	enc, err := in.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.Put(ctx, preparedKey(j.Id, slot), enc); err != nil {
		return nil, err
	}
	msg := &ledgerpb.JobInput{JobId: j.Id, Commitment: in.Commitment}
	if slot != s.cfg.Name {
		msg.Provider = slot
	}
	if _, hi, bounded := spec.SlotRange(spec.ProviderIndex(slot)); bounded {
		if s.cfg.ProveBid == nil {
			return nil, errors.New("the job bounds its inputs but this node cannot prove them")
		}
		if msg.VkId, msg.Proof, err = s.cfg.ProveBid(ctx, in, hi); err != nil {
			return nil, err
		}
	}
	err = s.cfg.Ledger.Submit(ctx, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_JobInput{JobInput: msg}
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("input committed", "job", j.Id, "slot", slot)
	return in, nil
}

// committeeHEKey fetches the committee's HE public key from a member.
func (s *Scheduler) committeeHEKey(ctx context.Context, com *ledgerpb.Committee) ([]byte, error) {
	h, err := blob.ParseHash(com.HeKeyHash)
	if err != nil {
		return nil, fmt.Errorf("committee %s has no HE key", com.Id)
	}
	if data, err := s.cfg.Blobs.Get(h); err == nil {
		return data, nil
	}
	var last error
	for _, m := range com.Members {
		if m == s.cfg.Name {
			continue
		}
		data, err := s.cfg.Blobs.Fetch(ctx, m, h)
		if err == nil {
			return data, nil
		}
		last = err
	}
	return nil, fmt.Errorf("committee %s HE key: %w", com.Id, last)
}

// waitEnded waits up to n blocks (and at most resultGraceTimeout, should
// blocks stall) for a job to leave the running state; it reports whether it
// did.
func (s *Scheduler) waitEnded(ctx context.Context, jobID string, n int) (bool, error) {
	timeout := time.NewTimer(resultGraceTimeout)
	defer timeout.Stop()
	for k := 0; ; k++ {
		next := s.nextBlock()
		j, err := s.cfg.Ledger.Job(jobID)
		if err != nil {
			return false, err
		}
		if j.Status != ledger.JobRunning {
			return true, nil
		}
		if k == n {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-timeout.C:
			return false, nil
		case <-next:
		}
	}
}

// waitRunning waits, block by block, until every input is committed; nil,
// nil if the job ended first.
func (s *Scheduler) waitRunning(ctx context.Context, jobID string) (*ledgerpb.Job, error) {
	for {
		next := s.nextBlock() // before the read: a block between the two wakes us
		j, err := s.cfg.Ledger.Job(jobID)
		if err != nil {
			return nil, err
		}
		switch j.Status {
		case ledger.JobRunning:
			return j, nil
		case ledger.JobCompleted, ledger.JobAborted:
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-next:
		}
	}
}

func (s *Scheduler) loadPrepared(ctx context.Context, spec *jobrun.Spec, slot string) (*jobrun.PreparedInput, error) {
	raw, err := s.cfg.Store.Get(ctx, preparedKey(spec.ID, slot))
	if err != nil {
		return nil, err
	}
	return jobrun.ParsePreparedInput(spec, raw)
}

func preparedKey(jobID, slot string) string {
	sum := sha256.Sum256([]byte(jobID + "\x00" + slot))
	return "prepared-" + hex.EncodeToString(sum[:16])
}

// InputFileName is the file, in a node's inputs directory, that holds its
// input for one provider slot of a job: <job>.json for the node's own slot,
// <job>.<label>.json for a slot "node/label" it supplies for a client.
func InputFileName(jobID, slot string) string {
	if label := jobspec.SlotLabel(slot); label != "" {
		return jobID + "." + label + ".json"
	}
	return jobID + ".json"
}

// AllocationKind names the saved allocation of a provider slot: what
// `cohort job result --allocation [--slot LABEL]` reads.
func AllocationKind(slot string) string {
	if label := jobspec.SlotLabel(slot); label != "" {
		return "allocation-" + label
	}
	return "allocation"
}
