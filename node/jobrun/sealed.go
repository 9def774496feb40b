package jobrun

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"go.dedis.ch/kyber/v3"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/mpc/jobs"
)

// Sealed inputs. A provider without a node (a member registered with no
// peer ID) cannot send its shares over libp2p: it posts them on the ledger
// with its commitment, each committee member's share message sealed to that
// member's sealing key (internal/sealbox), bound by the AAD to the chain, the
// job, the input slot and the member. The ledger bounds and keeps them; a
// committee member opens its own (CommitteeJob.Sealed) when the job runs.
// Fewer than t+1 members learn nothing from their shares, as for shares
// sent over libp2p; nobody else can open any — while the members' sealing
// keys stay secret: the ciphertexts stay in the chain's history and the
// keys are long-term, so t+1 leaked key files open every share ever sealed
// to the committee (no forward secrecy; ledger/sealed.go).
//
// Commitments. With its sealed shares the provider posts Pedersen
// commitments to every sharing polynomial (internal/sealedinput: C_k =
// a_k·G + b_k·H over BN254 G1; SealShares makes them, the ledger checks
// they are well formed and keeps them, CommitteeJob.SealedCommitments);
// each member's message carries its share and its blinding share, and the
// member checks both against the commitments when it opens its share
// (judgeOwnShare, sealedinput.Judge). The blinding shares go no further:
// the engine gets the share only, and nothing is logged. A share off the
// commitments is the provider's fault, proven as below. So every share a
// member takes from a sealed slot is on the provider's committed polynomial
// of degree t: the engine's consistency check of dealt inputs can then
// fail on a sealed slot only because a member deviated — fed it another
// share than it was dealt, or kept quiet about a share off the commitments
// (the abort names nobody: which member is not identified;
// sealedCheckFailure).
//
// Proven claims. A member whose sealed share does not open, or opens to
// something that is not a share of the job on the provider's commitments
// (sealedinput.Judge), cannot show the share itself to anyone who lacks
// its key — but it can show what its key makes of it: it attaches to its
// input status, for each sealed slot it claims, S = x·R and a
// Chaum–Pedersen proof that S and its sealing key share x
// (sealbox.ProveOpening). Every member checks every such
// claim against the ciphertext on the ledger (CommitteeJob.SealedShares) and
// the claimant's genesis sealing key (CommitteeJob.SealingKeys):
//   - the proof verifies and the share does not open, opens malformed, or
//     opens off the provider's commitments: the provider is named, proven
//     (FaultError.Evidence: what job.abort carries, for the ledger to
//     check the same way and charge the provider);
//   - the proof does not verify, or the share opens to a well-formed share
//     on the commitments: the claimant lied, and the committee names it
//     (FaultFalseClaim) instead of the provider. A verifying proof of a
//     share that opens well formed is evidence the ledger checks too: only
//     the claimant's key makes it, and an honest member makes one only for
//     a share that is bad.
//
// What publishing S reveals. S = x·R opens every ciphertext to the
// claimant with that R, so a member proves only a share whose sender proved
// knowledge of r, bound to this share's AAD and the member's key
// (sealbox.Check; the ledger refuses job inputs without it, and
// proveSealedClaim sends zeros for a share without it): its sender knew S
// already, and only it makes ciphertexts with that R. S then reveals what
// the provider sealed to the claimant in this slot: garbage for an honest
// claim, the claimant's own share for a false one, which the claimant could
// reveal anyway (one share of a degree-t sharing says nothing of the
// input). Without the sender's proof, S would be an oracle: copy another
// ciphertext's R (an honest provider's share, a supervision record's wrap)
// into a bad "share" and the member's proof would publish its key
// (TestSealedOpeningOracleClosed).
//
// Without SealedShares and SealingKeys (a caller that does not pass them),
// a claim cannot be checked: it names the provider unproven, with the
// claimants in the reason, as before proofs existed. All members of a
// committee run the same node code, so they agree on which rule applies.

