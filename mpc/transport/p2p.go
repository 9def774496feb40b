package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/prometheus/client_golang/prometheus"
)

// ProtocolID is the libp2p protocol that carries MPC messages.
const ProtocolID = protocol.ID("/cohort/mpc/1")

// MaxJobIDBytes bounds a job ID on the wire.
const MaxJobIDBytes = 256

// ErrPeerGone wraps every failure caused by losing a peer: its stream broke
// or ended, its connection dropped, or it could not be reached.
var ErrPeerGone = errors.New("transport: peer connection lost")

// CommitteeResolver returns the peer IDs of a job's committee in party order
// (entry i is party i). The node implements it from the job's on-ledger spec.
type CommitteeResolver func(ctx context.Context, jobID string) ([]peer.ID, error)

// P2POption configures a P2PNetwork. Non-positive sizes and durations keep
// the defaults.
type P2POption func(*p2pConfig)

func setPos[T int | time.Duration](dst *T, v T) {
	if v > 0 {
		*dst = v
	}
}

type p2pConfig struct {
	resolver        CommitteeResolver
	mailboxBytes    int           // unread bytes buffered per peer per open job
	mailboxMsgs     int           // unread messages buffered per peer per open job
	earlyBytes      int           // bytes buffered per peer for jobs not yet opened
	earlyTotal      int           // bytes buffered from all peers for jobs not yet opened
	earlyJobs       int           // not-yet-opened jobs a peer may buffer messages for
	earlyTTL        time.Duration // how long messages for an unopened job are kept
	sendQueueBytes  int           // bytes queued per peer before Send blocks
	dialTimeout     time.Duration // how long the writer keeps trying to open a stream
	writeTimeout    time.Duration // how long one frame may take to be accepted by the peer
	maxStreamsPerPr int           // concurrent inbound streams per peer
	log             *slog.Logger
	clock           Clock // the network's timers; never nil after NewP2PNetwork
}

// Defaults of a P2PNetwork; see the options.
const (
	DefaultP2PMailboxBytes   = 256 << 20
	DefaultP2PMailboxMsgs    = 1 << 16
	DefaultEarlyBytesPerPeer = 256 << 20
	DefaultEarlyBytesTotal   = 1 << 30
	DefaultEarlyJobsPerPeer  = 64
	DefaultEarlyTTL          = 2 * time.Minute
	DefaultSendQueueBytes    = 64 << 20
	DefaultStreamDialTimeout = 15 * time.Second
	DefaultFrameWriteTimeout = 60 * time.Second
)

// WithCommitteeResolver lets Open (the Network interface) find a job's
// committee. Without it only OpenCommittee works.
func WithCommitteeResolver(r CommitteeResolver) P2POption {
	return func(c *p2pConfig) { c.resolver = r }
}

// WithMailboxLimits bounds what is buffered unread from one peer in one open
// job: bytes, and messages (so that a flood of empty messages for rounds
// nobody reads is bounded too). A peer exceeding either fails with
// ErrMailboxFull.
func WithMailboxLimits(bytes, messages int) P2POption {
	return func(c *p2pConfig) { setPos(&c.mailboxBytes, bytes); setPos(&c.mailboxMsgs, messages) }
}

// WithEarlyBuffer bounds what is kept for jobs this node has not opened yet:
// bytes per peer, number of jobs per peer, and for how long.
func WithEarlyBuffer(bytesPerPeer, jobsPerPeer int, ttl time.Duration) P2POption {
	return func(c *p2pConfig) {
		setPos(&c.earlyBytes, bytesPerPeer)
		setPos(&c.earlyJobs, jobsPerPeer)
		setPos(&c.earlyTTL, ttl)
	}
}

// WithEarlyBufferTotal bounds the bytes kept for unopened jobs from all peers
// together. The per-peer bounds assume the host's gater admits only members;
// this one holds even if it does not.
func WithEarlyBufferTotal(bytes int) P2POption {
	return func(c *p2pConfig) { setPos(&c.earlyTotal, bytes) }
}

// WithSendQueue bounds the bytes queued for one peer; Send blocks beyond it
// until the writer catches up or its context ends.
func WithSendQueue(bytes int) P2POption {
	return func(c *p2pConfig) { setPos(&c.sendQueueBytes, bytes) }
}

// WithTimeouts sets how long opening a stream to a peer is retried, and how
// long one frame may wait for the peer to accept it (a peer that stops
// reading is declared gone after that).
func WithTimeouts(streamDial, frameWrite time.Duration) P2POption {
	return func(c *p2pConfig) { setPos(&c.dialTimeout, streamDial); setPos(&c.writeTimeout, frameWrite) }
}

// WithLogger receives protocol violations and peer losses (never payloads).
func WithLogger(l *slog.Logger) P2POption {
	return func(c *p2pConfig) { c.log = l }
}

