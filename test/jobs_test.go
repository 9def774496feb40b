package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/jobrun/plainref"
)

// TestPrivateJobs runs every job type through the ledger on 4 node
// processes (small, insecure HE parameters), checks each result against the
// plaintext computation, and shows how jobs fail: a provider that never
// sends its input, a committee member that is down (an HE job still finishes
// with 3 of 4; an SS job aborts and its resubmission succeeds).
func TestPrivateJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	keys, err := zkKeysDir()
	if err != nil {
		t.Fatal(err)
	}
	// firm0 is a member without a node: it quotes sealed in the tender.
	nw := startNetwork(t, 4, "--zk-keys", keys, "--he-preset", "insecure-test", "--nodeless", "1")
	for i := range nw.homes {
		nw.waitHeight(ctx, i, 2)
	}
	jr := &jobRunner{t: t, ctx: ctx, nw: nw}
	// Threshold 2 of 4: with one member killed, 3 > t members remain, so
	// the recipient still compares the key switches of several t-subsets (a
	// single subset's result is refused when n > t, see mpc/he).
	jr.cli(2, "committee", "create", "--id", "c1", "--members", "node0,node1,node2,node3", "--threshold", "2")
	jr.waitCommittee("c1")

	t.Run("auction-vickrey", func(t *testing.T) {
		bids := map[int]uint64{0: 700, 1: 900, 3: 800}
		res := jr.run(t, 2, "auction-vickrey", "V1", jobrun.AuctionParams{MaxBid: 10000}, bids, "node2")
		if res.Auction == nil || res.Auction.Winner != "node1" || res.Auction.Price != 800 {
			t.Fatalf("vickrey result %+v, want node1 at 800", res.Auction)
		}
	})
	t.Run("auction-first", func(t *testing.T) {
		bids := map[int]uint64{0: 700, 1: 900, 3: 800}
		res := jr.run(t, 2, "auction-first", "F1", jobrun.AuctionParams{MaxBid: 10000}, bids, "node2")
		if res.Auction == nil || res.Auction.Winner != "node1" || res.Auction.Price != 900 {
			t.Fatalf("first-price result %+v, want node1 at 900", res.Auction)
		}
	})
	t.Run("clearing", func(t *testing.T) {
		params := jobrun.ClearingParams{Prices: []uint64{10, 11, 12, 13}, Sides: []string{"buyer", "buyer", "seller"}}
		curves := [][]uint64{{0, 0, 7, 0}, {0, 4, 0, 0}, {0, 3, 0, 9}}
		// node1 supplies its own curve and its client's (slot "node1/client-a").
		var inputs []slotInput
		for i, slot := range []string{"node0", "node1", "node1/client-a"} {
			inputs = append(inputs, slotInput{slot, map[string][]uint64{"quantities": curves[i]}})
		}
		res := jr.run(t, 2, "clearing", "K1", params, inputs, "node2")
		level, alloc := plainref.PlainClearing(params.Sides, curves)
		if res.Clearing == nil || res.Clearing.Level != level || res.Clearing.Price != params.Prices[level] {
			t.Fatalf("clearing %+v, plaintext level %d", res.Clearing, level)
		}
		// Each slot's allocation is on the node that supplied it.
		for i, args := range [][]string{{"--home", jr.nw.homes[0]}, {"--home", jr.nw.homes[1]}, {"--home", jr.nw.homes[1], "--slot", "client-a"}} {
			var a jobrun.Allocation
			jr.eventually(t, 30*time.Second, func() error {
				out, err := exec.CommandContext(jr.ctx, cohortBin, append([]string{"job", "result", "K1", "--allocation"}, args...)...).Output()
				if err != nil {
					return err
				}
				return json.Unmarshal(out, &a)
			})
			if a.Quantity != alloc[i] {
				t.Fatalf("allocation of slot %d: %d, plaintext %d", i, a.Quantity, alloc[i])
			}
		}
	})
	t.Run("tender through the CLI", func(t *testing.T) { jr.tender(t) })
	credit := func(t *testing.T, id string) {
		jr.runCredit(t, id)
		jr.onlyRecipientHolds(id, 0)
	}
	t.Run("credit-score", func(t *testing.T) { credit(t, "C1") })
	t.Run("aggregate", func(t *testing.T) {
		params := jobrun.AggregateParams{Bins: 4, Lo: 0, Hi: 100}
		values := [][]int64{{5, 30, 70}, {99, 0, 42, 42}}
		inputs := map[int]any{0: map[string]any{"values": values[0]}, 1: map[string]any{"values": values[1]}}
		res := jr.run(t, 2, "aggregate", "G1", params, inputs, "node2")
		want := plainref.PlainAggregate(params, values)
		if res.Aggregate == nil || res.Aggregate.Sum != want.Sum || res.Aggregate.Count != want.Count ||
			fmt.Sprint(res.Aggregate.Histogram) != fmt.Sprint(want.Histogram) {
			t.Fatalf("aggregate %+v, plaintext %+v", res.Aggregate, want)
		}
	})
	t.Run("a provider that never sends its input", func(t *testing.T) {
		// node1 has no input file for this job: the ledger aborts it at its
		// deadline and names node1; the other jobs were not touched.
		jr.writeInput(0, "V-silent", map[string]uint64{"bid": 10})
		jr.writeInput(3, "V-silent", map[string]uint64{"bid": 20})
		jr.submit(2, "auction-vickrey", "V-silent", jobrun.AuctionParams{MaxBid: 10000}, []string{"node0", "node1", "node3"}, "node2", 12)
		j := jr.waitEnd("V-silent")
		if j.Status != "aborted" || j.Culprit != "node1" || !strings.Contains(j.AbortReason, "node1") {
			t.Fatalf("job with a silent provider: %+v", j)
		}
		if v1, _ := nw.client(3).Job(ctx, "V1"); v1.Status != "completed" {
			t.Fatalf("another job changed: %+v", v1)
		}
	})
	t.Run("a committee member down", func(t *testing.T) {
		// HE: node3 is killed (SIGKILL) once every input is committed, as
		// the committee starts computing; 3 of 4 members finish the job in
		// this one submission. If node3 announced itself to the run before
		// dying, it is in the key-switching family and never delivers its
		// candidate (over QUIC a killed peer is noticed only at the idle
		// timeout): the recipient re-forms the family with the three it
		// heard from, who key-switch again (see node/jobrun's doc, "HE
		// re-forms").
		jr.onRunning = func() { nw.kill(3) }
		credit(t, "C2")
		jr.onRunning = nil
		bids := map[int]uint64{0: 10, 1: 20}
		jr.writeInputs("V-down", bids)
		jr.submit(2, "auction-vickrey", "V-down", jobrun.AuctionParams{MaxBid: 10000}, []string{"node0", "node1"}, "node2", 400)
		j := jr.waitEnd("V-down")
		if j.Status != "aborted" || !strings.Contains(j.AbortReason, "node3") {
			t.Fatalf("SS job with a member down: %+v", j)
		}
		t.Logf("SS job aborted: %s", j.AbortReason)
		// Each live member saw node3 gone on its own connection: their
		// aborts attest member-dropped node3, which the ledger records and
		// never charges (ledger/attest.go: a timeout third parties can
		// steer, review s7): the attestations are on the job, no charge.
		jr.eventually(t, 60*time.Second, func() error {
			j, err := nw.client(0).Job(ctx, "V-down")
			if err != nil {
				return err
			}
			var dropped int
			for _, a := range j.Attestations {
				if a.Member != "node3" && a.Fault == "member-dropped" && a.Culprit == "node3" {
					dropped++
				}
			}
			if len(j.Charges) != 0 {
				return fmt.Errorf("V-down charged %+v on attestations %+v", j.Charges, j.Attestations)
			}
			if dropped < 2 {
				return fmt.Errorf("V-down: %d member-dropped node3 attestations, want the live members' (attestations %+v)", dropped, j.Attestations)
			}
			return nil
		})
		nw.start(3)
		nw.waitHeight(ctx, 3, nw.height(ctx, 0))
		res := jr.run(t, 2, "auction-vickrey", "V-again", jobrun.AuctionParams{MaxBid: 10000}, bids, "node2")
		if res.Auction.Winner != "node1" || res.Auction.Price != 10 {
			t.Fatalf("resubmitted auction: %+v", res.Auction)
		}
	})
}

