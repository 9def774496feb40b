package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// Sealed job inputs. A member without a node (HasNode false) supplies an
// SS job's input slot by posting, with its commitment and range proof, the
// committee's Shamir shares sealed to each member's sealing key
// (JobInput.sealed_shares, internal/sealbox, AAD from internal/sealedinput),
// with Pedersen commitments to its sharing polynomials
// (JobInput.share_commitments, internal/sealedinput). The ledger cannot
// open the shares: it checks the job's type (auctions and tenders only),
// their count and sizes (each exactly a sealed share message of the job's
// input, within MaxSealedShareBytes: all before anything is parsed or
// kept), that each is publicly valid, that the commitments are well
// formed for the job, that the signer owns the slot and the proof (as for
// any input), and keeps shares and commitments in state under
// sealedin/<job>/<slot> until the job ends: finishJob prunes a completed
// job's in slot order, and an aborted job's when its attestation window
// closes (pruneAttested), for late proofs. Committee nodes
// read their ciphertext of each sealed slot from their own committed state
// once the job is running (App.SealedInput).
//
// Blame, and what it rests on:
//   - A ciphertext that does not open for its member, opens to no share of
//     the job, or opens to a share off the provider's commitments: the
//     member proves it (S = x·R with a Chaum–Pedersen proof
//     that S and its sealing key share x, internal/sealbox), the committee
//     checks the proof (node/jobrun agreeInputs) and aborts naming the slot
//     (bad-input) with the proof in JobAbort.sealed_opening. The ledger
//     checks it against the ciphertext it keeps and the member's genesis
//     sealing key (checkSealedOpening) and charges the provider
//     (ratingBadSealedInput). A claim whose proof shows the share opening
//     well formed and on the commitments convicts the claimant instead (the committee names it
//     false-input-claim; the ledger charges it ratingFalseSealedClaim); an
//     abort whose proof does not verify is refused, so a claimant cannot
//     frame a provider. An abort without a proof is recorded uncharged, as
//     before.
//   - What a proof discloses: S = x·R opens every ciphertext to the
//     claimant with that R. checkSealedShares therefore takes only shares
//     whose sender proved knowledge of r (sealbox.Check, bound to the
//     share's AAD and the member's genesis key): only their sender, who
//     knew S, makes ciphertexts with that R, so S shows the others only
//     what that sender sealed to the claimant in this slot, and a copied R
//     (another provider's share, a supervision record's wrap) never reaches
//     a member's proof.
//   - Shares that open but whose value does not open the posted commitment
//     name the slot (commitment-mismatch), as for a libp2p input.
//   - Shares off one degree-t polynomial: each member checks its own
//     against the provider's commitments (sealedinput.Judge), so a share
//     the provider dealt off its polynomial is proven as above and the
//     provider charged. The commitments bind (discrete logarithm in G1):
//     every share an honest member accepts is on the committed polynomial,
//     so if the engine's consistency check of dealt inputs still fails
//     (mpc-check-failed, naming nobody), a member deviated: it fed the
//     engine another share than it was dealt, or kept quiet about one off
//     the commitments; which one is not identified.
//
// A sealed_opening is taken only in an abort signed by a committee member
// (checkJobAbort): the requester cannot make validators verify proofs for
// nothing. The committee's abort carries the first proven provider fault in
// slot order even when it names a liar (node/jobrun agreeInputs), and a
// member whose abort with a proof is refused posts it without (node/sched
// postAbort). Members' aborts after the first are attestations (attest.go):
// the proof each carries is checked alike, against the sealed shares an
// aborted job keeps until its attestation window closes, and charges whom
// it convicts once per job and convicted member — so a proof-less first
// abort (the requester's, a colluder's) does not spare a proven provider,
// and a proven provider and a proven liar in one job are both charged.
//
// Open, not built:
//   - Input statuses are unsigned and have no echo round: a member can send
//     different statuses (and proofs) to different members, honest members
//     can then reach different verdicts, and the first abort to land
//     decides. Signed statuses with an echo round would fix it.
//   - The first abort decides the job's recorded reason and culprit (the
//     charges of later proofs are listed on the job, Job.charges).
//   - Every member whose share opens but is malformed (or off the
//     commitments) proves it and sends its S to the whole committee (the
//     abort puts one on the chain), and S opens what the provider sealed to
//     that member: with t+1 claimants the committee can put a buggy (not
//     malicious) provider's input together.
//     One proof per slot would need another round (review L5: left open).
//
// No forward secrecy: pruning empties the state, not the chain. The job
// input txs stay in the block history forever, sealed under the members'
// long-term sealing keys; whoever ever holds the sealing key files of
// t_ss+1 = ⌊(n−1)/2⌋+1 members of a committee (2 of a committee of 4; the
// SS threshold, not the committee's signature threshold) can read every
// sealed input ever posted to it.
//
// Why state rather than the block's txs: a committee node reads one key of
// its own state (a restarted node too), with no tx index or block-store
// scan, and the state stays bounded by the open jobs and those aborted in
// the last attestWindowBlocks blocks.