// P2PNetwork is the libp2p implementation of Network on ProtocolID.
//
// Each ordered pair of nodes shares one long-lived unidirectional stream (the
// sender opens it) that multiplexes all jobs; a frame carries (job ID, round,
// payload). The sender of a frame is the stream's authenticated remote peer,
// mapped to a party index through the job's committee; nothing on the wire
// claims an identity. Messages for a job not yet opened here are kept, within
// bounds, until it is opened. Losing a peer (its stream ends or breaks, its
// connection drops, it cannot be dialled) fails every open job it belongs to
// at once, so Recv calls return a *PartyError naming it instead of waiting
// for their deadline.
//
// Why one stream per peer rather than per (job, peer): a stream keeps the
// flow-control window yamux has grown for it (256 KiB up to 16 MiB) across
// jobs, and a job costs no stream set-up — BenchmarkP2PJobSetup (open, one
// 64 KiB round, close) runs about as fast as one round of
// BenchmarkP2PExchange. Sends are queued per peer and written by one
// goroutine per peer, so a party writes to all its peers in parallel while
// it computes. The price is head-of-line blocking: a very large message of
// one job delays later messages of other jobs to the same peer.
type P2PNetwork struct {
	h    host.Host
	cfg  p2pConfig
	ctx  context.Context // cancelled by Close; stops writers and dials
	stop context.CancelFunc
	wg   sync.WaitGroup // writers and inbound readers
	nb   *network.NotifyBundle

	mu        sync.Mutex
	closed    bool
	jobs      map[string]*p2pJob
	early     map[string]*earlyJob
	earlyUse  map[peer.ID]*earlyUsage
	closedIDs map[string]time.Time // recently closed jobs: late frames are dropped, not buffered
	earlySum  int                  // bytes in the early buffer, all peers
	lastSweep time.Time
	links     map[peer.ID]*outLink
	inbound   map[peer.ID]map[network.Stream]struct{}

	bufs bufPool // payload buffers: engines' sends (SendOwned) and frames read
	m    p2pMetrics
}

var (
	_ Network              = (*P2PNetwork)(nil)
	_ prometheus.Collector = (*P2PNetwork)(nil)
)

// p2pMetrics are the network's Prometheus metrics. They carry no job IDs,
// peer IDs or payload sizes per message, only totals.
type p2pMetrics struct {
	sentBytes, recvBytes   prometheus.Counter
	sentFrames, recvFrames prometheus.Counter
	dropped                *prometheus.CounterVec // by reason
	peerFailures           prometheus.Counter
	openJobs, earlyBytes   prometheus.GaugeFunc
}

func newP2PMetrics(nw *P2PNetwork) p2pMetrics {
	const ns, sub = "cohort", "mpc"
	locked := func(f func() int) func() float64 {
		return func() float64 {
			nw.mu.Lock()
			defer nw.mu.Unlock()
			return float64(f())
		}
	}
	return p2pMetrics{
		sentBytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "sent_bytes_total",
			Help: "Bytes of MPC frames (headers and payloads) written to peers."}),
		recvBytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "received_bytes_total",
			Help: "Bytes of well-formed MPC frames read from peers."}),
		sentFrames: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "sent_frames_total",
			Help: "MPC frames (messages and job departures) written to peers."}),
		recvFrames: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "received_frames_total",
			Help: "Well-formed MPC frames read from peers."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dropped_messages_total",
			Help: "MPC messages discarded, by reason."}, []string{"reason"}),
		peerFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "peer_failures_total",
			Help: "Times a peer was declared gone (stream ended or broke, disconnect, unreachable, stalled)."}),
		openJobs: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "open_jobs",
			Help: "Jobs open on this node."}, locked(func() int { return len(nw.jobs) })),
		earlyBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "early_buffer_bytes",
			Help: "Bytes held for jobs not yet opened here."}, locked(func() int { return nw.earlySum })),
	}
}

func (m *p2pMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sentBytes, m.recvBytes, m.sentFrames, m.recvFrames, m.dropped, m.peerFailures, m.openJobs, m.earlyBytes}
}

// Describe implements prometheus.Collector: the node registers the network
// with its registry (reg.Register(nw)) to export the cohort_mpc_* metrics.
func (nw *P2PNetwork) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range nw.m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (nw *P2PNetwork) Collect(ch chan<- prometheus.Metric) {
	for _, c := range nw.m.collectors() {
		c.Collect(ch)
	}
}

