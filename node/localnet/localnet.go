// Package localnet runs a whole cohort network inside one process: N nodes,
// each with its own CometBFT node (a validator, or a member node without
// voting power), badger stores, libp2p host, API and
// job scheduler, talking over loopback exactly as separate machines would.
// `cohort demo` and the end-to-end benchmark drive it through the nodes'
// APIs and signed txs, like any client. Members without a node
// (Options.Nodeless) are keys only; callers act as them through a node's API
// (SubmitAs, SupplySealed).
package localnet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/zk"
)

// Options configure a local network.
type Options struct {
	Nodes int // default 4 (the default testnet: enterprises, platform, supervisor)
	// Validators: nodes 0 … Validators-1 validate; the others are member
	// nodes without voting power (enterprises). 0: every node validates.
	// 4 validators and more nodes get the default policy with the extra
	// members added (node.DefaultTestnetPolicy).
	Validators int
	// Nodeless adds members that run no node (node.InitMember):
	// enterprises firm0 … whose account and sealing keys are files (0600)
	// under Dir/<name>; tests and the bench act as them through a node's
	// API (SubmitAs, Supplier). With 4 nodes they join the default policy.
	Nodeless int
	ChainID  string // default "cohort-local"
	HEPreset string // "secure" (default) or "insecure-test"
	Dir      string // where the node homes go; a new temporary directory if empty
	// ZKKeysDir holds the zk keys to register; empty makes development keys
	// of DevCircuits.
	ZKKeysDir string
	// DevCircuits lists the circuits to make development keys for when
	// ZKKeysDir is empty; nil: the input circuit only (bids and quotes are
	// range proven). The keys are written to Net.ZKKeysDir.
	DevCircuits []string
	Log         *slog.Logger
}

// Net is a running local network.
type Net struct {
	Dir string
	// ZKKeysDir holds the zk keys the chain registered (proving keys too).
	ZKKeysDir string
	Homes     []string
	Nodes     []*node.Node
	Clients   []*client.Client
	// Nodeless are the members without a node, by name; their homes hold
	// their keys.
	Nodeless []Member
	ownDir   bool
	// committed is the highest height the caller acted on (a tx submitted
	// through Submit committed there, or Run saw a job end there): a later
	// Submit through any node first waits until that node has it too, so that
	// the tx is checked against a state that includes what came before (each
	// node answers from its own state).
	committed atomic.Int64
}

