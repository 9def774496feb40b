package node_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/localnet"
)

// TestMetricsEndpoint starts a one-node chain and scrapes /metrics: one
// endpoint shows cohort's own metrics, CometBFT's, libp2p's and the MPC
// transport's.
func TestMetricsEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base, err := localnet.FreePorts(10)
	if err != nil {
		t.Fatal(err)
	}
	homes, err := node.Testnet(t.TempDir(), node.TestnetOptions{Nodes: 1, BasePort: base, ChainID: "metrics-test"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := node.LoadConfig(homes[0])
	if err != nil {
		t.Fatal(err)
	}
	cfg.Jobs.HEPreset = "insecure-test"
	if err := cfg.Save(homes[0]); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(ctx, homes[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if got, want := n.MetricsAddr(), cfg.Metrics.Listen; got != want {
		t.Fatalf("metrics on %q, config says %q", got, want)
	}
	want := []string{
		"cohort_ledger_blocks_total", "cohort_ledger_last_block_time_seconds",
		"cohort_credit_rating{member=\"node0\"}", "cohort_credit_voting_power{member=\"node0\"}", "cohort_mpc_sent_bytes_total",
		"cometbft_consensus_height", "libp2p_", "go_goroutines",
	}
	var body string
	for {
		body = scrape(t, ctx, "http://"+n.MetricsAddr()+"/metrics")
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
				break
			}
		}
		if missing == "" && strings.Contains(body, "cohort_ledger_blocks_total ") && !strings.Contains(body, "cohort_ledger_blocks_total 0\n") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/metrics lacks %q after %v:\n%s", missing, ctx.Err(), tail(body))
		case <-time.After(200 * time.Millisecond):
		}
	}
	if strings.Contains(body, "job_id") || strings.Contains(body, filepath.Base(homes[0])+"/") {
		t.Fatalf("/metrics carries IDs in labels")
	}
}

func scrape(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", res.StatusCode, err)
	}
	return string(raw)
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}
