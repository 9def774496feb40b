package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/node/localnet"
)

func newLedgerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ledger", Short: "Inspect the ledger through a node"}
	var home string
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Height, AppHash, validators and peers of the node at --home",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("node not reachable: %w", err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprintf(out, "chain     %s\nnode      %s (peer %s)\nheight    %d\napp_hash  %s\n",
				st.ChainID, st.Moniker, st.PeerID, st.Height, st.AppHash)
			fmt.Fprintf(out, "validators:\n")
			for _, v := range st.Validators {
				fmt.Fprintf(out, "  %s  power %d  %s\n", v.Address, v.Power, v.Name)
			}
			fmt.Fprintf(out, "consensus peers: %d, libp2p peers: %d\n", len(st.Peers), len(st.P2PPeers))
			return nil
		},
	}
	status.Flags().StringVar(&home, "home", "", "node home directory (required)")
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = status.MarkFlagRequired("home")
	cmd.AddCommand(status)
	return cmd
}

// waitHeight waits until the node at home has committed height h.
func waitHeight(ctx context.Context, home string, h int64, timeout time.Duration) error {
	c, err := apiClient(home)
	if err != nil {
		return err
	}
	return localnet.WaitHeight(ctx, c, h, timeout)
}
