package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// benchBlockTxs is the size of a block in the ledger bench at its offered
// rate (2,500 anchors/s, a block every ≈ 0.4-0.5 s).
const benchBlockTxs = 1000

// benchAnchors signs n plain record.anchor txs spread over the members, in
// the shape of bench/suite_ledger.go's: a 16-byte tx ID, a 32-byte hash, a
// kind and a locator, so that per-tx figures here are the bench's.
func benchAnchors(b *testing.B, ms []testMember, first, n int) [][]byte {
	b.Helper()
	txs := make([][]byte, n)
	for i := range txs {
		m := ms[(first+i)%len(ms)]
		id := make([]byte, TxIDBytes)
		binary.BigEndian.PutUint64(id, uint64(first+i))
		hash := sha256.Sum256(id)
		raw, err := SignTx(m.key, &ledgerpb.TxPayload{
			ChainId: testChain, TxId: id, Signer: m.name,
			Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{
				Hash: hash[:], Kind: "trade", Locator: fmt.Sprintf("blob://%x", hash[:8]),
			}},
		})
		if err != nil {
			b.Fatal(err)
		}
		txs[i] = raw
	}
	return txs
}

// BenchmarkPipeline measures the app's CPU time per tx on one node along
// CheckTx → FinalizeBlock → Commit for blocks of benchBlockTxs anchors:
//
//   - checktx: first CheckTx of a tx (decode, signature, replay read);
//   - recheck: CheckTx of a tx already checked (what a mempool recheck costs);
//   - block-seen: FinalizeBlock and Commit of txs this node checked before
//     (the common case: they reached its mempool by gossip);
//   - block-unseen: the same for txs it never saw (a node catching up, or a
//     proposal carrying txs that were not gossiped to it).
//
// Each reports µs/tx (wall) and cpu-µs/tx (process CPU time in the timed
// sections, background goroutines included: the figure to compare on a
// loaded machine). Signing happens outside the timer.
func BenchmarkPipeline(b *testing.B) {
	ms, gen := testGenesis(b, "alice", "bob", "carol", "dave")
	ctx := context.Background()
	run := func(b *testing.B, checkFirst, timeCheck, timeBlock, recheck bool) {
		app := newTestApp(b, gen)
		height := int64(1)
		// cpu sums the process CPU time of the timed sections.
		var cpu, cpuFrom time.Duration
		start := func() { b.StartTimer(); cpuFrom = processCPU() }
		stop := func() {
			if cpuFrom != 0 {
				cpu += processCPU() - cpuFrom
				cpuFrom = 0
			}
			b.StopTimer()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			txs := benchAnchors(b, ms, i*benchBlockTxs, benchBlockTxs)
			if checkFirst {
				if timeCheck {
					start()
				}
				for _, tx := range txs {
					if r, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx}); r.Code != CodeOK {
						b.Fatalf("checktx: %s", r.Log)
					}
				}
				stop()
			}
			if recheck {
				start()
				for _, tx := range txs {
					if r, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_Recheck}); r.Code != CodeOK {
						b.Fatalf("recheck: %s", r.Log)
					}
				}
				stop()
			}
			if timeBlock {
				start()
			}
			resp, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Txs: txs})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
				b.Fatal(err)
			}
			stop()
			for _, r := range resp.TxResults {
				if r.Code != CodeOK {
					b.Fatalf("finalize: %s", r.Log)
				}
			}
			height++
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*benchBlockTxs), "µs/tx")
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*benchBlockTxs), "cpu-µs/tx")
	}
	b.Run("checktx", func(b *testing.B) { run(b, true, true, false, false) })
	b.Run("recheck", func(b *testing.B) { run(b, true, false, false, true) })
	b.Run("block-seen", func(b *testing.B) { run(b, true, false, true, false) })
	b.Run("block-unseen", func(b *testing.B) { run(b, false, false, true, false) })
}
