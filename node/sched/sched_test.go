package sched

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/node/blob"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/jobrun/jobruntest"
)

// fakeLedger plays the ledger for schedulers in one process: it keeps jobs
// and committees, applies the txs they submit with the ledger's job rules
// that matter here, and hands every tx to every scheduler as a block of its
// own (committed state first, then the block event, as CometBFT does).
type fakeLedger struct {
	mu         sync.Mutex
	height     int64
	jobs       map[string]*ledgerpb.Job
	committees map[string]*ledgerpb.Committee
	txs        []*ledgerpb.TxPayload // every submitted tx, accepted or not
	feeds      []chan Block
	// members are the registered members with their DKG keys (only the
	// committee-setup tests register any).
	members map[string]*ledgerpb.Member
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{jobs: map[string]*ledgerpb.Job{}, committees: map[string]*ledgerpb.Committee{}}
}

func (f *fakeLedger) Job(id string) (*ledgerpb.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return nil, fmt.Errorf("job %q: %w", id, ledger.ErrNotFound)
	}
	return proto.Clone(j).(*ledgerpb.Job), nil
}

func (f *fakeLedger) Committee(id string) (*ledgerpb.Committee, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.committees[id]
	if !ok {
		return nil, fmt.Errorf("committee %q: %w", id, ledger.ErrNotFound)
	}
	return proto.Clone(c).(*ledgerpb.Committee), nil
}

func (f *fakeLedger) Committees() ([]*ledgerpb.Committee, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*ledgerpb.Committee
	for _, id := range slices.Sorted(maps.Keys(f.committees)) {
		out = append(out, proto.Clone(f.committees[id]).(*ledgerpb.Committee))
	}
	return out, nil
}

func (f *fakeLedger) OpenJobs() ([]*ledgerpb.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*ledgerpb.Job
	for _, id := range slices.Sorted(maps.Keys(f.jobs)) {
		if j := f.jobs[id]; j.Status == ledger.JobCollecting || j.Status == ledger.JobRunning {
			out = append(out, proto.Clone(j).(*ledgerpb.Job))
		}
	}
	return out, nil
}

func (f *fakeLedger) Member(name string) (*ledgerpb.Member, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[name]
	return m, ok
}

func (f *fakeLedger) SealedInputs(*ledgerpb.Job, int) ([][]byte, error) { return nil, nil }
func (f *fakeLedger) SealedCommitments(*ledgerpb.Job) ([][]byte, error) { return nil, nil }

func (f *fakeLedger) ChainID() string { return "fake-chain" }

// feed registers a scheduler's block channel.
func (f *fakeLedger) feed() chan Block {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan Block, 64)
	f.feeds = append(f.feeds, ch)
	return ch
}

// commit applies one tx in a block of its own and announces the block.
func (f *fakeLedger) commit(p *ledgerpb.TxPayload) error {
	f.mu.Lock()
	f.txs = append(f.txs, p)
	err := f.apply(p)
	f.height++
	b := Block{Height: f.height}
	if err == nil {
		b.Txs = []*ledgerpb.TxPayload{p}
	}
	feeds := slices.Clone(f.feeds)
	f.mu.Unlock()
	for _, ch := range feeds {
		ch <- b
	}
	return err
}

func (f *fakeLedger) Submit(_ context.Context, set func(*ledgerpb.TxPayload)) error {
	return f.commit(f.payload(set))
}

func (f *fakeLedger) payload(set func(*ledgerpb.TxPayload)) *ledgerpb.TxPayload {
	p := &ledgerpb.TxPayload{}
	set(p)
	return p
}

