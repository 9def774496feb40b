package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// Tendering from the command line:
//
//	demander: cohort order create --tender --spec order.json   (no partners; max_price)
//	quoters:  cohort order quote ORDER-tender-1 --price P --capacity C   (before the tender is submitted)
//	demander: cohort order tender ORDER --quoters a,b,c --committee c1
//	demander: cohort order award ORDER   (the result this node holds; or --result FILE)
//	partners: cohort order sign ORDER
//
// A provider's node reads its input files when it sees the job on the
// ledger, so the quoters write theirs first, under the job ID the demander
// will use: by default the order's next tender job ID (`order show` prints
// it), which follows from the ledger alone.

// maxResultFileBytes bounds the result file `cohort order award` reads (a
// tender result lists at most 64 quotes).
const maxResultFileBytes = 1 << 20

// nextTenderJobID is the default ID of an order's next tender job:
// "<order>-tender-1", then "-tender-2" after that one, and so on.
func nextTenderJobID(o *client.Order) string {
	if o.TenderJob == "" {
		return o.ID + "-tender-1"
	}
	if i := strings.LastIndex(o.TenderJob, "-tender-"); i >= 0 {
		if n, err := strconv.Atoi(o.TenderJob[i+len("-tender-"):]); err == nil && n >= 1 {
			return o.TenderJob[:i] + "-tender-" + strconv.Itoa(n+1)
		}
	}
	return o.TenderJob + "-tender-2"
}

// quoteTarget resolves the tender job a quote is for: the job ID given, or
// the next tender job of forOrder (when given), whose bounds the quote must
// then respect. It returns the order (nil without forOrder) and the job ID.
func quoteTarget(ctx context.Context, c *client.Client, forOrder, id string, price, capacity uint64) (*client.Order, string, error) {
	var o *client.Order
	if forOrder != "" {
		var err error
		if o, err = c.Order(ctx, forOrder); err != nil {
			return nil, "", err
		}
		if o.MaxPrice != 0 && price > o.MaxPrice || capacity > o.Quantity {
			return nil, "", withExitCode(2, fmt.Errorf("order %s: a quote asks at most %d per unit for at most %d units", o.ID, o.MaxPrice, o.Quantity))
		}
		if id == "" {
			id = nextTenderJobID(o)
		}
	}
	if id == "" {
		return nil, "", withExitCode(2, errors.New("give the tender job's ID or --order"))
	}
	if err := jobspec.CheckID("job id", id); err != nil {
		return nil, "", withExitCode(2, err)
	}
	return o, id, nil
}

// tenderPolicy is the policy in force, or the default one on a chain
// without a policy (the ledger's rule too).
func tenderPolicy(cmd *cobra.Command, c *client.Client) (*policies.Policy, error) {
	raw, err := c.Policy(cmd.Context())
	if client.IsNotFound(err) {
		return policies.Default()
	}
	if err != nil {
		return nil, err
	}
	return policies.Parse(raw)
}

// tenderJobSpec builds a tender job for an order: the quoters' slots in
// order and their price factors from their ratings under the policy.
func tenderJobSpec(o *client.Order, quoters []string, ratings []int64, pol *policies.Policy, maxPartners int) (*jobspec.TenderParams, []string, error) {
	if o.Status != ledger.OrderTendering {
		return nil, nil, fmt.Errorf("order %s is %s, not tendering", o.ID, o.Status)
	}
	if maxPartners == 0 {
		maxPartners = min(int(o.MaxPartners), len(quoters))
	}
	p := &jobspec.TenderParams{Order: o.ID, Quantity: o.Quantity, MaxPartners: maxPartners, MaxPrice: o.MaxPrice}
	var slots []string
	for i, q := range quoters {
		if q == o.Demander {
			return nil, nil, fmt.Errorf("the demander %s cannot quote on its own order", q)
		}
		price, capacity := jobspec.TenderSlots(q)
		slots = append(slots, price, capacity)
		p.PriceFactors = append(p.PriceFactors, pol.TenderPriceFactor(ratings[i]))
	}
	return p, slots, nil
}

