package he

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
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
	// MaxAttempts bounds the number of t-subsets tried (default N-t+1).
	MaxAttempts int
}

// Result is the outcome of a job: ciphertexts under the recipient's key.
type Result struct {
	// Outputs are canonical encodings of the key-switched ciphertexts.
	Outputs [][]byte
	// OutputIDs are the content addresses of Outputs.
	OutputIDs []CiphertextID
	// EvalIDs are the content addresses of the evaluated ciphertexts before
	// key switching; every member of the subset computed the same.
	EvalIDs []CiphertextID
	// Subset lists the t members that key-switched the result.
	Subset []transport.PartyID
	// Attempts is the number of subsets tried.
	Attempts int
}

// ErrNotEnoughMembers is returned when fewer than t members are online.
var ErrNotEnoughMembers = errors.New("he: not enough committee members online")

// ErrEvaluationMismatch is returned when members evaluated different
// ciphertexts: inputs differ between members or a member misbehaves.
var ErrEvaluationMismatch = errors.New("he: committee members evaluated different ciphertexts")

// Job rounds: attempt a uses rounds jobRoundBase + a·jobRoundStride + step.
const (
	jobRoundBase   transport.Round = 1 << 32
	jobRoundStride transport.Round = 1 << 8
	stepHello      transport.Round = 0
	stepPCKS       transport.Round = 1
)

func jobRound(attempt int, step transport.Round) transport.Round {
	return jobRoundBase + transport.Round(attempt)*jobRoundStride + step
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
	r := &runner{m: m, conn: conn, cfg: cfg, circuit: circuit, suspects: make(map[transport.PartyID]error)}
	return r.run(ctx)
}

