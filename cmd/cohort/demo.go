package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
)

func newDemoCmd() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the demo on a local 4-node network (what `make demo` runs)",
		Long: `Start a 4-node network on this machine (in this process, each node with its own
CometBFT validator, badger state, libp2p host and API), anchor trade records
through every member, and check that every node holds every record under the
same AppHash.

The private jobs of the full demo (credit scoring, Vickrey auction, market
clearing, supervisor verification of every proof) are not implemented yet: the
command says so and exits non-zero at that step.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), cmd.OutOrStdout(), keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the network's directory after the demo")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, keep bool) error {
	dir, err := os.MkdirTemp("", "cohort-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(out, "network directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	base, err := freeLoopbackPorts(40)
	if err != nil {
		return err
	}
	homes, err := node.Testnet(dir, node.TestnetOptions{Nodes: 4, BasePort: base, ChainID: "cohort-demo"})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var nodes []*node.Node
	defer func() {
		for _, n := range nodes {
			n.Stop()
		}
	}()
	fmt.Fprintf(out, "[1/3] starting 4 nodes (enterprise, enterprise, platform, supervisor)\n")
	for _, h := range homes {
		n, err := node.Start(ctx, h, log)
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	clients := make([]*client.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = client.New(n.APIAddr())
	}
	for _, c := range clients {
		if err := waitClientHeight(ctx, c, 1, time.Minute); err != nil {
			return err
		}
	}

	fmt.Fprintf(out, "[2/3] each member anchors the hash of an off-chain trade record\n")
	var hashes [][]byte
	for i, h := range homes {
		key, err := node.LoadAccountKey(h)
		if err != nil {
			return err
		}
		id, err := ledger.NewTxID()
		if err != nil {
			return err
		}
		digest := sha256.Sum256([]byte(fmt.Sprintf("trade record %d of the demo", i)))
		tx, err := ledger.SignTx(key, &ledgerpb.TxPayload{
			ChainId: "cohort-demo", TxId: id, Signer: fmt.Sprintf("node%d", i),
			Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{Hash: digest[:], Kind: "trade"}},
		})
		if err != nil {
			return err
		}
		res, err := clients[i].Submit(ctx, tx)
		if err != nil {
			return fmt.Errorf("node%d anchor: %w", i, err)
		}
		hashes = append(hashes, digest[:])
		fmt.Fprintf(out, "      node%d anchored record %s at height %d\n", i, ledger.RecordID(id), res.Height)
	}

	fmt.Fprintf(out, "[3/3] every node holds every record under the same AppHash\n")
	st, err := clients[0].Status(ctx)
	if err != nil {
		return err
	}
	for _, c := range clients {
		if err := waitClientHeight(ctx, c, st.Height, time.Minute); err != nil {
			return err
		}
	}
	var want string
	for i, c := range clients {
		for _, h := range hashes {
			if recs, err := c.RecordsByHash(ctx, h); err != nil || len(recs) != 1 {
				return fmt.Errorf("node%d: record %x: %v", i, h[:8], err)
			}
		}
		got, err := c.AppHashAt(ctx, st.Height)
		if err != nil {
			return err
		}
		if i == 0 {
			want = got
		} else if got != want {
			return fmt.Errorf("node%d AppHash %s differs from node0's %s at height %d", i, got, want, st.Height)
		}
	}
	fmt.Fprintf(out, "      height %d, app_hash %s on all 4 nodes\n", st.Height, want)
	fmt.Fprintf(out, "ledger ok: records=%d nodes=4\n", len(hashes))
	return fmt.Errorf("demo: private jobs (credit scoring, Vickrey auction, clearing, supervisor verification) are not implemented yet")
}

func waitClientHeight(ctx context.Context, c *client.Client, h int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		st, err := c.Status(ctx)
		if err == nil && st.Height >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for height %d: %w", h, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeLoopbackPorts finds n consecutive free loopback ports (TCP and UDP).
func freeLoopbackPorts(n int) (int, error) {
	for base := 41000; base < 60000; base += n + 3 {
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
			u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			u.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive loopback ports", n)
}