// NewP2PNetwork attaches the MPC protocol to h (one P2PNetwork per host: a
// second would take over the protocol handler). The host's connection gater
// decides who may connect; this network additionally accepts a message only
// from a member of the message's job committee. Close detaches it.
func NewP2PNetwork(h host.Host, opts ...P2POption) *P2PNetwork {
	cfg := p2pConfig{
		mailboxBytes:    DefaultP2PMailboxBytes,
		mailboxMsgs:     DefaultP2PMailboxMsgs,
		earlyBytes:      DefaultEarlyBytesPerPeer,
		earlyTotal:      DefaultEarlyBytesTotal,
		earlyJobs:       DefaultEarlyJobsPerPeer,
		earlyTTL:        DefaultEarlyTTL,
		sendQueueBytes:  DefaultSendQueueBytes,
		dialTimeout:     DefaultStreamDialTimeout,
		writeTimeout:    DefaultFrameWriteTimeout,
		maxStreamsPerPr: 4,
		clock:           realClock{},
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	nw := &P2PNetwork{
		h:         h,
		cfg:       cfg,
		ctx:       ctx,
		stop:      stop,
		jobs:      make(map[string]*p2pJob),
		early:     make(map[string]*earlyJob),
		earlyUse:  make(map[peer.ID]*earlyUsage),
		closedIDs: make(map[string]time.Time),
		links:     make(map[peer.ID]*outLink),
		inbound:   make(map[peer.ID]map[network.Stream]struct{}),
	}
	nw.m = newP2PMetrics(nw)
	nw.nb = &network.NotifyBundle{DisconnectedF: nw.onDisconnected}
	h.Network().Notify(nw.nb)
	h.SetStreamHandler(ProtocolID, nw.handleStream)
	nw.wg.Add(1)
	go nw.janitor()
	return nw
}

// janitor drops expired early messages and tombstones even when no traffic
// arrives to trigger a sweep, so their memory is bounded in time too.
func (nw *P2PNetwork) janitor() {
	defer nw.wg.Done()
	period := max(nw.cfg.earlyTTL/4, 10*time.Millisecond)
	tick := make(chan struct{}, 1)
	for {
		// One timer at a time, re-armed after each sweep: a slow sweep
		// delays the next instead of queueing ticks.
		stop := nw.cfg.clock.AfterFunc(period, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case <-nw.ctx.Done():
			stop()
			return
		case <-tick:
			nw.mu.Lock()
			nw.sweepLocked(nw.cfg.clock.Now())
			nw.mu.Unlock()
		}
	}
}

// Close detaches the protocol, closes every stream and job, and waits for its
// goroutines. Open jobs' pending Recv calls return ErrClosed.
func (nw *P2PNetwork) Close() error {
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		return nil
	}
	nw.closed = true
	jobs := nw.jobs
	nw.jobs = make(map[string]*p2pJob)
	var streams []network.Stream
	for _, in := range nw.inbound {
		for s := range in {
			streams = append(streams, s)
		}
	}
	links := make([]*outLink, 0, len(nw.links))
	for _, l := range nw.links {
		links = append(links, l)
	}
	nw.mu.Unlock()

	for _, s := range streams {
		_ = s.Reset()
	}
	for _, l := range links {
		l.kill(ErrClosed, false) // unblocks a writer stuck on a slow peer
	}

	nw.h.RemoveStreamHandler(ProtocolID)
	nw.h.Network().StopNotify(nw.nb)
	nw.stop()
	for _, j := range jobs {
		j.closeLocal()
	}
	nw.wg.Wait()
	return nil
}

// Open implements Network: it joins job jobID as party self of n, taking the
// committee from the resolver given with WithCommitteeResolver. The
// committee's entry self must be this host.
func (nw *P2PNetwork) Open(ctx context.Context, jobID string, self PartyID, n int) (Conn, error) {
	if nw.cfg.resolver == nil {
		return nil, fmt.Errorf("transport: open job %q: no committee resolver configured (use OpenCommittee or WithCommitteeResolver)", jobID)
	}
	committee, err := nw.cfg.resolver(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("transport: open job %q: resolve committee: %w", jobID, err)
	}
	if len(committee) != n {
		return nil, fmt.Errorf("transport: open job %q: committee has %d parties, not %d", jobID, len(committee), n)
	}
	if self < 0 || int(self) >= n {
		return nil, fmt.Errorf("transport: open job %q: party %d out of range for %d parties", jobID, self, n)
	}
	if committee[self] != nw.h.ID() {
		return nil, fmt.Errorf("transport: open job %q: party %d is %s, not this host %s", jobID, self, committee[self], nw.h.ID())
	}
	return nw.OpenCommittee(ctx, jobID, committee)
}

// OpenCommittee joins job jobID whose parties are committee (entry i is party
// i); this host's position in it is its party index. Messages that arrived
// for the job before it was opened are delivered, and streams to the other
// parties are opened in the background.
func (nw *P2PNetwork) OpenCommittee(_ context.Context, jobID string, committee []peer.ID) (Conn, error) {
	if len(jobID) == 0 || len(jobID) > MaxJobIDBytes {
		return nil, fmt.Errorf("transport: job ID of %d bytes, want 1..%d", len(jobID), MaxJobIDBytes)
	}
	self := PartyID(-1)
	index := make(map[peer.ID]PartyID, len(committee))
	for i, p := range committee {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("transport: open job %q: party %d: %w", jobID, i, err)
		}
		if _, dup := index[p]; dup {
			return nil, fmt.Errorf("transport: open job %q: peer %s appears twice in the committee", jobID, p)
		}
		index[p] = PartyID(i)
		if p == nw.h.ID() {
			self = PartyID(i)
		}
	}
	if self < 0 {
		return nil, fmt.Errorf("transport: open job %q: this host %s is not in the committee", jobID, nw.h.ID())
	}
	j := &p2pJob{
		nw:      nw,
		id:      jobID,
		self:    self,
		peers:   slices.Clone(committee),
		index:   index,
		box:     newMailbox(nw.cfg.mailboxBytes),
		sendErr: make(map[PartyID]error),
		unread:  make([]int, len(committee)),
	}

	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		return nil, ErrClosed
	}
	if now := nw.cfg.clock.Now(); now.Sub(nw.lastSweep) > time.Second {
		nw.sweepLocked(now)
	}
	if _, open := nw.jobs[jobID]; open {
		nw.mu.Unlock()
		return nil, fmt.Errorf("transport: job %q is already open on this host", jobID)
	}
	if _, recent := nw.closedIDs[jobID]; recent {
		nw.mu.Unlock()
		return nil, fmt.Errorf("transport: job %q was closed on this host; a retry needs a fresh job ID", jobID)
	}
	nw.jobs[jobID] = j
	early := nw.early[jobID]
	delete(nw.early, jobID)
	if early != nil {
		nw.releaseEarlyLocked(jobID, early)
	}
	nw.mu.Unlock()

	if early != nil {
		nw.deliverEarly(j, early)
	}
	for _, p := range committee {
		if p != nw.h.ID() {
			nw.link(p) // start dialling now so the first Send finds a stream
		}
	}
	return &p2pConn{job: j}, nil
}

