package he

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"

	"github.com/cohortnet/cohort/mpc/transport"
)

// Circuit evaluates a job on the committee's keys and returns the
// ciphertexts to deliver. It must be deterministic: every member that runs
// it on the same inputs must obtain byte-identical ciphertexts, which the
// members check before they release key-switching shares.
type Circuit func(ctx context.Context) ([]*rlwe.Ciphertext, error)

// RunConfig describes one job's output phase.
type RunConfig struct {
	// Scheme of the circuit's ciphertexts.
	Scheme Scheme
	// Recipient is the public key the result is re-encrypted to.
	Recipient *rlwe.PublicKey
	// StepTimeout bounds each wait for a peer in the key-switching rounds
	// (default 30 s). A peer that does not answer in time is suspected and
	// the run retries without it.
	StepTimeout time.Duration
	// IdleTimeout bounds how long a member outside the active subset waits
	// for the subset to finish (default 10 min).
	IdleTimeout time.Duration
	// MaxAttempts bounds the number of attempts (default N-t+1).
	MaxAttempts int
	// Subsets is the number of t-subsets that key-switch the result when
	// more than t members are online (see KeySwitchFamily). The default and
	// minimum is the fewest subsets that leave every online member out of at
	// least one; more subsets let the recipient identify a deviating member
	// in more cases, at one more key-switching share per subset and member.
	Subsets int

	// Epoch numbers a re-formed run of the same job (node/jobrun: the
	// recipient saw a member of the previous family drop after it joined;
	// see the package doc, "Re-forms"). Each epoch runs on
	// rounds of its own, so that nothing of an earlier epoch (a late share,
	// an announcement) is taken for this one's. 0 ≤ Epoch < MaxEpochs.
	Epoch int
	// Exclude lists members left out of every attempt from the start, as
	// if already suspected: the members a re-form drops.
	Exclude []transport.PartyID
	// State carries one job's state from epoch to epoch (nil: a job of one
	// epoch). node/jobrun passes the same State to every epoch of a job.
	State *JobState

	// floodBits, when > 0, adds to every key-switching share uniform noise
	// over [−2^floodBits, 2^floodBits) on top of the preset's smudging (the
	// setup's key test, whose decryptions every member sees; see keyTest).
	floodBits int
}

// JobState is what a member keeps of one job across its epochs (re-forms):
//   - the peers it suspects: a peer suspected in one epoch stays out of the
//     later ones, so that it cannot take part in (and collect the shares
//     of) one failing attempt per epoch;
//   - its key-switching shares, made once per job for each (subset,
//     output) and resent unchanged whenever a later attempt has the same
//     subset, so that repeating a subset gives nobody a second,
//     differently smudged key switch of the same ciphertext;
//   - how many attempts released its shares, at most MaxReleases(n, t) per
//     job (see the package doc, Privacy).
//
// The zero value is a fresh job. One Run at a time may use a JobState.
type JobState struct {
	suspects map[transport.PartyID]error
	shares   map[string]*mhe.PublicKeySwitchShare
	released int
}

// MaxReleases bounds the attempts of one job in which a member of a
// committee of n with threshold t releases its key-switching shares: one
// per member that can drop (or be suspected) while more than t remain, and
// the last with t. A member refuses to release more (ErrGaveUp).
func MaxReleases(n, t int) int { return n - t + 1 }

// Result is the outcome of a job: ciphertexts under the recipient's key.
type Result struct {
	// Outputs are canonical encodings of the key-switched ciphertexts.
	Outputs [][]byte
	// OutputIDs are the content addresses of Outputs.
	OutputIDs []CiphertextID
	// EvalIDs are the content addresses of the evaluated ciphertexts before
	// key switching; every online member computed the same.
	EvalIDs []CiphertextID
	// Subset lists the t members that key-switched Outputs.
	Subset []transport.PartyID
	// Checks are the same results key-switched by the other t-subsets of
	// the family (empty when exactly t members were online). The recipient
	// decrypts every one and compares (Recipient.DecryptFloatsChecked).
	Checks []KeySwitched
	// Attempts is the number of attempts made.
	Attempts int
	// Adopted is set when this member did not aggregate the key switches
	// itself: it was outside the subsets of the attempt that finished and
	// took the result from a peer's announcement, checking only that the
	// announced evaluation IDs equal its own evaluation's. The outputs are
	// whatever the announcing peer sent: an adopted result must not be
	// endorsed (node/jobrun never sends it to the recipient as a candidate,
	// the setup key test fails on it).
	Adopted bool
}

// KeySwitched is a result key-switched by one t-subset.
type KeySwitched struct {
	Subset    []transport.PartyID
	Outputs   [][]byte
	OutputIDs []CiphertextID
}

