package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/internal/recent"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// AppVersion is reported to CometBFT in Info and bumps with state-machine changes.
const AppVersion = 1

// App is the cohort ABCI application. CometBFT drives it through three
// connections that may run concurrently (consensus, mempool, query), so the
// committed view that CheckTx and Query read is published atomically at Commit.
type App struct {
	abci.BaseApplication

	store *Store
	log   *slog.Logger
	sigs  *sigCache
	// sealedChecks remembers sealed shares whose sender's proof passed
	// (checkSealedShares), so that FinalizeBlock and mempool rechecks do
	// not check the same share again; a pure function's memo, as sigs.
	sealedChecks *recent.Set

	// committed is replaced wholesale at Commit; readers never lock.
	committed atomic.Pointer[committedView]

	// Consensus-connection state: only InitChain/FinalizeBlock/Commit touch it,
	// and CometBFT calls those one at a time.
	consensusMu sync.Mutex
	block       *blockState
	blockHeight int64
	blockHash   []byte
	blockView   *committedView   // view after the block, published at Commit
	blockPolicy *policies.Policy // a policy update accepted in this block
	// blockProofs holds the outcome of the block's compliance proofs, checked
	// together before the txs run (see preverifyRecords).
	blockProofs map[[32]byte]error
}

// committedView is what the last commit made visible. Params and keys change
// only at genesis today; they live here so that a governance tx can later
// replace them at a commit like the members.
type committedView struct {
	chainID string
	height  int64
	appHash []byte
	members *memberIndex
	params  Params
	keys    *zk.Registry
	policy  *policies.Policy // nil on a chain without a policy
	// defaults is the default policy: its grade table names ratings on a
	// chain without a policy.
	defaults *policies.Policy
	// sealedChecks is the App's memo of sealed shares that passed
	// sealbox.Check (nil: none kept).
	sealedChecks *recent.Set
}

// NewApp opens the application on a store. It resumes from the last commit.
func NewApp(store *Store, log *slog.Logger) (*App, error) {
	app := &App{store: store, log: log, sigs: newSigCache(1 << 16), sealedChecks: recent.New(1 << 16)}
	height, hash, err := store.lastCommit()
	if err != nil {
		return nil, err
	}
	chain, err := store.get(keyChainID)
	if err != nil {
		return nil, err
	}
	members, err := loadMembers(store)
	if err != nil {
		return nil, err
	}
	params, err := loadParams(store)
	if err != nil {
		return nil, err
	}
	keys, err := loadKeys(store)
	if err != nil {
		return nil, err
	}
	policy, err := loadPolicy(store, members)
	if err != nil {
		return nil, err
	}
	defaults, err := policies.Default()
	if err != nil {
		return nil, err
	}
	app.committed.Store(&committedView{chainID: string(chain), height: height, appHash: hash, members: members,
		params: params, keys: keys, policy: policy, defaults: defaults, sealedChecks: app.sealedChecks})
	return app, nil
}

// Height returns the last committed height.
func (a *App) Height() int64 { return a.committed.Load().height }

// ChainID returns the chain ID, or "" before InitChain.
func (a *App) ChainID() string { return a.committed.Load().chainID }

// IsMemberPeer reports whether a libp2p peer ID belongs to a registered member.
func (a *App) IsMemberPeer(peerID string) bool {
	_, ok := a.committed.Load().members.byPeer[peerID]
	return ok
}

// Policy returns the committed policy, or nil on a chain without one.
func (a *App) Policy() *policies.Policy { return a.committed.Load().policy }

// Member returns a committed member by name.
func (a *App) Member(name string) (*ledgerpb.Member, bool) {
	m, ok := a.committed.Load().members.byName[name]
	return m, ok
}

// Info implements abci.Application.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	v := a.committed.Load()
	return &abci.ResponseInfo{
		Data:             "cohort",
		Version:          "cohort-ledger",
		AppVersion:       AppVersion,
		LastBlockHeight:  v.height,
		LastBlockAppHash: v.appHash,
	}, nil
}