// ---------------------------------------------------------------- jobs

type p2pJob struct {
	nw    *P2PNetwork
	id    string
	self  PartyID
	peers []peer.ID
	index map[peer.ID]PartyID
	box   *mailbox

	mu      sync.Mutex
	closed  bool
	sendErr map[PartyID]error // parties that left or were lost: Send fails at once
	unread  []int             // messages per party put in box and not yet received
}

// failParty records that a party is gone: sends to it fail and receives from
// it fail once its buffered messages are read.
func (j *p2pJob) failParty(p PartyID, err error) {
	j.mu.Lock()
	if _, ok := j.sendErr[p]; !ok {
		j.sendErr[p] = err
	}
	j.mu.Unlock()
	j.box.fail(p, err)
}

func (j *p2pJob) closeLocal() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return false
	}
	j.closed = true
	j.box.close()
	return true
}

type p2pConn struct{ job *p2pJob }

func (c *p2pConn) Self() PartyID { return c.job.self }
func (c *p2pConn) Parties() int  { return len(c.job.peers) }

func (c *p2pConn) Send(ctx context.Context, to PartyID, r Round, payload []byte) error {
	return c.send(ctx, to, r, payload, false)
}

// SendOwned sends a buffer from Alloc and recycles it once written.
func (c *p2pConn) SendOwned(ctx context.Context, to PartyID, r Round, payload []byte) error {
	return c.send(ctx, to, r, payload, true)
}

// Alloc returns an n-byte buffer for SendOwned, recycled when one is free.
func (c *p2pConn) Alloc(n int) []byte { return c.job.nw.bufs.get(n) }

// Release recycles a payload Recv returned: every frame is read into a
// buffer of its own, so nothing else refers to it.
func (c *p2pConn) Release(payload []byte) { c.job.nw.bufs.put(payload) }

func (c *p2pConn) send(ctx context.Context, to PartyID, r Round, payload []byte, owned bool) error {
	j := c.job
	if to < 0 || int(to) >= len(j.peers) || to == j.self {
		return fmt.Errorf("transport: cannot send to party %d", to)
	}
	if len(payload) > MaxMessageBytes {
		return fmt.Errorf("transport: message of %d bytes exceeds %d", len(payload), MaxMessageBytes)
	}
	j.mu.Lock()
	closed, gone := j.closed, j.sendErr[to]
	j.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if gone != nil {
		return &PartyError{Party: to, Round: r, Err: gone}
	}
	if err := ctx.Err(); err != nil {
		return &PartyError{Party: to, Round: r, Err: err}
	}
	l := j.nw.link(j.peers[to])
	if l == nil {
		return ErrClosed
	}
	if err := l.enqueue(ctx, outFrame{owned: owned, kind: frameData, jobID: j.id, round: r, payload: payload}); err != nil {
		return &PartyError{Party: to, Round: r, Err: err}
	}
	return nil
}

func (c *p2pConn) Recv(ctx context.Context, from PartyID, r Round) ([]byte, error) {
	j := c.job
	if from < 0 || int(from) >= len(j.peers) || from == j.self {
		return nil, fmt.Errorf("transport: cannot receive from party %d", from)
	}
	m, err := j.box.get(ctx, from, r)
	if err == nil {
		j.mu.Lock()
		j.unread[from]--
		j.mu.Unlock()
	}
	return m, err
}

// Close leaves the job. Messages already sent are still delivered; the other
// parties then learn that this party left, so their Recv calls for it fail at
// once rather than at their deadline.
func (c *p2pConn) Close() error {
	j := c.job
	if !j.closeLocal() {
		return nil
	}
	nw := j.nw
	nw.mu.Lock()
	if nw.jobs[j.id] == j {
		delete(nw.jobs, j.id)
		nw.closedIDs[j.id] = nw.cfg.clock.Now()
	}
	closing := nw.closed
	nw.mu.Unlock()
	if closing {
		return nil
	}
	for i, p := range j.peers {
		if PartyID(i) == j.self {
			continue
		}
		j.mu.Lock()
		gone := j.sendErr[PartyID(i)] != nil
		j.mu.Unlock()
		if gone {
			continue
		}
		if l := nw.link(p); l != nil {
			// Best effort, never blocking: a full queue means the peer is slow,
			// and it will still learn through its deadline.
			_ = l.tryEnqueue(outFrame{kind: frameLeave, jobID: j.id})
		}
	}
	return nil
}

// failPeer fails peer p in every open job it belongs to and marks it gone in
// every not-yet-opened job it sent messages for.
func (nw *P2PNetwork) failPeer(p peer.ID, err error) {
	nw.mu.Lock()
	var hit []*p2pJob
	for _, j := range nw.jobs {
		if _, ok := j.index[p]; ok {
			hit = append(hit, j)
		}
	}
	for _, e := range nw.early {
		if _, ok := e.bytes[p]; ok {
			e.markGone(p, err)
		}
	}
	nw.mu.Unlock()
	for _, j := range hit {
		j.failParty(j.index[p], err)
	}
	nw.m.peerFailures.Inc()
	if len(hit) > 0 {
		nw.cfg.log.Warn("mpc transport: lost peer", "peer", p, "jobs", len(hit), "err", err)
	}
}