// KeySwitches lists every key switch of the result, Outputs' first.
func (r *Result) KeySwitches() []KeySwitched {
	all := []KeySwitched{{Subset: r.Subset, Outputs: r.Outputs, OutputIDs: r.OutputIDs}}
	return append(all, r.Checks...)
}

// NewResult assembles a Result from its key switches (the first becomes
// Outputs), as a recipient does from the messages it received.
func NewResult(evalIDs []CiphertextID, switches []KeySwitched) *Result {
	res := &Result{EvalIDs: evalIDs}
	if len(switches) > 0 {
		res.Subset, res.Outputs, res.OutputIDs = switches[0].Subset, switches[0].Outputs, switches[0].OutputIDs
		res.Checks = switches[1:]
	}
	return res
}

// ErrNotEnoughMembers is returned when fewer than t members are online.
var ErrNotEnoughMembers = errors.New("he: not enough committee members online")

// errViewMismatch: a peer made its key-switching shares for another family
// of subsets, i.e. it saw another set of online members. That shows that
// views differ (a hello lost, late, or withheld by a deviant from some
// members only), not that this peer is at fault: the attempt is redone
// without suspecting anyone.
var errViewMismatch = errors.New("he: members saw different sets of online members")

// ErrFinishedWithout is returned by a member that took part in an attempt
// which a peer announces finished but which this member could not finish
// (a share did not reach it): it can neither check the peer's result nor
// make a second one.
var ErrFinishedWithout = errors.New("he: other members finished an attempt this member could not")

// MaxEpochs bounds RunConfig.Epoch: a job is re-formed at most
// MaxEpochs−1 times (node/jobrun bounds it far lower, see its doc).
const MaxEpochs = 64

// ErrGaveUp is returned when the attempts of one epoch are exhausted.
var ErrGaveUp = errors.New("he: job gave up")

// ErrEvaluationMismatch is returned when members evaluated different
// ciphertexts: inputs differ between members or a member misbehaves.
var ErrEvaluationMismatch = errors.New("he: committee members evaluated different ciphertexts")

// Job rounds: attempt a uses rounds jobRoundBase + a·jobRoundStride + step;
// epoch e's attempts are numbered from e·epochAttempts.
const (
	epochAttempts                  = 1 << 12
	jobRoundBase   transport.Round = 1 << 32
	jobRoundStride transport.Round = 1 << 8
	stepHello      transport.Round = 0
	stepPCKS       transport.Round = 1
	stepView       transport.Round = 2
)

// pcksWithheld is the whole key-switching message of a member that saw the
// attempt's views disagree (or a peer's view not arrive) and so releases no
// share: its peers redo the attempt rather than wait for its shares and
// suspect it.
const pcksWithheld byte = 0xff

func jobRound(attempt int, step transport.Round) transport.Round {
	return jobRoundBase + transport.Round(attempt)*jobRoundStride + step
}

// round is the transport round of step of the epoch's attempt a.
func (r *runner) round(a int, step transport.Round) transport.Round {
	return jobRound(r.base+a, step)
}

// hello messages open every attempt.
const (
	helloReady byte = 1
	helloDone  byte = 2
	helloAbort byte = 3 // followed by a short, non-secret reason
)

// maxAbortReason bounds the reason text of an abort message.
const maxAbortReason = 512

// ErrJobAborted is returned when another member aborted the job.
var ErrJobAborted = errors.New("he: job aborted by a committee member")

// peekTimeout is how long a member waits for a suspect's announcement that
// may already be queued.
const peekTimeout = 50 * time.Millisecond

// maxOutputs bounds the number of ciphertexts in one job result.
const maxOutputs = 64

// Run performs the output phase of a job as member m over conn: the first t
// online members (by index) evaluate circuit, check that they agree on the
// result's hash, and key-switch it to cfg.Recipient. If a member of the
// subset drops, the others retry with another subset. Every member that
// returns without error returns the same Result.
func (m *Member) Run(ctx context.Context, conn transport.Conn, cfg RunConfig, circuit Circuit) (*Result, error) {
	if conn.Parties() != m.n || conn.Self() != m.self {
		return nil, fmt.Errorf("he: job connection is member %d of %d, committee member %d of %d", conn.Self(), conn.Parties(), m.self, m.n)
	}
	if cfg.Recipient == nil {
		return nil, fmt.Errorf("he: job needs a recipient public key")
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = m.n - m.t + 1
	}
	if cfg.MaxAttempts >= epochAttempts {
		cfg.MaxAttempts = epochAttempts - 1
	}
	if cfg.Epoch < 0 || cfg.Epoch >= MaxEpochs {
		return nil, fmt.Errorf("he: epoch %d out of range [0, %d)", cfg.Epoch, MaxEpochs)
	}
	st := cfg.State
	if st == nil {
		st = &JobState{}
	}
	if st.suspects == nil {
		st.suspects = make(map[transport.PartyID]error)
	}
	if st.shares == nil {
		st.shares = make(map[string]*mhe.PublicKeySwitchShare)
	}
	r := &runner{m: m, conn: conn, cfg: cfg, circuit: circuit, state: st, suspects: st.suspects, base: cfg.Epoch * epochAttempts}
	for _, p := range cfg.Exclude {
		if int(p) < 0 || int(p) >= m.n || p == m.self {
			return nil, fmt.Errorf("he: cannot exclude member %d (member %d of %d)", p, m.self, m.n)
		}
		if r.suspects[p] == nil {
			r.suspects[p] = fmt.Errorf("excluded by a re-form")
		}
	}
	return r.run(ctx)
}

