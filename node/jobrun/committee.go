package jobrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"go.dedis.ch/kyber/v3"

	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// Rounds of the committee session besides the engines' own. The SS engine
// sends piece k of logical round r of lane l on (l<<40 | r)<<16 | k and
// aborts on 2^64−1; the HE output protocol uses 2^32 + 2^8·attempt + step.
// Logical round 2^40−1 of lane 0 is out of the SS engine's reach, and far
// above HE's rounds, so its pieces are free for the runner.
const (
	runnerRounds     transport.Round = (1<<40 - 1) << 16
	roundInputStatus                 = runnerRounds + 1
	roundSign                        = runnerRounds + 2
)

// CommitteeJob is what a member needs for one job besides its keys.
type CommitteeJob struct {
	// InputCommitments[i] is provider i's commitment as posted on the
	// ledger; every input is checked against it (SS: inside the MPC, HE: by
	// hashing the ciphertexts received).
	InputCommitments [][]byte
	// InputTimeout bounds the wait for the providers' inputs and the
	// recipient's key (default 2 min).
	InputTimeout time.Duration
	// StepTimeout bounds each wait for another member in the HE output
	// protocol and in the signing round (default 30 s).
	StepTimeout time.Duration
	// Rand is the member's randomness for the SS engine (nil: crypto/rand).
	Rand io.Reader
	// Sealed[i], if not nil, is this member's sealed share of provider slot
	// i as posted on the ledger (JobInput.sealed_shares; a provider without
	// a node): the member opens it with SealingKey under SealedShareAAD
	// instead of waiting for the slot's input over libp2p. A share that
	// does not open, is malformed, or is off the provider's commitments
	// (SealedCommitments) is the provider's bad input, which the member
	// proves to the others (sealed.go). Nil or shorter: every input comes
	// over libp2p.
	Sealed [][]byte
	// SealedCommitments[i] are the Pedersen commitments to sealed slot i's
	// sharing, as the ledger keeps them (JobInput.share_commitments,
	// App.SealedCommitments): required for every sealed slot.
	SealedCommitments [][]byte
	// SealingKey is this member's sealing private key (node/supervision's
	// KeyPair.Private) and ChainID the chain's ID, for Sealed.
	SealingKey kyber.Scalar
	ChainID    string
	// SealedShares[i], if not nil, are every member's sealed shares of
	// provider slot i, in committee order, as the ledger keeps them
	// (App.SealedInput), and SealingKeys the members' genesis sealing keys
	// in committee order: with them, every member checks another's proven
	// claim that its sealed share is bad (sealed.go). Without them a claim
	// is unchecked. When SealedShares is set, Sealed may be nil: this
	// member's own shares are taken from it.
	SealedShares [][][]byte
	SealingKeys  []kyber.Point
	// SSSecurity is the SS engine's adversary model. The zero value is
	// ss.Malicious (DefaultSSSecurity), the mode of every SS job type unless
	// a benchmark or test asks for ss.SemiHonest.
	SSSecurity ss.Security
}

// DefaultSSSecurity is the mode SS jobs run in: security with abort against
// a malicious minority of the committee (see mpc/ss).
const DefaultSSSecurity = ss.Malicious

// Outcome is a member's result of a job: the result record the node posts.
type Outcome struct {
	JobID            string
	InputCommitments [][]byte
	// OutputCommitment: SS jobs, a Poseidon2 commitment computed inside the
	// MPC (auctions: Commit(winner, price, salt); clearing: the Poseidon2
	// hash of the level commitment and every bidder's allocation
	// commitment, each computed inside the MPC). HE jobs: HEOutputCommitment
	// of the key-switched result.
	OutputCommitment []byte
	// Message is committee.ResultMessage(JobID, InputCommitments,
	// OutputCommitment); Signature is the committee's threshold BLS
	// signature on it by Signers.
	Message   []byte
	Signature []byte
	Signers   []int
	// Public is what the committee learns in the clear besides the
	// commitments: the clearing level and price (nil for HE jobs, whose
	// results no member can read, and for auctions, whose winner and price
	// only the recipient learns).
	Public *PublicOutcome
	// Undelivered lists the parties this member could not send their
	// output to (the recipient may have left with another member's copy).
	Undelivered []string
}

// PublicOutcome is what the SS engines open to the committee (clearing).
type PublicOutcome struct {
	Price uint64 `json:"price"`
	Level *int   `json:"level,omitempty"`
}

