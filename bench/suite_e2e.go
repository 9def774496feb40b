package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/consensys/gnark/logger"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/jobrun/plainref"
	"github.com/cohortnet/cohort/node/localnet"
	"github.com/cohortnet/cohort/node/sched"
	"github.com/cohortnet/cohort/zk"
)

// runE2ESuite measures private jobs end to end through the ledger on an
// in-process network (secure HE parameters, 2-of-4 committee, as the demo's): from the
// job.submit tx to the recipient holding the result and the result record
// committed, all on 4 members. In the 10-bidder Vickrey auction node0 and
// node1 bid and each supplies the bids of four clients (input slots
// "node0/client-1", …), each slot with its own commitment and range proof.
//
// The tender has one quote per quoting member (its two slots "<member>/price"
// and "<member>/capacity", each range proven), for node2, the demander, on
// committee c1. The 3-quote tender is node0, node1 and node3 quoting from
// their nodes. The 20-quote tender runs on the same 4-node network: node0,
// node1 and node3 quote from their nodes and 17 members that run no node
// (firm0 … firm16, enterprises in genesis and the policy, keys only) quote
// sealed, as most firms that quote will not run a node. Each one's client
// (node.SealedSupplier, what `cohort order quote --sealed --order O
// --committee c1 --api …` runs) has the genesis (the sealing keys) and the
// input circuit's keys loaded, and talks through one node's API (firms
// spread over the 4 nodes) with the 3 others as witnesses of the job and the
// committee. A tender's figure runs from the job.submit tx to node2's
// order.award committed: the award opened and checked on the ledger, where
// the chosen quoters without a node read their assignments ("submit →
// assignment anchored").
//
// Two figures for the 20-quote tender. e2e.tender20_s: each sealed quoter
// precomputed, before the job is submitted, what does not depend on the
// job: the commitments, range proofs and Shamir shares of its two slots, on
// a draft of the tender with the order's terms and the committee
// (node.TenderDraft). A real quoter can: it quotes on an order it has read
// on the ledger, for the committee the demander names (`order quote
// --sealed --order O --committee c1` does just this), and only the sealing
// binds the job ID. In the window it waits for the job, seals the shares to
// the committee and posts both inputs signed with its own key.
// e2e.tender20_cold_s: the same tender (another order) where the sealed
// quoters start from nothing when the job appears: commitments, range
// proofs, shares, sealing and posting all in the window.
//
// COHORT_BENCH_E2E, if set, is a comma-separated list of the jobs to run
// (credit, vickrey3, clearing, vickrey10, tender, tender20: both 20-quote
// figures); the network and its committee setup run for any of them.
func runE2ESuite(ctx context.Context, progress io.Writer) (Results, error) {
	only := map[string]bool{}
	for _, name := range strings.Split(os.Getenv("COHORT_BENCH_E2E"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			only[name] = true
		}
	}
	want := func(name string) bool { return len(only) == 0 || only[name] }
	fourMember := []string{"credit", "vickrey3", "clearing", "vickrey10", "tender", "tender20"}
	for name := range only {
		if !slices.Contains(fourMember, name) {
			return nil, fmt.Errorf("COHORT_BENCH_E2E: unknown job %q", name)
		}
	}
	logger.Disable()
	res := Results{}
	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelError}))
	rng := rand.New(rand.NewSource(7))

	if err := e2eFourMembers(ctx, want, log, rng, res, progress); err != nil {
		return nil, err
	}
	return res, nil
}

// sealedQuoters is how many members without a node quote in the 20-quote
// tender (with node0, node1 and node3).
const sealedQuoters = 17

