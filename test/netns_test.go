//go:build linux

package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/test/netns"
)

// Latency of the lab's links: every frame a host sends arrives 30 ± 10 ms
// later (RTT 40–80 ms), as between machines in one region.
const (
	netnsDelay  = 30 * time.Millisecond
	netnsJitter = 10 * time.Millisecond
)

// netnsNet is a network of 4 members on 4 hosts (network namespaces) and
// what the test has seen committed on it.
type netnsNet struct {
	*network
	lab     *netns.Lab
	ctx     context.Context
	chainID string

	mu      sync.Mutex
	records [][]byte // hashes of every record the test saw committed
}

// TestNetNS runs the network as separate hosts, each a network namespace
// with its own address, joined by a switch with latency and jitter, and
// assembled as README's "A network across machines" says. On one network,
// in sequence, it breaks things and checks that nothing committed is lost
// and that all nodes end on the same app hash at the same height: a host cut
// off for 30 s, a 2–2 split, a node killed during a burst of records, a
// committee member killed during an SS and an HE job, and every node
// killed at once. It also reports job latencies across hosts.
func TestNetNS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 node processes in network namespaces")
	}
	delay, jitter := netnsDelay, netnsJitter
	if v := os.Getenv("COHORT_NETNS_DELAY"); v != "" {
		// For comparisons, e.g. COHORT_NETNS_DELAY=0 -run 'NetNS/jobs'
		// gives the job latencies on the same hosts without delay.
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("COHORT_NETNS_DELAY: %v", err)
		}
		delay, jitter = d, d/3
	}
	lab, err := netns.New(netns.Options{Hosts: 4, Subnet: "10.77.0", Delay: delay, Jitter: jitter})
	if errors.Is(err, netns.ErrUnsupported) {
		t.Skipf("TestNetNS needs root and network namespaces (run as root on Linux): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close) // runs after the nodes are stopped (cleanups run last-in first-out)
	t.Logf("4 hosts %s.1–4, one-way latency %v ± %v by %s", "10.77.0", delay, jitter, lab.DelayedBy())
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Minute)
	defer cancel()
	keys, err := zkKeysDir()
	if err != nil {
		t.Fatal(err)
	}
	nn := setupHosts(ctx, t, lab, keys)

	t.Run("a record anchored on one host is on all", func(t *testing.T) {
		nn.anchor(t, 0, 0)
		nn.checkAll(t)
	})
	t.Run("a host cut off for 30s catches up", func(t *testing.T) { nn.cutOff(t) })
	t.Run("a 2-2 split commits nothing and resumes", func(t *testing.T) { nn.split(t) })
	t.Run("a node killed during a burst of records", func(t *testing.T) { nn.killDuringBurst(t) })
	t.Run("jobs across hosts", func(t *testing.T) { nn.jobs(t) })
	t.Run("every node killed at once", func(t *testing.T) { nn.restartAll(t) })
}