type runner struct {
	m       *Member
	conn    transport.Conn
	cfg     RunConfig
	circuit Circuit

	state    *JobState
	suspects map[transport.PartyID]error // state.suspects
	idle     bool                        // outside the previous attempt's subset
	base     int                         // the epoch's first attempt number

	evaluated []*rlwe.Ciphertext
	evalIDs   []CiphertextID
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	var lastErr error
	for a := 0; ; a++ {
		// An idle member keeps listening past the last attempt: it learns
		// there whether the last subset finished or gave up.
		if (a >= r.cfg.MaxAttempts && !r.idle) || a >= epochAttempts-1 {
			err := fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, a, lastErr)
			r.abort(ctx, a, err)
			return nil, err
		}
		alive, done, err := r.hello(ctx, a)
		if err != nil {
			return nil, err
		}
		if done != nil {
			done.Attempts = a
			return done, nil
		}
		if len(alive) < r.m.t {
			return nil, r.notEnough(alive)
		}
		family := KeySwitchFamily(alive, r.m.t, r.cfg.Subsets)
		if !inFamily(family, r.m.self) {
			r.idle = true
			continue
		}
		r.idle = false
		res, err := r.attempt(ctx, a, alive, family)
		if err == nil {
			res.Attempts = a + 1
			r.announce(ctx, a+1, res)
			return res, nil
		}
		if errors.Is(err, errViewMismatch) && ctx.Err() == nil {
			lastErr = err
			continue
		}
		var pe *transport.PartyError
		if errors.As(err, &pe) && ctx.Err() == nil {
			r.suspects[pe.Party] = pe
			lastErr = err
			continue
		}
		// A fatal error (bad input, divergent evaluation): tell the others
		// so that nobody waits for a retry that will not come.
		r.abort(ctx, a+1, err)
		return nil, err
	}
}

// notEnough names every member that is not online.
func (r *runner) notEnough(alive []transport.PartyID) error {
	var missing []string
	for i := 0; i < r.m.n; i++ {
		p := transport.PartyID(i)
		if contains(alive, p) {
			continue
		}
		reason := "no answer"
		if e := r.suspects[p]; e != nil {
			reason = e.Error()
		}
		missing = append(missing, fmt.Sprintf("member %d (%s)", i, reason))
	}
	return fmt.Errorf("%w: need %d of %d, %d online; missing: %s", ErrNotEnoughMembers, r.m.t, r.m.n, len(alive), joinStrings(missing))
}

