package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/zk"
)

// maxOrderSpecBytes bounds the spec file `cohort order create` reads.
const maxOrderSpecBytes = 64 << 10

// orderSpec is the file `cohort order create` reads. Amounts are integers in
// the order's currency unit (e.g. cents).
type orderSpec struct {
	ID             string             `json:"id"`
	Product        string             `json:"product"`
	Quantity       uint64             `json:"quantity"`
	DeadlineBlocks int64              `json:"deadline_blocks"`
	MinGrade       string             `json:"min_grade"`
	MaxPartners    uint32             `json:"max_partners"`
	Mode           string             `json:"mode"` // output-sharing, fixed, hybrid
	ProfitPool     uint64             `json:"profit_pool,omitempty"`
	Funds          uint64             `json:"funds"`
	ThresholdBps   uint32             `json:"threshold_bps"`
	Partners       []orderPartnerSpec `json:"partners"`
	// MaxPrice is a tender order's highest unit price a quote may ask.
	MaxPrice uint64 `json:"max_price,omitempty"`
}

type orderPartnerSpec struct {
	Member      string `json:"member"`
	Quantity    uint64 `json:"quantity"`
	UnitValue   uint64 `json:"unit_value"`
	FixedAmount uint64 `json:"fixed_amount,omitempty"`
}

