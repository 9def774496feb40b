package client

import "encoding/json"

// Status is GET /v1/status.
type Status struct {
	ChainID    string      `json:"chain_id"`
	Moniker    string      `json:"moniker"`
	Height     int64       `json:"height"`
	AppHash    string      `json:"app_hash"` // hex; the AppHash after Height
	Validators []Validator `json:"validators"`
	Peers      []Peer      `json:"peers"`     // CometBFT consensus peers
	P2PPeers   []string    `json:"p2p_peers"` // connected libp2p member peers
	PeerID     string      `json:"peer_id"`   // this node's libp2p peer ID
	CatchingUp bool        `json:"catching_up"`
}

// Validator is one entry of the current validator set.
type Validator struct {
	Address string `json:"address"` // hex
	Power   int64  `json:"power"`
	Name    string `json:"name,omitempty"` // member name when known
}

// Peer is a connected consensus peer.
type Peer struct {
	ID      string `json:"id"`
	Moniker string `json:"moniker"`
	Addr    string `json:"addr"`
}

// AppHashAt is GET /v1/apphash/{height}.
type AppHashAt struct {
	Height  int64  `json:"height"`
	AppHash string `json:"app_hash"`
}

// BroadcastResult is POST /v1/tx: the mempool's verdict.
type BroadcastResult struct {
	TxHash string `json:"tx_hash"` // hex
	Code   uint32 `json:"code"`
	Log    string `json:"log,omitempty"`
}

// TxResult is GET /v1/tx/{hash}: where and how a tx was committed.
type TxResult struct {
	TxHash string `json:"tx_hash"`
	Height int64  `json:"height"`
	Index  uint32 `json:"index"`
	Code   uint32 `json:"code"`
	Log    string `json:"log,omitempty"`
}

// Record is an anchored record.
type Record struct {
	ID        string `json:"id"`
	Hash      string `json:"hash"` // hex
	Kind      string `json:"kind"`
	Channel   string `json:"channel,omitempty"`
	Locator   string `json:"locator,omitempty"`
	Submitter string `json:"submitter"`
	Height    int64  `json:"height"`
	TxHash    string `json:"tx_hash"`
	// Channel records only.
	PublicInfo json.RawMessage `json:"public_info,omitempty"`
	Commitment string          `json:"commitment,omitempty"` // hex
	VKID       string          `json:"vk_id,omitempty"`
	Proof      []byte          `json:"proof,omitempty"`
}

// Member is a registered member.
type Member struct {
	Name         string   `json:"name"`
	Roles        []string `json:"roles"`
	AccountKey   string   `json:"account_key"` // hex
	PeerID       string   `json:"peer_id"`
	ValidatorKey string   `json:"validator_key,omitempty"`
	Power        int64    `json:"power"`
	SealingKey   string   `json:"sealing_key,omitempty"` // hex edwards25519 point
}

// VerifyingKey is a zk verifying key registered on the ledger.
type VerifyingKey struct {
	Circuit string `json:"circuit"`
	Key     []byte `json:"key"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
	Code  uint32 `json:"code,omitempty"` // ledger error code, when the ledger rejected something
}

// Task is a task assigned on the ledger.
type Task struct {
	ID              string `json:"id"`
	Buyer           string `json:"buyer"`
	Assignee        string `json:"assignee"`
	OrderCommitment string `json:"order_commitment"`
	ThresholdBps    uint32 `json:"threshold_bps"`
	DeadlineHeight  int64  `json:"deadline_height"`
	AssignedHeight  int64  `json:"assigned_height"`
	Status          string `json:"status"`
	CompletedBps    uint32 `json:"completed_bps,omitempty"`
	CompletedHeight int64  `json:"completed_height,omitempty"`
	OrderID         string `json:"order_id,omitempty"` // the order this task delivers, if any
}

// Credit is a member's rating with its recent history.
type Credit struct {
	Member  string        `json:"member"`
	Score   int64         `json:"score"`
	Grade   string        `json:"grade"`
	Output  int64         `json:"output"`
	Power   int64         `json:"power"`
	History []CreditEvent `json:"history"`
}

// CreditEvent is one move of a rating.
type CreditEvent struct {
	Height int64  `json:"height"`
	Reason string `json:"reason"`
	Delta  int64  `json:"delta"`
	Score  int64  `json:"score"`
}

// BlobRef is the answer to POST /v1/blob.
type BlobRef struct {
	Hash string `json:"hash"` // hex SHA-256
	Size int    `json:"size"`
}

// Committee is an MPC committee registered on the ledger.
type Committee struct {
	ID           string   `json:"id"`
	Members      []string `json:"members"`
	Threshold    uint32   `json:"threshold"`
	Status       string   `json:"status"`
	Confirmed    []string `json:"confirmed"`
	CommitteeKey []byte   `json:"committee_key,omitempty"`
}

// Job is a private job as the ledger records it.
type Job struct {
	ID               string          `json:"id"`
	Type             string          `json:"type"`
	Params           json.RawMessage `json:"params,omitempty"`
	Providers        []string        `json:"providers"`
	Committee        string          `json:"committee"`
	Recipient        string          `json:"recipient"`
	Requester        string          `json:"requester"`
	DeadlineHeight   int64           `json:"deadline_height"`
	SubmittedHeight  int64           `json:"submitted_height"`
	Status           string          `json:"status"`
	InputCommitments []string        `json:"input_commitments"` // hex, "" until posted
	OutputCommitment string          `json:"output_commitment,omitempty"`
	Signature        string          `json:"signature,omitempty"`
	FinishedHeight   int64           `json:"finished_height,omitempty"`
	AbortReason      string          `json:"abort_reason,omitempty"`
	Culprit          string          `json:"culprit,omitempty"`
	RecipientKeyHash string          `json:"recipient_key_hash,omitempty"`
	InputProofs      [][]byte        `json:"input_proofs,omitempty"`
	InputVKIDs       []string        `json:"input_vk_ids,omitempty"`
	// An aborted job's committee attestations and the charges made for it
	// (ledger/attest.go).
	Attestations []JobAttestation `json:"attestations,omitempty"`
	Charges      []JobCharge      `json:"charges,omitempty"`
}

// JobAttestation is one committee member's abort of a job: the fault it
// determined itself (empty if none) and whom it names.
type JobAttestation struct {
	Member    string `json:"member"`
	Fault     string `json:"fault,omitempty"`
	Culprit   string `json:"culprit,omitempty"`
	Height    int64  `json:"height"`
	First     bool   `json:"first,omitempty"`     // the abort that ended the job
	Convicted string `json:"convicted,omitempty"` // whom its sealed-share proof convicted
	// NotCharged says why an attestable fault charged nobody: "policy"
	// when the chain's policy leaves credit.charge_attested_faults off, or
	// the committee's creator has no role committees.creators lists.
	NotCharged string `json:"not_charged,omitempty"`
}

// JobCharge is a rating charge made for a job's abort: by a quorum of
// attestations ("attested:<fault>") or a sealed-share proof ("sealed").
type JobCharge struct {
	Member    string `json:"member"`
	Culprit   string `json:"culprit"`
	Cause     string `json:"cause"`
	Delta     int64  `json:"delta"`
	Height    int64  `json:"height"`
	Attesters uint32 `json:"attesters,omitempty"`
}
