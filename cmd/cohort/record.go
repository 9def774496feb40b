package main

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node/client"
)

func newRecordCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "record", Short: "Anchor and show off-chain records"}
	var home string
	cmd.PersistentFlags().StringVar(&home, "home", "", "node home directory (required)")
	_ = cmd.MarkPersistentFlagRequired("home")

	var hashHex, kind, channel, locator, publicFile, privateFile, keysDir string
	anchor := &cobra.Command{
		Use:   "anchor",
		Short: "Anchor a record on the ledger; prints the record ID once committed",
		Long: `Anchor a record on the ledger and print its ID once committed.

Without --channel: anchor the 32-byte hash given by --hash.

With --channel: a supervision record. --public (a JSON object) goes on the
ledger in clear; --private (a JSON object of the channel rule set's fields, as
decimal strings in their declared units) is proven compliant with the rule set
(zk, proving key from --keys), encrypted for the channel's members and kept
off-chain; its hash, the public info and the proof go on the ledger, whose
validators verify the proof before accepting the record.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if channel != "" {
				if publicFile == "" || privateFile == "" || keysDir == "" {
					return fmt.Errorf("a channel record needs --public, --private and --keys")
				}
				public, err := readInputFile(publicFile, 16<<10)
				if err != nil {
					return err
				}
				private, err := readInputFile(privateFile, 1<<20)
				if err != nil {
					return err
				}
				id, err := anchorChannelRecord(cmd.Context(), home, channel, kind, public, private, keysDir)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
				return nil
			}
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
	anchor.Flags().StringVar(&hashHex, "hash", "", "record hash, 64 hex characters (records without a channel)")
	anchor.Flags().StringVar(&publicFile, "public", "", "public supervision info, a JSON object (channel records)")
	anchor.Flags().StringVar(&privateFile, "private", "", "private supervision info, a JSON object of the rule set's fields (channel records)")
	anchor.Flags().StringVar(&keysDir, "keys", "", "zk keys directory with the compliance proving key (channel records)")
	anchor.Flags().StringVar(&kind, "kind", "", "record kind, e.g. trade (required)")
	anchor.Flags().StringVar(&channel, "channel", "", "supervision channel")
	anchor.Flags().StringVar(&locator, "locator", "", "where the off-chain record lives")
	_ = anchor.MarkFlagRequired("kind")

	show := showCmd("show ID", "Show an anchored record", &home,
		func(ctx context.Context, c *client.Client, id string) (any, error) { return c.Record(ctx, id) })
	open := &cobra.Command{
		Use:   "open ID",
		Short: "As a member of the record's channel, decrypt its private supervision info",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, rec, err := openRecord(cmd.Context(), home, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "record %s on %s: hash and commitment match\n", rec.ID, rec.Channel)
			return printJSON(cmd.OutOrStdout(), info)
		},
	}
	cmd.AddCommand(anchor, show, open)
	return cmd
}
