package test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/console"
	"github.com/cohortnet/cohort/node/jobrun"
)

// screenshotsEnv, set to 1, makes TestConsole write docs/console/*.png.
const screenshotsEnv = "COHORT_UPDATE_SCREENSHOTS"

// chromiumPath finds Chromium, installing Debian's package when it is
// missing and the test runs as root with apt-get; "" when neither works.
func chromiumPath(t *testing.T) (string, string) {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, ""
		}
	}
	if os.Geteuid() != 0 {
		return "", "not root, cannot apt-get install chromium"
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", "no apt-get to install chromium with"
	}
	t.Log("chromium not found: apt-get install -y chromium")
	cmd := exec.Command("apt-get", "install", "-y", "-q", "chromium")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		tail := string(out)
		if len(tail) > 600 {
			tail = tail[len(tail)-600:]
		}
		return "", fmt.Sprintf("apt-get install -y chromium failed: %v: %s", err, tail)
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, ""
	}
	return "", "chromium still missing after apt-get install"
}

// nonLoopbackIP is an IPv4 address of this machine beyond loopback, or ""
// if it has none.
func nonLoopbackIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil && !ipn.IP.IsLinkLocalUnicast() {
			return ipn.IP.String()
		}
	}
	return ""
}

// TestConsole runs a job, completes a task, anchors a channel record and
// updates the policy on 4 node processes, then drives the supervisor's
// console in headless
// Chromium: what a person sees on each page (the job's trail all ✓, the
// record's trace and its private info opened on a channel member, a
// member's charts, the policy), and that a console beyond loopback answers
// 401 without the token and 200 with it. It also scrapes a node's /metrics.
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 node processes and Chromium")
	}
	chromium, why := chromiumPath(t)
	if chromium == "" {
		t.Skipf("SKIP: headless Chromium is required for the console test and is unavailable: %s", why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	keys, err := zkKeysDir()
	if err != nil {
		t.Fatal(err)
	}
	nw := startNetwork(t, 4, "--zk-keys", keys, "--he-preset", "insecure-test")
	// node3, the supervisor, serves the console itself on loopback, at a
	// port of the range the network reserved for it (its API port + 2).
	nw.waitHeight(ctx, 3, 1) // a node stops cleanly once it has started
	nw.stop(3)
	cfg, err := node.LoadConfig(nw.homes[3])
	if err != nil {
		t.Fatal(err)
	}
	apiPort := portOf(t, cfg.API.Listen)
	cfg.Console.Listen = fmt.Sprintf("127.0.0.1:%d", apiPort+2)
	if err := cfg.Save(nw.homes[3]); err != nil {
		t.Fatal(err)
	}
	nw.start(3)
	for i := range nw.homes {
		nw.waitHeight(ctx, i, 2)
	}

	// A job with range-proven inputs, a completed task and a channel record.
	jr := &jobRunner{t: t, ctx: ctx, nw: nw}
	// 3-of-4: SS jobs only here; with t > ⌈n/2⌉ c1 sets up no HE key (the
	// ledger would refuse its HE jobs), only its BLS key.
	jr.cli(2, "committee", "create", "--id", "c1", "--members", "node0,node1,node2,node3", "--threshold", "3")
	jr.waitCommittee("c1")
	res := jr.run(t, 2, "auction-vickrey", "V1", jobrun.AuctionParams{MaxBid: 10000}, map[int]uint64{0: 700, 1: 900, 3: 800}, "node2")
	if res.Auction == nil || res.Auction.Winner != "node1" {
		t.Fatalf("vickrey result %+v", res.Auction)
	}
	// Its SS job ran; an HE job on it is refused, as its operator sees it.
	spec := filepath.Join(t.TempDir(), "he.json")
	if err := os.WriteFile(spec, []byte(`{"id":"G1","params":{"bins":4,"lo":0,"hi":100},"providers":["node0","node1"],"committee":"c1","recipient":"node2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := nw.cohort(ctx, 2, "job", "submit", "aggregate", "--home", nw.homes[2], "--spec", spec).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "HE jobs need a committee whose HE setup checks every member's key shares: threshold at most ⌈n/2⌉ = 2, the committee is 3-of-4") {
		t.Fatalf("HE job on the 3-of-4 committee: %v\n%s", err, out)
	}
	taskCompletion(ctx, t, nw, keys)
	recordID := anchorHostileRecord(ctx, t, nw, keys)
	policyUpdate(ctx, t, nw) // revision 2, approved by the supervisor
	nw.waitHeight(ctx, 3, nw.height(ctx, 0)+2)

	metricsHaveEverything(ctx, t, nw)

	base := "http://" + cfg.Console.Listen
	shots := os.Getenv(screenshotsEnv) == "1"
	b := newBrowser(ctx, t, chromium)

	// Overview.
	text := b.page(base+"/", "#height")
	for _, want := range []string{"Validators", "node0", "node3", "Txs per block", "Open jobs", "Recent records"} {
		if !strings.Contains(text, want) {
			t.Errorf("overview lacks %q:\n%s", want, text)
		}
	}
	b.atLeast("svg rect.bar", 1)
	b.shot(shots, "overview")

	// Jobs, then the job's trail: every step ✓.
	text = b.page(base+"/jobs?type=auction-vickrey", "table")
	if !strings.Contains(text, "V1") || !strings.Contains(text, "completed") {
		t.Errorf("jobs page:\n%s", text)
	}
	b.shot(shots, "jobs")
	b.click(`a[href="/jobs/V1"]`)
	text = b.page("", "ol.trail")
	for _, want := range []string{"Access check", "Input of node0", "Input of node1", "Input of node3", "Committee c1",
		"Result under the committee's threshold signature", "re-verified", "all steps ✓"} {
		if !strings.Contains(text, want) {
			t.Errorf("job trail lacks %q:\n%s", want, text)
		}
	}
	if n := b.count("ol.trail li.ok"); n < 6 {
		t.Errorf("job trail: %d steps ✓, want ≥ 6", n)
	}
	if n := b.count("ol.trail li.fail"); n != 0 {
		t.Errorf("job trail: %d steps ✗:\n%s", n, text)
	}
	if strings.Count(text, "✓") < 6 {
		t.Errorf("job trail shows %d ✓", strings.Count(text, "✓"))
	}
	b.shot(shots, "job")

	// Records, then the channel record: proof, trace, private info opened
	// on the supervisor's node; the hostile public text shown as text.
	text = b.page(base+"/records?channel=demander-platform-supervisor", "table")
	if !strings.Contains(text, recordID[:16]) {
		t.Errorf("records page lacks %s:\n%s", recordID, text)
	}
	b.shot(shots, "records")
	b.click(fmt.Sprintf(`a[href="/records/%s"]`, recordID))
	text = b.page("", "ol.trail")
	for _, want := range []string{"Compliance proof", "Light-client trace", "verified by the light client",
		"Private supervision info", "125000.00", `"note": "<script>alert(\"console\")</script>"`} {
		if !strings.Contains(text, want) {
			t.Errorf("record page lacks %q:\n%s", want, text)
		}
	}
	if n := b.count("ol.trail li.fail"); n != 0 {
		t.Errorf("record checks: %d ✗:\n%s", n, text)
	}
	if n := b.count("script"); n != 0 {
		t.Errorf("the record's text became %d script element(s)", n)
	}
	b.shot(shots, "record")

	// Members, then node1: rating chart, power chart, its task ✓.
	text = b.page(base+"/members", "table")
	if !strings.Contains(text, "node1") || !strings.Contains(strings.ToLower(text), "grade") {
		t.Errorf("members page:\n%s", text)
	}
	b.click(`a[href="/members/node1"]`)
	text = b.page("", "#charts")
	for _, want := range []string{"Rating by height", "Voting power per epoch", "T-100", "proof re-verified", "task completed"} {
		if !strings.Contains(text, want) {
			t.Errorf("member page lacks %q:\n%s", want, text)
		}
	}
	b.atLeast("#charts svg polyline", 1)
	b.atLeast("#charts svg rect.bar", 1)
	b.shot(shots, "member")

	// Policy.
	text = b.page(base+"/policy", "pre")
	for _, want := range []string{"revision 2 in force", "Supervision channels", "demander-platform-supervisor",
		"Revision history", "Revision 2", "Approval by node3", "re-verified"} {
		if !strings.Contains(text, want) {
			t.Errorf("policy page lacks %q:\n%s", want, text)
		}
	}
	if n := b.count("ol.trail li.ok"); n != 1 || b.count("ol.trail li.fail") != 0 {
		t.Errorf("policy approvals: %d ✓, want 1 and no ✗", n)
	}
	b.shot(shots, "policy")

	// Beyond loopback the console needs the token.
	remoteConsole(ctx, t, nw, b, shots, apiPort+3)
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// anchorHostileRecord anchors a channel record whose public info carries
// markup, and returns its ID.
func anchorHostileRecord(ctx context.Context, t *testing.T, nw *network, keys string) string {
	dir := t.TempDir()
	public := filepath.Join(dir, "public.json")
	private := filepath.Join(dir, "private.json")
	if err := os.WriteFile(public, []byte(`{"trade_id":"T-7","note":"<script>alert(\"console\")</script>","platform":"node2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(private, []byte(`{"price":"125000.00","quantity":"4000","fee":"3000.00","delivery_days":"14"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, cohortBin, "record", "anchor", "--home", nw.homes[0], "--kind", "trade",
		"--channel", "demander-platform-supervisor", "--public", public, "--private", private, "--keys", keys).CombinedOutput()
	if err != nil {
		t.Fatalf("anchor a channel record: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// metricsHaveEverything scrapes node0's /metrics after the job, the task
// and the record.
func metricsHaveEverything(ctx context.Context, t *testing.T, nw *network) {
	cfg, err := node.LoadConfig(nw.homes[0])
	if err != nil {
		t.Fatal(err)
	}
	body, code := httpGet(ctx, t, "http://"+cfg.Metrics.Listen+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`cohort_ledger_txs_total{code="0",type="job_submit"}`, `cohort_ledger_proof_verifications_total{kind="input_validity",result="valid"}`,
		`cohort_ledger_proof_verifications_total{kind="committee_signature",result="valid"}`,
		`cohort_ledger_proof_verifications_total{kind="compliance",result="valid"}`,
		`cohort_jobs{status="completed",type="auction-vickrey"} 1`, `cohort_jobs_duration_blocks_bucket{outcome="completed",type="auction-vickrey"`,
		`cohort_credit_updates_total{direction="up",reason="task_completed"}`, "cohort_mpc_", "cometbft_consensus_height", "libp2p_",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "V1") || strings.Contains(body, "T-100") {
		t.Error("/metrics carries a job or task ID")
	}
}

// remoteConsole serves node3's console on a non-loopback address with
// `cohort console` and checks the token: 401 without it (API and browser),
// 200 with it as a bearer header, and the browser's login form.
func remoteConsole(ctx context.Context, t *testing.T, nw *network, b *browser, shots bool, port int) {
	ip, bind := nonLoopbackIP(), ""
	if ip != "" {
		bind = fmt.Sprintf("%s:%d", ip, port)
	} else {
		// No other interface: bind every interface, still not loopback.
		ip, bind = "127.0.0.1", fmt.Sprintf("0.0.0.0:%d", port)
	}
	cmd := exec.CommandContext(ctx, cohortBin, "console", "--home", nw.homes[3], "--listen", bind)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := fmt.Sprintf("http://%s:%d", ip, port)
	var code int
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, code = httpGet(ctx, t, base+"/", ""); code != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote console did not start:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	raw, err := os.ReadFile(filepath.Join(nw.homes[3], console.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(nw.homes[3], console.TokenFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", st.Mode().Perm())
	}
	tok := strings.TrimSpace(string(raw))
	for _, p := range []string{"/", "/jobs/V1", "/records", "/members/node1", "/policy"} {
		if body, code := httpGet(ctx, t, base+p, ""); code != http.StatusUnauthorized || strings.Contains(body, "node1") && p != "/members/node1" {
			t.Errorf("%s on %s without the token: %d", p, bind, code)
		}
		if _, code := httpGet(ctx, t, base+p, "wrong-"+tok); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", p, code)
		}
		if _, code := httpGet(ctx, t, base+p, tok); code != http.StatusOK {
			t.Errorf("%s with the token: %d", p, code)
		}
	}
	// A person with a browser sees the login form, then the console.
	text := b.page(base+"/jobs", "form")
	if !strings.Contains(text, "Console token") || strings.Contains(text, "V1") {
		t.Errorf("login page:\n%s", text)
	}
	b.shot(shots, "login")
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), tok), chromedp.Submit(chromedp.CSS(`input[name="token"]`))); err != nil {
		t.Fatal(err)
	}
	text = b.page("", "table")
	if !strings.Contains(text, "V1") {
		t.Errorf("after login, the jobs page:\n%s", text)
	}
}

func httpGet(ctx context.Context, t *testing.T, url, token string) (string, int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error(), 0
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return string(raw), res.StatusCode
}

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(ctx context.Context, t *testing.T, path string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: bctx}
}

// page navigates to url (unless empty), waits for sel and returns the
// visible text of the page.
func (b *browser) page(url, sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	var steps []chromedp.Action[chromedp.Void]
	if url != "" {
		steps = append(steps, chromedp.Navigate(url))
	}
	steps = append(steps, chromedp.WaitVisible(chromedp.CSS(sel)))
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("open %s (wait for %s): %v", url, sel, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		b.t.Fatal(err)
	}
	return text
}

func (b *browser) click(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

func (b *browser) atLeast(sel string, n int) {
	b.t.Helper()
	if got := b.count(sel); got < n {
		b.t.Errorf("%d elements %s, want ≥ %d", got, sel, n)
	}
}

// shot saves a screenshot of the page to docs/console/NAME.png.
func (b *browser) shot(enabled bool, name string) {
	b.t.Helper()
	if !enabled {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
