package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.dedis.ch/kyber/v3"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/adversary"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/node/blob"
	"github.com/cohortnet/cohort/node/jobrun"
)

// SetupPrefix names a committee's setup session (a transport job ID).
const SetupPrefix = "setup-"

// Ledger is what the scheduler reads from and writes to the ledger. Reads
// are of committed state; an absent object is an error wrapping
// ledger.ErrNotFound.
type Ledger interface {
	Job(id string) (*ledgerpb.Job, error)
	Committee(id string) (*ledgerpb.Committee, error)
	Committees() ([]*ledgerpb.Committee, error)
	OpenJobs() ([]*ledgerpb.Job, error)
	Member(name string) (*ledgerpb.Member, bool)
	// SealedInputs returns member's sealed share of each of a job's input
	// slots (nil for a slot not sealed: its input comes over libp2p), and
	// ChainID the chain they are bound to.
	SealedInputs(j *ledgerpb.Job, member int) ([][]byte, error)
	// SealedCommitments returns the share commitments of each of a job's
	// sealed input slots (nil for a slot not sealed).
	SealedCommitments(j *ledgerpb.Job) ([][]byte, error)
	ChainID() string
	// Submit signs a tx as this node, its message set by set, and waits
	// until it is committed. A tx the ledger refuses returns an error
	// wrapping a *ledger.TxError with the ledger's code.
	Submit(ctx context.Context, set func(*ledgerpb.TxPayload)) error
}

// Blobs holds content-addressed objects: the committee's HE public key.
type Blobs interface {
	Put(data []byte) (blob.Hash, error)
	Get(h blob.Hash) ([]byte, error)
	// Fetch gets a blob from a member's node.
	Fetch(ctx context.Context, member string, h blob.Hash) ([]byte, error)
}

// Block is one committed block, as the scheduler needs it.
type Block struct {
	Height int64
	// Txs are the payloads of the block's txs (undecodable ones left out).
	Txs []*ledgerpb.TxPayload
}

// Config wires a Scheduler to its node.
type Config struct {
	// Name is this node's member name.
	Name   string
	Ledger Ledger
	// Network carries the MPC sessions (the node's P2PNetwork, whose
	// resolver calls LookupSpec).
	Network transport.Network
	Preset  *he.Preset
	// Store keeps committee secrets and prepared inputs.
	Store jobrun.Store
	DKG   *committee.LongTermKey
	// SealingKey is the node's sealing private key: it opens the input
	// shares that providers without a node seal to it on the ledger.
	SealingKey kyber.Scalar
	Blobs      Blobs
	// ReadInput returns this node's input file for a provider slot.
	ReadInput func(jobID, slot string) ([]byte, error)
	// ProveBid proves a prepared bid lies in [0, maxBid] (the `input`
	// circuit); it returns the verifying key's ID and the proof.
	ProveBid func(ctx context.Context, in *jobrun.PreparedInput, maxBid uint64) (vkID string, proof []byte, err error)
	// SaveResult keeps what this node learned from a job (kind "result" or
	// "allocation[-label]"), readable only by it.
	SaveResult func(jobID, kind string, v any) error
	Log        *slog.Logger
	// Adversary, in binaries built with the cohort_adversary tag only,
	// makes this node a corrupted committee member (mpc/adversary); nil,
	// and always nil in production builds, is an honest one.
	Adversary *adversary.Adversary
	// ConfirmOnly, if not empty, is the allow-list of the committees this
	// node sets up and confirms: only those whose members (other than this
	// node) are all on it. Empty: every committee naming this node, as
	// before. A chain whose policy charges attested faults
	// (credit.charge_attested_faults) assumes every committee has an honest
	// majority; a node that confirms any committee naming it lets two
	// colluders form {colluder, colluder, it} and charge it (ledger/attest.go).
	ConfirmOnly []string
	// Timeouts (zero: the defaults below).
	SetupTimeout, JobTimeout time.Duration
}

// Default timeouts.
const (
	DefaultSetupTimeout = 10 * time.Minute
	DefaultJobTimeout   = 15 * time.Minute
	// resultGraceBlocks is how many blocks a member that is not the first
	// signer waits for the first signer's result record before it posts its
	// own.
	resultGraceBlocks = 2
	// resultGraceTimeout bounds that wait should blocks stall.
	resultGraceTimeout = 30 * time.Second
)

// Scheduler runs a node's committee setups and jobs. Create it with New and
// run it with Run.
type Scheduler struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	active map[string]bool // committee setups and jobs with a running goroutine
	done   map[string]bool // finished here; not restarted
	wg     sync.WaitGroup
	// next is closed, and replaced, at every block: attempts waiting for the
	// ledger to move wait on it.
	next   chan struct{}
	height int64
}

// New returns a scheduler; Run starts it.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Name == "" || cfg.Ledger == nil || cfg.Preset == nil || cfg.Store == nil || cfg.Log == nil {
		return nil, errors.New("sched: config needs a name, a ledger, a preset, a store and a logger")
	}
	if cfg.SetupTimeout == 0 {
		cfg.SetupTimeout = DefaultSetupTimeout
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	return &Scheduler{cfg: cfg, log: cfg.Log, active: map[string]bool{}, done: map[string]bool{}, next: make(chan struct{})}, nil
}