// e2eFourMembers runs the jobs of the 4-node network (and its members
// without a node).
func e2eFourMembers(ctx context.Context, want func(string) bool, log *slog.Logger, rng *rand.Rand, res Results, progress io.Writer) error {
	fmt.Fprintf(progress, "e2e: 4-node network (%d members without a node), committee setup\n", sealedQuoters)
	net, err := localnet.Start(ctx, localnet.Options{ChainID: "cohort-bench", Nodeless: sealedQuoters, Log: log})
	if err != nil {
		return err
	}
	defer net.Stop()
	members := []string{"node0", "node1", "node2", "node3"}
	t := time.Now()
	if err := startCommittee(ctx, net, members, 10*time.Minute); err != nil {
		return err
	}
	res["e2e.committee_setup_s"] = time.Since(t).Seconds()

	if want("credit") {
		if err := e2eCredit(ctx, net, members, rng, res, progress); err != nil {
			return err
		}
	}
	if want("vickrey3") {
		if err := e2eVickrey3(ctx, net, res, progress); err != nil {
			return err
		}
	}
	if want("clearing") {
		if err := e2eClearing(ctx, net, members, res, progress); err != nil {
			return err
		}
	}
	if want("vickrey10") {
		if err := e2eVickrey10(ctx, net, rng, res, progress); err != nil {
			return err
		}
	}
	if want("tender") {
		if err := e2eTender(ctx, net, tenderRun{quoters: []string{"node0", "node1", "node3"}, quantity: 100, maxPartners: 2},
			rng, res, progress); err != nil {
			return err
		}
	}
	if want("tender20") {
		run := tenderRun{quoters: []string{"node0", "node1", "node3"}, quantity: 400, maxPartners: 8}
		for _, m := range net.Nodeless {
			run.quoters = append(run.quoters, m.Name)
			run.sealed = append(run.sealed, m.Name)
		}
		if err := e2eTender(ctx, net, run, rng, res, progress); err != nil {
			return err
		}
		run.cold = true
		if err := e2eTender(ctx, net, run, rng, res, progress); err != nil {
			return err
		}
	}
	return nil
}

// startCommittee creates the 2-of-4 committee c1 of members (node2 signs
// the tx) and waits until every node holds it active: CreateCommittee saw it
// active on node0, and a job or an input sent through a node that lags (a
// loaded machine) would be refused as for an inactive committee.
func startCommittee(ctx context.Context, net *localnet.Net, members []string, timeout time.Duration) error {
	// t = 2 = ⌈n/2⌉: the HE setup's share check runs (mpc/he/sharecheck needs
	// an honest majority), so committee_setup_s includes it, as in the demo.
	if err := net.CreateCommittee(ctx, 2, "c1", members, 2, timeout); err != nil {
		return err
	}
	for i, c := range net.Clients {
		if err := waitCommittee(ctx, c, "c1"); err != nil {
			return fmt.Errorf("node%d: %w", i, err)
		}
	}
	return nil
}

// e2eCredit: credit scoring, 1,000 subjects, 6 features split over 3
// providers.
func e2eCredit(ctx context.Context, net *localnet.Net, members []string, rng *rand.Rand, res Results, progress io.Writer) error {
	var err error
	params := jobrun.CreditParams{Subjects: 1000, Weights: jobrun.CreditWeights(0.9, -1.1, 0.6, 0.4, -0.7, 0.3), Bias: "-0.2",
		ProviderFeatures: [][]int{{0, 1}, {2, 3}, {4, 5}}}
	for p := 0; p < 3; p++ {
		cols := make([][]float64, 2)
		for f := range cols {
			for s := 0; s < params.Subjects; s++ {
				cols[f] = append(cols[f], rng.Float64()*2-1)
			}
		}
		if err := net.WriteInput(localnet.Name(p), "credit", map[string]any{"features": cols}); err != nil {
			return err
		}
	}
	if res["e2e.credit1000_s"], err = timeJob(ctx, net, localnet.Job{ID: "credit", Type: "credit-score", Params: params,
		Committee: "c1", Providers: members[:3], Recipient: "node0", Requester: 0}); err != nil {
		return err
	}
	fmt.Fprintf(progress, "e2e: credit 1,000 subjects %.2fs\n", res["e2e.credit1000_s"])
	return nil
}

