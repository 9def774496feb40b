package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"time"

	"github.com/consensys/gnark/logger"

	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/localnet"
)

// runE2ESuite measures private jobs end to end through the ledger on an
// in-process network (secure HE parameters, 3-of-4 committee): from the
// job.submit tx to the recipient holding the result and the result record
// committed, all on 4 members. In the 10-bidder Vickrey auction node0 and
// node1 bid and each supplies the bids of four clients (input slots
// "node0/client-1", …), each slot with its own commitment and range proof.
func runE2ESuite(ctx context.Context, progress io.Writer) (Results, error) {
	logger.Disable()
	res := Results{}
	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelError}))
	rng := rand.New(rand.NewSource(7))

	fmt.Fprintln(progress, "e2e: 4-member network, committee setup")
	net, err := localnet.Start(ctx, localnet.Options{ChainID: "cohort-bench", Log: log})
	if err != nil {
		return nil, err
	}
	defer net.Stop()
	members := []string{"node0", "node1", "node2", "node3"}
	t := time.Now()
	if err := net.CreateCommittee(ctx, 2, "c1", members, 3, 5*time.Minute); err != nil {
		return nil, err
	}
	res["e2e.committee_setup_s"] = time.Since(t).Seconds()

	// Credit scoring: 1,000 subjects, 6 features split over 3 providers.
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
			return nil, err
		}
	}
	if res["e2e.credit1000_s"], err = timeJob(ctx, net, localnet.Job{ID: "credit", Type: "credit-score", Params: params,
		Committee: "c1", Providers: members[:3], Recipient: "node0", Requester: 0}); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "e2e: credit 1,000 subjects %.2fs\n", res["e2e.credit1000_s"])

	for i, p := range []int{0, 1, 3} {
		if err := net.WriteInput(localnet.Name(p), "vickrey3", map[string]uint64{"bid": uint64(1000 + 37*i)}); err != nil {
			return nil, err
		}
	}
	if res["e2e.vickrey3_s"], err = timeJob(ctx, net, localnet.Job{ID: "vickrey3", Type: "auction-vickrey",
		Params: jobrun.AuctionParams{MaxBid: 1_000_000}, Committee: "c1", Providers: []string{"node0", "node1", "node3"},
		Recipient: "node2", Requester: 2}); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "e2e: Vickrey among 3 bidders %.2fs\n", res["e2e.vickrey3_s"])

	clearing := jobrun.ClearingParams{Prices: []uint64{90, 95, 100, 105, 110}, Sides: []string{"buyer", "buyer", "seller"}}
	for p, c := range [][]uint64{{0, 0, 10, 0, 0}, {0, 5, 0, 5, 0}, {0, 0, 8, 0, 10}} {
		if err := net.WriteInput(localnet.Name(p), "clearing", map[string][]uint64{"quantities": c}); err != nil {
			return nil, err
		}
	}
	if res["e2e.clearing_s"], err = timeJob(ctx, net, localnet.Job{ID: "clearing", Type: "clearing", Params: clearing,
		Committee: "c1", Providers: members[:3], Recipient: "node2", Requester: 2}); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "e2e: clearing %.2fs\n", res["e2e.clearing_s"])

	var bidders []string
	for _, node := range []string{"node0", "node1"} {
		bidders = append(bidders, node)
		for c := 1; c <= 4; c++ {
			bidders = append(bidders, fmt.Sprintf("%s/client-%d", node, c))
		}
	}
	for _, b := range bidders {
		if err := net.WriteInput(b, "vickrey10", map[string]uint64{"bid": uint64(rng.Intn(1_000_000))}); err != nil {
			return nil, err
		}
	}
	if res["e2e.vickrey10_s"], err = timeJob(ctx, net, localnet.Job{ID: "vickrey10", Type: "auction-vickrey",
		Params: jobrun.AuctionParams{MaxBid: 1_000_000}, Committee: "c1", Providers: bidders, Recipient: "node2", Requester: 2}); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "e2e: Vickrey among 10 bidders %.2fs\n", res["e2e.vickrey10_s"])
	return res, nil
}

func timeJob(ctx context.Context, net *localnet.Net, j localnet.Job) (float64, error) {
	t := time.Now()
	if _, _, err := net.Run(ctx, j); err != nil {
		return 0, err
	}
	return time.Since(t).Seconds(), nil
}
