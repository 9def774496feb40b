package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
	nm "github.com/cometbft/cometbft/node"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/node/blob"
	"github.com/cohortnet/cohort/node/console"
	"github.com/cohortnet/cohort/node/metrics"
	"github.com/cohortnet/cohort/node/p2p"
	"github.com/cohortnet/cohort/zk"
)

// Node is a running cohort node.
type Node struct {
	home string
	cfg  *Config
	log  *slog.Logger

	store *ledger.Store
	app   *ledger.App
	blobs *blob.Store
	cmt   *nm.Node
	rpc   *local.Local
	host  *p2p.Host
	api   *http.Server
	apiLn net.Listener

	registry   *prometheus.Registry // everything /metrics serves: cohort, CometBFT, libp2p, MPC transport
	metrics    *metrics.Metrics
	metricsSrv *metrics.Server
	console    *console.Server
	consoleLn  net.Listener

	runCtx context.Context // ends when Stop begins
	cancel context.CancelFunc
	sched  *jobsRunner
	// inputKeys are the input circuit's keys (jobs.zk_keys), loaded at the
	// first range proof and kept: loading compiles the circuit and reads
	// the proving key, several times the cost of a proof (see proveBid).
	inputKeysMu sync.Mutex
	inputKeys   *zk.Keys
	cmtDBs      []dbm.DB       // CometBFT's stores, closed by Stop (see lateCloseDB)
	wg          sync.WaitGroup // goroutines owned by the node
	stopMu      sync.Mutex
	done        bool
}

// Start opens the node at home and starts the ledger, the libp2p host and the
// API. ctx bounds start-up; the node runs until Stop.
func Start(ctx context.Context, home string, log *slog.Logger) (n *Node, err error) {
	cfg, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	if log == nil {
		if log, err = NewLogger(os.Stderr, cfg.Log.Level); err != nil {
			return nil, err
		}
	}
	log = log.With("node", cfg.Moniker)
	runCtx, cancel := context.WithCancel(context.Background())
	nd := &Node{home: home, cfg: cfg, log: log, runCtx: runCtx, cancel: cancel, registry: metrics.NewRegistry()}
	n = nd
	defer func() {
		if err != nil {
			nd.Stop() // n is nil here: `return nil, err`
		}
	}()

	if n.store, err = ledger.OpenStore(filepath.Join(home, appStateDir), log); err != nil {
		return nil, err
	}
	if n.app, err = ledger.NewApp(n.store, log.With("module", "app")); err != nil {
		return nil, err
	}
	if n.blobs, err = blob.OpenStore(filepath.Join(home, blobStoreDir)); err != nil {
		return nil, err
	}
	if err := n.startConsensus(ctx); err != nil {
		return nil, err
	}
	if err := n.startP2P(ctx, runCtx); err != nil {
		return nil, err
	}
	if err := n.startAPI(); err != nil {
		return nil, err
	}
	if err := n.startScheduler(runCtx); err != nil {
		return nil, err
	}
	if err := n.startMetrics(runCtx); err != nil {
		return nil, err
	}
	if err := n.startConsole(runCtx); err != nil {
		return nil, err
	}
	log.Info("node started", "home", home, "api", n.APIAddr(), "metrics", n.MetricsAddr(), "console", n.ConsoleAddr(), "peer_id", n.host.ID().String(),
		"height", n.app.Height())
	return n, nil
}