// e2eVickrey3: a Vickrey auction among 3 member bidders.
func e2eVickrey3(ctx context.Context, net *localnet.Net, res Results, progress io.Writer) error {
	var err error
	for i, p := range []int{0, 1, 3} {
		if err := net.WriteInput(localnet.Name(p), "vickrey3", map[string]uint64{"bid": uint64(1000 + 37*i)}); err != nil {
			return err
		}
	}
	if res["e2e.vickrey3_s"], err = timeJob(ctx, net, localnet.Job{ID: "vickrey3", Type: "auction-vickrey",
		Params: jobrun.AuctionParams{MaxBid: 1_000_000}, Committee: "c1", Providers: []string{"node0", "node1", "node3"},
		Recipient: "node2", Requester: 2}); err != nil {
		return err
	}
	fmt.Fprintf(progress, "e2e: Vickrey among 3 bidders %.2fs\n", res["e2e.vickrey3_s"])
	return nil
}

// e2eClearing: a double auction of 2 buyers and a seller over 5 levels.
func e2eClearing(ctx context.Context, net *localnet.Net, members []string, res Results, progress io.Writer) error {
	var err error
	clearing := jobrun.ClearingParams{Prices: []uint64{90, 95, 100, 105, 110}, Sides: []string{"buyer", "buyer", "seller"}}
	for p, c := range [][]uint64{{0, 0, 10, 0, 0}, {0, 5, 0, 5, 0}, {0, 0, 8, 0, 10}} {
		if err := net.WriteInput(localnet.Name(p), "clearing", map[string][]uint64{"quantities": c}); err != nil {
			return err
		}
	}
	if res["e2e.clearing_s"], err = timeJob(ctx, net, localnet.Job{ID: "clearing", Type: "clearing", Params: clearing,
		Committee: "c1", Providers: members[:3], Recipient: "node2", Requester: 2}); err != nil {
		return err
	}
	fmt.Fprintf(progress, "e2e: clearing %.2fs\n", res["e2e.clearing_s"])
	return nil
}

// e2eVickrey10: node0 and node1 bid and each supplies the bids of four
// clients.
func e2eVickrey10(ctx context.Context, net *localnet.Net, rng *rand.Rand, res Results, progress io.Writer) error {
	var err error
	var bidders []string
	for _, node := range []string{"node0", "node1"} {
		bidders = append(bidders, node)
		for c := 1; c <= 4; c++ {
			bidders = append(bidders, fmt.Sprintf("%s/client-%d", node, c))
		}
	}
	for _, b := range bidders {
		if err := net.WriteInput(b, "vickrey10", map[string]uint64{"bid": uint64(rng.Intn(1_000_000))}); err != nil {
			return err
		}
	}
	if res["e2e.vickrey10_s"], err = timeJob(ctx, net, localnet.Job{ID: "vickrey10", Type: "auction-vickrey",
		Params: jobrun.AuctionParams{MaxBid: 1_000_000}, Committee: "c1", Providers: bidders, Recipient: "node2", Requester: 2}); err != nil {
		return err
	}
	fmt.Fprintf(progress, "e2e: Vickrey among 10 bidders %.2fs\n", res["e2e.vickrey10_s"])
	return nil
}

// tenderRun is one tender of the suite: who quotes (sealed: the quoters
// without a node) and what node2 orders. cold: the sealed quoters prepare
// nothing before the job appears.
type tenderRun struct {
	quoters     []string
	sealed      []string
	quantity    uint64
	maxPartners int
	cold        bool
}