// HEOutputCommitment is the output commitment of an HE job: SHA-256 over a
// domain tag, the job ID, the content addresses of the evaluated ciphertexts
// and, for every t-subset that key-switched them, its members and the
// content addresses of its key-switched output ciphertexts. The plaintext
// cannot be committed to by anyone but the recipient (no member sees it), so
// the record binds the exact ciphertexts the recipient decrypted and
// compared: the recipient recomputes it from what it received, and an
// auditor given the ciphertexts (blob store) can too, without learning
// anything (they are encrypted to the recipient's key, with smudging noise).
func HEOutputCommitment(jobID string, res *he.Result) []byte {
	h := sha256.New()
	put := func(v int) { h.Write(binary.BigEndian.AppendUint32(nil, uint32(v))) }
	h.Write([]byte("cohort/jobrun/he-output/v2\x00"))
	put(len(jobID))
	h.Write([]byte(jobID))
	put(len(res.EvalIDs))
	for _, id := range res.EvalIDs {
		h.Write(id[:])
	}
	switches := res.KeySwitches()
	put(len(switches))
	for _, ks := range switches {
		put(len(ks.Subset))
		for _, p := range ks.Subset {
			put(int(p))
		}
		put(len(ks.OutputIDs))
		for _, id := range ks.OutputIDs {
			h.Write(id[:])
		}
	}
	return h.Sum(nil)
}

// RunCommittee runs one job as a committee member: it collects the
// providers' inputs over the session, checks them against
// job.InputCommitments, computes on the MPC engine, has the committee sign
// the result record with the threshold BLS key (t members suffice), and
// delivers the result to the recipient (and, for clearing, each bidder's
// allocation to that bidder). Failures are *FaultError naming the parties at
// fault when someone is to blame.
func RunCommittee(ctx context.Context, sess *Session, keys *CommitteeKeys, job CommitteeJob) (*Outcome, error) {
	spec := sess.spec
	me := spec.MemberIndex(sess.self)
	if me < 0 {
		return nil, fmt.Errorf("jobrun: %s is not on job %s's committee", sess.self, spec.ID)
	}
	if err := CheckKeys(spec, keys, me); err != nil {
		return nil, err
	}
	if len(job.InputCommitments) != len(spec.Providers) {
		return nil, fmt.Errorf("jobrun: %d input commitments for %d providers", len(job.InputCommitments), len(spec.Providers))
	}
	if job.InputTimeout <= 0 {
		job.InputTimeout = 2 * time.Minute
	}
	if job.Sealed == nil && job.SealedShares != nil {
		job.Sealed = make([][]byte, len(job.SealedShares))
		for i, shares := range job.SealedShares {
			if shares == nil {
				continue
			}
			if len(shares) != len(spec.Committee) {
				return nil, fmt.Errorf("jobrun: %d sealed shares of %s for a committee of %d", len(shares), spec.Providers[i], len(spec.Committee))
			}
			job.Sealed[i] = shares[me]
		}
	}
	if err := checkSealedJob(spec, &job); err != nil {
		return nil, err
	}
	if job.StepTimeout <= 0 {
		job.StepTimeout = 30 * time.Second
	}
	if spec.Type.IsHE() {
		return runHE(ctx, sess, keys, job, me)
	}
	return runSS(ctx, sess, keys, job, me)
}

// ErrHESetupUnchecked: the member's HE key record says the committee's HE
// setup did not check every member's key shares (a committee set up with a
// threshold above ⌈n/2⌉, or before the check existed). One malicious member
// could then hold the collective key, or shift CKKS results unseen (mpc/he,
// security model), so no HE job runs on it: the member refuses at once and
// the job ends as an abort with this reason.
var ErrHESetupUnchecked = errors.New("jobrun: the committee's HE setup did not check every member's key shares (its key record says unchecked): no HE job runs on it; set up a committee with threshold ⌈n/2⌉ for HE jobs")

// CheckKeys checks that keys are member me's keys of spec's committee and
// can run the job: the BLS share's index and t-of-n; for an HE job, the HE
// key share's, and a key record that says the setup checked every member's
// key shares (ErrHESetupUnchecked otherwise). RunCommittee runs it first;
// node/sched runs it before the job starts, so that a member that cannot
// run the job aborts it before providers send anything.
func CheckKeys(spec *Spec, keys *CommitteeKeys, me int) error {
	if keys == nil || keys.BLS == nil {
		return errors.New("jobrun: committee keys missing (run SetupCommittee)")
	}
	n := len(spec.Committee)
	if keys.BLS.Index != me || keys.BLS.Key.N != n || keys.BLS.Key.T != spec.Threshold {
		return fmt.Errorf("jobrun: BLS share is member %d of a %d-of-%d key, job needs member %d of %d-of-%d",
			keys.BLS.Index, keys.BLS.Key.T, keys.BLS.Key.N, me, spec.Threshold, n)
	}
	if spec.Type.IsHE() {
		if keys.HE == nil {
			return errors.New("jobrun: HE committee keys missing (run SetupCommittee)")
		}
		if int(keys.HE.Self()) != me || keys.HE.Parties() != n || keys.HE.Threshold() != spec.Threshold {
			return fmt.Errorf("jobrun: HE keys are member %d of %d-of-%d, job needs member %d of %d-of-%d",
				keys.HE.Self(), keys.HE.Threshold(), keys.HE.Parties(), me, spec.Threshold, n)
		}
		// Defence in depth: the ledger refuses HE jobs on committees whose
		// setup cannot be checked (jobspec.CheckHECommittee), but a key
		// record is what this member actually holds.
		if !keys.HE.SharesChecked() {
			return fmt.Errorf("job %s on a %d-of-%d committee: %w", spec.ID, spec.Threshold, n, ErrHESetupUnchecked)
		}
	}
	return nil
}

