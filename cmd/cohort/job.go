package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/client"
)

// showCmd is a command that prints one object from the node's API as JSON.
func showCmd(use, short string, home *string, get func(context.Context, *client.Client, string) (any, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(*home)
			if err != nil {
				return err
			}
			v, err := get(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), v)
		},
	}
}

// jobSpec is the file `cohort job submit` reads.
type jobSpec struct {
	ID               string          `json:"id,omitempty"` // generated when empty
	Params           json.RawMessage `json:"params,omitempty"`
	Providers        []string        `json:"providers"`
	Committee        string          `json:"committee"`
	Recipient        string          `json:"recipient"`
	DeadlineBlocks   int64           `json:"deadline_blocks,omitempty"`
	RecipientKeyHash string          `json:"recipient_key_hash,omitempty"` // hex, HE jobs
}

const defaultJobDeadlineBlocks = 600

func newCommitteeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "committee", Short: "MPC committees"}
	var home string
	cmd.PersistentFlags().StringVar(&home, "home", "", "node home directory (required)")
	_ = cmd.MarkPersistentFlagRequired("home")
	var id string
	var members []string
	var threshold uint32
	create := &cobra.Command{
		Use:   "create",
		Short: "Register a committee; its members then run the DKG and confirm its key",
		Long: `Register a committee; its members then run the HE key setup and the BLS DKG and confirm its key.

The threshold t (members needed to sign a result; for HE jobs, members that must stay online) may be
⌈n/2⌉ to n for n members, and defaults to ⌈n/2⌉. Only t = ⌈n/2⌉ allows HE jobs (credit-score,
aggregate): the HE setup then checks every member's key shares in the committee's MPC, which it cannot
do for a larger t (⌈n/2⌉ < t members could read the key), so a committee with t > ⌈n/2⌉ sets up no HE
key and the ledger refuses its HE jobs. SS jobs (auctions, clearing, tenders) run on every committee.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("threshold") {
				threshold = uint32(jobspec.MinThreshold(len(members)))
			}
			_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_CommitteeCreate{CommitteeCreate: &ledgerpb.CommitteeCreate{
					CommitteeId: id, Members: members, Threshold: threshold,
				}}
			})
			if err != nil {
				return err
			}
			jobs := "SS and HE jobs"
			if !jobspec.HESetupChecked(len(members), int(threshold)) {
				jobs = fmt.Sprintf("SS jobs only: HE jobs need threshold ⌈n/2⌉ = %d", jobspec.MaxHEThreshold(len(members)))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "committee %s (%d-of-%d: %s; %s) registered at height %d; waiting for its members' DKG\n",
				id, threshold, len(members), strings.Join(members, ", "), jobs, res.Height)
			return nil
		},
	}
	create.Flags().StringVar(&id, "id", "", "committee ID (required)")
	create.Flags().StringSliceVar(&members, "members", nil, "members, in DKG index order (required)")
	create.Flags().Uint32Var(&threshold, "threshold", 0, "t: members needed to sign a result, ⌈n/2⌉..n (default ⌈n/2⌉, the only one that allows HE jobs)")
	for _, f := range []string{"id", "members"} {
		_ = create.MarkFlagRequired(f)
	}
	show := showCmd("show ID", "Show a committee and which members confirmed its key", &home,
		func(ctx context.Context, c *client.Client, id string) (any, error) { return c.Committee(ctx, id) })
	cmd.AddCommand(create, show)
	return cmd
}

func newJobCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "job", Short: "Submit private jobs and follow them"}
	var home string
	cmd.PersistentFlags().StringVar(&home, "home", "", "node home directory (required)")
	_ = cmd.MarkPersistentFlagRequired("home")
	var specFile string
	var wait bool
	submitCmd := &cobra.Command{
		Use:   "submit TYPE",
		Short: "Submit a job (" + strings.Join(jobspec.TypeNames(), ", ") + "); prints its ID",
		Long: `Submit a private job described by --spec, a JSON file:

  {"params": {...type-specific...}, "providers": ["node0", "node1", "node1/client-a"],
   "committee": "c1", "recipient": "node2", "deadline_blocks": 600}

Each provider is an input slot: a member, whose node reads its input from
inputs/<job-id>.json in its home, or "member/label", one of several inputs a
member supplies for its clients, read from inputs/<job-id>.<label>.json.

The ledger checks the requester's role and credit grade against the policy
(the access step). Providers then commit their inputs and send them, encrypted
or secret-shared, to the committee; only the recipient learns the result.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var spec jobSpec
			if err := readJSONFile(specFile, &spec); err != nil {
				return err
			}
			if spec.ID == "" {
				b := make([]byte, 8)
				if _, err := rand.Read(b); err != nil {
					return err
				}
				spec.ID = args[0] + "-" + hex.EncodeToString(b)
			}
			if spec.DeadlineBlocks == 0 {
				spec.DeadlineBlocks = defaultJobDeadlineBlocks
			}
			var keyHash []byte
			if spec.RecipientKeyHash != "" {
				var err error
				if keyHash, err = hex.DecodeString(spec.RecipientKeyHash); err != nil {
					return fmt.Errorf("recipient_key_hash: %w", err)
				}
			}
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_JobSubmit{JobSubmit: &ledgerpb.JobSubmit{
					JobId: spec.ID, Type: args[0], Params: spec.Params, Providers: spec.Providers,
					CommitteeId: spec.Committee, Recipient: spec.Recipient,
					DeadlineHeight: st.Height + spec.DeadlineBlocks, RecipientKeyHash: keyHash,
				}}
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), spec.ID)
			fmt.Fprintf(cmd.ErrOrStderr(), "job %s accepted at height %d\n", spec.ID, res.Height)
			if wait {
				return followJob(cmd.Context(), cmd.ErrOrStderr(), c, spec.ID)
			}
			return nil
		},
	}
	submitCmd.Flags().StringVar(&specFile, "spec", "", "job spec file (required)")
	submitCmd.Flags().BoolVar(&wait, "wait", false, "follow the job on the ledger until it completes or aborts")
	_ = submitCmd.MarkFlagRequired("spec")

	status := showCmd("status ID", "A job's state on the ledger: inputs committed, result or abort reason", &home,
		func(ctx context.Context, c *client.Client, id string) (any, error) { return c.Job(ctx, id) })
	list := &cobra.Command{
		Use:   "list",
		Short: "List jobs on the ledger",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			jobs, err := c.Jobs(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, j := range jobs {
				fmt.Fprintf(out, "%-32s %-16s %-10s requester=%s recipient=%s", j.ID, j.Type, j.Status, j.Requester, j.Recipient)
				if j.AbortReason != "" {
					fmt.Fprintf(out, " reason=%q", j.AbortReason)
				}
				fmt.Fprintln(out)
			}
			return nil
		},
	}
	var allocation bool
	var slot string
	result := &cobra.Command{
		Use:   "result ID",
		Short: "The job's result, on the recipient's node only (--allocation: a clearing bidder's own)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			kind := "result"
			switch {
			case allocation && slot != "":
				kind = "allocation-" + slot
			case allocation:
				kind = "allocation"
			case slot != "":
				return fmt.Errorf("--slot goes with --allocation")
			}
			raw, err := c.JobOutput(cmd.Context(), args[0], kind)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(raw)
			return err
		},
	}
	result.Flags().BoolVar(&allocation, "allocation", false, "show this bidder's own allocation of a clearing job")
	result.Flags().StringVar(&slot, "slot", "", `with --allocation: the label of a client's slot "node/LABEL" this node supplied`)
	cmd.AddCommand(submitCmd, status, list, result)
	return cmd
}

