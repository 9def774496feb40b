package metrics

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// Namespace prefixes every cohort metric.
const Namespace = "cohort"

// Metrics are cohort's own collectors, registered on a caller's registry.
type Metrics struct {
	blocks         prometheus.Counter
	txs            *prometheus.CounterVec   // type, code
	proofs         *prometheus.CounterVec   // kind, result
	jobPhases      *prometheus.CounterVec   // type, phase
	jobBlocks      *prometheus.HistogramVec // type, outcome
	jobSeconds     *prometheus.HistogramVec // type, outcome
	creditUpdates  *prometheus.CounterVec   // reason, direction
	consoleChecks  *prometheus.CounterVec   // check, result
	consoleReqs    *prometheus.CounterVec   // page, status
	lastBlockUnixS prometheus.Gauge

	// open is the jobs open after the last observed block (nil before the
	// first): a job that leaves it without an event in a block was aborted
	// by the ledger at its deadline. Only ObserveBlock's goroutine uses it.
	open map[string]bool
}

// New creates cohort's metrics and registers them, with the Go runtime and
// process collectors, on reg. reg must not be prometheus.DefaultRegisterer's
// registry shared with unrelated code: each node owns one.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		blocks: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "ledger", Name: "blocks_total",
			Help: "Blocks committed by this node since it started."}),
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "ledger", Name: "txs_total",
			Help: "Committed txs by message type and result code (0 ok, see ledger codes)."}, []string{"type", "code"}),
		proofs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "ledger", Name: "proof_verifications_total",
			Help: "Proofs and committee signatures the ledger verified in committed txs, by kind and result (valid, invalid)."},
			[]string{"kind", "result"}),
		jobPhases: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "jobs", Name: "phase_transitions_total",
			Help: "Jobs entering a phase (collecting, running, completed, aborted), by job type."}, []string{"type", "phase"}),
		jobBlocks: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "jobs", Name: "duration_blocks",
			Help:    "Blocks from a job's submission to its result or abort, by job type and outcome.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12)}, []string{"type", "outcome"}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "jobs", Name: "duration_seconds",
			Help:    "Block time from a job's submission to its result or abort, by job type and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 14)}, []string{"type", "outcome"}),
		creditUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "credit", Name: "updates_total",
			Help: "Rating changes recorded by the ledger, by reason class and direction (up, down)."}, []string{"reason", "direction"}),
		consoleChecks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "console", Name: "verifications_total",
			Help: "Checks the console re-ran on this node, by check and result (pass, fail, error)."}, []string{"check", "result"}),
		consoleReqs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "console", Name: "requests_total",
			Help: "Console HTTP requests by page and status code."}, []string{"page", "status"}),
		lastBlockUnixS: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: "ledger", Name: "last_block_time_seconds",
			Help: "Header time of the last committed block (Unix seconds)."}),
	}
	cs := []prometheus.Collector{m.blocks, m.txs, m.proofs, m.jobPhases, m.jobBlocks, m.jobSeconds, m.creditUpdates,
		m.consoleChecks, m.consoleReqs, m.lastBlockUnixS}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// NewRegistry is a registry with the Go runtime and process collectors, for
// a node that serves everything it runs from one /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Ledger is what the block observer reads from committed state.
type Ledger interface {
	Job(id string) (*ledgerpb.Job, bool)
	OpenJobs() ([]*ledgerpb.Job, error)
	CreditEventsAt(height int64) ([]*ledgerpb.CreditEvent, error)
	BlockTime(height int64) (time.Time, bool)
}

// Block is one committed block as the observer needs it.
type Block struct {
	Height  int64
	Time    time.Time
	ChainID string
	Txs     [][]byte
	Results []*abci.ExecTxResult
}