// InitChain implements abci.Application: it loads the members of genesis.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.consensusMu.Lock()
	defer a.consensusMu.Unlock()
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	members := g.members()
	if err := checkGenesisValidators(members, req.Validators); err != nil {
		return nil, err
	}
	b := newBlockState(a.store)
	b.set(keyChainID, []byte(req.ChainId))
	params := g.params()
	if err := putParams(b, params); err != nil {
		return nil, err
	}
	keys := zk.NewRegistry()
	if err := registerKeys(b, keys, g.VerifyingKeys); err != nil {
		return nil, err
	}
	idx := newMemberIndex()
	for _, m := range members {
		if err := putMember(b, m); err != nil {
			return nil, err
		}
		if err := putRating(b, &ledgerpb.Credit{Member: m.Name, Score: params.InitialCredit, Power: m.Power}); err != nil {
			return nil, err
		}
		idx.add(m)
	}
	var policy *policies.Policy
	if g.Policy != "" {
		if policy, err = parsePolicy([]byte(g.Policy), idx); err != nil {
			return nil, fmt.Errorf("genesis policy: %w", err)
		}
		b.set(keyPolicy, []byte(g.Policy))
		putPolicyRevision(b, req.InitialHeight, []byte(g.Policy))
	}
	hash := b.hash(nil, req.InitialHeight-1)
	defaults := a.committed.Load().defaults
	view := &committedView{chainID: req.ChainId, height: req.InitialHeight - 1, appHash: hash, members: idx,
		params: params, keys: keys, policy: policy, defaults: defaults, sealedChecks: a.sealedChecks}
	a.block, a.blockHeight, a.blockHash, a.blockView = b, req.InitialHeight-1, hash, view
	// CheckTx needs the chain's rules before the first commit.
	a.committed.Store(&committedView{chainID: req.ChainId, members: idx, params: params, keys: keys, policy: policy, defaults: defaults, sealedChecks: a.sealedChecks})
	a.log.Info("genesis loaded", "chain_id", req.ChainId, "members", len(members))
	return &abci.ResponseInitChain{AppHash: hash}, nil
}

// checkGenesisValidators requires every genesis validator to be a member.
func checkGenesisValidators(members []*ledgerpb.Member, vals []abci.ValidatorUpdate) error {
	for _, v := range vals {
		key := v.PubKey.GetEd25519()
		if key == nil {
			return fmt.Errorf("genesis validator with a non-ed25519 key")
		}
		found := false
		for _, m := range members {
			if bytes.Equal(m.ValidatorKey, key) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("genesis validator %X is not a registered member", key)
		}
	}
	return nil
}

// CheckTx implements abci.Application: stateless checks, the signature, and
// replay against committed state.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	v := a.committed.Load()
	tx, terr := decodeTx(req.Tx, v.chainID)
	if terr == nil {
		_, terr = a.checkTx(tx, v, committedReader{a.store}, v.height+1)
	}
	if terr != nil {
		return &abci.ResponseCheckTx{Code: terr.Code, Log: terr.Msg, Codespace: "cohort"}, nil
	}
	return &abci.ResponseCheckTx{Code: CodeOK}, nil
}

// stateReader is the read side shared by committed state and a block in progress.
type stateReader interface {
	get(key []byte) ([]byte, error)
}

type committedReader struct{ s *Store }

func (r committedReader) get(key []byte) ([]byte, error) { return r.s.get(key) }

