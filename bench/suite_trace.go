package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/consensys/gnark/logger"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/ledger/trace"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/localnet"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// Trace suite parameters.
const (
	traceChannel        = "demander-platform-supervisor"
	traceProofRecords   = 1200 // proof-carrying records anchored, each with its own proof (bound to it)
	traceProofRate      = 600  // offered records per second
	tracePlainRecords   = 3000 // plain records traced
	traceWorkers        = 16
	traceDrainTimeout   = 60 * time.Second
	traceSubmitterCount = 3 // node0, node2, node3 are the channel's members
)

// runTraceSuite measures, on 4 validators in this process: records carrying
// compliance proofs committed per second (every validator verifies every
// proof in FinalizeBlock), and light-client-backed trace checks per second.
func runTraceSuite(ctx context.Context, progress io.Writer) (Results, error) {
	logger.Disable()
	keysDir := zkBenchKeysDir()
	keys, err := zkBenchKeys(ctx, keysDir, zk.CircuitCompliance, progress)
	if err != nil {
		return nil, err
	}
	pol, err := policies.Default()
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelError}))
	net, err := localnet.Start(ctx, localnet.Options{ChainID: "cohort-bench", ZKKeysDir: keysDir, Log: log})
	if err != nil {
		return nil, err
	}
	defer net.Stop()
	homes, nodes, clients := net.Homes, net.Nodes, net.Clients
	res := Results{"trace.validators": 4}

	// Proof-carrying records.
	fmt.Fprintf(progress, "trace: proving %d compliant trade records\n", traceProofRecords)
	txs, err := proofRecordTxs(ctx, homes, keys, pol)
	if err != nil {
		return nil, err
	}
	tps, lost, err := measureCommit(ctx, nodes[0], clients, txs, traceProofRate, progress)
	if err != nil {
		return nil, err
	}
	res["trace.anchor_with_proof_tps"] = tps
	res["trace.anchor_with_proof_lost"] = float64(lost)
	fmt.Fprintf(progress, "trace: %.0f proof-carrying records/s, %d lost\n", tps, lost)

	// Plain records, then traced through a light client.
	contents := make([][]byte, tracePlainRecords)
	hashes := make([][]byte, tracePlainRecords)
	for i := range contents {
		contents[i] = make([]byte, 512)
		if _, err := rand.Read(contents[i]); err != nil {
			return nil, err
		}
		h := sha256.Sum256(contents[i])
		hashes[i] = h[:]
	}
	plain, ids, err := plainRecordTxs(homes, hashes)
	if err != nil {
		return nil, err
	}
	if _, lost, err := measureCommit(ctx, nodes[0], clients, plain, 2000, progress); err != nil || lost > 0 {
		return nil, fmt.Errorf("anchoring records to trace: lost %d: %v", lost, err)
	}
	for _, c := range clients {
		if err := localnet.WaitHeight(ctx, c, nodes[0].App().Height()+2, time.Minute); err != nil {
			return nil, err
		}
	}
	perS, cpuUS, err := measureTraces(ctx, homes, clients[3], plain, ids, contents, progress)
	if err != nil {
		return nil, err
	}
	res["trace.verify_per_s"] = perS
	res["trace.verify_cpu_us_per_check"] = cpuUS
	fmt.Fprintf(progress, "trace: %.0f light-client trace checks/s, %.0f µs of CPU per check\n", perS, cpuUS)
	return res, nil
}

type benchSigner struct {
	name string
	key  ed25519.PrivateKey
}

func loadSigners(homes []string) ([]benchSigner, error) {
	var out []benchSigner
	for _, h := range homes {
		cfg, err := node.LoadConfig(h)
		if err != nil {
			return nil, err
		}
		key, err := node.LoadAccountKey(h)
		if err != nil {
			return nil, err
		}
		out = append(out, benchSigner{cfg.Moniker, key})
	}
	return out, nil
}

func benchTxID(i int, salt byte) []byte {
	id := make([]byte, ledger.TxIDBytes)
	binary.BigEndian.PutUint64(id, uint64(i))
	id[8] = salt
	binary.BigEndian.PutUint32(id[12:], uint32(time.Now().UnixNano()))
	return id
}

// proofRecordTxs signs traceProofRecords channel records, each proving
// (bound to its own tx, as the ledger requires) that a random trade
// satisfies the default policy's trade rule set; proving runs on every CPU.
func proofRecordTxs(ctx context.Context, homes []string, keys *zk.Keys, pol *policies.Policy) ([][]byte, error) {
	signers, err := loadSigners(homes)
	if err != nil {
		return nil, err
	}
	members := []benchSigner{signers[0], signers[2], signers[3]} // the channel's members
	ch, _ := pol.Channel(traceChannel)
	rs, _ := pol.RuleSet(ch.RuleSet)
	txs := make([][]byte, traceProofRecords)
	errs := make([]error, traceProofRecords)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= traceProofRecords || ctx.Err() != nil {
					return
				}
				txs[i], errs[i] = proofRecordTx(ctx, keys, rs, members[i%traceSubmitterCount], i)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return txs, ctx.Err()
}