// hello announces this member for attempt a and learns who else is there.
// If a peer already finished the job it returns that peer's result.
func (r *runner) hello(ctx context.Context, a int) ([]transport.PartyID, *Result, error) {
	round := r.round(a, stepHello)
	for i := 0; i < r.m.n; i++ {
		p := transport.PartyID(i)
		if p == r.m.self || r.suspects[p] != nil {
			continue
		}
		if err := r.conn.Send(ctx, p, round, []byte{helloReady}); err != nil {
			r.suspects[p] = err
		}
	}
	wait := r.cfg.StepTimeout
	if r.idle {
		wait = r.cfg.IdleTimeout
	}
	// Read every peer's hello concurrently, so that several silent peers
	// cost one deadline, not one each; a result or abort ends the wait.
	type reply struct {
		b   []byte
		err error
	}
	replies := make([]reply, r.m.n)
	hctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 0; i < r.m.n; i++ {
		p := transport.PartyID(i)
		if p == r.m.self {
			continue
		}
		// A suspect stays out of the subsets, but it may have finished the
		// previous attempt on its own (it received our shares, we did not
		// receive its): pick up an announcement it already sent.
		w := wait
		if r.suspects[p] != nil {
			w = peekTimeout
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(hctx, w)
			defer cancel()
			b, err := r.conn.Recv(rctx, p, round)
			replies[p] = reply{b, err}
			// Only an announcement this member may adopt (see below)
			// cuts the others' hellos short.
			if err == nil && len(b) > 0 && ((b[0] == helloDone && a > 0 && r.idle) || b[0] == helloAbort) {
				stop()
			}
		}()
	}
	wg.Wait()
	stopped := hctx.Err() != nil
	stop()
	if ctx.Err() != nil {
		return nil, nil, fmt.Errorf("he: job: %w", ctx.Err())
	}
	alive := []transport.PartyID{r.m.self}
	for i := 0; i < r.m.n; i++ {
		p := transport.PartyID(i)
		if p == r.m.self {
			continue
		}
		suspect := r.suspects[p] != nil
		b, err := replies[p].b, replies[p].err
		if err != nil {
			// A wait cut short by another peer's announcement says nothing
			// about this peer.
			if !suspect && !stopped {
				r.suspects[p] = err
			}
			continue
		}
		switch {
		case len(b) == 1 && b[0] == helloReady:
			if !suspect {
				alive = append(alive, p)
			}
		case len(b) > 0 && len(b) <= 1+maxAbortReason && b[0] == helloAbort:
			return nil, nil, fmt.Errorf("%w: member %d: %q", ErrJobAborted, p, b[1:])
		case len(b) > 0 && b[0] == helloDone && a == 0:
			// Nobody can have finished before the first attempt: only a
			// deviant announces a result here (a forged one). Leave it out.
			if !suspect {
				r.suspects[p] = fmt.Errorf("announced a result before the first attempt")
			}
		case len(b) > 0 && b[0] == helloDone && !r.idle:
			// We were in the previous attempt's subsets and could not
			// finish it (a share did not reach us): we cannot check what
			// p says it finished, so we do not adopt it; nor do we finish
			// a second result without p, which the recipient would see
			// differ from p's. Stand by (node/jobrun: the recipient
			// re-forms the family if a member of p's fell silent).
			return nil, nil, fmt.Errorf("%w: member %d announced a result of attempt %d", ErrFinishedWithout, p, a-1)
		case len(b) > 0 && b[0] == helloDone:
			res, err := r.adopt(ctx, b[1:])
			if err != nil {
				return nil, nil, fmt.Errorf("he: result announced by member %d: %w", p, err)
			}
			return nil, res, nil
		default:
			if !suspect {
				r.suspects[p] = fmt.Errorf("malformed hello")
			}
		}
	}
	sort.Slice(alive, func(i, j int) bool { return alive[i] < alive[j] })
	return alive, nil, nil
}

// evaluate runs the circuit once per job; a retry reuses the result.
func (r *runner) evaluate(ctx context.Context) error {
	if r.evaluated != nil {
		return nil
	}
	cts, err := r.circuit(ctx)
	if err != nil {
		return fmt.Errorf("he: evaluate job circuit: %w", err)
	}
	if len(cts) == 0 || len(cts) > maxOutputs {
		return fmt.Errorf("he: job circuit returned %d ciphertexts, want 1..%d", len(cts), maxOutputs)
	}
	ids := make([]CiphertextID, len(cts))
	for i, ct := range cts {
		if ct.Degree() != 1 {
			return fmt.Errorf("he: job circuit returned a ciphertext of degree %d; relinearise it", ct.Degree())
		}
		if r.cfg.Scheme == CKKS && ct.LogScale() < float64(r.m.preset.OutputLogScale)-0.5 {
			return fmt.Errorf("he: CKKS output at scale 2^%.1f; circuits must deliver 2^%d (Preset.OutputScale) so that the smudging noise does not swamp the result", ct.LogScale(), r.m.preset.OutputLogScale)
		}
		b, err := r.m.preset.MarshalCiphertext(r.cfg.Scheme, ct)
		if err != nil {
			return err
		}
		ids[i] = HashCiphertext(b)
	}
	r.evaluated, r.evalIDs = cts, ids
	return nil
}

// checkSizes keeps an attempt's messages within the transport's frame limit:
// a member's key-switching shares for every subset it belongs to travel in
// one message, and the announcement carries every subset's outputs.
func (r *runner) checkSizes(family [][]transport.PartyID) error {
	N := r.m.preset.RLWE().N()
	mine := 0
	for _, s := range family {
		if contains(s, r.m.self) {
			mine++
		}
	}
	pcksBytes := 32*len(r.evaluated) + 32
	doneBytes := 4 + len(family)*4*(r.m.t+1) + 4
	for _, ct := range r.evaluated {
		pcksBytes += mine * (shareHeader + 2*(ct.Level()+1)*N*8)
		doneBytes += 32 + len(family)*(4+ctFixedHeader+maxScaleTextLen+(ct.Degree()+1)*(ct.Level()+1)*N*8)
	}
	if pcksBytes > transport.MaxMessageBytes || doneBytes > transport.MaxMessageBytes {
		return fmt.Errorf("he: job outputs key-switched by %d subsets take %d bytes, more than a %d-byte transport message; return fewer or lower-level ciphertexts", len(family), doneBytes, transport.MaxMessageBytes)
	}
	return nil
}