// checkTx runs every check that does not write and needs no proof
// verification: signer, signature, replay and the message's own rules.
// FinalizeBlock calls it again against the block's view. It returns what the
// message's apply step needs (the task of a task.complete).
func (a *App) checkTx(tx *decodedTx, v *committedView, st stateReader, height int64) (any, *TxError) {
	signer := tx.payload.Signer
	m, ok := v.members.byName[signer]
	if !ok {
		return nil, txErr(CodeUnknownSigner, "unknown signer %q: not a registered member", signer)
	}
	if k := sigCacheKey(tx.raw, m.AccountKey); !a.sigs.verified(k) {
		if err := tx.verifySignature(a.sigs, m.AccountKey); err != nil {
			return nil, err
		}
		a.sigs.add(k)
	}
	seen, err := st.get(keyTx(tx.payload.TxId))
	if err != nil {
		return nil, txErr(CodeInvalid, "read state: %v", err)
	}
	if seen != nil {
		return nil, txErr(CodeReplay, "replay: tx %x is already committed", tx.payload.TxId)
	}
	switch msg := tx.payload.Msg.(type) {
	case *ledgerpb.TxPayload_RecordAnchor:
		return nil, checkRecordAnchor(signer, msg.RecordAnchor, v, st)
	case *ledgerpb.TxPayload_PolicyUpdate:
		return checkPolicyUpdate(msg.PolicyUpdate, v)
	case *ledgerpb.TxPayload_TaskAssign:
		return nil, checkTaskAssign(signer, msg.TaskAssign, v.members, st, height)
	case *ledgerpb.TxPayload_TaskComplete:
		return checkTaskComplete(signer, msg.TaskComplete, v, st, height)
	case *ledgerpb.TxPayload_CommitteeCreate:
		return nil, checkCommitteeCreate(signer, msg.CommitteeCreate, v, st)
	case *ledgerpb.TxPayload_CommitteeConfirm:
		return checkCommitteeConfirm(signer, msg.CommitteeConfirm, v, st)
	case *ledgerpb.TxPayload_JobSubmit:
		return nil, checkJobSubmit(signer, msg.JobSubmit, v, st, height)
	case *ledgerpb.TxPayload_JobInput:
		return checkJobInput(signer, msg.JobInput, v, st, height)
	case *ledgerpb.TxPayload_JobResult:
		j, key, terr := checkJobResult(signer, msg.JobResult, st)
		return checkedResult{job: j, key: key}, terr
	case *ledgerpb.TxPayload_JobAbort:
		return checkJobAbort(signer, msg.JobAbort, v, st, height)
	case *ledgerpb.TxPayload_OrderCreate, *ledgerpb.TxPayload_OrderSign, *ledgerpb.TxPayload_OrderResume,
		*ledgerpb.TxPayload_OrderTerminate, *ledgerpb.TxPayload_OrderSettle, *ledgerpb.TxPayload_OrderAward:
		return checkOrderTx(signer, tx.payload, v, st, height)
	default:
		return nil, txErr(CodeMalformed, "unknown message type %T", msg)
	}
}

// FinalizeBlock implements abci.Application. Every tx is re-checked against
// committed state plus the writes of earlier txs in the same block.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.consensusMu.Lock()
	defer a.consensusMu.Unlock()
	prev := a.committed.Load()
	view := prev
	b := a.block
	if b == nil {
		b = newBlockState(a.store)
	} else if a.blockView != nil {
		// The genesis writes of InitChain are committed with the first block.
		view = a.blockView
	}
	prevHash := view.appHash
	a.blockPolicy = nil
	// Each tx is decoded once for the block: the proof pre-verification and
	// the tx itself read the same decoding.
	decoded := make([]blockTx, len(req.Txs))
	for i, raw := range req.Txs {
		decoded[i].tx, decoded[i].err = decodeTx(raw, view.chainID)
	}
	a.blockProofs = preverifyRecords(decoded, view)
	a.preverifySignatures(decoded, view)

	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i, raw := range req.Txs {
		res, err := a.deliverTx(b, raw, decoded[i], view, req.Height)
		if err != nil {
			return nil, fmt.Errorf("block %d tx %d: %w", req.Height, i, err)
		}
		results[i] = res
	}
	if err := expireJobs(b, view, req.Height); err != nil {
		return nil, fmt.Errorf("block %d: expire jobs: %w", req.Height, err)
	}
	if err := pruneAttested(b, req.Height); err != nil {
		return nil, fmt.Errorf("block %d: prune sealed inputs: %w", req.Height, err)
	}
	var updates []abci.ValidatorUpdate
	var blockEvents []abci.Event // transitions the ledger makes by itself at the epoch
	if req.Height%view.params.EpochLength == 0 {
		var err error
		if blockEvents, err = expireTasks(b, view.orderCredit(), req.Height); err != nil {
			return nil, fmt.Errorf("block %d: expire tasks: %w", req.Height, err)
		}
		if updates, err = endEpoch(b, req.Height, view); err != nil {
			return nil, fmt.Errorf("block %d: end epoch: %w", req.Height, err)
		}
	}
	hash := b.hash(prevHash, req.Height)
	next := *view
	next.height, next.appHash = req.Height, hash
	if a.blockPolicy != nil {
		next.policy = a.blockPolicy
	}
	a.block, a.blockHeight, a.blockHash, a.blockView = b, req.Height, hash, &next
	return &abci.ResponseFinalizeBlock{TxResults: results, AppHash: hash, ValidatorUpdates: updates, Events: blockEvents}, nil
}

