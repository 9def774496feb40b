package trace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/cohortnet/cohort/ledger"
)

// TrustedHeader is where verification starts: a header hash the supervisor
// obtained out of band (or on first use, recorded and reported).
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

// Verifier checks records against the chain.
type Verifier struct {
	chainID string
	lc      *light.Client
	rpc     *rpchttp.HTTP
	db      dbm.DB

	mu      sync.Mutex
	results map[int64]verifiedResults // per height: results hash checked against header H+1
}

type verifiedResults struct {
	codes []uint32
}

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
	primary, err := lighthttp.New(cfg.ChainID, withScheme(cfg.Primary))
	if err != nil {
		return nil, fmt.Errorf("trace: primary %s: %w", cfg.Primary, err)
	}
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
	return &Verifier{chainID: cfg.ChainID, lc: lc, rpc: rpc, db: db, results: make(map[int64]verifiedResults)}, nil
}

// Close releases the light store.
func (v *Verifier) Close() error { return v.db.Close() }

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

// VerifyRecord checks that the tx with txHash anchors record recordID with
// the SHA-256 of content, and that the chain committed it. A mismatch is a
// Result with Pass false; an error means the check could not be carried out.
func (v *Verifier) VerifyRecord(ctx context.Context, recordID string, txHash []byte, content []byte) (*Result, error) {
	sum := sha256.Sum256(content)
	res := &Result{RecordID: recordID, ContentHex: hex.EncodeToString(sum[:])}

	tx, err := v.rpc.Tx(ctx, txHash, true)
	if err != nil {
		return nil, fmt.Errorf("trace: fetch tx %X with proof: %w", txHash, err)
	}
	res.Height = tx.Height
	if !bytes.Equal(tx.Tx.Hash(), txHash) {
		return fail(res, "the node returned another tx than the one asked for"), nil
	}
	header, err := v.lc.VerifyLightBlockAtHeight(ctx, tx.Height, time.Now())
	if err != nil {
		return nil, fmt.Errorf("trace: verify header %d: %w", tx.Height, err)
	}
	res.HeaderHash = header.Hash().String()
	if err := tx.Proof.Validate(header.DataHash); err != nil {
		return fail(res, fmt.Sprintf("inclusion proof does not match the verified header: %v", err)), nil
	}
	if !bytes.Equal(tx.Proof.Data, tx.Tx) {
		return fail(res, "inclusion proof is for other bytes"), nil
	}
	codes, err := v.verifiedResults(ctx, tx.Height)
	if err != nil {
		return nil, err
	}
	if int(tx.Index) >= len(codes) || codes[tx.Index] != ledger.CodeOK {
		return fail(res, "the anchoring tx was included but rejected by the ledger"), nil
	}
	payload, err := ledger.DecodePayload(tx.Tx, v.chainID)
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

// verifiedResults returns the result codes of block h's txs after checking
// them against LastResultsHash of the verified header h+1.
func (v *Verifier) verifiedResults(ctx context.Context, h int64) ([]uint32, error) {
	v.mu.Lock()
	r, ok := v.results[h]
	v.mu.Unlock()
	if ok {
		return r.codes, nil
	}
	next, err := v.lc.VerifyLightBlockAtHeight(ctx, h+1, time.Now())
	if err != nil {
		return nil, fmt.Errorf("trace: verify header %d: %w", h+1, err)
	}
	br, err := v.rpc.BlockResults(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("trace: block results %d: %w", h, err)
	}
	if !bytes.Equal(cmttypes.NewResults(br.TxsResults).Hash(), next.LastResultsHash) {
		return nil, fmt.Errorf("trace: block results of %d do not match the verified header %d", h, h+1)
	}
	codes := make([]uint32, len(br.TxsResults))
	for i, t := range br.TxsResults {
		codes[i] = t.Code
	}
	v.mu.Lock()
	v.results[h] = verifiedResults{codes: codes}
	v.mu.Unlock()
	return codes, nil
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
