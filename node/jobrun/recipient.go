package jobrun

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
)

// RecipientJob is what the recipient needs besides the session.
type RecipientJob struct {
	// Preset is the committee's HE preset (HE jobs).
	Preset *he.Preset
	// CommitteeKey verifies the committee's signature on the result record;
	// InputCommitments are the providers' commitments from the ledger.
	CommitteeKey     *committee.CommitteeKey
	InputCommitments [][]byte
	// OutputTimeout bounds the wait for the result (default 10 min).
	OutputTimeout time.Duration
}

// ReceiveResult is the recipient's role. For HE jobs it makes a fresh key
// pair for this job (the secret key never leaves this function), sends the
// public key to the committee and decrypts the key-switched result from the
// first member whose message verifies. For SS jobs it collects the members'
// output messages and reconstructs the result (auctions: winner and price,
// which only the recipient learns) and its commitment's salt from t+1
// members' shares.
// Either way the committee's threshold signature on (job ID, input
// commitments, output commitment) is verified, and the output commitment is
// recomputed from what was received.
func ReceiveResult(ctx context.Context, sess *Session, job RecipientJob) (*Result, error) {
	spec := sess.spec
	if sess.self != spec.Recipient {
		return nil, fmt.Errorf("jobrun: %s is not job %s's recipient", sess.self, spec.ID)
	}
	if job.CommitteeKey == nil || job.CommitteeKey.N != len(spec.Committee) {
		return nil, errors.New("jobrun: recipient needs the committee's BLS key")
	}
	if len(job.InputCommitments) != len(spec.Providers) {
		return nil, fmt.Errorf("jobrun: %d input commitments for %d providers", len(job.InputCommitments), len(spec.Providers))
	}
	if job.OutputTimeout <= 0 {
		job.OutputTimeout = 10 * time.Minute
	}
	if spec.Type.IsHE() {
		return receiveHE(ctx, sess, job)
	}
	return receiveSS(ctx, sess, job)
}

// verifyRecord checks the committee's signature on the record.
func verifyRecord(spec *Spec, job RecipientJob, oc, sig []byte) error {
	msg, err := committee.ResultMessage(spec.ID, job.InputCommitments, oc)
	if err != nil {
		return err
	}
	return committee.VerifySignature(job.CommitteeKey, msg, sig)
}

func receiveHE(ctx context.Context, sess *Session, job RecipientJob) (*Result, error) {
	spec := sess.spec
	if job.Preset == nil {
		return nil, errors.New("jobrun: HE recipient needs the preset")
	}
	r := he.NewRecipient(job.Preset)
	pk, err := MarshalHEPublicKey(job.Preset, r.PublicKey())
	if err != nil {
		return nil, err
	}
	keyMsg := encodeChunks(kindRecipientKey, pk)
	sent := 0
	for _, m := range spec.Committee {
		if sess.send(ctx, m, kindRound(kindRecipientKey), keyMsg) == nil {
			sent++
		}
	}
	if sent < spec.Threshold {
		return nil, fault(spec, FaultMemberDropped, errors.New("too few members reachable for the recipient key"))
	}

	octx, cancel := context.WithTimeout(ctx, job.OutputTimeout)
	defer cancel()
	type reply struct {
		member string
		res    *Result
		err    error
	}
	replies := make(chan reply, len(spec.Committee))
	for _, m := range spec.Committee {
		go func() {
			b, err := sess.recv(octx, m, kindRound(kindOutput))
			if err != nil {
				replies <- reply{member: m, err: err}
				return
			}
			res, err := openHEOutput(spec, job, r, b)
			replies <- reply{member: m, res: res, err: err}
		}()
	}
	var bad []string
	var firstErr error
	for left := len(spec.Committee); left > 0; left-- {
		rp := <-replies
		if rp.err == nil {
			cancel() // the others' messages are not needed: stop and join their readers
			for ; left > 1; left-- {
				<-replies
			}
			return rp.res, nil
		}
		if firstErr == nil {
			firstErr = rp.err
		}
		if !errors.Is(rp.err, context.Canceled) && !errors.Is(rp.err, context.DeadlineExceeded) && errors.Is(rp.err, errBadOutput) {
			bad = append(bad, rp.member)
		}
	}
	if len(bad) > 0 {
		return nil, fault(spec, FaultBadOutput, firstErr, bad...)
	}
	return nil, fault(spec, FaultMemberDropped, fmt.Errorf("no member delivered the result: %w", firstErr))
}

var errBadOutput = errors.New("output does not verify")

