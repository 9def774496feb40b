package trace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/cohortnet/cohort/ledger"
)

// TrustedHeader is where verification starts: the chain's first header,
// anchored to the genesis file (GenesisAnchor), or a header hash the
// supervisor obtained out of band. Never whatever the first node asked says.
type TrustedHeader struct {
	Height int64  `json:"height"`
	Hash   string `json:"hash"` // hex
}

// Config configures a Verifier.
type Config struct {
	ChainID   string
	Primary   string   // CometBFT RPC address of the node to ask, e.g. http://127.0.0.1:26657
	Witnesses []string // other members' CometBFT RPC addresses, to detect a lying primary
	Trusted   TrustedHeader
	// TrustingPeriod bounds how old the trusted header may be (default 14 days).
	TrustingPeriod time.Duration
	// StoreDir keeps verified headers across runs; empty keeps them in memory.
	StoreDir string
}

// Verifier checks records against the chain. It is safe for concurrent use;
// each height's header, block and results are fetched and verified once.
type Verifier struct {
	chainID string
	lc      *light.Client
	primary *primaryGuard
	rpc     *rpchttp.HTTP
	rpcBase string // the primary's RPC URL
	http    *http.Client
	db      dbm.DB

	// lcMu serialises light-client verification: two concurrent
	// verifications of the same height would race to store it.
	lcMu sync.Mutex

	mu      sync.Mutex
	heights map[int64]*heightData

	// bg is the context of background prefetches; Close cancels it (under
	// mu, so no prefetch starts after) and waits for them.
	bg   context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// heightData is what one height contributes to every trace at that height.
type heightData struct {
	once    sync.Once
	err     error
	header  *cmttypes.LightBlock
	txIndex map[[32]byte]int // tx hash → position in the block
	txs     [][]byte
	codes   []uint32 // result codes, checked against the next header
}

// maxCachedHeights bounds the per-height cache of a long-running verifier.
const maxCachedHeights = 256

// NewVerifier connects to the primary and witnesses and prepares the light
// client from the trusted header.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.TrustingPeriod == 0 {
		cfg.TrustingPeriod = 14 * 24 * time.Hour
	}
	hash, err := hex.DecodeString(cfg.Trusted.Hash)
	if err != nil || len(hash) != sha256.Size {
		return nil, fmt.Errorf("trusted header hash must be 64 hex characters")
	}
	if len(cfg.Witnesses) == 0 {
		return nil, errors.New("trace: at least one witness is required to detect a lying primary")
	}
	primaryHTTP, err := lighthttp.New(cfg.ChainID, withScheme(cfg.Primary))
	if err != nil {
		return nil, fmt.Errorf("trace: primary %s: %w", cfg.Primary, err)
	}
	primary := &primaryGuard{Provider: primaryHTTP, name: cfg.Primary, served: make(map[int64][]byte)}
	var witnesses []provider.Provider
	for _, w := range cfg.Witnesses {
		p, err := lighthttp.New(cfg.ChainID, withScheme(w))
		if err != nil {
			return nil, fmt.Errorf("trace: witness %s: %w", w, err)
		}
		witnesses = append(witnesses, p)
	}
	var db dbm.DB
	if cfg.StoreDir == "" {
		db = dbm.NewMemDB()
	} else if db, err = dbm.NewGoLevelDB("light", cfg.StoreDir); err != nil {
		return nil, fmt.Errorf("trace: light store: %w", err)
	}
	lc, err := light.NewClient(ctx, cfg.ChainID,
		light.TrustOptions{Period: cfg.TrustingPeriod, Height: cfg.Trusted.Height, Hash: hash},
		primary, witnesses, lightdb.New(db, cfg.ChainID),
		light.SkippingVerification(light.DefaultTrustLevel),
		light.Logger(cmtlog.NewNopLogger()),
	)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("trace: light client: %w", err)
	}
	rpc, err := rpchttp.New(withScheme(cfg.Primary), "/websocket")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("trace: rpc %s: %w", cfg.Primary, err)
	}
	bg, stop := context.WithCancel(context.Background())
	return &Verifier{chainID: cfg.ChainID, lc: lc, primary: primary, rpc: rpc, db: db, heights: make(map[int64]*heightData), bg: bg, stop: stop,
		rpcBase: strings.TrimRight(withScheme(cfg.Primary), "/"),
		http:    &http.Client{Timeout: time.Minute}}, nil
}

// Close stops background loads and releases the light store.
func (v *Verifier) Close() error {
	v.mu.Lock()
	v.stop()
	v.mu.Unlock()
	v.wg.Wait()
	return v.db.Close()
}