// Start makes development zk keys for the input circuit (bids are range
// proven), a testnet with the default policy, starts every node and waits
// until they commit blocks.
func Start(ctx context.Context, o Options) (*Net, error) {
	if o.Nodes == 0 {
		o.Nodes = 4
	}
	if o.ChainID == "" {
		o.ChainID = "cohort-local"
	}
	if o.HEPreset == "" {
		o.HEPreset = "secure"
	}
	n := &Net{Dir: o.Dir}
	if n.Dir == "" {
		d, err := os.MkdirTemp("", "cohort-localnet-")
		if err != nil {
			return nil, err
		}
		n.Dir, n.ownDir = d, true
	}
	keysDir := o.ZKKeysDir
	if keysDir == "" {
		keysDir = filepath.Join(n.Dir, "zk")
		circuits := o.DevCircuits
		if circuits == nil {
			circuits = []string{zk.CircuitInput}
		}
		for _, c := range circuits {
			keys, err := zk.DevSetup(ctx, c)
			if err != nil {
				return nil, fmt.Errorf("localnet: development keys of %s: %w", c, err)
			}
			if err := keys.Save(keysDir); err != nil {
				return nil, err
			}
		}
	}
	n.ZKKeysDir = keysDir
	base, err := FreePorts(o.Nodes * 10)
	if err != nil {
		return nil, err
	}
	to := node.TestnetOptions{Nodes: o.Nodes, Validators: o.Validators, Nodeless: o.Nodeless, BasePort: base, ChainID: o.ChainID,
		Genesis: node.GenesisOptions{ZKKeysDir: keysDir, HEPreset: o.HEPreset}}
	if to.Genesis.Policy, err = node.DefaultTestnetPolicy(to); err != nil {
		return nil, err
	}
	if n.Homes, err = node.Testnet(n.Dir, to); err != nil {
		return nil, err
	}
	for k := 0; k < o.Nodeless; k++ {
		name := node.NodelessName(k)
		n.Nodeless = append(n.Nodeless, Member{Name: name, Home: filepath.Join(n.Dir, name)})
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	for _, h := range n.Homes {
		nd, err := node.Start(ctx, h, log)
		if err != nil {
			n.Stop()
			return nil, err
		}
		n.Nodes = append(n.Nodes, nd)
		n.Clients = append(n.Clients, client.New(nd.APIAddr()))
	}
	for _, c := range n.Clients {
		if err := WaitHeight(ctx, c, 2, time.Minute); err != nil {
			n.Stop()
			return nil, err
		}
	}
	return n, nil
}

// Stop stops every node and removes a temporary directory.
func (n *Net) Stop() {
	for _, nd := range n.Nodes {
		nd.Stop()
	}
	n.Nodes = nil
	if n.ownDir {
		os.RemoveAll(n.Dir)
	}
}

// Name is member i's name in the default testnet.
func Name(i int) string { return fmt.Sprintf("node%d", i) }

// Member is a member without a node: its home holds its account and
// sealing keys (0600).
type Member struct {
	Name string
	Home string
}

// Submit signs a message as member i and waits until it is committed. Node i
// first catches up with the blocks earlier submits committed in (see
// Net.committed).
func (n *Net) Submit(ctx context.Context, i int, set func(*ledgerpb.TxPayload)) error {
	return n.submitAs(ctx, Name(i), n.Homes[i], i, set)
}

// SubmitAs signs a message as the member without a node called name and
// submits it through node via, as Submit does.
func (n *Net) SubmitAs(ctx context.Context, name string, via int, set func(*ledgerpb.TxPayload)) error {
	m, err := n.member(name)
	if err != nil {
		return err
	}
	return n.submitAs(ctx, m.Name, m.Home, via, set)
}

// Supplier returns what supplies the sealed job inputs of the member
// without a node called name through node via's API, proving with keys:
// the sealing keys from the genesis in the member's home, the job and its
// committee confirmed by every other node (its witnesses).
func (n *Net) Supplier(name string, via int, keys *zk.Keys) (*node.SealedSupplier, error) {
	m, err := n.member(name)
	if err != nil {
		return nil, err
	}
	key, err := node.LoadAccountKey(m.Home)
	if err != nil {
		return nil, err
	}
	g, err := node.LoadSealingGenesis(m.Home)
	if err != nil {
		return nil, err
	}
	var witnesses []*client.Client
	for i, c := range n.Clients {
		if i != via {
			witnesses = append(witnesses, c)
		}
	}
	return &node.SealedSupplier{Client: n.Clients[via], Name: m.Name, Account: key, InputKeys: keys, Genesis: g,
		Witnesses: witnesses, TrustAPI: len(witnesses) == 0}, nil
}

// SupplySealed waits until every node holds job jobID, then posts the sealed
// inputs of the member without a node called name (inputs[slot] is each
// slot's input file) through node via, as `cohort order quote --sealed` does.
func (n *Net) SupplySealed(ctx context.Context, name string, via int, keys *zk.Keys, jobID string, inputs map[string][]byte) error {
	s, err := n.Supplier(name, via, keys)
	if err != nil {
		return err
	}
	if err := s.WaitJob(ctx, jobID, time.Minute); err != nil {
		return err
	}
	return s.Supply(ctx, jobID, inputs)
}

// WaitJob waits until the node behind c holds job id.
func WaitJob(ctx context.Context, c *client.Client, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		_, err := c.Job(ctx, id)
		if err == nil {
			return nil
		}
		if !client.IsNotFound(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for job %s: %w", id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (n *Net) member(name string) (Member, error) {
	for _, m := range n.Nodeless {
		if m.Name == name {
			return m, nil
		}
	}
	return Member{}, fmt.Errorf("localnet: no member without a node called %q", name)
}

func (n *Net) submitAs(ctx context.Context, signer, home string, i int, set func(*ledgerpb.TxPayload)) error {
	key, err := node.LoadAccountKey(home)
	if err != nil {
		return err
	}
	id, err := ledger.NewTxID()
	if err != nil {
		return err
	}
	p := &ledgerpb.TxPayload{ChainId: n.Nodes[i].App().ChainID(), TxId: id, Signer: signer}
	set(p)
	tx, err := ledger.SignTx(key, p)
	if err != nil {
		return err
	}
	if h := n.committed.Load(); h > 0 {
		if err := WaitHeight(ctx, n.Clients[i], h, time.Minute); err != nil {
			return fmt.Errorf("localnet: %s catching up before a submit: %w", Name(i), err)
		}
	}
	res, err := n.Clients[i].Submit(ctx, tx)
	if err != nil {
		return err
	}
	n.saw(res.Height)
	return nil
}

// saw records that the caller acted on the state at height h (a commit, a
// job's end): later submits wait until their node has it.
func (n *Net) saw(h int64) {
	for {
		old := n.committed.Load()
		if h <= old || n.committed.CompareAndSwap(old, h) {
			return
		}
	}
}

// CreateCommittee registers a committee (as member creator) and waits until
// its members ran their setup and it is active.
func (n *Net) CreateCommittee(ctx context.Context, creator int, id string, members []string, threshold uint32, timeout time.Duration) error {
	if err := n.Submit(ctx, creator, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_CommitteeCreate{CommitteeCreate: &ledgerpb.CommitteeCreate{
			CommitteeId: id, Members: members, Threshold: threshold}}
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		c, err := n.Clients[0].Committee(ctx, id)
		if err == nil && c.Status == ledger.CommitteeActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("committee %s not active: %w", id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WriteInput puts the private input of a provider slot ("nodeK", or
// "nodeK/label" for a client of nodeK) where node K reads it for a job.
func (n *Net) WriteInput(slot, jobID string, v any) error {
	i := slices.Index(n.names(), jobrun.SlotNode(slot))
	if i < 0 {
		return fmt.Errorf("localnet: no node supplies slot %q", slot)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dir := filepath.Join(n.Homes[i], "inputs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, node.InputFileName(jobID, slot)), raw, 0o600)
}

// Index is the node of a member name ("nodeK"), or -1.
func (n *Net) Index(name string) int { return slices.Index(n.names(), name) }

func (n *Net) names() []string {
	out := make([]string, len(n.Homes))
	for i := range out {
		out[i] = Name(i)
	}
	return out
}

// Job describes a job to run.
type Job struct {
	ID        string
	Type      string
	Params    any
	Providers []string
	Committee string
	Recipient string
	Requester int
}

// Run submits a job and waits until the ledger records its end and, if it
// completed, until the recipient holds the result: submit → result held →
// result anchored, the span the end-to-end benchmark measures.
func (n *Net) Run(ctx context.Context, j Job) (*client.Job, *jobrun.Result, error) {
	params, err := json.Marshal(j.Params)
	if err != nil {
		return nil, nil, err
	}
	st, err := n.Clients[j.Requester].Status(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := n.Submit(ctx, j.Requester, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_JobSubmit{JobSubmit: &ledgerpb.JobSubmit{JobId: j.ID, Type: j.Type, Params: params,
			Providers: j.Providers, CommitteeId: j.Committee, Recipient: j.Recipient, DeadlineHeight: st.Height + 600}}
	}); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var rec *client.Job
	for {
		rec, err = n.Clients[0].Job(ctx, j.ID)
		if err == nil && (rec.Status == ledger.JobCompleted || rec.Status == ledger.JobAborted) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("job %s: %w", j.ID, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	// What follows (e.g. an award through another node) acts on the job's
	// end: node0 has it at its current height.
	if st, err := n.Clients[0].Status(ctx); err == nil {
		n.saw(st.Height)
	}
	if rec.Status == ledger.JobAborted {
		return rec, nil, fmt.Errorf("job %s aborted: %s", j.ID, rec.AbortReason)
	}
	recipient := n.Index(j.Recipient)
	if recipient < 0 {
		return rec, nil, fmt.Errorf("job %s: recipient %q is not a node of this network", j.ID, j.Recipient)
	}
	for {
		raw, err := n.Clients[recipient].JobOutput(ctx, j.ID, "result")
		if err == nil {
			var res jobrun.Result
			if err := json.Unmarshal(raw, &res); err != nil {
				return rec, nil, err
			}
			return rec, &res, nil
		}
		select {
		case <-ctx.Done():
			return rec, nil, fmt.Errorf("result of %s: %w", j.ID, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Agree checks that every node computed the same AppHash at the latest
// common height and returns it.
func (n *Net) Agree(ctx context.Context) (int64, string, error) {
	st, err := n.Clients[0].Status(ctx)
	if err != nil {
		return 0, "", err
	}
	var want string
	for i, c := range n.Clients {
		if err := WaitHeight(ctx, c, st.Height, time.Minute); err != nil {
			return 0, "", err
		}
		got, err := c.AppHashAt(ctx, st.Height)
		if err != nil {
			return 0, "", err
		}
		if i == 0 {
			want = got
		} else if got != want {
			return 0, "", fmt.Errorf("node%d AppHash %s differs from node0's %s at height %d", i, got, want, st.Height)
		}
	}
	return st.Height, want, nil
}

// WaitHeight waits until the node behind c has committed height h.
func WaitHeight(ctx context.Context, c *client.Client, h int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		st, err := c.Status(ctx)
		if err == nil && st.Height >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for height %d: %w", h, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreePorts finds n consecutive free loopback ports (TCP and UDP).
//
// It searches above Linux's default ephemeral range (32768–60999): a port
// in that range, free when chosen, can be taken by any outgoing connection's
// source port, or by a TCP self-connect of a peer redialling a stopped node,
// and the node then fails to restart on it ("address already in use").
func FreePorts(n int) (int, error) {
	for base := 61000; base+n <= 65535; base += n + 3 {
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
			u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			u.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive loopback ports", n)
}