// SealedShareAAD is the associated data that binds the sealed share of
// input slot to committee member of job on chain: a ciphertext moved to
// another chain, job, slot or member does not open
// (internal/sealedinput.AAD, which the ledger uses too).
func SealedShareAAD(chainID, jobID, slot, member string) []byte {
	return sealedinput.AAD(chainID, jobID, slot, member)
}

// SealShares seals an SS input's share messages, one per committee member
// (in committee order), to the members' sealing keys, with the Pedersen
// commitments to the sharing (sealedinput.Messages: each member's message
// carries its shares and its blinding shares, drawn here from crypto/rand):
// what JobInput.sealed_shares and share_commitments carry.
func (p *PreparedInput) SealShares(spec *Spec, chainID string, memberKeys []kyber.Point) (sealed [][]byte, commitments []byte, err error) {
	if spec.Type.IsHE() {
		return nil, nil, errors.New("jobrun: HE inputs are not sealed shares")
	}
	if len(memberKeys) != len(spec.Committee) || len(p.messages) != len(spec.Committee) {
		return nil, nil, fmt.Errorf("jobrun: %d sealing keys and %d shares for a committee of %d", len(memberKeys), len(p.messages), len(spec.Committee))
	}
	shares := make([][]byte, len(p.messages))
	for j, m := range p.messages {
		ch, err := decodeChunks(m, kindInput, 1, 1)
		if err != nil {
			return nil, nil, fmt.Errorf("jobrun: share for %s: %w", spec.Committee[j], err)
		}
		shares[j] = ch[0]
	}
	fields := sealedinput.Fields(spec)
	commitments, msgs, err := sealedinput.Messages(shares, fields, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("jobrun: commit to the sharing: %w", err)
	}
	slot := spec.Providers[p.Index]
	sealed = make([][]byte, len(spec.Committee))
	for j, m := range spec.Committee {
		c, err := sealbox.Seal(memberKeys[j], SealedShareAAD(chainID, spec.ID, slot, m), msgs[j])
		if err != nil {
			return nil, nil, fmt.Errorf("jobrun: seal share for %s: %w", m, err)
		}
		// The ledger takes sealed shares of exactly this size only
		// (ledger checkSealedShares): fail here rather than there.
		if len(c) != sealedinput.SealedLen(fields) {
			return nil, nil, fmt.Errorf("jobrun: sealed share for %s has %d bytes, want %d", m, len(c), sealedinput.SealedLen(fields))
		}
		sealed[j] = c
	}
	return sealed, commitments, nil
}

// checkSealedJob refuses a job with sealed inputs that this member cannot
// judge: without its sealing key, or without the commitments of a sealed
// slot (every member reads them from the same committed state, so a
// missing one is the caller's fault, not the provider's).
func checkSealedJob(spec *Spec, job *CommitteeJob) error {
	for i, b := range job.Sealed {
		if b == nil {
			continue
		}
		if job.SealingKey == nil {
			return errors.New("jobrun: the job has sealed inputs and this member has no sealing key")
		}
		if i >= len(job.SealedCommitments) || len(job.SealedCommitments[i]) == 0 {
			return fmt.Errorf("jobrun: the sealed input of %s has no share commitments", spec.Providers[i])
		}
	}
	return nil
}

// judgeOwnShare is this member's (me) judgment of its opened sealed share
// msg of slot i (sealedinput.Judge, the one the others and the ledger
// apply to its claim): the share if it is well formed and on the
// provider's commitments. The blinding shares are dropped here: they are
// for this check only and go nowhere else.
func judgeOwnShare(ctx context.Context, sess *Session, job *CommitteeJob, fields, i int, msg []byte) (jobs.InputShare, error) {
	spec := sess.spec
	c, err := sealedinput.ParseCommitments(job.SealedCommitments[i], len(spec.Committee), fields)
	if err != nil {
		// Taken by the ledger at input: the rules changed since. Not the
		// provider's fault as far as anyone can prove (the others judge a
		// claim on it unchecked), but this member cannot use the share.
		return jobs.InputShare{}, fmt.Errorf("%w: share commitments: %v", errMalformed, err)
	}
	s, err := sealedinput.Judge(msg, fields, spec.MemberIndex(sess.self), c)
	if err == nil {
		substituteHookOf(ctx, sess.self).substitute(i, &s)
	}
	return s, err
}

