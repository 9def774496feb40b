package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

func newRecordCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "record", Short: "Anchor and show off-chain records"}
	var home string
	cmd.PersistentFlags().StringVar(&home, "home", "", "node home directory (required)")
	_ = cmd.MarkPersistentFlagRequired("home")

	var hashHex, kind, channel, locator string
	anchor := &cobra.Command{
		Use:   "anchor",
		Short: "Anchor a 32-byte record hash on the ledger; prints the record ID once committed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hash, err := hex.DecodeString(hashHex)
			if err != nil || len(hash) != 32 {
				return fmt.Errorf("--hash must be 64 hex characters (a SHA-256 or Poseidon2 digest)")
			}
			id, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{
					Hash: hash, Kind: kind, Channel: channel, Locator: locator,
				}}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", ledger.RecordID(id))
			fmt.Fprintf(cmd.ErrOrStderr(), "anchored at height %d (tx %s)\n", res.Height, res.TxHash)
			return nil
		},
	}
	anchor.Flags().StringVar(&hashHex, "hash", "", "record hash, 64 hex characters (required)")
	anchor.Flags().StringVar(&kind, "kind", "", "record kind, e.g. trade (required)")
	anchor.Flags().StringVar(&channel, "channel", "", "supervision channel")
	anchor.Flags().StringVar(&locator, "locator", "", "where the off-chain record lives")
	_ = anchor.MarkFlagRequired("hash")
	_ = anchor.MarkFlagRequired("kind")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an anchored record",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			rec, err := c.Record(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(rec)
		},
	}
	cmd.AddCommand(anchor, show)
	return cmd
}