// parseOrderSpec decodes a spec strictly (unknown fields are errors) and
// turns it into the order's terms at the given height. The ledger checks the
// terms again; this only catches mistakes before anything is signed. A
// tender order has no partners and a max price.
func parseOrderSpec(raw []byte, height int64, counterpartyKey []byte, tender bool) (*ledgerpb.OrderCreate, error) {
	if len(raw) > maxOrderSpecBytes {
		return nil, fmt.Errorf("order spec of %d bytes exceeds %d", len(raw), maxOrderSpecBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var s orderSpec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("order spec: %w", err)
	}
	if dec.More() {
		return nil, errors.New("order spec: trailing data after the JSON object")
	}
	switch {
	case s.ID == "":
		return nil, errors.New("order spec: id is required")
	case s.DeadlineBlocks <= 0 || s.DeadlineBlocks > 10_000_000:
		return nil, errors.New("order spec: deadline_blocks must be 1 to 10000000")
	case tender && len(s.Partners) != 0:
		return nil, errors.New("order spec: a tender order has no partners (its award names them)")
	case tender && (s.MaxPrice == 0 || s.Quantity == 0 || s.MaxPartners == 0):
		return nil, errors.New("order spec: a tender order needs quantity, max_partners and max_price")
	case !tender && s.MaxPrice != 0:
		return nil, errors.New("order spec: max_price is a tender order's term (--tender)")
	case !tender && len(s.Partners) == 0:
		return nil, errors.New("order spec: at least one partner is required")
	}
	t := &ledgerpb.OrderCreate{
		OrderId: s.ID, Product: s.Product, Quantity: s.Quantity, DeadlineHeight: height + s.DeadlineBlocks,
		MinGrade: s.MinGrade, MaxPartners: s.MaxPartners, Mode: s.Mode, ProfitPool: s.ProfitPool, Funds: s.Funds,
		ThresholdBps: s.ThresholdBps, CounterpartyKey: counterpartyKey, Tender: tender, MaxPrice: s.MaxPrice,
	}
	if t.MaxPartners == 0 {
		t.MaxPartners = uint32(len(s.Partners))
	}
	var sum uint64
	for _, p := range s.Partners {
		t.Partners = append(t.Partners, &ledgerpb.OrderPartner{Member: p.Member, Quantity: p.Quantity, UnitValue: p.UnitValue, FixedAmount: p.FixedAmount})
		sum += p.Quantity
	}
	if t.Quantity == 0 {
		t.Quantity = sum
	}
	return t, nil
}

func newOrderCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "order",
		Short: "Orders (contracts): create, sign, show, settle, resume or terminate",
		Long: `An order is created by a demander with its partners' quantities and agreed values; it
becomes active when every partner has signed and the ledger's checks pass (parties, credit
grades, quantities, deadline, declared funds), and then opens one task per partner. The
ledger suspends it on a breach (missed deadline, completion below threshold, failed proof);
every party must vote to resume it; the parties not in breach terminate it. Settlement pays verified output only.
A tender order (create --tender) has no partners yet: quoters seal their quotes (quote),
the demander runs a private tender job (tender) and posts its award (award), which names
the partners, who then sign as for any order.
Exit codes: 0 success, 1 the ledger refused or the node failed, 2 a malformed spec.`,
	}
	var home string
	cmd.PersistentFlags().StringVar(&home, "home", "", "node home directory (required)")
	_ = cmd.MarkPersistentFlagRequired("home")

	var specFile string
	var tender bool
	create := &cobra.Command{
		Use:   "create",
		Short: "As the demander, post an order from a JSON spec (it is a draft until every partner signs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := readInputFile(specFile, maxOrderSpecBytes)
			if err != nil {
				return withExitCode(2, err)
			}
			key, err := loadOrCreateDeliveryKey(home)
			if err != nil {
				return err
			}
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("node not reachable: %w", err)
			}
			terms, err := parseOrderSpec(raw, st.Height, key.PublicKey.Bytes(), tender)
			if err != nil {
				return withExitCode(2, err)
			}
			h, err := ledger.OrderTermsHash(terms)
			if err != nil {
				return err
			}
			_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_OrderCreate{OrderCreate: terms}
			})
			if err != nil {
				return err
			}
			if tender {
				fmt.Fprintf(cmd.OutOrStdout(), "order %s created (tendering) at height %d: up to %d units at most %d each\nquoters write their quotes for tender job %s-tender-1 (cohort order quote --order %s)\n",
					terms.OrderId, res.Height, terms.Quantity, terms.MaxPrice, terms.OrderId, terms.OrderId)
				return nil
			}
			var names []string
			for _, p := range terms.Partners {
				names = append(names, p.Member)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "order %s created (draft) at height %d; terms hash %x\nwaiting for the signatures of %s\n",
				terms.OrderId, res.Height, h, strings.Join(names, ", "))
			return nil
		},
	}
	create.Flags().StringVar(&specFile, "spec", "", "order spec JSON file, - for stdin (required)")
	create.Flags().BoolVar(&tender, "tender", false, "a tender order: no partners in the spec, max_price set; a tender job's award names the partners")
	_ = create.MarkFlagRequired("spec")

	var termsHash string
	sign := &cobra.Command{
		Use:   "sign ID",
		Short: "As a partner, sign an order's terms (the last signature runs the ledger's validity checks)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			o, err := c.Order(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			// Sign the hash of the terms as shown, recomputed here, not the
			// hash the node reports.
			h, err := ledger.OrderTermsHash(termsOf(o))
			if err != nil {
				return err
			}
			if hex.EncodeToString(h) != o.TermsHash {
				return fmt.Errorf("order %s: terms hash %s from the node does not match its terms (%x)", o.ID, o.TermsHash, h)
			}
			if termsHash != "" && !strings.EqualFold(termsHash, o.TermsHash) {
				return fmt.Errorf("order %s has terms hash %s, not the %s you agreed to", o.ID, o.TermsHash, termsHash)
			}
			_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_OrderSign{OrderSign: &ledgerpb.OrderSign{OrderId: o.ID, TermsHash: h}}
			})
			if err != nil {
				return err
			}
			o, err = c.Order(cmd.Context(), o.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "order %s signed at height %d; it is %s (%d of %d parties signed)\n",
				o.ID, res.Height, o.Status, len(o.Signed), len(o.Partners)+1)
			return nil
		},
	}
	sign.Flags().StringVar(&termsHash, "terms-hash", "", "refuse to sign unless the order's terms hash is this (hex)")

	var asJSON bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "An order's terms, partners and tasks, life cycle with reasons, and settlement",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			o, err := c.Order(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var s *client.Settlement
			if o.Status == ledger.OrderSettled {
				if s, err = c.Settlement(cmd.Context(), o.ID); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), struct {
					*client.Order
					Settlement *client.Settlement `json:"settlement,omitempty"`
				}{o, s})
			}
			return printOrder(cmd.Context(), cmd.OutOrStdout(), c, o, s)
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var listJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "Every order, one line each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			os, err := c.Orders(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if listJSON {
				return printJSON(out, os)
			}
			for _, o := range os {
				fmt.Fprintf(out, "%-20s %-10s %-14s %s, %d units, %d partners, demander %s\n",
					o.ID, o.Status, o.Mode, o.Product, o.Quantity, len(o.Partners), o.Demander)
			}
			return nil
		},
	}
	list.Flags().BoolVar(&listJSON, "json", false, "print JSON")

	settle := &cobra.Command{
		Use:   "settle ID",
		Short: "As a party, settle an active order whose tasks are all closed; prints each partner's share",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_OrderSettle{OrderSettle: &ledgerpb.OrderSettle{OrderId: args[0]}}
			})
			if err != nil {
				return err
			}
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			s, err := c.Settlement(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "order %s settled at height %d (%s): paid %d, refund %d; settlement hash %s\n",
				args[0], res.Height, s.Mode, s.Paid, s.Refund, s.Hash)
			printShares(out, s)
			return nil
		},
	}

	var reason string
	vote := func(use, short string, terminate bool) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := apiClient(home)
				if err != nil {
					return err
				}
				o, err := c.Order(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				_, res, err := submit(cmd.Context(), home, func(p *ledgerpb.TxPayload) {
					if terminate {
						p.Msg = &ledgerpb.TxPayload_OrderTerminate{OrderTerminate: &ledgerpb.OrderTerminate{OrderId: o.ID, Version: o.Version, Reason: reason}}
					} else {
						p.Msg = &ledgerpb.TxPayload_OrderResume{OrderResume: &ledgerpb.OrderResume{OrderId: o.ID, Version: o.Version, Reason: reason}}
					}
				})
				if err != nil {
					return err
				}
				if o, err = c.Order(cmd.Context(), o.ID); err != nil {
					return err
				}
				votes := o.ResumeVotes
				if terminate {
					votes = o.TerminateVotes
				}
				fmt.Fprintf(cmd.OutOrStdout(), "vote to %s order %s recorded at height %d; the order is %s", use, o.ID, res.Height, o.Status)
				if len(votes) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), " (votes so far: %s)", strings.Join(votes, ", "))
				}
				fmt.Fprintln(cmd.OutOrStdout())
				return nil
			},
		}
		c.Flags().StringVar(&reason, "reason", "", "why (recorded on the ledger)")
		return c
	}

	var partner, out string
	taskFile := &cobra.Command{
		Use:   "task-file ID",
		Short: "Write a partner's order opening for `task sign-delivery` and `task complete`",
		Long: `An order's quantities are public terms, so the opening of each partner's task commitment
is derived from the ledger (its salt is public). This writes it in the format the task
commands read; the ledger's task must commit to exactly this opening.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(home)
			if err != nil {
				return err
			}
			o, err := c.Order(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			for _, p := range o.Partners {
				if p.Member != partner {
					continue
				}
				if p.TaskID == "" {
					return fmt.Errorf("order %s is %s: it has no tasks yet", o.ID, o.Status)
				}
				key, err := hex.DecodeString(o.CounterpartyKey)
				if err != nil {
					return fmt.Errorf("order %s: counterparty key: %w", o.ID, err)
				}
				t, err := c.Task(cmd.Context(), p.TaskID)
				if err != nil {
					return err
				}
				if hex.EncodeToString(ledger.OrderTaskCommitment(p.TaskID, p.Quantity)) != t.OrderCommitment {
					return fmt.Errorf("task %s does not commit to %d units", p.TaskID, p.Quantity)
				}
				if err := writeJSONFile(out, orderTaskFile(p, key), 0o600); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "task %s of %s (%d units): %s\n", p.TaskID, partner, p.Quantity, out)
				return nil
			}
			return fmt.Errorf("%s is not a partner of order %s", partner, o.ID)
		},
	}
	taskFile.Flags().StringVar(&partner, "partner", "", "the partner (required)")
	taskFile.Flags().StringVar(&out, "out", "order.json", "where to write the opening")
	_ = taskFile.MarkFlagRequired("partner")

	cmd.AddCommand(create, sign, show, list, settle,
		vote("resume", "As a party, vote to resume a suspended order (every party must)", false),
		vote("terminate", "As a party, vote to terminate the order (a draft or a tendering order: any party; a suspended order: every party not in breach; otherwise every party)", true),
		taskFile)
	cmd.AddCommand(newOrderTenderCmds(&home)...)
	return cmd
}

// termsOf rebuilds an order's terms from the node's answer, to recompute
// the hash a partner signs.
// orderTaskFile is the opening of an order task's quantity commitment: the
// salt is public (ledger.OrderTaskSalt), the quantity an order term.
func orderTaskFile(p client.OrderPartner, counterpartyKey []byte) orderFile {
	return orderFile{TaskID: p.TaskID, Quantity: zk.Uint64(p.Quantity), Salt: zk.FeltOf(ledger.OrderTaskSalt(p.TaskID)), CounterpartyKey: counterpartyKey}
}

func termsOf(o *client.Order) *ledgerpb.OrderCreate {
	key, _ := hex.DecodeString(o.CounterpartyKey)
	t := &ledgerpb.OrderCreate{
		OrderId: o.ID, Product: o.Product, Quantity: o.Quantity, DeadlineHeight: o.DeadlineHeight, MinGrade: o.MinGrade,
		MaxPartners: o.MaxPartners, Mode: o.Mode, ProfitPool: o.ProfitPool, Funds: o.Funds, ThresholdBps: o.ThresholdBps,
		CounterpartyKey: key, Tender: o.Tender, MaxPrice: o.MaxPrice,
	}
	for _, p := range o.Partners {
		t.Partners = append(t.Partners, &ledgerpb.OrderPartner{Member: p.Member, Quantity: p.Quantity, UnitValue: p.UnitValue, FixedAmount: p.FixedAmount})
	}
	return t
}

func printOrder(ctx context.Context, w io.Writer, c *client.Client, o *client.Order, s *client.Settlement) error {
	fmt.Fprintf(w, "order %s: %s\n", o.ID, o.Status)
	fmt.Fprintf(w, "  %s, %d units by height %d; demander %s; partners' grade ≥ %s; threshold %d bps\n",
		o.Product, o.Quantity, o.DeadlineHeight, o.Demander, o.MinGrade, o.ThresholdBps)
	fmt.Fprintf(w, "  mode %s, profit pool %d, funds %d; signed by %s\n", o.Mode, o.ProfitPool, o.Funds, strings.Join(o.Signed, ", "))
	if o.Tender {
		fmt.Fprintf(w, "  tender order: max price %d, up to %d partners", o.MaxPrice, o.MaxPartners)
		if o.TenderJob != "" {
			fmt.Fprintf(w, "; tender job %s", o.TenderJob)
		}
		fmt.Fprintln(w)
		if o.TenderedQuantity != 0 {
			fmt.Fprintf(w, "  under-filled: awarded %d of the %d units tendered\n", o.Quantity, o.TenderedQuantity)
		}
		if o.Status == ledger.OrderTendering {
			fmt.Fprintf(w, "  next tender job ID: %s (quoters: cohort order quote --order %s)\n", nextTenderJobID(o), o.ID)
		}
	}
	for _, p := range o.Partners {
		status := "no task yet"
		if p.TaskID != "" {
			t, err := c.Task(ctx, p.TaskID)
			if err != nil {
				return err
			}
			status = "task " + t.ID + " " + t.Status
			if t.CompletedBps > 0 {
				status += fmt.Sprintf(" at %d bps", t.CompletedBps)
			}
		}
		fmt.Fprintf(w, "  partner %-12s %8d units × %d", p.Member, p.Quantity, p.UnitValue)
		if p.FixedAmount > 0 {
			fmt.Fprintf(w, ", fixed %d", p.FixedAmount)
		}
		fmt.Fprintf(w, "  (%s)\n", status)
	}
	fmt.Fprintf(w, "  life cycle (version %d):\n", o.Version)
	for _, tr := range o.Transitions {
		from := tr.From
		if from == "" {
			from = "·"
		}
		fmt.Fprintf(w, "    height %-8d %s → %s by %s: %s", tr.Height, from, tr.To, tr.By, tr.Reason)
		if tr.Party != "" {
			fmt.Fprintf(w, " [%s %+d credit]", tr.Party, tr.CreditDelta)
		}
		fmt.Fprintln(w)
	}
	if len(o.ResumeVotes) > 0 {
		fmt.Fprintf(w, "  resume votes: %s\n", strings.Join(o.ResumeVotes, ", "))
	}
	if len(o.TerminateVotes) > 0 {
		fmt.Fprintf(w, "  terminate votes: %s\n", strings.Join(o.TerminateVotes, ", "))
	}
	if s != nil {
		fmt.Fprintf(w, "  settlement (record %s, hash %s): paid %d, refund %d\n", o.SettlementRecord, s.Hash, s.Paid, s.Refund)
		printShares(w, s)
	}
	return nil
}

func printShares(w io.Writer, s *client.Settlement) {
	for _, sh := range s.Shares {
		fmt.Fprintf(w, "    %-12s %-15s %5d bps → %8d delivered, value %s: fixed %d + sharing %d = %d\n",
			sh.Member, sh.TaskStatus, sh.CompletedBps, sh.DeliveredQuantity, sh.VerifiedValue, sh.FixedPart, sh.SharingPart, sh.Total)
	}
}

// printCreditHistory prints a member's current grade label and its score
// history (`cohort credit show MEMBER --history`).
func printCreditHistory(ctx context.Context, w io.Writer, c *client.Client, member string, asJSON bool) error {
	h, err := c.CreditHistory(ctx, member)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, h)
	}
	fmt.Fprintf(w, "%s: %d, grade %s, verified output %d, voting power %d\n", h.Member, h.Score, h.Grade, h.Output, h.Power)
	if h.Truncated {
		fmt.Fprintf(w, "  (older events left out)\n")
	}
	for _, e := range h.History {
		fmt.Fprintf(w, "  height %-8d %+5d → %4d %-4s %s\n", e.Height, e.Delta, e.Score, e.Grade, e.Reason)
	}
	return nil
}