// attempt evaluates the circuit and key-switches its outputs with every
// t-subset of the family. Each member sends every online peer one message:
// its share for each subset it belongs to, each made from its own additive
// share of that subset's secret (Lagrange coefficients differ per subset)
// with fresh smudging noise. Every member aggregates every subset, so all
// end with the same key switches (the recipient compares them).
func (r *runner) attempt(ctx context.Context, a int, online []transport.PartyID, family [][]transport.PartyID) (*Result, error) {
	if err := r.evaluate(ctx); err != nil {
		return nil, err
	}
	if err := r.checkSizes(family); err != nil {
		return nil, err
	}
	params := r.m.preset.RLWE()
	N := params.N()

	all := make([]mhe.ShamirPublicPoint, r.m.n)
	for i := range all {
		all[i] = shamirPoint(transport.PartyID(i))
	}
	cmb := mhe.NewCombiner(params, shamirPoint(r.m.self), all, r.m.t)
	pcks, err := mhe.NewPublicKeySwitchProtocol(params, r.m.preset.Smudging)
	if err != nil {
		return nil, fmt.Errorf("he: key-switch protocol: %w", err)
	}
	// agg[s][i] aggregates subset s's shares for output i; ours is its
	// first term when we belong to s.
	agg := make([][]mhe.PublicKeySwitchShare, len(family))
	for s := range family {
		agg[s] = make([]mhe.PublicKeySwitchShare, len(r.evaluated))
		for i, ct := range r.evaluated {
			agg[s][i] = pcks.AllocateShare(ct.Level())
		}
	}
	digest := familyDigest(family)
	round := r.round(a, stepPCKS)
	// Members of no subset (the cover may leave some online members out
	// of every subset) neither send nor receive shares; they wait for the
	// announcement like members outside the subset did before.
	var alive []transport.PartyID
	for _, p := range online {
		if inFamily(family, p) {
			alive = append(alive, p)
		}
	}
	// No share leaves before every member of the family said it made the
	// same evaluation and the same family: shares sent for a family the
	// others do not share are shares a colluding peer can aggregate into
	// extra key switches for the recipient, while everyone retries.
	maskKeys, err := r.agree(ctx, a, alive, digest)
	if err != nil {
		r.withhold(ctx, round, alive)
		return nil, err
	}
	if r.state.released >= MaxReleases(r.m.n, r.m.t) {
		err := fmt.Errorf("%w: this member released its key-switching shares in %d attempts of the job, the most it may", ErrGaveUp, r.state.released)
		r.withhold(ctx, round, alive)
		return nil, err
	}
	// The message is sized up front and every share encoded in place: at
	// secure parameters it is tens of megabytes, and growing it (or
	// encoding each share apart and copying it in) costs as much again.
	size := len(digest)
	for _, id := range r.evalIDs {
		size += len(id)
	}
	for _, subset := range family {
		if contains(subset, r.m.self) {
			for _, ct := range r.evaluated {
				size += shareHeader + 2*(ct.Level()+1)*N*8
			}
		}
	}
	msg := make([]byte, 0, size)
	for _, id := range r.evalIDs {
		msg = append(msg, id[:]...)
	}
	msg = append(msg, digest[:]...)
	skS := rlwe.NewSecretKey(params)
	for s, subset := range family {
		if !contains(subset, r.m.self) {
			continue
		}
		combined := false
		for i, ct := range r.evaluated {
			// A subset's share of an output is made once per job: an
			// attempt that repeats the subset resends it unchanged.
			key := shareKey(subset, r.evalIDs[i])
			if sh, ok := r.state.shares[key]; ok {
				agg[s][i].Value[0].Copy(sh.Value[0])
				agg[s][i].Value[1].Copy(sh.Value[1])
			} else {
				// Turn the threshold share into an additive share of
				// this subset (once per subset).
				if !combined {
					points := make([]mhe.ShamirPublicPoint, len(subset))
					for k, p := range subset {
						points[k] = shamirPoint(p)
					}
					if err := cmb.GenAdditiveShare(points, shamirPoint(r.m.self), r.m.tsk, skS); err != nil {
						return nil, fmt.Errorf("he: combine threshold share: %w", err)
					}
					combined = true
				}
				pcks.GenShare(skS, r.cfg.Recipient, ct, &agg[s][i])
				if r.cfg.floodBits > 0 {
					if err := flood(params, r.cfg.floodBits, agg[s][i].Value[0], ct.IsNTT); err != nil {
						return nil, err
					}
				}
				if d := r.m.deviation; d != nil {
					d.apply(params, s, &agg[s][i])
				}
				r.state.shares[key] = &mhe.PublicKeySwitchShare{Element: *agg[s][i].CopyNew()}
			}
			// Masked after the cache: the masks change per attempt and
			// cancel in every subset's sum, own share included.
			if err := maskShare(params, r.m.self, subset, s, i, maskKeys, &agg[s][i]); err != nil {
				return nil, err
			}
			msg = newShape(params).polyQ(agg[s][i].Value[0]).polyQ(agg[s][i].Value[1]).appendTo(msg, kindPCKS, shareTag(s, i), N)
		}
	}
	payload := msg
	r.state.released++
	// Send to every participating peer even when one send fails: a peer that did
	// not get our share would wait a full step for it while we move on to
	// the next attempt, and suspect us instead of the member that dropped.
	var sendErr error
	for _, p := range alive {
		if p == r.m.self {
			continue
		}
		if err := r.conn.Send(ctx, p, round, payload); err != nil && sendErr == nil {
			sendErr = fmt.Errorf("he: send key-switch share: %w", err)
		}
	}
	if sendErr != nil {
		return nil, sendErr
	}
	for _, p := range alive {
		if p == r.m.self {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, r.cfg.StepTimeout)
		b, err := r.conn.Recv(rctx, p, round)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("he: key-switch share: %w", err)
		}
		if len(b) == 1 && b[0] == pcksWithheld {
			// p saw the views disagree where we saw them agree (a
			// deviant may tell members different views): no evidence
			// against p. Our shares are out: the attempt counts
			// against MaxReleases.
			return nil, fmt.Errorf("%w: member %d withheld its key-switch shares", errViewMismatch, p)
		}
		if err := r.addShares(p, round, b, family, digest, agg); err != nil {
			return nil, err
		}
	}
	var switches []KeySwitched
	for s, subset := range family {
		ks := KeySwitched{Subset: append([]transport.PartyID(nil), subset...)}
		for i, ct := range r.evaluated {
			out := rlwe.NewCiphertext(params, 1, ct.Level())
			pcks.KeySwitch(ct, agg[s][i], out)
			b, err := r.m.preset.MarshalCiphertext(r.cfg.Scheme, out)
			if err != nil {
				return nil, err
			}
			ks.Outputs = append(ks.Outputs, b)
			ks.OutputIDs = append(ks.OutputIDs, HashCiphertext(b))
		}
		switches = append(switches, ks)
	}
	return NewResult(r.evalIDs, switches), nil
}

