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

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/adversary"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/node/blob"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/sched"
	"github.com/cohortnet/cohort/node/supervision"
	"github.com/cohortnet/cohort/zk"
)

// jobsRunner is the node's side of its job scheduler (node/sched): the MPC
// network, the ledger and blob adapters, and the goroutine that feeds the
// scheduler the blocks this node commits.
type jobsRunner struct {
	nw   *transport.P2PNetwork
	log  *slog.Logger
	done chan struct{}
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
	sealing, err := supervision.LoadKey(filepath.Join(n.home, SealingKeyFile))
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
	log := n.log.With("module", "jobs")
	// Test builds only: a binary without the cohort_adversary tag ignores
	// the variable and adv is nil.
	adv, err := adversary.FromEnv()
	if err != nil {
		return err
	}
	if adv != nil {
		log.Warn("ADVERSARIAL TEST BUILD: this node deviates from the MPC protocols as a corrupted committee member", "deviations", adv.String())
	}
	var s *sched.Scheduler // the network's resolver reads it once sessions open
	nw := transport.NewP2PNetwork(n.host.Libp2p(),
		transport.WithCommitteeResolver(jobrun.P2PResolver(
			func(ctx context.Context, id string) (*jobrun.Spec, error) { return s.LookupSpec(ctx, id) },
			n.peerOf)),
		transport.WithLogger(n.log.With("module", "mpc")))
	s, err = sched.New(sched.Config{
		Name: n.cfg.Moniker, Ledger: &nodeLedger{n: n, key: key}, Network: nw, Preset: preset, Store: store, DKG: dkg, SealingKey: sealing.Private,
		Blobs: nodeBlobs{n}, ReadInput: n.readInput, ProveBid: n.proveBid, SaveResult: n.saveResult, Log: log,
		Adversary: adv, ConfirmOnly: n.cfg.Jobs.ConfirmCommitteesOf,
	})
	if err != nil {
		_ = nw.Close()
		return err
	}
	blocks, err := n.SubscribeBlocks(ctx, "scheduler", 1000)
	if err != nil {
		_ = nw.Close()
		return err
	}
	r := &jobsRunner{nw: nw, log: log, done: make(chan struct{})}
	n.sched = r
	// The input circuit's keys are loaded now rather than on the path of
	// the first job this node proves inputs for (see loadInputKeys); a node
	// whose keys lack the circuit fails at its first proof, as before.
	if n.cfg.Jobs.ZKKeys != "" {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if _, err := n.loadInputKeys(); err != nil {
				log.Debug("input circuit keys not loaded at start", "err", err)
			}
		}()
	}
	feed := make(chan sched.Block)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer close(r.done)
		errc := make(chan error, 1)
		go func() { errc <- s.Run(ctx, feed) }()
		defer func() {
			close(feed)
			if err := <-errc; err != nil && ctx.Err() == nil {
				log.Error("job scheduler stopped", "err", err)
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case b, ok := <-blocks:
				if !ok {
					return
				}
				select {
				case feed <- n.schedBlock(b):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return n.startReplicator(ctx)
}

// stop waits for the scheduler's work, then closes its network.
func (r *jobsRunner) stop() {
	<-r.done
	if err := r.nw.Close(); err != nil {
		r.log.Warn("mpc network close", "err", err)
	}
}

// schedBlock decodes a block's txs for the scheduler.
func (n *Node) schedBlock(b *cmttypes.Block) sched.Block {
	out := sched.Block{Height: b.Height}
	for _, raw := range b.Txs {
		if p, err := ledger.DecodePayload(raw, n.app.ChainID()); err == nil {
			out.Txs = append(out.Txs, p)
		}
	}
	return out
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

func (n *Node) peerOf(member string) (peer.ID, error) {
	m, ok := n.app.Member(member)
	if !ok {
		return "", fmt.Errorf("unknown member %q", member)
	}
	return peer.Decode(m.PeerId)
}

// nodeLedger is the scheduler's ledger: typed reads of the app's committed
// state, and txs signed with the node's account key and submitted through
// its own API (the same confirm-and-resubmit path as every other client).
type nodeLedger struct {
	n   *Node
	key ed25519.PrivateKey
}

func (l *nodeLedger) Job(id string) (*ledgerpb.Job, error)             { return l.n.app.Job(id) }
func (l *nodeLedger) Committee(id string) (*ledgerpb.Committee, error) { return l.n.app.Committee(id) }
func (l *nodeLedger) Committees() ([]*ledgerpb.Committee, error)       { return l.n.app.Committees() }
func (l *nodeLedger) OpenJobs() ([]*ledgerpb.Job, error)               { return l.n.app.OpenJobs() }
func (l *nodeLedger) Member(name string) (*ledgerpb.Member, bool)      { return l.n.app.Member(name) }
func (l *nodeLedger) ChainID() string                                  { return l.n.app.ChainID() }
func (l *nodeLedger) SealedInputs(j *ledgerpb.Job, member int) ([][]byte, error) {
	return l.n.app.SealedInputs(j, member)
}

func (l *nodeLedger) Submit(ctx context.Context, set func(*ledgerpb.TxPayload)) error {
	id, err := ledger.NewTxID()
	if err != nil {
		return err
	}
	p := &ledgerpb.TxPayload{ChainId: l.n.app.ChainID(), TxId: id, Signer: l.n.cfg.Moniker}
	set(p)
	tx, err := ledger.SignTx(l.key, p)
	if err != nil {
		return err
	}
	_, err = client.New(l.n.APIAddr()).Submit(ctx, tx)
	var re *client.TxRejectedError
	if errors.As(err, &re) {
		return fmt.Errorf("%w", &ledger.TxError{Code: re.Code, Msg: re.Error()})
	}
	return err
}

// nodeBlobs is the node's blob store and the members' nodes behind it.
type nodeBlobs struct{ n *Node }

func (b nodeBlobs) Put(data []byte) (blob.Hash, error) { return b.n.blobs.Put(data) }
func (b nodeBlobs) Get(h blob.Hash) ([]byte, error)    { return b.n.blobs.Get(h) }
func (b nodeBlobs) Fetch(ctx context.Context, member string, h blob.Hash) ([]byte, error) {
	return b.n.fetchBlob(ctx, member, h)
}

// maxInputFileBytes bounds a provider's input file as read from disk.
const maxInputFileBytes = 64 << 20

// readInput reads this node's input file for a provider slot of a job.
func (n *Node) readInput(jobID, slot string) ([]byte, error) {
	dir := n.cfg.Jobs.InputsDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(n.home, dir)
	}
	return readLimited(filepath.Join(dir, InputFileName(jobID, slot)), maxInputFileBytes)
}

// proveBid proves the bid lies in [0, maxBid] and opens the commitment.
func (n *Node) proveBid(ctx context.Context, in *jobrun.PreparedInput, maxBid uint64) (string, []byte, error) {
	if n.cfg.Jobs.ZKKeys == "" {
		return "", nil, errors.New("the job bounds bids but jobs.zk_keys is not set: no input proving key")
	}
	keys, err := n.loadInputKeys()
	if err != nil {
		return "", nil, err
	}
	salt, err := zk.ParseFelt("0x" + hex.EncodeToString(in.Salt))
	if err != nil {
		return "", nil, err
	}
	pf, err := keys.Prove(ctx, zk.InputWitness{Value: zk.Uint64(in.Value), Salt: salt, Lo: 0, Hi: zk.Uint64(maxBid)})
	if err != nil {
		return "", nil, err
	}
	proof, err := pf.ProofBytes()
	return keys.Info.VKID, proof, err
}

// loadInputKeys returns the input circuit's keys, loading them once. A
// provider proves every bounded input slot it supplies (a tender quote is
// two, a client's bids one each) as soon as a job is on the ledger, on the
// path from submit to result: zk.LoadKeys compiles the circuit, checks its
// digest and reads the proving key, which cost several times the proof
// (profiled on the 21-node tender, 40 slots: 0.8 of 0.87 CPU-s of proving
// went to loading). The keys are read-only once loaded (the prover and the
// solver keep their state per call), so concurrent proofs share them. A
// failed load is not kept: the next proof tries again. Keys replaced on
// disk take effect at the node's restart, as for the ledger's verifying
// keys.
func (n *Node) loadInputKeys() (*zk.Keys, error) {
	n.inputKeysMu.Lock()
	defer n.inputKeysMu.Unlock()
	if n.inputKeys != nil {
		return n.inputKeys, nil
	}
	keys, err := zk.LoadKeys(n.cfg.Jobs.ZKKeys, zk.CircuitInput)
	if err != nil {
		return nil, err
	}
	n.inputKeys = keys
	return keys, nil
}

// saveResult keeps what this node learned from a job, readable only by it.
func (n *Node) saveResult(jobID, kind string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	path := n.resultPath(jobID, kind)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFile(path, raw, 0o600)
}

// resultPath is where saveResult puts a job's result of a kind.
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

// InputFileName is the file, in a node's inputs directory, that holds its
// input for one provider slot of a job (sched.InputFileName).
func InputFileName(jobID, slot string) string { return sched.InputFileName(jobID, slot) }
