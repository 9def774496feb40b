package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "verify", Short: "Verify proofs on the ledger as a supervisor"}
	var home string
	record := &cobra.Command{
		Use:   "record ID",
		Short: "Re-verify a channel record's compliance proof (exit 0 valid, 1 invalid)",
		Long: `Re-verify a channel record's compliance proof locally: the verifying key comes
from the ledger (its ID re-derived from its bytes), the constraints from the
channel's rule set in the policy revision in force at the record's height (a
later policy update does not change how a record is judged), the commitment
and the binding from the anchoring tx.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(home)
			if err != nil {
				return withExitCode(2, err)
			}
			rec, err := c.Record(cmd.Context(), args[0])
			if err != nil {
				return withExitCode(2, err)
			}
			if err := verifyRecordProof(cmd.Context(), home, c, rec); err != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "invalid: record %s: %v\n", rec.ID, err)
				return withExitCode(1, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "valid: record %s complies with channel %s's rule set (vk %s, height %d)\n",
				rec.ID, rec.Channel, rec.VKID, rec.Height)
			return nil
		},
	}
	record.Flags().StringVar(&home, "home", "", "node home directory (required)")
	_ = record.MarkFlagRequired("home")
	cmd.AddCommand(record)
	return cmd
}
