package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/node/blob"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/zk"
)

// setupPrefix names a committee's setup session (a transport job ID).
const setupPrefix = "setup-"

// scheduler runs the committee setups and jobs this node is assigned on the
// ledger: it looks at the ledger after every block, starts one goroutine per
// committee or job it has a part in, and posts what they produce (committee
// confirmations, input commitments, results, aborts). State it must not lose
// (committee key shares) is on disk; everything else is re-derived from the
// ledger after a restart.
type scheduler struct {
	n      *Node
	log    *slog.Logger
	name   string
	key    ed25519.PrivateKey
	dkg    *committee.LongTermKey
	preset *he.Preset
	store  jobrun.Store
	nw     *transport.P2PNetwork

	mu     sync.Mutex
	active map[string]bool // committee setups and jobs with a running goroutine
	done   map[string]bool // finished here; not restarted
	wg     sync.WaitGroup
}

func (n *Node) startScheduler(ctx context.Context) error {
	key, err := LoadAccountKey(n.home)
	if err != nil {
		return err
	}
	dkg, err := LoadDKGKey(n.home)
	if err != nil {
		return err
	}
	preset, err := hePreset(n.cfg.Jobs.HEPreset)
	if err != nil {
		return err
	}
	store, err := he.NewFileStore(filepath.Join(n.home, "data", "committee"))
	if err != nil {
		return err
	}
	s := &scheduler{n: n, log: n.log.With("module", "jobs"), name: n.cfg.Moniker, key: key, dkg: dkg,
		preset: preset, store: store, active: map[string]bool{}, done: map[string]bool{}}
	s.nw = transport.NewP2PNetwork(n.host.Libp2p(),
		transport.WithCommitteeResolver(jobrun.P2PResolver(s.lookupSpec, s.peerOf)),
		transport.WithLogger(n.log.With("module", "mpc")))
	n.sched = s
	blocks, err := n.SubscribeBlocks(ctx, "scheduler", 1000)
	if err != nil {
		return err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		s.poll(ctx) // resume after a restart
		for {
			select {
			case <-ctx.Done():
				return
			case b, ok := <-blocks:
				if !ok {
					return
				}
				txs := b.Txs.ToSliceOfBytes()
				s.replicate(ctx, txs)
				s.newWork(ctx, txs)
			}
		}
	}()
	return nil
}

func (s *scheduler) stop() {
	s.wg.Wait()
	if err := s.nw.Close(); err != nil {
		s.log.Warn("mpc network close", "err", err)
	}
}

func hePreset(name string) (*he.Preset, error) {
	switch name {
	case "", "secure":
		return he.SecurePreset()
	case "insecure-test":
		return he.InsecureTestPreset()
	}
	return nil, fmt.Errorf("jobs.he_preset %q: want secure or insecure-test", name)
}

// query reads committed ledger state.
func (s *scheduler) query(path string, data []byte, v proto.Message) error {
	res, err := s.n.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: data})
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return fmt.Errorf("%s %s: %s", path, data, res.Log)
	}
	return proto.Unmarshal(res.Value, v)
}

// poll starts a goroutine for every pending committee setup and unfinished
// job this node has a part in: at start, to resume after a restart.
func (s *scheduler) poll(ctx context.Context) {
	var cl ledgerpb.CommitteeList
	if err := s.query(ledger.QueryCommittees, nil, &cl); err == nil {
		for _, c := range cl.Committees {
			s.startSetup(ctx, c)
		}
	}
	var jl ledgerpb.JobList
	if err := s.query(ledger.QueryOpenJobs, nil, &jl); err == nil {
		for _, j := range jl.Jobs {
			s.startJob(ctx, j)
		}
	}
}

// newWork starts the committee setups and jobs that a block's txs create.
func (s *scheduler) newWork(ctx context.Context, txs [][]byte) {
	for _, raw := range txs {
		p, err := ledger.DecodePayload(raw, s.n.app.ChainID())
		if err != nil {
			continue
		}
		switch m := p.Msg.(type) {
		case *ledgerpb.TxPayload_CommitteeCreate:
			var c ledgerpb.Committee
			if s.query(ledger.QueryCommittee, []byte(m.CommitteeCreate.CommitteeId), &c) == nil {
				s.startSetup(ctx, &c)
			}
		case *ledgerpb.TxPayload_JobSubmit:
			var j ledgerpb.Job
			if s.query(ledger.QueryJob, []byte(m.JobSubmit.JobId), &j) == nil {
				s.startJob(ctx, &j)
			}
		}
	}
}