// collectInputs receives every provider's input message concurrently until
// the input deadline and decodes each with decode; it names the providers
// whose input is missing or malformed. The job takes no sealed inputs.
func collectInputs[T any](ctx context.Context, sess *Session, job CommitteeJob, decode func(i int, chunks [][]byte) (T, error)) ([]T, error) {
	return collectSealedInputs(ctx, sess, job, decode, nil)
}

// collectSealedInputs is collectInputs for a job that takes sealed inputs:
// for a slot sealed on the ledger, it opens this member's share and
// decodes it with decodeSealed.
func collectSealedInputs[T any](ctx context.Context, sess *Session, job CommitteeJob, decode func(i int, chunks [][]byte) (T, error), decodeSealed func(i int, msg []byte) (T, error)) ([]T, error) {
	spec := sess.spec
	timeout := job.InputTimeout
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make([]T, len(spec.Providers))
	kinds := make([]FaultKind, len(spec.Providers))
	errs := make([]error, len(spec.Providers))
	var wg sync.WaitGroup
	for i := range spec.Providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b []byte
			var err error
			if i < len(job.Sealed) && job.Sealed[i] != nil {
				// The rule every member and the ledger check a claim on a
				// sealed share by (judgeSealedClaim): it opens, and to a
				// well-formed share.
				if b, err = openSealedInput(sess, job, i); err == nil {
					if decodeSealed == nil {
						err = fmt.Errorf("%w: %s job inputs cannot be sealed", errMalformed, spec.Type)
					} else {
						out[i], err = decodeSealed(i, b)
					}
				}
				if err != nil {
					kinds[i], errs[i] = FaultBadInput, err
				}
				return
			} else if slices.Contains(spec.Nodeless, spec.ProviderNode(i)) {
				// No session party to wait for (the ledger requires its
				// sealed shares; a caller that lost them cannot run).
				kinds[i], errs[i] = FaultMissingInput, fmt.Errorf("%s runs no node and no sealed share of %s was given", spec.ProviderNode(i), spec.Providers[i])
				return
			} else if b, err = sess.recv(ictx, spec.ProviderNode(i), slotRound(kindInput, i)); err != nil {
				kinds[i], errs[i] = FaultMissingInput, err
				return
			}
			ch, err := decodeChunks(b, kindInput, 1, jobspec.MaxFeatures)
			if err == nil {
				out[i], err = decode(i, ch)
			}
			switch {
			case errors.Is(err, errCommitment):
				kinds[i], errs[i] = FaultCommitmentMismatch, err
			case err != nil:
				kinds[i], errs[i] = FaultBadInput, err
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("jobrun: collect inputs: %w", err)
	}
	return out, inputFault(spec, kinds, errs)
}

// inputFault reports the worst input fault: malformed or mismatching inputs
// before missing ones.
func inputFault(spec *Spec, kinds []FaultKind, errs []error) error {
	for _, k := range []FaultKind{FaultCommitmentMismatch, FaultBadInput, FaultMissingInput} {
		var names []string
		var first error
		for i, kk := range kinds {
			if kk == k {
				names = append(names, spec.Providers[i])
				if first == nil {
					first = errs[i]
				}
			}
		}
		if len(names) > 0 {
			return fault(spec, k, first, names...)
		}
	}
	return nil
}

// ---------------------------------------------------------------- SS jobs

