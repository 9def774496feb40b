package jobrun

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/zk"
)

// ProviderKeys is what a provider needs besides its input file.
type ProviderKeys struct {
	// Preset and CommitteeHEKey (CommitteeRecord.HEPublicKey) are needed
	// for HE jobs: inputs are encrypted under the committee's collective key.
	Preset         *he.Preset
	CommitteeHEKey []byte
	// Rand is the provider's randomness (nil: crypto/rand).
	Rand io.Reader
}

// PreparedInput is a provider's input, ready to post and send.
type PreparedInput struct {
	Provider string
	Index    int
	// Commitment is what the provider posts on the ledger before sending
	// (job input tx). SS jobs: the Poseidon2 commitment Commit(fields, salt)
	// as a 32-byte big-endian field element; for auctions it is exactly the
	// commitment of zk's input-validity circuit (value = the bid), so the
	// provider can attach a range proof from Value and Salt. HE jobs: the
	// SHA-256 of the job ID, the provider index and the content addresses of
	// its ciphertexts (see HEInputCommitment).
	Commitment []byte
	// Value and Salt (SS jobs) open the commitment; they stay on the
	// provider's node (input-validity proof). Value is the bid for auctions.
	Value uint64
	Salt  []byte
	// messages[j] goes to committee member j.
	messages [][]byte
	// hasRange, lo, hi: the declared range of a scalar input (auctions).
	hasRange bool
	lo, hi   uint64
}

// InputWitness returns the witness of zk's input-validity circuit for an
// auction bid or a tender slot's value: it lies in the slot's range
// (Spec.SlotRange: [0, max_bid]; a price in [0, max_price], a capacity in
// [0, quantity]) and opens Commitment. The node proves it with the
// ceremony's input keys (zk.Keys.Prove) and posts the proof with the
// commitment. Other job types have no scalar range statement (see
// HEInputCommitment; clearing curves are checked inside the MPC only).
func (p *PreparedInput) InputWitness() (*zk.InputWitness, error) {
	if !p.hasRange {
		return nil, errors.New("jobrun: this job type's input has no range proof")
	}
	salt, err := parseElement(p.Salt)
	if err != nil {
		return nil, err
	}
	return &zk.InputWitness{Value: zk.Uint64(p.Value), Salt: zk.FeltOf(salt), Lo: zk.Uint64(p.lo), Hi: zk.Uint64(p.hi)}, nil
}

// HEInputCommitment is the input commitment of an HE provider: SHA-256 over a
// domain tag, the job ID, the provider index and the SHA-256 content address
// of each of its canonical ciphertexts in order. It binds the exact bytes the
// committee evaluates (re-randomised ciphertexts cannot be substituted) and
// reveals nothing about the plaintext (the ciphertexts are IND-CPA under the
// committee key). A range proof on encrypted data is not provided (it needs a
// proof of correct RLWE encryption, out of this layer's reach).
func HEInputCommitment(jobID string, provider int, ids []he.CiphertextID) []byte {
	h := sha256.New()
	h.Write([]byte("cohort/jobrun/he-input/v1\x00"))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(jobID))))
	h.Write([]byte(jobID))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(provider)))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(ids))))
	for _, id := range ids {
		h.Write(id[:])
	}
	return h.Sum(nil)
}

// PrepareInput reads provider's input file (format in doc.go), commits to it
// and prepares the committee's messages: for SS jobs one Shamir share vector
// per member, for HE jobs the ciphertexts (the same for every member). It does
// no networking; post Commitment, then call Provide.
func PrepareInput(spec *Spec, provider string, inputFile []byte, keys ProviderKeys) (*PreparedInput, error) {
	if err := spec.EnsureValid(); err != nil {
		return nil, err
	}
	idx := spec.ProviderIndex(provider)
	if idx < 0 {
		return nil, fmt.Errorf("jobrun: %s is not a provider of job %s", provider, spec.ID)
	}
	parsed, err := parseInput(spec, idx, inputFile)
	if err != nil {
		return nil, err
	}
	out := &PreparedInput{Provider: provider, Index: idx}
	n := len(spec.Committee)
	if spec.Type.IsHE() {
		if keys.Preset == nil {
			return nil, errors.New("jobrun: HE input needs the preset")
		}
		if err := CheckPreset(spec, keys.Preset); err != nil {
			return nil, err
		}
		pk, err := keys.Preset.UnmarshalPublicKey(keys.CommitteeHEKey)
		if err != nil {
			return nil, fmt.Errorf("jobrun: committee HE key: %w", err)
		}
		var cts [][]byte
		var ids []he.CiphertextID
		switch in := parsed.(type) {
		case *CreditInput:
			cts, ids, err = jobs.EncryptFeatureColumns(keys.Preset, pk, in.Features)
		case *AggregateInput:
			var a jobs.AggregateInput
			a, err = jobs.EncryptAggregateInput(keys.Preset, pk, aggregateSpec(spec.AggregateParams()), in.Values)
			cts = [][]byte{a.Values, a.Histogram}
			ids = []he.CiphertextID{he.HashCiphertext(a.Values), he.HashCiphertext(a.Histogram)}
		}
		if err != nil {
			return nil, fmt.Errorf("jobrun: encrypt input: %w", err)
		}
		out.Commitment = HEInputCommitment(spec.ID, idx, ids)
		msg := encodeChunks(kindInput, cts...)
		out.messages = make([][]byte, n)
		for j := range out.messages {
			out.messages[j] = msg
		}
		return out, nil
	}

	var fields []fr.Element
	switch in := parsed.(type) {
	case *AuctionInput:
		out.Value = *in.Bid
		out.hasRange, out.lo, out.hi = true, 0, spec.Auction().BidBound()
		fields = []fr.Element{fr.NewElement(*in.Bid)}
	case *TenderInput:
		// parseInput checked the value against the slot's proven range.
		if out.Value, err = in.value(idx); err != nil {
			return nil, err
		}
		out.lo, out.hi, out.hasRange = spec.SlotRange(idx)
		fields = []fr.Element{fr.NewElement(out.Value)}
	case *ClearingInput:
		fields = make([]fr.Element, len(in.Quantities))
		for l, q := range in.Quantities {
			fields[l].SetUint64(q)
		}
	}
	salt, err := jobs.NewSalt(keys.Rand)
	if err != nil {
		return nil, fmt.Errorf("jobrun: input salt: %w", err)
	}
	msgs, c, err := jobs.ShareInput(n, fields, salt, keys.Rand)
	if err != nil {
		return nil, fmt.Errorf("jobrun: share input: %w", err)
	}
	out.Commitment = elementBytes(c)
	out.Salt = elementBytes(salt)
	out.messages = make([][]byte, n)
	for j, m := range msgs {
		out.messages[j] = encodeChunks(kindInput, m)
	}
	return out, nil
}

