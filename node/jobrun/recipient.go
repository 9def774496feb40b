package jobrun

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
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
	// CandidateGrace bounds the wait for the other members' HE candidates
	// once one member answered (default heCandidateGrace, 60 s); a member
	// of the key-switching family silent by then is re-formed without.
	CandidateGrace time.Duration
}

// ReceiveResult is the recipient's role. For HE jobs it makes a fresh key
// pair for this job (the secret key never leaves this function), sends the
// public key to the committee and decrypts the key-switched result from the
// first member whose message verifies. For SS jobs it collects the members'
// output messages and reconstructs the result (auctions: winner and price,
// which only the recipient learns) and its commitment's salt by the one
// rule of SS outputs (jobs.OpenOutput; doc.go, "SS results at the
// recipient"): t+1 shares open the commitment, every other must agree.
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
	pk, err := job.Preset.MarshalPublicKey(r.PublicKey())
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
	oc, res, err := checkHECandidates(octx, sess, job, r)
	if err != nil {
		return nil, err
	}

	// The committee signs only after the accepting verdict; any member's
	// signature will do.
	type reply struct {
		member string
		sig    []byte
		err    error
	}
	sctx, stop := context.WithCancel(octx)
	defer stop()
	replies := make(chan reply, len(spec.Committee))
	for _, m := range spec.Committee {
		go func() {
			b, err := sess.recv(sctx, m, kindRound(kindOutput))
			if err != nil {
				replies <- reply{member: m, err: err}
				return
			}
			sig, err := openHESignature(spec, job, oc, b)
			replies <- reply{member: m, sig: sig, err: err}
		}()
	}
	var bad []string
	var firstErr error
	for left := len(spec.Committee); left > 0; left-- {
		rp := <-replies
		if rp.err == nil {
			stop() // the others' messages are not needed: stop and join their readers
			for ; left > 1; left-- {
				<-replies
			}
			res.Signature = hex.EncodeToString(rp.sig)
			return res, nil
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
	return nil, fault(spec, FaultMemberDropped, fmt.Errorf("no member delivered the signed result: %w", firstErr))
}

var errBadOutput = errors.New("output does not verify")

// heCandidateGrace bounds the recipient's wait for the other members once
// one member's candidate or standby arrived (RecipientJob.CandidateGrace
// overrides it). It must stay well below the members' wait for the verdict
// (CommitteeJob.InputTimeout, default 2 min) and well above their wait for
// a peer's key-switching share (CommitteeJob.StepTimeout, default 30 s): a
// member that a vanished peer's shares did not reach sends its standby only
// after that wait, and must still be counted as present. A member of the
// family that sent nothing by then has dropped: the recipient re-forms the
// family without it (see hecheck.go) or, past the bound, rejects naming it.
const heCandidateGrace = 60 * time.Second

// checkHECandidates collects the members' key-switched results, decrypts
// and compares the key switches of every t-subset, and sends every member
// the verdict. It waits for a candidate from every member of the subsets,
// and all must be identical: a result is accepted only when every member
// that took part endorses it, so a deviant cannot present a family of its
// own choosing. Only members that aggregated the key switches themselves
// send candidates (a result a member adopted from a peer's announcement,
// he.Result.Adopted, is never sent); every member of a subset aggregated
// them, and every subset holds at least one honest member when fewer than
// t are corrupt. When a member of the family stays silent, the members it
// heard from key-switch again without it (a re-form, at most
// maxReforms(n, t) times); every epoch is judged on its own key switches.
// It returns the output commitment and the decrypted result (unsigned).
func checkHECandidates(ctx context.Context, sess *Session, job RecipientJob, r *he.Recipient) ([]byte, *Result, error) {
	spec := sess.spec
	n := len(spec.Committee)
	var exclude []transport.PartyID
	for epoch := 0; ; epoch++ {
		ep := collectHECandidates(ctx, sess, job, epoch, exclude)
		if ep.failed == nil && ep.dropped != nil && ep.res != nil {
			// Compare the key switches this epoch did deliver before
			// re-forming: a deviant that shifted its shares and then
			// fell silent must not escape the comparison by forcing a
			// re-form (whose result would be right, the deviant unseen).
			if _, err := openHEResult(spec, job, r, ep.oc, ep.res); errors.Is(err, he.ErrKeySwitchMismatch) {
				ep.failed = err
			}
		}
		if ep.failed == nil && ep.dropped != nil {
			// A member of the family fell silent. Re-form with the
			// members we heard from, if that leaves out someone new and
			// keeps more than t (the members check the same bound).
			var next []transport.PartyID
			for j := 0; j < n; j++ {
				if !ep.heard[j] {
					next = append(next, transport.PartyID(j))
				}
			}
			if epoch < maxReforms(n, spec.Threshold) && len(next) > len(exclude) && n-len(next) > spec.Threshold {
				msg := encodeReform(next, ep.dropped.Error())
				for _, m := range spec.Committee {
					_ = sess.send(ctx, m, epochRound(kindHEVerdict, epoch), msg)
				}
				exclude = next
				continue
			}
			ep.failed = ep.dropped
		}
		failed := ep.failed
		var res *Result
		if failed == nil {
			res, failed = openHEResult(spec, job, r, ep.oc, ep.res)
		}
		// Tell every member, so that none signs a rejected result and none
		// waits in vain (best effort: a member that left does not need it).
		verdict := encodeVerdict(ep.oc, failed == nil, errString(failed))
		for _, m := range spec.Committee {
			_ = sess.send(ctx, m, epochRound(kindHEVerdict, epoch), verdict)
		}
		if failed != nil {
			return nil, nil, failed
		}
		return ep.oc, res, nil
	}
}

// heEpoch is what the recipient gathered in one epoch.
type heEpoch struct {
	oc  []byte
	res *he.Result
	// heard marks the members that sent a candidate or a standby.
	heard []bool
	// failed: the epoch's result is to be rejected (malformed or
	// differing candidates). dropped: a member of the family (or, without
	// any candidate, every member) did not deliver; a re-form may help.
	failed, dropped error
}

// collectHECandidates gathers epoch's candidates and standbys from every
// member not in exclude, until every member of the family sent its
// candidate, every member answered, or the grace after the first answer
// passed.
func collectHECandidates(ctx context.Context, sess *Session, job RecipientJob, epoch int, exclude []transport.PartyID) heEpoch {
	spec := sess.spec
	n := len(spec.Committee)
	grace := job.CandidateGrace
	if grace <= 0 {
		grace = heCandidateGrace
	}
	type reply struct {
		member int
		b      []byte
		err    error
	}
	cctx, stop := context.WithCancel(ctx)
	replies := make(chan reply, n)
	left := 0
	for j, m := range spec.Committee {
		if slices.Contains(exclude, transport.PartyID(j)) {
			continue
		}
		left++
		go func() {
			b, err := sess.recv(cctx, m, epochRound(kindHECandidate, epoch))
			replies <- reply{member: j, b: b, err: err}
		}()
	}
	ep := heEpoch{heard: make([]bool, n)}
	var ref []byte
	have := make([]bool, n) // sent the candidate
	missing := map[int]error{}
	standby := 0
	need := func() bool { // a member of the subsets has not sent the candidate
		if ep.res == nil {
			return true
		}
		for _, ks := range ep.res.KeySwitches() {
			for _, p := range ks.Subset {
				if !have[p] {
					return true
				}
			}
		}
		return false
	}
	var malformed []string
	var malformedErr error
	// Once a member answered, the others get grace to answer too, well
	// within the members' wait for the verdict, so that a member that left
	// is named (or re-formed without) instead of every member blaming the
	// recipient.
	var timeout <-chan time.Time
loop:
	for ; left > 0 && ep.failed == nil && need(); left-- {
		var rp reply
		select {
		case rp = <-replies:
		case <-timeout:
			break loop
		}
		m := spec.Committee[rp.member]
		if rp.err != nil {
			missing[rp.member] = rp.err
			continue
		}
		if timeout == nil {
			timer := time.NewTimer(grace)
			defer timer.Stop()
			timeout = timer.C
		}
		if isStandby(rp.b) {
			ep.heard[rp.member] = true
			standby++
			continue
		}
		if ref != nil {
			have[rp.member], ep.heard[rp.member] = true, true
			if !bytes.Equal(rp.b, ref) {
				// Which member is at fault is unknown: a deviant may have
				// sent different shares to different members.
				ep.failed = fault(spec, FaultBadOutput, fmt.Errorf("members sent different key-switched results (%s's differs)", m))
			}
			continue
		}
		c, res, err := decodeHECandidate(spec, job.Preset, rp.b)
		if err == nil {
			err = checkEpochFamily(res, exclude)
		}
		if err != nil {
			// The member's own message is malformed: its fault. Keep
			// collecting, to answer the others with a verdict.
			malformed, malformedErr = append(malformed, m), err
			continue
		}
		have[rp.member], ep.heard[rp.member] = true, true
		ep.oc, ref, ep.res = c, rp.b, res
	}
	stop()
	for ; left > 0; left-- {
		<-replies
	}
	if ep.failed == nil && len(malformed) > 0 {
		ep.failed = fault(spec, FaultBadOutput, fmt.Errorf("%w: %v", errBadOutput, malformedErr), malformed...)
	}
	if ep.failed != nil {
		return ep
	}
	if ep.res == nil {
		var names []string
		var first error
		for j := 0; j < n; j++ {
			if err, ok := missing[j]; ok {
				names = append(names, spec.Committee[j])
				first = err
			}
		}
		if first == nil {
			first = fmt.Errorf("%d members on standby, none finished", standby)
		}
		ep.dropped = fault(spec, FaultMemberDropped, fmt.Errorf("no member delivered the result: %w", first), names...)
		return ep
	}
	if need() {
		// Name the members of the subsets that sent nothing. A member on
		// standby answered: it could not finish the attempt the others
		// finished because a peer's shares did not reach it, which a
		// deviant sending its shares to only some members causes at will;
		// it is not named, and when every missing candidate is a
		// standby's nobody is.
		var names []string
		first := fmt.Errorf("no answer within %v of the first", grace)
		onStandby := false
		for _, ks := range ep.res.KeySwitches() {
			for _, p := range ks.Subset {
				switch {
				case have[p] || slices.Contains(names, spec.Committee[p]):
				case ep.heard[p]:
					onStandby = true
				default:
					names = append(names, spec.Committee[p])
					if err := missing[int(p)]; err != nil {
						first = err
					}
				}
			}
		}
		if len(names) == 0 && onStandby {
			first = errors.New("members of the subsets are on standby: they could not finish the attempt the others finished (a peer's shares did not reach them; nobody is named, since a deviant sending its shares to only some members causes this)")
		}
		ep.dropped = fault(spec, FaultMemberDropped, fmt.Errorf("a member of the key-switching subsets did not deliver the result: %w", first), names...)
	}
	return ep
}

// checkEpochFamily refuses a candidate whose family holds a member the
// re-form left out: honest members never key-switch with it.
func checkEpochFamily(res *he.Result, exclude []transport.PartyID) error {
	for _, ks := range res.KeySwitches() {
		for _, p := range ks.Subset {
			if slices.Contains(exclude, p) {
				return fmt.Errorf("%w: member %d, left out by a re-form, is in a key-switching subset", errMalformed, p)
			}
		}
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// openHEResult decrypts a checked candidate; a disagreement between the
// key switches is a bad-output fault naming the member(s) the decryptions
// identify, if any.
func openHEResult(spec *Spec, job RecipientJob, r *he.Recipient, oc []byte, heRes *he.Result) (*Result, error) {
	res := &Result{JobID: spec.ID, Type: spec.Type, OutputCommitment: hex.EncodeToString(oc)}
	var err error
	switch spec.Type {
	case CreditScore:
		res.Scores, err = jobs.DecryptCreditScores(r, heRes, spec.Credit().Subjects, spec.Threshold, len(spec.Committee))
	case Aggregate:
		var st jobs.AggregateStats
		if st, err = jobs.DecryptAggregate(r, job.Preset, aggregateSpec(spec.AggregateParams()), heRes, spec.Threshold, len(spec.Committee)); err == nil {
			res.Aggregate = &AggregateResult{Count: st.Count, Sum: st.Sum, SumSq: st.SumSq, Mean: st.Mean, Variance: st.Variance, Histogram: st.Histogram}
		}
	default:
		err = fmt.Errorf("%s is not an HE job", spec.Type)
	}
	if err != nil {
		var me *he.MismatchError
		var names []string
		if errors.As(err, &me) {
			for _, p := range me.Deviants {
				names = append(names, spec.Committee[p])
			}
		}
		return nil, fault(spec, FaultBadOutput, err, names...)
	}
	return res, nil
}

// openHESignature verifies one member's signature message on the accepted
// output commitment oc.
func openHESignature(spec *Spec, job RecipientJob, oc, b []byte) ([]byte, error) {
	ch, err := decodeChunks(b, kindOutput, 2, 2)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadOutput, err)
	}
	if !bytes.Equal(ch[0], oc) {
		return nil, fmt.Errorf("%w: signature on another output commitment", errBadOutput)
	}
	if err := verifyRecord(spec, job, oc, ch[1]); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadOutput, err)
	}
	return ch[1], nil
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
	// tender (commitment, signature, award share, MPC commitments).
	chunks, private, values := 3, 2, 2
	switch spec.Type {
	case Clearing:
		chunks, private = 5+1+len(spec.Providers), 4
	case Tender:
		quotes := len(spec.Providers) / 2
		chunks, values = 3+1+quotes, 2*quotes
	}
	parts := make([]*jobs.OutputShare, n)
	pubs := make([][][]byte, n)
	var missing, malformed []string
	for j, b := range msgs {
		if errs[j] != nil {
			missing = append(missing, spec.Committee[j])
			continue
		}
		ch, err := decodeChunks(b, kindOutput, chunks, chunks)
		if err != nil {
			malformed = append(malformed, spec.Committee[j])
			continue
		}
		var share jobs.OutputShare
		if spec.Type == Clearing {
			share.Salt, err = parseElement(ch[private])
		} else {
			share, err = jobs.DecodeOutputShare(ch[private], values)
			if err == nil && len(share.Values) != values {
				err = errMalformed
			}
		}
		if err != nil {
			malformed = append(malformed, spec.Committee[j])
			continue
		}
		pubs[j] = append(append([][]byte(nil), ch[:private]...), ch[private+1:]...)
		parts[j] = &share
	}
	ref, err := agreedOutput(spec, "output", params.T+1, pubs, malformed, missing)
	if err != nil {
		return nil, err
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
		a, price, salt, err := jobs.OpenAuction(n, len(spec.Providers), parts, ocEl)
		if err != nil {
			return nil, shareFault(spec, "output", err)
		}
		res.OpeningSalt = hex.EncodeToString(elementBytes(salt))
		res.Auction = &AuctionResult{Winner: spec.Providers[a], WinnerIndex: a, Price: price}
	case Clearing:
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
		if c := jobs.CombineCommitments(cs); !c.Equal(&ocEl) {
			return nil, fault(spec, FaultBadOutput, errors.New("commitments do not hash to the output commitment"))
		}
		// The level is public, its salt shared: the salt opens the level's
		// commitment by the one rule (jobs.OpenOutput).
		_, salt, err := jobs.OpenOutput(n, parts, fr.Vector{lv}, cs[0])
		if err != nil {
			return nil, shareFault(spec, "level salt", err)
		}
		res.OpeningSalt = hex.EncodeToString(elementBytes(salt))
		if (level >= 0 && price != prices[level]) || (level < 0 && price != 0) {
			return nil, fault(spec, FaultBadOutput, errors.New("price is not the clearing level's"))
		}
		res.Clearing = &ClearingResult{Level: int(level), Price: price}
	case Tender:
		t, err := openTender(spec, parts, ref[2:], ocEl)
		if err != nil {
			return nil, err
		}
		res.Tender = t
	}
	return res, nil
}