func runSS(ctx context.Context, sess *Session, keys *CommitteeKeys, job CommitteeJob, me int) (*Outcome, error) {
	spec := sess.spec
	commitments := make([]fr.Element, len(spec.Providers))
	for i, b := range job.InputCommitments {
		c, err := parseElement(b)
		if err != nil {
			return nil, fmt.Errorf("jobrun: input commitment of %s: %w", spec.Providers[i], err)
		}
		commitments[i] = c
	}
	fields := sealedinput.Fields(spec)
	shares, inErr := collectSealedInputs(ctx, sess, job, func(i int, ch [][]byte) (jobs.InputShare, error) {
		if len(ch) != 1 {
			return jobs.InputShare{}, fmt.Errorf("%w: %d chunks", errMalformed, len(ch))
		}
		s, err := jobs.DecodeInputShare(ch[0], fields)
		if err == nil && len(s.Fields) != fields {
			err = fmt.Errorf("%w: %d fields, want %d", errMalformed, len(s.Fields), fields)
		}
		return s, err
	}, func(i int, msg []byte) (jobs.InputShare, error) {
		return judgeOwnShare(ctx, sess, &job, fields, i, msg)
	})
	if inErr != nil && !isFault(inErr) {
		return nil, inErr
	}

	conn, err := sess.openMPC(ctx, me)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Every member needs every input: agree on the faulty providers first,
	// so that all members abort naming the same ones.
	if err := agreeInputs(ctx, sess, conn, &job, fields, inErr); err != nil {
		return nil, err
	}

	p, err := ss.NewParty(ctx, conn, ss.Config{Rand: job.Rand, Security: job.SSSecurity})
	if err != nil {
		return nil, memberFault(spec, err)
	}
	inputs := make([]jobs.Input, len(spec.Providers))
	for i := range inputs {
		inputs[i] = jobs.Input{Provider: spec.Providers[i], Commitment: commitments[i], Share: shares[i]}
	}

	out := &Outcome{JobID: spec.ID, InputCommitments: job.InputCommitments}
	var toRecipient [][]byte
	var allocations [][]byte
	switch spec.Type {
	case AuctionFirst, AuctionVickrey:
		kind := jobs.FirstPrice
		if spec.Type == AuctionVickrey {
			kind = jobs.SecondPrice
		}
		res, err := jobs.RunAuction(ctx, p, kind, inputs)
		if err != nil {
			return nil, memberFault(spec, sealedCheckFailure(spec, &job, err))
		}
		// The committee learns nothing but the commitment: the winner and
		// the price go to the recipient as shares.
		out.OutputCommitment = elementBytes(res.Commitment)
		toRecipient = [][]byte{jobs.EncodeOutputShare(res.Output)}
	case Clearing:
		cp := spec.ClearingParams()
		bids := make([]jobs.ClearingBid, len(inputs))
		for i := range bids {
			bids[i] = jobs.ClearingBid{Input: inputs[i], Side: clearingSide(cp, i)}
		}
		res, err := jobs.RunClearing(ctx, p, jobs.ClearingSpec{Prices: cp.Prices}, bids)
		if err != nil {
			return nil, memberFault(spec, sealedCheckFailure(spec, &job, err))
		}
		oc := jobs.CombineCommitments(res.Commitments)
		out.OutputCommitment = elementBytes(oc)
		level := res.Level
		out.Public = &PublicOutcome{Price: res.Price, Level: &level}
		toRecipient = [][]byte{u64Bytes(uint64(int64(res.Level))), u64Bytes(res.Price), elementBytes(res.LevelSalt)}
		for _, c := range res.Commitments {
			toRecipient = append(toRecipient, elementBytes(c))
		}
		allocations = make([][]byte, len(bids))
		for i := range bids {
			allocations[i] = encodeChunks(kindAllocation, elementBytes(res.Commitments[1+i]), jobs.EncodeOutputShare(res.Allocations[i]))
		}
	case Tender:
		quotes := make([]jobs.TenderQuote, len(inputs)/2)
		for k := range quotes {
			quotes[k] = jobs.TenderQuote{Price: inputs[2*k], Capacity: inputs[2*k+1]}
		}
		res, err := jobs.RunTender(ctx, p, tenderSpec(spec.TenderParams()), quotes)
		if err != nil {
			return nil, memberFault(spec, sealedCheckFailure(spec, &job, err))
		}
		// The committee learns only the commitments: the award goes to the
		// demander, each assignment to its quote's price slot.
		out.OutputCommitment = elementBytes(jobs.CombineCommitments(res.Commitments))
		toRecipient = [][]byte{jobs.EncodeOutputShare(res.Award)}
		for _, c := range res.Commitments {
			toRecipient = append(toRecipient, elementBytes(c))
		}
		allocations = make([][]byte, len(inputs))
		for k := range quotes {
			allocations[2*k] = encodeChunks(kindAllocation, elementBytes(res.Commitments[1+k]), jobs.EncodeOutputShare(res.Assignments[k]))
		}
	default:
		return nil, fmt.Errorf("jobrun: %s is not an SS job", spec.Type)
	}
	if err := sign(ctx, conn, keys, job, out); err != nil {
		return nil, memberFault(spec, err)
	}
	msg := encodeChunks(kindOutput, append([][]byte{out.OutputCommitment, out.Signature}, toRecipient...)...)
	deliver(ctx, sess, out, spec.Recipient, kindRound(kindOutput), msg)
	for i, a := range allocations {
		// A provider without a node is no party of the session: a chosen
		// tender partner reads its assignment from the order the demander's
		// award opens on the ledger (checked against this signed output).
		if a != nil && !slices.Contains(spec.Nodeless, spec.ProviderNode(i)) {
			deliver(ctx, sess, out, spec.ProviderNode(i), slotRound(kindAllocation, i), a)
		}
	}
	return out, nil
}