// runCredit runs a credit-score job of 40 subjects whose 3 features node0
// (2) and node1 (1) hold, with node0 as recipient, and checks the scores
// against the plaintext model.
func (jr *jobRunner) runCredit(t *testing.T, id string) {
	t.Helper()
	params := jobrun.CreditParams{Subjects: 40, Weights: jobrun.CreditWeights(0.7, -1.1, 0.4), Bias: "0.1", ProviderFeatures: [][]int{{0, 1}, {2}}}
	cols := make([][]float64, 3)
	for f := range cols {
		for s := 0; s < params.Subjects; s++ {
			cols[f] = append(cols[f], math.Sin(float64(7*f+s)))
		}
	}
	inputs := map[int]any{0: map[string]any{"features": cols[:2]}, 1: map[string]any{"features": cols[2:]}}
	res := jr.run(t, 0, "credit-score", id, params, inputs, "node0")
	want, err := plainref.PlainCreditScores(params, cols)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(res.Scores[i]-want[i]) > 1e-3 {
			t.Fatalf("score %d: %f, plaintext %f", i, res.Scores[i], want[i])
		}
	}
}

type jobRunner struct {
	t   *testing.T
	ctx context.Context
	nw  *network
	// onRunning, if set, is called once when a job's inputs are all committed.
	onRunning func()
	// latency of the last job run: from its submission to its end on the
	// ledger (result record anchored, or abort).
	latency time.Duration
}