// Bounds of sealed shares. Every sealed share of an input has exactly
// sealedinput.SealedLen(fields) bytes: a scalar input's share message is
// 151 bytes, sealed into 263 (sealbox.Overhead: 112); 16 KiB holds an input
// of up to 252 fields (TestSealedShareFigures computes these). Only auctions
// and tenders take sealed inputs (sealableType), all scalar; an input
// larger than the bound comes from a node, over libp2p.
const (
	MaxSealedShareBytes = 16 << 10
	// minSealedShareBytes: sealbox's overhead (32-byte ephemeral key,
	// 64-byte sender's proof of knowledge, 16-byte tag) plus a non-empty
	// message: the floor of the first bound, checked before the job's
	// spec is read.
	minSealedShareBytes = sealbox.Overhead + 1
)

// sealableType reports whether inputs of job type typ may be sealed
// shares: SS jobs a member without a node can supply. Clearing is not (a
// bidder's allocation comes to its node only), nor is HE (its inputs are
// ciphertexts): checkJobSubmit keeps nodeless providers out of both
// (jobs.go), and a provider with a node sends its shares over libp2p, so a
// sealed input to them is refused before its (up to 4097·(t+1))
// commitment points are parsed.
func sealableType(typ jobspec.Type) bool {
	return typ.Engine() == jobspec.EngineSS && !typ.IsHE() && typ != jobspec.Clearing
}

// sealedShareLen is the size every sealed share of an input of fields
// field elements must have (sealedinput.SealedLen), or a refusal if that
// exceeds MaxSealedShareBytes.
func sealedShareLen(jobID string, fields int) (int, *TxError) {
	n := sealedinput.SealedLen(fields)
	if n > MaxSealedShareBytes {
		return 0, txErr(CodeInvalid, "job %q: an input of %d fields seals into shares of %d bytes, over the bound of %d: supply it from a node", jobID, fields, n, MaxSealedShareBytes)
	}
	return n, nil
}

// HasNode reports whether a member runs a node (registered a libp2p peer
// ID). A nil member has none.
func HasNode(m *ledgerpb.Member) bool { return m != nil && m.PeerId != "" }

func keySealedInput(jobID string, slot int) []byte {
	k := append([]byte("sealedin/"), jobID...)
	k = append(k, 0) // job IDs hold no NUL (jobspec.CheckID)
	return binary.BigEndian.AppendUint32(k, uint32(slot))
}