// e2eTender: node2 creates a tendering order; each quoter quotes from its
// own node, or sealed through a node's API if it has none (price and
// capacity slots, each range proven), with the price factor of its rating
// under the policy; submit → node2 holds the award → node2's order.award
// committed (the ledger checks the opening against the signed output
// commitment and writes the partners: every assignment anchored), the
// figure e2e.tender<quotes>_s (_cold_s for a cold run). The award and each
// node quoter's saved assignment are checked against the plaintext rule,
// and the order must be a draft with the chosen partners, where each
// chosen quoter without a node reads its assignment.
func e2eTender(ctx context.Context, net *localnet.Net, run tenderRun, rng *rand.Rand, res Results, progress io.Writer) error {
	quoters := run.quoters
	st, err := net.Clients[2].Status(ctx)
	if err != nil {
		return err
	}
	dk, err := zk.GenerateSigningKey(crand.Reader)
	if err != nil {
		return err
	}
	const maxPrice = 10_000
	label := fmt.Sprint(len(quoters))
	if run.cold {
		label += "-cold"
	}
	orderID, jobID, quantity := "order-"+label, "tender"+label, run.quantity
	order := &ledgerpb.OrderCreate{OrderId: orderID, Product: "bench", Quantity: quantity, DeadlineHeight: st.Height + 5000,
		MinGrade: "C", MaxPartners: uint32(run.maxPartners), Mode: ledger.ModeFixed, Funds: quantity * maxPrice, ThresholdBps: 8000,
		CounterpartyKey: dk.PublicKey.Bytes(), Tender: true, MaxPrice: maxPrice}
	if err := net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) { p.Msg = &ledgerpb.TxPayload_OrderCreate{OrderCreate: order} }); err != nil {
		return fmt.Errorf("e2e: order.create: %w", err)
	}
	pol := net.Nodes[2].App().Policy()
	p := jobrun.TenderParams{Order: orderID, Quantity: quantity, MaxPartners: run.maxPartners, MaxPrice: maxPrice}
	var providers []string
	prices, capacities := make([]uint64, len(quoters)), make([]uint64, len(quoters))
	sealedInputs := map[string]map[string][]byte{}
	for k, q := range quoters {
		price, capacity := jobspec.TenderSlots(q)
		providers = append(providers, price, capacity)
		cr, err := net.Clients[2].Credit(ctx, q)
		if err != nil {
			return err
		}
		p.PriceFactors = append(p.PriceFactors, pol.TenderPriceFactor(cr.Score))
		prices[k], capacities[k] = 1000+uint64(rng.Intn(9000)), 20+uint64(rng.Intn(60))
		pin, cin := jobrun.TenderInput{Price: &prices[k]}, jobrun.TenderInput{Capacity: &capacities[k]}
		if slices.Contains(run.sealed, q) {
			pr, _ := json.Marshal(pin)
			cp, _ := json.Marshal(cin)
			sealedInputs[q] = map[string][]byte{price: pr, capacity: cp}
			continue
		}
		if err := net.WriteInput(price, jobID, pin); err != nil {
			return err
		}
		if err := net.WriteInput(capacity, jobID, cin); err != nil {
			return err
		}
	}
	// A quoter without a node prepares its quote when it decides to quote,
	// before the job exists: commitments, range proofs and shares depend on
	// the order's terms and the committee only (node.TenderDraft). Sealing
	// to the committee binds the job ID: that waits for the job. A cold
	// quoter prepares nothing before.
	suppliers, err := sealedSuppliers(net, run.sealed)
	if err != nil {
		return err
	}
	var prepared map[string]map[string]*node.PreparedSlot
	if !run.cold {
		if prepared, err = prepareSealedQuotes(ctx, suppliers, run.sealed, order, sealedInputs); err != nil {
			return err
		}
	}
	t := time.Now()
	phases := watchJob(ctx, net, jobID)
	defer phases() // stops the watch on an early return; a second call is harmless
	// The quoters without a node start now: each waits for the job on its
	// node's API, then seals and posts its quote.
	sctx, cancelSealed := context.WithCancel(ctx)
	defer cancelSealed()
	supplied := make(chan error, len(run.sealed))
	for k, q := range run.sealed {
		go func() {
			if err := suppliers[k].WaitJob(sctx, jobID, time.Minute); err != nil {
				supplied <- err
				return
			}
			if run.cold {
				supplied <- suppliers[k].Supply(sctx, jobID, sealedInputs[q])
				return
			}
			supplied <- suppliers[k].SupplyPrepared(sctx, jobID, prepared[q])
		}()
	}
	_, got, err := net.Run(ctx, localnet.Job{ID: jobID, Type: "tender", Params: p,
		Committee: "c1", Providers: providers, Recipient: "node2", Requester: 2})
	completed := time.Since(t).Seconds()
	if err == nil && got.Tender == nil {
		err = fmt.Errorf("e2e: tender job %s has no tender result", jobID)
	}
	// The award anchors every assignment: the window ends when it commits.
	var award *ledgerpb.OrderAward
	if err == nil {
		var salt []byte
		var commitments [][]byte
		if salt, commitments, err = got.Tender.Opening(); err == nil {
			award = &ledgerpb.OrderAward{OrderId: orderID, JobId: jobID, Award: got.Tender.Award, Salt: salt, Commitments: commitments}
			if err = net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) { p.Msg = &ledgerpb.TxPayload_OrderAward{OrderAward: award} }); err != nil {
				err = fmt.Errorf("e2e: order.award: %w", err)
			}
		}
	}
	secs := time.Since(t).Seconds()
	cancelSealed()
	var serrs []error
	for range run.sealed {
		serrs = append(serrs, <-supplied)
	}
	if err != nil {
		return errors.Join(err, errors.Join(serrs...))
	}
	fmt.Fprintf(progress, "e2e: tender of %d quotes: %s; award committed %.2fs\n", len(quoters), phases(), secs)
	want := plainref.PlainTender(p, prices, capacities)
	if got.Tender == nil || !slices.Equal(got.Tender.Award, want) {
		return fmt.Errorf("e2e: tender award %+v, plaintext %v", got.Tender, want)
	}
	// Each quoter's scheduler saved its assignment (on its price slot).
	for k, q := range quoters {
		if slices.Contains(run.sealed, q) {
			continue // no node: it reads the awarded order, below
		}
		raw, err := waitOutput(ctx, net, net.Index(q), jobID, sched.AllocationKind(providers[2*k]))
		if err != nil {
			return err
		}
		var a jobrun.TenderAssignment
		if err := json.Unmarshal(raw, &a); err != nil {
			return err
		}
		if a.Quantity != want[2*k] || a.Price != want[2*k+1] || a.Commitment != got.Tender.Commitments[1+k] {
			return fmt.Errorf("e2e: %s's assignment %+v, plaintext (%d, %d)", q, a, want[2*k], want[2*k+1])
		}
	}
	o, err := net.Clients[2].Order(ctx, orderID)
	if err != nil {
		return err
	}
	if o.Status != ledger.OrderDraft || len(o.Partners) != len(got.Tender.Partners) {
		return fmt.Errorf("e2e: order after the award: %s, partners %+v (award partners %+v)", o.Status, o.Partners, got.Tender.Partners)
	}
	// A quoter without a node learns its assignment from the awarded order:
	// chosen with its quantity and price, or absent.
	for k, q := range quoters {
		if !slices.Contains(run.sealed, q) {
			continue
		}
		i := slices.IndexFunc(o.Partners, func(pt client.OrderPartner) bool { return pt.Member == q })
		if chosen := want[2*k] > 0; chosen != (i >= 0) || chosen && (o.Partners[i].Quantity != want[2*k] || o.Partners[i].UnitValue != want[2*k+1]) {
			return fmt.Errorf("e2e: %s in the awarded order %+v, plaintext (%d, %d)", q, o.Partners, want[2*k], want[2*k+1])
		}
	}
	figure, how := fmt.Sprintf("e2e.tender%d_s", len(quoters)), ""
	if run.cold {
		figure, how = fmt.Sprintf("e2e.tender%d_cold_s", len(quoters)), " (sealed quoters cold)"
	}
	res[figure] = secs
	fmt.Fprintf(progress, "e2e: tender of %d quotes%s %.2fs to the award committed (%.2fs to the result; %d partners); order %s %s, %d units\n",
		len(quoters), how, secs, completed, len(got.Tender.Partners), o.ID, o.Status, o.Quantity)
	return nil
}