// openHEOutput verifies one member's output message and decrypts it.
func openHEOutput(spec *Spec, job RecipientJob, r *he.Recipient, b []byte) (*Result, error) {
	ch, err := decodeChunks(b, kindOutput, 3, 2+maxHEOutputs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadOutput, err)
	}
	oc, sig, outputs := ch[0], ch[1], ch[2:]
	scheme := he.CKKS
	if spec.Type == Aggregate {
		scheme = he.BGV
	}
	ids := make([]he.CiphertextID, len(outputs))
	for i, o := range outputs {
		if _, ids[i], err = job.Preset.UnmarshalCiphertext(scheme, o); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadOutput, err)
		}
	}
	if !bytes.Equal(HEOutputCommitment(spec.ID, ids), oc) {
		return nil, fmt.Errorf("%w: ciphertexts do not match the output commitment", errBadOutput)
	}
	if err := verifyRecord(spec, job, oc, sig); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadOutput, err)
	}
	res := &Result{JobID: spec.ID, Type: spec.Type, OutputCommitment: hex.EncodeToString(oc), Signature: hex.EncodeToString(sig)}
	heRes := &he.Result{Outputs: outputs}
	switch spec.Type {
	case CreditScore:
		scores, err := jobs.DecryptCreditScores(r, heRes, spec.Credit().Subjects)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadOutput, err)
		}
		res.Scores = scores
	case Aggregate:
		st, err := jobs.DecryptAggregate(r, job.Preset, aggregateSpec(spec.AggregateParams()), heRes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadOutput, err)
		}
		res.Aggregate = &AggregateResult{Count: st.Count, Sum: st.Sum, SumSq: st.SumSq, Mean: st.Mean, Variance: st.Variance, Histogram: st.Histogram}
	}
	return res, nil
}

// maxHEOutputs bounds the ciphertexts of an HE result (aggregate: 3).
const maxHEOutputs = 8

func receiveSS(ctx context.Context, sess *Session, job RecipientJob) (*Result, error) {
	spec := sess.spec
	n := len(spec.Committee)
	params, err := ss.NewParams(n)
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, job.OutputTimeout)
	defer cancel()
	msgs, errs := fromEach(octx, sess, kindRound(kindOutput))

	// Every member sends the same public part and one private chunk, its
	// shares for the recipient: auctions (commitment, signature, output
	// share of winner, price and salt); clearing (commitment, signature,
	// level, price, level salt share, MPC commitments).
	chunks, private := 3, 2
	if spec.Type == Clearing {
		chunks, private = 5+1+len(spec.Providers), 4
	}
	var ref [][]byte
	parts := make([]*jobs.OutputShare, n)
	var missing, bad []string
	for j, b := range msgs {
		if errs[j] != nil {
			missing = append(missing, spec.Committee[j])
			continue
		}
		ch, err := decodeChunks(b, kindOutput, chunks, chunks)
		if err != nil {
			bad = append(bad, spec.Committee[j])
			continue
		}
		var share jobs.OutputShare
		if spec.Type == Clearing {
			share.Salt, err = parseElement(ch[private])
		} else {
			share, err = jobs.DecodeOutputShare(ch[private], 2)
			if err == nil && len(share.Values) != 2 {
				err = errMalformed
			}
		}
		if err != nil {
			bad = append(bad, spec.Committee[j])
			continue
		}
		pub := append(append([][]byte(nil), ch[:private]...), ch[private+1:]...)
		if ref == nil {
			ref = pub
		} else if !equalChunks(ref, pub) {
			return nil, fault(spec, FaultBadOutput, errors.New("members sent different results"), spec.Committee[j])
		}
		parts[j] = &share
	}
	if ref == nil || n-len(missing)-len(bad) < params.T+1 {
		if len(bad) > 0 {
			return nil, fault(spec, FaultBadOutput, errors.New("malformed output messages"), bad...)
		}
		return nil, fault(spec, FaultMemberDropped, errors.New("too few members delivered the result"), missing...)
	}
	oc, sig := ref[0], ref[1]
	if err := verifyRecord(spec, job, oc, sig); err != nil {
		return nil, fault(spec, FaultBadOutput, err)
	}
	ocEl, err := parseElement(oc)
	if err != nil {
		return nil, fault(spec, FaultBadOutput, err)
	}
	res := &Result{JobID: spec.ID, Type: spec.Type, OutputCommitment: hex.EncodeToString(oc), Signature: hex.EncodeToString(sig)}
	switch spec.Type {
	case AuctionFirst, AuctionVickrey:
		a, price, salt, err := openAuctionShares(spec, params, parts, ocEl)
		if err != nil {
			return nil, err
		}
		res.OpeningSalt = hex.EncodeToString(elementBytes(salt))
		res.Auction = &AuctionResult{Winner: spec.Providers[a], WinnerIndex: a, Price: price}
	case Clearing:
		saltShares := make([]fr.Vector, n)
		for j, p := range parts {
			if p != nil {
				saltShares[j] = fr.Vector{p.Salt}
			}
		}
		saltV, err := ss.Reconstruct(params, saltShares)
		if err != nil {
			return nil, fault(spec, FaultBadOutput, err)
		}
		salt := saltV[0]
		res.OpeningSalt = hex.EncodeToString(elementBytes(salt))
		lvl, err1 := parseU64(ref[2])
		price, err2 := parseU64(ref[3])
		if err1 != nil || err2 != nil {
			return nil, fault(spec, FaultBadOutput, errMalformed)
		}
		level := int64(lvl)
		cs := make([]fr.Element, len(ref)-4)
		for i := range cs {
			if cs[i], err = parseElement(ref[4+i]); err != nil {
				return nil, fault(spec, FaultBadOutput, err)
			}
		}
		var lv fr.Element
		lv.SetInt64(level)
		prices := spec.ClearingParams().Prices
		if level < -1 || level >= int64(len(prices)) {
			return nil, fault(spec, FaultBadOutput, errors.New("clearing level out of range"))
		}
		if c := ss.NativeCommit([]fr.Element{lv}, salt); !c.Equal(&cs[0]) {
			return nil, fault(spec, FaultBadOutput, errors.New("level does not open its commitment"))
		}
		if c := clearingOutputCommitment(cs); !c.Equal(&ocEl) {
			return nil, fault(spec, FaultBadOutput, errors.New("commitments do not hash to the output commitment"))
		}
		if (level >= 0 && price != prices[level]) || (level < 0 && price != 0) {
			return nil, fault(spec, FaultBadOutput, errors.New("price is not the clearing level's"))
		}
		res.Clearing = &ClearingResult{Level: int(level), Price: price}
	}
	return res, nil
}