// checkSealedShares checks a job input's sealed shares: none for a member
// with a node that sends its shares over libp2p; for a job type a member
// without a node can supply (sealableType: auctions, tenders), exactly one
// per committee member, each of exactly the size of a sealed share message
// of the job's input (sealedinput.SealedLen, within MaxSealedShareBytes)
// and publicly valid for its member (sealbox.Check: R a canonical point of
// prime order, and the sender's proof of knowledge of r bound to the
// share's AAD, the member's genesis sealing key and the body); a member
// without a node must seal (it has no other way to reach the committee).
// With them, the provider's Pedersen commitments to its sharing
// (share_commitments) must be well formed for the job: (t+1)·(fields+1)
// canonical compressed points of BN254 G1 (sealedinput.ParseCommitments;
// the count is checked before anything is decoded). Everything that
// bounds the work (type, count, sizes) is checked before any point is
// parsed. A publicly invalid share or commitment is refused here, not
// convicted later, and no member is ever asked to prove an opening of a
// ciphertext whose sender did not know its r (the opening oracle,
// internal/sealbox opening.go). Costs about three scalar multiplications
// per share (sealbox BenchmarkCheck) and a square root per commitment point
// (sealedinput BenchmarkPedersen/parse); both checks are remembered
// (App.sealedChecks), so FinalizeBlock does not redo what CheckTx did.
func checkSealedShares(signer string, j *ledgerpb.Job, m *ledgerpb.JobInput, v *committedView, st stateReader) *TxError {
	sealed := len(m.SealedShares) > 0
	if !sealed {
		if len(m.ShareCommitments) > 0 {
			return txErr(CodeInvalid, "job %q: share commitments without sealed shares (a provider with a node sends its shares over libp2p)", j.Id)
		}
		if !HasNode(v.members.byName[signer]) {
			return txErr(CodeInvalid, "%s runs no node: its input to job %q must carry the committee's sealed shares", signer, j.Id)
		}
		return nil
	}
	if !sealableType(jobspec.Type(j.Type)) {
		return txErr(CodeInvalid, "job %q is a %s job: its inputs cannot be sealed shares (only auctions and tenders take them; a provider with a node sends its shares over libp2p)", j.Id, j.Type)
	}
	var c ledgerpb.Committee
	if _, err := loadProto(st, keyCommittee(j.CommitteeId), &c); err != nil {
		return txErr(CodeInvalid, "read state: %v", err)
	}
	if len(m.SealedShares) != len(c.Members) {
		return txErr(CodeInvalid, "job %q: %d sealed shares, committee %s has %d members", j.Id, len(m.SealedShares), c.Id, len(c.Members))
	}
	for k, s := range m.SealedShares {
		if len(s) < minSealedShareBytes || len(s) > MaxSealedShareBytes {
			return txErr(CodeInvalid, "job %q: sealed share %d has %d bytes, want %d to %d", j.Id, k, len(s), minSealedShareBytes, MaxSealedShareBytes)
		}
	}
	spec, err := JobSpec(j, &c)
	if err != nil {
		return txErr(CodeInvalid, "job %q: %v", j.Id, err)
	}
	fields := sealedinput.Fields(spec)
	want, terr := sealedShareLen(j.Id, fields)
	if terr != nil {
		return terr
	}
	for k, s := range m.SealedShares {
		if len(s) != want {
			return txErr(CodeInvalid, "job %q: sealed share %d has %d bytes, a sealed share message of this job's input has %d", j.Id, k, len(s), want)
		}
	}
	if terr := checkShareCommitments(j, len(c.Members), fields, m.ShareCommitments, v); terr != nil {
		return terr
	}
	slot := inputSlot(signer, m)
	for k, name := range c.Members {
		member := v.members.byName[name]
		if member == nil {
			return txErr(CodeInvalid, "job %q: committee member %q is no member", j.Id, name)
		}
		// The memo is keyed by the raw key bytes, so a hit also skips
		// parsing the key (a point decompression and a prime-order check).
		aad := sealedinput.AAD(v.chainID, j.Id, slot, name)
		memo := sealedCheckKey(member.SealingKey, aad, m.SealedShares[k])
		if v.sealedChecks.Has(memo) {
			continue
		}
		pub, err := sealbox.ParsePublicKey(member.SealingKey)
		if err != nil {
			return txErr(CodeInvalid, "job %q: %s's sealing key: %v", j.Id, name, err)
		}
		if err := sealbox.Check(pub, aad, m.SealedShares[k]); err != nil {
			return txErr(CodeInvalid, "job %q: sealed share %d (for %s): %v", j.Id, k, name, err)
		}
		v.sealedChecks.Add(memo)
	}
	return nil
}