func (s *scheduler) startSetup(ctx context.Context, c *ledgerpb.Committee) {
	if c.Status == ledger.CommitteePending && slices.Contains(c.Members, s.name) && !slices.Contains(c.Confirmed, s.name) {
		s.start(ctx, setupPrefix+c.Id, func(ctx context.Context) error { return s.setup(ctx, c) })
	}
}

func (s *scheduler) startJob(ctx context.Context, j *ledgerpb.Job) {
	if j.Status == ledger.JobCompleted || j.Status == ledger.JobAborted || !s.partOf(j) {
		return
	}
	id := j.Id
	s.start(ctx, "job-"+id, func(ctx context.Context) error { return s.runJob(ctx, id) })
}

func (s *scheduler) partOf(j *ledgerpb.Job) bool {
	if j.Recipient == s.name {
		return true
	}
	for _, p := range j.Providers {
		if jobrun.SlotNode(p) == s.name {
			return true
		}
	}
	var c ledgerpb.Committee
	return s.query(ledger.QueryCommittee, []byte(j.CommitteeId), &c) == nil && slices.Contains(c.Members, s.name)
}

func (s *scheduler) start(ctx context.Context, key string, run func(context.Context) error) {
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

// lookupSpec resolves a transport session to its parties.
func (s *scheduler) lookupSpec(_ context.Context, id string) (*jobrun.Spec, error) {
	if c, ok := strings.CutPrefix(id, setupPrefix); ok {
		var com ledgerpb.Committee
		if err := s.query(ledger.QueryCommittee, []byte(c), &com); err != nil {
			return nil, err
		}
		return &jobrun.Spec{ID: id, Committee: com.Members}, nil
	}
	spec, _, err := s.spec(id)
	return spec, err
}

func (s *scheduler) peerOf(member string) (peer.ID, error) {
	m, ok := s.n.app.Member(member)
	if !ok {
		return "", fmt.Errorf("unknown member %q", member)
	}
	return peer.Decode(m.PeerId)
}

// spec builds a job's jobrun spec from the ledger.
func (s *scheduler) spec(jobID string) (*jobrun.Spec, *ledgerpb.Job, error) {
	var j ledgerpb.Job
	if err := s.query(ledger.QueryJob, []byte(jobID), &j); err != nil {
		return nil, nil, err
	}
	var c ledgerpb.Committee
	if err := s.query(ledger.QueryCommittee, []byte(j.CommitteeId), &c); err != nil {
		return nil, nil, err
	}
	params := j.Params
	if len(params) == 0 {
		params = []byte("{}")
	}
	spec := &jobrun.Spec{ID: j.Id, Type: jobrun.Type(j.Type), Params: params, Requester: j.Requester,
		Providers: j.Providers, Committee: c.Members, Threshold: int(c.Threshold), Recipient: j.Recipient}
	if err := spec.Validate(); err != nil {
		return nil, nil, err
	}
	return spec, &j, nil
}

// post signs and submits a message, waiting until it is committed.
func (s *scheduler) post(ctx context.Context, set func(*ledgerpb.TxPayload)) error {
	id, err := ledger.NewTxID()
	if err != nil {
		return err
	}
	p := &ledgerpb.TxPayload{ChainId: s.n.app.ChainID(), TxId: id, Signer: s.name}
	set(p)
	tx, err := ledger.SignTx(s.key, p)
	if err != nil {
		return err
	}
	// Through the node's own API: the same confirm-and-resubmit path as
	// every other client.
	_, err = client.New(s.n.APIAddr()).Submit(ctx, tx)
	return err
}

// setup runs the committee's key setup (HE keys and BLS DKG) and confirms it.
func (s *scheduler) setup(ctx context.Context, c *ledgerpb.Committee) error {
	self := slices.Index(c.Members, s.name)
	keys, err := jobrun.LoadCommittee(ctx, s.store, s.preset, c.Id, self)
	if err != nil {
		var pubs []committee.LongTermPublicKey
		for _, name := range c.Members {
			m, ok := s.n.app.Member(name)
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
		sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		conn, err := s.nw.Open(sctx, jobrun.SessionID(setupPrefix+c.Id, 0, jobrun.SessionMPC), transport.PartyID(self), len(c.Members))
		if err != nil {
			return err
		}
		defer conn.Close()
		keys, err = jobrun.SetupCommittee(sctx, conn, jobrun.CommitteeConfig{
			CommitteeID: c.Id, Preset: s.preset, Threshold: int(c.Threshold), LongTerm: s.dkg, Members: pubs,
		}, s.store)
		if err != nil {
			return fmt.Errorf("committee %s setup: %w", c.Id, err)
		}
	}
	rec, err := keys.Record()
	if err != nil {
		return err
	}
	heHash, err := s.n.blobs.Put(rec.HEPublicKey)
	if err != nil {
		return err
	}
	ck, err := rec.Key.MarshalBinary()
	if err != nil {
		return err
	}
	s.log.Info("committee keys ready; confirming", "committee", c.Id)
	return s.post(ctx, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_CommitteeConfirm{CommitteeConfirm: &ledgerpb.CommitteeConfirm{
			CommitteeId: c.Id, CommitteeKey: ck, HeKeyHash: heHash[:],
		}}
	})
}

// runJob plays every role this node has in a job.
func (s *scheduler) runJob(ctx context.Context, jobID string) error {
	spec, j, err := s.spec(jobID)
	if err != nil {
		return err
	}
	var com ledgerpb.Committee
	if err := s.query(ledger.QueryCommittee, []byte(j.CommitteeId), &com); err != nil {
		return err
	}
	member := slices.Index(com.Members, s.name)
	log := s.log.With("job", jobID)

	// This node's input slots, its own and its clients' ("node/label"),
	// are committed concurrently: each commitment waits for a block.
	slots := spec.SlotsOf(s.name)
	prepared := make([]*jobrun.PreparedInput, len(slots))
	commitErrs := make([]error, len(slots))
	var cwg sync.WaitGroup
	for k, i := range slots {
		slot := spec.Providers[i]
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			if len(j.InputCommitments[i]) == 0 {
				if prepared[k], commitErrs[k] = s.commitInput(ctx, spec, j, &com, slot); commitErrs[k] != nil {
					log.Warn("cannot provide input; the job will end without it", "slot", slot, "err", commitErrs[k])
				}
			} else if in, err := s.loadPrepared(ctx, spec, slot); err != nil {
				log.Warn("input committed before a restart cannot be resent", "slot", slot, "err", err)
			} else {
				prepared[k] = in
			}
		}()
	}
	cwg.Wait()
	if err := errors.Join(commitErrs...); err != nil {
		return err
	}
	prepared = slices.DeleteFunc(prepared, func(in *jobrun.PreparedInput) bool { return in == nil })
	// Every role talks in the job's session once every input is committed.
	j, err = s.waitRunning(ctx, jobID)
	if err != nil || j == nil {
		return err
	}
	jctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	sess, err := jobrun.Join(jctx, s.nw, spec, 0, s.name)
	if err != nil {
		return err
	}
	defer sess.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 2+len(prepared))
	for _, in := range prepared {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := jobrun.Provide(jctx, sess, in, jobrun.ProviderOptions{})
			if err == nil && res.Allocation != nil {
				err = s.saveResult(jobID, allocationKind(in.Provider), res.Allocation)
			}
			errs <- err
		}()
	}
	if member >= 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.committeeRole(jctx, ctx, sess, j, &com, member)
		}()
	}
	if j.Recipient == s.name {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, err := committee.ParseCommitteeKey(com.CommitteeKey)
			if err != nil {
				errs <- err
				return
			}
			res, err := jobrun.ReceiveResult(jctx, sess, jobrun.RecipientJob{Preset: s.preset, CommitteeKey: key, InputCommitments: j.InputCommitments})
			if err == nil {
				err = s.saveResult(jobID, "result", res)
				log.Info("result received")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// committeeRole computes as a committee member and posts the result record,
// or an abort naming the party at fault.
func (s *scheduler) committeeRole(jctx, ctx context.Context, sess *jobrun.Session, j *ledgerpb.Job, com *ledgerpb.Committee, member int) error {
	keys, err := jobrun.LoadCommittee(jctx, s.store, s.preset, com.Id, member)
	if err != nil {
		return fmt.Errorf("committee %s keys: %w", com.Id, err)
	}
	out, err := jobrun.RunCommittee(jctx, sess, keys, jobrun.CommitteeJob{InputCommitments: j.InputCommitments})
	if err != nil {
		reason, culprit := err.Error(), ""
		var fe *jobrun.FaultError
		if errors.As(err, &fe) {
			reason = fe.Reason()
			if len(fe.Parties) > 0 {
				culprit = fe.Parties[0]
			}
		}
		s.log.Warn("job failed; aborting on the ledger", "job", j.Id, "reason", reason)
		return errors.Join(err, s.postAbort(ctx, j.Id, reason, culprit))
	}
	// The first member in committee order that signed posts the record; the
	// others post too only if it has not landed shortly after.
	if len(out.Signers) > 0 && member != out.Signers[0] {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
		var now ledgerpb.Job
		if s.query(ledger.QueryJob, []byte(j.Id), &now) == nil && now.Status != ledger.JobRunning {
			return nil
		}
	}
	err = s.post(ctx, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_JobResult{JobResult: &ledgerpb.JobResult{
			JobId: j.Id, OutputCommitment: out.OutputCommitment, Signature: out.Signature,
		}}
	})
	if err != nil && strings.Contains(err.Error(), "is completed") {
		return nil
	}
	return err
}

func (s *scheduler) postAbort(ctx context.Context, jobID, reason, culprit string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	err := s.post(ctx, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_JobAbort{JobAbort: &ledgerpb.JobAbort{JobId: jobID, Reason: reason, Culprit: culprit}}
	})
	if err != nil && strings.Contains(err.Error(), "is aborted") {
		return nil
	}
	return err
}