// Result is the outcome of one trace.
type Result struct {
	RecordID    string `json:"record_id"`
	Height      int64  `json:"height"`      // block that anchored the record
	AnchoredHex string `json:"anchored"`    // hash on the ledger
	ContentHex  string `json:"content"`     // SHA-256 of the bytes checked
	HeaderHash  string `json:"header_hash"` // verified header of Height
	Pass        bool   `json:"pass"`
	Reason      string `json:"reason,omitempty"` // why it failed
}

// VerifyRecord checks that the tx with txHash, which the node says is in
// block height, anchors record recordID with the SHA-256 of content, and that
// the chain committed it. Height and tx hash are hints from an untrusted node:
// the tx must be in the block whose header the light client verified. A
// mismatch is a Result with Pass false; an error means the check could not
// be carried out.
func (v *Verifier) VerifyRecord(ctx context.Context, recordID string, height int64, txHash []byte, content []byte) (*Result, error) {
	sum := sha256.Sum256(content)
	res := &Result{RecordID: recordID, Height: height, ContentHex: hex.EncodeToString(sum[:])}
	d, err := v.height(ctx, height)
	if err != nil {
		return nil, err
	}
	res.HeaderHash = d.header.Hash().String()
	if len(txHash) != sha256.Size {
		return fail(res, "bad tx hash"), nil
	}
	i, ok := d.txIndex[[32]byte(txHash)]
	if !ok {
		return fail(res, fmt.Sprintf("the anchoring tx is not in the verified block %d", height)), nil
	}
	if d.codes[i] != ledger.CodeOK {
		return fail(res, "the anchoring tx was included but rejected by the ledger"), nil
	}
	payload, err := ledger.DecodePayload(d.txs[i], v.chainID)
	if err != nil {
		return fail(res, fmt.Sprintf("anchoring tx: %v", err)), nil
	}
	anchor := payload.GetRecordAnchor()
	if anchor == nil || ledger.RecordID(payload.TxId) != recordID {
		return fail(res, "the tx does not anchor this record"), nil
	}
	res.AnchoredHex = hex.EncodeToString(anchor.Hash)
	if !bytes.Equal(anchor.Hash, sum[:]) {
		return fail(res, "content hash differs from the anchored hash"), nil
	}
	res.Pass = true
	return res, nil
}

func fail(r *Result, reason string) *Result {
	r.Pass, r.Reason = false, reason
	return r
}

// height loads and verifies height h once. The first request for a height
// also starts loading the next one in the background: records are anchored
// in runs of consecutive blocks, so a supervisor tracing many of them would
// otherwise stall on every new height.
func (v *Verifier) height(ctx context.Context, h int64) (*heightData, error) {
	if h <= 0 {
		return nil, fmt.Errorf("trace: bad height %d", h)
	}
	v.mu.Lock()
	d, ok := v.heights[h]
	if !ok {
		d = v.addLocked(h)
		v.prefetchLocked(h + 1)
	}
	v.mu.Unlock()
	d.once.Do(func() { d.err = v.load(ctx, h, d) })
	if d.err != nil {
		v.forget(h, d)
	}
	return d, d.err
}

func (v *Verifier) addLocked(h int64) *heightData {
	if len(v.heights) >= maxCachedHeights {
		clear(v.heights)
	}
	d := &heightData{}
	v.heights[h] = d
	return d
}

// prefetchLocked loads height h in the background unless it is known or the
// verifier is closing. Only a caller's request prefetches, so prefetching
// never runs ahead by more than one height.
func (v *Verifier) prefetchLocked(h int64) {
	if _, ok := v.heights[h]; ok || v.bg.Err() != nil {
		return
	}
	d := v.addLocked(h)
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		d.once.Do(func() { d.err = v.load(v.bg, h, d) })
		if d.err != nil {
			v.forget(h, d) // e.g. h+1 not committed yet: a later request retries
		}
	}()
}

// forget drops a failed height so that a later request retries it.
func (v *Verifier) forget(h int64, d *heightData) {
	v.mu.Lock()
	if v.heights[h] == d {
		delete(v.heights, h)
	}
	v.mu.Unlock()
}