// agree exchanges this member's view of the attempt (its evaluation IDs and
// the family's digest) with every other member of the family, and returns
// nil only if every one sent the same: only then do shares leave. A peer
// whose view does not arrive in time is suspected (*transport.PartyError);
// a different view makes the attempt be redone without suspecting anyone
// (errViewMismatch: a hello lost, late, or withheld from some members); a
// different evaluation is fatal (ErrEvaluationMismatch).
//
// The view message to each peer also carries this member's half of the
// pair's mask seed (pcksmask.go); agree returns the pairs' mask keys.
func (r *runner) agree(ctx context.Context, a int, peers []transport.PartyID, digest [32]byte) (map[transport.PartyID][32]byte, error) {
	round := r.round(a, stepView)
	var msg bytes.Buffer
	for _, id := range r.evalIDs {
		msg.Write(id[:])
	}
	vd := viewDigest(digest)
	msg.Write(vd[:])
	seeds := make(map[transport.PartyID][maskSeedBytes]byte, len(peers))
	var sendErr error
	for _, p := range peers {
		if p == r.m.self {
			continue
		}
		seed, err := newMaskSeed()
		if err != nil {
			return nil, err
		}
		seeds[p] = seed
		view := append(bytes.Clone(msg.Bytes()), seed[:]...)
		if err := r.conn.Send(ctx, p, round, view); err != nil && sendErr == nil {
			sendErr = fmt.Errorf("he: send view: %w", err)
		}
	}
	if sendErr != nil {
		return nil, sendErr
	}
	keys := make(map[transport.PartyID][32]byte, len(peers))
	// A peer that missed a hello waited a whole StepTimeout for it before
	// it evaluated and sent its view, while we, who got every hello, went
	// on at once: wait for its view one StepTimeout longer than for a
	// share, or we would suspect a member whose only fault is a slow
	// third party.
	deadline := time.Now().Add(2 * r.cfg.StepTimeout)
	for _, p := range peers {
		if p == r.m.self {
			continue
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		b, err := r.conn.Recv(rctx, p, round)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("he: view: %w", err)
		}
		if len(b) != msg.Len()+maskSeedBytes {
			return nil, &transport.PartyError{Party: p, Round: round, Err: fmt.Errorf("malformed view")}
		}
		for i, id := range r.evalIDs {
			if !bytes.Equal(b[32*i:32*(i+1)], id[:]) {
				return nil, fmt.Errorf("%w: member %d has %x for output %d, ours %s", ErrEvaluationMismatch, p, b[32*i:32*(i+1)], i, id)
			}
		}
		if !bytes.Equal(b[32*len(r.evalIDs):msg.Len()], vd[:]) {
			return nil, fmt.Errorf("%w: member %d saw another family (or masks its shares with another scheme)", errViewMismatch, p)
		}
		var theirs [maskSeedBytes]byte
		copy(theirs[:], b[msg.Len():])
		keys[p] = pairMaskKey(r.m.self, p, seeds[p], theirs, round, digest)
	}
	return keys, nil
}

