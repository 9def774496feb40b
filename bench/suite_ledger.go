package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/localnet"
)

// Ledger suite parameters: 4 validators on loopback (in this process, each
// with its own CometBFT, badger store, libp2p host and API), loaded through
// their HTTP APIs at a fixed offered rate.
const (
	ledgerNodes       = 4
	ledgerOfferedTPS  = 2500
	ledgerLoadSeconds = 12
	ledgerSenders     = 32
	ledgerDrain       = 30 * time.Second
	ledgerResubmit    = 8 * time.Second
)

func runLedgerSuite(ctx context.Context, progress io.Writer) (Results, error) {
	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelError}))
	net, err := localnet.Start(ctx, localnet.Options{Nodes: ledgerNodes, ChainID: "cohort-bench", Log: log})
	if err != nil {
		return nil, err
	}
	defer net.Stop()
	homes, nodes, clients := net.Homes, net.Nodes, net.Clients

	total := ledgerOfferedTPS * ledgerLoadSeconds
	fmt.Fprintf(progress, "ledger: signing %d record.anchor txs\n", total)
	txs, err := signAnchors(homes, "cohort-bench", total)
	if err != nil {
		return nil, err
	}

	blocks, err := nodes[0].SubscribeBlocks(ctx, "bench", 10_000)
	if err != nil {
		return nil, err
	}
	tr := newTracker(txs)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for b := range blocks {
			tr.committed(b.Txs.ToSliceOfBytes(), time.Now())
			tr.block(b.Height, len(b.Txs), b.Time)
			if tr.done() {
				return
			}
		}
	}()

	fmt.Fprintf(progress, "ledger: offering %d tx/s for %ds to %d validators\n", ledgerOfferedTPS, ledgerLoadSeconds, ledgerNodes)
	start := time.Now()
	cpuStart := processCPU()
	sendPaced(ctx, clients, txs, tr, start, ledgerOfferedTPS)
	fmt.Fprintf(progress, "ledger: all sent after %.1fs; draining\n", time.Since(start).Seconds())

	// Resubmit what is still missing, as the client library does.
	resubmitted := 0
	deadline := time.Now().Add(ledgerDrain)
	nextResubmit := time.Now().Add(ledgerResubmit)
	for !tr.done() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		if time.Now().After(nextResubmit) {
			for _, i := range tr.missing() {
				if _, err := clients[i%len(clients)].Broadcast(ctx, txs[i]); err == nil {
					resubmitted++
				}
			}
			nextResubmit = time.Now().Add(ledgerResubmit)
		}
	}
	cpu := processCPU() - cpuStart
	// Stop the watcher by ending the subscription.
	if !tr.done() {
		net.Stop()
	}
	<-watchDone

	lat, committed, first, last := tr.stats()
	if committed == 0 {
		return nil, fmt.Errorf("no tx committed")
	}
	blockCount, interval, perBlock, maxPerBlock := tr.blockStats()
	span := last.Sub(first).Seconds()
	res := Results{
		"ledger.validators":        ledgerNodes,
		"ledger.offered_tps":       ledgerOfferedTPS,
		"ledger.submitted_txs":     float64(total),
		"ledger.committed_txs":     float64(committed),
		"ledger.anchor_tps":        float64(committed) / span,
		"ledger.commit_p50_s":      percentile(lat, 0.50),
		"ledger.commit_p99_s":      percentile(lat, 0.99),
		"ledger.lost_txs":          float64(total - committed),
		"ledger.resubmitted_txs":   float64(resubmitted),
		"ledger.blocks":            float64(blockCount),
		"ledger.block_interval_s":  interval,
		"ledger.txs_per_block":     perBlock,
		"ledger.max_txs_per_block": float64(maxPerBlock),
		// CPU time of the whole process (4 nodes and the load's HTTP
		// clients) from the first send to the last commit, per committed
		// tx: unlike the latencies, comparable between runs on a loaded
		// machine.
		"ledger.process_cpu_us_per_tx": float64(cpu.Microseconds()) / float64(committed),
	}
	fmt.Fprintf(progress, "ledger: %d/%d committed, %.0f tx/s, p50 %.2fs, p99 %.2fs; %d blocks with txs, %.3fs apart, %.0f txs each (max %d); process CPU %.0f µs/tx\n",
		committed, total, res["ledger.anchor_tps"], res["ledger.commit_p50_s"], res["ledger.commit_p99_s"],
		blockCount, interval, perBlock, maxPerBlock, res["ledger.process_cpu_us_per_tx"])
	return res, nil
}