// ---------------------------------------------------------------- inbound

func (nw *P2PNetwork) handleStream(s network.Stream) {
	p := s.Conn().RemotePeer()
	nw.mu.Lock()
	if nw.closed || len(nw.inbound[p]) >= nw.cfg.maxStreamsPerPr {
		nw.mu.Unlock()
		_ = s.Reset()
		return
	}
	if nw.inbound[p] == nil {
		nw.inbound[p] = make(map[network.Stream]struct{})
	}
	nw.inbound[p][s] = struct{}{}
	nw.wg.Add(1)
	nw.mu.Unlock()
	defer nw.wg.Done()

	err := nw.readLoop(p, s)

	nw.mu.Lock()
	delete(nw.inbound[p], s)
	if len(nw.inbound[p]) == 0 {
		delete(nw.inbound, p)
	}
	closing := nw.closed
	nw.mu.Unlock()
	if closing {
		return
	}
	if errors.Is(err, io.EOF) {
		_ = s.Close()
		nw.failPeer(p, fmt.Errorf("%w: peer %s closed its MPC stream", ErrPeerGone, p))
		return
	}
	_ = s.Reset()
	nw.cfg.log.Warn("mpc transport: inbound stream failed", "peer", p, "err", err)
	nw.failPeer(p, fmt.Errorf("%w: stream from peer %s: %v", ErrPeerGone, p, err))
}

func (nw *P2PNetwork) readLoop(p peer.ID, s network.Stream) error {
	br := bufio.NewReaderSize(s, 64<<10)
	for {
		f, err := readFrame(br, &nw.bufs)
		if err != nil {
			return err
		}
		nw.m.recvFrames.Inc()
		nw.m.recvBytes.Add(float64(frameHeaderBytes(f.jobID) + len(f.payload)))
		nw.dispatch(p, f)
	}
}

// dispatch routes one frame from authenticated peer p.
func (nw *P2PNetwork) dispatch(p peer.ID, f frame) {
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		return
	}
	if j, ok := nw.jobs[f.jobID]; ok {
		nw.mu.Unlock()
		party, member := j.index[p]
		if !member {
			nw.cfg.log.Warn("mpc transport: dropped message from a peer outside the job committee", "peer", p, "job", f.jobID)
			nw.m.dropped.WithLabelValues("not_in_committee").Inc()
			return
		}
		nw.deliver(j, party, f)
		return
	}
	defer nw.mu.Unlock()
	if _, recent := nw.closedIDs[f.jobID]; recent {
		nw.m.dropped.WithLabelValues("job_closed").Inc()
		return // late message for a job we finished
	}
	nw.bufferEarlyLocked(p, f)
}

func (nw *P2PNetwork) deliver(j *p2pJob, party PartyID, f frame) {
	switch f.kind {
	case frameLeave:
		j.failParty(party, fmt.Errorf("party left the job: %w", ErrClosed))
	case frameData:
		// The mailbox bounds bytes; the message count is bounded here.
		j.mu.Lock()
		full := j.unread[party] >= nw.cfg.mailboxMsgs
		if !full {
			j.unread[party]++
		}
		j.mu.Unlock()
		err := ErrMailboxFull
		if !full {
			if err = j.box.put(party, f.round, f.payload); err != nil {
				j.mu.Lock()
				j.unread[party]--
				j.mu.Unlock()
			}
		}
		if err != nil && !errors.Is(err, ErrClosed) {
			nw.cfg.log.Warn("mpc transport: protocol violation", "job", j.id, "party", party, "err", err)
			j.failParty(party, fmt.Errorf("protocol violation: %w", err))
		}
	}
}

// ---------------------------------------------------------------- early messages

type earlyKey struct {
	from  peer.ID
	round Round
}

// earlyJob holds messages for a job this node has not opened yet.
type earlyJob struct {
	created time.Time
	msgs    map[earlyKey][]byte
	order   []earlyKey        // arrival order, so delivery order matches the wire
	bytes   map[peer.ID]int   // per contributing peer; presence counts against its job quota
	gone    map[peer.ID]error // peer left, broke or overflowed before the job opened
}

func (e *earlyJob) markGone(p peer.ID, err error) {
	if _, ok := e.gone[p]; !ok {
		e.gone[p] = err
	}
}

type earlyUsage struct {
	bytes int
	jobs  int
}

