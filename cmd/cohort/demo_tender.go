package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/jobrun/plainref"
	"github.com/cohortnet/cohort/node/localnet"
	"github.com/cohortnet/cohort/zk"
)

// demoQuote is one member's sealed quote in the demo's tender.
type demoQuote struct {
	node            int
	price, capacity uint64
	// delivered is what the member delivers if chosen (of its assignment).
	deliveredBps uint64
}

// tender is the demo's order stage: node2 tenders an order for 1,000 units
// among node0, node1 and node3 with sealed quotes; the committee ranks them
// by price weighted by rating, node2 learns only the chosen partners, awards
// and the partners sign; each partner proves its delivery (PoTC) and the
// ledger settles the profit and moves credit. It returns the tender job's ID
// (the supervisor re-verifies its signature and input proofs).
func (d *demo) tender(ctx context.Context) (string, error) {
	const orderID, jobID = "order-batteries", "tender-1"
	const quantity, maxPrice, pool = 1000, 200, 40_000
	quotes := []demoQuote{
		{node: 0, price: 120, capacity: 600, deliveredBps: 9600},
		{node: 1, price: 110, capacity: 500, deliveredBps: 10_000},
		{node: 3, price: 150, capacity: 900, deliveredBps: 10_000},
	}
	c := d.net.Clients[2]
	st, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	// node2 signs what it receives with this key; the partners' completion
	// proofs verify its signatures.
	deliveryKey, err := zk.GenerateSigningKey(rand.Reader)
	if err != nil {
		return "", err
	}
	create := &ledgerpb.OrderCreate{OrderId: orderID, Product: "battery packs", Quantity: quantity,
		DeadlineHeight: st.Height + 5000, MinGrade: "BBB", MaxPartners: 2, Mode: ledger.ModeHybrid,
		ProfitPool: pool, Funds: pool + quantity*maxPrice, ThresholdBps: 9000,
		CounterpartyKey: deliveryKey.PublicKey.Bytes(), Tender: true, MaxPrice: maxPrice}
	if err := d.net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) { p.Msg = &ledgerpb.TxPayload_OrderCreate{OrderCreate: create} }); err != nil {
		return "", fmt.Errorf("order create: %w", err)
	}
	fmt.Fprintf(d.out, "      node2 tenders order %s: %d battery packs, at most 2 partners of grade ≥ BBB, unit price ≤ %d,\n", orderID, quantity, maxPrice)
	fmt.Fprintf(d.out, "      hybrid pay (quantity × price, plus a pool of %d shared by verified output)\n", pool)

	// Quotes are written before the job exists: a node reads its inputs
	// when it first sees the job.
	quoters := make([]string, len(quotes))
	ratings := make([]int64, len(quotes))
	prices, capacities := make([]uint64, len(quotes)), make([]uint64, len(quotes))
	before := map[string]int64{}
	for k, q := range quotes {
		quoters[k] = localnet.Name(q.node)
		cr, err := c.Credit(ctx, quoters[k])
		if err != nil {
			return "", err
		}
		ratings[k], before[quoters[k]] = cr.Score, cr.Score
		prices[k], capacities[k] = q.price, q.capacity
		if err := d.net.WriteInput(quoters[k]+"/price", jobID, jobrun.TenderInput{Price: &prices[k]}); err != nil {
			return "", err
		}
		if err := d.net.WriteInput(quoters[k]+"/capacity", jobID, jobrun.TenderInput{Capacity: &capacities[k]}); err != nil {
			return "", err
		}
	}
	o, err := c.Order(ctx, orderID)
	if err != nil {
		return "", err
	}
	params, slots, err := tenderJobSpec(o, quoters, ratings, d.net.Nodes[2].App().Policy(), 2)
	if err != nil {
		return "", err
	}
	factors := make([]string, len(quotes))
	for k := range quotes {
		factors[k] = fmt.Sprintf("%s %d", quoters[k], params.PriceFactors[k])
	}
	fmt.Fprintf(d.out, "      sealed quotes (price, capacity; each range-proven) from %s\n", strings.Join(quoters, ", "))
	fmt.Fprintf(d.out, "      ranked by price × factor, the factor from each quoter's rating (policy): %s\n", strings.Join(factors, ", "))
	_, res, err := d.net.Run(ctx, localnet.Job{ID: jobID, Type: "tender", Params: params, Committee: "c1",
		Providers: slots, Recipient: "node2", Requester: 2})
	if err != nil {
		return "", err
	}
	want := plainref.PlainTender(*params, prices, capacities)
	if res.Tender == nil || !slices.Equal(res.Tender.Award, want) {
		return "", fmt.Errorf("tender award %+v, plaintext %v", res.Tender, want)
	}
	var chosen []string
	for _, p := range res.Tender.Partners {
		chosen = append(chosen, fmt.Sprintf("%s %d @ %d", p.Member, p.Quantity, p.Price))
	}
	fmt.Fprintf(d.out, "      node2 learned only the chosen partners: %s; no losing quote was revealed\n", strings.Join(chosen, ", "))

	salt, commitments, err := res.Tender.Opening()
	if err != nil {
		return "", err
	}
	award := &ledgerpb.OrderAward{OrderId: orderID, JobId: jobID, Award: res.Tender.Award, Salt: salt, Commitments: commitments}
	if err := d.net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) { p.Msg = &ledgerpb.TxPayload_OrderAward{OrderAward: award} }); err != nil {
		return "", fmt.Errorf("order award: %w", err)
	}
	if o, err = c.Order(ctx, orderID); err != nil {
		return "", err
	}
	terms, err := hex.DecodeString(o.TermsHash)
	if err != nil {
		return "", err
	}
	for _, p := range o.Partners {
		if err := d.net.Submit(ctx, quotes[slices.Index(quoters, p.Member)].node, func(m *ledgerpb.TxPayload) {
			m.Msg = &ledgerpb.TxPayload_OrderSign{OrderSign: &ledgerpb.OrderSign{OrderId: orderID, TermsHash: terms}}
		}); err != nil {
			return "", fmt.Errorf("%s signs the order: %w", p.Member, err)
		}
	}
	if o, err = c.Order(ctx, orderID); err != nil {
		return "", err
	}
	if o.Status != ledger.OrderActive {
		return "", fmt.Errorf("order %s is %s after every partner signed", orderID, o.Status)
	}
	fmt.Fprintf(d.out, "      node2 awarded on the ledger (the opening matches the committee's signed commitment); the partners signed: order active, one PoTC task each\n")

	keys, err := zk.LoadKeys(d.net.ZKKeysDir, zk.CircuitCompletion)
	if err != nil {
		return "", err
	}
	var delivered []string
	for _, p := range o.Partners {
		k := slices.Index(quoters, p.Member)
		if k < 0 {
			return "", fmt.Errorf("order partner %s did not quote", p.Member)
		}
		q := quotes[k]
		units := p.Quantity * q.deliveredBps / 10_000
		claim := uint32(q.deliveredBps / 100 * 100) // the band proven: whole percent, rounded down
		if err := d.deliver(ctx, deliveryKey, keys, p, units, claim); err != nil {
			return "", fmt.Errorf("%s's delivery: %w", p.Member, err)
		}
		delivered = append(delivered, fmt.Sprintf("%s %d/%d (proved ≥ %d bps)", p.Member, units, p.Quantity, claim))
	}
	fmt.Fprintf(d.out, "      deliveries signed by node2 and proven by each partner (zk, verified by every validator): %s\n", strings.Join(delivered, ", "))

	if err := d.net.Submit(ctx, 2, func(m *ledgerpb.TxPayload) {
		m.Msg = &ledgerpb.TxPayload_OrderSettle{OrderSettle: &ledgerpb.OrderSettle{OrderId: orderID}}
	}); err != nil {
		return "", fmt.Errorf("order settle: %w", err)
	}
	s, err := c.Settlement(ctx, orderID)
	if err != nil {
		return "", err
	}
	var paid []string
	for _, sh := range s.Shares {
		paid = append(paid, fmt.Sprintf("%s %d (%d fixed + %d by output)", sh.Member, sh.Total, sh.FixedPart, sh.SharingPart))
	}
	fmt.Fprintf(d.out, "      settled on the ledger (a traceable record): %s; refund to node2 %d\n", strings.Join(paid, ", "), s.Refund)
	var moved []string
	for _, name := range append(quoters, "node2") {
		cr, err := c.Credit(ctx, name)
		if err != nil {
			return "", err
		}
		if b, ok := before[name]; ok {
			moved = append(moved, fmt.Sprintf("%s %d→%d", name, b, cr.Score))
		} else {
			moved = append(moved, fmt.Sprintf("%s %d (%s)", name, cr.Score, cr.Grade))
		}
	}
	fmt.Fprintf(d.out, "      credit after the contract: %s\n", strings.Join(moved, ", "))
	return jobID, nil
}

// deliver has node2 sign partner p's delivery of units and the partner
// prove (zk) that it completed at least claim basis points of its task, as
// `task sign-delivery` and `task complete` do.
func (d *demo) deliver(ctx context.Context, key *eddsa.PrivateKey, keys *zk.Keys, p client.OrderPartner, units uint64, claim uint32) error {
	const quality = 10_000
	delivery, err := signDelivery(key, p.TaskID, units, quality)
	if err != nil {
		return err
	}
	msg, err := proveCompletion(ctx, keys, orderTaskFile(p, key.PublicKey.Bytes()), delivery, claim)
	if err != nil {
		return err
	}
	i := slices.Index([]string{"node0", "node1", "node2", "node3"}, p.Member)
	if i < 0 {
		return fmt.Errorf("%s is not a demo node", p.Member)
	}
	return d.net.Submit(ctx, i, func(m *ledgerpb.TxPayload) {
		m.Msg = &ledgerpb.TxPayload_TaskComplete{TaskComplete: msg}
	})
}
