package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

const (
	// MaxTxBytes bounds an encoded SignedTx. Large objects (ciphertexts,
	// encrypted records) travel off-chain; only their hashes come here.
	MaxTxBytes = 1 << 20
	// TxIDBytes is the length of the tx IDs this package generates.
	TxIDBytes    = 16
	minTxIDBytes = 16
	maxTxIDBytes = 32
	maxNameBytes = 64
	// signDomain separates tx signatures from any other use of account keys.
	signDomain = "cohort/tx/v1\x00"
)

// Error codes returned in CheckTx and FinalizeBlock results. Code 0 is OK.
const (
	CodeOK uint32 = iota
	CodeMalformed
	CodeTooLarge
	CodeWrongChain
	CodeUnknownSigner
	CodeBadSignature
	CodeReplay
	CodeInvalid
	CodeUnauthorized
	CodeBelowThreshold
	CodeInvalidProof
	// CodeJobFinished: the job the tx is about already completed or aborted
	// (a late result, input or abort; harmless to its sender).
	CodeJobFinished
)

// TxError is a rejected tx: a code for machines and a message for people.
type TxError struct {
	Code uint32
	Msg  string
}

func (e *TxError) Error() string { return e.Msg }

func txErr(code uint32, format string, args ...any) *TxError {
	return &TxError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// NewTxID returns a fresh random tx ID.
func NewTxID() ([]byte, error) {
	id := make([]byte, TxIDBytes)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("generate tx id: %w", err)
	}
	return id, nil
}

// SignTx builds and signs a SignedTx. payload.ChainId, TxId and Signer must be
// set; the returned bytes are what gets broadcast.
func SignTx(key ed25519.PrivateKey, payload *ledgerpb.TxPayload) ([]byte, error) {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("marshal tx payload: %w", err)
	}
	sig := ed25519.Sign(key, signingBytes(body))
	raw, err := proto.Marshal(&ledgerpb.SignedTx{Payload: body, Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("marshal signed tx: %w", err)
	}
	if len(raw) > MaxTxBytes {
		return nil, fmt.Errorf("tx of %d bytes exceeds the %d-byte limit", len(raw), MaxTxBytes)
	}
	return raw, nil
}

func signingBytes(body []byte) []byte {
	b := make([]byte, 0, len(signDomain)+len(body))
	return append(append(b, signDomain...), body...)
}

// TxHash is CometBFT's hash of a tx: SHA-256 of its bytes.
func TxHash(raw []byte) []byte {
	h := sha256.Sum256(raw)
	return h[:]
}

// decodedTx is a tx that passed the stateless checks.
type decodedTx struct {
	raw     []byte
	payload *ledgerpb.TxPayload
	sig     []byte
	body    []byte
}

// decodeTx checks size, encoding, chain ID and the tx ID's shape. It does not
// look at state and does not verify the signature.
func decodeTx(raw []byte, chainID string) (*decodedTx, *TxError) {
	if len(raw) > MaxTxBytes {
		return nil, txErr(CodeTooLarge, "tx of %d bytes exceeds the %d-byte limit", len(raw), MaxTxBytes)
	}
	if len(raw) == 0 {
		return nil, txErr(CodeMalformed, "empty tx")
	}
	var st ledgerpb.SignedTx
	if err := proto.Unmarshal(raw, &st); err != nil {
		return nil, txErr(CodeMalformed, "malformed tx envelope: %v", err)
	}
	if len(st.Signature) != ed25519.SignatureSize {
		return nil, txErr(CodeMalformed, "signature must be %d bytes, got %d", ed25519.SignatureSize, len(st.Signature))
	}
	var p ledgerpb.TxPayload
	if err := proto.Unmarshal(st.Payload, &p); err != nil {
		return nil, txErr(CodeMalformed, "malformed tx payload: %v", err)
	}
	if p.ChainId != chainID {
		return nil, txErr(CodeWrongChain, "tx is for chain %q, this is %q", p.ChainId, chainID)
	}
	if n := len(p.TxId); n < minTxIDBytes || n > maxTxIDBytes {
		return nil, txErr(CodeMalformed, "tx id must be %d to %d bytes, got %d", minTxIDBytes, maxTxIDBytes, n)
	}
	if p.Signer == "" || len(p.Signer) > maxNameBytes {
		return nil, txErr(CodeMalformed, "signer name must be 1 to %d bytes", maxNameBytes)
	}
	if p.Msg == nil {
		return nil, txErr(CodeMalformed, "tx carries no message")
	}
	return &decodedTx{raw: raw, payload: &p, sig: st.Signature, body: st.Payload}, nil
}

// verifySignature checks the tx signature against the signer's account key
// (with sigs' expanded keys; the verdict is crypto/ed25519's).
func (tx *decodedTx) verifySignature(sigs *sigCache, accountKey []byte) *TxError {
	if len(accountKey) != ed25519.PublicKeySize {
		return txErr(CodeInvalid, "member %q has no valid account key", tx.payload.Signer)
	}
	if !sigs.verify(accountKey, signingBytes(tx.body), tx.sig) {
		return txErr(CodeBadSignature, "bad signature for signer %q", tx.payload.Signer)
	}
	return nil
}

// RecordID is the ID of a record anchored by the tx with this ID.
func RecordID(txID []byte) string { return hex.EncodeToString(txID) }

// ErrNotFound is returned by queries for absent objects.
var ErrNotFound = errors.New("not found")

// DecodePayload decodes a tx's payload after the stateless checks (size,
// encoding, chain ID, tx ID). It does not verify the signature: callers use
// it on txs the chain has already accepted.
func DecodePayload(raw []byte, chainID string) (*ledgerpb.TxPayload, error) {
	tx, terr := decodeTx(raw, chainID)
	if terr != nil {
		return nil, terr
	}
	return tx.payload, nil
}