// Run resumes the pending committee setups and open jobs this node has a
// part in, then follows blocks until ctx ends or blocks closes. It returns
// when every goroutine it started has returned; a closed blocks channel
// (the node's subscription dropped) ends the running work with an error.
func (s *Scheduler) Run(ctx context.Context, blocks <-chan Block) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		s.wg.Wait()
	}()
	if err := s.resume(ctx); err != nil {
		s.log.Warn("resume after restart", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-blocks:
			if !ok {
				return errors.New("sched: the block subscription ended")
			}
			s.advance(b.Height)
			s.newWork(ctx, b.Txs)
		}
	}
}

// advance wakes every attempt waiting for the next block.
func (s *Scheduler) advance(height int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.height = height
	close(s.next)
	s.next = make(chan struct{})
}

// nextBlock returns a channel closed at the next block.
func (s *Scheduler) nextBlock() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// resume starts every pending committee setup and unfinished job this node
// has a part in: at start, after a restart.
func (s *Scheduler) resume(ctx context.Context) error {
	cs, cerr := s.cfg.Ledger.Committees()
	for _, c := range cs {
		s.startSetup(ctx, c)
	}
	js, jerr := s.cfg.Ledger.OpenJobs()
	for _, j := range js {
		s.startJob(ctx, j)
	}
	return errors.Join(cerr, jerr)
}

// newWork starts the committee setups and jobs that a block's txs create.
func (s *Scheduler) newWork(ctx context.Context, txs []*ledgerpb.TxPayload) {
	for _, p := range txs {
		switch m := p.Msg.(type) {
		case *ledgerpb.TxPayload_CommitteeCreate:
			c, err := s.cfg.Ledger.Committee(m.CommitteeCreate.CommitteeId)
			if err == nil {
				s.startSetup(ctx, c)
			} else if !errors.Is(err, ledger.ErrNotFound) { // absent: the tx was refused
				s.log.Warn("read committee", "committee", m.CommitteeCreate.CommitteeId, "err", err)
			}
		case *ledgerpb.TxPayload_JobSubmit:
			j, err := s.cfg.Ledger.Job(m.JobSubmit.JobId)
			if err == nil {
				s.startJob(ctx, j)
			} else if !errors.Is(err, ledger.ErrNotFound) {
				s.log.Warn("read job", "job", m.JobSubmit.JobId, "err", err)
			}
		}
	}
}

func (s *Scheduler) startSetup(ctx context.Context, c *ledgerpb.Committee) {
	if c.Status == ledger.CommitteePending && slices.Contains(c.Members, s.cfg.Name) && !slices.Contains(c.Confirmed, s.cfg.Name) {
		if other := s.unlisted(c.Members); other != "" {
			s.refuseSetup(c.Id, other)
			return
		}
		s.start(ctx, SetupPrefix+c.Id, func(ctx context.Context) error { return s.setup(ctx, c) })
	}
}

// unlisted returns a member of members that is neither this node nor on
// Config.ConfirmOnly, or "" if there is none (or no allow-list).
func (s *Scheduler) unlisted(members []string) string {
	if len(s.cfg.ConfirmOnly) == 0 {
		return ""
	}
	for _, m := range members {
		if m != s.cfg.Name && !slices.Contains(s.cfg.ConfirmOnly, m) {
			return m
		}
	}
	return ""
}

// refuseSetup leaves committee id unconfirmed (it never activates without
// this node), logging it once.
func (s *Scheduler) refuseSetup(id, other string) {
	key := SetupPrefix + id
	s.mu.Lock()
	logged := s.done[key]
	s.done[key] = true
	s.mu.Unlock()
	if !logged {
		s.log.Warn("not confirming a committee with a member off this node's allow-list (jobs.confirm_committees_of)", "committee", id, "member", other)
	}
}

func (s *Scheduler) startJob(ctx context.Context, j *ledgerpb.Job) {
	if j.Status == ledger.JobCompleted || j.Status == ledger.JobAborted {
		return
	}
	part, err := s.partOf(j)
	if err != nil {
		s.log.Warn("read job's committee", "job", j.Id, "err", err)
		return
	}
	if part {
		id := j.Id
		s.start(ctx, "job-"+id, func(ctx context.Context) error { return s.runJob(ctx, id) })
	}
}

func (s *Scheduler) partOf(j *ledgerpb.Job) (bool, error) {
	if j.Recipient == s.cfg.Name {
		return true, nil
	}
	for _, p := range j.Providers {
		if jobspec.SlotMember(p) == s.cfg.Name {
			return true, nil
		}
	}
	c, err := s.cfg.Ledger.Committee(j.CommitteeId)
	if err != nil {
		return false, err
	}
	return slices.Contains(c.Members, s.cfg.Name), nil
}

