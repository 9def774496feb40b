package ss

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/transport"
)

// MaxBatch bounds the number of field elements in any one message the engine
// accepts; it keeps every frame below transport.MaxMessageBytes.
const MaxBatch = (transport.MaxMessageBytes - 64) / field.Bytes

// Config carries a party's injectable dependencies.
type Config struct {
	// Security selects the adversary model; the zero value is Malicious.
	Security Security
	// Rand is the party's only source of randomness: its pairwise seeds and
	// its own PRG are drawn from it at setup. nil means crypto/rand. Tests
	// pass a seeded reader to replay a party's coins.
	Rand io.Reader
	// OnOpen, if set, is called with every value this party learns from an
	// opening, with the opening's label. Labels starting with "mask:" are
	// openings of values masked by fresh randomness (uniform, or statistically
	// close to uniform with 40-bit security); all others are outputs the caller
	// declared. The slice must not be retained or modified.
	OnOpen func(label string, values fr.Vector)
}

// Party is one committee member's engine for one job. Its methods are not
// safe for concurrent use: a job runs its protocol steps in order, and every
// party must call the same methods with the same public sizes in the same
// order (the engine's round numbers follow from that order).
type Party struct {
	params *Params
	conn   transport.Conn
	// bufs recycles the buffers of streamed pieces when the transport
	// offers it (nil otherwise).
	bufs   transport.Buffers
	self   int
	round  transport.Round
	onOpen func(string, fr.Vector)
	sec    Security

	// Malicious mode: this party's share of the MAC key α, the products not
	// yet checked, and whether anything was dealt since the last check.
	alpha fr.Element
	pend  pending
	dirty bool
	// randPool: joint random sharings dealt ahead for checks (coins and
	// masks).
	randPool fr.Vector

	// cheat is the test-only adversary (mpc/internal/cheat), nil in any
	// deployment; cheating and op steer it.
	cheat    *cheat.Plan
	cheating bool
	cheatAt  int // the value of a round a HiddenOffset deviation shifts
	// cheatedOnce records that a MulOnce offset was applied (shared with
	// the lanes).
	cheatedOnce *atomic.Bool
	op          string

	own     *field.PRG         // private randomness
	toPRG   []*field.StreamKey // toPRG[j]: streams self→j, for j in prgSet[self]
	fromPRG []*field.StreamKey // fromPRG[i]: streams i→self, when self ∈ prgSet[i]
	workers []*worker          // per-goroutine scratch of the parallel kernels
	failure *failureState      // shared by the party's lanes
	lanes   map[int]bool       // lanes created (main engine only)
	fromIdx []int              // fromIdx[i]: this party's position in prgSet[i]

	// tmp holds the party's reusable temporaries (tmpVec), so that the
	// large operands gathered for a multiplication and the levels of a
	// comparison tree do not cost fresh memory (page faults, GC) per call.
	tmp [2 * tmpSlots]fr.Vector

	bitPool Vec     // prepared random bits (shares), for truncation
	ltPool  cmpPool // prepared randomness of less-than comparisons
	eqPool  cmpPool // prepared randomness of equality tests

	// Stats counts work done, for benchmarks and tests.
	Stats Stats
}

// Stats counts a party's protocol work.
type Stats struct {
	Rounds        int // communication rounds
	Mults         int // multiplications (degree reductions), counting batch entries
	Opened        int // values opened to this party
	BytesSent     int
	Bits          int // random bits generated
	MessagesSent  int
	MessagesRecvd int
}

// Scratch buffer slots of a worker: PRG sub-shares (up to t ≤ 4), a
// temporary, an outgoing sub-share, a local product, the halved product
// (for coefficients with denominator 2), the operands a generated
// source (source.gen) computes for one chunk, and the streams a
// re-sharing folds into its own sub-share (up to t).
const (
	slotRho      = 0
	slotTmp      = 4
	slotOut      = 5
	slotProduct  = 6
	slotHalf     = 7
	slotGenX     = 8
	slotGenY     = 9
	slotFold     = 10 // up to t ≤ 4 folded streams (reshare)
	scratchSlots = 14
)

// Temporary slots (tmpVec). A slot's contents are valid only until the
// party's next use of the same slot.
const (
	tmpX  = iota // gathered left operands of a multiplication
	tmpY         // gathered right operands
	tmpE0        // comparison tree: E and L of one level, …
	tmpL0
	tmpE1 // … and of the next (the two levels alternate)
	tmpL1
	tmpDeal // a dealer's random values (value half only)
	tmpSlots
)

// tmpVec returns m values in the party's mode (a MAC half in malicious
// mode) backed by slot's reusable memory, with arbitrary contents: for
// temporaries that every caller overwrites in full and nothing retains —
// operands of a multiplication (a product never refers to its operands),
// tree levels copied into the next level. Never for a result a caller
// keeps, or anything the pending products refer to.
func (p *Party) tmpVec(slot, m int) Vec {
	x := Vec{V: p.tmpHalf(2*slot, m)}
	if p.malicious() {
		x.M = p.tmpHalf(2*slot+1, m)
	}
	return x
}

func (p *Party) tmpHalf(i, m int) fr.Vector {
	if cap(p.tmp[i]) < m {
		p.tmp[i] = make(fr.Vector, m)
	}
	return p.tmp[i][:m:m]
}

// chunkSize is the unit of parallel work and of PRG streams: each chunk of a
// batch draws its pairwise-PRG values from its own stream (round, chunk), so
// chunks can be processed by different goroutines in any order. Its working
// set (a few vectors of this length) stays in the caches.
const chunkSize = 2048

// worker is one goroutine's scratch space.
type worker struct {
	bufs   [scratchSlots]fr.Vector
	stream []byte
}

// buf returns scratch slot i with length m; its contents are arbitrary.
func (w *worker) buf(i, m int) fr.Vector {
	if cap(w.bufs[i]) < m {
		w.bufs[i] = make(fr.Vector, chunkSize)
	}
	return w.bufs[i][:m]
}

// parallel runs fn(w, c, off, end) for every chunk c = [off, end) of [0, m),
// spreading chunks over the party's workers; it returns when all are done.
func (p *Party) parallel(m int, fn func(w *worker, c uint32, off, end int)) {
	p.parallelRange(0, m, fn)
}