// withhold tells the family's other members that this member releases no
// share in this attempt (see pcksWithheld); best effort.
func (r *runner) withhold(ctx context.Context, round transport.Round, peers []transport.PartyID) {
	for _, p := range peers {
		if p != r.m.self {
			_ = r.conn.Send(ctx, p, round, []byte{pcksWithheld})
		}
	}
}

// shareKey names a member's key-switching share of one output by one
// subset, within a job.
func shareKey(subset []transport.PartyID, output CiphertextID) string {
	return fmt.Sprint(subset, output)
}

// addShares checks peer p's key-switching message and adds its shares into
// the aggregates of the subsets p belongs to.
func (r *runner) addShares(p transport.PartyID, round transport.Round, b []byte, family [][]transport.PartyID, digest [32]byte, agg [][]mhe.PublicKeySwitchShare) error {
	params := r.m.preset.RLWE()
	N := params.N()
	bad := func(format string, args ...any) error {
		return &transport.PartyError{Party: p, Round: round, Err: fmt.Errorf(format, args...)}
	}
	if len(b) < 32*len(r.evalIDs)+32 {
		return bad("short key-switch message")
	}
	for i, id := range r.evalIDs {
		if !bytes.Equal(b[32*i:32*(i+1)], id[:]) {
			return fmt.Errorf("%w: member %d has %x for output %d, ours %s", ErrEvaluationMismatch, p, b[32*i:32*(i+1)], i, id)
		}
	}
	off := 32 * len(r.evalIDs)
	if !bytes.Equal(b[off:off+32], digest[:]) {
		// p told us its view was ours (agree) and then made its shares
		// for another family: p deviated.
		return bad("key-switch shares made for another family than the one agreed")
	}
	off += 32
	for s, subset := range family {
		if !contains(subset, p) {
			continue
		}
		for i := range r.evaluated {
			// Decoding adds the peer's share into the aggregate (mhe's
			// AggregateShares is the same coefficient-wise sum).
			shape := newShape(params).polyQ(agg[s][i].Value[0]).polyQ(agg[s][i].Value[1])
			size := shape.size(N)
			if len(b)-off < size {
				return bad("short key-switch message")
			}
			tag, err := shape.decodeAdd(kindPCKS, b[off:off+size], N)
			if err != nil || tag != shareTag(s, i) {
				return bad("bad key-switch share: %v", err)
			}
			off += size
		}
	}
	if off != len(b) {
		return bad("trailing bytes in key-switch message")
	}
	return nil
}

// shareTag labels the key-switching share of subset s for output i.
func shareTag(s, i int) uint64 { return uint64(s)<<32 | uint64(i) }

// announce tells every other member, in the next attempt's hello round,
// that the job is done, so that members still waiting adopt the result:
//
//	helloDone | u32 subsets | (u32 member)×t per subset | u32 outputs |
//	eval IDs | (u32 length | ciphertext) per subset and output
func (r *runner) announce(ctx context.Context, next int, res *Result) {
	msg := encodeDone(res)
	round := r.round(next, stepHello)
	for i := 0; i < r.m.n; i++ {
		p := transport.PartyID(i)
		if p == r.m.self {
			continue
		}
		// Suspects too: they may only be slow. A member that left cannot
		// use the announcement; its send error is of no consequence.
		_ = r.conn.Send(ctx, p, round, msg)
	}
}