// parseAwardResult turns a tender job's result file (node/jobrun Result,
// JSON) into the order.award message; the ledger checks the opening, this
// only catches a wrong file.
func parseAwardResult(raw []byte, orderID string) (*ledgerpb.OrderAward, error) {
	if len(raw) > maxResultFileBytes {
		return nil, fmt.Errorf("result file of %d bytes exceeds %d", len(raw), maxResultFileBytes)
	}
	var r jobrun.Result
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&r); err != nil {
		return nil, fmt.Errorf("result file: %w", err)
	}
	if r.Tender == nil {
		return nil, fmt.Errorf("result file of job %q (%s) has no tender result", r.JobID, r.Type)
	}
	salt, commitments, err := r.Tender.Opening()
	if err != nil {
		return nil, fmt.Errorf("result file: %w", err)
	}
	return &ledgerpb.OrderAward{OrderId: orderID, JobId: r.JobID, Award: r.Tender.Award, Salt: salt, Commitments: commitments}, nil
}

// sealedQuote posts a member without a node's quote for a tender job:
// it waits for the job, proves and seals each slot (node.SealedSupplier) and
// posts both inputs through the first node of apis. The sealing keys and
// the chain ID come from the genesis in the member's home; the job and its
// committee must be the same at every node of apis, and one node alone is
// refused unless trustAPI.
func sealedQuote(cmd *cobra.Command, home string, apis []string, trustAPI bool, zkKeys, forOrder, committeeID string, args []string, price, capacity uint64, wait time.Duration) error {
	if len(apis) == 0 || zkKeys == "" {
		return withExitCode(2, errors.New("--sealed needs --api (member nodes' APIs) and --zk-keys (the input circuit's keys)"))
	}
	if len(apis) == 1 && !trustAPI {
		return withExitCode(2, fmt.Errorf("--api names one node (%s): it alone would tell which committee the quote is sealed to, and could name one it reads; "+
			"give several nodes (--api a,b,c: all must agree on the job and the committee) or --trust-api to accept that node's word", apis[0]))
	}
	if committeeID != "" && forOrder == "" {
		return withExitCode(2, errors.New("--committee prepares the quote on the order's terms: give --order too"))
	}
	raw, err := readInputFile(filepath.Join(home, "member.json"), 64<<10)
	if err != nil {
		return withExitCode(2, fmt.Errorf("member home %s: %w", home, err))
	}
	var me node.MemberInfo
	if err := json.Unmarshal(raw, &me); err != nil || me.Name == "" {
		return withExitCode(2, fmt.Errorf("member home %s: member.json names no member", home))
	}
	account, err := node.LoadAccountKey(home)
	if err != nil {
		return err
	}
	// The keys the shares are sealed to come from the genesis the member
	// holds, never from a node.
	gen, err := node.LoadSealingGenesis(home)
	if err != nil {
		return withExitCode(2, fmt.Errorf("refusing to seal without the network's genesis: %w", err))
	}
	c := client.New(apis[0])
	var witnesses []*client.Client
	for _, a := range apis[1:] {
		witnesses = append(witnesses, client.New(a))
	}
	ctx := cmd.Context()
	id := ""
	if len(args) == 1 {
		id = args[0]
	}
	o, id, err := quoteTarget(ctx, c, forOrder, id, price, capacity)
	if err != nil {
		return err
	}
	keys, err := zk.LoadKeys(zkKeys, zk.CircuitInput)
	if err != nil {
		return err
	}
	inputs := map[string][]byte{}
	priceSlot, capacitySlot := jobspec.TenderSlots(me.Name)
	inputs[priceSlot], _ = json.Marshal(jobrun.TenderInput{Price: &price})
	inputs[capacitySlot], _ = json.Marshal(jobrun.TenderInput{Capacity: &capacity})
	s := &node.SealedSupplier{Client: c, Name: me.Name, Account: account, InputKeys: keys, Genesis: gen, Witnesses: witnesses, TrustAPI: trustAPI}
	// With the order and the committee known, commit, prove and share now;
	// only sealing (bound to the job ID) waits for the job.
	var prepared map[string]*node.PreparedSlot
	if committeeID != "" {
		com, err := s.Committee(ctx, committeeID)
		if err != nil {
			return err
		}
		draft, err := node.TenderDraft(o.ID, o.Quantity, o.MaxPrice, me.Name, com.Members, int(com.Threshold))
		if err != nil {
			return err
		}
		prepared = map[string]*node.PreparedSlot{}
		for slot, raw := range inputs {
			if prepared[slot], err = s.Prepare(ctx, draft, slot, raw); err != nil {
				return withExitCode(2, fmt.Errorf("slot %s: %w", slot, err))
			}
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "waiting for tender job %s on the ledger (up to %s)\n", id, wait)
	if err := s.WaitJob(ctx, id, wait); err != nil {
		return err
	}
	if prepared != nil {
		err = s.SupplyPrepared(ctx, id, prepared)
	} else {
		err = s.Supply(ctx, id, inputs)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "sealed quote of %s for tender job %s posted (price %d, capacity %d): commitments and range proofs on the ledger, shares sealed to the committee with commitments to the sharing\n",
		me.Name, id, price, capacity)
	return nil
}

// quoteFiles are the two input files of a quote, by slot.
func quoteFiles(member, jobID string, price, capacity uint64) map[string][]byte {
	ps, cs := jobspec.TenderSlots(member)
	return map[string][]byte{
		node.InputFileName(jobID, ps): []byte(fmt.Sprintf("{\"price\": %d}\n", price)),
		node.InputFileName(jobID, cs): []byte(fmt.Sprintf("{\"capacity\": %d}\n", capacity)),
	}
}

func newOrderTenderCmds(home *string) []*cobra.Command {
	var quoters, committee, jobID string
	var maxPartners int
	var deadlineBlocks int64
	var asJSON bool
	tender := &cobra.Command{
		Use:   "tender ORDER --quoters a,b,c",
		Short: "As the demander, submit a tender job for a tendering order (price factors from the quoters' ratings)",
		Long: `Builds the tender job for the order: two input slots per quoter (price, capacity), the
order's quantity and max price, and each quoter's price factor computed from its current
rating under the policy (the ledger checks every factor against the same formula). The
quoters must have written their quotes (cohort order quote) under the job's ID before it
is submitted; the default ID is the order's next tender job ID, shown by 'order show'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			names := strings.Split(quoters, ",")
			for i := range names {
				names[i] = strings.TrimSpace(names[i])
			}
			c, err := apiClient(*home)
			if err != nil {
				return err
			}
			o, err := c.Order(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if committee == "" && o.TenderJob != "" {
				prev, err := c.Job(cmd.Context(), o.TenderJob)
				if err != nil {
					return err
				}
				committee = prev.Committee
			}
			if committee == "" {
				return withExitCode(2, errors.New("--committee is required for an order's first tender"))
			}
			ratings := make([]int64, len(names))
			for i, n := range names {
				cr, err := c.Credit(cmd.Context(), n)
				if err != nil {
					return fmt.Errorf("rating of quoter %s: %w", n, err)
				}
				ratings[i] = cr.Score
			}
			pol, err := tenderPolicy(cmd, c)
			if err != nil {
				return err
			}
			params, slots, err := tenderJobSpec(o, names, ratings, pol, maxPartners)
			if err != nil {
				return withExitCode(2, err)
			}
			rawParams, err := json.Marshal(params)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if deadlineBlocks == 0 {
				deadlineBlocks = min(defaultJobDeadlineBlocks, o.DeadlineHeight-st.Height-2)
			}
			if deadlineBlocks < 1 {
				return fmt.Errorf("order %s's deadline %d is too close (height %d) for a tender", o.ID, o.DeadlineHeight, st.Height)
			}
			if jobID == "" {
				jobID = nextTenderJobID(o)
			}
			cfg, err := node.LoadConfig(*home)
			if err != nil {
				return err
			}
			_, res, err := submit(cmd.Context(), *home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_JobSubmit{JobSubmit: &ledgerpb.JobSubmit{
					JobId: jobID, Type: string(jobspec.Tender), Params: rawParams, Providers: slots,
					CommitteeId: committee, Recipient: cfg.Moniker, DeadlineHeight: st.Height + deadlineBlocks,
				}}
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), struct {
					Job    string                `json:"job"`
					Height int64                 `json:"height"`
					Params *jobspec.TenderParams `json:"params"`
				}{jobID, res.Height, params})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tender job %s for order %s accepted at height %d\n", jobID, o.ID, res.Height)
			for i, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "  quote %d: %-12s rating %4d, price factor %d\n", i, n, ratings[i], params.PriceFactors[i])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "when it completes: cohort order award %s\n", o.ID)
			return nil
		},
	}
	tender.Flags().StringVar(&quoters, "quoters", "", "the quoting members, comma-separated, in quote order (required)")
	tender.Flags().StringVar(&committee, "committee", "", "the committee that runs the tender (default: the previous tender's)")
	tender.Flags().StringVar(&jobID, "job", "", "the job ID (default: the order's next tender job ID)")
	tender.Flags().IntVar(&maxPartners, "max-partners", 0, "partners to choose at most (default: the order's limit, at most the quoters)")
	tender.Flags().Int64Var(&deadlineBlocks, "deadline-blocks", 0, "blocks the quoters and the committee have (default: 600, before the order's deadline)")
	tender.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = tender.MarkFlagRequired("quoters")

	var price, capacity uint64
	var forOrder string
	var sealed, trustAPI bool
	var api, zkKeys, committeeID string
	var wait time.Duration
	quote := &cobra.Command{
		Use:   "quote [JOB] --price P --capacity C",
		Short: "As a quoter, write this node's sealed quote for a tender job (its two input files), or post it sealed (--sealed)",
		Long: `Writes this node's two tender inputs (its unit price and the quantity it can deliver)
where the node reads provider inputs; the node commits them with range proofs and sends them
secret-shared to the committee when the tender job appears on the ledger. Give the job ID,
or --order ORDER for the order's next tender job. The quote stays private: the demander
learns it only if it is chosen, nobody else ever.

A member without a node quotes with --sealed: --home is its member home (its account and
sealing keys, member.json, and the network's genesis in cometbft/config/genesis.json, which
'cohort testnet' writes and an operator otherwise hands over out of band), --api member
nodes' APIs, comma-separated: it posts through the first. The command waits until the tender
job is on every one of them (up to --wait), then commits each value with a range proof (the
ceremony's input keys, --zk-keys) and posts, signed with the member's key, the committee's
Shamir shares each sealed to one committee member, with Pedersen commitments to the sharing
(each member checks its share against them: a share off them would be charged to the quoter).

Whom the shares are sealed to is the security of the quote. The members' sealing keys and
the chain ID are taken from the genesis only: without it the command refuses. The job and
its committee are taken only if every node in --api returns the same, so a node that lies
about them (to have the shares sealed to members it colludes with) must collude with all of
them; a node that reports another sealing key for a committee member than the genesis is
refused. With one node in --api the command refuses unless --trust-api says the member
trusts that node with the quote. The nodes see what the ledger shows everyone: commitments,
proofs and sealed shares. If chosen, the member finds its assignment in the
order once the demander awards it (cohort order show ORDER). With --order and --committee
it prepares everything but the sealing (which binds the job ID) before the job appears.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sealed {
				return sealedQuote(cmd, *home, splitList(api), trustAPI, zkKeys, forOrder, committeeID, args, price, capacity, wait)
			}
			cfg, err := node.LoadConfig(*home)
			if err != nil {
				return err
			}
			c := client.New(cfg.API.Listen)
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			if _, id, err = quoteTarget(cmd.Context(), c, forOrder, id, price, capacity); err != nil {
				return err
			}
			if j, err := c.Job(cmd.Context(), id); err == nil {
				// Already on the ledger: the node may have read its inputs.
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: job %s is already %s on the ledger; a node reads its inputs when it first sees the job\n", id, j.Status)
			} else if !client.IsNotFound(err) {
				return err
			}
			dir := cfg.Jobs.InputsDir
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(*home, dir)
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			for name, raw := range quoteFiles(cfg.Moniker, id, price, capacity) {
				// Private inputs: readable by this node's user only.
				if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "quote of %s for tender job %s written to %s (price %d, capacity %d)\n", cfg.Moniker, id, dir, price, capacity)
			return nil
		},
	}
	quote.Flags().Uint64Var(&price, "price", 0, "unit price asked (required)")
	quote.Flags().Uint64Var(&capacity, "capacity", 0, "units this member can deliver (required)")
	quote.Flags().StringVar(&forOrder, "order", "", "quote for this order's next tender job (and check the quote against its terms)")
	quote.Flags().BoolVar(&sealed, "sealed", false, "as a member without a node: post the quote sealed to the committee through --api (--home is the member's home)")
	quote.Flags().StringVar(&api, "api", "", "with --sealed: member nodes' API addresses (host:port), comma-separated: posts through the first; all must agree on the job and its committee")
	quote.Flags().BoolVar(&trustAPI, "trust-api", false, "with --sealed and one node in --api: trust that node's word on the job and its committee (it could otherwise name a committee it reads the quote through)")
	quote.Flags().StringVar(&zkKeys, "zk-keys", "", "with --sealed: the directory of the input circuit's keys (from `cohort setup`)")
	quote.Flags().DurationVar(&wait, "wait", 10*time.Minute, "with --sealed: how long to wait for the tender job to appear on the ledger")
	quote.Flags().StringVar(&committeeID, "committee", "", "with --sealed and --order: the tender's committee, to commit, prove and share before the job appears (only sealing waits for it)")
	_ = quote.MarkFlagRequired("price")
	_ = quote.MarkFlagRequired("capacity")

	var resultFile string
	var awardJSON bool
	award := &cobra.Command{
		Use:   "award ORDER [--result FILE]",
		Short: "As the demander, post a completed tender's award: the ledger checks it and fills the order's partners",
		Long: `Reads the tender job's result (the recipient's result file, or by default the result this
node holds for the order's tender job) and posts its award: the ledger checks the opening
against the job's signed output commitment and fills the order's partners from the chosen
quotes. The order becomes a draft that the partners sign.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(*home)
			if err != nil {
				return err
			}
			var raw []byte
			if resultFile != "" {
				if raw, err = readInputFile(resultFile, maxResultFileBytes); err != nil {
					return withExitCode(2, err)
				}
			} else {
				o, err := c.Order(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if o.TenderJob == "" {
					return fmt.Errorf("order %s has no tender job", o.ID)
				}
				if raw, err = c.JobOutput(cmd.Context(), o.TenderJob, "result"); err != nil {
					return fmt.Errorf("result of tender job %s on this node: %w", o.TenderJob, err)
				}
			}
			m, err := parseAwardResult(raw, args[0])
			if err != nil {
				return withExitCode(2, err)
			}
			_, res, err := submit(cmd.Context(), *home, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_OrderAward{OrderAward: m}
			})
			if err != nil {
				return err
			}
			o, err := c.Order(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if awardJSON {
				return printJSON(cmd.OutOrStdout(), o)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "order %s awarded by tender job %s at height %d; it is %s\n", o.ID, m.JobId, res.Height, o.Status)
			for _, p := range o.Partners {
				fmt.Fprintf(cmd.OutOrStdout(), "  partner %-12s %8d units × %d", p.Member, p.Quantity, p.UnitValue)
				if p.FixedAmount > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), ", fixed %d", p.FixedAmount)
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			if o.TenderedQuantity != 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "  under-filled: %d of the %d units tendered\n", o.Quantity, o.TenderedQuantity)
			}
			if o.Status == ledger.OrderDraft {
				fmt.Fprintf(cmd.OutOrStdout(), "each partner now signs: cohort order sign %s\n", o.ID)
			}
			return nil
		},
	}
	award.Flags().StringVar(&resultFile, "result", "", "the tender job's result file, - for stdin (default: this node's result of the order's tender job)")
	award.Flags().BoolVar(&awardJSON, "json", false, "print the order as JSON")
	return []*cobra.Command{tender, quote, award}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