// sealedCheckFailure adds to a failed consistency check of the dealt
// inputs (jobs.InputCheckError) of a sealed slot what the commitments
// establish: every honest member checked its share of the slot against the
// provider's committed polynomials of degree t and would have stopped the
// job at agreeInputs had it been off, so the shares inconsistent with one
// polynomial come from a deviating member — one that fed the engine
// another share than it was dealt, or one that kept quiet about a share
// off the commitments (colluding with the provider). Which member is not
// known (each sees only its own share): the fault still names nobody.
// Other errors pass unchanged.
func sealedCheckFailure(spec *Spec, job *CommitteeJob, err error) error {
	var ice *jobs.InputCheckError
	if !errors.As(err, &ice) {
		return err
	}
	i := spec.ProviderIndex(ice.Provider)
	if i < 0 || !sealedSlot(job, i) {
		return err
	}
	return fmt.Errorf("%w; the shares of sealed %s were checked against its provider's commitments by every honest member: a committee member deviated (fed the engine another share than it was dealt, or kept quiet about one off the commitments); which one is not identified", err, ice.Provider)
}

// substituteHook is a test-only deviation of a committee member: after its
// sealed share of slot Slot is judged good, the member adds one to its
// first field share before the engine gets it (a member substituting its
// dealt share). Only export_test.go attaches one (to a context; the key
// type is unexported), so no deployment can.
type substituteHook struct {
	Member string
	Slot   int
}

type substituteHookKey struct{}

func substituteHookOf(ctx context.Context, self string) *substituteHook {
	h, _ := ctx.Value(substituteHookKey{}).(*substituteHook)
	if h == nil || h.Member != self {
		return nil
	}
	return h
}

func (h *substituteHook) substitute(slot int, s *jobs.InputShare) {
	if h == nil || h.Slot != slot || len(s.Fields) == 0 {
		return
	}
	var one fr.Element
	one.SetOne()
	s.Fields[0].Add(&s.Fields[0], &one)
}

// openSealedInput opens this member's sealed share of slot i.
func openSealedInput(sess *Session, job CommitteeJob, i int) ([]byte, error) {
	spec := sess.spec
	if job.SealingKey == nil {
		return nil, fmt.Errorf("%w: slot %s is sealed, this member has no sealing key", errMalformed, spec.Providers[i])
	}
	aad := SealedShareAAD(job.ChainID, spec.ID, spec.Providers[i], sess.self)
	b, err := sealbox.Open(job.SealingKey, aad, job.Sealed[i])
	if err != nil {
		return nil, fmt.Errorf("sealed share of %s: %w", spec.Providers[i], err)
	}
	return b, nil
}

// Rebind makes an input prepared for a draft of a job (PrepareInput on a
// spec that has the slot, the committee's size and the slot's range, but
// not yet the job's ID or other providers) the input of slot p.Provider of
// spec, the job as it appeared on the ledger. A provider without a node
// uses it to commit, prove and share before the job exists, which does not
// depend on the job (sealing does: SealShares binds the job's ID). It
// refuses a job whose committee size, slot or range differ from the
// draft's. Use a prepared input for one job only: the same commitment and
// shares in two jobs would link them and hand two committees shares of the
// same value.
func (p *PreparedInput) Rebind(spec *Spec) error {
	if err := spec.EnsureValid(); err != nil {
		return err
	}
	idx := spec.ProviderIndex(p.Provider)
	switch {
	case idx < 0:
		return fmt.Errorf("jobrun: %s is not a provider of job %s", p.Provider, spec.ID)
	case spec.Type.IsHE():
		return errors.New("jobrun: HE inputs are encrypted for their job")
	case len(p.messages) != len(spec.Committee):
		return fmt.Errorf("jobrun: input prepared for a committee of %d, job %s has %d", len(p.messages), spec.ID, len(spec.Committee))
	}
	lo, hi, bounded := spec.SlotRange(idx)
	if bounded != p.hasRange || bounded && (lo != p.lo || hi != p.hi) {
		return fmt.Errorf("jobrun: input prepared for the range [%d, %d], slot %s of job %s has [%d, %d]", p.lo, p.hi, p.Provider, spec.ID, lo, hi)
	}
	p.Index = idx
	return nil
}