// load verifies header h and h+1 with the light client, fetches block h and
// checks its txs against the header's data hash, and fetches its results and
// checks them against LastResultsHash of header h+1.
func (v *Verifier) load(ctx context.Context, h int64, d *heightData) error {
	header, err := v.verifyHeader(ctx, h)
	if err != nil {
		return err
	}
	next, err := v.verifyHeader(ctx, h+1)
	if err != nil {
		return err
	}
	blk, err := v.rpc.Block(ctx, &h)
	if err != nil {
		return fmt.Errorf("trace: fetch block %d: %w", h, err)
	}
	if !bytes.Equal(blk.Block.Hash(), header.Hash()) {
		return fmt.Errorf("trace: block %d from the node does not match the verified header", h)
	}
	if !bytes.Equal(blk.Block.Data.Hash(), header.DataHash) {
		return fmt.Errorf("trace: txs of block %d do not match the verified header's data hash", h)
	}
	results, err := v.blockResults(ctx, h)
	if err != nil {
		return err
	}
	if !bytes.Equal(cmttypes.NewResults(results).Hash(), next.LastResultsHash) {
		return fmt.Errorf("trace: block results of %d do not match the verified header %d", h, h+1)
	}
	if len(results) != len(blk.Block.Txs) {
		return fmt.Errorf("trace: block %d has %d txs and %d results", h, len(blk.Block.Txs), len(results))
	}
	d.header = header
	d.txs = blk.Block.Txs.ToSliceOfBytes()
	d.txIndex = make(map[[32]byte]int, len(d.txs))
	d.codes = make([]uint32, len(results))
	for i, tx := range d.txs {
		d.txIndex[sha256.Sum256(tx)] = i
		d.codes[i] = results[i].Code
	}
	return nil
}

func (v *Verifier) verifyHeader(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	v.lcMu.Lock()
	defer v.lcMu.Unlock()
	lb, err := v.lc.VerifyLightBlockAtHeight(ctx, h, time.Now())
	if lerr := v.primary.lie(h, lb); lerr != nil {
		return nil, lerr
	}
	if v.lc.Primary() != provider.Provider(v.primary) {
		// The light client replaces a primary whose headers do not verify
		// (or that stops answering): either way the blocks and results this
		// verifier fetches from it can no longer be relied upon.
		return nil, fmt.Errorf("trace: the light client dropped the primary %s at height %d (it served headers that do not verify, or stopped answering)", v.primary.name, h)
	}
	if err != nil {
		return nil, fmt.Errorf("trace: verify header %d: %w", h, err)
	}
	return lb, nil
}

// primaryGuard remembers what the primary served. The light client drops a
// primary that serves an invalid light block and carries on with a witness;
// a supervisor must instead learn that the node it asked forged a header,
// and must not trust its blocks and results for the trace.
type primaryGuard struct {
	provider.Provider
	name string

	mu     sync.Mutex
	forged error
	served map[int64][]byte // header hash served per height
}

// maxServed bounds the guard's memory of served headers.
const maxServed = 4096

func (g *primaryGuard) LightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	lb, err := g.Provider.LightBlock(ctx, h)
	g.mu.Lock()
	defer g.mu.Unlock()
	var bad provider.ErrBadLightBlock
	switch {
	case errors.As(err, &bad):
		if g.forged == nil {
			g.forged = fmt.Errorf("trace: the primary %s served an invalid header at height %d: %v", g.name, h, bad.Reason)
		}
	case err == nil && lb != nil:
		if len(g.served) >= maxServed {
			clear(g.served)
		}
		g.served[lb.Height] = lb.Hash()
	}
	return lb, err
}

// lie reports whether the primary has served an invalid header, or a header
// at height h other than the verified one lb (nil if verification failed).
func (g *primaryGuard) lie(h int64, lb *cmttypes.LightBlock) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.forged != nil {
		return g.forged
	}
	if served, ok := g.served[h]; ok && lb != nil && !bytes.Equal(served, lb.Hash()) {
		return fmt.Errorf("trace: the primary %s served a header at height %d (%X) that the chain did not sign (verified %X)",
			g.name, h, served, lb.Hash())
	}
	return nil
}

