package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/policies"
)

// newPolicyApproveCmd signs a proposed policy as a supervisor.
func newPolicyApproveCmd() *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:   "approve FILE",
		Short: "As a supervisor, approve a proposed policy: prints NAME:SIGNATURE for `policy update`",
		Long: `Sign the proposed policy's approval message (its hash, bound to the chain ID)
with this node's account key. Check the file first (cohort policy check,
cohort policy canonical): the signature approves exactly this policy.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			next, err := loadPolicyFile(args[0])
			if err != nil {
				return err
			}
			cfg, err := node.LoadConfig(home)
			if err != nil {
				return err
			}
			key, err := node.LoadAccountKey(home)
			if err != nil {
				return err
			}
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			sig := ed25519.Sign(key, next.ApprovalMessage(st.ChainID))
			h := next.Hash()
			fmt.Fprintf(cmd.ErrOrStderr(), "approving policy %s revision %d (hash %x) on chain %s\n", next.Name, next.Revision, h[:8], st.ChainID)
			fmt.Fprintf(cmd.OutOrStdout(), "%s:%s\n", cfg.Moniker, hex.EncodeToString(sig))
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "node home directory (required)")
	_ = cmd.MarkFlagRequired("home")
	return cmd
}

// newPolicyUpdateCmd submits a policy update with supervisors' approvals.
func newPolicyUpdateCmd() *cobra.Command {
	var home string
	var approvals []string
	cmd := &cobra.Command{
		Use:   "update FILE --approval NAME:SIG …",
		Short: "Submit a new policy; it takes effect only with the current policy's supervisor quorum",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readInputFile(args[0], policies.MaxPolicyBytes)
			if err != nil {
				return err
			}
			if _, err := policies.Parse(raw); err != nil {
				return err
			}
			u := &ledgerpb.PolicyUpdate{PolicyYaml: raw}
			for _, a := range approvals {
				name, sigHex, ok := strings.Cut(a, ":")
				sig, err := hex.DecodeString(sigHex)
				if !ok || err != nil || len(sig) != ed25519.SignatureSize {
					return fmt.Errorf("approval %q: want NAME:SIGNATURE as printed by `cohort policy approve`", a)
				}
				u.Approvals = append(u.Approvals, &ledgerpb.PolicyApproval{Supervisor: name, Signature: sig})
			}
			_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_PolicyUpdate{PolicyUpdate: u}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "policy updated at height %d; it applies from the next block\n", res.Height)
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "node home directory (required)")
	cmd.Flags().StringArrayVar(&approvals, "approval", nil, "a supervisor's approval, NAME:SIGNATURE (repeat)")
	_ = cmd.MarkFlagRequired("home")
	return cmd
}