func (n *Node) startConsensus(ctx context.Context) error {
	cc := n.cfg.cometConfig(n.home)
	if err := cc.ValidateBasic(); err != nil {
		return fmt.Errorf("consensus config: %w", err)
	}
	if _, err := os.Stat(cc.PrivValidatorKeyFile()); err != nil {
		return fmt.Errorf("validator key: %w (run `cohort init` first)", err)
	}
	nodeKey, err := cmtp2p.LoadNodeKey(cc.NodeKeyFile())
	if err != nil {
		return fmt.Errorf("consensus node key: %w", err)
	}
	pv := privval.LoadFilePV(cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
	cmt, err := nm.NewNodeWithContext(ctx, cc, pv, nodeKey,
		// One lock per ABCI connection: the app synchronises itself, so
		// CheckTx and queries do not wait for FinalizeBlock.
		proxy.NewConnSyncLocalClientCreator(n.app),
		nm.DefaultGenesisDocProviderFunc(cc),
		n.dbProvider,
		cometMetrics(cc.Instrumentation, n.registry),
		cometLogger{n.log.With("module", "cometbft")},
	)
	if err != nil {
		return fmt.Errorf("create consensus node: %w", err)
	}
	if err := cmt.Start(); err != nil {
		return fmt.Errorf("start consensus node: %w", err)
	}
	n.cmt = cmt
	n.rpc = local.New(cmt)
	return nil
}

func (n *Node) startP2P(ctx, runCtx context.Context) error {
	host, err := p2p.New(ctx, p2p.Config{
		KeyFile:     filepath.Join(n.home, P2PKeyFile),
		ListenAddrs: n.cfg.P2P.Listen,
		Members:     p2p.MemberSetFunc(func(id peer.ID) bool { return n.app.IsMemberPeer(id.String()) }),
		Logger:      n.log.With("module", "p2p"),
		Registerer:  n.registry,
	})
	if err != nil {
		return fmt.Errorf("start libp2p host: %w", err)
	}
	n.host = host
	blob.Serve(host.Libp2p(), n.blobs, n.log.With("module", "blob"))
	for _, s := range n.cfg.P2P.Peers {
		addr, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("p2p peer %q: %w", s, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(addr)
		if err != nil {
			return fmt.Errorf("p2p peer %q: %w", s, err)
		}
		if err := host.AddPeer(*info); err != nil {
			n.log.Warn("p2p peer not added", "peer", info.ID, "err", err)
		}
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.maintainPeers(runCtx)
	}()
	return nil
}

// maintainPeers reconnects to member peers and drops peers that stopped being
// members, until the node stops.
func (n *Node) maintainPeers(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if err := n.host.ConnectAll(ctx); err != nil && ctx.Err() == nil {
			n.log.Debug("p2p peers not all reachable", "err", err)
		}
		n.host.EnforceMembership()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) startAPI() error {
	ln, err := net.Listen("tcp", n.cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api listen %s: %w", n.cfg.API.Listen, err)
	}
	n.apiLn = ln
	n.api = &http.Server{Handler: n.apiHandler(), ReadHeaderTimeout: 10 * time.Second}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.api.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("api server stopped", "err", err)
		}
	}()
	return nil
}

// APIAddr is the address the API listens on.
func (n *Node) APIAddr() string {
	if n.apiLn == nil {
		return ""
	}
	return n.apiLn.Addr().String()
}

// App exposes the ledger application (for in-process tools and tests).
func (n *Node) App() *ledger.App { return n.app }

// Host exposes the libp2p host.
func (n *Node) Host() *p2p.Host { return n.host }

// Stop shuts the node down in reverse start order. It is safe to call twice.
func (n *Node) Stop() {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	if n.done {
		return
	}
	n.done = true
	n.cancel()
	if n.metricsSrv != nil {
		if err := n.metricsSrv.Close(); err != nil {
			n.log.Warn("metrics shutdown", "err", err)
		}
	}
	if n.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := n.api.Shutdown(ctx); err != nil {
			n.log.Warn("api shutdown", "err", err)
		}
		cancel()
	}
	if n.sched != nil {
		n.sched.stop()
	}
	if n.host != nil {
		if err := n.host.Close(); err != nil {
			n.log.Warn("p2p shutdown", "err", err)
		}
	}
	n.wg.Wait()
	if n.console != nil {
		if err := n.console.Close(); err != nil {
			n.log.Warn("console close", "err", err)
		}
	}
	if n.cmt != nil && n.cmt.IsRunning() {
		if err := n.cmt.Stop(); err != nil {
			n.log.Warn("consensus shutdown", "err", err)
		}
		n.cmt.Wait()
		// CometBFT's per-peer gossip routines notice the stop only after
		// their sleep; let them go before their stores close.
		time.Sleep(2 * peerGossipSleep)
	}
	for _, db := range n.cmtDBs {
		if err := db.Close(); err != nil {
			n.log.Warn("consensus store close", "err", err)
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Warn("app state close", "err", err)
		}
	}
	if n.blobs != nil {
		if err := n.blobs.Close(); err != nil {
			n.log.Warn("blob store close", "err", err)
		}
	}
	n.log.Info("node stopped")
}