// deliver sends an output to party. Delivery is best effort: the result
// record is valid either way, the recipient needs only t+1 (SS) or one (HE)
// member's message and may already have left; parties not reached are noted
// in the outcome.
func deliver(ctx context.Context, sess *Session, out *Outcome, party string, r transport.Round, msg []byte) {
	if err := sess.send(ctx, party, r, msg); err != nil && !slices.Contains(out.Undelivered, party) {
		out.Undelivered = append(out.Undelivered, party)
	}
}

func isFault(err error) bool {
	var fe *FaultError
	return errors.As(err, &fe)
}

// agreeInputs has every member broadcast which providers' inputs it lacks
// (one byte per provider: 0 ok, else the fault kind's code), followed by a
// proven opening (sealed.go) for each sealed slot it claims, and returns
// the agreed fault, so the whole committee names the same parties: members
// whose claims are proven false first (FaultFalseClaim), else the union of
// the providers claimed, proven or unchecked (inputFault's order). The fault
// carries the first proven provider fault in slot order as its evidence,
// whatever it names (else a liar's verifying proof), so the ledger charges
// a proven provider even when a liar or another kind of fault is named
// too. fields is
// the number of field elements of one input (sealedinput.Fields).
func agreeInputs(ctx context.Context, sess *Session, conn transport.Conn, job *CommitteeJob, fields int, local error) error {
	spec := sess.spec
	codes := []FaultKind{"", FaultMissingInput, FaultBadInput, FaultCommitmentMismatch}
	status := make([]byte, len(spec.Providers))
	var fe *FaultError
	if errors.As(local, &fe) {
		for _, p := range fe.Parties {
			if i := spec.ProviderIndex(p); i >= 0 {
				for c, k := range codes {
					if k == fe.Kind {
						status[i] = byte(c)
					}
				}
			}
		}
	}
	hook := claimHookOf(ctx, sess.self)
	if hook != nil {
		hook.lieStatus(status, 2) // codes[2]: bad-input
	}
	msg := slices.Clone(status)
	for _, i := range claimedSlots(status, len(codes)) {
		if !sealedSlot(job, i) {
			continue
		}
		opening, err := proveSealedClaim(sess, job, i)
		if err != nil {
			return err
		}
		if hook != nil {
			hook.bogusOpening(opening)
		}
		msg = append(msg, opening...)
	}
	if err := transport.Broadcast(ctx, conn, roundInputStatus, msg); err != nil {
		return memberFault(spec, err)
	}
	sctx, cancel := context.WithTimeout(ctx, job.StepTimeout)
	defer cancel()
	all, err := transport.RecvAll(sctx, conn, roundInputStatus)
	if err != nil {
		return memberFault(spec, err)
	}
	all[conn.Self()] = msg
	kinds := make([]FaultKind, len(spec.Providers))
	errs := make([]error, len(spec.Providers))
	// claims[i][k]: the members that reported provider i's input as k.
	claims := make([]map[FaultKind][]string, len(spec.Providers))
	// proven[i]: the first proven claim on sealed slot i (member order).
	proven := make([]*SealedEvidence, len(spec.Providers))
	var liars []string
	var liarEvidence *SealedEvidence
	var liarErr error
	for j, m := range all {
		if len(m) < len(spec.Providers) {
			return fault(spec, FaultMemberDropped, errors.New("malformed input status"), spec.Committee[j])
		}
		st, rest := m[:len(spec.Providers)], m[len(spec.Providers):]
		claimed := claimedSlots(st, len(codes))
		nSealed := 0
		for _, i := range claimed {
			if sealedSlot(job, i) {
				nSealed++
			}
		}
		if len(rest) != nSealed*openingBytes {
			return fault(spec, FaultMemberDropped, fmt.Errorf("malformed input status: %d bytes of proofs for %d sealed claims", len(rest), nSealed), spec.Committee[j])
		}
		for _, i := range claimed {
			c := st[i]
			if sealedSlot(job, i) {
				opening := rest[:openingBytes:openingBytes]
				rest = rest[openingBytes:]
				verdict, why := judgeSealedClaim(spec, job, fields, i, j, opening)
				switch verdict {
				case claimFalse, claimBadProof:
					// The claimant, not the provider: its claim on
					// this slot counts for nothing.
					liars = append(liars, spec.Committee[j])
					if liarErr == nil {
						liarErr = fmt.Errorf("member %s claimed its sealed share of %s bad: %s", spec.Committee[j], spec.Providers[i], why)
					}
					if verdict == claimFalse && liarEvidence == nil {
						liarEvidence = &SealedEvidence{Slot: i, Claimant: spec.Committee[j], Opening: opening, Culprit: spec.Committee[j]}
					}
					continue
				case claimProven:
					// Whatever code it sent: a sealed share is bad input.
					c = 2
					if proven[i] == nil {
						proven[i] = &SealedEvidence{Slot: i, Claimant: spec.Committee[j], Opening: opening, Culprit: spec.Providers[i]}
						kinds[i], errs[i] = codes[c], fmt.Errorf("member %s's sealed share of %s: %s", spec.Committee[j], spec.Providers[i], why)
					}
				}
			}
			if claims[i] == nil {
				claims[i] = map[FaultKind][]string{}
			}
			claims[i][codes[c]] = append(claims[i][codes[c]], spec.Committee[j])
			if proven[i] != nil {
				continue // a proven reason stands
			}
			if kinds[i] == "" || codes[c] != FaultMissingInput {
				kinds[i] = codes[c]
				errs[i] = fmt.Errorf("reported by member %s", spec.Committee[j])
			}
		}
	}
	// Whatever the abort names, it carries verifiable evidence when there
	// is any, so that nobody's lie hides a proven bad provider from the
	// ledger (review M1): the first proven provider fault in slot order,
	// else a liar's verifying proof of a share that opens well formed. The
	// choice is deterministic: every member judges the same messages.
	var provenEv *SealedEvidence
	for _, ev := range proven {
		if ev != nil {
			provenEv = ev
			break
		}
	}
	if len(liars) > 0 {
		fe := fault(spec, FaultFalseClaim, liarErr, liars...)
		fe.Evidence = liarEvidence
		if provenEv != nil {
			fe.Evidence = provenEv
		}
		return fe
	}
	agreed := inputFault(spec, kinds, errs)
	var afe *FaultError
	if errors.As(agreed, &afe) {
		afe.Evidence = provenEv
		for _, p := range afe.Parties {
			i := spec.ProviderIndex(p)
			if i < 0 {
				continue
			}
			if claims[i] != nil {
				afe.Claimants = append(afe.Claimants, claims[i][afe.Kind]...)
			}
		}
		slices.Sort(afe.Claimants)
		afe.Claimants = slices.Compact(afe.Claimants)
	}
	return agreed
}