// checkShareCommitments checks a sealed input's share commitments for job
// j, on a committee of n, whose input has fields field elements
// (sealedinput.ParseCommitments), remembering a pass in the App's memo
// under exactly what decides it: n, fields and the commitments' bytes (the
// caller computed fields from the job's validated spec, so the memo cannot
// vouch for a job whose spec no longer validates). Equal commitments in
// two jobs of the same shape share the entry.
func checkShareCommitments(j *ledgerpb.Job, n, fields int, commitments []byte, v *committedView) *TxError {
	if len(commitments) == 0 {
		return txErr(CodeInvalid, "job %q: sealed shares without share commitments (the format before Pedersen commitments is no longer accepted: reseal with this version)", j.Id)
	}
	memo := memoKey("cohort/ledger/sealed-commitments/v2\x00", binary.BigEndian.AppendUint32(nil, uint32(n)), binary.BigEndian.AppendUint32(nil, uint32(fields)), commitments)
	if v.sealedChecks.Has(memo) {
		return nil
	}
	if _, err := sealedinput.ParseCommitments(commitments, n, fields); err != nil {
		return txErr(CodeInvalid, "job %q: %v", j.Id, err)
	}
	v.sealedChecks.Add(memo)
	return nil
}

// sealedCheckKey names one sealbox.Check (key, AAD, share) in the App's
// memo of passed checks: a collision-resistant hash of the three,
// length-prefixed, so that no two different checks share a key.
func sealedCheckKey(pub, aad, share []byte) [32]byte {
	return memoKey("cohort/ledger/sealed-check/v1\x00", pub, aad, share)
}

// memoKey hashes a domain tag and length-prefixed parts: a key of the
// App's memo of passed checks, one domain per kind of check.
func memoKey(tag string, parts ...[]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(tag))
	for _, b := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// pruneSealedInputs deletes a finished job's sealed shares, slot by slot.
func pruneSealedInputs(b *blockState, j *ledgerpb.Job) error {
	for i := range j.Providers {
		key := keySealedInput(j.Id, i)
		v, err := b.get(key)
		if err != nil {
			return err
		}
		if v != nil {
			b.delete(key)
		}
	}
	return nil
}

// SealedInput returns the sealed shares of a job's input slot i (one per
// committee member, in committee order), or nil if the slot's input was not
// sealed or the job ended (they are pruned then: at once for a completed job,
// when the attestation window closes for an aborted one).
func (a *App) SealedInput(jobID string, i int) ([][]byte, error) {
	var s ledgerpb.SealedShares
	found, err := loadProto(committedReader{a.store}, keySealedInput(jobID, i), &s)
	if err != nil || !found {
		return nil, err
	}
	return slices.Clip(s.Shares), nil
}

// SealedInputs returns, for each provider slot of a job, member's sealed
// share (nil for a slot not sealed): what a committee member opens.
func (a *App) SealedInputs(j *ledgerpb.Job, member int) ([][]byte, error) {
	out := make([][]byte, len(j.Providers))
	for i := range j.Providers {
		shares, err := a.SealedInput(j.Id, i)
		if err != nil {
			return nil, fmt.Errorf("job %s slot %d: %w", j.Id, i, err)
		}
		if shares == nil {
			continue
		}
		if member < 0 || member >= len(shares) {
			return nil, fmt.Errorf("job %s slot %d: %d sealed shares, no share for member %d", j.Id, i, len(shares), member)
		}
		out[i] = shares[member]
	}
	return out, nil
}

// SealedCommitments returns, for each provider slot of a job, the share
// commitments posted with its sealed shares (nil for a slot not sealed, or
// once the job ended): what a committee member checks its opened share
// against (sealedinput.Judge).
func (a *App) SealedCommitments(j *ledgerpb.Job) ([][]byte, error) {
	out := make([][]byte, len(j.Providers))
	for i := range j.Providers {
		var s ledgerpb.SealedShares
		found, err := loadProto(committedReader{a.store}, keySealedInput(j.Id, i), &s)
		if err != nil {
			return nil, fmt.Errorf("job %s slot %d: %w", j.Id, i, err)
		}
		if found {
			out[i] = s.Commitments
		}
	}
	return out, nil
}

// sealedVerdict is what a verified sealed-share proof convicts: culprit is
// recorded on the job (a provider slot, or the claimant), charged is the
// member whose rating moves by rating.
type sealedVerdict struct {
	culprit, charged string
	rating           int64
	why              string
}