// followJob prints a job's progress on the ledger (inputs committed, running,
// result or abort) until it ends.
func followJob(ctx context.Context, w io.Writer, c *client.Client, id string) error {
	last := ""
	start := time.Now()
	p := newProgress(w)
	for {
		j, err := c.Job(ctx, id)
		if err == nil {
			committed := 0
			for _, ic := range j.InputCommitments {
				if ic != "" {
					committed++
				}
			}
			state := fmt.Sprintf("%s, %d/%d inputs committed", j.Status, committed, len(j.Providers))
			// Steps: submitted, each input, computing, result.
			done := 1 + committed
			if j.Status != ledger.JobCollecting {
				done++
			}
			if j.Status == ledger.JobCompleted || j.Status == ledger.JobAborted {
				done++
			}
			if p.tty {
				p.Status(fmt.Sprintf("%s job %s: %s (%.0fs)", bar(done, len(j.Providers)+3), id, state, time.Since(start).Seconds()))
			} else if state != last {
				fmt.Fprintf(w, "[%5.1fs] job %s: %s\n", time.Since(start).Seconds(), id, state)
				last = state
			}
			switch j.Status {
			case ledger.JobCompleted:
				p.Println(fmt.Sprintf("job %s completed at height %d; the recipient (%s) holds the result", id, j.FinishedHeight, j.Recipient))
				return nil
			case ledger.JobAborted:
				p.Println("")
				return fmt.Errorf("job %s aborted: %s", id, j.AbortReason)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