// minSigsPerWorker is the fewest unverified signatures worth a goroutine of
// their own in preverifySignatures (each takes tens of µs).
const minSigsPerWorker = 16

// preverifySignatures verifies, on every core, the signatures of the block's
// txs that this node has not verified before, so that the sequential pass
// finds them in the sig cache: txs it did not see in CheckTx (a proposal that
// outran the gossip, or blocks applied while catching up, where signature
// checks are most of the work). Validity is a pure function of the tx and the
// signer's account key, and the view's members do not change within a
// block, so each tx gets the verdict it would get alone: one that fails is
// not cached, and fails in its own check as before.
func (a *App) preverifySignatures(txs []blockTx, v *committedView) {
	type pending struct {
		tx  *decodedTx
		key []byte
		k   [32]byte
	}
	var todo []pending
	for _, d := range txs {
		if d.err != nil {
			continue
		}
		m, ok := v.members.byName[d.tx.payload.Signer]
		if !ok || len(m.AccountKey) != ed25519.PublicKeySize {
			continue
		}
		k := sigCacheKey(d.tx.raw, m.AccountKey)
		if !a.sigs.verified(k) {
			todo = append(todo, pending{d.tx, m.AccountKey, k})
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo)/minSigsPerWorker)
	if workers < 2 {
		return // the sequential pass verifies them at the same cost
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) {
					return
				}
				p := todo[i]
				if a.sigs.verify(p.key, signingBytes(p.tx.body), p.tx.sig) {
					a.sigs.add(p.k)
				}
			}
		}()
	}
	wg.Wait()
}

// blockTx is a block's tx as decodeTx left it: decoded, or refused.
type blockTx struct {
	tx  *decodedTx
	err *TxError
}