// ObserveBlock counts a committed block's txs, verifications, job phases
// and rating changes. It runs after the block is committed, so ledger state
// reflects it. Calls must come from one goroutine, block after block.
func (m *Metrics) ObserveBlock(b Block, l Ledger) {
	m.blocks.Inc()
	finished := map[string]bool{}
	m.lastBlockUnixS.Set(float64(b.Time.UnixNano()) / 1e9)
	for i, raw := range b.Txs {
		if i >= len(b.Results) {
			break
		}
		res := b.Results[i]
		typ := "malformed"
		var payload *ledgerpb.TxPayload
		if p, err := ledger.DecodePayload(raw, b.ChainID); err == nil {
			payload, typ = p, TxType(p)
		}
		m.txs.WithLabelValues(typ, strconv.FormatUint(uint64(res.Code), 10)).Inc()
		if payload != nil {
			if kind := proofKind(payload); kind != "" {
				switch res.Code {
				case ledger.CodeOK:
					m.proofs.WithLabelValues(kind, "valid").Inc()
				case ledger.CodeInvalidProof, ledger.CodeBadSignature:
					// A job.result with a bad committee signature answers
					// CodeBadSignature; proofs answer CodeInvalidProof. A bad
					// envelope signature is not a proof failure, but it is
					// rejected in CheckTx and rarely reaches a block.
					if kind == "committee_signature" || res.Code == ledger.CodeInvalidProof {
						m.proofs.WithLabelValues(kind, "invalid").Inc()
					}
				}
			}
		}
		if res.Code != ledger.CodeOK {
			continue
		}
		for _, ev := range res.Events {
			if ev.Type != "job" {
				continue
			}
			id, status := attr(ev, "id"), attr(ev, "status")
			j, ok := l.Job(id)
			if !ok {
				continue
			}
			phase := jobPhase(status)
			m.jobPhases.WithLabelValues(j.Type, phase).Inc()
			if phase == "completed" || phase == "aborted" {
				finished[id] = true
				m.observeDuration(j, phase, l)
			}
		}
	}
	m.observeExpired(l, finished)
	if evs, err := l.CreditEventsAt(b.Height); err == nil {
		for _, e := range evs {
			dir := "up"
			if e.Delta < 0 {
				dir = "down"
			} else if e.Delta == 0 {
				dir = "none"
			}
			m.creditUpdates.WithLabelValues(CreditReasonClass(e.Reason), dir).Inc()
		}
	}
}

// observeExpired counts the jobs that left the open set in this block
// without a tx saying so: the ledger aborted them at their deadline.
func (m *Metrics) observeExpired(l Ledger, finished map[string]bool) {
	open, err := l.OpenJobs()
	if err != nil {
		return
	}
	now := make(map[string]bool, len(open))
	for _, j := range open {
		now[j.Id] = true
	}
	for id := range m.open {
		if now[id] || finished[id] {
			continue
		}
		if j, ok := l.Job(id); ok && (j.Status == ledger.JobAborted || j.Status == ledger.JobCompleted) {
			m.jobPhases.WithLabelValues(j.Type, j.Status).Inc()
			m.observeDuration(j, j.Status, l)
		}
	}
	m.open = now
}

func (m *Metrics) observeDuration(j *ledgerpb.Job, outcome string, l Ledger) {
	if j.FinishedHeight < j.SubmittedHeight || j.SubmittedHeight <= 0 {
		return
	}
	m.jobBlocks.WithLabelValues(j.Type, outcome).Observe(float64(j.FinishedHeight - j.SubmittedHeight))
	t0, ok0 := l.BlockTime(j.SubmittedHeight)
	t1, ok1 := l.BlockTime(j.FinishedHeight)
	if ok0 && ok1 && !t1.Before(t0) {
		m.jobSeconds.WithLabelValues(j.Type, outcome).Observe(t1.Sub(t0).Seconds())
	}
}

// ConsoleCheck counts one console re-verification: check is a fixed name
// (e.g. "committee_signature"), ok its outcome, err an error that kept the
// check from running.
func (m *Metrics) ConsoleCheck(check string, ok bool, err error) {
	if m == nil {
		return
	}
	result := "pass"
	switch {
	case err != nil:
		result = "error"
	case !ok:
		result = "fail"
	}
	m.consoleChecks.WithLabelValues(check, result).Inc()
}

// ConsoleRequest counts one console request; page is the route pattern,
// never the raw path (which carries IDs).
func (m *Metrics) ConsoleRequest(page string, status int) {
	if m == nil {
		return
	}
	m.consoleReqs.WithLabelValues(page, strconv.Itoa(status)).Inc()
}