func (jr *jobRunner) cli(node int, args ...string) string {
	jr.t.Helper()
	args = append(args[:len(args):len(args)], "--home", jr.nw.homes[node])
	out, err := jr.nw.cohort(jr.ctx, node, args...).CombinedOutput()
	if err != nil {
		jr.t.Fatalf("cohort %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (jr *jobRunner) waitCommittee(id string) {
	jr.t.Helper()
	for {
		c, err := jr.nw.client(0).Committee(jr.ctx, id)
		if err == nil && c.Status == "active" {
			return
		}
		select {
		case <-jr.ctx.Done():
			jr.t.Fatalf("committee %s not active: %v %+v", id, err, c)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// slotInput is the input of one provider slot ("nodeK" or "nodeK/label").
type slotInput struct {
	slot  string
	value any
}

// eventually retries f until it succeeds or the timeout passes.
func (jr *jobRunner) eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (jr *jobRunner) writeInput(node int, jobID string, v any) {
	jr.writeInputFile(node, jobID+".json", v)
}

func (jr *jobRunner) writeInputFile(node int, file string, v any) {
	jr.t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		jr.t.Fatal(err)
	}
	dir := filepath.Join(jr.nw.homes[node], "inputs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		jr.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), raw, 0o600); err != nil {
		jr.t.Fatal(err)
	}
}

func (jr *jobRunner) writeInputs(jobID string, bids map[int]uint64) {
	for n, b := range bids {
		jr.writeInput(n, jobID, map[string]uint64{"bid": b})
	}
}

func (jr *jobRunner) submit(node int, typ, id string, params any, providers []string, recipient string, deadline int) {
	jr.t.Helper()
	spec, err := json.Marshal(map[string]any{"id": id, "params": params, "providers": providers,
		"committee": "c1", "recipient": recipient, "deadline_blocks": deadline})
	if err != nil {
		jr.t.Fatal(err)
	}
	file := filepath.Join(jr.t.TempDir(), "spec.json")
	if err := os.WriteFile(file, spec, 0o600); err != nil {
		jr.t.Fatal(err)
	}
	jr.cli(node, "job", "submit", typ, "--spec", file)
}

func (jr *jobRunner) waitEnd(id string) *client.Job {
	jr.t.Helper()
	for {
		j, err := jr.nw.client(0).Job(jr.ctx, id)
		if err == nil && j.Status == "running" && jr.onRunning != nil {
			jr.onRunning()
			jr.onRunning = nil
		}
		if err == nil && (j.Status == "completed" || j.Status == "aborted") {
			return j
		}
		select {
		case <-jr.ctx.Done():
			jr.t.Fatalf("job %s did not end: %v %+v", id, err, j)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// run submits a job whose providers are the keys of inputs (node indexes,
// in order) and returns the recipient's result.
func (jr *jobRunner) run(t *testing.T, requester int, typ, id string, params any, inputs any, recipient string) *jobrun.Result {
	t.Helper()
	var providers []string
	switch in := inputs.(type) {
	case map[int]uint64:
		for n := 0; n < 4; n++ {
			if b, ok := in[n]; ok {
				jr.writeInput(n, id, map[string]uint64{"bid": b})
				providers = append(providers, fmt.Sprintf("node%d", n))
			}
		}
	case map[int]any:
		for n := 0; n < 4; n++ {
			if v, ok := in[n]; ok {
				jr.writeInput(n, id, v)
				providers = append(providers, fmt.Sprintf("node%d", n))
			}
		}
	case []slotInput:
		for _, si := range in {
			var n int
			if _, err := fmt.Sscanf(jobrun.SlotNode(si.slot), "node%d", &n); err != nil {
				t.Fatalf("slot %q: %v", si.slot, err)
			}
			jr.writeInputFile(n, node.InputFileName(id, si.slot), si.value)
			providers = append(providers, si.slot)
		}
	}
	start := time.Now()
	jr.submit(requester, typ, id, params, providers, recipient, 400)
	j := jr.waitEnd(id)
	jr.latency = time.Since(start)
	if j.Status != "completed" {
		t.Fatalf("job %s: %s (%s)", id, j.Status, j.AbortReason)
	}
	var r int
	fmt.Sscanf(recipient, "node%d", &r)
	// The recipient stores the result when it has checked it, which may be
	// just after the record lands.
	var out []byte
	jr.eventually(t, 30*time.Second, func() (err error) {
		if out, err = jr.nw.cohort(jr.ctx, r, "job", "result", id, "--home", jr.nw.homes[r]).Output(); err != nil {
			return fmt.Errorf("recipient %s holds no result of %s: %w", recipient, id, err)
		}
		return nil
	})
	var res jobrun.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("result of %s: %v\n%s", id, err, out)
	}
	return &res
}

func (jr *jobRunner) onlyRecipientHolds(id string, recipient int) {
	jr.t.Helper()
	for i := range jr.nw.homes {
		if i == recipient || jr.nw.procs[i] == nil {
			continue
		}
		if _, err := jr.nw.client(i).JobOutput(jr.ctx, id, "result"); !client.IsNotFound(err) {
			jr.t.Fatalf("node%d holds the result of %s: %v", i, id, err)
		}
	}
}

// tender runs a tendering order through the CLI: node2 creates it, node0,
// node1 and node3 write sealed quotes, firm0, a member without a node,
// posts its quote sealed to the committee through node3's API (prepared
// before the job, sealed when it appears), node2 submits the tender job
// (price factors from the quoters' ratings), awards it on the ledger, the
// chosen partners sign and the order is active with one task each; every
// node ends on the same AppHash.
func (jr *jobRunner) tender(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "T1.json")
	body := `{"id": "T1", "product": "castings", "quantity": 100, "deadline_blocks": 2000, "min_grade": "C",
  "max_partners": 2, "mode": "fixed", "funds": 1000000, "threshold_bps": 8000, "max_price": 10000}`
	if err := os.WriteFile(spec, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	jr.cli(2, "order", "create", "--spec", spec, "--tender")
	// node1 is cheapest and fills 60, node3 the remaining 40; node0 loses.
	quotes := map[int][2]uint64{0: {900, 100}, 1: {500, 60}, 3: {700, 80}}
	for _, i := range []int{0, 1, 3} {
		jr.cli(i, "order", "quote", "--order", "T1", "--price", fmt.Sprint(quotes[i][0]), "--capacity", fmt.Sprint(quotes[i][1]))
	}
	// firm0 asks 950 for 50: it loses too, its quote seen by nobody.
	keys, err := zkKeysDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg3, err := node.LoadConfig(jr.nw.homes[3])
	if err != nil {
		t.Fatal(err)
	}
	cfg0, err := node.LoadConfig(jr.nw.homes[0])
	if err != nil {
		t.Fatal(err)
	}
	// Through node3, node0 witnessing the job and its committee; the sealing
	// keys are the genesis's, in firm0's home.
	firm := exec.CommandContext(jr.ctx, cohortBin, "order", "quote", "--order", "T1", "--committee", "c1", "--sealed",
		"--home", filepath.Join(filepath.Dir(jr.nw.homes[0]), "firm0"), "--api", cfg3.API.Listen+","+cfg0.API.Listen, "--zk-keys", keys,
		"--price", "950", "--capacity", "50", "--wait", "3m")
	var firmOut bytes.Buffer
	firm.Stdout, firm.Stderr = &firmOut, &firmOut
	if err := firm.Start(); err != nil {
		t.Fatal(err)
	}
	jr.cli(2, "order", "tender", "T1", "--quoters", "node0,node1,node3,firm0", "--committee", "c1")
	if err := firm.Wait(); err != nil {
		t.Fatalf("firm0's sealed quote: %v\n%s", err, firmOut.String())
	}
	const job = "T1-tender-1"
	if j := jr.waitEnd(job); j.Status != "completed" {
		t.Fatalf("tender job: %+v", j)
	}
	jr.eventually(t, time.Minute, func() error {
		_, err := jr.nw.cohort(jr.ctx, 2, "order", "award", "T1", "--home", jr.nw.homes[2]).CombinedOutput()
		return err
	})
	o, err := jr.nw.client(2).Order(jr.ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]uint64{}
	for _, p := range o.Partners {
		got[p.Member] = [2]uint64{p.UnitValue, p.Quantity}
	}
	want := map[string][2]uint64{"node1": {500, 60}, "node3": {700, 40}}
	if o.Status != "draft" || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("awarded order %s with partners %v, want draft with %v", o.Status, got, want)
	}
	for _, i := range []int{1, 3} {
		jr.cli(i, "order", "sign", "T1")
	}
	if o, err = jr.nw.client(0).Order(jr.ctx, "T1"); err != nil || o.Status != "active" || o.Partners[0].TaskID == "" {
		t.Fatalf("order after the partners signed: %+v %v", o, err)
	}
	// The losing quote reached nobody: node0's own assignment is (0, 0).
	var a jobrun.TenderAssignment
	jr.eventually(t, 30*time.Second, func() error {
		out, err := exec.CommandContext(jr.ctx, cohortBin, "job", "result", job, "--allocation", "--slot", "price", "--home", jr.nw.homes[0]).Output()
		if err != nil {
			return err
		}
		return json.Unmarshal(out, &a)
	})
	if a.Quantity != 0 || a.Price != 0 {
		t.Fatalf("node0's assignment %+v, want nothing", a)
	}
	h := jr.nw.height(jr.ctx, 0)
	for i := range jr.nw.homes {
		jr.nw.waitHeight(jr.ctx, i, h)
	}
	want0, err := jr.nw.client(0).AppHashAt(jr.ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(jr.nw.homes); i++ {
		if got, err := jr.nw.client(i).AppHashAt(jr.ctx, h); err != nil || got != want0 {
			t.Fatalf("node%d AppHash at %d: %s %v, node0 has %s", i, h, got, err, want0)
		}
	}
}
