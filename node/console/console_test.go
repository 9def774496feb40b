package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	"github.com/cometbft/cometbft/p2p"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// fakeChain answers the console's reads from fixed ledger objects.
type fakeChain struct {
	records []*ledgerpb.Record
	jobs    []*ledgerpb.Job
	members []*ledgerpb.Member
}

func (f *fakeChain) ABCIQuery(_ context.Context, path string, data cmtbytes.HexBytes) (*ctypes.ResultABCIQuery, error) {
	var msg proto.Message
	switch path {
	case ledger.QueryRecords:
		msg = &ledgerpb.RecordList{Records: f.records}
	case ledger.QueryRecord:
		for _, r := range f.records {
			if r.Id == string(data) {
				msg = r
			}
		}
	case ledger.QueryJobs, ledger.QueryOpenJobs:
		msg = &ledgerpb.JobList{Jobs: f.jobs}
	case ledger.QueryMembers:
		msg = &ledgerpb.MemberList{Members: f.members}
	case ledger.QueryCredit:
		msg = &ledgerpb.CreditReport{Credit: &ledgerpb.Credit{Member: string(data), Score: 500}, Grade: "BB",
			History: []*ledgerpb.CreditEvent{{Height: 3, Reason: "rejected record on <i>ch</i>", Delta: -20, Score: 480}}}
	case ledger.QueryTasks:
		return &ctypes.ResultABCIQuery{}, nil
	}
	if msg == nil {
		return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Code: ledger.CodeNotFound, Log: "not found"}}, nil
	}
	raw, _ := proto.Marshal(msg)
	return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Value: raw}}, nil
}

func (f *fakeChain) Status(context.Context) (*ctypes.ResultStatus, error) {
	return &ctypes.ResultStatus{NodeInfo: p2p.DefaultNodeInfo{Network: "test-chain"},
		SyncInfo: ctypes.SyncInfo{LatestBlockHeight: 5, LatestBlockTime: time.Unix(1_700_000_000, 0)}}, nil
}

func (f *fakeChain) Validators(context.Context, *int64, *int, *int) (*ctypes.ResultValidators, error) {
	return &ctypes.ResultValidators{}, nil
}

func (f *fakeChain) BlockchainInfo(_ context.Context, lo, hi int64) (*ctypes.ResultBlockchainInfo, error) {
	var metas []*cmttypes.BlockMeta
	for h := lo; h <= hi; h++ {
		metas = append(metas, &cmttypes.BlockMeta{Header: cmttypes.Header{Height: h, Time: time.Unix(1_700_000_000+h, 0)}})
	}
	return &ctypes.ResultBlockchainInfo{LastHeight: 5, BlockMetas: metas}, nil
}

func (f *fakeChain) Block(_ context.Context, h *int64) (*ctypes.ResultBlock, error) {
	return &ctypes.ResultBlock{Block: &cmttypes.Block{Header: cmttypes.Header{Height: *h, ChainID: "test-chain"}}}, nil
}

func (f *fakeChain) BlockResults(_ context.Context, h *int64) (*ctypes.ResultBlockResults, error) {
	return &ctypes.ResultBlockResults{Height: *h}, nil
}

const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

func hostileChain() *fakeChain {
	return &fakeChain{
		records: []*ledgerpb.Record{{
			Id: "ab12", Hash: make([]byte, 32), Kind: hostile, Submitter: "node0", Height: 4,
			PublicInfo: []byte(`{"note": "` + strings.ReplaceAll(hostile, `"`, `\"`) + `"}`), Locator: hostile,
		}},
		jobs:    []*ledgerpb.Job{{Id: "J<b>1</b>", Type: "aggregate", Status: ledger.JobRunning, Requester: hostile, Providers: []string{"node0"}}},
		members: []*ledgerpb.Member{{Name: "node0", Roles: []string{"enterprise"}}},
	}
}