// apply runs the job rules of the real ledger that the scheduler relies on
// (signers are not modelled: every member signs for itself).
func (f *fakeLedger) apply(p *ledgerpb.TxPayload) error {
	open := func(id string) (*ledgerpb.Job, error) {
		j, ok := f.jobs[id]
		switch {
		case !ok:
			return nil, &ledger.TxError{Code: ledger.CodeInvalid, Msg: "unknown job"}
		case j.Status == ledger.JobCompleted || j.Status == ledger.JobAborted:
			return nil, &ledger.TxError{Code: ledger.CodeJobFinished, Msg: "job is " + j.Status}
		}
		return j, nil
	}
	switch m := p.Msg.(type) {
	case *ledgerpb.TxPayload_CommitteeCreate:
		c := m.CommitteeCreate
		f.committees[c.CommitteeId] = &ledgerpb.Committee{Id: c.CommitteeId, Members: c.Members, Threshold: c.Threshold, Status: ledger.CommitteePending}
	case *ledgerpb.TxPayload_CommitteeConfirm:
		c, ok := f.committees[m.CommitteeConfirm.CommitteeId]
		if !ok || c.Status != ledger.CommitteePending || slices.Contains(c.Confirmed, p.Signer) {
			return &ledger.TxError{Code: ledger.CodeInvalid, Msg: "cannot confirm"}
		}
		c.Confirmed = append(c.Confirmed, p.Signer)
		c.HeKeyHash = m.CommitteeConfirm.HeKeyHash
		if len(c.Confirmed) == len(c.Members) {
			c.Status, c.CommitteeKey = ledger.CommitteeActive, m.CommitteeConfirm.CommitteeKey
		}
	case *ledgerpb.TxPayload_JobSubmit:
		s := m.JobSubmit
		f.jobs[s.JobId] = &ledgerpb.Job{Id: s.JobId, Type: s.Type, Params: s.Params, Providers: s.Providers, CommitteeId: s.CommitteeId,
			Recipient: s.Recipient, Requester: "requester", Status: ledger.JobCollecting, InputCommitments: make([][]byte, len(s.Providers))}
	case *ledgerpb.TxPayload_JobInput:
		j, err := open(m.JobInput.JobId)
		if err != nil {
			return err
		}
		slot := m.JobInput.Provider
		if slot == "" {
			slot = p.Signer
		}
		i := slices.Index(j.Providers, slot)
		if i < 0 {
			return &ledger.TxError{Code: ledger.CodeUnauthorized, Msg: "not a provider: " + slot}
		}
		j.InputCommitments[i] = m.JobInput.Commitment
		if !slices.ContainsFunc(j.InputCommitments, func(c []byte) bool { return len(c) == 0 }) {
			j.Status = ledger.JobRunning
		}
	case *ledgerpb.TxPayload_JobResult:
		j, err := open(m.JobResult.JobId)
		if err != nil {
			return err
		}
		j.Status, j.OutputCommitment, j.Signature = ledger.JobCompleted, m.JobResult.OutputCommitment, m.JobResult.Signature
	case *ledgerpb.TxPayload_JobAbort:
		j, err := open(m.JobAbort.JobId)
		if err != nil {
			return err
		}
		j.Status, j.AbortReason, j.Culprit = ledger.JobAborted, m.JobAbort.Reason, m.JobAbort.Culprit
	}
	return nil
}

// submitted returns the messages of the accepted and refused txs of a type.
func submitted[T any](f *fakeLedger) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, p := range f.txs {
		if m, ok := p.Msg.(T); ok {
			out = append(out, m)
		}
	}
	return out
}

// signedSubmit attributes a member's txs to it.
type signedSubmit struct {
	*fakeLedger
	name string
}

func (s signedSubmit) Submit(_ context.Context, set func(*ledgerpb.TxPayload)) error {
	p := s.payload(set)
	p.Signer = s.name
	return s.commit(p)
}

type noBlobs struct{}

func (noBlobs) Put([]byte) (blob.Hash, error) { return blob.Hash{}, nil }
func (noBlobs) Get(blob.Hash) ([]byte, error) { return nil, io.EOF }
func (noBlobs) Fetch(context.Context, string, blob.Hash) ([]byte, error) {
	return nil, io.EOF
}

// node is one scheduler of a test, run until the test ends.
type node struct {
	s       *Scheduler
	mu      sync.Mutex
	results map[string]any
}

func startNode(t *testing.T, f *fakeLedger, name string, preset *he.Preset, store jobrun.Store, nw transport.Network, inputs map[string][]byte) *node {
	t.Helper()
	return startNodeDKG(t, f, name, preset, store, nw, inputs, nil)
}