func proofRecordTx(ctx context.Context, keys *zk.Keys, rs *policies.RuleSet, s benchSigner, i int) ([]byte, error) {
	price := 1000 + uint64(i%500)*37
	values, err := rs.Values(map[string]string{"price": fmt.Sprint(price), "quantity": fmt.Sprint(10 + i%90),
		"fee": fmt.Sprint(price / 50), "delivery_days": fmt.Sprint(1 + i%30)})
	if err != nil {
		return nil, err
	}
	salt, err := zk.NewSalt(rand.Reader)
	if err != nil {
		return nil, err
	}
	w := zk.ComplianceWitness{Salt: zk.FeltOf(salt), Constraints: rs.Compiled.ZKConstraints()}
	for _, v := range values {
		w.Fields = append(w.Fields, zk.Uint64(v))
	}
	st, err := w.Statement()
	if err != nil {
		return nil, err
	}
	c := st.(zk.ComplianceStatement).Commitment.Fr()
	cb := c.Bytes()
	id := benchTxID(i, 1)
	hash := sha256.Sum256(id)
	p := &ledgerpb.TxPayload{ChainId: "cohort-bench", TxId: id, Signer: s.name}
	anchor := &ledgerpb.RecordAnchor{Hash: hash[:], Kind: "trade", Channel: traceChannel,
		PublicInfo: []byte(fmt.Sprintf(`{"trade":"T-%d"}`, i)), Commitment: cb[:], VkId: keys.Info.VKID}
	w.Binding = ledger.RecordBinding(p.ChainId, p.TxId, p.Signer, anchor)
	pf, err := keys.Prove(ctx, w)
	if err != nil {
		return nil, err
	}
	if anchor.Proof, err = pf.ProofBytes(); err != nil {
		return nil, err
	}
	p.Msg = &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: anchor}
	return ledger.SignTx(s.key, p)
}

func plainRecordTxs(homes []string, hashes [][]byte) ([][]byte, []string, error) {
	signers, err := loadSigners(homes)
	if err != nil {
		return nil, nil, err
	}
	txs := make([][]byte, len(hashes))
	ids := make([]string, len(hashes))
	for i, h := range hashes {
		s := signers[i%len(signers)]
		id := benchTxID(i, 2)
		tx, err := ledger.SignTx(s.key, &ledgerpb.TxPayload{ChainId: "cohort-bench", TxId: id, Signer: s.name,
			Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{Hash: h, Kind: "trade"}}})
		if err != nil {
			return nil, nil, err
		}
		txs[i], ids[i] = tx, ledger.RecordID(id)
	}
	return txs, ids, nil
}

// measureCommit offers txs at rate and returns committed txs per second
// (first send to last commit) and how many never committed.
func measureCommit(ctx context.Context, watch *node.Node, clients []*client.Client, txs [][]byte, rate int, progress io.Writer) (float64, int, error) {
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	blocks, err := watch.SubscribeBlocks(sub, fmt.Sprintf("bench-%d", time.Now().UnixNano()), 10_000)
	if err != nil {
		return 0, 0, err
	}
	tr := newTracker(txs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range blocks {
			tr.committed(b.Txs.ToSliceOfBytes(), time.Now())
			if tr.done() {
				return
			}
		}
	}()
	sendPaced(ctx, clients, txs, tr, time.Now(), rate)
	deadline := time.After(traceDrainTimeout)
	for !tr.done() {
		select {
		case <-done:
		case <-deadline:
			fmt.Fprintf(progress, "bench: %d txs not committed after %s\n", len(tr.missing()), traceDrainTimeout)
		case <-time.After(100 * time.Millisecond):
			continue
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
		break
	}
	cancel()
	<-done
	_, committed, first, last := tr.stats()
	if committed == 0 {
		return 0, len(txs), fmt.Errorf("no tx committed")
	}
	return float64(committed) / last.Sub(first).Seconds(), len(txs) - committed, nil
}

// measureTraces traces every record as a supervisor would, with a light
// client on node 3 cross-checked against the other three nodes.
func measureTraces(ctx context.Context, homes []string, api *client.Client, txs [][]byte, ids []string, contents [][]byte, progress io.Writer) (perS, cpuUS float64, err error) {
	cfg, err := node.LoadConfig(homes[3])
	if err != nil {
		return 0, 0, err
	}
	rpc, err := rpchttp.New(cfg.Consensus.RPCListen, "/websocket")
	if err != nil {
		return 0, 0, err
	}
	one := int64(1)
	commit, err := rpc.Commit(ctx, &one)
	if err != nil {
		return 0, 0, err
	}
	v, err := trace.NewVerifier(ctx, trace.Config{
		ChainID: "cohort-bench", Primary: cfg.Consensus.RPCListen, Witnesses: cfg.Trace.Witnesses,
		Trusted: trace.TrustedHeader{Height: 1, Hash: hex.EncodeToString(commit.SignedHeader.Hash())},
	})
	if err != nil {
		return 0, 0, err
	}
	defer v.Close()
	fmt.Fprintf(progress, "trace: tracing %d records with %d workers\n", len(txs), traceWorkers)
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	start, cpu0 := time.Now(), processCPU()
	var wg sync.WaitGroup
	for w := 0; w < traceWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(txs) || ctx.Err() != nil {
					return
				}
				// As `cohort trace record`: the record from the supervisor's
				// node, then the light-client checks.
				rec, err := api.Record(ctx, ids[i])
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				r, err := v.VerifyRecord(ctx, ids[i], rec.Height, ledger.TxHash(txs[i]), contents[i])
				if err != nil || !r.Pass {
					failed.Add(1)
					if err == nil {
						err = fmt.Errorf("record %s: %s", ids[i], r.Reason)
					}
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start).Seconds(), processCPU()-cpu0
	if n := failed.Load(); n > 0 {
		return 0, 0, fmt.Errorf("%d of %d traces failed, first: %v", n, len(txs), firstErr.Load())
	}
	return float64(len(txs)) / elapsed, float64(cpu.Microseconds()) / float64(len(txs)), nil
}