func newTestServer(t *testing.T, listen string, chain Chain) *Server {
	t.Helper()
	s, err := New(Config{Home: t.TempDir(), Moniker: "node0", Listen: listen, Chain: chain})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, path string, mod func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "127.0.0.1:8080"
	if mod != nil {
		mod(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestHostileTextIsEscaped renders pages whose ledger objects carry markup
// in every user-chosen field: none of it may reach the page as markup.
func TestHostileTextIsEscaped(t *testing.T) {
	h := newTestServer(t, "127.0.0.1:0", hostileChain()).Handler()
	for _, path := range []string{"/", "/records", "/records/ab12", "/records?q=script", "/jobs", "/jobs?q=%3Cscript%3E", "/members/node0"} {
		rec := get(t, h, path, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, rec.Code, body)
		}
		for _, bad := range []string{"<script>", "<img src=x", "<b>1</b>", "<i>ch</i>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: page carries %q unescaped", path, bad)
			}
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	body := get(t, h, "/records/ab12", nil).Body.String()
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("record page does not show the hostile text escaped")
	}
	if !strings.Contains(body, "not a channel record") {
		t.Errorf("record page lacks the compliance step")
	}
	if rec := get(t, h, "/records/nope", nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown record: %d", rec.Code)
	}
	if rec := get(t, h, "/jobs/"+url.PathEscape("J<b>1</b>"), nil); !strings.Contains(rec.Body.String(), "J&lt;b&gt;1&lt;/b&gt;") {
		t.Errorf("job page: %d %s", rec.Code, rec.Body.String())
	}
}

// TestTokenBeyondLoopback: bound to every interface, the console creates
// its token (0600) and answers 401 without it, 200 with it as a bearer
// header or through the login form's cookie.
func TestTokenBeyondLoopback(t *testing.T) {
	s := newTestServer(t, "0.0.0.0:8080", hostileChain())
	if !s.TokenRequired() {
		t.Fatal("a console on 0.0.0.0 must require the token")
	}
	path := filepath.Join(s.cfg.Home, TokenFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	tok := strings.TrimSpace(string(raw))
	h := s.Handler()
	for _, p := range []string{"/", "/jobs", "/records/ab12", "/members", "/policy", "/metrics", "/jobs/x"} {
		rec := get(t, h, p, nil)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without token: %d, want 401", p, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "node0") || strings.Contains(rec.Body.String(), "alert") {
			t.Errorf("%s without token leaks ledger data", p)
		}
		if rec := get(t, h, p, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok[:len(tok)-1]+"0") }); rec.Code != http.StatusUnauthorized && tok[len(tok)-1] != '0' {
			t.Errorf("%s with a wrong token: %d, want 401", p, rec.Code)
		}
	}
	if rec := get(t, h, "/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }); rec.Code != http.StatusOK {
		t.Fatalf("with the bearer token: %d", rec.Code)
	}
	// The login form sets an HttpOnly cookie.
	form := url.Values{"token": {tok}, "next": {"/records"}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/records" {
		t.Fatalf("login: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].Value != tok {
		t.Fatalf("login cookie %+v", cookies)
	}
	if rec := get(t, h, "/records", func(r *http.Request) { r.AddCookie(cookies[0]) }); rec.Code != http.StatusOK {
		t.Fatalf("with the cookie: %d", rec.Code)
	}
	// A wrong token at the form gets 401 and no cookie.
	form.Set("token", "wrong")
	req = httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("wrong token at login: %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
	// The same token is used again on restart.
	s2, err := New(Config{Home: s.cfg.Home, Listen: "10.1.2.3:80", Chain: hostileChain()})
	if err != nil || s2.token != tok {
		t.Fatalf("token not reused: %v", err)
	}
}

func TestLoopbackNeedsNoToken(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:9000", "[::1]:80"} {
		s := newTestServer(t, addr, hostileChain())
		if s.TokenRequired() {
			t.Errorf("%s: token required on loopback", addr)
		}
		if _, err := os.Stat(filepath.Join(s.cfg.Home, TokenFile)); !os.IsNotExist(err) {
			t.Errorf("%s: token file created on loopback", addr)
		}
		if rec := get(t, s.Handler(), "/", nil); rec.Code != http.StatusOK {
			t.Errorf("%s: %d", addr, rec.Code)
		}
	}
	for _, addr := range []string{"0.0.0.0:80", ":80", "192.168.1.4:80", "[::]:80"} {
		if Loopback(addr) {
			t.Errorf("%s counted as loopback", addr)
		}
	}
}

func TestTokenFileModeRefused(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, TokenFile)
	if err := os.WriteFile(path, []byte(strings.Repeat("a", 64)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Home: home, Listen: "0.0.0.0:1", Chain: hostileChain()}); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("a 0644 token file was accepted: %v", err)
	}
}

func TestReadOnlyRoutes(t *testing.T) {
	h := newTestServer(t, "127.0.0.1:0", hostileChain()).Handler()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		for _, p := range []string{"/", "/jobs", "/records/ab12", "/policy"} {
			req := httptest.NewRequest(m, p, strings.NewReader("x"))
			req.Host = "localhost:8080"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, p, rec.Code)
			}
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/jobs?q=1": "/jobs?q=1", "//evil.example": "/", "https://evil": "/", "/\\evil": "/", "": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLoopbackRefusesForeignHost: a tokenless console answers only requests
// addressed to a loopback name (DNS rebinding).
func TestLoopbackRefusesForeignHost(t *testing.T) {
	h := newTestServer(t, "127.0.0.1:0", hostileChain()).Handler()
	for host, want := range map[string]int{"127.0.0.1:9": 200, "localhost:9": 200, "[::1]:9": 200, "evil.example:9": 403, "evil.example": 403, "10.0.0.1:9": 403} {
		if rec := get(t, h, "/", func(r *http.Request) { r.Host = host }); rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}