// GenesisAnchor derives the trusted header from the chain's genesis file
// instead of trusting whatever the node says: it fetches the header at the
// genesis's initial height from the node at rpcAddr and accepts it only if
// it is for this chain and height, carries the genesis time, validator set
// and consensus parameters, and more than 2/3 of the genesis validators'
// voting power signed it. Forging it needs the genesis validators' keys.
func GenesisAnchor(ctx context.Context, gen *cmttypes.GenesisDoc, rpcAddr string) (TrustedHeader, error) {
	if err := gen.ValidateAndComplete(); err != nil {
		return TrustedHeader{}, fmt.Errorf("trace: genesis: %w", err)
	}
	vals := make([]*cmttypes.Validator, len(gen.Validators))
	for i, gv := range gen.Validators {
		vals[i] = cmttypes.NewValidator(gv.PubKey, gv.Power)
	}
	set := cmttypes.NewValidatorSet(vals)
	if err := set.ValidateBasic(); err != nil {
		return TrustedHeader{}, fmt.Errorf("trace: genesis validators: %w", err)
	}
	p, err := lighthttp.New(gen.ChainID, withScheme(rpcAddr))
	if err != nil {
		return TrustedHeader{}, fmt.Errorf("trace: %s: %w", rpcAddr, err)
	}
	h := gen.InitialHeight
	lb, err := p.LightBlock(ctx, h)
	if err != nil {
		return TrustedHeader{}, fmt.Errorf("trace: header %d from %s: %w", h, rpcAddr, err)
	}
	switch {
	case lb.ChainID != gen.ChainID || lb.Height != h:
		return TrustedHeader{}, fmt.Errorf("trace: %s served header %s/%d for genesis %s/%d", rpcAddr, lb.ChainID, lb.Height, gen.ChainID, h)
	case !lb.Time.Equal(gen.GenesisTime):
		return TrustedHeader{}, fmt.Errorf("trace: header %d from %s has time %s, the genesis %s", h, rpcAddr, lb.Time, gen.GenesisTime)
	case !bytes.Equal(lb.ValidatorsHash, set.Hash()):
		return TrustedHeader{}, fmt.Errorf("trace: header %d from %s names validators other than the genesis's", h, rpcAddr)
	case !bytes.Equal(lb.ConsensusHash, gen.ConsensusParams.Hash()):
		return TrustedHeader{}, fmt.Errorf("trace: header %d from %s has consensus parameters other than the genesis's", h, rpcAddr)
	}
	if err := set.VerifyCommitLight(gen.ChainID, lb.Commit.BlockID, h, lb.Commit); err != nil {
		return TrustedHeader{}, fmt.Errorf("trace: header %d from %s is not signed by the genesis validators: %w", h, rpcAddr, err)
	}
	return TrustedHeader{Height: h, Hash: hex.EncodeToString(lb.Hash())}, nil
}

// maxResultsBytes bounds a block_results answer (a block is at most 8 MiB;
// its results carry events on top).
const maxResultsBytes = 64 << 20

// blockResults fetches the deterministic part of block h's tx results (code,
// data, gas wanted and used: what LastResultsHash commits to). It reads the
// RPC's JSON with a lean decoder: the RPC client's reflective decoder spent
// most of a height's load time on the events, which the hash does not cover
// and the trace does not use.
func (v *Verifier) blockResults(ctx context.Context, h int64) ([]*abci.ExecTxResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.rpcBase+"/block_results?height="+strconv.FormatInt(h, 10), nil)
	if err != nil {
		return nil, fmt.Errorf("trace: block results %d: %w", h, err)
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("trace: block results %d: %w", h, err)
	}
	defer resp.Body.Close()
	var answer struct {
		Result *struct {
			Height     string `json:"height"`
			TxsResults []struct {
				Code      uint32 `json:"code"`
				Data      []byte `json:"data"`
				GasWanted string `json:"gas_wanted"`
				GasUsed   string `json:"gas_used"`
			} `json:"txs_results"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	body := io.LimitReader(resp.Body, maxResultsBytes+1)
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("trace: block results %d: %w", h, err)
	}
	if len(raw) > maxResultsBytes {
		return nil, fmt.Errorf("trace: block results %d exceed %d bytes", h, maxResultsBytes)
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, fmt.Errorf("trace: block results %d: %w", h, err)
	}
	if answer.Error != nil || answer.Result == nil {
		msg := "empty answer"
		if answer.Error != nil {
			msg = answer.Error.Message + ": " + answer.Error.Data
		}
		return nil, fmt.Errorf("trace: block results %d: %s", h, msg)
	}
	if answer.Result.Height != strconv.FormatInt(h, 10) {
		return nil, fmt.Errorf("trace: block results for height %s, asked %d", answer.Result.Height, h)
	}
	out := make([]*abci.ExecTxResult, len(answer.Result.TxsResults))
	for i, r := range answer.Result.TxsResults {
		wanted, err1 := strconv.ParseInt(r.GasWanted, 10, 64)
		used, err2 := strconv.ParseInt(r.GasUsed, 10, 64)
		if (r.GasWanted != "" && err1 != nil) || (r.GasUsed != "" && err2 != nil) {
			return nil, fmt.Errorf("trace: block results %d: tx %d: bad gas figures", h, i)
		}
		out[i] = &abci.ExecTxResult{Code: r.Code, Data: r.Data, GasWanted: wanted, GasUsed: used}
	}
	return out, nil
}

func withScheme(addr string) string {
	for _, p := range []string{"http://", "https://", "tcp://"} {
		if len(addr) >= len(p) && addr[:len(p)] == p {
			if p == "tcp://" {
				return "http://" + addr[len(p):]
			}
			return addr
		}
	}
	return "http://" + addr
}