// bufferEarlyLocked keeps f until its job is opened. nw.mu is held.
func (nw *P2PNetwork) bufferEarlyLocked(p peer.ID, f frame) {
	now := nw.cfg.clock.Now()
	if now.Sub(nw.lastSweep) > time.Second {
		nw.sweepLocked(now)
	}
	e := nw.early[f.jobID]
	use := nw.earlyUse[p]
	if use == nil {
		use = &earlyUsage{}
		nw.earlyUse[p] = use
	}
	if e == nil || !hasKey(e.bytes, p) {
		if use.jobs >= nw.cfg.earlyJobs {
			nw.cfg.log.Warn("mpc transport: dropped message for unopened job: too many unopened jobs from peer", "peer", p, "job", f.jobID)
			nw.m.dropped.WithLabelValues("early_jobs_quota").Inc()
			return
		}
		if e == nil {
			e = &earlyJob{
				created: now,
				msgs:    make(map[earlyKey][]byte),
				bytes:   make(map[peer.ID]int),
				gone:    make(map[peer.ID]error),
			}
			nw.early[f.jobID] = e
		}
		e.bytes[p] = 0
		use.jobs++
	}
	if _, gone := e.gone[p]; gone {
		return
	}
	if f.kind == frameLeave {
		e.markGone(p, fmt.Errorf("party left the job: %w", ErrClosed))
		return
	}
	k := earlyKey{p, f.round}
	if _, dup := e.msgs[k]; dup {
		e.markGone(p, fmt.Errorf("protocol violation: duplicate message for round %d", f.round))
		return
	}
	cost := len(f.payload) + earlyMessageOverhead
	if use.bytes+cost > nw.cfg.earlyBytes {
		e.markGone(p, fmt.Errorf("protocol violation: more than %d bytes sent before the job was opened here: %w", nw.cfg.earlyBytes, ErrMailboxFull))
		return
	}
	if nw.earlySum+cost > nw.cfg.earlyTotal {
		e.markGone(p, fmt.Errorf("early buffer for unopened jobs is full (%d bytes from all peers): %w", nw.cfg.earlyTotal, ErrMailboxFull))
		return
	}
	e.msgs[k] = f.payload
	e.order = append(e.order, k)
	e.bytes[p] += cost
	use.bytes += cost
	nw.earlySum += cost
}

// earlyMessageOverhead is charged per buffered message on top of its payload,
// roughly its bookkeeping, so that empty messages cannot grow the buffer
// without bound.
const earlyMessageOverhead = 128

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

// sweepLocked forgets unopened jobs and closed-job tombstones older than the
// early TTL. nw.mu is held.
func (nw *P2PNetwork) sweepLocked(now time.Time) {
	nw.lastSweep = now
	for id, e := range nw.early {
		if now.Sub(e.created) > nw.cfg.earlyTTL {
			delete(nw.early, id)
			nw.releaseEarlyLocked(id, e)
			nw.cfg.log.Info("mpc transport: discarded messages for a job never opened here", "job", id)
			nw.m.dropped.WithLabelValues("early_expired").Add(float64(len(e.msgs)))
		}
	}
	for id, t := range nw.closedIDs {
		if now.Sub(t) > nw.cfg.earlyTTL {
			delete(nw.closedIDs, id)
		}
	}
}

// releaseEarlyLocked returns e's bytes and job slots to its peers' quotas.
func (nw *P2PNetwork) releaseEarlyLocked(_ string, e *earlyJob) {
	for p, n := range e.bytes {
		nw.earlySum -= n
		if use := nw.earlyUse[p]; use != nil {
			use.bytes -= n
			use.jobs--
			if use.jobs <= 0 {
				delete(nw.earlyUse, p)
			}
		}
	}
}

// deliverEarly moves buffered messages into a freshly opened job.
func (nw *P2PNetwork) deliverEarly(j *p2pJob, e *earlyJob) {
	for _, k := range e.order {
		party, member := j.index[k.from]
		if !member {
			nw.cfg.log.Warn("mpc transport: dropped early message from a peer outside the job committee", "peer", k.from, "job", j.id)
			nw.m.dropped.WithLabelValues("not_in_committee").Inc()
			continue
		}
		nw.deliver(j, party, frame{kind: frameData, jobID: j.id, round: k.round, payload: e.msgs[k]})
	}
	for p, err := range e.gone {
		if party, member := j.index[p]; member {
			j.failParty(party, err)
		}
	}
}

// ---------------------------------------------------------------- outbound

type outFrame struct {
	// owned: the payload came from the network's buffer pool (SendOwned)
	// and goes back to it once written.
	owned   bool
	kind    byte
	jobID   string
	round   Round
	payload []byte
}

func (f *outFrame) size() int { return frameHeaderBytes(f.jobID) + len(f.payload) }

// outLink is the sending half towards one peer: a queue drained by one writer
// goroutine into one long-lived stream. Queueing lets Send return while the
// bytes are still being encrypted and written, so a party sends to all its
// peers in parallel and computes while its messages travel.
type outLink struct {
	nw   *P2PNetwork
	peer peer.ID

	mu     sync.Mutex
	queue  []outFrame
	queued int           // bytes in queue and in the writer's hands
	wake   chan struct{} // cap 1: work for the writer
	space  chan struct{} // closed when queued bytes drop, then replaced
	err    error         // set once the link is dead
	stream network.Stream
}

// link returns the live link to p, starting one if needed; nil once the
// network is closed.
func (nw *P2PNetwork) link(p peer.ID) *outLink {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.closed {
		return nil
	}
	if l := nw.links[p]; l != nil {
		return l
	}
	l := &outLink{nw: nw, peer: p, wake: make(chan struct{}, 1), space: make(chan struct{})}
	nw.links[p] = l
	nw.wg.Add(1)
	go l.run()
	return l
}

func (l *outLink) enqueue(ctx context.Context, f outFrame) error {
	n := f.size()
	for {
		l.mu.Lock()
		if l.err != nil {
			err := l.err
			l.mu.Unlock()
			return err
		}
		// An empty queue takes any frame, so one message larger than the
		// bound still goes through.
		if l.queued == 0 || l.queued+n <= l.nw.cfg.sendQueueBytes {
			l.queue = append(l.queue, f)
			l.queued += n
			l.mu.Unlock()
			select {
			case l.wake <- struct{}{}:
			default:
			}
			return nil
		}
		space := l.space
		l.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return fmt.Errorf("send queue to peer %s full: %w", l.peer, ctx.Err())
		}
	}
}