// openingBytes is one proven opening in an input-status message: S ‖ proof.
const openingBytes = sealbox.PointBytes + sealbox.ProofBytes

// SealedEvidence is a proven claim about a sealed share: committee member
// Claimant's shared point and proof (Opening = S ‖ proof, 96 bytes; all
// zero for a ciphertext whose ephemeral key is publicly invalid) for its
// sealed share of provider slot Slot (an index into Spec.Providers). The
// ledger's job.abort carries it (JobAbort.sealed_opening) and checks it
// against the ciphertext it keeps.
type SealedEvidence struct {
	Slot     int
	Claimant string
	Opening  []byte
	// Culprit is whom the evidence convicts, as the ledger will judge it:
	// the provider slot (its share proven bad) or the claimant (its share
	// proven to open well formed).
	Culprit string
}

// Point is the evidence's shared point S.
func (e *SealedEvidence) Point() []byte { return e.Opening[:sealbox.PointBytes] }

// Proof is the evidence's Chaum–Pedersen proof.
func (e *SealedEvidence) Proof() []byte { return e.Opening[sealbox.PointBytes:] }

// claimVerdict is what a member makes of another's claim on a sealed slot.
type claimVerdict int

const (
	// claimUnchecked: the ciphertext or the claimant's key is not known
	// here (the caller passed no SealedShares or SealingKeys).
	claimUnchecked claimVerdict = iota
	// claimProven: the proof verifies; the share does not open, or opens
	// malformed.
	claimProven
	// claimFalse: the proof verifies and the share opens well formed.
	claimFalse
	// claimBadProof: the proof does not verify.
	claimBadProof
)

// sealedSlot reports whether provider slot i's input is sealed on the
// ledger (every member knows: it is in the committed state they all read).
func sealedSlot(job *CommitteeJob, i int) bool {
	if i < len(job.SealedShares) {
		return job.SealedShares[i] != nil
	}
	return i < len(job.Sealed) && job.Sealed[i] != nil
}

// proveSealedClaim is this member's proven opening of its sealed share of
// slot i (zeros when the ciphertext is publicly invalid, sealbox.Check:
// nothing to prove, and nothing may be).
func proveSealedClaim(sess *Session, job *CommitteeJob, i int) ([]byte, error) {
	out := make([]byte, openingBytes)
	if job.SealingKey == nil || i >= len(job.Sealed) || job.Sealed[i] == nil {
		// A member claims only shares it tried to open (Run refuses
		// sealed inputs without a key), so only an inconsistent caller
		// gets here: zeros, which do not verify against a well-formed
		// ciphertext, so the others name this member.
		return out, nil
	}
	aad := SealedShareAAD(job.ChainID, sess.spec.ID, sess.spec.Providers[i], sess.self)
	S, proof, err := sealbox.ProveOpening(job.SealingKey, aad, job.Sealed[i])
	if errors.Is(err, sealbox.ErrInvalid) {
		// No sender's proof of knowledge of r: S would open whatever else
		// was sealed to this member with that R (the opening oracle,
		// sealbox/opening.go), so none is published. Anyone sees from the
		// ciphertext that it opens for nobody; the ledger refuses such
		// shares at input, so only a caller without it gets here.
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobrun: prove the opening of the sealed share of %s: %w", sess.spec.Providers[i], err)
	}
	copy(out, S)
	copy(out[sealbox.PointBytes:], proof)
	return out, nil
}

