package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/ledger/trace"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/metrics"
	"github.com/cohortnet/cohort/policies"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures a console.
type Config struct {
	Home           string           // node home: console.token, trust.json
	Moniker        string           // this node's member name (channels it may open)
	Listen         string           // host:port; beyond loopback a token is required
	Chain          Chain            // the node's CometBFT RPC
	RPCAddr        string           // the same RPC's address, the light client's primary
	Witnesses      []string         // other members' RPC addresses for the light client
	API            *client.Client   // the node's API (off-chain blobs)
	SealingKeyFile string           // the node's sealing key (opens its channels' records)
	Metrics        *metrics.Metrics // may be nil
	Log            *slog.Logger
}

// Server is a console. Its handler is read-only: no route writes to the
// ledger or the node's stores.
type Server struct {
	cfg   Config
	l     ledgerReader
	v     *verifier
	tmpl  map[string]*template.Template
	token string // "" on loopback

	traceMu sync.Mutex
	trace   *trace.Verifier
	trusted trace.TrustedHeader

	polMu  sync.Mutex
	polIdx policyIndex
}

// New prepares a console. Bound beyond loopback, it loads (or creates) the
// token in HOME/console.token.
func New(cfg Config) (*Server, error) {
	if cfg.Chain == nil {
		return nil, errors.New("console: Config.Chain is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, l: ledgerReader{cfg.Chain}}
	s.v = newVerifier(s.l)
	if !Loopback(cfg.Listen) {
		tok, err := LoadOrCreateToken(filepath.Join(cfg.Home, TokenFile))
		if err != nil {
			return nil, err
		}
		s.token = tok
	}
	var err error
	if s.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	return s, nil
}

// TokenRequired reports whether requests need the token.
func (s *Server) TokenRequired() bool { return s.token != "" }

// Close releases the light client's store.
func (s *Server) Close() error {
	s.traceMu.Lock()
	defer s.traceMu.Unlock()
	if s.trace != nil {
		return s.trace.Close()
	}
	return nil
}

var funcs = template.FuncMap{
	"short": func(s string) string {
		if len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
	"mark": func(state string) string {
		switch state {
		case "ok":
			return "✓"
		case "fail":
			return "✗"
		}
		return "…"
	},
	"memberHref": memberHref,
	"jobHref":    func(id string) string { return "/jobs/" + urlSeg(id) },
	"recordHref": func(id string) string { return "/records/" + urlSeg(id) },
	"hex":        func(b []byte) string { return fmt.Sprintf("%x", b) },
	"join":       strings.Join,
}

func parseTemplates() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*template.Template)
	for _, p := range pages {
		name := strings.TrimSuffix(filepath.Base(p), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, p)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func memberHref(name string) string { return "/members/" + urlSeg(name) }

// urlSeg escapes a path segment (IDs are user-chosen text).
func urlSeg(s string) string {
	return strings.ReplaceAll(template.URLQueryEscaper(s), "+", "%20")
}

// Handler serves the console.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, page string, h func(http.ResponseWriter, *http.Request)) {
		mux.Handle(pattern, s.counted(page, http.HandlerFunc(h)))
	}
	route("GET /{$}", "overview", s.handleOverview)
	route("GET /jobs", "jobs", s.handleJobs)
	route("GET /jobs/{id}", "job", s.handleJob)
	route("GET /records", "records", s.handleRecords)
	route("GET /records/{id}", "record", s.handleRecord)
	route("GET /members", "members", s.handleMembers)
	route("GET /members/{name}", "member", s.handleMember)
	route("GET /policy", "policy", s.handlePolicy)
	route("GET /login", "login", s.handleLogin)
	route("POST /login", "login", s.handleLogin)
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	var h http.Handler = mux
	if s.token != "" {
		h = s.requireToken(h)
	} else {
		h = loopbackHostOnly(h)
	}
	return securityHeaders(h)
}

// loopbackHostOnly guards a tokenless (loopback) console against DNS
// rebinding: a web page the supervisor visits could point its own name at
// 127.0.0.1 and read the console; its requests carry that name as Host.
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.Trim(host, "[]")
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "this console answers loopback host names only", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) counted(page string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.cfg.Metrics.ConsoleRequest(page, rec.status)
	})
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Moniker string
	Data    any
	Q       string
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.tmpl[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	p := page{Title: name, Nav: name, Moniker: s.cfg.Moniker, Data: data, Q: r.URL.Query().Get("q")}
	if name == "login" {
		p.Moniker = "" // nothing about the node before the token
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.cfg.Log.Error("console render", "page", name, "err", err)
		http.Error(w, "render error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadGateway
	if errors.Is(err, errNotFound) {
		status = http.StatusNotFound
	}
	s.render(w, r, status, "error", err.Error())
}

// matches reports whether any of fields contains q (case-insensitive).
func matches(q string, fields ...string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// --- Overview

type validatorRow struct {
	Name    string
	Address string
	Power   int64
}

type overview struct {
	ChainID    string
	Height     int64
	AppHash    string
	BlockTime  string
	Validators []validatorRow
	TotalPower int64
	TxChart    Chart
	TimeChart  Chart
	OpenJobs   []*ledgerpb.Job
	Records    []*ledgerpb.Record
	Errors     []string
}

const chartBlocks = 60

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := s.cfg.Chain.Status(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o := overview{ChainID: st.NodeInfo.Network, Height: st.SyncInfo.LatestBlockHeight,
		BlockTime: st.SyncInfo.LatestBlockTime.UTC().Format(time.RFC3339)}
	o.AppHash = s.l.appHash(ctx, o.Height)
	names := s.validatorNames(ctx)
	if vals, err := s.cfg.Chain.Validators(ctx, nil, nil, intPtr(100)); err == nil {
		for _, v := range vals.Validators {
			o.Validators = append(o.Validators, validatorRow{Name: names[v.Address.String()], Address: v.Address.String(), Power: v.VotingPower})
			o.TotalPower += v.VotingPower
		}
	} else {
		o.Errors = append(o.Errors, "validators: "+err.Error())
	}
	// Blocks and txs over the last blocks, 20 headers per RPC call.
	var hs, txs, gaps []int64
	var labels []string
	var prev time.Time
	lo := max(1, o.Height-chartBlocks+1)
	for from := lo; from <= o.Height; from += 20 {
		info, err := s.cfg.Chain.BlockchainInfo(ctx, from, min(from+19, o.Height))
		if err != nil {
			o.Errors = append(o.Errors, "blocks: "+err.Error())
			break
		}
		metas := info.BlockMetas
		sort.Slice(metas, func(i, j int) bool { return metas[i].Header.Height < metas[j].Header.Height })
		for _, m := range metas {
			hs = append(hs, m.Header.Height)
			labels = append(labels, "block "+strconv.FormatInt(m.Header.Height, 10))
			txs = append(txs, int64(m.NumTxs))
			if !prev.IsZero() {
				gaps = append(gaps, m.Header.Time.Sub(prev).Milliseconds())
			} else {
				gaps = append(gaps, 0)
			}
			prev = m.Header.Time
		}
	}
	o.TxChart = barChart("Txs per block", labels, txs, fmt.Sprintf("last %d blocks", len(txs)))
	if len(hs) > 1 {
		o.TimeChart = lineChart("Milliseconds between blocks", hs[1:], gaps[1:], "block rate over the same blocks")
	} else {
		o.TimeChart = Chart{Empty: true, Title: "Milliseconds between blocks"}
	}
	if jobs, err := s.l.openJobs(ctx); err == nil {
		o.OpenJobs = jobs
	} else {
		o.Errors = append(o.Errors, "open jobs: "+err.Error())
	}
	if recs, err := s.l.records(ctx); err == nil {
		o.Records = recs[:min(len(recs), 10)]
	} else {
		o.Errors = append(o.Errors, "records: "+err.Error())
	}
	s.render(w, r, http.StatusOK, "overview", o)
}

func intPtr(i int) *int { return &i }

// validatorNames maps validator addresses to member names.
func (s *Server) validatorNames(ctx context.Context) map[string]string {
	out := map[string]string{}
	members, err := s.l.members(ctx)
	if err != nil {
		return out
	}
	for _, m := range members {
		if len(m.ValidatorKey) == ed25519.PubKeySize {
			out[ed25519.PubKey(m.ValidatorKey).Address().String()] = m.Name
		}
	}
	return out
}

// --- Jobs

type jobsPage struct {
	Jobs     []*ledgerpb.Job
	Status   string
	Type     string
	Statuses []string
	Types    []string
	Total    int
}

func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.l.jobs(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, status, typ := r.URL.Query().Get("q"), r.URL.Query().Get("status"), r.URL.Query().Get("type")
	p := jobsPage{Status: status, Type: typ, Total: len(jobs), Types: jobTypeNames(),
		Statuses: []string{ledger.JobCollecting, ledger.JobRunning, ledger.JobCompleted, ledger.JobAborted}}
	for _, j := range jobs {
		if (status == "" || j.Status == status) && (typ == "" || j.Type == typ) &&
			matches(q, append([]string{j.Id, j.Type, j.Requester, j.Recipient, j.CommitteeId, j.Culprit}, j.Providers...)...) {
			p.Jobs = append(p.Jobs, j)
		}
	}
	sort.SliceStable(p.Jobs, func(a, b int) bool { return p.Jobs[a].SubmittedHeight > p.Jobs[b].SubmittedHeight })
	s.render(w, r, http.StatusOK, "jobs", p)
}

type jobPage struct {
	Job    *ledgerpb.Job
	Params string
	Steps  []Step
	AllOK  bool
}

func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.l.job(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, fmt.Errorf("job %q: %w", r.PathValue("id"), err))
		return
	}
	p := jobPage{Job: j, Params: prettyJSON(j.Params), Steps: s.jobTrail(r.Context(), j), AllOK: true}
	for _, st := range p.Steps {
		p.AllOK = p.AllOK && st.State == "ok"
	}
	s.render(w, r, http.StatusOK, "job", p)
}

// --- Records

type recordsPage struct {
	Records  []*ledgerpb.Record
	Channel  string
	Channels []string
	Total    int
}

func (s *Server) handleRecords(w http.ResponseWriter, r *http.Request) {
	recs, err := s.l.records(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, channel := r.URL.Query().Get("q"), r.URL.Query().Get("channel")
	p := recordsPage{Channel: channel, Total: len(recs)}
	seen := map[string]bool{}
	for _, rec := range recs {
		if rec.Channel != "" && !seen[rec.Channel] {
			seen[rec.Channel] = true
			p.Channels = append(p.Channels, rec.Channel)
		}
		if (channel == "" || rec.Channel == channel) &&
			matches(q, rec.Id, rec.Kind, rec.Channel, rec.Submitter, fmt.Sprintf("%x", rec.Hash), string(rec.PublicInfo)) {
			p.Records = append(p.Records, rec)
		}
	}
	sort.Strings(p.Channels)
	s.render(w, r, http.StatusOK, "records", p)
}

func (s *Server) handleRecord(w http.ResponseWriter, r *http.Request) {
	rec, err := s.l.record(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, fmt.Errorf("record %q: %w", r.PathValue("id"), err))
		return
	}
	s.render(w, r, http.StatusOK, "record", s.recordPage(r.Context(), rec))
}

// --- Members

type memberRow struct {
	Name   string
	Roles  string
	Rating int64
	Grade  string
	Power  int64
	Output int64
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	members, err := s.l.members(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query().Get("q")
	var rows []memberRow
	for _, m := range members {
		if !matches(q, m.Name, strings.Join(m.Roles, " ")) {
			continue
		}
		row := memberRow{Name: m.Name, Roles: strings.Join(m.Roles, ", ")}
		if rep, err := s.l.credit(ctx, m.Name); err == nil {
			row.Rating, row.Grade, row.Power, row.Output = rep.Credit.GetScore(), rep.Grade, rep.Credit.GetPower(), rep.Credit.GetOutput()
		}
		rows = append(rows, row)
	}
	s.render(w, r, http.StatusOK, "members", rows)
}

type taskRow struct {
	Task  *ledgerpb.Task
	Role  string // assignee or buyer
	Check Step
}

type memberPage struct {
	Member      *ledgerpb.Member
	Report      *ledgerpb.CreditReport
	GradeLabel  string
	RatingChart Chart
	PowerChart  Chart
	Tasks       []taskRow
	Penalties   []*ledgerpb.CreditEvent
	History     []*ledgerpb.CreditEvent
	Jobs        []*ledgerpb.Job
	Channels    []string
}

const powerEpochs = 24

func (s *Server) handleMember(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	members, err := s.l.members(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var m *ledgerpb.Member
	for _, x := range members {
		if x.Name == name {
			m = x
		}
	}
	if m == nil {
		s.fail(w, r, fmt.Errorf("member %q: %w", name, errNotFound))
		return
	}
	rep, err := s.l.credit(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := memberPage{Member: m, Report: rep, GradeLabel: rep.Grade}
	if pol, _, err := s.l.policy(ctx); err == nil {
		if g, err := pol.GradeOf(uint32(rep.Credit.GetScore())); err == nil {
			p.GradeLabel = g
		}
		for _, ch := range pol.Channels {
			for _, cm := range ch.Members {
				if cm == name {
					p.Channels = append(p.Channels, ch.Name)
				}
			}
		}
	}
	// Rating history: the events the ledger keeps, as a step line.
	var xs, ys []int64
	if len(rep.History) > 0 {
		first := rep.History[0]
		xs, ys = append(xs, max(first.Height-1, 0)), append(ys, first.Score-first.Delta)
	}
	for _, e := range rep.History {
		xs, ys = append(xs, e.Height), append(ys, e.Score)
		if e.Delta < 0 {
			p.Penalties = append(p.Penalties, e)
		}
	}
	if st, err := s.cfg.Chain.Status(ctx); err == nil {
		h := st.SyncInfo.LatestBlockHeight
		xs, ys = append(xs, h), append(ys, rep.Credit.GetScore())
		p.PowerChart = s.powerChart(ctx, m, h)
	}
	p.RatingChart = lineChart("Rating by height", xs, ys, fmt.Sprintf("%d rating changes kept by the ledger", len(rep.History)))
	for i := len(rep.History) - 1; i >= 0; i-- {
		p.History = append(p.History, rep.History[i])
	}
	if tasks, err := s.l.tasks(ctx); err == nil {
		for _, t := range tasks {
			role := ""
			switch name {
			case t.Assignee:
				role = "assignee"
			case t.Buyer:
				role = "buyer"
			default:
				continue
			}
			p.Tasks = append(p.Tasks, taskRow{Task: t, Role: role, Check: s.completionCheck(ctx, t)})
		}
	}
	if jobs, err := s.l.jobs(ctx); err == nil {
		for _, j := range jobs {
			involved := j.Requester == name || j.Recipient == name || j.Culprit == name
			for _, pr := range j.Providers {
				involved = involved || jobspec.SlotMember(pr) == name
			}
			if involved {
				p.Jobs = append(p.Jobs, j)
			}
		}
	}
	s.render(w, r, http.StatusOK, "member", p)
}

// powerChart is the member's voting power at each of the last epochs'
// boundaries, from CometBFT's validator sets.
func (s *Server) powerChart(ctx context.Context, m *ledgerpb.Member, height int64) Chart {
	title := "Voting power per epoch"
	if len(m.ValidatorKey) != ed25519.PubKeySize {
		return Chart{Empty: true, Title: title, Caption: "not a validator"}
	}
	params, err := s.l.params(ctx)
	if err != nil || params.EpochLength <= 0 {
		return Chart{Empty: true, Title: title, Caption: "no epoch length"}
	}
	addr := ed25519.PubKey(m.ValidatorKey).Address().String()
	last := height / params.EpochLength
	var labels []string
	var ys []int64
	for e := max(0, last-powerEpochs+1); e <= last; e++ {
		h := max(e*params.EpochLength, 1) + 1 // the set in force after the epoch's end
		if h > height {
			h = height
		}
		vals, err := s.cfg.Chain.Validators(ctx, &h, nil, intPtr(100))
		if err != nil {
			continue
		}
		var pw int64
		for _, v := range vals.Validators {
			if v.Address.String() == addr {
				pw = v.VotingPower
			}
		}
		labels, ys = append(labels, "epoch "+strconv.FormatInt(e, 10)), append(ys, pw)
	}
	return barChart(title, labels, ys, fmt.Sprintf("epochs of %d blocks, from CometBFT's validator sets", params.EpochLength))
}

// --- Policy

type policyUpdate struct {
	Height    int64
	Name      string
	Revision  uint64
	Hash      string
	Approvals []Step
	Signer    string
}

type policyIndex struct {
	scanned int64
	updates []policyUpdate
}

type policyPage struct {
	Policy    *policies.Policy
	YAML      string
	Hash      string
	Updates   []policyUpdate
	Scanned   int64
	Channels  []policies.Channel
	Jobs      []policies.JobRule
	ScanError string
}

// maxScanPerRequest bounds the blocks one policy page scans for updates;
// the index carries on from there on the next visit.
const maxScanPerRequest = 20000

func (s *Server) handlePolicy(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pol, raw, err := s.l.policy(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := pol.Hash()
	p := policyPage{Policy: pol, YAML: string(raw), Hash: fmt.Sprintf("%x", h[:]), Channels: pol.Channels, Jobs: pol.Jobs}
	if err := s.scanPolicyUpdates(ctx); err != nil {
		p.ScanError = err.Error()
	}
	s.polMu.Lock()
	p.Scanned = s.polIdx.scanned
	for i := len(s.polIdx.updates) - 1; i >= 0; i-- {
		p.Updates = append(p.Updates, s.polIdx.updates[i])
	}
	s.polMu.Unlock()
	s.render(w, r, http.StatusOK, "policy", p)
}

// scanPolicyUpdates extends the index of accepted policy updates: block
// headers say which blocks have txs; only those are fetched and decoded.
func (s *Server) scanPolicyUpdates(ctx context.Context) error {
	s.polMu.Lock()
	defer s.polMu.Unlock()
	st, err := s.cfg.Chain.Status(ctx)
	if err != nil {
		return err
	}
	tip := min(st.SyncInfo.LatestBlockHeight, s.polIdx.scanned+maxScanPerRequest)
	members := map[string]*ledgerpb.Member{}
	if ms, err := s.l.members(ctx); err == nil {
		for _, m := range ms {
			members[m.Name] = m
		}
	}
	for from := s.polIdx.scanned + 1; from <= tip; from += 20 {
		to := min(from+19, tip)
		info, err := s.cfg.Chain.BlockchainInfo(ctx, from, to)
		if err != nil {
			return fmt.Errorf("blocks %d-%d: %w", from, to, err)
		}
		metas := info.BlockMetas
		sort.Slice(metas, func(i, j int) bool { return metas[i].Header.Height < metas[j].Header.Height })
		for _, m := range metas {
			if m.NumTxs == 0 {
				continue
			}
			if err := s.indexBlock(ctx, m.Header.Height, members); err != nil {
				return err
			}
		}
		s.polIdx.scanned = to
	}
	return nil
}

func (s *Server) indexBlock(ctx context.Context, h int64, members map[string]*ledgerpb.Member) error {
	b, err := s.cfg.Chain.Block(ctx, &h)
	if err != nil {
		return fmt.Errorf("block %d: %w", h, err)
	}
	var res []uint32
	for i, raw := range b.Block.Txs {
		p, err := ledger.DecodePayload(raw, b.Block.ChainID)
		if err != nil || p.GetPolicyUpdate() == nil {
			continue
		}
		if res == nil {
			br, err := s.cfg.Chain.BlockResults(ctx, &h)
			if err != nil {
				return fmt.Errorf("block %d results: %w", h, err)
			}
			for _, r := range br.TxsResults {
				res = append(res, r.Code)
			}
		}
		if i >= len(res) || res[i] != ledger.CodeOK {
			continue
		}
		up := p.GetPolicyUpdate()
		next, err := policies.Parse(up.PolicyYaml)
		if err != nil {
			continue
		}
		hash := next.Hash()
		s.polIdx.updates = append(s.polIdx.updates, policyUpdate{Height: h, Name: next.Name, Revision: next.Revision,
			Hash: fmt.Sprintf("%x", hash[:]), Signer: p.Signer, Approvals: approvalChecks(b.Block.ChainID, next, up.Approvals, members)})
	}
	return nil
}

// --- Serving

// Serve runs the console on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	cancel()
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// jobTypeNames lists the job types for the jobs page's filter.
func jobTypeNames() []string {
	var names []string
	for _, t := range jobspec.Types() {
		names = append(names, string(t))
	}
	return names
}