// checkSealedOpening checks a job.abort's proven opening of a sealed share
// (internal/sealbox.VerifyOpening) against the ciphertext the ledger keeps
// for that slot and member and the member's genesis sealing key, and judges
// the share as the committee does (node/jobrun judgeSealedClaim, through
// the same sealedinput.Judge): it does not open, opens to no share of the
// job, or opens to a share off the provider's commitments kept with it —
// the provider is convicted; it opens well formed and on the commitments —
// the claimant is (only its key makes that proof, and an honest member
// proves only a bad share). A proof that does not verify is refused: nobody
// can frame a provider with it. Every field is bounded before use;
// deterministic.
func checkSealedOpening(j *ledgerpb.Job, c *ledgerpb.Committee, o *ledgerpb.SealedOpening, v *committedView, st stateReader) (*sealedVerdict, *TxError) {
	switch {
	case int64(o.Slot) >= int64(len(j.Providers)):
		return nil, txErr(CodeInvalid, "sealed opening: slot %d of a job with %d providers", o.Slot, len(j.Providers))
	case len(o.Point) != sealbox.PointBytes || len(o.Proof) != sealbox.ProofBytes:
		return nil, txErr(CodeInvalid, "sealed opening: a point of %d bytes and a proof of %d, want %d and %d", len(o.Point), len(o.Proof), sealbox.PointBytes, sealbox.ProofBytes)
	case len(o.Claimant) > jobspec.MaxNameBytes:
		return nil, txErr(CodeInvalid, "sealed opening: claimant name of %d bytes", len(o.Claimant))
	}
	k := slices.Index(c.Members, o.Claimant)
	if k < 0 {
		return nil, txErr(CodeInvalid, "sealed opening: %q is not on committee %s", o.Claimant, c.Id)
	}
	slot := j.Providers[o.Slot]
	var shares ledgerpb.SealedShares
	found, err := loadProto(st, keySealedInput(j.Id, int(o.Slot)), &shares)
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	if !found || len(shares.Shares) != len(c.Members) {
		return nil, txErr(CodeInvalid, "sealed opening: the input of %s to job %q is not sealed", slot, j.Id)
	}
	member := v.members.byName[o.Claimant]
	if member == nil {
		return nil, txErr(CodeInvalid, "sealed opening: %q is no member", o.Claimant)
	}
	pub, err := sealbox.ParsePublicKey(member.SealingKey)
	if err != nil {
		return nil, txErr(CodeInvalid, "sealed opening: %s's sealing key: %v", o.Claimant, err)
	}
	// The proof first: it costs a few scalar multiplications, where the
	// spec and the commitments cost O(points); a made-up proof is refused
	// before either.
	aad := sealedinput.AAD(v.chainID, j.Id, slot, o.Claimant)
	msg, opened, err := sealbox.VerifyOpening(pub, aad, shares.Shares[k], o.Point, o.Proof)
	if err != nil {
		return nil, txErr(CodeInvalid, "sealed opening by %s of %s's share does not verify: %v", o.Claimant, slot, err)
	}
	spec, err := JobSpec(j, c)
	if err != nil {
		return nil, txErr(CodeInvalid, "job %q: %v", j.Id, err)
	}
	fields := sealedinput.Fields(spec)
	// The ledger took these commitments at input (checkShareCommitments):
	// ones that no longer parse mean the rules changed since, and junk
	// convicts nobody.
	com, err := sealedinput.ParseCommitments(shares.Commitments, len(c.Members), fields)
	if err != nil {
		return nil, txErr(CodeInvalid, "sealed opening: the share commitments kept for %s: %v", slot, err)
	}
	provider := &sealedVerdict{culprit: slot, charged: jobspec.SlotMember(slot), rating: ratingBadSealedInput}
	if !opened {
		provider.why = fmt.Sprintf("%s's sealed share for %s proven not to open", slot, o.Claimant)
		return provider, nil
	}
	switch _, err := sealedinput.Judge(msg, fields, k, com); {
	case errors.Is(err, sealedinput.ErrOffCommitments):
		provider.why = fmt.Sprintf("%s's sealed share for %s proven off its committed polynomials", slot, o.Claimant)
		return provider, nil
	case err != nil:
		provider.why = fmt.Sprintf("%s's sealed share for %s proven malformed", slot, o.Claimant)
		return provider, nil
	}
	return &sealedVerdict{culprit: o.Claimant, charged: o.Claimant, rating: ratingFalseSealedClaim,
		why: fmt.Sprintf("%s's claim on its sealed share of %s proven false (it opens well formed, on the provider's commitments)", o.Claimant, slot)}, nil
}