func (l *outLink) tryEnqueue(f outFrame) error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.mu.Lock()
	fits := l.err == nil && (l.queued == 0 || l.queued+f.size() <= l.nw.cfg.sendQueueBytes)
	l.mu.Unlock()
	if !fits {
		return errors.New("send queue full")
	}
	return l.enqueue(ctx, f)
}

// kill marks the link dead, resets its stream, drops its queue and, if
// failJobs, fails the peer in its jobs (messages queued for them are lost).
// The next Send to the peer (in a new job) starts a fresh link.
func (l *outLink) kill(err error, failJobs bool) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return
	}
	l.err = err
	l.queue = nil
	l.queued = 0
	close(l.space)
	s := l.stream
	l.mu.Unlock()
	if s != nil {
		_ = s.Reset()
	}

	nw := l.nw
	nw.mu.Lock()
	if nw.links[l.peer] == l {
		delete(nw.links, l.peer)
	}
	closing := nw.closed
	nw.mu.Unlock()
	if failJobs && !closing {
		nw.failPeer(l.peer, err)
	}
}

// streamOn reports whether the link's stream runs over connection c.
func (l *outLink) streamOn(c network.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stream != nil && l.stream.Conn() == c
}

func (l *outLink) run() {
	defer l.nw.wg.Done()
	s, err := l.openStream()
	if err != nil {
		l.kill(fmt.Errorf("%w: cannot open MPC stream to peer %s: %v", ErrPeerGone, l.peer, err), true)
		return
	}
	l.mu.Lock()
	dead := l.err != nil
	l.stream = s
	l.mu.Unlock()
	if dead { // killed while dialling
		_ = s.Reset()
		return
	}
	bw := bufio.NewWriterSize(s, 64<<10)
	var hdr []byte
	for {
		select {
		case <-l.wake:
		case <-l.nw.ctx.Done():
			l.kill(ErrClosed, false)
			return
		}
		l.mu.Lock()
		if l.err != nil {
			l.mu.Unlock()
			return
		}
		batch := l.queue
		l.queue = nil
		l.mu.Unlock()

		sent := 0
		for i := range batch {
			f := &batch[i]
			// The stream's deadline is the OS's, on the real clock (see Clock).
			_ = s.SetWriteDeadline(time.Now().Add(l.nw.cfg.writeTimeout))
			hdr = appendFrameHeader(hdr[:0], f.kind, f.jobID, f.round, len(f.payload))
			if _, err = bw.Write(hdr); err == nil {
				_, err = bw.Write(f.payload)
			}
			if err != nil {
				break
			}
			sent += f.size()
			if f.owned {
				l.nw.bufs.put(f.payload)
			}
			f.payload = nil // let the engine's buffer go as soon as it is written
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			l.kill(fmt.Errorf("%w: writing to peer %s: %v", ErrPeerGone, l.peer, err), true)
			return
		}
		l.mu.Lock()
		if l.err != nil { // killed while writing; kill already woke the senders
			l.mu.Unlock()
			return
		}
		l.queued -= sent
		l.nw.m.sentBytes.Add(float64(sent))
		l.nw.m.sentFrames.Add(float64(len(batch)))
		close(l.space)
		l.space = make(chan struct{})
		l.mu.Unlock()
	}
}

// Redial schedule of openStream: the first retry after firstRedial, each
// next one twice as late, at most maxRedial apart.
const (
	firstRedial = 50 * time.Millisecond
	maxRedial   = 2 * time.Second
)

// openStream opens the outbound stream, retrying with backoff for the dial
// timeout: a peer's node may still be starting when a job begins. Both the
// backoff and the timeout run on the network's clock.
func (l *outLink) openStream() (network.Stream, error) {
	clk := l.nw.cfg.clock
	ctx, cancel := context.WithCancelCause(l.nw.ctx)
	defer cancel(nil)
	stopTimeout := clk.AfterFunc(l.nw.cfg.dialTimeout, func() {
		cancel(fmt.Errorf("no stream within the dial timeout of %v: %w", l.nw.cfg.dialTimeout, context.DeadlineExceeded))
	})
	defer stopTimeout()
	backoff := firstRedial
	for {
		s, err := l.nw.h.NewStream(ctx, l.peer, ProtocolID)
		if err == nil {
			return s, nil
		}
		if sw, ok := l.nw.h.Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(l.peer) // our schedule, not the swarm's
		}
		retry := make(chan struct{})
		stopRetry := clk.AfterFunc(backoff, func() { close(retry) })
		select {
		case <-ctx.Done():
			stopRetry()
			return nil, fmt.Errorf("%v (%w)", err, context.Cause(ctx))
		case <-retry:
		}
		backoff = min(2*backoff, maxRedial)
	}
}