// start runs work in a goroutine owned by the scheduler, once per key.
func (s *Scheduler) start(ctx context.Context, key string, run func(context.Context) error) {
	s.mu.Lock()
	if s.active[key] || s.done[key] {
		s.mu.Unlock()
		return
	}
	s.active[key] = true
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := run(ctx)
		s.mu.Lock()
		delete(s.active, key)
		if err == nil || ctx.Err() == nil {
			s.done[key] = true // a failure is reported on the ledger; never retried blindly
		}
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("job work failed", "what", key, "err", err)
		}
	}()
}

// LookupSpec resolves a transport session's job ID to its parties (for the
// node's P2PNetwork resolver).
func (s *Scheduler) LookupSpec(_ context.Context, id string) (*jobrun.Spec, error) {
	if c, ok := strings.CutPrefix(id, SetupPrefix); ok {
		com, err := s.cfg.Ledger.Committee(c)
		if err != nil {
			return nil, err
		}
		return &jobrun.Spec{ID: id, Committee: com.Members}, nil
	}
	spec, _, _, err := s.spec(id)
	return spec, err
}

// spec reads a job, its committee and its validated spec from the ledger.
func (s *Scheduler) spec(jobID string) (*jobrun.Spec, *ledgerpb.Job, *ledgerpb.Committee, error) {
	j, err := s.cfg.Ledger.Job(jobID)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := s.cfg.Ledger.Committee(j.CommitteeId)
	if err != nil {
		return nil, nil, nil, err
	}
	spec, err := ledger.JobSpec(j, c)
	if err != nil {
		return nil, j, c, err
	}
	// Members without a node are no party of the job's sessions; every
	// node reads the same genesis registry, so all agree on the parties.
	for i := range spec.Providers {
		name := spec.ProviderNode(i)
		if m, ok := s.cfg.Ledger.Member(name); ok && !ledger.HasNode(m) && !slices.Contains(spec.Nodeless, name) {
			spec.Nodeless = append(spec.Nodeless, name)
		}
	}
	return spec, j, c, nil
}

// finished reports whether err is the ledger saying the job already ended
// (a late result, input or abort: nothing to do).
func finished(err error) bool {
	var te *ledger.TxError
	return errors.As(err, &te) && te.Code == ledger.CodeJobFinished
}

// setup runs the committee's key setup (HE keys and BLS DKG) and confirms it.
func (s *Scheduler) setup(ctx context.Context, c *ledgerpb.Committee) error {
	self := slices.Index(c.Members, s.cfg.Name)
	keys, err := jobrun.LoadCommittee(ctx, s.cfg.Store, s.cfg.Preset, c.Id, self)
	if err != nil {
		var pubs []committee.LongTermPublicKey
		for _, name := range c.Members {
			m, ok := s.cfg.Ledger.Member(name)
			if !ok {
				return fmt.Errorf("committee %s: unknown member %s", c.Id, name)
			}
			pk, err := committee.ParseLongTermPublicKey(m.DkgKey)
			if err != nil {
				return fmt.Errorf("committee %s: member %s DKG key: %w", c.Id, name, err)
			}
			pubs = append(pubs, pk)
		}
		s.log.Info("committee setup", "committee", c.Id, "members", len(c.Members), "threshold", c.Threshold)
		sctx, cancel := context.WithTimeout(ctx, s.cfg.SetupTimeout)
		defer cancel()
		conn, err := s.cfg.Network.Open(sctx, jobrun.SessionID(SetupPrefix+c.Id, 0, jobrun.SessionMPC), transport.PartyID(self), len(c.Members))
		if err != nil {
			return err
		}
		defer conn.Close()
		keys, err = jobrun.SetupCommittee(sctx, conn, jobrun.CommitteeConfig{
			CommitteeID: c.Id, Preset: s.cfg.Preset, Threshold: int(c.Threshold), LongTerm: s.cfg.DKG, Members: pubs,
		}, s.cfg.Store)
		if err != nil {
			return fmt.Errorf("committee %s setup: %w", c.Id, err)
		}
	}
	rec, err := keys.Record()
	if err != nil {
		return err
	}
	// A committee with a threshold above ⌈n/2⌉ has no HE key (its HE setup
	// could not check the members' key shares; jobrun.SetupCommittee): it
	// confirms no HE key hash, and the ledger gives it no HE job.
	var heHash []byte
	if rec.HEPublicKey != nil {
		h, err := s.cfg.Blobs.Put(rec.HEPublicKey)
		if err != nil {
			return err
		}
		heHash = h[:]
	}
	ck, err := rec.Key.MarshalBinary()
	if err != nil {
		return err
	}
	heKeys := "shares checked"
	switch {
	case keys.HE == nil:
		heKeys = "none (threshold above ⌈n/2⌉: SS jobs only)"
	case !keys.HE.SharesChecked():
		heKeys = "shares NOT checked (no HE job runs on it)"
	}
	s.log.Info("committee keys ready; confirming", "committee", c.Id, "he_keys", heKeys)
	return s.cfg.Ledger.Submit(ctx, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_CommitteeConfirm{CommitteeConfirm: &ledgerpb.CommitteeConfirm{
			CommitteeId: c.Id, CommitteeKey: ck, HeKeyHash: heHash,
		}}
	})
}