// setupHosts follows README's "A network across machines" on the lab's
// hosts: init per host with its own address, genesis from the collected
// member.json files (scratch homes for the others), genesis and peers
// copied to each home, one node per host.
func setupHosts(ctx context.Context, t *testing.T, lab *netns.Lab, keys string) *netnsNet {
	t.Helper()
	dir := t.TempDir()
	n := lab.Hosts()
	roles := node.DefaultTestnetRoles // the default policy's members and roles
	nw := &network{t: t, procs: make([]*proc, n)}
	nw.command = func(ctx context.Context, i int, args ...string) *exec.Cmd {
		return lab.Command(ctx, i, cohortBin, args...)
	}
	// 1. Each member, on its own machine: cohort init --host <its IP>.
	var memberFiles []string
	members := make([]*node.MemberInfo, n)
	for i := 0; i < n; i++ {
		home := filepath.Join(dir, fmt.Sprintf("host%d", i), "cohort")
		nw.homes = append(nw.homes, home)
		if out, err := nw.cohort(ctx, i, "init", "--home", home, "--moniker", fmt.Sprintf("node%d", i),
			"--role", roles[i%len(roles)], "--host", lab.IP(i)).CombinedOutput(); err != nil {
			t.Fatalf("cohort init on host %d: %v\n%s", i, err, out)
		}
		memberFiles = append(memberFiles, filepath.Join(home, "member.json"))
		m, err := readMember(memberFiles[i])
		if err != nil {
			t.Fatal(err)
		}
		if m.ConsensusAddr != lab.IP(i)+":26656" || !strings.HasPrefix(m.P2PAddrs[0], "/ip4/"+lab.IP(i)+"/") || m.RPCAddr != "" {
			t.Fatalf("member.json of host %d advertises %s, %v, rpc %q", i, m.ConsensusAddr, m.P2PAddrs, m.RPCAddr)
		}
		members[i] = m
	}
	// 2. The agreed policy (the default one names node0…node3).
	policy := filepath.Join(dir, "alliance.yaml")
	out, err := nw.cohort(ctx, 0, "policy", "default").Output()
	if err != nil {
		t.Fatalf("cohort policy default: %v", err)
	}
	if err := os.WriteFile(policy, out, 0o600); err != nil {
		t.Fatal(err)
	}
	// 3. Host 0 builds the genesis with its own home and scratch homes.
	args := []string{"genesis", "--chain-id", "alliance-1", "--policy", policy, "--zk-keys", keys}
	for i := range nw.homes {
		h := nw.homes[0]
		if i > 0 {
			h = filepath.Join(dir, "scratch", fmt.Sprintf("m%d", i))
		}
		args = append(args, "--home", h)
	}
	if out, err := nw.cohort(ctx, 0, append(args, memberFiles...)...).CombinedOutput(); err != nil {
		t.Fatalf("cohort genesis: %v\n%s", err, out)
	}
	genesis, err := os.ReadFile(filepath.Join(nw.homes[0], "cometbft", "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	// 4. Each member installs the genesis and sets its peers and keys.
	for i, home := range nw.homes {
		if i > 0 {
			if err := os.WriteFile(filepath.Join(home, "cometbft", "config", "genesis.json"), genesis, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cfg, err := node.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		var peers, p2pPeers []string
		for j, m := range members {
			if j != i {
				peers = append(peers, m.ConsensusNodeID+"@"+m.ConsensusAddr)
				p2pPeers = append(p2pPeers, m.P2PAddrs...)
			}
		}
		if i == 0 && (strings.Join(cfg.Consensus.PersistentPeers, ",") != strings.Join(peers, ",") ||
			strings.Join(cfg.P2P.Peers, ",") != strings.Join(p2pPeers, ",")) {
			t.Fatalf("cohort genesis set host 0's peers to %v %v, want %v %v",
				cfg.Consensus.PersistentPeers, cfg.P2P.Peers, peers, p2pPeers)
		}
		cfg.Consensus.PersistentPeers, cfg.P2P.Peers = peers, p2pPeers
		cfg.Jobs.ZKKeys = keys
		cfg.Jobs.HEPreset = "insecure-test" // small HE parameters: this machine has 2 cores
		if err := cfg.Save(home); err != nil {
			t.Fatal(err)
		}
		fwd, err := lab.Forward(i, cfg.API.Listen)
		if err != nil {
			t.Fatal(err)
		}
		nw.apis = append(nw.apis, fwd)
	}
	// 5. One node per host.
	t.Cleanup(nw.stopAll)
	for i := range nw.homes {
		nw.start(i)
	}
	nn := &netnsNet{network: nw, lab: lab, ctx: ctx}
	// Every node sees the 3 others as consensus and libp2p peers.
	for i := range nw.homes {
		nn.eventually(t, 90*time.Second, func() error {
			st, err := nw.client(i).Status(ctx)
			if err != nil {
				return err
			}
			nn.chainID = st.ChainID
			if st.Height < 2 || len(st.Peers) != n-1 || len(st.P2PPeers) != n-1 || len(st.Validators) != n {
				return fmt.Errorf("node %d: height %d, %d consensus peers, %d libp2p peers, %d validators",
					i, st.Height, len(st.Peers), len(st.P2PPeers), len(st.Validators))
			}
			return nil
		})
	}
	return nn
}

func readMember(path string) (*node.MemberInfo, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m node.MemberInfo
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// eventually retries f until it succeeds or the timeout passes.
func (nn *netnsNet) eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || nn.ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// anchor commits record k through node i (the client confirms inclusion
// and resubmits) and remembers it.
func (nn *netnsNet) anchor(t *testing.T, i, k int) {
	t.Helper()
	hash := recordHash(10_000 + k)
	tx := anchorTx(t, nn.homes[i], nn.chainID, hash)
	if _, err := nn.client(i).Submit(nn.ctx, tx); err != nil {
		t.Fatalf("anchor record %d through node %d: %v", k, i, err)
	}
	nn.mu.Lock()
	nn.records = append(nn.records, hash)
	nn.mu.Unlock()
}

// checkAll waits until every running node is at the highest height seen,
// checks that they agree on the app hash there, and that every record the
// test saw committed is on every node.
func (nn *netnsNet) checkAll(t *testing.T) int64 {
	t.Helper()
	var target int64
	for i, p := range nn.procs {
		if p != nil {
			target = max(target, nn.waitHeight(nn.ctx, i, 1)) // a node just started answers once up
		}
	}
	var want string
	for i, p := range nn.procs {
		if p == nil {
			continue
		}
		nn.waitHeight(nn.ctx, i, target)
		got, err := nn.client(i).AppHashAt(nn.ctx, target)
		if err != nil {
			t.Fatalf("node %d: app hash at %d: %v", i, target, err)
		}
		if want == "" {
			want = got
		} else if got != want {
			t.Fatalf("node %d: app hash at %d is %s, another node has %s", i, target, got, want)
		}
	}
	nn.mu.Lock()
	records := append([][]byte(nil), nn.records...)
	nn.mu.Unlock()
	for i, p := range nn.procs {
		if p == nil {
			continue
		}
		for _, h := range records {
			recs, err := nn.client(i).RecordsByHash(nn.ctx, h)
			if err != nil || len(recs) != 1 {
				t.Fatalf("node %d: record %x: %v (%d found)", i, h, err, len(recs))
			}
		}
	}
	t.Logf("all nodes at height %d share app hash %s; %d records on every node", target, want, len(records))
	return target
}

// cutOff: host 3's link goes down for 30 s while records are anchored
// through the others, which commit with 3 of 4 votes; healed, host 3 catches
// up to the same app hash with every record.
func (nn *netnsNet) cutOff(t *testing.T) {
	const cut = 3
	if err := nn.lab.SetLink(cut, false); err != nil {
		t.Fatal(err)
	}
	start, before := time.Now(), nn.height(nn.ctx, cut)
	for k := 0; time.Since(start) < 30*time.Second; k++ {
		nn.anchor(t, k%3, 100+k)
	}
	if h := nn.height(nn.ctx, cut); h > before+1 {
		t.Fatalf("host %d, cut off, went from height %d to %d", cut, before, h)
	}
	if err := nn.lab.SetLink(cut, true); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	target := nn.height(nn.ctx, 0)
	nn.waitHeight(nn.ctx, cut, target)
	t.Logf("host %d caught up %d blocks in %v after the link came back", cut, target-before, time.Since(healed).Round(time.Millisecond))
	nn.checkAll(t)
}

// split: hosts {0,1} and {2,3} cannot reach each other. Neither side has
// 2/3 of the votes, so no block commits on either side; txs sent to both
// sides during the split commit once it heals.
func (nn *netnsNet) split(t *testing.T) {
	nn.lab.Partition([][]int{{0, 1}, {2, 3}})
	// A block whose votes were already out may still commit; then nothing.
	var settled []int64
	nn.eventually(t, 30*time.Second, func() error {
		prev := settled
		settled = nil
		for i := range nn.procs {
			settled = append(settled, nn.height(nn.ctx, i))
		}
		if prev == nil || fmt.Sprint(prev) != fmt.Sprint(settled) {
			time.Sleep(2 * time.Second)
			return fmt.Errorf("heights still moving: %v", settled)
		}
		return nil
	})
	// Txs to both sides, submitted now and confirmed after healing.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for side, i := range []int{0, 2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hash := recordHash(20_000 + side)
			tx := anchorTx(t, nn.homes[i], nn.chainID, hash)
			if _, err := nn.client(i).Submit(nn.ctx, tx); err != nil {
				errs <- fmt.Errorf("anchor on side %d: %w", side, err)
				return
			}
			nn.mu.Lock()
			nn.records = append(nn.records, hash)
			nn.mu.Unlock()
		}()
	}
	// Ten seconds of split is many consensus rounds: none may commit.
	hold := time.NewTimer(10 * time.Second)
	select {
	case <-hold.C:
	case <-nn.ctx.Done():
		t.Fatal(nn.ctx.Err())
	}
	for i := range nn.procs {
		if h := nn.height(nn.ctx, i); h != settled[i] {
			t.Fatalf("node %d committed during the split: height %d → %d", i, settled[i], h)
		}
	}
	nn.lab.Partition(nil)
	healed := time.Now()
	top := slicesMax(settled)
	for i := range nn.procs {
		nn.waitHeight(nn.ctx, i, top+2)
	}
	t.Logf("split held every node at heights %v for 10s; chain resumed %v after healing", settled, time.Since(healed).Round(time.Millisecond))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// No fork: the heights committed just before the split have one app
	// hash everywhere.
	for h := top - 1; h <= top; h++ {
		var want string
		for i := range nn.procs {
			got, err := nn.client(i).AppHashAt(nn.ctx, h)
			if err != nil {
				t.Fatalf("node %d: app hash at %d: %v", i, h, err)
			}
			if want != "" && got != want {
				t.Fatalf("fork at height %d: node %d has %s, another %s", h, i, got, want)
			}
			want = got
		}
	}
	nn.checkAll(t)
}

// restartAll kills every node at once (a power cut) and starts them again:
// the chain resumes from disk and nothing committed is lost.
func (nn *netnsNet) restartAll(t *testing.T) {
	before := nn.checkAll(t)
	var wg sync.WaitGroup
	for i := range nn.procs {
		p := nn.procs[i]
		nn.procs[i] = nil
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.cmd.Process.Kill()
			<-p.done
		}()
	}
	wg.Wait()
	start := time.Now()
	for i := range nn.procs {
		nn.start(i)
	}
	for i := range nn.procs {
		nn.waitHeight(nn.ctx, i, before+2)
	}
	t.Logf("after every node was killed at height ≥ %d, the chain resumed in %v", before, time.Since(start).Round(time.Millisecond))
	nn.anchor(t, 1, 80_000)
	nn.checkAll(t)
}

func slicesMax(v []int64) int64 {
	m := v[0]
	for _, x := range v[1:] {
		m = max(m, x)
	}
	return m
}

// killDuringBurst: records are anchored through node 1 in a burst, each by a
// client that confirms inclusion and resubmits; node 1 gets SIGKILL once some
// are committed and others are still in its mempool or on their way, and is
// restarted. Every record the client was told committed is on every node.
func (nn *netnsNet) killDuringBurst(t *testing.T) {
	const victim, burst = 1, 60
	c := nn.client(victim)
	txs := make([][]byte, burst)
	for k := range txs {
		txs[k] = anchorTx(t, nn.homes[victim], nn.chainID, recordHash(70_000+k))
	}
	var launched, committed atomic.Int32
	var wg sync.WaitGroup
	wg.Add(burst)
	errs := make(chan error, burst)
	// One submitter every 100 ms: the burst spans several blocks and the kill.
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	go func() {
		for k := range txs {
			<-pace.C
			launched.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Submit(nn.ctx, txs[k]); err != nil {
					errs <- fmt.Errorf("record %d: %w", k, err)
					return
				}
				committed.Add(1)
				nn.mu.Lock()
				nn.records = append(nn.records, recordHash(70_000+k))
				nn.mu.Unlock()
			}()
		}
	}()
	nn.eventually(t, time.Minute, func() error {
		if n := committed.Load(); n < 10 {
			return fmt.Errorf("%d records of the burst committed", n)
		}
		return nil
	})
	atKill, inFlight := committed.Load(), launched.Load()-committed.Load()
	nn.kill(victim)
	nn.start(victim)
	restarted := time.Now()
	wg.Wait() // every Submit returns: committed, refused, or the test's deadline
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("node %d killed with %d of %d records committed and %d in flight; all %d committed %v after its restart",
		victim, atKill, burst, inFlight, burst, time.Since(restarted).Round(time.Millisecond))
	nn.checkAll(t)
}

// jobs registers a committee of the 4 members, runs an SS auction and an HE
// credit scoring across the hosts (their latency is the e2e figure with
// network delay), then kills a committee member in the middle of each: the
// SS job aborts naming it, the HE job finishes with the threshold.
func (nn *netnsNet) jobs(t *testing.T) {
	jr := &jobRunner{t: t, ctx: nn.ctx, nw: nn.network}
	start := time.Now()
	// Threshold 2 of 4: with one member killed, 3 > t members remain, so
	// the recipient still compares the key switches of several t-subsets (a
	// single subset's result is refused when n > t, see mpc/he).
	jr.cli(2, "committee", "create", "--id", "c1", "--members", "node0,node1,node2,node3", "--threshold", "2")
	jr.waitCommittee("c1")
	t.Logf("committee c1 (2 of 4): registered and DKG done in %v", time.Since(start).Round(time.Millisecond))

	bids := map[int]uint64{0: 700, 1: 900, 3: 800}
	res := jr.run(t, 2, "auction-vickrey", "NV1", jobrun.AuctionParams{MaxBid: 10000}, bids, "node2")
	if res.Auction == nil || res.Auction.Winner != "node1" || res.Auction.Price != 800 {
		t.Fatalf("vickrey result %+v, want node1 at 800", res.Auction)
	}
	t.Logf("latency SS auction-vickrey (3 bids): submit → result anchored %v (%s)", jr.latency.Round(time.Millisecond), nn.jobSpan(t, "NV1"))
	jr.runCredit(t, "NC1")
	t.Logf("latency HE credit-score (40 subjects, 2 providers): submit → result anchored %v (%s)", jr.latency.Round(time.Millisecond), nn.jobSpan(t, "NC1"))

	// SS: node3 is killed once every input is committed, as the committee
	// starts computing; the job aborts and names it.
	jr.onRunning = func() { nn.kill(3) }
	jr.writeInputs("NV-kill", map[int]uint64{0: 10, 1: 20})
	start = time.Now()
	jr.submit(2, "auction-vickrey", "NV-kill", jobrun.AuctionParams{MaxBid: 10000}, []string{"node0", "node1"}, "node2", 400)
	j := jr.waitEnd("NV-kill")
	if j.Status != "aborted" || !strings.Contains(j.AbortReason, "node3") {
		t.Fatalf("SS job with a member killed: %+v", j)
	}
	t.Logf("SS job with node3 killed mid-job aborted in %v: %s", time.Since(start).Round(time.Millisecond), j.AbortReason)
	nn.start(3)
	nn.waitHeight(nn.ctx, 3, nn.height(nn.ctx, 0))

	// HE: the same, and 3 of 4 members finish the job in this one
	// submission (if node3 joined the key-switching family before dying,
	// the recipient re-forms it without node3).
	jr.onRunning = func() { nn.kill(3) }
	jr.runCredit(t, "NC-kill")
	if jr.onRunning != nil {
		t.Fatal("the HE job ended before it was running: no member was killed")
	}
	t.Logf("HE job with node3 killed mid-job finished with 3 of 4 in %v", jr.latency.Round(time.Millisecond))
	nn.start(3)
	nn.waitHeight(nn.ctx, 3, nn.height(nn.ctx, 0))
	nn.checkAll(t)
}

// jobSpan gives the heights at which a job was submitted and ended: its
// request, each input commitment and its result are txs, so part of its
// latency is block intervals.
func (nn *netnsNet) jobSpan(t *testing.T, id string) string {
	t.Helper()
	j, err := nn.client(0).Job(nn.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("blocks %d → %d", j.SubmittedHeight, j.FinishedHeight)
}