// parallelRange is parallel over the chunks of [from, m); from is a multiple
// of chunkSize, and chunks keep their global numbers (their PRG streams).
func (p *Party) parallelRange(from, m int, fn func(w *worker, c uint32, off, end int)) {
	first := from / chunkSize
	chunks := (m+chunkSize-1)/chunkSize - first
	nw := min(len(p.workers), chunks)
	if nw <= 1 {
		for c := first; c < first+chunks; c++ {
			off := c * chunkSize
			fn(p.workers[0], uint32(c), off, min(off+chunkSize, m))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := 0; k < nw; k++ {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for {
				c := first + int(next.Add(1)-1)
				if c >= first+chunks {
					return
				}
				off := c * chunkSize
				fn(w, uint32(c), off, min(off+chunkSize, m))
			}
		}(p.workers[k])
	}
	wg.Wait()
}

// failureState is what a party's lanes share about a failure: whether the
// party has aborted (and told its peers), and the abort notices it read.
type failureState struct {
	aborted atomic.Bool
	mu      sync.Mutex
	notices map[transport.PartyID]uint32
}

// setupRound is the round of the pairwise-seed exchange.
const setupRound transport.Round = 0

// NewParty joins the job's connection as a committee member and sets up the
// pairwise PRG seeds: for each pair i < j, party i draws a seed and sends it to
// j (one round). The transport must be confidential and authenticated (the
// libp2p transport is); a seed is as secret as the shares it derives.
func NewParty(ctx context.Context, conn transport.Conn, cfg Config) (*Party, error) {
	params, err := NewParams(conn.Parties())
	if err != nil {
		return nil, err
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	self := int(conn.Self())
	bufs, _ := conn.(transport.Buffers)
	p := &Party{
		bufs:    bufs,
		params:  params,
		conn:    conn,
		self:    self,
		failure: &failureState{notices: make(map[transport.PartyID]uint32)},
		lanes:   make(map[int]bool),
		round:   setupRound,
		onOpen:  cfg.OnOpen,
		sec:     cfg.Security,
		cheat:   cheat.From(ctx),

		cheatedOnce: new(atomic.Bool),
		toPRG:       make([]*field.StreamKey, params.N),
		fromPRG:     make([]*field.StreamKey, params.N),
	}
	p.workers = make([]*worker, max(1, runtime.GOMAXPROCS(0)))
	for i := range p.workers {
		p.workers[i] = &worker{stream: make([]byte, field.StreamBufBytes)}
	}
	var ownSeed [field.SeedBytes]byte
	if _, err := io.ReadFull(rnd, ownSeed[:]); err != nil {
		return nil, fmt.Errorf("ss: draw own seed: %w", err)
	}
	p.own = field.NewPRG(ownSeed, "cohort/ss/own")

	seeds := make([][field.SeedBytes]byte, params.N)
	for j := self + 1; j < params.N; j++ {
		if _, err := io.ReadFull(rnd, seeds[j][:]); err != nil {
			return nil, fmt.Errorf("ss: draw pairwise seed: %w", err)
		}
		// The seed carries this party's security mode, so that a committee
		// whose members disagree on it fails at setup with a clear error.
		if err := p.send(ctx, j, setupRound, append(append([]byte(nil), seeds[j][:]...), byte(cfg.Security))); err != nil {
			return nil, fmt.Errorf("ss: setup: send seed: %w", err)
		}
	}
	for i := 0; i < self; i++ {
		b, err := p.recv(ctx, i, setupRound)
		if err != nil {
			return nil, fmt.Errorf("ss: setup: receive seed: %w", err)
		}
		if len(b) != field.SeedBytes+1 {
			return nil, p.failWith(&transport.PartyError{Party: transport.PartyID(i), Round: setupRound,
				Err: fmt.Errorf("seed of %d bytes, want %d", len(b), field.SeedBytes+1)})
		}
		if m := Security(b[field.SeedBytes]); m != cfg.Security {
			return nil, fmt.Errorf("ss: setup: party %d runs in %v mode, this party in %v: the committee must agree on the security mode", i, m, cfg.Security)
		}
		copy(seeds[i][:], b)
	}
	for _, j := range params.prgSet[self] {
		p.toPRG[j] = field.NewStreamKey(seeds[j], pairDomain(self, j))
	}
	p.fromIdx = make([]int, params.N)
	for i := 0; i < params.N; i++ {
		for k, j := range params.prgSet[i] {
			if j == self {
				p.fromPRG[i] = field.NewStreamKey(seeds[i], pairDomain(i, self))
				p.fromIdx[i] = k
			}
		}
	}
	switch cfg.Security {
	case Malicious:
		// The MAC key: a joint random sharing (one round), never opened.
		// Its consistency is not checked: a member that contributes an
		// inconsistent sharing or uses a wrong α share can only make MAC
		// checks fail (an abort, i.e. denial of service), not pass a wrong
		// value, since α stays uniform and unknown to it.
		own := field.New(1)
		p.own.FillVector(own)
		a, err := p.reshare(ctx, own, nil, false)
		if err != nil {
			return nil, fmt.Errorf("ss: setup: MAC key: %w", err)
		}
		p.alpha = a[0]
	case SemiHonest:
	default:
		return nil, fmt.Errorf("ss: unknown security mode %d", int(cfg.Security))
	}
	return p, nil
}

func pairDomain(from, to int) string { return fmt.Sprintf("cohort/ss/pair/%d->%d", from, to) }

// Params returns the committee parameters.
func (p *Party) Params() *Params { return p.params }

// Self is this party's index.
func (p *Party) Self() int { return p.self }

// N is the committee size.
func (p *Party) N() int { return p.params.N }

// Close closes the job's connection (shared with the party's lanes); peers
// waiting on it fail at once with an error naming it.
func (p *Party) Close() error { return p.conn.Close() }

func (p *Party) nextRound() transport.Round {
	p.round++
	p.Stats.Rounds++
	return p.round
}

func (p *Party) send(ctx context.Context, to int, r transport.Round, payload []byte) error {
	p.Stats.BytesSent += len(payload)
	p.Stats.MessagesSent++
	if err := p.conn.Send(ctx, transport.PartyID(to), r, payload); err != nil {
		return p.failWith(err)
	}
	return nil
}

// allocPiece returns an n-byte buffer for sendPiece.
func (p *Party) allocPiece(n int) []byte {
	if p.bufs != nil {
		return p.bufs.Alloc(n)
	}
	return make([]byte, n)
}

// sendPiece sends a buffer from allocPiece, handing it to the transport:
// the caller must not touch it afterwards.
func (p *Party) sendPiece(ctx context.Context, to int, r transport.Round, payload []byte) error {
	if p.bufs == nil {
		return p.send(ctx, to, r, payload)
	}
	p.Stats.BytesSent += len(payload)
	p.Stats.MessagesSent++
	if err := p.bufs.SendOwned(ctx, transport.PartyID(to), r, payload); err != nil {
		return p.failWith(err)
	}
	return nil
}

// release hands a received payload back to the transport once decoded.
func (p *Party) release(b []byte) {
	if p.bufs != nil {
		p.bufs.Release(b)
	}
}

// abortRound carries a failing party's last word: the index of the party it
// blames (4 bytes). It lets the others name the party that actually left
// when failures cascade (A vanishes, B aborts because of A and closes, C sees
// B leave).
const abortRound = ^transport.Round(0)

// abortGrace bounds how long a party waits for a peer's abort notice. It
// only matters when the peer is alive but late (deadlines of different
// parties expire at slightly different times); a peer that left has either
// delivered its notice already or never will, and Recv says so at once.
const abortGrace = time.Second

// recv receives party from's message for round r. A failure is attributed to
// the party that caused it: if `from` left after reporting another party,
// the error names that one.
func (p *Party) recv(ctx context.Context, from int, r transport.Round) ([]byte, error) {
	b, err := p.conn.Recv(ctx, transport.PartyID(from), r)
	if err != nil {
		return nil, p.failWith(err)
	}
	return b, nil
}

// failWith handles a transport failure: it names the party at fault as well
// as it can know at once, tells the peers (fail), and then gives a live but
// late peer abortGrace to report that it was itself waiting on someone else.
func (p *Party) failWith(err error) error {
	err = p.attribute(err, 0)
	p.fail(err)
	return p.attribute(err, abortGrace)
}

// attribute looks, for up to wait, for an abort notice of the party err
// names, and if that party blamed another one, returns an error naming it.
func (p *Party) attribute(err error, wait time.Duration) error {
	var pe *transport.PartyError
	if !errors.As(err, &pe) || int(pe.Party) == p.self {
		return err
	}
	x, ok := p.notice(pe.Party, wait)
	if ok && x == noticeUnidentified {
		return &CheckError{Check: fmt.Sprintf("reported by party %d", pe.Party), Culprit: -1, Group: -1,
			Detail: fmt.Sprintf("it aborted on a failed check (%v)", pe.Err)}
	}
	if !ok || x >= uint32(p.params.N) || int(x) == p.self || transport.PartyID(x) == pe.Party {
		return err
	}
	if p.malicious() && !p.gone(transport.PartyID(x)) {
		// A notice is its sender's word, not evidence: a corrupted member
		// could blame an honest one and leave. So the accusation is relayed
		// only when this party sees itself that the accused left without a
		// notice; otherwise the abort names no one (the sender may be an
		// honest member that aborted for a reason this party cannot check).
		// A member that leaves with a notice thus goes unnamed, which gives
		// it nothing it could not get by shifting a share (an unidentified
		// abort); one that leaves without a notice, or stops answering, is
		// named.
		return &CheckError{Check: fmt.Sprintf("reported by party %d", pe.Party), Culprit: -1, Group: -1,
			Detail: fmt.Sprintf("it aborted blaming party %d, which this party cannot confirm (%v)", x, pe.Err)}
	}
	return &transport.PartyError{Party: transport.PartyID(x), Round: pe.Round,
		Err: fmt.Errorf("reported by party %d, which then failed: %w", pe.Party, pe.Err)}
}

// notice returns the party that `from` blamed in its abort notice, waiting
// up to wait for the notice. A notice is read from the connection once and
// remembered, since every lane of the party may ask.
func (p *Party) notice(from transport.PartyID, wait time.Duration) (uint32, bool) {
	f := p.failure
	f.mu.Lock()
	defer f.mu.Unlock()
	if x, ok := f.notices[from]; ok {
		return x, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b, err := p.conn.Recv(ctx, from, abortRound)
	if err != nil || len(b) != 4 {
		return 0, false
	}
	x := binary.BigEndian.Uint32(b)
	f.notices[from] = x
	return x, true
}

// gone reports whether party y has left the job without an abort notice, as
// this party's own connection shows it (a closed peer, not a late one).
func (p *Party) gone(y transport.PartyID) bool {
	if _, ok := p.notice(y, 0); ok {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b, err := p.conn.Recv(ctx, y, abortRound)
	if err == nil {
		if len(b) == 4 {
			p.failure.mu.Lock()
			p.failure.notices[y] = binary.BigEndian.Uint32(b)
			p.failure.mu.Unlock()
		}
		return false
	}
	var pe *transport.PartyError
	return err != nil && errors.As(err, &pe) && pe.Party == y &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// fail marks the party as aborted and, the first time, tells every other
// live party which party it blames, so that a cascade of aborts still names
// the party at fault. It returns err.
func (p *Party) fail(err error) error {
	if p.failure.aborted.Swap(true) {
		return err
	}
	var msg [4]byte
	var pe *transport.PartyError
	var ce *CheckError
	switch {
	case errors.As(err, &pe):
		binary.BigEndian.PutUint32(msg[:], uint32(pe.Party))
	case errors.As(err, &ce):
		binary.BigEndian.PutUint32(msg[:], noticeUnidentified)
		pe = &transport.PartyError{Party: transport.PartyID(p.self)}
	default:
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), abortGrace)
	defer cancel()
	for j := 0; j < p.params.N; j++ {
		if j != p.self && transport.PartyID(j) != pe.Party {
			_ = p.conn.Send(ctx, transport.PartyID(j), abortRound, msg[:]) // best effort
		}
	}
	return err
}

// recvInto receives party from's vector for round r into dst (exact length).
func (p *Party) recvInto(ctx context.Context, from int, r transport.Round, dst fr.Vector) error {
	b, err := p.recv(ctx, from, r)
	if err != nil {
		return err
	}
	p.Stats.MessagesRecvd++
	rest, err := field.DecodeVectorInto(dst, b)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing bytes")
	}
	p.release(b) // decoded into dst (rest is only compared with nothing)
	if err != nil {
		return p.failWith(&transport.PartyError{Party: transport.PartyID(from), Round: r, Err: fmt.Errorf("bad message: %w", err)})
	}
	return nil
}

func checkBatch(m int) error {
	if m > MaxBatch {
		return fmt.Errorf("ss: batch of %d elements exceeds %d; split it", m, MaxBatch)
	}
	return nil
}

// maxStreamed bounds the elements of one streamed round (re-sharing, input
// sharing): its pieces travel as separate messages of at most pieceElems
// elements each, so only the piece number, which shares the transport round
// with the logical round (msgRound), limits it. A receiver knows the length
// from its own call, so no peer chooses an allocation.
const maxStreamed = pieceElems << pieceShift

func checkStreamed(m int) error {
	if m > maxStreamed {
		return fmt.Errorf("ss: round of %d elements exceeds %d; split it", m, maxStreamed)
	}
	return nil
}

// reshare is the engine's one-round sharing primitive. Every party i holds a
// vector v_i of the same length m (v = x∘y when y is not nil, else v = x) and
// re-shares c_i·v_i with a fresh degree-t polynomial whose values at the t
// parties of prgSet[i] are drawn from the pairwise PRGs (so they are never
// sent); it sends the remaining n−1−t sub-shares. The result is this party's
// share of Σ_i c_i·v_i, where c_i = λ_i (Lagrange at 0 over all n points)
// when reduce is set — degree reduction of a product sharing, GRR — and
// c_i = 1 otherwise (the sum of everybody's contribution, e.g. a joint random
// value).
func (p *Party) reshare(ctx context.Context, x, y fr.Vector, reduce bool) (fr.Vector, error) {
	return p.reshareSrc(ctx, source{x: x, y: y}, reduce)
}

// source is the vector a party re-shares: x, or x∘y, or — malicious
// multiplications — the concatenation x∘y ‖ x2∘y2 (value and MAC halves)
// without building the concatenated operands.
type source struct {
	x, y, x2, y2 fr.Vector
	scale        *fr.Element // x·scale when set (y unused)
	// aff, when set, makes the products (aff[0]−2x)∘y and (aff[1]−2x2)∘y2
	// (the XOR product of xorProduct: aff = (1, this party's share of α)).
	aff *[2]fr.Element
	// affVec[h] is chunkSize copies of aff[h] (set with aff).
	affVec [2]fr.Vector
	// gen, when set, replaces x, y (and x2, y2): the source is the genN
	// products x∘y, followed in malicious mode (genMAC) by the genN
	// products x2∘y, whose operands gen writes, chunk by chunk, into the
	// worker's scratch (x from half h — 0 values, 1 MACs — y from the
	// values; x and y have length end−off for operands [off, end)). The
	// operands never exist as whole vectors: gathered pairs and comparison
	// tree leaves cost neither the memory nor a pass (see genPairs).
	gen    func(h int, x, y fr.Vector, off, end int)
	genN   int
	genMAC bool
}

func (s *source) len() int {
	if s.gen != nil {
		if s.genMAC {
			return 2 * s.genN
		}
		return s.genN
	}
	return len(s.x) + len(s.x2)
}

// valueLen is the number of value-half elements (the MAC half follows).
func (s *source) valueLen() int {
	if s.gen != nil {
		return s.genN
	}
	return len(s.x)
}

// hasMAC reports whether the source has a MAC half.
func (s *source) hasMAC() bool {
	if s.gen != nil {
		return s.genMAC
	}
	return s.x2 != nil
}

// chunk returns elements [off, end) of the source, computed into h when
// they are products (h has length end−off); w's operand slots hold a
// generated source's operands.
func (s *source) chunk(w *worker, h fr.Vector, off, end int) fr.Vector {
	if s.gen != nil {
		m1 := s.genN
		if a := min(end, m1); off < a {
			x, y := w.buf(slotGenX, a-off), w.buf(slotGenY, a-off)
			s.gen(0, x, y, off, a)
			hv := h[:a-off]
			hv.Mul(x, y)
		}
		if b := max(off, m1); b < end {
			x, y := w.buf(slotGenX, end-b), w.buf(slotGenY, end-b)
			s.gen(1, x, y, b-m1, end-m1)
			hm := h[b-off:]
			hm.Mul(x, y)
		}
		return h
	}
	m1 := len(s.x)
	if s.scale != nil {
		h.ScalarMul(s.x[off:end], s.scale)
		return h
	}
	mul := func(h, x, y fr.Vector, half int) {
		if s.aff != nil {
			// (c − 2x)∘y with vector operations (the element-wise Double
			// and Sub branch on random carries).
			h.Add(x, x)
			h.Sub(s.affVec[half][:len(h)], h)
			h.Mul(h, y)
			return
		}
		h.Mul(x, y)
	}
	if s.x2 == nil {
		if s.y == nil {
			return s.x[off:end]
		}
		mul(h, s.x[off:end], s.y[off:end], 0)
		return h
	}
	if a := min(end, m1); off < a {
		mul(h[:a-off], s.x[off:a], s.y[off:a], 0)
	}
	if b := max(off, m1); b < end {
		mul(h[b-off:], s.x2[b-m1:end-m1], s.y2[b-m1:end-m1], 1)
	}
	return h
}

func (p *Party) reshareSrc(ctx context.Context, src source, reduce bool) (fr.Vector, error) {
	m := src.len()
	if err := checkStreamed(m); err != nil {
		return nil, err
	}
	r := p.nextRound()
	p.dirty = true
	prm := p.params
	me := p.self
	secret := prm.subSecretIn[me]
	if reduce {
		secret = prm.subSecretMul[me]
	}
	res := make(fr.Vector, m)
	// shareOut also adds the sub-shares the PRG parties' streams give this
	// party (fold), chunk by chunk while the chunk is in the caches.
	if err := p.shareOut(ctx, r, src, secret, res, true); err != nil {
		return nil, fmt.Errorf("ss: reshare: %w", err)
	}
	for i := 0; i < prm.N; i++ {
		if i == me || p.fromPRG[i] != nil {
			continue
		}
		if err := p.recvPieces(ctx, i, r, res, true); err != nil {
			return nil, fmt.Errorf("ss: reshare: %w", err)
		}
	}
	return res, nil
}

// Large rounds are streamed: a round's vector travels in pieces of
// pieceElems elements, each sent as soon as it is computed, so that
// computing, sending and receiving overlap. Piece k of logical round r is the
// transport round r<<pieceShift | k.
const (
	pieceShift = 16
	pieceElems = 8 * chunkSize
)

// msgRound is the transport round of piece k of logical round r.
func msgRound(r transport.Round, k int) transport.Round {
	return r<<pieceShift | transport.Round(k)
}

// pieces returns the number of pieces of an m-element round (at least one,
// so that empty vectors still make a message).
func pieces(m int) int { return max(1, (m+pieceElems-1)/pieceElems) }

// shareOut computes this party's sub-shares of v = x∘y (v = x when y is nil)
// with the given secret coefficients, writes its own into own, and sends
// every party of its send set its piece as soon as the piece is computed.
// With fold (a re-sharing, where every party re-shares a vector of the same
// length in round r), it also adds into own the sub-shares that the parties
// whose PRG set holds this party give it through their streams.
func (p *Party) shareOut(ctx context.Context, r transport.Round, src source, secret []coef, own fr.Vector, fold bool) error {
	prm := p.params
	me := p.self
	m := src.len()
	sends := prm.sendSet[me]
	for k, np := 0, pieces(m); k < np; k++ {
		pOff, pEnd := k*pieceElems, min((k+1)*pieceElems, m)
		payloads := make([][]byte, len(sends))
		for s := range sends {
			payloads[s] = p.allocPiece(field.EncodedLen(pEnd - pOff))
			field.PutHeader(payloads[s], pEnd-pOff)
		}
		p.parallelRange(pOff, pEnd, func(w *worker, c uint32, off, end int) {
			n := end - off
			v := src.chunk(w, w.buf(slotProduct, n), off, end)
			if off == 0 && p.cheating && p.cheat.MulOffset {
				v = p.cheatProduct(v, 0)
			}
			if m1 := src.valueLen(); p.cheating && p.cheat.MacOffset && src.hasMAC() && off <= m1 && m1 < end {
				v = p.cheatProduct(v, m1-off)
			}
			p.subShares(w, v, secret, uint64(r), c, own[off:end], fold, func(to int, share fr.Vector) {
				if at := p.cheatAt; p.cheating && p.cheat.HiddenOffset && off <= at && at < end {
					p.cheatHidden(to, share[at-off:])
				}
				if off == 0 && p.cheating && p.cheat.BadInput && to == prm.sendSet[me][0] {
					one := fr.One()
					share[0].Add(&share[0], &one)
				}
				if to == me {
					return // computed in own
				}
				for s, kk := range sends {
					if kk == to {
						field.PutElements(payloads[s][field.HeaderBytes+(off-pOff)*field.Bytes:], share)
					}
				}
			})
		})
		for s, to := range sends {
			if err := p.sendPiece(ctx, to, msgRound(r, k), payloads[s]); err != nil {
				return err
			}
		}
	}
	return nil
}

// recvPieces receives party from's len(dst)-element vector of round r, piece
// by piece, adding it into dst (add) or storing it.
func (p *Party) recvPieces(ctx context.Context, from int, r transport.Round, dst fr.Vector, add bool) error {
	m := len(dst)
	for k, np := 0, pieces(m); k < np; k++ {
		part := dst[k*pieceElems : min((k+1)*pieceElems, m)]
		var err error
		if add {
			err = p.recvAdd(ctx, from, msgRound(r, k), part)
		} else {
			err = p.recvInto(ctx, from, msgRound(r, k), part)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// subShares computes this party's sub-shares of the chunk v (chunk c of
// round r) for every party outside its PRG set — secret[k]·v +
// Σ_j subPRGc[k][j]·u_j, where u_j is the stream to party j (whose own
// sub-share is prgScale·u_j) — and hands each to emit (the slice is reused),
// its own last, computed directly in own (distinct from v). With fold (a
// re-sharing), own also gets the sub-shares that the parties whose PRG set
// holds this party give it through their streams, in the same pass. When
// every coefficient of a sub-share is a small integer (v/2 standing for a
// denominator 2) — every one for n = 3 — the sub-share is one linComb over
// the operands; otherwise each term is scaled and added in turn.
func (p *Party) subShares(w *worker, v fr.Vector, secret []coef, r uint64, c uint32, own fr.Vector, fold bool, emit func(k int, share fr.Vector)) {
	prm := p.params
	me := p.self
	n := len(v)
	t := len(prm.prgSet[me])
	// Operands: v, v/2 (when needed), the streams to prgSet[me], then the
	// folded streams.
	var srcBuf [2 + 2*MaxParties]fr.Vector
	srcs := srcBuf[:2+t]
	srcs[0] = v
	for k, j := range prm.prgSet[me] {
		srcs[2+k] = w.buf(slotRho+k, n)
		p.toPRG[j].Fill(srcs[2+k], r, c, w.stream)
	}
	var foldC [MaxParties]*coef
	nf := 0
	if fold {
		for i, g := range p.fromPRG {
			if g == nil || i == me {
				continue
			}
			u := w.buf(slotFold+nf, n)
			g.Fill(u, r, c, w.stream)
			srcs = append(srcs, u)
			foldC[nf] = &prm.prgScale[i][p.fromIdx[i]]
			nf++
		}
	}
	// v/2, once for every coefficient with denominator 2 (n = 3: party 0's
	// ±3/2 of a multiplication, ±1/2 of an input).
	needHalf := secret[me].small && secret[me].den == 2
	for _, k := range prm.sendSet[me] {
		needHalf = needHalf || secret[k].small && secret[k].den == 2
	}
	if needHalf {
		srcs[1] = w.buf(slotHalf, n)
		halveInto(srcs[1], v)
	}
	tmp := w.buf(slotTmp, n)
	var termBuf [2 + 2*MaxParties]linTerm
	emitFor := func(k int, out fr.Vector, withFold bool) {
		terms, ok := kernelTerms(termBuf[:0], &secret[k], prm.subPRGc[me][k])
		for f := 0; ok && withFold && f < nf; f++ {
			terms, ok = appendTerm(terms, 2+t+f, foldC[f])
		}
		if ok {
			linComb(out, srcs, terms)
		} else {
			setScaledHalf(out, v, srcs[1], &secret[k])
			for j := 0; j < t; j++ {
				addScaled(out, srcs[2+j], &prm.subPRGc[me][k][j], tmp)
			}
			for f := 0; withFold && f < nf; f++ {
				addScaled(out, srcs[2+t+f], foldC[f], tmp)
			}
		}
		emit(k, out)
	}
	out := w.buf(slotOut, n)
	for _, k := range prm.sendSet[me] {
		emitFor(k, out, false)
	}
	emitFor(me, own, true)
}

// kernelTerms appends to dst the linComb terms of a sub-share with secret
// coefficient s (on v, or on v/2 for a denominator 2) and stream
// coefficients pc (on the streams to prgSet, operands 2, 3, …); false when
// a coefficient is not small.
func kernelTerms(dst []linTerm, s *coef, pc []coef) ([]linTerm, bool) {
	if !s.small {
		return dst, false
	}
	if s.num != 0 {
		src := 0
		if s.den == 2 {
			src = 1
		}
		dst = append(dst, linTerm{src: src, c: s.num})
	}
	ok := true
	for j := range pc {
		if dst, ok = appendTerm(dst, 2+j, &pc[j]); !ok {
			break
		}
	}
	return dst, ok
}

// appendTerm appends the term c·srcs[src] for a small integer c (none for
// c = 0); false when c is not one.
func appendTerm(dst []linTerm, src int, c *coef) ([]linTerm, bool) {
	if !c.small || c.den != 1 {
		return dst, false
	}
	if c.num != 0 {
		dst = append(dst, linTerm{src: src, c: c.num})
	}
	return dst, true
}

// recvAdd receives party from's vector for round r (exactly len(acc)
// elements) and adds it into acc, block by block.
func (p *Party) recvAdd(ctx context.Context, from int, r transport.Round, acc fr.Vector) error {
	b, err := p.recv(ctx, from, r)
	if err != nil {
		return err
	}
	p.Stats.MessagesRecvd++
	bad := func(err error) error {
		return p.failWith(&transport.PartyError{Party: transport.PartyID(from), Round: r, Err: fmt.Errorf("bad message: %w", err)})
	}
	m := len(acc)
	n, err := field.VectorLen(b, m)
	if err != nil {
		return bad(err)
	}
	if n != m || len(b) != field.EncodedLen(m) {
		return bad(fmt.Errorf("vector of %d elements in %d bytes, want %d elements", n, len(b), m))
	}
	body := b[field.HeaderBytes:]
	var failed atomic.Value
	p.parallel(m, func(w *worker, _ uint32, off, end int) {
		tmp := w.buf(slotTmp, end-off)
		if err := field.GetElements(tmp, body[off*field.Bytes:]); err != nil {
			failed.Store(err)
			return
		}
		blk := acc[off:end]
		blk.Add(blk, tmp)
	})
	p.release(b) // decoded into acc; nothing refers to b any more
	if err, _ := failed.Load().(error); err != nil {
		return bad(err)
	}
	return nil
}

// inputs runs one sharing round in which each party i contributes counts[i]
// secrets (mine, for this party) and returns every party's contribution as
// shares, indexed by party (empty for counts[i] = 0). Sub-shares for prgSet[i]
// come from the pairwise PRGs, as in reshare. The contributions are
// consecutive views of one vector, in party order (see inputsFlat).
func (p *Party) inputs(ctx context.Context, mine fr.Vector, counts []int) ([]fr.Vector, error) {
	out, _, err := p.inputsFlat(ctx, mine, counts)
	return out, err
}

// inputsFlat is inputs, also returning the vector of which the
// contributions are consecutive views (party 0's first).
func (p *Party) inputsFlat(ctx context.Context, mine fr.Vector, counts []int) ([]fr.Vector, fr.Vector, error) {
	prm := p.params
	me := p.self
	if len(counts) != prm.N {
		return nil, nil, fmt.Errorf("ss: input counts for %d parties, want %d", len(counts), prm.N)
	}
	if len(mine) != counts[me] {
		return nil, nil, fmt.Errorf("ss: party %d contributes %d values, declared %d", me, len(mine), counts[me])
	}
	for _, c := range counts {
		if err := checkStreamed(c); err != nil {
			return nil, nil, err
		}
	}
	r := p.nextRound()
	p.dirty = true
	out := make([]fr.Vector, prm.N)
	total := 0
	for _, c := range counts {
		total += c
	}
	flat := make(fr.Vector, total)
	off := 0
	for i, c := range counts {
		out[i] = flat[off : off+c : off+c]
		off += c
	}
	if m := counts[me]; m > 0 {
		own := out[me]
		if err := p.shareOut(ctx, r, source{x: mine}, prm.subSecretIn[me], own, false); err != nil {
			return nil, nil, fmt.Errorf("ss: input: %w", err)
		}
	}
	for i := 0; i < prm.N; i++ {
		if i == me {
			continue
		}
		if counts[i] == 0 {
			continue
		}
		if g := p.fromPRG[i]; g != nil {
			dst := out[i]
			scale := &prm.prgScale[i][p.fromIdx[i]]
			p.parallel(len(dst), func(w *worker, c uint32, off, end int) {
				u := w.buf(slotTmp, end-off)
				g.Fill(u, uint64(r), c, w.stream)
				setScaled(dst[off:end], u, scale, w.buf(slotOut, end-off))
			})
		} else if err := p.recvPieces(ctx, i, r, out[i], false); err != nil {
			return nil, nil, fmt.Errorf("ss: input: %w", err)
		}
	}
	return out, flat, nil
}

// Input secret-shares values held by party owner among the committee (one
// round). Every party calls it with the same owner and m; only the owner's
// values are read (others pass nil).
func (p *Party) Input(ctx context.Context, owner int, values fr.Vector, m int) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	return p.input(ctx, owner, values, m)
}

// InputVec secret-shares values held by party owner (as Input) and, in
// malicious mode, checks that the owner's sharing is of degree t and
// authenticates it (AuthenticateDealt: the owner is a dealer like a provider).
func (p *Party) InputVec(ctx context.Context, owner int, values fr.Vector, m int) (Vec, error) {
	if c := p.cheat; c != nil && c.BadInput && owner == p.self {
		p.cheating = true
	}
	x, err := p.input(ctx, owner, values, m)
	p.cheating = false
	if err != nil {
		return Vec{}, err
	}
	if !p.malicious() {
		return Vec{V: x}, nil
	}
	v, err := p.AuthenticateDealt(ctx, []fr.Vector{x})
	if err != nil {
		return Vec{}, fmt.Errorf("ss: input of party %d: %w", owner, err)
	}
	return v[0], nil
}

func (p *Party) input(ctx context.Context, owner int, values fr.Vector, m int) (fr.Vector, error) {
	if owner < 0 || owner >= p.params.N {
		return nil, fmt.Errorf("ss: input owner %d out of range", owner)
	}
	counts := make([]int, p.params.N)
	counts[owner] = m
	mine := fr.Vector{}
	if owner == p.self {
		if len(values) != m {
			return nil, fmt.Errorf("ss: input of %d values, declared %d", len(values), m)
		}
		mine = values
	}
	all, err := p.inputs(ctx, mine, counts)
	if err != nil {
		return nil, err
	}
	return all[owner], nil
}

// Open reveals x to every party (one round; each party sends its shares to t
// others and reconstructs from t+1). label names the value for OnOpen.
//
// Malicious mode: unless the label declares a value under a mask uniform over
// the field (see masked; not the bounded masks of comparisons and
// truncation), every product so far is checked first (Verify); the opening then uses all
// n shares, each party checking that they lie on one polynomial of degree t.
func (p *Party) Open(ctx context.Context, label string, x fr.Vector) (fr.Vector, error) {
	if p.malicious() {
		if !masked(label) {
			if err := p.Verify(ctx); err != nil {
				return nil, err
			}
		}
		return p.openAll(ctx, label, x, -1)
	}
	m := len(x)
	if err := checkBatch(m); err != nil {
		return nil, err
	}
	r := p.nextRound()
	prm := p.params
	var payload []byte
	for j := 0; j < prm.N; j++ {
		if j == p.self || !contains(prm.openSet[j], p.self) {
			continue
		}
		if payload == nil {
			payload = field.EncodeVector(x)
		}
		if err := p.send(ctx, j, msgRound(r, 0), payload); err != nil {
			return nil, fmt.Errorf("ss: open %s: %w", label, err)
		}
	}
	res, err := p.reconstructFrom(ctx, r, x, p.self)
	if err != nil {
		return nil, fmt.Errorf("ss: open %s: %w", label, err)
	}
	p.observe(label, res)
	return res, nil
}

// OpenTo reveals x to party `to` only (one round, t messages). It returns the
// values at the recipient and nil elsewhere.
func (p *Party) OpenTo(ctx context.Context, label string, to int, x fr.Vector) (fr.Vector, error) {
	if to < 0 || to >= p.params.N {
		return nil, fmt.Errorf("ss: open to party %d out of range", to)
	}
	if p.malicious() {
		if !masked(label) {
			if err := p.Verify(ctx); err != nil {
				return nil, err
			}
		}
		return p.openAll(ctx, label, x, to)
	}
	if err := checkBatch(len(x)); err != nil {
		return nil, err
	}
	r := p.nextRound()
	if p.self != to {
		if contains(p.params.openSet[to], p.self) {
			if err := p.send(ctx, to, msgRound(r, 0), field.EncodeVector(x)); err != nil {
				return nil, fmt.Errorf("ss: open %s to %d: %w", label, to, err)
			}
		}
		return nil, nil
	}
	res, err := p.reconstructFrom(ctx, r, x, to)
	if err != nil {
		return nil, fmt.Errorf("ss: open %s: %w", label, err)
	}
	p.observe(label, res)
	return res, nil
}

func (p *Party) reconstructFrom(ctx context.Context, r transport.Round, mine fr.Vector, me int) (fr.Vector, error) {
	prm := p.params
	m := len(mine)
	res := field.New(m)
	tmp := field.New(m)
	for k, j := range prm.openSet[me] {
		src := mine
		if j != me {
			if err := p.recvInto(ctx, j, msgRound(r, 0), tmp); err != nil {
				return nil, err
			}
			src = tmp
		}
		field.AddScaled(res, src, &prm.openCoef[me][k], tmp)
	}
	return res, nil
}

func (p *Party) observe(label string, v fr.Vector) {
	p.Stats.Opened += len(v)
	if p.onOpen != nil {
		p.onOpen(label, v)
	}
}

func contains(s []int, x int) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// errSemiHonestAPI: the fr.Vector operations that create shares carry no
// MACs, so a malicious-mode party refuses them.
var errSemiHonestAPI = errors.New("ss: operation on unauthenticated shares in malicious mode; use the Vec API")

// Mul multiplies x and y element-wise (one round for the whole batch).
// Semi-honest mode only; MulVec works in both.
func (p *Party) Mul(ctx context.Context, x, y fr.Vector) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	z, err := p.mulVec(ctx, Vec{V: x}, Vec{V: y})
	return z.V, err
}

// MulVec multiplies x and y element-wise (one round for the whole batch).
func (p *Party) MulVec(ctx context.Context, x, y Vec) (Vec, error) { return p.mulVec(ctx, x, y) }

// cheatProduct is the test adversary's wrong local product (see
// cheat.Plan.MulOffset, MacOffset): it shifts value i so that the shared
// product changes by exactly Offset.
func (p *Party) cheatProduct(v fr.Vector, i int) fr.Vector {
	w := append(fr.Vector(nil), v...)
	var d, l fr.Element
	d.SetUint64(p.cheat.Offset)
	d.Mul(&d, &pow2[p.cheat.OffsetShift%uint(len(pow2))])
	l.Inverse(&p.params.lambda[p.self])
	d.Mul(&d, &l)
	w[i].Add(&w[i], &d)
	if p.cheat.OnDeviate != nil {
		p.cheat.OnDeviate()
	}
	return w
}

// hiddenPoly is the test adversary's D(x_k) = x_k·Π(x_k − x_p) over its PRG
// parties p, times Offset (see cheat.Plan.HiddenOffset).
func (p *Party) hiddenPoly(k int) fr.Element {
	x := point(k)
	d := x
	for _, j := range p.params.prgSet[p.self] {
		xj := point(j)
		var f fr.Element
		f.Sub(&x, &xj)
		d.Mul(&d, &f)
	}
	var o fr.Element
	o.SetUint64(p.cheat.Offset)
	return *d.Mul(&d, &o)
}

// cheatHidden adds the hidden offset to the sub-share for party k (this
// member's own included).
func (p *Party) cheatHidden(k int, share fr.Vector) {
	d := p.hiddenPoly(k)
	share[0].Add(&share[0], &d)
	if p.cheat.OnDeviate != nil {
		p.cheat.OnDeviate()
	}
}

// cheatFrame moves this member's share of the first value onto the line
// through its PRG partner's share (off by D(x_p) = 0) and its first send
// partner q's (off by D(x_q)): s − D(x_self) + D(x_q)·(x_self − x_p)/(x_q − x_p).
// t = 1.
func (p *Party) cheatFrame(v fr.Vector) {
	pp, q := p.params.prgSet[p.self][0], p.params.sendSet[p.self][0]
	xs, xp, xq := point(p.self), point(pp), point(q)
	var num, den fr.Element
	num.Sub(&xs, &xp)
	den.Sub(&xq, &xp)
	den.Inverse(&den)
	d := p.hiddenPoly(q)
	d.Mul(&d, &num).Mul(&d, &den)
	own := p.hiddenPoly(p.self)
	d.Sub(&d, &own)
	v[0].Add(&v[0], &d)
}

// Dot returns, for each i, the inner product of xs[i] and ys[i]; the local
// products are summed before one degree reduction, so a dot product of any
// length costs one multiplication's communication.
func (p *Party) Dot(ctx context.Context, xs, ys []fr.Vector) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	if len(xs) != len(ys) {
		return nil, fmt.Errorf("ss: dot of %d and %d vectors", len(xs), len(ys))
	}
	h := field.New(len(xs))
	for i := range xs {
		if len(xs[i]) != len(ys[i]) {
			return nil, fmt.Errorf("ss: dot %d: lengths %d and %d", i, len(xs[i]), len(ys[i]))
		}
		h[i] = xs[i].InnerProduct(ys[i])
	}
	p.Stats.Mults += len(h)
	return p.reshare(ctx, h, nil, true)
}

// Random returns shares of m uniformly random field elements no party knows
// (one round: the sum of every party's random contribution).
func (p *Party) Random(ctx context.Context, m int) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	v := field.New(m)
	p.own.FillVector(v)
	return p.reshare(ctx, v, nil, false)
}

// Constant returns the trivial sharing of public values (every share equals
// the value).
func Constant(values fr.Vector) fr.Vector { return append(fr.Vector(nil), values...) }

// DotVec returns, for each i, the inner product of xs[i] and ys[i], reduced
// once (malicious mode: the MAC half Σ(α·x)·y travels in the same round).
func (p *Party) DotVec(ctx context.Context, xs, ys []Vec) (Vec, error) {
	if len(xs) != len(ys) {
		return Vec{}, fmt.Errorf("ss: dot of %d and %d vectors", len(xs), len(ys))
	}
	k := len(xs)
	hs := p.halves()
	h := field.New(hs * k)
	for i := range xs {
		if xs[i].Len() != ys[i].Len() {
			return Vec{}, fmt.Errorf("ss: dot %d: lengths %d and %d", i, xs[i].Len(), ys[i].Len())
		}
		if err := p.checkMode("dot", xs[i], ys[i]); err != nil {
			return Vec{}, err
		}
		for q := 0; q < hs; q++ {
			h[q*k+i] = innerProduct(xs[i].half(q), ys[i].V)
		}
	}
	p.Stats.Mults += k
	r, err := p.reshare(ctx, h, nil, true)
	if err != nil {
		return Vec{}, err
	}
	if !p.malicious() {
		return Vec{V: r}, nil
	}
	z := Vec{V: r[:k:k], M: r[k:]}
	if err := p.addPending(ctx, z.V, z.M); err != nil {
		return Vec{}, err
	}
	return z, nil
}

// RandomVec returns shares of m uniformly random field elements no party
// knows (one round; malicious mode: one more to authenticate them).
func (p *Party) RandomVec(ctx context.Context, m int) (Vec, error) {
	v := field.New(m)
	p.own.FillVector(v)
	r, err := p.reshare(ctx, v, nil, false)
	if err != nil {
		return Vec{}, err
	}
	if !p.malicious() {
		return Vec{V: r}, nil
	}
	return p.macOf(ctx, r)
}

// OpenVec reveals x to every party (see Open).
func (p *Party) OpenVec(ctx context.Context, label string, x Vec) (fr.Vector, error) {
	if err := p.checkMode("open", x); err != nil {
		return nil, err
	}
	return p.Open(ctx, label, x.V)
}

// OpenToVec reveals x to party `to` only (see OpenTo).
func (p *Party) OpenToVec(ctx context.Context, label string, to int, x Vec) (fr.Vector, error) {
	if err := p.checkMode("open", x); err != nil {
		return nil, err
	}
	return p.OpenTo(ctx, label, to, x.V)
}