type runner struct {
	m       *Member
	conn    transport.Conn
	cfg     RunConfig
	circuit Circuit

	suspects map[transport.PartyID]error
	idle     bool // outside the previous attempt's subset

	evaluated []*rlwe.Ciphertext
	evalIDs   []CiphertextID
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	var lastErr error
	for a := 0; ; a++ {
		// An idle member keeps listening past the last attempt: it learns
		// there whether the last subset finished or gave up.
		if a >= r.cfg.MaxAttempts && !r.idle {
			err := fmt.Errorf("he: job gave up after %d attempts: %w", r.cfg.MaxAttempts, lastErr)
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
		subset := alive[:r.m.t]
		if !contains(subset, r.m.self) {
			r.idle = true
			continue
		}
		r.idle = false
		res, err := r.attempt(ctx, a, subset)
		if err == nil {
			res.Attempts = a + 1
			r.announce(ctx, a+1, res)
			return res, nil
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
	round := jobRound(a, stepHello)
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
			if err == nil && len(b) > 0 && (b[0] == helloDone || b[0] == helloAbort) {
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
		case len(b) > 0 && b[0] == helloDone:
			res, err := r.decodeDone(b[1:])
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
	// Every output and its key-switching share travel in one message each
	// way; keep them within the transport's frame limit.
	params := r.m.preset.RLWE()
	var pcksBytes, doneBytes int
	for _, ct := range cts {
		pcksBytes += 32 + shareHeader + 2*(ct.Level()+1)*params.N()*8
		doneBytes += 32 + 4 + ctFixedHeader + maxScaleTextLen + (ct.Degree()+1)*(ct.Level()+1)*params.N()*8
	}
	if pcksBytes > transport.MaxMessageBytes || doneBytes+4*(r.m.t+3) > transport.MaxMessageBytes {
		return fmt.Errorf("he: job outputs of %d bytes exceed a %d-byte transport message; return fewer or lower-level ciphertexts", doneBytes, transport.MaxMessageBytes)
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

// attempt evaluates and key-switches with the given subset.
func (r *runner) attempt(ctx context.Context, a int, subset []transport.PartyID) (*Result, error) {
	if err := r.evaluate(ctx); err != nil {
		return nil, err
	}
	params := r.m.preset.RLWE()
	N := params.N()

	// Turn the threshold share into an additive share of this subset.
	points := make([]mhe.ShamirPublicPoint, len(subset))
	for i, p := range subset {
		points[i] = shamirPoint(p)
	}
	all := make([]mhe.ShamirPublicPoint, r.m.n)
	for i := range all {
		all[i] = shamirPoint(transport.PartyID(i))
	}
	cmb := mhe.NewCombiner(params, shamirPoint(r.m.self), all, r.m.t)
	skS := rlwe.NewSecretKey(params)
	if err := cmb.GenAdditiveShare(points, shamirPoint(r.m.self), r.m.tsk, skS); err != nil {
		return nil, fmt.Errorf("he: combine threshold share: %w", err)
	}

	pcks, err := mhe.NewPublicKeySwitchProtocol(params, r.m.preset.Smudging)
	if err != nil {
		return nil, fmt.Errorf("he: key-switch protocol: %w", err)
	}
	shares := make([]mhe.PublicKeySwitchShare, len(r.evaluated))
	var msg bytes.Buffer
	for _, id := range r.evalIDs {
		msg.Write(id[:])
	}
	for i, ct := range r.evaluated {
		shares[i] = pcks.AllocateShare(ct.Level())
		pcks.GenShare(skS, r.cfg.Recipient, ct, &shares[i])
		msg.Write(newShape(params).polyQ(shares[i].Value[0]).polyQ(shares[i].Value[1]).encode(kindPCKS, uint64(i), N))
	}
	round := jobRound(a, stepPCKS)
	payload := msg.Bytes()
	// Send to every peer of the subset even when one send fails: a peer
	// that did not get our share would wait a full step for it while we
	// move on to the next attempt, and suspect us instead of the member
	// that dropped.
	var sendErr error
	for _, p := range subset {
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
	for _, p := range subset {
		if p == r.m.self {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, r.cfg.StepTimeout)
		b, err := r.conn.Recv(rctx, p, round)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("he: key-switch share: %w", err)
		}
		if len(b) < 32*len(r.evalIDs) {
			return nil, &transport.PartyError{Party: p, Round: round, Err: fmt.Errorf("short key-switch message")}
		}
		for i, id := range r.evalIDs {
			if !bytes.Equal(b[32*i:32*(i+1)], id[:]) {
				return nil, fmt.Errorf("%w: member %d has %x for output %d, ours %s", ErrEvaluationMismatch, p, b[32*i:32*(i+1)], i, id)
			}
		}
		off := 32 * len(r.evalIDs)
		for i := range shares {
			// Decoding adds the peer's share into ours (mhe's
			// AggregateShares is the same coefficient-wise sum).
			shape := newShape(params).polyQ(shares[i].Value[0]).polyQ(shares[i].Value[1])
			size := shape.size(N)
			if len(b)-off < size {
				return nil, &transport.PartyError{Party: p, Round: round, Err: fmt.Errorf("short key-switch message")}
			}
			tag, err := shape.decodeAdd(kindPCKS, b[off:off+size], N)
			if err != nil || tag != uint64(i) {
				return nil, &transport.PartyError{Party: p, Round: round, Err: fmt.Errorf("bad key-switch share: %v", err)}
			}
			off += size
		}
		if off != len(b) {
			return nil, &transport.PartyError{Party: p, Round: round, Err: fmt.Errorf("trailing bytes in key-switch message")}
		}
	}
	res := &Result{EvalIDs: r.evalIDs, Subset: append([]transport.PartyID(nil), subset...)}
	for i, ct := range r.evaluated {
		out := rlwe.NewCiphertext(params, 1, ct.Level())
		pcks.KeySwitch(ct, shares[i], out)
		b, err := r.m.preset.MarshalCiphertext(r.cfg.Scheme, out)
		if err != nil {
			return nil, err
		}
		res.Outputs = append(res.Outputs, b)
		res.OutputIDs = append(res.OutputIDs, HashCiphertext(b))
	}
	return res, nil
}

// announce tells every other member, in the next attempt's hello round,
// that the job is done, so that members still waiting adopt the result.
func (r *runner) announce(ctx context.Context, next int, res *Result) {
	var buf bytes.Buffer
	buf.WriteByte(helloDone)
	put := func(v uint32) { _ = binary.Write(&buf, binary.LittleEndian, v) }
	put(uint32(len(res.Subset)))
	for _, p := range res.Subset {
		put(uint32(p))
	}
	put(uint32(len(res.Outputs)))
	for i, o := range res.Outputs {
		buf.Write(res.EvalIDs[i][:])
		put(uint32(len(o)))
		buf.Write(o)
	}
	round := jobRound(next, stepHello)
	for i := 0; i < r.m.n; i++ {
		p := transport.PartyID(i)
		if p == r.m.self {
			continue
		}
		// Suspects too: they may only be slow. A member that left cannot
		// use the announcement; its send error is of no consequence.
		_ = r.conn.Send(ctx, p, round, buf.Bytes())
	}
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
	round := jobRound(next, stepHello)
	for i := 0; i < r.m.n; i++ {
		p := transport.PartyID(i)
		if p == r.m.self {
			continue
		}
		_ = r.conn.Send(ctx, p, round, msg)
	}
}

func (r *runner) decodeDone(b []byte) (*Result, error) {
	rd := bytes.NewReader(b)
	get := func() (uint32, error) {
		var v uint32
		return v, binary.Read(rd, binary.LittleEndian, &v)
	}
	ns, err := get()
	if err != nil || int(ns) != r.m.t {
		return nil, fmt.Errorf("bad subset")
	}
	res := &Result{}
	for i := 0; i < int(ns); i++ {
		p, err := get()
		if err != nil || int(p) >= r.m.n {
			return nil, fmt.Errorf("bad subset")
		}
		res.Subset = append(res.Subset, transport.PartyID(p))
	}
	no, err := get()
	if err != nil || no == 0 || no > maxOutputs {
		return nil, fmt.Errorf("bad output count")
	}
	for i := 0; i < int(no); i++ {
		var id CiphertextID
		if _, err := rd.Read(id[:]); err != nil {
			return nil, fmt.Errorf("truncated")
		}
		l, err := get()
		if err != nil || int(l) > rd.Len() {
			return nil, fmt.Errorf("truncated")
		}
		o := make([]byte, l)
		if _, err := rd.Read(o); err != nil {
			return nil, fmt.Errorf("truncated")
		}
		if _, oid, err := r.m.preset.UnmarshalCiphertext(r.cfg.Scheme, o); err != nil {
			return nil, err
		} else {
			res.OutputIDs = append(res.OutputIDs, oid)
		}
		res.EvalIDs = append(res.EvalIDs, id)
		res.Outputs = append(res.Outputs, o)
	}
	if rd.Len() != 0 {
		return nil, fmt.Errorf("trailing bytes")
	}
	return res, nil
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