// ProviderOptions tunes Provide.
type ProviderOptions struct {
	// OutputTimeout bounds the wait for a clearing bidder's allocation
	// (default 5 min; the context applies too).
	OutputTimeout time.Duration
}

// ProviderResult is what a provider learns: for clearing jobs, its own
// allocation; for a tender's price slot, its quote's assignment (nil
// otherwise).
type ProviderResult struct {
	Allocation *Allocation
	Tender     *TenderAssignment
}

// Provide sends the prepared input to the committee over the session and,
// for clearing jobs, waits for this bidder's allocation. An SS job needs
// every member to receive its shares; an HE job needs t members.
func Provide(ctx context.Context, sess *Session, in *PreparedInput, opts ProviderOptions) (*ProviderResult, error) {
	spec := sess.spec
	if in == nil || in.Index >= len(spec.Providers) || spec.Providers[in.Index] != in.Provider ||
		spec.ProviderNode(in.Index) != sess.self || len(in.messages) != len(spec.Committee) {
		return nil, errors.New("jobrun: prepared input does not belong to this session's party")
	}
	var failed []string
	var firstErr error
	for j, m := range spec.Committee {
		if err := sess.send(ctx, m, slotRound(kindInput, in.Index), in.messages[j]); err != nil {
			failed = append(failed, m)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	need := len(spec.Committee)
	if spec.Type.IsHE() {
		need = spec.Threshold
	}
	if len(spec.Committee)-len(failed) < need {
		return nil, fault(spec, FaultMemberDropped, fmt.Errorf("send input: %w", firstErr), failed...)
	}
	// A clearing bidder learns its allocation; a tender quote's assignment
	// goes to its price slot (the capacity slot learns nothing more).
	if spec.Type != Clearing && (spec.Type != Tender || in.Index%2 != 0) {
		return &ProviderResult{}, nil
	}
	timeout := opts.OutputTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := 1
	if spec.Type == Tender {
		want = 2
	}
	values, commitment, salt, err := receiveAllocation(wctx, sess, in.Index, want)
	if err != nil {
		return nil, err
	}
	c, s := hex.EncodeToString(elementBytes(commitment)), hex.EncodeToString(elementBytes(salt))
	if spec.Type == Tender {
		return &ProviderResult{Tender: &TenderAssignment{Quantity: values[0], Price: values[1], Commitment: c, OpeningSalt: s}}, nil
	}
	return &ProviderResult{Allocation: &Allocation{Quantity: values[0], Commitment: c, OpeningSalt: s}}, nil
}

// fromEach receives round r from every committee member concurrently and
// returns the messages (nil where none came) and the first error per member.
func fromEach(ctx context.Context, sess *Session, r transport.Round) ([][]byte, []error) {
	n := len(sess.spec.Committee)
	msgs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for j, m := range sess.spec.Committee {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs[j], errs[j] = sess.recv(ctx, m, r)
		}()
	}
	wg.Wait()
	return msgs, errs
}

// receiveAllocation collects the shares of provider slot i's private output
// of want values (a clearing allocation, a tender assignment; all members
// send, t+1 open it, every other share must agree with them) and checks
// them against the commitment the members computed inside the MPC.
func receiveAllocation(ctx context.Context, sess *Session, i, want int) (values []uint64, commitment fr.Element, salt fr.Element, err error) {
	spec := sess.spec
	n := len(spec.Committee)
	msgs, errs := fromEach(ctx, sess, slotRound(kindAllocation, i))
	parts := make([]*jobs.OutputShare, n)
	coms := make([][][]byte, n) // each member's commitment, the public part
	var missing, malformed []string
	for j, b := range msgs {
		if errs[j] != nil {
			missing = append(missing, spec.Committee[j])
			continue
		}
		ch, err := decodeChunks(b, kindAllocation, 2, 2)
		if err != nil {
			malformed = append(malformed, spec.Committee[j])
			continue
		}
		_, err1 := parseElement(ch[0])
		share, err2 := jobs.DecodeOutputShare(ch[1], want)
		if err1 != nil || err2 != nil || len(share.Values) != want {
			malformed = append(malformed, spec.Committee[j])
			continue
		}
		coms[j] = [][]byte{ch[0]}
		parts[j] = &share
	}
	params, err := ss.NewParams(n)
	if err != nil {
		return nil, fr.Element{}, fr.Element{}, err
	}
	// As for the recipient's result: malformed messages and commitments
	// other than the one t+1 members agree on are named.
	ref, err := agreedOutput(spec, "allocation", params.T+1, coms, malformed, missing)
	if err != nil {
		return nil, fr.Element{}, fr.Element{}, err
	}
	com, err := parseElement(ref[0])
	if err != nil {
		return nil, fr.Element{}, fr.Element{}, err
	}
	// The one rule of every SS output (jobs.OpenOutput): t+1 shares open
	// the commitment and every other received share must be on their
	// polynomial, or the allocation is refused naming the members whose
	// shares deviated beyond doubt.
	vals, salt, err := jobs.ReconstructOutput(n, parts, com)
	if errors.Is(err, jobs.ErrNotOpened) {
		// No t+1 of the shares open the commitment: the shares alone
		// cannot say whose is wrong (jobs.ErrNotOpened); as before, the
		// members that sent nothing are named.
		return nil, fr.Element{}, fr.Element{}, fault(spec, FaultBadOutput, err, missing...)
	}
	if err != nil {
		return nil, fr.Element{}, fr.Element{}, shareFault(spec, "allocation", err)
	}
	values = make([]uint64, len(vals))
	for k := range vals {
		if !vals[k].IsUint64() {
			return nil, fr.Element{}, fr.Element{}, fault(spec, FaultBadOutput, errors.New("allocation out of range"))
		}
		values[k] = vals[k].Uint64()
	}
	return values, com, salt, nil
}

// kindStoredInput tags a PreparedInput saved by its provider.
const kindStoredInput byte = 0x10

// MarshalBinary encodes a prepared input for the provider's own storage, so
// that a node restarted after posting its commitment can still send the
// input that opens it. It holds the input's shares or ciphertexts and the
// commitment's opening: keep it private to the node.
func (p *PreparedInput) MarshalBinary() ([]byte, error) {
	flags := byte(0)
	if p.hasRange {
		flags = 1
	}
	chunks := [][]byte{
		[]byte(p.Provider), binary.BigEndian.AppendUint32(nil, uint32(p.Index)), p.Commitment,
		u64Bytes(p.Value), p.Salt, {flags}, u64Bytes(p.lo), u64Bytes(p.hi),
	}
	return encodeChunks(kindStoredInput, append(chunks, p.messages...)...), nil
}

// preparedFixedChunks is the number of chunks before the messages.
const preparedFixedChunks = 8

// ParsePreparedInput decodes a prepared input written by MarshalBinary for
// spec, checking it belongs to one of the spec's providers and committee.
func ParsePreparedInput(spec *Spec, b []byte) (*PreparedInput, error) {
	if err := spec.EnsureValid(); err != nil {
		return nil, err
	}
	n := len(spec.Committee)
	ch, err := decodeChunks(b, kindStoredInput, preparedFixedChunks+n, preparedFixedChunks+n)
	if err != nil {
		return nil, fmt.Errorf("jobrun: stored input: %w", err)
	}
	p := &PreparedInput{Provider: string(ch[0]), Commitment: ch[2], Salt: ch[4], messages: ch[preparedFixedChunks:]}
	if len(ch[1]) != 4 || len(ch[5]) != 1 || ch[5][0] > 1 {
		return nil, fmt.Errorf("jobrun: stored input: %w", errMalformed)
	}
	p.Index = int(binary.BigEndian.Uint32(ch[1]))
	if p.Index >= len(spec.Providers) || spec.Providers[p.Index] != p.Provider {
		return nil, fmt.Errorf("jobrun: stored input is not a provider's input of job %s", spec.ID)
	}
	var e1, e2, e3 error
	p.Value, e1 = parseU64(ch[3])
	p.lo, e2 = parseU64(ch[6])
	p.hi, e3 = parseU64(ch[7])
	if err := errors.Join(e1, e2, e3); err != nil {
		return nil, fmt.Errorf("jobrun: stored input: %w", err)
	}
	p.hasRange = ch[5][0] == 1
	return p, nil
}
