package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/console"
)

func newConsoleCmd() *cobra.Command {
	var home, listen string
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Serve the read-only supervisor web console of the node at --home",
		Long: `Serve the supervisor console: overview, jobs with their whole trail
re-verified on this machine, records with their compliance proof, light-client
trace and (for this node's channels) private info, members with their credit
and voting power charts, and the policy with its revisions and approvals.

It reads the running node through its CometBFT RPC and API; it never writes
to the ledger. On loopback (the default) it is open. Bound to any other
address, every request needs the token in HOME/console.token (created 0600 on
first use): send it as "Authorization: Bearer TOKEN" or through the login form.
A node can also serve the console itself: set [console] listen in config.toml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := node.LoadConfig(home)
			if err != nil {
				return err
			}
			if listen == "" {
				listen = cfg.Console.Listen
			}
			if listen == "" {
				if listen, err = defaultConsoleAddr(cfg.API.Listen); err != nil {
					return err
				}
			}
			rpcAddr := cfg.Consensus.RPCListen
			rpc, err := rpchttp.New(rpcAddr, "/websocket")
			if err != nil {
				return fmt.Errorf("node rpc %s: %w", rpcAddr, err)
			}
			c, err := console.New(console.Config{
				Home: home, Moniker: cfg.Moniker, Listen: listen, Chain: rpc, RPCAddr: rpcAddr,
				Witnesses: cfg.Trace.Witnesses, API: client.New(cfg.API.Listen),
				SealingKeyFile: filepath.Join(home, node.SealingKeyFile),
			})
			if err != nil {
				return err
			}
			defer c.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("console listen %s: %w", listen, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "console of %s on http://%s/\n", cfg.Moniker, ln.Addr())
			if c.TokenRequired() {
				fmt.Fprintf(out, "not on loopback: requests need the token in %s\n", filepath.Join(home, console.TokenFile))
			}
			return c.Serve(cmd.Context(), ln)
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "node home directory (required)")
	cmd.Flags().StringVar(&listen, "listen", "", "host:port to serve on (default: [console] listen, else 127.0.0.1 at the API port + 2)")
	_ = cmd.MarkFlagRequired("home")
	return cmd
}

// defaultConsoleAddr is loopback at the API's port + 2 (base port + 5).
func defaultConsoleAddr(api string) (string, error) {
	_, port, err := net.SplitHostPort(api)
	if err != nil {
		return "", fmt.Errorf("api listen %q: %w", api, err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(port))
	if err != nil {
		return "", fmt.Errorf("api listen %q: %w", api, err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p+2)), nil
}
