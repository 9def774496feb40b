package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/jobrun/plainref"
	"github.com/cohortnet/cohort/node/localnet"
	"github.com/cohortnet/cohort/zk"
)

func newDemoCmd() *cobra.Command {
	var keep bool
	var subjects int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the demo on a local 4-node network (what `make demo` runs)",
		Long: `Start a 4-node network on this machine (in this process: each node with its own
CometBFT validator, badger state, libp2p host, API and job scheduler), form a
3-of-4 committee (HE keys at 128-bit security and a BLS DKG, over libp2p), and
run through the ledger: (1) credit scoring of 1,000 subjects whose features are
split across three members, scores to the bank only; (2) a sealed-bid Vickrey
auction among ten range-proven bids (two members and four clients of each); (3) a double-auction clearing; then
an order tendered among three members with sealed quotes ranked by price and
rating, awarded, delivered with zk completion proofs, settled and credited;
and the supervisor node verifies every job's input proofs and the
committee's signature on every result. Prints what each party learned.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), cmd.OutOrStdout(), keep, subjects)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the network's directory after the demo")
	cmd.Flags().IntVar(&subjects, "subjects", 1000, "subjects to score")
	return cmd
}

type demo struct {
	out io.Writer
	net *localnet.Net
	rng *rand.Rand
}

func runDemo(ctx context.Context, out io.Writer, keep bool, subjects int) error {
	start := time.Now()
	fmt.Fprintf(out, "[1/5] 4 nodes: node0, node1 (enterprises), node2 (platform), node3 (supervisor); development zk keys for bid, quote and completion proofs\n")
	opts := localnet.Options{ChainID: "cohort-demo", HEPreset: "secure", DevCircuits: []string{zk.CircuitInput, zk.CircuitCompletion}}
	if keep {
		dir, err := os.MkdirTemp("", "cohort-demo-")
		if err != nil {
			return err
		}
		opts.Dir = dir
		fmt.Fprintf(out, "network directory: %s\n", dir)
	}
	prog := newProgress(out)
	var net *localnet.Net
	err := prog.Spin(ctx, "      starting 4 nodes", func() (err error) {
		net, err = localnet.Start(ctx, opts)
		return err
	})
	if err != nil {
		return err
	}
	defer net.Stop()
	d := &demo{out: out, net: net, rng: rand.New(rand.NewSource(42))}
	// t = ⌈n/2⌉, the only threshold that runs HE jobs: its HE setup checks
	// every member's key shares (jobspec.HESetupChecked).
	cn := 4
	ct := jobspec.MaxHEThreshold(cn)
	fmt.Fprintf(out, "      committee c1 (%d-of-%d): HE keys (logN=14, 128-bit) and BLS DKG over libp2p…\n", ct, cn)
	err = prog.Spin(ctx, "      committee c1 DKG", func() error {
		return net.CreateCommittee(ctx, 2, "c1", []string{"node0", "node1", "node2", "node3"}, uint32(ct), 10*time.Minute)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "      committee c1 active (%.1fs)\n", time.Since(start).Seconds())
	fmt.Fprintf(out, "      HE setup: every member's key shares checked in MPC by the %d members (honest majority: secure against %d malicious)\n", cn, (cn-1)/2)

	jobs, failures := 0, 0
	run := func(name string, f func(context.Context) (string, error)) string {
		jobs++
		t := time.Now()
		var id string
		err := prog.Spin(ctx, "      "+name, func() (err error) {
			id, err = f(ctx)
			return err
		})
		if err != nil {
			failures++
			fmt.Fprintf(out, "      %s FAILED: %v\n", name, err)
			return ""
		}
		fmt.Fprintf(out, "      %s: submit → result held → anchored in %.1fs\n", name, time.Since(t).Seconds())
		return id
	}
	fmt.Fprintf(out, "[2/5] private jobs through the ledger\n")
	var ids []string
	ids = append(ids, run("credit scoring", func(ctx context.Context) (string, error) { return d.credit(ctx, subjects) }))
	ids = append(ids, run("Vickrey auction", d.vickrey))
	ids = append(ids, run("double-auction clearing", d.clearing))
	fmt.Fprintf(out, "[3/5] an order tendered with sealed quotes, delivered with proofs, settled\n")
	ids = append(ids, run("tender", d.tender))
	fmt.Fprintf(out, "      SS jobs (auction, clearing, tender) ran in %s mode: MAC-checked, secure with abort against a cheating committee member\n", jobrun.DefaultSSSecurity)

	fmt.Fprintf(out, "[4/5] the supervisor (node3) verifies every job's proofs and signatures\n")
	verified, err := d.supervise(ctx, ids)
	if err != nil {
		failures++
		fmt.Fprintf(out, "      verification FAILED: %v\n", err)
	}
	fmt.Fprintf(out, "[5/5] all nodes agree: ")
	if h, hash, err := net.Agree(ctx); err != nil {
		failures++
		fmt.Fprintf(out, "FAILED: %v\n", err)
	} else {
		fmt.Fprintf(out, "height %d, app_hash %s on all 4 nodes\n", h, hash)
	}
	fmt.Fprintf(out, "demo ok: jobs=%d proofs_verified=%d failures=%d\n", jobs, verified, failures)
	if failures > 0 {
		return fmt.Errorf("demo: %d failures", failures)
	}
	return nil
}

func (d *demo) credit(ctx context.Context, subjects int) (string, error) {
	const id = "credit-1"
	params := jobrun.CreditParams{Subjects: subjects, Weights: jobrun.CreditWeights(0.9, -1.1, 0.6, 0.4, -0.7, 0.3),
		Bias: "-0.2", ProviderFeatures: [][]int{{0, 1}, {2, 3}, {4, 5}}}
	cols := make([][]float64, 6)
	for f := range cols {
		cols[f] = make([]float64, subjects)
		for s := range cols[f] {
			cols[f][s] = math.Round((d.rng.Float64()*2-1)*1000) / 1000
		}
	}
	for p := 0; p < 3; p++ {
		if err := d.net.WriteInput(localnet.Name(p), id, map[string]any{"features": [][]float64{cols[2*p], cols[2*p+1]}}); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(d.out, "      credit scoring: %d subjects, 6 features held 2 each by node0, node1, node2; scores to node0 (the bank)\n", subjects)
	_, res, err := d.net.Run(ctx, localnet.Job{ID: id, Type: "credit-score", Params: params, Committee: "c1",
		Providers: []string{"node0", "node1", "node2"}, Recipient: "node0", Requester: 0})
	if err != nil {
		return "", err
	}
	want, err := plainref.PlainCreditScores(params, cols)
	if err != nil {
		return "", err
	}
	worst := 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(res.Scores[i]-want[i]))
	}
	if worst > 1e-3 {
		return "", fmt.Errorf("scores differ from the plaintext model by %.2g", worst)
	}
	fmt.Fprintf(d.out, "      node0 (bank) learned %d scores, e.g. %.3f %.3f %.3f (max error vs plaintext %.1e)\n",
		len(res.Scores), res.Scores[0], res.Scores[1], res.Scores[2], worst)
	fmt.Fprintf(d.out, "      node1, node2, node3 learned: nothing but the ledger record (input hashes, output commitment, signature)\n")
	return id, d.noResultElsewhere(ctx, id, 0)
}

func (d *demo) vickrey(ctx context.Context) (string, error) {
	const id = "vickrey-1"
	// Ten bidders: node0 and node1 bid for themselves and each supplies the
	// sealed bids of four of its clients (input slots "node0/client-1", …).
	var bidders []string
	for _, node := range []string{"node0", "node1"} {
		bidders = append(bidders, node)
		for c := 1; c <= 4; c++ {
			bidders = append(bidders, fmt.Sprintf("%s/client-%d", node, c))
		}
	}
	bids := make([]uint64, len(bidders))
	for i, b := range bidders {
		bids[i] = 4000 + uint64(d.rng.Intn(3000))
		if err := d.net.WriteInput(b, id, map[string]uint64{"bid": bids[i]}); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(d.out, "      Vickrey auction for a data asset sold by node2: %d sealed bids (range-proven ≤ 1,000,000) from node0, node1\n", len(bidders))
	fmt.Fprintf(d.out, "      and four clients of each, whose bids their node commits and secret-shares for them\n")
	_, res, err := d.net.Run(ctx, localnet.Job{ID: id, Type: "auction-vickrey", Params: jobrun.AuctionParams{MaxBid: 1_000_000},
		Committee: "c1", Providers: bidders, Recipient: "node2", Requester: 2})
	if err != nil {
		return "", err
	}
	winner, price := plainref.PlainAuction(jobrun.AuctionVickrey, bids)
	if res.Auction.WinnerIndex != winner || res.Auction.Price != price {
		return "", fmt.Errorf("auction result %+v, plaintext: %s at %d", res.Auction, bidders[winner], price)
	}
	fmt.Fprintf(d.out, "      node2 (seller) learned: winner %s pays %d (the second-highest bid); no losing bid was revealed\n",
		res.Auction.Winner, res.Auction.Price)
	fmt.Fprintf(d.out, "      the committee learned only the commitment to (winner, price); each bidder's node knows only the bids it supplied\n")
	return id, nil
}

func (d *demo) clearing(ctx context.Context) (string, error) {
	const id = "clearing-1"
	params := jobrun.ClearingParams{Prices: []uint64{90, 95, 100, 105, 110}, Sides: []string{"buyer", "buyer", "seller"}}
	curves := [][]uint64{{0, 0, 10, 0, 0}, {0, 5, 0, 5, 0}, {0, 0, 8, 0, 10}}
	for p, c := range curves {
		if err := d.net.WriteInput(localnet.Name(p), id, map[string][]uint64{"quantities": c}); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(d.out, "      double auction run by node2: buyers node0, node1, seller node2; prices 90…110\n")
	_, res, err := d.net.Run(ctx, localnet.Job{ID: id, Type: "clearing", Params: params, Committee: "c1",
		Providers: []string{"node0", "node1", "node2"}, Recipient: "node2", Requester: 2})
	if err != nil {
		return "", err
	}
	level, alloc := plainref.PlainClearing(params.Sides, curves)
	if res.Clearing.Level != level {
		return "", fmt.Errorf("clearing level %d, plaintext %d", res.Clearing.Level, level)
	}
	fmt.Fprintf(d.out, "      node2 (platform) learned the clearing price %d; the long side is filled in provider order\n", res.Clearing.Price)
	for p := 0; p < 3; p++ {
		raw, err := d.net.Clients[p].JobOutput(ctx, id, "allocation")
		if err != nil {
			return "", fmt.Errorf("node%d allocation: %w", p, err)
		}
		var a jobrun.Allocation
		if err := json.Unmarshal(raw, &a); err != nil {
			return "", err
		}
		if a.Quantity != alloc[p] {
			return "", fmt.Errorf("node%d allocation %d, plaintext %d", p, a.Quantity, alloc[p])
		}
		fmt.Fprintf(d.out, "      node%d learned only its own allocation: %d\n", p, a.Quantity)
	}
	return id, nil
}

// noResultElsewhere checks that no node but the recipient holds the result.
func (d *demo) noResultElsewhere(ctx context.Context, id string, recipient int) error {
	for i, c := range d.net.Clients {
		if i == recipient {
			continue
		}
		if _, err := c.JobOutput(ctx, id, "result"); !client.IsNotFound(err) {
			return fmt.Errorf("node%d holds the result of %s", i, id)
		}
	}
	return nil
}

// supervise re-verifies, on node3, every completed job's input-validity
// proofs and the committee's signature on its result.
func (d *demo) supervise(ctx context.Context, ids []string) (int, error) {
	c := d.net.Clients[3]
	com, err := c.Committee(ctx, "c1")
	if err != nil {
		return 0, err
	}
	key, err := committee.ParseCommitteeKey(com.CommitteeKey)
	if err != nil {
		return 0, err
	}
	verified := 0
	var errs []error
	for _, id := range ids {
		if id == "" {
			continue
		}
		j, err := completedJob(ctx, c, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		inputs := make([][]byte, len(j.InputCommitments))
		for i, h := range j.InputCommitments {
			inputs[i], _ = hex.DecodeString(h)
		}
		out, _ := hex.DecodeString(j.OutputCommitment)
		sig, _ := hex.DecodeString(j.Signature)
		msg, err := committee.ResultMessage(j.ID, inputs, out)
		if err == nil {
			err = committee.VerifySignature(key, msg, sig)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: committee signature: %w", id, err))
			continue
		}
		verified++
		n, err := d.verifyInputProofs(ctx, j)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
		verified += n
		fmt.Fprintf(d.out, "      %-10s committee signature ok, %d input proofs ok\n", id, n)
	}
	return verified, errors.Join(errs...)
}

// completedJob reads a job from the supervisor's own node, waiting (up to a
// minute) until that node has committed the block with its result: it may be
// a block behind the node that reported the job done.
func completedJob(ctx context.Context, c *client.Client, id string) (*client.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		j, err := c.Job(ctx, id)
		if err == nil && j.Status == ledger.JobCompleted {
			return j, nil
		}
		if err == nil && j.Status == ledger.JobAborted {
			return nil, fmt.Errorf("%s aborted: %s", id, j.AbortReason)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: not completed on the supervisor's node: %w", id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// verifyInputProofs re-verifies a job's input-validity proofs (bid and
// quote range proofs) as recorded on the ledger, each against its slot's
// range as the ledger derives it, with the verifying key the ledger
// registered.
func (d *demo) verifyInputProofs(ctx context.Context, j *client.Job) (int, error) {
	reg := zk.NewRegistry()
	n := 0
	for i, proof := range j.InputProofs {
		lo, hi, bounded, err := jobspec.SlotRangeOf(jobspec.Type(j.Type), j.Params, j.Providers, i)
		if err != nil {
			return n, err
		}
		if !bounded {
			continue
		}
		vk, err := d.net.Clients[3].VerifyingKey(ctx, j.InputVKIDs[i])
		if err != nil {
			return n, err
		}
		id, err := reg.Register(vk.Circuit, vk.Key)
		if err != nil {
			return n, err
		}
		raw, _ := hex.DecodeString(j.InputCommitments[i])
		c, err := zk.ParseFelt("0x" + hex.EncodeToString(raw))
		if err != nil {
			return n, err
		}
		st := zk.InputStatement{Commitment: c, Lo: zk.Uint64(lo), Hi: zk.Uint64(hi)}
		if err := reg.VerifyStatement(id, st, proof); err != nil {
			return n, fmt.Errorf("input proof of %s: %w", j.Providers[i], err)
		}
		n++
	}
	return n, nil
}
