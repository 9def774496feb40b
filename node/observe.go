package node

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/blocksync"
	cmtcfg "github.com/cometbft/cometbft/config"
	cs "github.com/cometbft/cometbft/consensus"
	mempl "github.com/cometbft/cometbft/mempool"
	nm "github.com/cometbft/cometbft/node"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/proxy"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/statesync"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/go-kit/kit/metrics/discard"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/console"
	"github.com/cohortnet/cohort/node/metrics"
)

// cometMetricsMu serialises the registration of CometBFT's metrics. CometBFT
// (through go-kit) registers them on prometheus.DefaultRegisterer; each node
// points that at its own registry while it builds them, so that nodes in one
// process (localnet, tests) do not collide and one /metrics shows them all.
var cometMetricsMu sync.Mutex

// cometMetrics is CometBFT's metrics provider, registering on reg. CometBFT's
// own Prometheus server stays off (Instrumentation.Prometheus false): the
// node serves reg itself.
//
// CometBFT's byte counters per peer and channel and per message type are
// replaced by no-ops: each sent or received p2p message updates them through
// go-kit label lookups, 10–16 % of a node's CPU in a 21-node network
// (profiled), for figures an operator reads better from the host's network
// counters. The peer count, the pending-send and tx gauges stay.
func cometMetrics(ic *cmtcfg.InstrumentationConfig, reg prometheus.Registerer) nm.MetricsProvider {
	on := *ic
	on.Prometheus = true
	provider := nm.DefaultMetricsProvider(&on)
	return func(chainID string) (_ *cs.Metrics, _ *cmtp2p.Metrics, _ *mempl.Metrics, _ *sm.Metrics, _ *proxy.Metrics, _ *blocksync.Metrics, _ *statesync.Metrics) {
		cometMetricsMu.Lock()
		defer cometMetricsMu.Unlock()
		prev := prometheus.DefaultRegisterer
		prometheus.DefaultRegisterer = reg
		defer func() { prometheus.DefaultRegisterer = prev }()
		c, p, m, st, px, bs, ss := provider(chainID)
		p.PeerReceiveBytesTotal, p.PeerSendBytesTotal = discard.NewCounter(), discard.NewCounter()
		p.MessageReceiveBytesTotal, p.MessageSendBytesTotal = discard.NewCounter(), discard.NewCounter()
		return c, p, m, st, px, bs, ss
	}
}