// startNodeDKG is startNode with the node's long-term DKG key (committee
// setups).
func startNodeDKG(t *testing.T, f *fakeLedger, name string, preset *he.Preset, store jobrun.Store, nw transport.Network, inputs map[string][]byte, dkg *committee.LongTermKey) *node {
	t.Helper()
	n := &node{results: map[string]any{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(Config{DKG: dkg,
		Name: name, Ledger: signedSubmit{f, name}, Network: nw, Preset: preset, Store: store, Blobs: noBlobs{}, Log: log,
		ReadInput: func(jobID, slot string) ([]byte, error) {
			if in, ok := inputs[slot]; ok {
				return in, nil
			}
			return nil, fmt.Errorf("no input for %s", slot)
		},
		SaveResult: func(jobID, kind string, v any) error {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.results[jobID+"/"+kind] = v
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.s = s
	ctx, cancel := context.WithCancel(context.Background())
	feed := f.feed()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, feed) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
	})
	return n
}

// waitJob waits until a job's status is one of want (generous: CPU load).
func waitJob(t *testing.T, f *fakeLedger, id string, want ...string) *ledgerpb.Job {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := f.Job(id)
		if err == nil && slices.Contains(want, j.Status) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: %+v %v, want status %v", id, j, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var testPreset = sync.OnceValues(he.InsecureTestPreset)

// cluster is a 3-member committee whose HE keys and BLS DKG ran for real.
var cluster = sync.OnceValues(func() (*jobruntest.Cluster, error) {
	preset, err := testPreset()
	if err != nil {
		return nil, err
	}
	return jobruntest.NewCluster(context.Background(), preset, 3, 2)
})

func activeCommittee(t *testing.T, f *fakeLedger, c *jobruntest.Cluster) {
	t.Helper()
	key, err := c.Record.Key.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committees[jobruntest.LocalCommitteeID] = &ledgerpb.Committee{Id: jobruntest.LocalCommitteeID, Members: c.Members, Threshold: 2,
		Status: ledger.CommitteeActive, CommitteeKey: key, Confirmed: c.Members}
}

func submitJob(t *testing.T, f *fakeLedger, s *ledgerpb.JobSubmit) {
	t.Helper()
	if err := f.commit(&ledgerpb.TxPayload{Signer: "requester", Msg: &ledgerpb.TxPayload_JobSubmit{JobSubmit: s}}); err != nil {
		t.Fatal(err)
	}
}

// TestMemberAbortsAJobItCannotRun: a job the ledger accepted but that the
// committee cannot run (its preset cannot hold the subjects; a member without
// keys) ends with the members' abort naming the reason, before any provider
// is asked for input.
func TestMemberAbortsAJobItCannotRun(t *testing.T) {
	c, err := cluster()
	if err != nil {
		t.Fatal(err)
	}
	preset, _ := testPreset()
	t.Run("preset", func(t *testing.T) {
		f := newFakeLedger()
		activeCommittee(t, f, c)
		for i, m := range c.Members {
			startNode(t, f, m, preset, c.Stores[i], c.Network, nil)
		}
		// 8000 subjects pass the spec (the secure preset holds 8192) but
		// not the test preset's slots.
		submitJob(t, f, &ledgerpb.JobSubmit{JobId: "too-big", Type: "credit-score", CommitteeId: jobruntest.LocalCommitteeID, Recipient: "n0",
			Providers: []string{"n0", "n1"}, Params: []byte(`{"subjects":8000,"weights":[1,2],"provider_features":[[0],[1]]}`)})
		j := waitJob(t, f, "too-big", ledger.JobAborted)
		if !strings.Contains(j.AbortReason, "cannot run the job") || !strings.Contains(j.AbortReason, "8000 subjects") {
			t.Fatalf("abort reason %q", j.AbortReason)
		}
		if got := submitted[*ledgerpb.TxPayload_JobInput](f); len(got) != 0 {
			t.Fatalf("providers committed %d inputs to a job that cannot run", len(got))
		}
	})
	t.Run("unchecked HE keys", func(t *testing.T) {
		// The members' HE key records say unchecked (written before the
		// share check existed): an HE job ends with their abort at once,
		// naming the reason, before any provider commits.
		f := newFakeLedger()
		activeCommittee(t, f, c)
		for i, m := range c.Members {
			startNode(t, f, m, preset, jobruntest.LegacyHEStore(c.Stores[i]), c.Network, nil)
		}
		submitJob(t, f, &ledgerpb.JobSubmit{JobId: "unchecked", Type: "aggregate", CommitteeId: jobruntest.LocalCommitteeID, Recipient: "n0",
			Providers: []string{"n0", "n1"}, Params: []byte(`{"bins":4,"lo":0,"hi":100}`)})
		j := waitJob(t, f, "unchecked", ledger.JobAborted)
		if !strings.Contains(j.AbortReason, "cannot run the job") || !strings.Contains(j.AbortReason, "did not check every member's key shares") {
			t.Fatalf("abort reason %q", j.AbortReason)
		}
		if got := submitted[*ledgerpb.TxPayload_JobInput](f); len(got) != 0 {
			t.Fatalf("providers committed %d inputs to a job on unchecked keys", len(got))
		}
	})
	t.Run("missing keys", func(t *testing.T) {
		f := newFakeLedger()
		activeCommittee(t, f, c)
		// Only n2 runs, with an empty store: it lost its committee keys.
		startNode(t, f, "n2", preset, he.NewMemoryStore(), c.Network, nil)
		submitJob(t, f, &ledgerpb.JobSubmit{JobId: "no-keys", Type: "auction-first", CommitteeId: jobruntest.LocalCommitteeID, Recipient: "n0",
			Providers: []string{"n0", "n1"}})
		j := waitJob(t, f, "no-keys", ledger.JobAborted)
		if !strings.Contains(j.AbortReason, "committee member n2 cannot run the job") || !strings.Contains(j.AbortReason, "keys") {
			t.Fatalf("abort reason %q", j.AbortReason)
		}
	})
}

// TestJobRunsOnBlockEvents: three schedulers run an auction end to end on a
// fake ledger and an in-memory network, driven only by the blocks the
// ledger announces: inputs committed, the job running, one result record
// (the first signer's; a late duplicate is told the job is finished), the
// recipient's result saved.
func TestJobRunsOnBlockEvents(t *testing.T) {
	c, err := cluster()
	if err != nil {
		t.Fatal(err)
	}
	preset, _ := testPreset()
	f := newFakeLedger()
	activeCommittee(t, f, c)
	inputs := map[string][]byte{"n0": []byte(`{"bid":700}`), "n1": []byte(`{"bid":900}`), "n1/client": []byte(`{"bid":800}`)}
	var nodes []*node
	for i, m := range c.Members {
		nodes = append(nodes, startNode(t, f, m, preset, c.Stores[i], c.Network, inputs))
	}
	submitJob(t, f, &ledgerpb.JobSubmit{JobId: "auction", Type: "auction-vickrey", CommitteeId: jobruntest.LocalCommitteeID, Recipient: "n2",
		Providers: []string{"n0", "n1", "n1/client"}})
	j := waitJob(t, f, "auction", ledger.JobCompleted, ledger.JobAborted)
	if j.Status != ledger.JobCompleted {
		t.Fatalf("job aborted: %s", j.AbortReason)
	}
	if got := submitted[*ledgerpb.TxPayload_JobInput](f); len(got) != 3 {
		t.Fatalf("%d inputs committed, want 3", len(got))
	}
	rec := nodes[2]
	deadline := time.Now().Add(time.Minute)
	for {
		rec.mu.Lock()
		res, ok := rec.results["auction/result"].(*jobrun.Result)
		rec.mu.Unlock()
		if ok {
			if res.Auction == nil || res.Auction.Winner != "n1" || res.Auction.Price != 800 {
				t.Fatalf("result %+v", res.Auction)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("recipient saved no result")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(submitted[*ledgerpb.TxPayload_JobAbort](f)); n != 0 {
		t.Fatalf("%d aborts for a job that completed", n)
	}
}

// TestResumesOpenJobs: a scheduler started on a ledger that already holds
// an open job it has a part in (a restart) picks it up without any new
// block: here a member without keys aborts it.
func TestResumesOpenJobs(t *testing.T) {
	c, err := cluster()
	if err != nil {
		t.Fatal(err)
	}
	preset, _ := testPreset()
	f := newFakeLedger()
	activeCommittee(t, f, c)
	if err := f.apply(&ledgerpb.TxPayload{Msg: &ledgerpb.TxPayload_JobSubmit{JobSubmit: &ledgerpb.JobSubmit{JobId: "before-restart",
		Type: "auction-first", CommitteeId: jobruntest.LocalCommitteeID, Recipient: "n0", Providers: []string{"n0", "n1"}}}}); err != nil {
		t.Fatal(err)
	}
	startNode(t, f, "n1", preset, he.NewMemoryStore(), c.Network, nil)
	j := waitJob(t, f, "before-restart", ledger.JobAborted)
	if !strings.Contains(j.AbortReason, "committee member n1 cannot run the job") {
		t.Fatalf("abort reason %q", j.AbortReason)
	}
}

func TestClip(t *testing.T) {
	if got := clip("héllo", 2); got != "h" {
		t.Fatalf("clip on a rune boundary: %q", got)
	}
	if got := clip("abc", 5); got != "abc" {
		t.Fatal(got)
	}
}

// TestExcludedMemberPostsNothing: a member the recipient left out of a
// re-formed HE family (jobrun.ErrExcluded) posts neither a result nor an
// abort, so the job the others re-form stays open for their result; any
// other failure still posts its abort.
func TestExcludedMemberPostsNothing(t *testing.T) {
	f := newFakeLedger()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	preset, err := testPreset()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Name: "n3", Ledger: signedSubmit{f, "n3"}, Network: transport.NewMemoryNetwork(), Preset: preset, Store: he.NewMemoryStore(),
		Blobs: noBlobs{}, Log: log,
		ReadInput:  func(string, string) ([]byte, error) { return nil, fmt.Errorf("no input") },
		SaveResult: func(string, string, any) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	j := &ledgerpb.Job{Id: "j"}
	excluded := fmt.Errorf("job j: %w (epoch 1)", jobrun.ErrExcluded)
	if err := s.postOutcome(context.Background(), j, 3, nil, excluded); err != nil {
		t.Fatalf("postOutcome: %v", err)
	}
	if got := submitted[*ledgerpb.TxPayload_JobAbort](f); len(got) != 0 {
		t.Fatalf("the excluded member posted %d aborts", len(got))
	}
	_ = s.postOutcome(context.Background(), j, 3, nil, fmt.Errorf("some failure"))
	if got := submitted[*ledgerpb.TxPayload_JobAbort](f); len(got) != 1 {
		t.Fatalf("a member that failed posted %d aborts, want 1", len(got))
	}
}

// TestCommitteeAboveHalfSetsUpNoHEKey: a 3-of-3 committee (t > ⌈n/2⌉) runs
// the BLS DKG only: no HE key is made (its setup could not check the key
// shares), the confirmations carry no HE key hash, a restarted member's
// keys load without HE, its SS job runs, and an HE job on it (which the
// real ledger refuses: jobspec.CheckHECommittee) is aborted by its members
// with the reason.
func TestCommitteeAboveHalfSetsUpNoHEKey(t *testing.T) {
	preset, err := testPreset()
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeLedger()
	f.members = map[string]*ledgerpb.Member{}
	names := []string{"n0", "n1", "n2"}
	stores := make([]jobrun.Store, len(names))
	nw := transport.NewMemoryNetwork()
	var dkgs []*committee.LongTermKey
	for _, name := range names {
		k := committee.GenerateLongTermKey()
		dkgs = append(dkgs, k)
		f.members[name] = &ledgerpb.Member{Name: name, PeerId: "peer-" + name, DkgKey: k.Public().Bytes()}
	}
	inputs := map[string][]byte{"n0": []byte(`{"bid":700}`), "n1": []byte(`{"bid":900}`)}
	for i, name := range names {
		stores[i] = he.NewMemoryStore()
		startNodeDKG(t, f, name, preset, stores[i], nw, inputs, dkgs[i])
	}
	if err := f.commit(&ledgerpb.TxPayload{Signer: "requester", Msg: &ledgerpb.TxPayload_CommitteeCreate{CommitteeCreate: &ledgerpb.CommitteeCreate{
		CommitteeId: "c33", Members: names, Threshold: 3}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, err := f.Committee("c33")
		if err == nil && c.Status == ledger.CommitteeActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("committee not active: %+v %v", c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range submitted[*ledgerpb.TxPayload_CommitteeConfirm](f) {
		if len(m.CommitteeConfirm.HeKeyHash) != 0 {
			t.Fatalf("a 3-of-3 committee confirmed an HE key %x", m.CommitteeConfirm.HeKeyHash)
		}
	}
	for i := range names {
		keys, err := jobrun.LoadCommittee(context.Background(), stores[i], preset, "c33", i)
		if err != nil || keys.HE != nil || keys.BLS.Key.T != 3 {
			t.Fatalf("member %d's keys after setup: %+v %v", i, keys, err)
		}
	}
	submitJob(t, f, &ledgerpb.JobSubmit{JobId: "ss", Type: "auction-first", CommitteeId: "c33", Recipient: "n2", Providers: []string{"n0", "n1"}})
	if j := waitJob(t, f, "ss", ledger.JobCompleted, ledger.JobAborted); j.Status != ledger.JobCompleted {
		t.Fatalf("SS job on the 3-of-3 committee: %s", j.AbortReason)
	}
	submitJob(t, f, &ledgerpb.JobSubmit{JobId: "he", Type: "aggregate", CommitteeId: "c33", Recipient: "n2",
		Providers: []string{"n0", "n1"}, Params: []byte(`{"bins":4,"lo":0,"hi":100}`)})
	j := waitJob(t, f, "he", ledger.JobAborted)
	if !strings.Contains(j.AbortReason, "cannot run the job") || !strings.Contains(j.AbortReason, "HE jobs need a committee whose HE setup checks every member's key shares") {
		t.Fatalf("abort reason %q", j.AbortReason)
	}
}