// judgeSealedClaim checks member j's proven opening of its sealed share of
// slot i. Deterministic: every member, and the ledger (checkJobAbort), reach
// the same verdict from the same bytes.
func judgeSealedClaim(spec *Spec, job *CommitteeJob, fields, i, j int, opening []byte) (claimVerdict, string) {
	if i >= len(job.SealedShares) || j >= len(job.SealedShares[i]) || len(job.SealingKeys) != len(spec.Committee) || job.SealingKeys[j] == nil {
		return claimUnchecked, "unchecked: no ciphertext or key to check it against"
	}
	if i >= len(job.SealedCommitments) {
		return claimUnchecked, "unchecked: no share commitments to judge it against"
	}
	com, err := sealedinput.ParseCommitments(job.SealedCommitments[i], len(spec.Committee), fields)
	if err != nil {
		// The ledger refuses sealed shares without well-formed
		// commitments: the rules changed since, or the caller lost them.
		return claimUnchecked, fmt.Sprintf("unchecked: the share commitments are not valid: %v", err)
	}
	aad := SealedShareAAD(job.ChainID, spec.ID, spec.Providers[i], spec.Committee[j])
	msg, opened, err := sealbox.VerifyOpening(job.SealingKeys[j], aad, job.SealedShares[i][j], opening[:sealbox.PointBytes], opening[sealbox.PointBytes:])
	switch {
	case errors.Is(err, sealbox.ErrInvalid):
		// The stored ciphertext fails the public check the ledger ran at
		// input: the rules or keys changed since. Nothing can be proven
		// about it, either way.
		return claimUnchecked, "unchecked: the stored ciphertext is not a valid sealed share"
	case err != nil:
		return claimBadProof, fmt.Sprintf("its opening proof does not verify: %v", err)
	case !opened:
		return claimProven, "proven not to open"
	}
	switch _, err := sealedinput.Judge(msg, fields, j, com); {
	case errors.Is(err, sealedinput.ErrOffCommitments):
		return claimProven, "proven off the provider's committed polynomials"
	case err != nil:
		return claimProven, fmt.Sprintf("proven malformed: %v", err)
	}
	return claimFalse, "its proven share opens, is well formed and on the provider's commitments"
}

// claimHook is a test-only deviation of a committee member in agreeInputs:
// the member claims slots Claim bad although its shares of them are fine,
// and with Bogus sends a made-up shared point for every claim of a sealed
// slot. Only export_test.go attaches one (to a context; the key type is
// unexported), so no deployment can.
type claimHook struct {
	Member string
	Claim  []int
	Bogus  bool
}

type claimHookKey struct{}

func claimHookOf(ctx context.Context, self string) *claimHook {
	h, _ := ctx.Value(claimHookKey{}).(*claimHook)
	if h == nil || h.Member != self {
		return nil
	}
	return h
}

// lieStatus makes this member claim the hook's slots bad (code).
func (h *claimHook) lieStatus(status []byte, code byte) {
	for _, i := range h.Claim {
		if i >= 0 && i < len(status) {
			status[i] = code
		}
	}
}

// bogusOpening replaces a proven opening's S by another point of prime
// order (the base point), keeping the proof: a claimant making up S.
func (h *claimHook) bogusOpening(opening []byte) {
	if !h.Bogus {
		return
	}
	g, _ := sealbox.BasePoint()
	copy(opening, g)
}

// claimedSlots lists the slots a status claims (a known non-zero code).
func claimedSlots(status []byte, codes int) []int {
	var out []int
	for i, c := range status {
		if c != 0 && int(c) < codes {
			out = append(out, i)
		}
	}
	return slices.Clip(out)
}