// sign runs the committee's signing round on the result record.
func sign(ctx context.Context, conn transport.Conn, keys *CommitteeKeys, job CommitteeJob, out *Outcome) error {
	msg, err := committee.ResultMessage(out.JobID, out.InputCommitments, out.OutputCommitment)
	if err != nil {
		return fmt.Errorf("jobrun: result message: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, job.StepTimeout)
	defer cancel()
	res, err := committee.SignRound(sctx, conn, roundSign, keys.BLS, msg)
	if err != nil {
		return fmt.Errorf("jobrun: sign result: %w", err)
	}
	out.Message, out.Signature, out.Signers = msg, res.Signature, res.Signers
	return nil
}

// ---------------------------------------------------------------- HE jobs

func runHE(ctx context.Context, sess *Session, keys *CommitteeKeys, job CommitteeJob, me int) (*Outcome, error) {
	spec := sess.spec
	preset := keys.HE.Preset()
	if err := CheckPreset(spec, preset); err != nil {
		return nil, err
	}
	for i, c := range job.InputCommitments {
		if len(c) != sha256.Size {
			return nil, fmt.Errorf("jobrun: input commitment of %s has %d bytes, want %d", spec.Providers[i], len(c), sha256.Size)
		}
	}
	scheme, scale := he.CKKS, preset.CKKS.DefaultScale()
	if spec.Type == Aggregate {
		scheme, scale = he.BGV, preset.BGV.DefaultScale()
	}
	want := func(i int) int {
		if spec.Type == CreditScore {
			return len(spec.Credit().ProviderFeatures[i])
		}
		return 2
	}
	var keyBytes []byte
	var keyErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the recipient's key arrives while inputs do
		defer wg.Done()
		kctx, cancel := context.WithTimeout(ctx, job.InputTimeout)
		defer cancel()
		keyBytes, keyErr = sess.recv(kctx, spec.Recipient, kindRound(kindRecipientKey))
	}()
	cts, inErr := collectInputs(ctx, sess, job, func(i int, ch [][]byte) ([][]byte, error) {
		if len(ch) != want(i) {
			return nil, fmt.Errorf("%w: %d ciphertexts, want %d", errMalformed, len(ch), want(i))
		}
		ids := make([]he.CiphertextID, len(ch))
		for k, b := range ch {
			ct, id, err := preset.UnmarshalCiphertext(scheme, b)
			if err != nil {
				return nil, err
			}
			if ct.Level() != preset.RLWE().MaxLevel() || ct.Scale.Cmp(scale) != 0 {
				return nil, fmt.Errorf("%w: ciphertext %d is not a fresh encryption", he.ErrBadCiphertext, k)
			}
			ids[k] = id
		}
		if !bytes.Equal(HEInputCommitment(spec.ID, i, ids), job.InputCommitments[i]) {
			return nil, errCommitment
		}
		return ch, nil
	})
	wg.Wait()
	if inErr != nil {
		return nil, inErr
	}
	if keyErr != nil {
		return nil, fault(spec, FaultRecipient, fmt.Errorf("recipient key: %w", keyErr), spec.Recipient)
	}
	ch, err := decodeChunks(keyBytes, kindRecipientKey, 1, 1)
	if err != nil {
		return nil, fault(spec, FaultRecipient, err, spec.Recipient)
	}
	rpk, err := preset.UnmarshalPublicKey(ch[0])
	if err != nil {
		return nil, fault(spec, FaultRecipient, err, spec.Recipient)
	}

	conn, err := sess.openMPC(ctx, me)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	out, err := keySwitchHE(ctx, sess, keys.HE, conn, cts, rpk, job, me)
	if err != nil {
		return nil, err
	}
	if err := sign(ctx, conn, keys, job, out); err != nil {
		return nil, memberFault(spec, err)
	}
	msg := encodeChunks(kindOutput, out.OutputCommitment, out.Signature)
	deliver(ctx, sess, out, spec.Recipient, kindRound(kindOutput), msg)
	return out, nil
}

// keySwitchHE evaluates the job, key-switches its result to the recipient
// and has the recipient check it, epoch after epoch while the recipient
// asks for re-forms (see hecheck.go); it returns the outcome to sign once
// the recipient accepted.
func keySwitchHE(ctx context.Context, sess *Session, m *he.Member, conn transport.Conn, cts [][][]byte, rpk *rlwe.PublicKey, job CommitteeJob, me int) (*Outcome, error) {
	spec := sess.spec
	n := len(spec.Committee)
	var exclude []transport.PartyID
	// One state for every epoch: peers suspected in one stay out of the
	// next, a subset's key-switching shares are made once per job, and the
	// attempts that release shares are bounded per job (mpc/he JobState).
	state := &he.JobState{}
	for epoch := 0; ; epoch++ {
		res, runErr := evaluateHE(ctx, spec, m, conn, cts, rpk, he.RunConfig{StepTimeout: job.StepTimeout, Epoch: epoch, Exclude: exclude, State: state})
		var out *Outcome
		switch {
		case runErr == nil:
			out = &Outcome{JobID: spec.ID, InputCommitments: job.InputCommitments, OutputCommitment: HEOutputCommitment(spec.ID, res)}
			// The recipient refuses candidates beyond its bounds as
			// malformed, naming the sender; an honest member must never
			// send one. The default key-switching family has at most k ≤ n
			// subsets and the job circuits return at most 3 outputs, so
			// this only guards a future change.
			if k := len(res.KeySwitches()); k > n || len(res.Outputs) > maxHEOutputs {
				return nil, fmt.Errorf("jobrun: result of %d key switches of %d outputs exceeds the recipient's bounds (%d, %d)", k, len(res.Outputs), n, maxHEOutputs)
			}
			// The recipient checks the key switches before anyone signs
			// them. A result this member adopted from a peer's
			// announcement (it key-switched nothing itself) is not
			// endorsed: only members that aggregated the shares send
			// candidates.
			if !res.Adopted {
				if err := sess.send(ctx, spec.Recipient, epochRound(kindHECandidate, epoch), encodeHECandidate(out.OutputCommitment, res)); err != nil {
					return nil, fault(spec, FaultRecipient, fmt.Errorf("send the key-switched result: %w", err), spec.Recipient)
				}
			}
		case (errors.Is(runErr, he.ErrFinishedWithout) || errors.Is(runErr, he.ErrNotEnoughMembers)) && ctx.Err() == nil:
			// The others finished an attempt this member could not (a
			// member dropped after reaching only some of us), or too few
			// are left in our view: say we are here, so that a re-form
			// counts us, and hear the verdict before giving up.
			if err := sess.send(ctx, spec.Recipient, epochRound(kindHECandidate, epoch), encodeStandby()); err != nil {
				return nil, memberFault(spec, runErr)
			}
		default:
			return nil, memberFault(spec, runErr)
		}
		vctx, cancel := context.WithTimeout(ctx, job.InputTimeout)
		b, err := sess.recv(vctx, spec.Recipient, epochRound(kindHEVerdict, epoch))
		cancel()
		if err != nil {
			if runErr != nil {
				return nil, memberFault(spec, runErr)
			}
			return nil, fault(spec, FaultRecipient, fmt.Errorf("no verdict on the key-switched result: %w", err), spec.Recipient)
		}
		var oc []byte
		if out != nil {
			oc = out.OutputCommitment
		}
		v, err := decodeVerdict(b, oc, n)
		switch {
		case err != nil && runErr != nil:
			return nil, memberFault(spec, runErr)
		case err != nil && res.Adopted:
			// The announcement we adopted is not what the recipient
			// checked: the announcing member or the recipient deviated;
			// we cannot tell.
			return nil, fault(spec, FaultBadOutput, fmt.Errorf("the adopted result is not the one the recipient judged: %w", err))
		case err != nil:
			return nil, fault(spec, FaultRecipient, fmt.Errorf("verdict: %w", err), spec.Recipient)
		case v.status == verdictReform:
			if err := checkReform(spec, me, epoch, exclude, v.exclude); err != nil {
				return nil, err
			}
			exclude = v.exclude
			continue
		case runErr != nil:
			// No result of ours was judged (a rejection of the others'
			// result, or an acceptance without us: we were in no subset of
			// the family): we have nothing to sign, and our own error says
			// whom we missed.
			return nil, memberFault(spec, runErr)
		case v.status == verdictReject:
			// The members cannot decrypt, so they cannot check the
			// recipient's claim: they abort without naming anyone as a
			// fault party (the recipient's own error names a member when
			// its decryptions identify one). The reason text says who
			// rejected it: a malicious recipient holds the result already
			// and can veto it at no cost (see mpc/he's doc, "Recipient
			// veto").
			return nil, fault(spec, FaultBadOutput, fmt.Errorf("rejected by recipient %s; unverifiable: %s", spec.Recipient, v.reason))
		}
		return out, nil
	}
}

// checkReform checks the recipient's request for re-form epoch+1 without
// the members next. The members cannot check that those members fell
// silent, but they bound what a recipient gains by asking (every re-form
// gives it one more family of key switches of the same ciphertexts): each
// re-form must leave out at least one more member and keep more than t,
// so there are at most maxReforms(n, t) of them. A re-form without this
// member ends its part of the job with ErrExcluded (nothing to post).
func checkReform(spec *Spec, me, epoch int, prev, next []transport.PartyID) error {
	n, t := len(spec.Committee), spec.Threshold
	if slices.Contains(next, transport.PartyID(me)) {
		// Not a fault of ours to post: the others re-form without us.
		return fmt.Errorf("%w (epoch %d; it did not hear from this member in time)", ErrExcluded, epoch+1)
	}
	for _, p := range prev {
		if !slices.Contains(next, p) {
			return fault(spec, FaultRecipient, fmt.Errorf("re-form takes back member %d", p), spec.Recipient)
		}
	}
	if len(next) <= len(prev) || n-len(next) <= t || epoch+1 > maxReforms(n, t) {
		return fault(spec, FaultRecipient, fmt.Errorf("re-form %d without %d of %d members (threshold %d) exceeds the bound", epoch+1, len(next), n, t), spec.Recipient)
	}
	return nil
}

// CheckPreset checks an HE job's parameters against the committee's preset
// (the spec alone cannot know it): the credit model's depth, the histogram's
// bins, the number of subjects.
func CheckPreset(spec *Spec, preset *he.Preset) error {
	if err := spec.EnsureValid(); err != nil {
		return err
	}
	var err error
	switch spec.Type {
	case CreditScore:
		p := spec.Credit()
		var model jobs.CreditModel
		if model, err = CreditModel(p); err != nil {
			break
		}
		if err = model.Validate(preset); err == nil && p.Subjects > preset.CKKS.MaxSlots() {
			err = fmt.Errorf("%d subjects exceed the preset's %d slots", p.Subjects, preset.CKKS.MaxSlots())
		}
	case Aggregate:
		err = aggregateSpec(spec.AggregateParams()).Validate(preset)
	}
	if err != nil {
		return fmt.Errorf("jobrun: job %s on preset %s: %w", spec.ID, preset.Name, err)
	}
	return nil
}

var errCommitment = errors.New("ciphertexts do not match the input commitment")

func evaluateHE(ctx context.Context, spec *Spec, m *he.Member, conn transport.Conn, cts [][][]byte, rpk *rlwe.PublicKey, cfg he.RunConfig) (*he.Result, error) {
	switch spec.Type {
	case CreditScore:
		p := spec.Credit()
		features := make([][]byte, len(p.Weights))
		for i, fs := range p.ProviderFeatures {
			for k, j := range fs {
				features[j] = cts[i][k]
			}
		}
		model, err := CreditModel(p)
		if err != nil {
			return nil, err
		}
		return jobs.RunCredit(ctx, m, conn, jobs.CreditJob{Model: model, Features: features}, rpk, cfg)
	case Aggregate:
		inputs := make([]jobs.AggregateInput, len(cts))
		for i, c := range cts {
			inputs[i] = jobs.AggregateInput{Values: c[0], Histogram: c[1]}
		}
		return jobs.RunAggregate(ctx, m, conn, aggregateSpec(spec.AggregateParams()), inputs, rpk, cfg)
	}
	return nil, fmt.Errorf("jobrun: %s is not an HE job", spec.Type)
}