// onDisconnected fails a peer whose connection is gone. The outbound link
// over that connection dies. The peer's jobs fail here only if no inbound
// stream from it is being read: a reader fails them itself after delivering
// every message that arrived, so no message is lost to the race.
func (nw *P2PNetwork) onDisconnected(n network.Network, c network.Conn) {
	p := c.RemotePeer()
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		return
	}
	l := nw.links[p]
	reading := len(nw.inbound[p]) > 0
	nw.mu.Unlock()
	err := fmt.Errorf("%w: peer %s disconnected", ErrPeerGone, p)
	if l != nil && l.streamOn(c) {
		l.kill(err, !reading) // frames in flight on c may be lost
	}
	if !reading && n.Connectedness(p) != network.Connected {
		nw.failPeer(p, err)
	}
}

// ---------------------------------------------------------------- frames

// A frame on /cohort/mpc/1 is, big-endian:
//
//	kind     uint8   frameData or frameLeave
//	jobLen   uint16  1..MaxJobIDBytes
//	jobID    [jobLen]byte
//	round    uint64
//	length   uint32  0..MaxMessageBytes (0 for frameLeave)
//	payload  [length]byte
//
// The sender is not in the frame: it is the stream's authenticated peer.
const (
	frameData  byte = 1 // a message for (job, round)
	frameLeave byte = 2 // the sender closed the job
)

type frame struct {
	kind    byte
	jobID   string
	round   Round
	payload []byte
}

func frameHeaderBytes(jobID string) int { return 1 + 2 + len(jobID) + 8 + 4 }

func appendFrameHeader(b []byte, kind byte, jobID string, r Round, n int) []byte {
	b = append(b, kind)
	b = binary.BigEndian.AppendUint16(b, uint16(len(jobID)))
	b = append(b, jobID...)
	b = binary.BigEndian.AppendUint64(b, uint64(r))
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// errFrame marks a malformed frame: the peer broke the protocol.
var errFrame = errors.New("transport: malformed frame")

// eagerPayloadBytes is how much of a claimed payload is allocated up front.
// Larger payloads grow with the bytes that actually arrive, so a peer cannot
// make us allocate MaxMessageBytes by sending a header alone.
const eagerPayloadBytes = 1 << 20

// readFrame decodes one frame, bounding every length before allocating. A
// clean end of stream between frames is io.EOF; anything else malformed or
// truncated wraps errFrame or io.ErrUnexpectedEOF.
func readFrame(r io.Reader, bufs *bufPool) (frame, error) {
	var head [3]byte
	if _, err := io.ReadFull(r, head[:1]); err != nil {
		return frame{}, err // io.EOF: clean end
	}
	if _, err := io.ReadFull(r, head[1:3]); err != nil {
		return frame{}, noEOF(err)
	}
	kind := head[0]
	if kind != frameData && kind != frameLeave {
		return frame{}, fmt.Errorf("%w: unknown kind %d", errFrame, kind)
	}
	jobLen := int(binary.BigEndian.Uint16(head[1:3]))
	if jobLen == 0 || jobLen > MaxJobIDBytes {
		return frame{}, fmt.Errorf("%w: job ID of %d bytes, want 1..%d", errFrame, jobLen, MaxJobIDBytes)
	}
	var buf [MaxJobIDBytes + 12]byte
	rest := buf[:jobLen+12]
	if _, err := io.ReadFull(r, rest); err != nil {
		return frame{}, noEOF(err)
	}
	f := frame{
		kind:  kind,
		jobID: string(rest[:jobLen]),
		round: Round(binary.BigEndian.Uint64(rest[jobLen:])),
	}
	n := int(binary.BigEndian.Uint32(rest[jobLen+8:]))
	if n > MaxMessageBytes {
		return frame{}, fmt.Errorf("%w: payload of %d bytes exceeds %d", errFrame, n, MaxMessageBytes)
	}
	if kind == frameLeave {
		if n != 0 || f.round != 0 {
			return frame{}, fmt.Errorf("%w: leave frame with round %d and %d payload bytes", errFrame, f.round, n)
		}
		return f, nil
	}
	p, err := readPayload(r, n, bufs)
	if err != nil {
		return frame{}, err
	}
	f.payload = p
	return f, nil
}

// readCap is the capacity of a fresh buffer for an n-byte payload: its
// class's when that costs at most classSlack more (a power-of-two body
// and a header, as mpc/ss streams), so that once released it serves the
// same size again; n otherwise.
func readCap(n int) int {
	if c := ceilClass(n); c >= minPoolClass && c <= maxPoolClass && classCap(c)-n <= classSlack {
		return classCap(c)
	}
	return n
}

// readPayload reads an n-byte payload into a recycled buffer when one is
// free (bufs may be nil), else into one that grows as the bytes arrive.
func readPayload(r io.Reader, n int, bufs *bufPool) ([]byte, error) {
	if n > 0 && bufs != nil {
		if p := bufs.tryGet(ceilClass(n)); p != nil {
			p = p[:n]
			if _, err := io.ReadFull(r, p); err != nil {
				return nil, noEOF(err)
			}
			return p, nil
		}
	}
	if n <= eagerPayloadBytes {
		p := make([]byte, n, readCap(n))
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, noEOF(err)
		}
		return p, nil
	}
	p := make([]byte, 0, eagerPayloadBytes)
	for len(p) < n {
		if len(p) == cap(p) {
			p = slices.Grow(p, min(cap(p), n-len(p)))
		}
		m, err := r.Read(p[len(p):min(cap(p), n)])
		p = p[:len(p)+m]
		if err != nil {
			if len(p) == n {
				break
			}
			return nil, noEOF(err)
		}
	}
	return p, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