// signAnchors pre-signs n record.anchor txs spread over the members.
func signAnchors(homes []string, chainID string, n int) ([][]byte, error) {
	type signer struct {
		name string
		key  ed25519.PrivateKey
	}
	var signers []signer
	for _, h := range homes {
		cfg, err := node.LoadConfig(h)
		if err != nil {
			return nil, err
		}
		key, err := node.LoadAccountKey(h)
		if err != nil {
			return nil, err
		}
		signers = append(signers, signer{cfg.Moniker, key})
	}
	txs := make([][]byte, n)
	for i := range txs {
		s := signers[i%len(signers)]
		id := make([]byte, ledger.TxIDBytes)
		binary.BigEndian.PutUint64(id, uint64(i))
		binary.BigEndian.PutUint64(id[8:], uint64(time.Now().UnixNano()))
		hash := sha256.Sum256(id)
		tx, err := ledger.SignTx(s.key, &ledgerpb.TxPayload{
			ChainId: chainID, TxId: id, Signer: s.name,
			Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{
				Hash: hash[:], Kind: "trade", Locator: fmt.Sprintf("blob://%x", hash[:8]),
			}},
		})
		if err != nil {
			return nil, err
		}
		txs[i] = tx
	}
	return txs, nil
}

// sendPaced sends txs[i] at start + i/rate, spread over the validators.
func sendPaced(ctx context.Context, clients []*client.Client, txs [][]byte, tr *tracker, start time.Time, rate int) {
	var wg sync.WaitGroup
	var reported sync.Once
	work := make(chan int, ledgerSenders)
	for s := 0; s < ledgerSenders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				tr.sent(i, time.Now())
				if _, err := clients[i%len(clients)].Broadcast(ctx, txs[i]); err != nil {
					// Shown once: a systematic rejection would otherwise
					// look like a slow chain.
					reported.Do(func() { fmt.Fprintf(os.Stderr, "bench: broadcast: %v\n", err) })
				}
			}
		}()
	}
	interval := time.Second / time.Duration(rate)
	for i := range txs {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case work <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
}

// tracker matches committed txs to their submission times.
type tracker struct {
	mu        sync.Mutex
	index     map[[32]byte]int
	sentAt    []time.Time
	doneAt    []time.Time
	remaining int
	blocks    []blockSeen // blocks carrying txs, in height order
}

// blockSeen is a committed block that carried txs: its height, size and
// header time (BFT time: the weighted median of the previous height's
// precommit times, so the same on every node).
type blockSeen struct {
	height int64
	txs    int
	time   time.Time
}

func newTracker(txs [][]byte) *tracker {
	t := &tracker{index: make(map[[32]byte]int, len(txs)), sentAt: make([]time.Time, len(txs)),
		doneAt: make([]time.Time, len(txs)), remaining: len(txs)}
	for i, tx := range txs {
		t.index[sha256.Sum256(tx)] = i
	}
	return t
}

func (t *tracker) sent(i int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sentAt[i].IsZero() {
		t.sentAt[i] = at
	}
}

func (t *tracker) committed(txs [][]byte, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tx := range txs {
		if i, ok := t.index[sha256.Sum256(tx)]; ok && t.doneAt[i].IsZero() {
			t.doneAt[i] = at
			t.remaining--
		}
	}
}

func (t *tracker) block(height int64, txs int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if txs > 0 {
		t.blocks = append(t.blocks, blockSeen{height, txs, at})
	}
}

// blockStats returns the number of blocks that carried txs, the mean block
// interval (header times) from the first to the last of them, and their
// mean and largest tx count: where a commit latency comes from (half an
// interval waiting for the next proposal, then one round).
func (t *tracker) blockStats() (count int, interval, perBlock float64, maxTxs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	count = len(t.blocks)
	if count == 0 {
		return 0, 0, 0, 0
	}
	sum := 0
	for _, b := range t.blocks {
		sum += b.txs
		maxTxs = max(maxTxs, b.txs)
	}
	if count > 1 {
		first, last := t.blocks[0], t.blocks[count-1]
		interval = last.time.Sub(first.time).Seconds() / float64(last.height-first.height)
	}
	return count, interval, float64(sum) / float64(count), maxTxs
}

func (t *tracker) done() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remaining == 0
}

func (t *tracker) missing() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int
	for i := range t.doneAt {
		if t.doneAt[i].IsZero() {
			out = append(out, i)
		}
	}
	return out
}

// stats returns sorted commit latencies (s), the committed count and the
// first send and last commit times.
func (t *tracker) stats() ([]float64, int, time.Time, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lat []float64
	var first, last time.Time
	for i := range t.doneAt {
		if t.sentAt[i].IsZero() {
			continue
		}
		if first.IsZero() || t.sentAt[i].Before(first) {
			first = t.sentAt[i]
		}
		if t.doneAt[i].IsZero() {
			continue
		}
		lat = append(lat, t.doneAt[i].Sub(t.sentAt[i]).Seconds())
		if t.doneAt[i].After(last) {
			last = t.doneAt[i]
		}
	}
	sort.Float64s(lat)
	return lat, len(lat), first, last
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}
