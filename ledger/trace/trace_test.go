package trace_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/ledger/trace"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/localnet"
)

// forgingRPC stands in front of a node's CometBFT RPC and serves, for every
// height from forgeFrom on, a header with another app hash whose commit
// names the forged header's hash (so the light block is well formed; only
// the validators' signatures give it away).
type forgingRPC struct {
	target    string
	forgeFrom atomic.Int64
	forged    atomic.Int64 // headers served forged
}

func (f *forgingRPC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := http.Post(f.target+r.URL.RequestURI(), r.Header.Get("Content-Type"), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var req struct {
		Method string `json:"method"`
		Params struct {
			Height string `json:"height"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &req) == nil && req.Method == "commit" {
		if h, err := strconv.ParseInt(req.Params.Height, 10, 64); err == nil && h >= f.forgeFrom.Load() {
			if forged, ok := forgeCommit(out); ok {
				out = forged
				f.forged.Add(1)
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func forgeCommit(raw []byte) ([]byte, bool) {
	var msg map[string]json.RawMessage
	if json.Unmarshal(raw, &msg) != nil || msg["result"] == nil {
		return nil, false
	}
	var rc ctypes.ResultCommit
	if cmtjson.Unmarshal(msg["result"], &rc) != nil || rc.Header == nil || rc.Commit == nil {
		return nil, false
	}
	rc.Header.AppHash = bytes.Repeat([]byte{0xAA}, 32)
	rc.Commit.BlockID.Hash = rc.Header.Hash()
	res, err := cmtjson.Marshal(rc)
	if err != nil {
		return nil, false
	}
	msg["result"] = res
	out, err := json.Marshal(msg)
	return out, err == nil
}

func TestGenesisAnchorAndForgedHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	net, err := localnet.Start(ctx, localnet.Options{Nodes: 1, ChainID: "trace-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Stop()
	home, api := net.Homes[0], net.Clients[0]
	cfg, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	rpcAddr := "http://" + strings.TrimPrefix(cfg.Consensus.RPCListen, "tcp://")

	// Anchor a record and let two more blocks commit.
	content := []byte("an off-chain record")
	sum := sha256.Sum256(content)
	key, err := node.LoadAccountKey(home)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := ledger.NewTxID()
	tx, err := ledger.SignTx(key, &ledgerpb.TxPayload{ChainId: "trace-test", TxId: id, Signer: localnet.Name(0),
		Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{Hash: sum[:], Kind: "trade"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Submit(ctx, tx); err != nil {
		t.Fatal(err)
	}
	rec, err := api.Record(ctx, ledger.RecordID(id))
	if err != nil {
		t.Fatal(err)
	}
	if err := localnet.WaitHeight(ctx, api, rec.Height+2, 2*time.Minute); err != nil {
		t.Fatal(err)
	}

	// The anchor from the genesis file is the chain's first header.
	gen, err := cmttypes.GenesisDocFromFile(filepath.Join(home, "cometbft", "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	anchor, err := trace.GenesisAnchor(ctx, gen, rpcAddr)
	if err != nil {
		t.Fatalf("genesis anchor from an honest node: %v", err)
	}
	rpc, err := rpchttp.New(rpcAddr, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	first := gen.InitialHeight
	c1, err := rpc.Commit(ctx, &first)
	if err != nil {
		t.Fatal(err)
	}
	if anchor.Height != first || anchor.Hash != hex.EncodeToString(c1.SignedHeader.Hash()) {
		t.Fatalf("genesis anchor %+v is not header %d (%X)", anchor, first, c1.SignedHeader.Hash())
	}

	txHash := ledger.TxHash(tx)
	traceWith := func(primary string) (*trace.Result, error) {
		v, err := trace.NewVerifier(ctx, trace.Config{ChainID: "trace-test", Primary: primary,
			Witnesses: []string{rpcAddr}, Trusted: anchor})
		if err != nil {
			return nil, err
		}
		defer v.Close()
		return v.VerifyRecord(ctx, rec.ID, rec.Height, txHash, content)
	}
	if r, err := traceWith(rpcAddr); err != nil || !r.Pass {
		t.Fatalf("trace through an honest node: %+v, %v", r, err)
	}

	// A node that forges the headers from the record's height on.
	forger := &forgingRPC{target: rpcAddr}
	forger.forgeFrom.Store(rec.Height)
	srv := httptest.NewServer(forger)
	defer srv.Close()
	r, err := traceWith(srv.URL)
	if err == nil {
		t.Fatalf("trace through a node serving forged headers passed: %+v", r)
	}
	if forger.forged.Load() == 0 {
		t.Fatal("test setup: the forging node forged nothing")
	}
	t.Logf("forged header refused: %v", err)

	// The genesis anchor cannot be forged either: not by the node, and not
	// against a genesis file other than the chain's.
	forger.forgeFrom.Store(first)
	if _, err := trace.GenesisAnchor(ctx, gen, srv.URL); err == nil || !strings.Contains(err.Error(), "not signed by the genesis validators") {
		t.Fatalf("genesis anchor from a forging node: %v", err)
	}
	other := *gen
	other.Validators = append([]cmttypes.GenesisValidator(nil), gen.Validators...)
	other.Validators[0].Power++
	if _, err := trace.GenesisAnchor(ctx, &other, rpcAddr); err == nil {
		t.Fatal("genesis anchor accepted a header for another genesis's validators")
	}
}
