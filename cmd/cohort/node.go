package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/policies"
)

func newInitCmd() *cobra.Command {
	var o node.InitOptions
	var home string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the home of one node: keys (0600), config.toml and member.json",
		Long: `Create the home of one node. The secret keys (account, libp2p identity,
consensus node and validator keys) are written with permissions 0600.
member.json holds the node's public member entry: collect every member's
member.json and run 'cohort genesis' to build the network's genesis.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, err := node.Init(home, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialised %s in %s\n  role:     %s\n  peer id:  %s\n  member:   %s\n",
				o.Moniker, home, o.Role, info.PeerID, filepath.Join(home, "member.json"))
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "node home directory (required)")
	cmd.Flags().StringVar(&o.Moniker, "moniker", "", "member name of this node (required)")
	cmd.Flags().StringVar(&o.Role, "role", ledger.RoleEnterprise, "role: enterprise, platform or supervisor")
	cmd.Flags().StringVar(&o.Host, "host", "127.0.0.1", "address to listen on and advertise")
	cmd.Flags().IntVar(&o.BasePort, "base-port", node.DefaultBasePort, "first of the 4 ports this node uses")
	cmd.Flags().BoolVar(&o.NonValidator, "non-validator", false, "a member node that does not validate (no validator key in member.json, power 0)")
	_ = cmd.MarkFlagRequired("home")
	_ = cmd.MarkFlagRequired("moniker")
	return cmd
}

func newGenesisCmd() *cobra.Command {
	var chainID, zkKeys, policyFile string
	var homes []string
	cmd := &cobra.Command{
		Use:   "genesis MEMBER_JSON...",
		Short: "Build the genesis from members' member.json files and install it in local homes",
		Long: `Build the network's genesis from every member's member.json (made by 'cohort init')
and write it, with each node's peer lists, into the given homes. For a network
across machines, run it once with all member.json files and --home for each
local home, then copy <home>/cometbft/config/genesis.json to the other members
and set their peers in config.toml (see README).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var members []*node.MemberInfo
			for _, p := range args {
				raw, err := readInputFile(p, 64<<10)
				if err != nil {
					return err
				}
				var m node.MemberInfo
				if err := json.Unmarshal(raw, &m); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				members = append(members, &m)
			}
			if len(homes) != len(members) {
				return fmt.Errorf("give one --home per member file, in the same order (%d homes, %d members)", len(homes), len(members))
			}
			opts := node.GenesisOptions{ZKKeysDir: zkKeys}
			if policyFile != "" {
				raw, err := readInputFile(policyFile, policies.MaxPolicyBytes)
				if err != nil {
					return err
				}
				opts.Policy = raw
			}
			if err := node.BuildGenesis(chainID, homes, members, opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "genesis for chain %s with %d members written\n", chainID, len(members))
			return nil
		},
	}
	cmd.Flags().StringVar(&chainID, "chain-id", "cohort", "chain ID")
	cmd.Flags().StringSliceVar(&homes, "home", nil, "home of each member, in the order of the member files")
	cmd.Flags().StringVar(&zkKeys, "zk-keys", "", "register the verifying keys in this directory (from `cohort setup`)")
	cmd.Flags().StringVar(&policyFile, "policy", "", "alliance policy file (YAML, see `cohort policy default`)")
	return cmd
}

