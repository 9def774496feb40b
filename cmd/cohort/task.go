package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/zk"
)

// deliveryKeyFile is a buyer's BN254 EdDSA key that signs deliveries.
const deliveryKeyFile = "keys/delivery.key"

// orderFile is what a buyer hands its supplier privately: the opening of the
// order commitment on the ledger. The supplier needs it to prove completion.
type orderFile struct {
	TaskID          string    `json:"task_id"`
	Quantity        zk.Uint64 `json:"quantity"`
	Salt            zk.Felt   `json:"salt"`
	CounterpartyKey zk.Bytes  `json:"counterparty_key"`
}

// deliveryFile is the buyer's signed acknowledgement of a delivery.
type deliveryFile struct {
	TaskID     string    `json:"task_id"`
	Delivered  zk.Uint64 `json:"delivered"`
	QualityBps zk.Uint64 `json:"quality_bps"`
	Salt       zk.Felt   `json:"salt"`
	Signature  zk.Bytes  `json:"signature"`
}

func newTaskCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "task", Short: "Assign tasks and prove their completion (proof of task completion)"}
	var home string
	cmd.PersistentFlags().StringVar(&home, "home", "", "node home directory (required)")
	_ = cmd.MarkPersistentFlagRequired("home")

	var taskID, assignee, orderOut string
	var quantity uint64
	var threshold uint32
	var deadlineBlocks int64
	assign := &cobra.Command{
		Use:   "assign",
		Short: "As the buyer, commit an order and its completion threshold on the ledger",
		Long: `Commit an order on the ledger: the order quantity stays private (only its
Poseidon2 commitment goes on chain). Writes --order-out, the opening of the
commitment, which you give the assignee privately: it needs it to prove completion.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := loadOrCreateDeliveryKey(home)
			if err != nil {
				return err
			}
			salt, err := zk.NewSalt(rand.Reader)
			if err != nil {
				return err
			}
			commitment := zk.OrderCommitment(ledger.TaskFelt(taskID), quantity, salt)
			cb := commitment.Bytes()
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			order := orderFile{TaskID: taskID, Quantity: zk.Uint64(quantity), Salt: zk.FeltOf(salt), CounterpartyKey: key.PublicKey.Bytes()}
			if err := writeJSONFile(orderOut, order, 0o600); err != nil {
				return err
			}
			_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_TaskAssign{TaskAssign: &ledgerpb.TaskAssign{
					TaskId: taskID, Assignee: assignee, OrderCommitment: cb[:], ThresholdBps: threshold,
					CounterpartyKey: key.PublicKey.Bytes(), DeadlineHeight: st.Height + deadlineBlocks,
				}}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "task %s assigned to %s at height %d; give %s to %s privately\n",
				taskID, assignee, res.Height, orderOut, assignee)
			return nil
		},
	}
	assign.Flags().StringVar(&taskID, "task", "", "task ID (required)")
	assign.Flags().StringVar(&assignee, "assignee", "", "member who must deliver (required)")
	assign.Flags().Uint64Var(&quantity, "quantity", 0, "order quantity (private; required)")
	assign.Flags().Uint32Var(&threshold, "threshold-bps", 9000, "completion threshold in basis points of the order")
	assign.Flags().Int64Var(&deadlineBlocks, "deadline-blocks", 10_000, "blocks until the task times out")
	assign.Flags().StringVar(&orderOut, "order-out", "order.json", "where to write the order opening")
	for _, f := range []string{"task", "assignee", "quantity"} {
		_ = assign.MarkFlagRequired(f)
	}

	var orderIn, deliveryOut string
	var delivered, quality uint64
	sign := &cobra.Command{
		Use:   "sign-delivery",
		Short: "As the buyer, sign the delivery you received (the supplier proves with it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := loadDeliveryKey(home)
			if err != nil {
				return err
			}
			var order orderFile
			if err := readJSONFile(orderIn, &order); err != nil {
				return err
			}
			out, err := signDelivery(key, order.TaskID, delivered, quality)
			if err != nil {
				return err
			}
			if err := writeJSONFile(deliveryOut, out, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "delivery of %d at %d bps quality signed for task %s: %s\n", delivered, quality, order.TaskID, deliveryOut)
			return nil
		},
	}
	sign.Flags().StringVar(&orderIn, "order", "order.json", "the order opening")
	sign.Flags().Uint64Var(&delivered, "delivered", 0, "delivered quantity (required)")
	sign.Flags().Uint64Var(&quality, "quality-bps", 10_000, "delivery quality in basis points")
	sign.Flags().StringVar(&deliveryOut, "out", "delivery.json", "where to write the signed delivery")
	_ = sign.MarkFlagRequired("delivered")

	var deliveryIn, keysDir string
	var claim uint32
	complete := &cobra.Command{
		Use:   "complete",
		Short: "As the assignee, prove completion (zk) and post it; validators verify the proof",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var order orderFile
			if err := readJSONFile(orderIn, &order); err != nil {
				return err
			}
			var d deliveryFile
			if err := readJSONFile(deliveryIn, &d); err != nil {
				return err
			}
			if d.TaskID != order.TaskID {
				return fmt.Errorf("delivery is for task %s, order for %s", d.TaskID, order.TaskID)
			}
			keys, err := zk.LoadKeys(keysDir, zk.CircuitCompletion)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "proving completion of task %s at %d bps…\n", order.TaskID, claim)
			msg, err := proveCompletion(cmd.Context(), keys, order, d, claim)
			if err != nil {
				return err
			}
			_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_TaskComplete{TaskComplete: msg}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "task %s completed at %d bps, verified by the validators at height %d\n", order.TaskID, claim, res.Height)
			return nil
		},
	}
	complete.Flags().StringVar(&orderIn, "order", "order.json", "the order opening from the buyer")
	complete.Flags().StringVar(&deliveryIn, "delivery", "delivery.json", "the signed delivery from the buyer")
	complete.Flags().Uint32Var(&claim, "claim-bps", 0, "completion band to prove, at least the task's threshold (required)")
	complete.Flags().StringVar(&keysDir, "keys", "", "zk keys directory with the completion proving key (required)")
	_ = complete.MarkFlagRequired("claim-bps")
	_ = complete.MarkFlagRequired("keys")

	show := showCmd("show ID", "Show a task", &home,
		func(ctx context.Context, c *client.Client, id string) (any, error) { return c.Task(ctx, id) })
	cmd.AddCommand(assign, sign, complete, show)
	return cmd
}

func newCreditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "credit", Short: "Credit ratings"}
	var home string
	var asJSON, history bool
	show := &cobra.Command{
		Use:   "show MEMBER",
		Short: "A member's rating (0–1000), grade, voting power and history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			if history {
				return printCreditHistory(cmd.Context(), cmd.OutOrStdout(), c, args[0], asJSON)
			}
			cr, err := c.Credit(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, cr)
			}
			fmt.Fprintf(out, "%s: %d (%s), verified output %d, voting power %d\n", cr.Member, cr.Score, cr.Grade, cr.Output, cr.Power)
			for _, e := range cr.History {
				fmt.Fprintf(out, "  height %-8d %+5d → %4d  %s\n", e.Height, e.Delta, e.Score, e.Reason)
			}
			return nil
		},
	}
	show.Flags().StringVar(&home, "home", "", "node home directory (required)")
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	show.Flags().BoolVar(&history, "history", false, "the full score history (up to 1000 events), each with the grade it left")
	_ = show.MarkFlagRequired("home")
	cmd.AddCommand(show)
	return cmd
}

// signDelivery is the buyer's side of a delivery: a fresh commitment to the
// delivered quantity and quality of a task, signed with its delivery key.
func signDelivery(key *eddsa.PrivateKey, taskID string, delivered, qualityBps uint64) (deliveryFile, error) {
	salt, err := zk.NewSalt(rand.Reader)
	if err != nil {
		return deliveryFile{}, err
	}
	d := zk.DeliveryCommitment(ledger.TaskFelt(taskID), delivered, qualityBps, salt)
	sig, err := zk.SignDelivery(key, d)
	if err != nil {
		return deliveryFile{}, err
	}
	return deliveryFile{TaskID: taskID, Delivered: zk.Uint64(delivered), QualityBps: zk.Uint64(qualityBps), Salt: zk.FeltOf(salt), Signature: sig}, nil
}

// proveCompletion is the assignee's side: a completion proof that delivery
// d of the task order opens meets claim basis points, as the task.complete
// message the validators verify.
func proveCompletion(ctx context.Context, keys *zk.Keys, order orderFile, d deliveryFile, claim uint32) (*ledgerpb.TaskComplete, error) {
	w := zk.CompletionWitness{
		TaskID: zk.FeltOf(ledger.TaskFelt(order.TaskID)), OrderQuantity: order.Quantity, OrderSalt: order.Salt,
		DeliveredQuantity: d.Delivered, QualityBps: d.QualityBps, DeliverySalt: d.Salt,
		ThresholdBps: zk.Uint64(claim), CounterpartyKey: order.CounterpartyKey, Signature: d.Signature,
	}
	pf, err := keys.Prove(ctx, w)
	if err != nil {
		return nil, err
	}
	proof, err := pf.ProofBytes()
	if err != nil {
		return nil, err
	}
	delivery := zk.DeliveryCommitment(ledger.TaskFelt(order.TaskID), uint64(d.Delivered), uint64(d.QualityBps), d.Salt.Fr())
	db := delivery.Bytes()
	return &ledgerpb.TaskComplete{TaskId: order.TaskID, DeliveryCommitment: db[:], ClaimedBps: claim, VkId: keys.Info.VKID, Proof: proof}, nil
}

func loadDeliveryKey(home string) (*eddsa.PrivateKey, error) {
	path := filepath.Join(home, deliveryKeyFile)
	raw, err := readInputFile(path, 1024)
	if err != nil {
		return nil, fmt.Errorf("delivery key: %w", err)
	}
	var k eddsa.PrivateKey
	if _, err := k.SetBytes(raw); err != nil {
		return nil, fmt.Errorf("delivery key %s: %w", path, err)
	}
	return &k, nil
}

func loadOrCreateDeliveryKey(home string) (*eddsa.PrivateKey, error) {
	k, err := loadDeliveryKey(home)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	k, err = zk.GenerateSigningKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(home, deliveryKeyFile)
	if err := os.WriteFile(path, k.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("write delivery key: %w", err)
	}
	return k, nil
}

func writeJSONFile(path string, v any, mode os.FileMode) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), mode)
}

func readJSONFile(path string, v any) error {
	raw, err := readInputFile(path, 1<<20)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