// sealedSuppliers are the sealed quoters' clients, spread over the nodes'
// APIs (each with the other nodes as witnesses) and sharing the input
// circuit's keys, loaded once (a quoter's client keeps them loaded).
func sealedSuppliers(net *localnet.Net, quoters []string) ([]*node.SealedSupplier, error) {
	if len(quoters) == 0 {
		return nil, nil
	}
	keys, err := zk.LoadKeys(net.ZKKeysDir, zk.CircuitInput)
	if err != nil {
		return nil, err
	}
	suppliers := make([]*node.SealedSupplier, len(quoters))
	for k, q := range quoters {
		if suppliers[k], err = net.Supplier(q, k%len(net.Nodes), keys); err != nil {
			return nil, err
		}
	}
	return suppliers, nil
}

// prepareSealedQuotes prepares each sealed quoter's two slots on a draft of
// the tender on committee c1 (as its nodes agree on it).
func prepareSealedQuotes(ctx context.Context, suppliers []*node.SealedSupplier, quoters []string, order *ledgerpb.OrderCreate,
	inputs map[string]map[string][]byte) (map[string]map[string]*node.PreparedSlot, error) {
	prepared := map[string]map[string]*node.PreparedSlot{}
	for k, q := range quoters {
		com, err := suppliers[k].Committee(ctx, "c1")
		if err != nil {
			return nil, err
		}
		draft, err := node.TenderDraft(order.OrderId, order.Quantity, order.MaxPrice, q, com.Members, int(com.Threshold))
		if err != nil {
			return nil, err
		}
		prepared[q] = map[string]*node.PreparedSlot{}
		for slot, raw := range inputs[q] {
			if prepared[q][slot], err = suppliers[k].Prepare(ctx, draft, slot, raw); err != nil {
				return nil, fmt.Errorf("e2e: prepare %s: %w", slot, err)
			}
		}
	}
	return prepared, nil
}