// openTender recovers a tender's award from the members' shares (by
// jobs.OpenOutput's rule: t+1 open the award commitment, every other share
// is on their polynomial), after checking that the MPC commitments
// the members sent hash to the signed output commitment, and checks the
// award against the order: at most Quantity in all, a chosen quote (quantity
// ≥ 1) at most MaxPartners times and never above max_price or its proven
// capacity's bound, a quote not chosen with price 0.
func openTender(spec *Spec, parts []*jobs.OutputShare, commitments [][]byte, oc fr.Element) (*TenderResult, error) {
	p := spec.TenderParams()
	quotes := len(spec.Providers) / 2
	if len(commitments) != quotes+1 {
		return nil, fault(spec, FaultBadOutput, fmt.Errorf("%w: %d commitments for %d quotes", errMalformed, len(commitments), quotes))
	}
	cs := make([]fr.Element, len(commitments))
	hexCs := make([]string, len(commitments))
	for i, b := range commitments {
		var err error
		if cs[i], err = parseElement(b); err != nil {
			return nil, fault(spec, FaultBadOutput, err)
		}
		hexCs[i] = hex.EncodeToString(b)
	}
	if c := jobs.CombineCommitments(cs); !c.Equal(&oc) {
		return nil, fault(spec, FaultBadOutput, errors.New("commitments do not hash to the output commitment"))
	}
	award, salt, err := jobs.OpenTender(len(spec.Committee), quotes, parts, cs[0])
	if err != nil {
		return nil, shareFault(spec, "award", err)
	}
	res := &TenderResult{Award: award, AwardSalt: hex.EncodeToString(elementBytes(salt)), Commitments: hexCs}
	var total uint64
	for k := 0; k < quotes; k++ {
		q, price := award[2*k], award[2*k+1]
		if q == 0 {
			if price != 0 {
				return nil, fault(spec, FaultBadOutput, fmt.Errorf("quote %d not chosen but priced", k))
			}
			continue
		}
		if q > p.Quantity || price > p.MaxPrice {
			return nil, fault(spec, FaultBadOutput, fmt.Errorf("quote %d awarded out of range", k))
		}
		total += q
		res.Partners = append(res.Partners, TenderPartner{Member: SlotNode(spec.Providers[2*k]), Quote: k, Quantity: q, Price: price})
	}
	if total > p.Quantity || len(res.Partners) > p.MaxPartners {
		return nil, fault(spec, FaultBadOutput, fmt.Errorf("award of %d to %d partners exceeds the order", total, len(res.Partners)))
	}
	return res, nil
}