// maxOpenAttempts bounds the (t+1)-subsets of members' shares the recipient
// tries when the first t+1 do not open the output commitment.
const maxOpenAttempts = 1024

// openAuctionShares recovers an auction's winner, price and salt from the
// members' output shares (nil: missing). Any t+1 shares that open the signed
// output commitment give the result (the commitment binds it); every other
// member's share is then checked against them — swapped in for one of the
// t+1, it must open the commitment too — so a member that sent a wrong share
// is named, as one that sent a wrong signature is. (Attribution assumes the
// engine's semi-honest model: members colluding to shift their shares so
// that the shifts cancel at 0 could get an honest member named; they still
// cannot change the result, which the signed commitment binds.)
func openAuctionShares(spec *Spec, params *ss.Params, parts []*jobs.OutputShare, oc fr.Element) (int, uint64, fr.Element, error) {
	n, bids := len(parts), len(spec.Providers)
	var have []int
	for j, p := range parts {
		if p != nil {
			have = append(have, j)
		}
	}
	pick := func(members []int) []*jobs.OutputShare {
		sub := make([]*jobs.OutputShare, n)
		for _, j := range members {
			sub[j] = parts[j]
		}
		return sub
	}
	var good []int
	var winner int
	var price uint64
	var salt fr.Element
	tries := 0
	subsets(len(have), params.T+1, func(idx []int) bool {
		if tries++; tries > maxOpenAttempts {
			return false
		}
		members := make([]int, len(idx))
		for i, k := range idx {
			members[i] = have[k]
		}
		w, p, s, err := jobs.OpenAuction(n, bids, pick(members), oc)
		if err != nil {
			return true
		}
		good, winner, price, salt = members, w, p, s
		return false
	})
	if good == nil {
		return 0, 0, fr.Element{}, fault(spec, FaultBadOutput, errors.New("no t+1 members' shares open the output commitment"))
	}
	var bad []string
	for _, k := range have {
		if slices.Contains(good, k) {
			continue
		}
		if _, _, _, err := jobs.OpenAuction(n, bids, pick(append(slices.Clone(good[:params.T]), k)), oc); err != nil {
			bad = append(bad, spec.Committee[k])
		}
	}
	if len(bad) > 0 {
		return 0, 0, fr.Element{}, fault(spec, FaultBadOutput, errors.New("output shares inconsistent with the other members'"), bad...)
	}
	return winner, price, salt, nil
}

// subsets calls yield with every k-subset of {0..n-1} (as increasing
// indices, in lexicographic order) until yield returns false.
func subsets(n, k int, yield func([]int) bool) {
	if k > n {
		return
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		if !yield(idx) {
			return
		}
		i := k - 1
		for i >= 0 && idx[i] == n-k+i {
			i--
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}

func equalChunks(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