// watchJob follows a job on node0 until the returned func is called (once
// or more), which stops it and says when (after the call) the job was first seen on the
// ledger, with all its inputs committed (running), and finished: where an
// end-to-end figure goes.
func watchJob(ctx context.Context, net *localnet.Net, jobID string) func() string {
	ctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	seen := map[string]time.Duration{}
	var order []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if j, err := net.Clients[0].Job(ctx, jobID); err == nil {
				if _, ok := seen[j.Status]; !ok {
					seen[j.Status] = time.Since(start)
					order = append(order, j.Status)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() string {
		cancel()
		<-done
		var parts []string
		for _, st := range order {
			parts = append(parts, fmt.Sprintf("%s at %.2fs", st, seen[st].Seconds()))
		}
		return "on node0, " + strings.Join(parts, ", ")
	}
}

// waitCommittee waits until the node behind c holds committee id active.
func waitCommittee(ctx context.Context, c *client.Client, id string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if com, err := c.Committee(ctx, id); err == nil && com.Status == ledger.CommitteeActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("committee %s not active: %w", id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitOutput waits until node i holds its output of a kind for a job.
func waitOutput(ctx context.Context, net *localnet.Net, i int, jobID, kind string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		raw, err := net.Clients[i].JobOutput(ctx, jobID, kind)
		if err == nil {
			return raw, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s of %s on node%d: %w", kind, jobID, i, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func timeJob(ctx context.Context, net *localnet.Net, j localnet.Job) (float64, error) {
	t := time.Now()
	if _, _, err := net.Run(ctx, j); err != nil {
		return 0, err
	}
	return time.Since(t).Seconds(), nil
}