// shareFault turns the failure to open an output from the members' shares
// (jobs.OpenOutput's rule) into a bad-output fault: when a share is off the
// polynomial the others define, the members whose shares deviated beyond
// doubt are named (none when the shares alone cannot tell, see
// jobs.OpenOutput); when no t+1 shares open the signed commitment nobody is
// (jobs.ErrNotOpened says why the shares cannot tell).
func shareFault(spec *Spec, what string, err error) error {
	var ie *jobs.InconsistentSharesError
	var names []string
	if errors.As(err, &ie) {
		for _, p := range ie.Parties {
			if p >= 0 && p < len(spec.Committee) {
				names = append(names, spec.Committee[p])
			}
		}
	}
	return fault(spec, FaultBadOutput, fmt.Errorf("%w: %s shares: %v", errBadOutput, what, err), names...)
}

// agreedOutput checks the public part of the members' output messages of
// one kind (SS results, allocation commitments) and returns the one t+1
// members sent identically, k = t+1. pubs is indexed by member, nil when
// its message is missing or malformed; malformed and missing list those
// members.
//
// A member whose message does not decode deviated beyond doubt (the
// transport authenticates the sender): it is named whatever the others
// sent, not silently left out because t+1 others suffice. At most t
// members deviate, so t+1 identical copies include an honest member's, and
// honest members all send the same: the members that sent another are
// named. The first copy received is not taken on trust, or a deviant first
// in committee order would get the honest members named. With no t+1
// copies alike, the parts differ but nobody can be named.
func agreedOutput(spec *Spec, what string, k int, pubs [][][]byte, malformed, missing []string) ([][]byte, error) {
	ref, split := agreedPublic(pubs, k)
	var differ []string
	for j, pub := range pubs {
		if ref != nil && pub != nil && !equalChunks(ref, pub) {
			differ = append(differ, spec.Committee[j])
		}
	}
	switch {
	case len(malformed) > 0 || len(differ) > 0:
		var why []string
		if len(malformed) > 0 {
			why = append(why, fmt.Sprintf("malformed %s messages from %s", what, strings.Join(malformed, ", ")))
		}
		if len(differ) > 0 {
			why = append(why, fmt.Sprintf("%s differing from the one %d members agree on from %s", what, k, strings.Join(differ, ", ")))
		}
		return nil, fault(spec, FaultBadOutput, fmt.Errorf("%w: %s", errBadOutput, strings.Join(why, "; ")), append(slices.Clone(malformed), differ...)...)
	case ref == nil && split:
		return nil, fault(spec, FaultBadOutput, fmt.Errorf("members sent different %s and no %d of them agree", what, k))
	case ref == nil:
		return nil, fault(spec, FaultMemberDropped, fmt.Errorf("too few members delivered the %s", what), missing...)
	}
	return ref, nil
}

// agreedPublic returns the public part that at least k members sent
// identically (nil when none did, or when two different ones did, which
// takes more than k-1 deviants), and whether the members sent more than
// one. pubs is indexed by member, nil for a missing or malformed message.
func agreedPublic(pubs [][][]byte, k int) (ref [][]byte, split bool) {
	var first [][]byte
	for _, p := range pubs {
		if p == nil {
			continue
		}
		if first == nil {
			first = p
		} else if !equalChunks(first, p) {
			split = true
		}
		same := 0
		for _, q := range pubs {
			if q != nil && equalChunks(p, q) {
				same++
			}
		}
		if same < k {
			continue
		}
		if ref != nil && !equalChunks(ref, p) {
			return nil, true
		}
		ref = p
	}
	return ref, split
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