// commitInput reads the input file of one of this node's provider slots,
// prepares it and posts its commitment (with an input-validity proof when
// the job bounds bids).
func (s *scheduler) commitInput(ctx context.Context, spec *jobrun.Spec, j *ledgerpb.Job, com *ledgerpb.Committee, slot string) (*jobrun.PreparedInput, error) {
	dir := s.n.cfg.Jobs.InputsDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.n.home, dir)
	}
	raw, err := readLimited(filepath.Join(dir, InputFileName(j.Id, slot)), 64<<20)
	if err != nil {
		return nil, fmt.Errorf("input %s of job %s: %w", slot, j.Id, err)
	}
	keys := jobrun.ProviderKeys{Preset: s.preset}
	if jobrun.Type(j.Type) == jobrun.CreditScore || jobrun.Type(j.Type) == jobrun.Aggregate {
		if keys.CommitteeHEKey, err = s.committeeHEKey(ctx, com); err != nil {
			return nil, err
		}
	}
	in, err := jobrun.PrepareInput(spec, slot, raw, keys)
	if err != nil {
		return nil, err
	}
	// Kept (privately, like key shares) so that a restart between committing
	// and sending does not lose the input.
	enc, err := in.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if err := s.store.Put(ctx, preparedKey(j.Id, slot), enc); err != nil {
		return nil, err
	}
	msg := &ledgerpb.JobInput{JobId: j.Id, Commitment: in.Commitment}
	if slot != s.name {
		msg.Provider = slot
	}
	if maxBid := auctionMaxBid(spec); maxBid > 0 {
		if msg.VkId, msg.Proof, err = s.proveBid(ctx, in, maxBid); err != nil {
			return nil, err
		}
	}
	if err := s.post(ctx, func(p *ledgerpb.TxPayload) {
		p.Msg = &ledgerpb.TxPayload_JobInput{JobInput: msg}
	}); err != nil {
		return nil, err
	}
	s.log.Info("input committed", "job", j.Id, "slot", slot)
	return in, nil
}