// encodeDone encodes the announcement of a finished job (see announce).
func encodeDone(res *Result) []byte {
	// Sized up front: the outputs are megabytes at secure parameters.
	switches := res.KeySwitches()
	size := 1 + 4 + 4 + len(CiphertextID{})*len(res.EvalIDs)
	for _, ks := range switches {
		size += 4 * len(ks.Subset)
		for _, o := range ks.Outputs {
			size += 4 + len(o)
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.WriteByte(helloDone)
	put := func(v uint32) { _ = binary.Write(buf, binary.LittleEndian, v) }
	put(uint32(len(switches)))
	for _, ks := range switches {
		for _, p := range ks.Subset {
			put(uint32(p))
		}
	}
	put(uint32(len(res.EvalIDs)))
	for _, id := range res.EvalIDs {
		buf.Write(id[:])
	}
	for _, ks := range switches {
		for _, o := range ks.Outputs {
			put(uint32(len(o)))
			buf.Write(o)
		}
	}
	return buf.Bytes()
}

// abort tells every other member, in the next attempt's hello round, that
// this member gave up. The reason is an error message: it names inputs and
// members, never key or plaintext material.
func (r *runner) abort(ctx context.Context, next int, cause error) {
	reason := cause.Error()
	if len(reason) > maxAbortReason {
		reason = reason[:maxAbortReason]
	}
	msg := append([]byte{helloAbort}, reason...)
	round := r.round(next, stepHello)
	for i := 0; i < r.m.n; i++ {
		p := transport.PartyID(i)
		if p == r.m.self {
			continue
		}
		_ = r.conn.Send(ctx, p, round, msg)
	}
}

// adopt decodes a peer's announcement of a finished job, as a member that
// was outside the finishing attempt's subsets. It checks the announced
// evaluation IDs against its own evaluation of the circuit; the key
// switches it cannot check, so the result is marked Adopted.
func (r *runner) adopt(ctx context.Context, b []byte) (*Result, error) {
	res, err := r.decodeDone(b)
	if err != nil {
		return nil, err
	}
	if err := r.evaluate(ctx); err != nil {
		return nil, err
	}
	if len(res.EvalIDs) != len(r.evalIDs) {
		return nil, fmt.Errorf("%w: %d outputs announced, %d evaluated", ErrEvaluationMismatch, len(res.EvalIDs), len(r.evalIDs))
	}
	for i, id := range r.evalIDs {
		if res.EvalIDs[i] != id {
			return nil, fmt.Errorf("%w: announced %s for output %d, ours %s", ErrEvaluationMismatch, res.EvalIDs[i], i, id)
		}
	}
	res.Adopted = true
	return res, nil
}

func (r *runner) decodeDone(b []byte) (*Result, error) {
	rd := bytes.NewReader(b)
	get := func() (uint32, error) {
		var v uint32
		return v, binary.Read(rd, binary.LittleEndian, &v)
	}
	ns, err := get()
	if err != nil || ns == 0 || ns > maxSubsets {
		return nil, fmt.Errorf("bad subset count")
	}
	family := make([][]transport.PartyID, ns)
	for s := range family {
		for i := 0; i < r.m.t; i++ {
			p, err := get()
			if err != nil || int(p) >= r.m.n {
				return nil, fmt.Errorf("bad subset")
			}
			family[s] = append(family[s], transport.PartyID(p))
		}
	}
	if err := checkFamily(family, r.m.t); err != nil {
		return nil, err
	}
	no, err := get()
	if err != nil || no == 0 || no > maxOutputs {
		return nil, fmt.Errorf("bad output count")
	}
	evalIDs := make([]CiphertextID, no)
	for i := range evalIDs {
		if _, err := io.ReadFull(rd, evalIDs[i][:]); err != nil {
			return nil, fmt.Errorf("truncated")
		}
	}
	switches := make([]KeySwitched, ns)
	for s := range switches {
		switches[s].Subset = family[s]
		for i := 0; i < int(no); i++ {
			l, err := get()
			if err != nil || int(l) > rd.Len() {
				return nil, fmt.Errorf("truncated")
			}
			o := make([]byte, l)
			if _, err := io.ReadFull(rd, o); err != nil {
				return nil, fmt.Errorf("truncated")
			}
			_, oid, err := r.m.preset.UnmarshalCiphertext(r.cfg.Scheme, o)
			if err != nil {
				return nil, err
			}
			switches[s].Outputs = append(switches[s].Outputs, o)
			switches[s].OutputIDs = append(switches[s].OutputIDs, oid)
		}
	}
	if rd.Len() != 0 {
		return nil, fmt.Errorf("trailing bytes")
	}
	return NewResult(evalIDs, switches), nil
}

func contains(s []transport.PartyID, p transport.PartyID) bool {
	for _, q := range s {
		if q == p {
			return true
		}
	}
	return false
}

func joinStrings(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}