func newTestnetCmd() *cobra.Command {
	var o node.TestnetOptions
	var out string
	var epochLength int64
	var policyFile string
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Create N node homes sharing one genesis, all on 127.0.0.1",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := ledger.DefaultParams()
			p.EpochLength = epochLength
			o.Genesis.Params = &p
			switch {
			case policyFile != "":
				raw, err := readInputFile(policyFile, policies.MaxPolicyBytes)
				if err != nil {
					return err
				}
				o.Genesis.Policy = raw
			default:
				// The default policy describes exactly the default 4-node
				// testnet; with --validators 4 it gains the member nodes.
				raw, err := node.DefaultTestnetPolicy(o)
				if err != nil {
					return err
				}
				o.Genesis.Policy = raw
			}
			homes, err := node.Testnet(out, o)
			if err != nil {
				return err
			}
			for _, h := range homes {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\n", h)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "start each node with: cohort node start --home <dir>\n")
			return nil
		},
	}
	cmd.Flags().IntVar(&o.Nodes, "nodes", 4, "number of nodes")
	cmd.Flags().IntVar(&o.Validators, "validators", 0, "nodes 0…V-1 validate, the others are member nodes without voting power (enterprises); 0: all validate")
	cmd.Flags().IntVar(&o.Nodeless, "nodeless", 0, "add members that run no node (firm0 …, enterprises): keys only, under --out/<name>; they quote with `order quote --sealed`")
	cmd.Flags().StringVar(&out, "out", "", "directory for the node homes (required)")
	cmd.Flags().IntVar(&o.BasePort, "base-port", node.DefaultBasePort, "node i uses ports base-port+10i … +3")
	cmd.Flags().StringVar(&o.ChainID, "chain-id", "cohort-testnet", "chain ID")
	cmd.Flags().StringSliceVar(&o.Roles, "roles", nil, "roles assigned round-robin (default enterprise,enterprise,platform,supervisor)")
	cmd.Flags().StringVar(&o.Genesis.ZKKeysDir, "zk-keys", "", "register the verifying keys in this directory (from `cohort setup`)")
	cmd.Flags().Int64Var(&epochLength, "epoch-length", ledger.DefaultParams().EpochLength, "blocks per credit/validator-power epoch")
	cmd.Flags().StringVar(&policyFile, "policy", "", "alliance policy file (default: the built-in policy for a default 4-node testnet, with --validators 4 its member nodes added; none otherwise)")
	cmd.Flags().StringVar(&o.Genesis.HEPreset, "he-preset", "secure", "HE parameters of committees: secure or insecure-test")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Run a node"}
	var home string
	start := &cobra.Command{
		Use:   "start",
		Short: "Start the node at --home; runs until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := node.Start(cmd.Context(), home, nil)
			if err != nil {
				return err
			}
			<-cmd.Context().Done()
			n.Stop()
			return nil
		},
	}
	start.Flags().StringVar(&home, "home", "", "node home directory (required)")
	_ = start.MarkFlagRequired("home")
	cmd.AddCommand(start)
	return cmd
}

func newDevnetCmd() *cobra.Command {
	var nodes, basePort int
	var dir string
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Create and run an N-node network on this machine until interrupted",
		Long: `Create an N-node testnet (in --dir, or a fresh temporary directory) and run every
node as a child process of this command. Prints each node's endpoints; Ctrl-C
stops them all. Logs go to <dir>/nodeI/node.log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if dir == "" {
				d, err := os.MkdirTemp("", "cohort-devnet-")
				if err != nil {
					return err
				}
				dir = d
			}
			homes, err := existingOrNewTestnet(dir, nodes, basePort)
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			var procs []*exec.Cmd
			defer func() {
				for _, p := range procs {
					_ = p.Process.Signal(os.Interrupt)
				}
				for _, p := range procs {
					_ = p.Wait()
				}
			}()
			out := cmd.OutOrStdout()
			prog := newProgress(cmd.ErrOrStderr())
			for i, h := range homes {
				logf, err := os.OpenFile(filepath.Join(h, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
				if err != nil {
					return err
				}
				p := exec.Command(self, "node", "start", "--home", h)
				p.Stdout, p.Stderr = logf, logf
				if err := p.Start(); err != nil {
					logf.Close()
					return fmt.Errorf("start node %s: %w", h, err)
				}
				logf.Close()
				procs = append(procs, p)
				cfg, err := node.LoadConfig(h)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s  home=%s  api=http://%s  consensus=%s  rpc=%s  p2p=%s  metrics=http://%s/metrics\n",
					cfg.Moniker, h, cfg.API.Listen, cfg.Consensus.Listen, cfg.Consensus.RPCListen, strings.Join(cfg.P2P.Listen, ","), cfg.Metrics.Listen)
				prog.Step(i+1, len(homes), "node processes started")
			}
			err = prog.Run(ctx, "waiting for the first block", func() error {
				return waitHeight(ctx, homes[0], 1, 60*time.Second)
			})
			if err != nil {
				return fmt.Errorf("devnet did not start: %w (see %s/node0/node.log)", err, dir)
			}
			fmt.Fprintf(out, "devnet of %d nodes is committing blocks; Ctrl-C to stop\n", len(homes))
			<-ctx.Done()
			fmt.Fprintln(out, "stopping devnet")
			return nil
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 4, "number of nodes")
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the node homes (default: a new temporary directory)")
	cmd.Flags().IntVar(&basePort, "base-port", node.DefaultBasePort, "first port")
	return cmd
}

// existingOrNewTestnet reuses the homes in dir, or creates a testnet there.
func existingOrNewTestnet(dir string, n, basePort int) ([]string, error) {
	var homes []string
	for i := 0; i < n; i++ {
		h := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if _, err := os.Stat(filepath.Join(h, node.ConfigFile)); err != nil {
			homes = nil
			break
		}
		homes = append(homes, h)
	}
	if homes != nil {
		return homes, nil
	}
	return node.Testnet(dir, node.TestnetOptions{Nodes: n, BasePort: basePort, ChainID: "cohort-devnet"})
}

// apiClient returns a client for the node at home.
func apiClient(home string) (*client.Client, error) {
	cfg, err := node.LoadConfig(home)
	if err != nil {
		return nil, err
	}
	return client.New(cfg.API.Listen), nil
}