func auctionMaxBid(spec *jobrun.Spec) uint64 {
	if spec.Type != jobrun.AuctionFirst && spec.Type != jobrun.AuctionVickrey {
		return 0
	}
	var p jobrun.AuctionParams
	if err := jsonUnmarshal(spec.Params, &p); err != nil {
		return 0
	}
	return p.MaxBid
}

// proveBid proves the bid lies in [0, maxBid] and opens the commitment.
func (s *scheduler) proveBid(ctx context.Context, in *jobrun.PreparedInput, maxBid uint64) (string, []byte, error) {
	if s.n.cfg.Jobs.ZKKeys == "" {
		return "", nil, errors.New("the job bounds bids but jobs.zk_keys is not set: no input proving key")
	}
	keys, err := zk.LoadKeys(s.n.cfg.Jobs.ZKKeys, zk.CircuitInput)
	if err != nil {
		return "", nil, err
	}
	var salt zk.Felt
	if salt, err = zk.ParseFelt("0x" + hex.EncodeToString(in.Salt)); err != nil {
		return "", nil, err
	}
	pf, err := keys.Prove(ctx, zk.InputWitness{Value: zk.Uint64(in.Value), Salt: salt, Lo: 0, Hi: zk.Uint64(maxBid)})
	if err != nil {
		return "", nil, err
	}
	proof, err := pf.ProofBytes()
	return keys.Info.VKID, proof, err
}