// deliverTx checks and applies one tx (raw, decoded as d). A tx that fails its checks changes
// nothing, except a validly signed proof that does not verify: its tx ID is
// spent and its signer's rating drops. An error (not a failed tx) means the
// state itself is unreadable and halts the node.
func (a *App) deliverTx(b *blockState, raw []byte, d blockTx, v *committedView, height int64) (*abci.ExecTxResult, error) {
	tx, terr := d.tx, d.err
	var checked any
	if terr == nil {
		checked, terr = a.checkTx(tx, v, b, height)
	}
	if terr != nil {
		return &abci.ExecTxResult{Code: terr.Code, Log: terr.Msg, Codespace: "cohort"}, nil
	}
	signer := tx.payload.Signer
	txHash := TxHash(raw)
	b.set(keyTx(tx.payload.TxId), heightBytes(height))
	var events []abci.Event
	switch msg := tx.payload.Msg.(type) {
	case *ledgerpb.TxPayload_RecordAnchor:
		if msg.RecordAnchor.Channel != "" {
			err, done := a.blockProofs[[32]byte(txHash)]
			if !done {
				err = verifyRecordCompliance(v, tx.payload)
			}
			if err != nil {
				if aerr := adjustRating(b, signer, ratingRejectedRecord, "rejected record on "+msg.RecordAnchor.Channel, height); aerr != nil {
					return nil, aerr
				}
				return &abci.ExecTxResult{Code: CodeInvalidProof, Codespace: "cohort",
					Log: fmt.Sprintf("compliance proof for channel %q does not verify: %v", msg.RecordAnchor.Channel, err)}, nil
			}
		}
		rec, err := applyRecordAnchor(b, tx, msg.RecordAnchor, height, txHash)
		if err != nil {
			return nil, err
		}
		events = append(events, abci.Event{Type: "record", Attributes: []abci.EventAttribute{
			{Key: "id", Value: rec.Id},
			{Key: "hash", Value: hex.EncodeToString(rec.Hash)},
			{Key: "kind", Value: rec.Kind},
		}})
	case *ledgerpb.TxPayload_PolicyUpdate:
		if a.blockPolicy != nil {
			return &abci.ExecTxResult{Code: CodeInvalid, Codespace: "cohort", Log: "one policy update per block"}, nil
		}
		a.blockPolicy = checked.(*policies.Policy)
		b.set(keyPolicy, msg.PolicyUpdate.PolicyYaml)
		putPolicyRevision(b, height+1, msg.PolicyUpdate.PolicyYaml)
		events = append(events, abci.Event{Type: "policy", Attributes: []abci.EventAttribute{
			{Key: "name", Value: a.blockPolicy.Name}, {Key: "revision", Value: fmt.Sprint(a.blockPolicy.Revision)},
		}})
	case *ledgerpb.TxPayload_CommitteeCreate:
		if err := applyCommitteeCreate(b, signer, msg.CommitteeCreate, height); err != nil {
			return nil, err
		}
		events = append(events, jobEvent("committee", msg.CommitteeCreate.CommitteeId, CommitteePending))
	case *ledgerpb.TxPayload_CommitteeConfirm:
		c := checked.(*ledgerpb.Committee)
		if err := applyCommitteeConfirm(b, signer, c, msg.CommitteeConfirm); err != nil {
			return nil, err
		}
		events = append(events, jobEvent("committee", c.Id, c.Status))
	case *ledgerpb.TxPayload_JobSubmit:
		if err := applyJobSubmit(b, signer, msg.JobSubmit, height); err != nil {
			return nil, err
		}
		events = append(events, jobEvent("job", msg.JobSubmit.JobId, JobCollecting))
	case *ledgerpb.TxPayload_JobInput:
		j := checked.(*ledgerpb.Job)
		if err := verifyJobInput(v, signer, j, msg.JobInput); err != nil {
			if aerr := abortJobForInvalidInput(b, j, signer, msg.JobInput, err, height); aerr != nil {
				return nil, aerr
			}
			return &abci.ExecTxResult{Code: CodeInvalidProof, Codespace: "cohort",
				Log: fmt.Sprintf("input-validity proof for job %q does not verify (job aborted): %v", j.Id, err)}, nil
		}
		if err := applyJobInput(b, signer, j, msg.JobInput); err != nil {
			return nil, err
		}
		events = append(events, jobEvent("job", j.Id, j.Status))
	case *ledgerpb.TxPayload_JobResult:
		cr := checked.(checkedResult)
		if err := verifyJobResult(cr.job, cr.key, msg.JobResult); err != nil {
			return &abci.ExecTxResult{Code: CodeBadSignature, Codespace: "cohort",
				Log: fmt.Sprintf("result of job %q: committee signature does not verify: %v", cr.job.Id, err)}, nil
		}
		if err := applyJobResult(b, cr.job, msg.JobResult, height); err != nil {
			return nil, err
		}
		events = append(events, jobEvent("job", cr.job.Id, JobCompleted))
	case *ledgerpb.TxPayload_JobAbort:
		ca := checked.(checkedAbort)
		if err := applyJobAbort(b, v, signer, ca, msg.JobAbort, height); err != nil {
			return nil, err
		}
		if ca.attestation {
			ev := jobEvent("job_attest", ca.job.Id, JobAborted)
			ev.Attributes = append(ev.Attributes, abci.EventAttribute{Key: "member", Value: signer})
			events = append(events, ev)
		} else {
			events = append(events, jobEvent("job", ca.job.Id, JobAborted))
		}
	case *ledgerpb.TxPayload_TaskAssign:
		if err := applyTaskAssign(b, signer, msg.TaskAssign, height); err != nil {
			return nil, err
		}
		events = append(events, abci.Event{Type: "task", Attributes: []abci.EventAttribute{
			{Key: "id", Value: msg.TaskAssign.TaskId}, {Key: "status", Value: TaskOpen},
		}})
	case *ledgerpb.TxPayload_TaskComplete:
		task := checked.(*ledgerpb.Task)
		if err := verifyCompletion(v, task, msg.TaskComplete); err != nil {
			if aerr := adjustRating(b, signer, ratingInvalidProof, "invalid completion proof: "+task.Id, height); aerr != nil {
				return nil, aerr
			}
			var breach []abci.Event
			if task.OrderId != "" {
				reason := "completion proof for task " + task.Id + " does not verify"
				if aerr := orderBreach(b, v.orderCredit(), task.OrderId, signer, reason, height); aerr != nil {
					return nil, aerr
				}
				breach = append(breach, abci.Event{Type: "order", Attributes: []abci.EventAttribute{
					{Key: "id", Value: task.OrderId}, {Key: "status", Value: OrderSuspended}, {Key: "reason", Value: reason},
				}})
			}
			return &abci.ExecTxResult{Code: CodeInvalidProof, Codespace: "cohort", Events: breach,
				Log: fmt.Sprintf("completion proof for task %q does not verify: %v", task.Id, err)}, nil
		}
		if err := applyTaskComplete(b, v.orderCredit(), task, msg.TaskComplete, height); err != nil {
			return nil, err
		}
		events = append(events, abci.Event{Type: "task", Attributes: []abci.EventAttribute{
			{Key: "id", Value: task.Id}, {Key: "status", Value: task.Status},
		}})
	case *ledgerpb.TxPayload_OrderCreate, *ledgerpb.TxPayload_OrderSign, *ledgerpb.TxPayload_OrderResume,
		*ledgerpb.TxPayload_OrderTerminate, *ledgerpb.TxPayload_OrderSettle, *ledgerpb.TxPayload_OrderAward:
		ev, err := applyOrderTx(b, v, tx, checked, height, txHash)
		if err != nil {
			return nil, err
		}
		events = append(events, ev...)
	}
	events = append(events, abci.Event{Type: "tx", Attributes: []abci.EventAttribute{
		{Key: "id", Value: hex.EncodeToString(tx.payload.TxId)},
		{Key: "signer", Value: signer},
	}})
	return &abci.ExecTxResult{Code: CodeOK, Events: events}, nil
}

// Commit implements abci.Application: the block's writes become durable and
// visible to CheckTx and queries.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.consensusMu.Lock()
	defer a.consensusMu.Unlock()
	if a.block == nil || a.blockView == nil {
		return nil, fmt.Errorf("commit without a finalized block")
	}
	if err := a.block.commit(a.blockHeight, a.blockHash); err != nil {
		return nil, err
	}
	a.committed.Store(a.blockView)
	a.block, a.blockView, a.blockHash = nil, nil, nil
	return &abci.ResponseCommit{}, nil
}

func heightBytes(h int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(h))
}

func keyTx(id []byte) []byte { return append([]byte("tx/"), id...) }

func marshal(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", m, err)
	}
	return b, nil
}

// checkedResult carries a job.result's job and committee key from its checks
// to its apply step.
type checkedResult struct {
	job *ledgerpb.Job
	key *committee.CommitteeKey
}

func jobEvent(kind, id, status string) abci.Event {
	return abci.Event{Type: kind, Attributes: []abci.EventAttribute{{Key: "id", Value: id}, {Key: "status", Value: status}}}
}