// startMetrics registers cohort's metrics and serves the node's registry on
// [metrics] listen (nothing when it is empty).
func (n *Node) startMetrics(ctx context.Context) error {
	m, err := metrics.New(n.registry)
	if err != nil {
		return err
	}
	n.metrics = m
	if n.sched != nil && n.sched.nw != nil {
		if err := n.registry.Register(n.sched.nw); err != nil {
			return fmt.Errorf("register mpc transport metrics: %w", err)
		}
	}
	if err := metrics.RegisterState(n.registry, n.metricsState); err != nil {
		return err
	}
	blocks, err := n.cmt.EventBus().Subscribe(ctx, "metrics", cmttypes.EventQueryNewBlock, 1000)
	if err != nil {
		return fmt.Errorf("subscribe to blocks for metrics: %w", err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() { _ = n.cmt.EventBus().Unsubscribe(context.Background(), "metrics", cmttypes.EventQueryNewBlock) }()
		view := metricsLedger{n}
		for {
			select {
			case <-ctx.Done():
				return
			case <-blocks.Canceled():
				// Fell more than 1000 blocks behind: subscribe again (the
				// counters miss the blocks in between) rather than stop.
				if ctx.Err() != nil {
					return
				}
				n.log.Warn("metrics fell behind the chain; subscribing again", "err", blocks.Err())
				_ = n.cmt.EventBus().Unsubscribe(context.Background(), "metrics", cmttypes.EventQueryNewBlock)
				next, err := n.cmt.EventBus().Subscribe(ctx, "metrics", cmttypes.EventQueryNewBlock, 1000)
				if err != nil {
					n.log.Error("metrics: subscribe to blocks again", "err", err)
					return
				}
				blocks = next
			case msg := <-blocks.Out():
				ev, ok := msg.Data().(cmttypes.EventDataNewBlock)
				if !ok {
					continue
				}
				n.metrics.ObserveBlock(metrics.Block{
					Height: ev.Block.Height, Time: ev.Block.Time, ChainID: ev.Block.ChainID,
					Txs: ev.Block.Txs.ToSliceOfBytes(), Results: ev.ResultFinalizeBlock.TxResults,
				}, view)
			}
		}
	}()
	if n.cfg.Metrics.Listen == "" {
		return nil
	}
	srv, err := metrics.Listen(n.cfg.Metrics.Listen, n.registry, func(err error) { n.log.Error("metrics server stopped", "err", err) })
	if err != nil {
		return err
	}
	n.metricsSrv = srv
	return nil
}

// MetricsAddr is the address /metrics is served on ("" when off).
func (n *Node) MetricsAddr() string {
	if n.metricsSrv == nil {
		return ""
	}
	return n.metricsSrv.Addr()
}

func (n *Node) metricsState() (metrics.State, error) {
	counts, err := n.app.JobCounts()
	if err != nil {
		return metrics.State{}, err
	}
	st := metrics.State{Jobs: make(map[metrics.JobKey]int, len(counts))}
	for k, v := range counts {
		st.Jobs[metrics.JobKey{Type: k[0], Status: k[1]}] = v
	}
	credits, err := n.app.Credits()
	if err != nil {
		return metrics.State{}, err
	}
	for _, c := range credits {
		st.Members = append(st.Members, metrics.MemberState{Name: c.Member, Score: c.Score, Power: c.Power})
	}
	return st, nil
}

// metricsLedger is the committed state the block observer reads.
type metricsLedger struct{ n *Node }

func (l metricsLedger) Job(id string) (*ledgerpb.Job, bool) {
	res, err := l.n.app.Query(context.Background(), &abci.RequestQuery{Path: ledger.QueryJob, Data: []byte(id)})
	if err != nil || res.Code != ledger.CodeOK {
		return nil, false
	}
	var j ledgerpb.Job
	if proto.Unmarshal(res.Value, &j) != nil {
		return nil, false
	}
	return &j, true
}

func (l metricsLedger) OpenJobs() ([]*ledgerpb.Job, error) {
	res, err := l.n.app.Query(context.Background(), &abci.RequestQuery{Path: ledger.QueryOpenJobs})
	if err != nil {
		return nil, err
	}
	if res.Code != ledger.CodeOK {
		return nil, fmt.Errorf("open jobs: %s", res.Log)
	}
	var list ledgerpb.JobList
	if err := proto.Unmarshal(res.Value, &list); err != nil {
		return nil, err
	}
	return list.Jobs, nil
}

func (l metricsLedger) CreditEventsAt(h int64) ([]*ledgerpb.CreditEvent, error) {
	return l.n.app.CreditEventsAt(h)
}

func (l metricsLedger) BlockTime(h int64) (time.Time, bool) {
	meta := l.n.cmt.BlockStore().LoadBlockMeta(h)
	if meta == nil {
		return time.Time{}, false
	}
	return meta.Header.Time, true
}

// startConsole serves the read-only supervisor console on [console] listen
// (nothing when it is empty), reading through the node's own RPC and API.
func (n *Node) startConsole(ctx context.Context) error {
	if n.cfg.Console.Listen == "" {
		return nil
	}
	c, err := console.New(console.Config{
		Home: n.home, Moniker: n.cfg.Moniker, Listen: n.cfg.Console.Listen,
		Chain: n.rpc, RPCAddr: n.cfg.Consensus.RPCListen, Witnesses: n.cfg.Trace.Witnesses,
		API: client.New(n.APIAddr()), SealingKeyFile: filepath.Join(n.home, SealingKeyFile),
		Metrics: n.metrics, Log: n.log.With("module", "console"),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", n.cfg.Console.Listen)
	if err != nil {
		c.Close()
		return fmt.Errorf("console listen %s: %w", n.cfg.Console.Listen, err)
	}
	n.console, n.consoleLn = c, ln
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := c.Serve(ctx, ln); err != nil {
			n.log.Error("console stopped", "err", err)
		}
	}()
	return nil
}

// ConsoleAddr is the address the console listens on ("" when off).
func (n *Node) ConsoleAddr() string {
	if n.consoleLn == nil {
		return ""
	}
	return n.consoleLn.Addr().String()
}