// TxType names a payload's message type, e.g. "job_submit".
func TxType(p *ledgerpb.TxPayload) string {
	switch p.Msg.(type) {
	case *ledgerpb.TxPayload_RecordAnchor:
		return "record_anchor"
	case *ledgerpb.TxPayload_PolicyUpdate:
		return "policy_update"
	case *ledgerpb.TxPayload_TaskAssign:
		return "task_assign"
	case *ledgerpb.TxPayload_TaskComplete:
		return "task_complete"
	case *ledgerpb.TxPayload_CommitteeCreate:
		return "committee_create"
	case *ledgerpb.TxPayload_CommitteeConfirm:
		return "committee_confirm"
	case *ledgerpb.TxPayload_JobSubmit:
		return "job_submit"
	case *ledgerpb.TxPayload_JobInput:
		return "job_input"
	case *ledgerpb.TxPayload_JobResult:
		return "job_result"
	case *ledgerpb.TxPayload_JobAbort:
		return "job_abort"
	}
	return "other"
}

// proofKind is the kind of proof a tx carries that FinalizeBlock verifies,
// or "" for none.
func proofKind(p *ledgerpb.TxPayload) string {
	switch msg := p.Msg.(type) {
	case *ledgerpb.TxPayload_RecordAnchor:
		if msg.RecordAnchor.Channel != "" {
			return "compliance"
		}
	case *ledgerpb.TxPayload_TaskComplete:
		return "completion"
	case *ledgerpb.TxPayload_JobInput:
		if len(msg.JobInput.Proof) > 0 {
			return "input_validity"
		}
	case *ledgerpb.TxPayload_JobResult:
		return "committee_signature"
	}
	return ""
}

func jobPhase(status string) string {
	switch status {
	case ledger.JobCollecting, ledger.JobRunning, ledger.JobCompleted, ledger.JobAborted:
		return status
	}
	return "other"
}

// CreditReason classes: the ledger's reasons carry task and job IDs, which
// must not become label values.
var creditReasons = []struct{ prefix, class string }{
	{"task completed", "task_completed"},
	{"task timed out", "task_timeout"},
	{"invalid completion proof", "invalid_proof"},
	{"invalid input proof", "invalid_proof"},
	{"rejected record", "rejected_record"},
	{"job completed", "job_completed"},
	{"job input missing", "job_timeout"},
	{"decay", "decay"},
}

// CreditReasonClass maps a ledger credit reason to a bounded class.
func CreditReasonClass(reason string) string {
	for _, r := range creditReasons {
		if strings.HasPrefix(reason, r.prefix) {
			return r.class
		}
	}
	return "other"
}

func attr(ev abci.Event, key string) string {
	for _, a := range ev.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// Server serves a registry at /metrics.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen starts serving reg's metrics on addr (host:port) until Close.
func Listen(addr string, reg prometheus.Gatherer, errLog func(error)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && errLog != nil {
			errLog(err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for it.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}

// State is ledger state read at scrape time.
type State struct {
	Jobs    map[JobKey]int // jobs by type and status
	Members []MemberState
}

// JobKey is a job type and status.
type JobKey struct{ Type, Status string }

// MemberState is a member's public rating and voting power.
type MemberState struct {
	Name  string
	Score int64
	Power int64
}

// stateCollector reports ledger state at scrape time. Member names are
// public and their number is bounded by the alliance's membership.
type stateCollector struct {
	read               func() (State, error)
	jobs, score, power *prometheus.Desc
}

// RegisterState registers gauges of jobs by type and status and each
// member's rating and voting power, read with read at every scrape.
func RegisterState(reg prometheus.Registerer, read func() (State, error)) error {
	c := &stateCollector{
		read: read,
		jobs: prometheus.NewDesc(Namespace+"_jobs", "Jobs on the ledger by type and status.", []string{"type", "status"}, nil),
		score: prometheus.NewDesc(Namespace+"_credit_rating", "Each member's credit rating (0 to 1000).",
			[]string{"member"}, nil),
		power: prometheus.NewDesc(Namespace+"_credit_voting_power", "Each member's validator voting power as the ledger computed it.",
			[]string{"member"}, nil),
	}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("metrics: register state: %w", err)
	}
	return nil
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.score
	ch <- c.power
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.read()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.jobs, err)
		return
	}
	for k, n := range st.Jobs {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), k.Type, k.Status)
	}
	for _, m := range st.Members {
		ch <- prometheus.MustNewConstMetric(c.score, prometheus.GaugeValue, float64(m.Score), m.Name)
		ch <- prometheus.MustNewConstMetric(c.power, prometheus.GaugeValue, float64(m.Power), m.Name)
	}
}
