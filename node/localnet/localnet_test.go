package localnet

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/jobrun/plainref"
	"github.com/cohortnet/cohort/node/sched"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// TestMemberNodes runs 4 validators and 2 member nodes that do not validate
// (node4, node5): the validator set is the 4, the members are enterprises of
// the policy, node4 sits on the committee, node4 and node5 quote (with
// node0) in node2's tender from their own nodes (commitments and range
// proofs through the ledger, shares over libp2p), the award equals the
// plaintext rule and is posted to the ledger, and all 6 nodes agree on the
// AppHash.
func TestMemberNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 6-node network")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	net, err := Start(ctx, Options{Nodes: 6, Validators: 4, ChainID: "member-nodes", HEPreset: "insecure-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Stop()

	st, err := net.Clients[5].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var validators []string
	for _, v := range st.Validators {
		validators = append(validators, v.Name)
	}
	slices.Sort(validators)
	if !slices.Equal(validators, []string{"node0", "node1", "node2", "node3"}) {
		t.Fatalf("validators %v, want node0 … node3", validators)
	}
	pol := net.Nodes[0].App().Policy()
	for _, m := range []string{"node4", "node5"} {
		if pm, ok := pol.Member(m); !ok || pm.Role != policies.RoleEnterprise {
			t.Fatalf("policy member %s: %+v %v", m, pm, ok)
		}
		cfg, err := node.LoadConfig(net.Homes[net.Index(m)])
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Consensus.PersistentPeers) != 4 {
			t.Fatalf("%s dials %d consensus peers, want the 4 validators", m, len(cfg.Consensus.PersistentPeers))
		}
	}

	// 3-of-4: this test runs SS jobs only (tenders); with t > ⌈n/2⌉ the
	// committee sets up no HE key (it could run no HE job), only its BLS key.
	committee := []string{"node0", "node1", "node3", "node4"}
	if err := net.CreateCommittee(ctx, 2, "c1", committee, 3, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for i, c := range net.Clients {
		for {
			com, err := c.Committee(ctx, "c1")
			if err == nil && com.Status == ledger.CommitteeActive {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("node%d: committee not active: %v", i, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}

	h, err := net.Clients[2].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := zk.GenerateSigningKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const orderID, jobID, quantity, maxPrice = "order-m", "tender-m", 100, 10_000
	if err := net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_OrderCreate{OrderCreate: &ledgerpb.OrderCreate{OrderId: orderID, Product: "test",
			Quantity: quantity, DeadlineHeight: h.Height + 5000, MinGrade: "BBB", MaxPartners: 2, Mode: ledger.ModeFixed,
			Funds: quantity * maxPrice, ThresholdBps: 8000, CounterpartyKey: dk.PublicKey.Bytes(), Tender: true, MaxPrice: maxPrice}}
	}); err != nil {
		t.Fatalf("order.create: %v", err)
	}
	quoters := []string{"node4", "node0", "node5"}
	prices, capacities := []uint64{4100, 5200, 3900}, []uint64{60, 70, 30}
	p := jobrun.TenderParams{Order: orderID, Quantity: quantity, MaxPartners: 2, MaxPrice: maxPrice}
	var providers []string
	for k, q := range quoters {
		price, capacity := jobspec.TenderSlots(q)
		providers = append(providers, price, capacity)
		cr, err := net.Clients[2].Credit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		p.PriceFactors = append(p.PriceFactors, pol.TenderPriceFactor(cr.Score))
		if err := net.WriteInput(price, jobID, jobrun.TenderInput{Price: &prices[k]}); err != nil {
			t.Fatal(err)
		}
		if err := net.WriteInput(capacity, jobID, jobrun.TenderInput{Capacity: &capacities[k]}); err != nil {
			t.Fatal(err)
		}
	}
	_, got, err := net.Run(ctx, Job{ID: jobID, Type: "tender", Params: p, Committee: "c1", Providers: providers,
		Recipient: "node2", Requester: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := plainref.PlainTender(p, prices, capacities)
	if got.Tender == nil || !slices.Equal(got.Tender.Award, want) {
		t.Fatalf("award %+v, plaintext %v", got.Tender, want)
	}
	// node5 (price 3,900) and node4 (4,100) win: the ratings differ by a few
	// points at most (committee setup), far from 5,200 against 4,100.
	if want[0] == 0 || want[4] == 0 || want[2] != 0 {
		t.Fatalf("plaintext award %v: the test's quotes no longer pick node4 and node5", want)
	}
	for k, q := range quoters {
		i := net.Index(q)
		var raw []byte
		for {
			if raw, err = net.Clients[i].JobOutput(ctx, jobID, sched.AllocationKind(providers[2*k])); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s's assignment: %v", q, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
		var a jobrun.TenderAssignment
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		if a.Quantity != want[2*k] || a.Price != want[2*k+1] || a.Commitment != got.Tender.Commitments[1+k] {
			t.Fatalf("%s's assignment %+v, plaintext (%d, %d)", q, a, want[2*k], want[2*k+1])
		}
	}
	salt, commitments, err := got.Tender.Opening()
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_OrderAward{OrderAward: &ledgerpb.OrderAward{OrderId: orderID, JobId: jobID,
			Award: got.Tender.Award, Salt: salt, Commitments: commitments}}
	}); err != nil {
		t.Fatalf("order.award: %v", err)
	}
	// node5 reads the order once it has the block the award landed in
	// (node2's height): it may be a block behind node2 (a flake seen once).
	st, err = net.Clients[2].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitHeight(ctx, net.Clients[5], st.Height, time.Minute); err != nil {
		t.Fatal(err)
	}
	o, err := net.Clients[5].Order(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	var partners []string
	for _, pt := range o.Partners {
		partners = append(partners, pt.Member)
	}
	slices.Sort(partners)
	if o.Status != ledger.OrderDraft || !slices.Equal(partners, []string{"node4", "node5"}) {
		t.Fatalf("order after the award: %s, partners %v", o.Status, partners)
	}
	height, hash, err := net.Agree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("6 nodes agree at height %d: AppHash %s", height, hash)
}

// TestNodelessSealedTender runs 4 nodes and 3 members without a node (firm0
// … firm2): genesis holds the firms with their account and sealing keys and
// no peer ID, the policy makes them enterprises; node0 quotes from its node,
// the firms through node APIs with their own keys, their shares sealed to
// the committee on the ledger; the award equals the plaintext rule, the
// chosen firms find their assignments in the order the award opens, node0
// its own from its node, and all 4 nodes agree on the AppHash.
func TestNodelessSealedTender(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-node network")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	net, err := Start(ctx, Options{Nodeless: 3, ChainID: "nodeless", HEPreset: "insecure-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Stop()
	firms := []string{"firm0", "firm1", "firm2"}
	pol := net.Nodes[0].App().Policy()
	for k, f := range firms {
		m, ok := net.Nodes[0].App().Member(f)
		if !ok || ledger.HasNode(m) || len(m.SealingKey) != 32 || len(m.ValidatorKey) != 0 {
			t.Fatalf("member %s: %+v", f, m)
		}
		if pm, ok := pol.Member(f); !ok || pm.Role != policies.RoleEnterprise {
			t.Fatalf("policy member %s: %+v %v", f, pm, ok)
		}
		if net.Nodeless[k].Name != f {
			t.Fatalf("nodeless member %d is %s", k, net.Nodeless[k].Name)
		}
	}
	// 3-of-4, SS jobs only (see TestMemberNodes): no HE key is set up.
	if err := net.CreateCommittee(ctx, 2, "c1", []string{"node0", "node1", "node2", "node3"}, 3, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for i, c := range net.Clients {
		if err := waitActive(ctx, c, "c1"); err != nil {
			t.Fatalf("node%d: %v", i, err)
		}
	}
	keys, err := zk.LoadKeys(net.ZKKeysDir, zk.CircuitInput)
	if err != nil {
		t.Fatal(err)
	}
	h, err := net.Clients[2].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := zk.GenerateSigningKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const orderID, jobID, quantity, maxPrice = "order-s", "tender-s", 100, 10_000
	if err := net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_OrderCreate{OrderCreate: &ledgerpb.OrderCreate{OrderId: orderID, Product: "test",
			Quantity: quantity, DeadlineHeight: h.Height + 5000, MinGrade: "BBB", MaxPartners: 2, Mode: ledger.ModeFixed,
			Funds: quantity * maxPrice, ThresholdBps: 8000, CounterpartyKey: dk.PublicKey.Bytes(), Tender: true, MaxPrice: maxPrice}}
	}); err != nil {
		t.Fatalf("order.create: %v", err)
	}
	quoters := []string{"node0", "firm0", "firm1", "firm2"}
	prices, capacities := []uint64{5200, 4100, 6100, 3900}, []uint64{70, 60, 50, 30}
	p := jobrun.TenderParams{Order: orderID, Quantity: quantity, MaxPartners: 2, MaxPrice: maxPrice}
	var providers []string
	sealed := map[string]map[string][]byte{}
	for k, q := range quoters {
		price, capacity := jobspec.TenderSlots(q)
		providers = append(providers, price, capacity)
		cr, err := net.Clients[2].Credit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		p.PriceFactors = append(p.PriceFactors, pol.TenderPriceFactor(cr.Score))
		pin, cin := jobrun.TenderInput{Price: &prices[k]}, jobrun.TenderInput{Capacity: &capacities[k]}
		if q == "node0" {
			if err := net.WriteInput(price, jobID, pin); err != nil {
				t.Fatal(err)
			}
			if err := net.WriteInput(capacity, jobID, cin); err != nil {
				t.Fatal(err)
			}
			continue
		}
		pr, _ := json.Marshal(pin)
		cp, _ := json.Marshal(cin)
		sealed[q] = map[string][]byte{price: pr, capacity: cp}
	}
	// The firms quote when they see the job, each through another node.
	supplied := make(chan error, len(sealed))
	for k, f := range firms {
		go func() { supplied <- net.SupplySealed(ctx, f, (k+1)%4, keys, jobID, sealed[f]) }()
	}
	_, got, err := net.Run(ctx, Job{ID: jobID, Type: "tender", Params: p, Committee: "c1", Providers: providers,
		Recipient: "node2", Requester: 2})
	for range firms {
		if serr := <-supplied; serr != nil {
			t.Errorf("sealed quote: %v", serr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	want := plainref.PlainTender(p, prices, capacities)
	if got.Tender == nil || !slices.Equal(got.Tender.Award, want) {
		t.Fatalf("award %+v, plaintext %v", got.Tender, want)
	}
	// firm2 (3,900) and firm0 (4,100) win over node0 (5,200) and firm1.
	if want[2] == 0 || want[6] == 0 || want[0] != 0 || want[4] != 0 {
		t.Fatalf("plaintext award %v: the test's quotes no longer pick firm0 and firm2", want)
	}
	raw, err := waitJobOutput(ctx, net, 0, jobID, sched.AllocationKind(providers[0]))
	if err != nil {
		t.Fatal(err)
	}
	var a jobrun.TenderAssignment
	if err := json.Unmarshal(raw, &a); err != nil || a.Quantity != 0 || a.Commitment != got.Tender.Commitments[1] {
		t.Fatalf("node0's assignment %+v (%v), want none", a, err)
	}
	salt, commitments, err := got.Tender.Opening()
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_OrderAward{OrderAward: &ledgerpb.OrderAward{OrderId: orderID, JobId: jobID,
			Award: got.Tender.Award, Salt: salt, Commitments: commitments}}
	}); err != nil {
		t.Fatalf("order.award: %v", err)
	}
	// A chosen firm reads its assignment in the awarded order (the ledger
	// checked the opening against the committee's signed commitment), here
	// through node1 once it has the award's block.
	if err := WaitHeight(ctx, net.Clients[1], net.committed.Load(), time.Minute); err != nil {
		t.Fatal(err)
	}
	o, err := net.Clients[1].Order(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != ledger.OrderDraft || len(o.Partners) != 2 {
		t.Fatalf("order after the award: %s, partners %+v", o.Status, o.Partners)
	}
	for k, q := range quoters {
		i := slices.IndexFunc(o.Partners, func(pt client.OrderPartner) bool { return pt.Member == q })
		if chosen := want[2*k] > 0; chosen != (i >= 0) || chosen && (o.Partners[i].Quantity != want[2*k] || o.Partners[i].UnitValue != want[2*k+1]) {
			t.Fatalf("%s in the awarded order: %+v, plaintext (%d, %d)", q, o.Partners, want[2*k], want[2*k+1])
		}
	}
	// The job's sealed shares are pruned from state now that it ended.
	if s, err := net.Nodes[0].App().SealedInput(jobID, 2); s != nil || err != nil {
		t.Fatalf("sealed shares of the ended job: %d, %v", len(s), err)
	}
	t.Run("a sealed share that does not open names its provider on the ledger", func(t *testing.T) {
		sealedBadShare(ctx, t, net, keys, pol)
	})
	height, hash, err := net.Agree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("4 nodes agree at height %d: AppHash %s", height, hash)
}

// sealedBadShare: firm1 posts its price with a valid commitment and range
// proof but sealed shares that open for nobody (publicly valid: the ledger
// cannot tell);
// the committee aborts the tender naming firm1's price slot as the culprit.
func sealedBadShare(ctx context.Context, t *testing.T, net *Net, keys *zk.Keys, pol *policies.Policy) {
	h, err := net.Clients[2].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := zk.GenerateSigningKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const orderID, jobID, quantity, maxPrice = "order-bad", "tender-bad", 50, 1000
	if err := net.Submit(ctx, 2, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_OrderCreate{OrderCreate: &ledgerpb.OrderCreate{OrderId: orderID, Product: "test",
			Quantity: quantity, DeadlineHeight: h.Height + 5000, MinGrade: "C", MaxPartners: 1, Mode: ledger.ModeFixed,
			Funds: quantity * maxPrice, ThresholdBps: 8000, CounterpartyKey: dk.PublicKey.Bytes(), Tender: true, MaxPrice: maxPrice}}
	}); err != nil {
		t.Fatalf("order.create: %v", err)
	}
	p := jobrun.TenderParams{Order: orderID, Quantity: quantity, MaxPartners: 1, MaxPrice: maxPrice}
	var providers []string
	for _, q := range []string{"node0", "firm1"} {
		price, capacity := jobspec.TenderSlots(q)
		providers = append(providers, price, capacity)
		cr, err := net.Clients[2].Credit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		p.PriceFactors = append(p.PriceFactors, pol.TenderPriceFactor(cr.Score))
	}
	price, capacity := uint64(500), uint64(20)
	if err := net.WriteInput(providers[0], jobID, jobrun.TenderInput{Price: &price}); err != nil {
		t.Fatal(err)
	}
	if err := net.WriteInput(providers[1], jobID, jobrun.TenderInput{Capacity: &capacity}); err != nil {
		t.Fatal(err)
	}
	cheat := func() error {
		s, err := net.Supplier("firm1", 3, keys)
		if err != nil {
			return err
		}
		if err := s.WaitJob(ctx, jobID, time.Minute); err != nil {
			return err
		}
		spec, memberKeys, chainID, err := s.JobSpec(ctx, jobID)
		if err != nil {
			return err
		}
		for k, in := range []jobrun.TenderInput{{Price: &price}, {Capacity: &capacity}} {
			raw, _ := json.Marshal(in)
			ps, err := s.Prepare(ctx, spec, providers[2+k], raw)
			if err != nil {
				return err
			}
			msg, err := s.Seal(spec, memberKeys, chainID, ps)
			if err != nil {
				return err
			}
			if k == 0 { // the price's shares: publicly valid (the ledger takes them), open for nobody
				for j, m := range spec.Committee {
					aad := jobrun.SealedShareAAD(chainID, spec.ID, providers[2], m)
					if msg.SealedShares[j], err = sealbox.SealCorrupt(memberKeys[j], aad, make([]byte, sealedinput.MessageLen(1))); err != nil { // a scalar share's size: the ledger takes no other
						return err
					}
				}
			}
			if err := net.SubmitAs(ctx, "firm1", 3, func(p *ledgerpb.TxPayload) {
				p.Msg = &ledgerpb.TxPayload_JobInput{JobInput: msg}
			}); err != nil {
				return err
			}
		}
		return nil
	}
	before, err := net.Clients[2].Credit(ctx, "firm1")
	if err != nil {
		t.Fatal(err)
	}
	cheated := make(chan error, 1)
	go func() { cheated <- cheat() }()
	rec, _, err := net.Run(ctx, Job{ID: jobID, Type: "tender", Params: p, Committee: "c1", Providers: providers,
		Recipient: "node2", Requester: 2})
	if cerr := <-cheated; cerr != nil {
		t.Fatalf("firm1's inputs: %v", cerr)
	}
	if err == nil || rec == nil || rec.Status != ledger.JobAborted || rec.Culprit != providers[2] {
		t.Fatalf("job with a share that does not open: %+v, %v; want aborted naming %s", rec, err, providers[2])
	}
	// Every member's share is noise, and each member proves it (S = x·R
	// with a Chaum–Pedersen proof): the ledger checks the proof the abort
	// carries and charges firm1.
	if !strings.Contains(rec.AbortReason, "proven not to open") {
		t.Fatalf("abort reason %q does not say the share was proven not to open", rec.AbortReason)
	}
	// The charge lands in the abort's block; node2, whose view this reads,
	// may still be a block behind the node that reported the abort.
	for deadline := time.Now().Add(30 * time.Second); ; {
		after, err := net.Clients[2].Credit(ctx, "firm1")
		if err != nil {
			t.Fatal(err)
		}
		if after.Score < before.Score {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("firm1's credit %d after its proven bad sealed share, was %d: not charged", after.Score, before.Score)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Every member posts its own abort with its proof: the first ends the
	// job, the others are attestations whose proofs convict firm1 again,
	// and firm1 is charged once (ledger/attest.go).
	for deadline := time.Now().Add(90 * time.Second); ; {
		j, err := net.Clients[2].Job(ctx, jobID)
		if err != nil {
			t.Fatal(err)
		}
		if len(j.Attestations) == 4 {
			for _, a := range j.Attestations {
				if a.Convicted != providers[2] {
					t.Fatalf("attestation %+v: want firm1's slot convicted", a)
				}
			}
			if len(j.Charges) != 1 || j.Charges[0].Member != "firm1" || j.Charges[0].Cause != "sealed" {
				t.Fatalf("charges %+v: want firm1 once", j.Charges)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attestations %+v: want every member's", j.Attestations)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitActive(ctx context.Context, c *client.Client, id string) error {
	for {
		com, err := c.Committee(ctx, id)
		if err == nil && com.Status == ledger.CommitteeActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func waitJobOutput(ctx context.Context, net *Net, i int, jobID, kind string) ([]byte, error) {
	for {
		raw, err := net.Clients[i].JobOutput(ctx, jobID, kind)
		if err == nil {
			return raw, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}