// SubscribeBlocks delivers every block this node commits from now on, until
// ctx ends. A subscriber that falls more than `capacity` blocks behind is
// dropped by CometBFT and its channel closes.
func (n *Node) SubscribeBlocks(ctx context.Context, subscriber string, capacity int) (<-chan *cmttypes.Block, error) {
	sub, err := n.cmt.EventBus().Subscribe(ctx, subscriber, cmttypes.EventQueryNewBlock, capacity)
	if err != nil {
		return nil, fmt.Errorf("subscribe to blocks: %w", err)
	}
	out := make(chan *cmttypes.Block, capacity)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer close(out)
		defer func() {
			_ = n.cmt.EventBus().Unsubscribe(context.Background(), subscriber, cmttypes.EventQueryNewBlock)
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-n.runCtx.Done():
				return
			case <-sub.Canceled():
				// The subscriber fell more than capacity blocks behind and
				// CometBFT dropped it. Its consumers are driven by blocks,
				// so subscribe again rather than stop them for good (the
				// blocks in between are missed, and the warning says so).
				if ctx.Err() != nil || n.runCtx.Err() != nil {
					return
				}
				n.log.Warn("block subscriber fell behind; subscribing again", "subscriber", subscriber, "err", sub.Err())
				_ = n.cmt.EventBus().Unsubscribe(context.Background(), subscriber, cmttypes.EventQueryNewBlock)
				next, err := n.cmt.EventBus().Subscribe(ctx, subscriber, cmttypes.EventQueryNewBlock, capacity)
				if err != nil {
					n.log.Error("block subscriber: subscribe again", "subscriber", subscriber, "err", err)
					return
				}
				sub = next
			case msg := <-sub.Out():
				ev, ok := msg.Data().(cmttypes.EventDataNewBlock)
				if !ok {
					continue
				}
				select {
				case out <- ev.Block:
				case <-ctx.Done():
					return
				case <-n.runCtx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// fetchBlob gets a blob from a member's node over /cohort/blob/1.
func (n *Node) fetchBlob(ctx context.Context, member string, h blob.Hash) ([]byte, error) {
	m, ok := n.app.Member(member)
	if !ok {
		return nil, fmt.Errorf("unknown member %q", member)
	}
	id, err := peer.Decode(m.PeerId)
	if err != nil {
		return nil, fmt.Errorf("member %s: peer id: %w", member, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := n.host.Connect(ctx, id); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", member, err)
	}
	return blob.Fetch(ctx, n.host.Libp2p(), n.blobs, id, h)
}

// peerGossipSleep is CometBFT's pause between a peer routine's rounds.
const peerGossipSleep = 500 * time.Millisecond

// lateCloseDB hands CometBFT a store whose Close does nothing: CometBFT
// v0.38 closes its stores while per-peer gossip routines can still read them
// (consensus reactor queryMaj23Routine), which panics the process on
// shutdown. The node closes the stores itself once those routines are gone.
type lateCloseDB struct{ dbm.DB }

func (lateCloseDB) Close() error { return nil }

func (n *Node) dbProvider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	db, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	n.cmtDBs = append(n.cmtDBs, db)
	return lateCloseDB{db}, nil
}