// committeeHEKey fetches the committee's HE public key from a member.
func (s *scheduler) committeeHEKey(ctx context.Context, com *ledgerpb.Committee) ([]byte, error) {
	h, err := blob.ParseHash(com.HeKeyHash)
	if err != nil {
		return nil, fmt.Errorf("committee %s has no HE key", com.Id)
	}
	if data, err := s.n.blobs.Get(h); err == nil {
		return data, nil
	}
	var last error
	for _, m := range com.Members {
		if m == s.name {
			continue
		}
		data, err := s.n.fetchBlob(ctx, m, h)
		if err == nil {
			return data, nil
		}
		last = err
	}
	return nil, fmt.Errorf("committee %s HE key: %w", com.Id, last)
}

// waitRunning waits until every input is committed; nil, nil if the job
// ended first.
func (s *scheduler) waitRunning(ctx context.Context, jobID string) (*ledgerpb.Job, error) {
	for {
		var j ledgerpb.Job
		if err := s.query(ledger.QueryJob, []byte(jobID), &j); err != nil {
			return nil, err
		}
		switch j.Status {
		case ledger.JobRunning:
			return &j, nil
		case ledger.JobCompleted, ledger.JobAborted:
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// saveResult keeps what this node learned from a job, readable only by it.
func (s *scheduler) saveResult(jobID, kind string, v any) error {
	raw, err := jsonMarshalIndent(v)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(jobID))
	path := filepath.Join(s.n.home, "data", "results", hex.EncodeToString(sum[:8])+"-"+kind+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFile(path, raw, 0o600)
}

// resultPath is where saveResult put a job's result of a kind.
func (n *Node) resultPath(jobID, kind string) string {
	sum := sha256.Sum256([]byte(jobID))
	return filepath.Join(n.home, "data", "results", hex.EncodeToString(sum[:8])+"-"+kind+".json")
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%s exceeds %d bytes", path, limit)
	}
	return raw, nil
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

func jsonMarshalIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

func preparedKey(jobID, slot string) string {
	sum := sha256.Sum256([]byte(jobID + "\x00" + slot))
	return "prepared-" + hex.EncodeToString(sum[:16])
}

// InputFileName is the file, in a node's inputs directory, that holds its
// input for one provider slot of a job: <job>.json for the node's own slot,
// <job>.<label>.json for a slot "node/label" it supplies for a client.
func InputFileName(jobID, slot string) string {
	if label := jobrun.SlotLabel(slot); label != "" {
		return jobID + "." + label + ".json"
	}
	return jobID + ".json"
}

// allocationKind names the saved allocation of a provider slot: what
// `cohort job result --allocation [--slot LABEL]` reads.
func allocationKind(slot string) string {
	if label := jobrun.SlotLabel(slot); label != "" {
		return "allocation-" + label
	}
	return "allocation"
}

func (s *scheduler) loadPrepared(ctx context.Context, spec *jobrun.Spec, slot string) (*jobrun.PreparedInput, error) {
	raw, err := s.store.Get(ctx, preparedKey(spec.ID, slot))
	if err != nil {
		return nil, err
	}
	return jobrun.ParsePreparedInput(spec, raw)
}

// replicate fetches the sealed off-chain copy of every channel record, in a
// block, whose channel this node belongs to, so that the record survives its
// anchoring node. The copy is checked against the anchored hash on arrival.
func (s *scheduler) replicate(ctx context.Context, txs [][]byte) {
	pol := s.n.app.Policy()
	if pol == nil {
		return
	}
	for _, raw := range txs {
		p, err := ledger.DecodePayload(raw, s.n.app.ChainID())
		if err != nil {
			continue
		}
		rec := p.GetRecordAnchor()
		if rec == nil || rec.Channel == "" || p.Signer == s.name {
			continue
		}
		ch, ok := pol.Channel(rec.Channel)
		if !ok || !slices.Contains(ch.Members, s.name) {
			continue
		}
		h, err := blob.ParseHash(rec.Hash)
		if err != nil || s.n.blobs.Has(h) {
			continue
		}
		holder := p.Signer
		s.start(ctx, "blob-"+hex.EncodeToString(h[:]), func(ctx context.Context) error {
			_, err := s.n.fetchBlob(ctx, holder, h)
			return err
		})
	}
}
