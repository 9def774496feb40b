package client

import (
	"context"
	"net/http"
	"net/url"
)

// OrderPartner is one partner's slot of an order and its task.
type OrderPartner struct {
	Member      string `json:"member"`
	Quantity    uint64 `json:"quantity"`
	UnitValue   uint64 `json:"unit_value"`
	FixedAmount uint64 `json:"fixed_amount,omitempty"`
	TaskID      string `json:"task_id,omitempty"` // set once the order is active
}

// OrderTransition is one step of an order's life cycle.
type OrderTransition struct {
	Height      int64  `json:"height"`
	From        string `json:"from,omitempty"`
	To          string `json:"to"`
	Reason      string `json:"reason"`
	By          string `json:"by"`
	Party       string `json:"party,omitempty"`
	CreditDelta int64  `json:"credit_delta,omitempty"`
}

// Order is an order (contract) on the ledger.
type Order struct {
	ID               string            `json:"id"`
	Demander         string            `json:"demander"`
	Product          string            `json:"product"`
	Quantity         uint64            `json:"quantity"`
	DeadlineHeight   int64             `json:"deadline_height"`
	MinGrade         string            `json:"min_grade"`
	MaxPartners      uint32            `json:"max_partners"`
	Mode             string            `json:"mode"`
	ProfitPool       uint64            `json:"profit_pool"`
	Funds            uint64            `json:"funds"`
	ThresholdBps     uint32            `json:"threshold_bps"`
	CounterpartyKey  string            `json:"counterparty_key"` // hex
	Partners         []OrderPartner    `json:"partners"`
	TermsHash        string            `json:"terms_hash"` // hex; what each partner signs
	Status           string            `json:"status"`
	Signed           []string          `json:"signed"`
	CreatedHeight    int64             `json:"created_height"`
	Version          uint32            `json:"version"` // number of transitions; votes name it
	Transitions      []OrderTransition `json:"transitions"`
	ResumeVotes      []string          `json:"resume_votes,omitempty"`
	TerminateVotes   []string          `json:"terminate_votes,omitempty"`
	SettlementRecord string            `json:"settlement_record,omitempty"`
	// Tender orders: created without partners (status tendering), their
	// partners filled by a tender job's award. MaxPrice is a term (a quote
	// asks at most it); TenderJob is the last tender job submitted for the
	// order; TenderedQuantity is the quantity tendered when the award filled
	// less (Quantity is then the awarded total).
	Tender           bool   `json:"tender,omitempty"`
	MaxPrice         uint64 `json:"max_price,omitempty"`
	TenderJob        string `json:"tender_job,omitempty"`
	TenderedQuantity uint64 `json:"tendered_quantity,omitempty"`
}

// PartnerShare is one partner's line of a settlement.
type PartnerShare struct {
	Member            string `json:"member"`
	TaskID            string `json:"task_id"`
	TaskStatus        string `json:"task_status"`
	CompletedBps      uint32 `json:"completed_bps"`
	DeliveredQuantity uint64 `json:"delivered_quantity"`
	VerifiedValue     string `json:"verified_value"` // decimal; may exceed 64 bits
	FixedPart         uint64 `json:"fixed_part"`
	SharingPart       uint64 `json:"sharing_part"`
	Total             uint64 `json:"total"`
}

// Settlement is an order's settlement as the ledger computed it.
type Settlement struct {
	OrderID    string         `json:"order_id"`
	Mode       string         `json:"mode"`
	ProfitPool uint64         `json:"profit_pool"`
	Shares     []PartnerShare `json:"shares"`
	Paid       uint64         `json:"paid"`
	Refund     uint64         `json:"refund"`
	Height     int64          `json:"height"`
	SettledBy  string         `json:"settled_by"`
	Hash       string         `json:"hash"` // hex SHA-256 of the stored settlement: the record's hash
}

// CreditHistory is a member's current grade label and full score history.
type CreditHistory struct {
	Member    string               `json:"member"`
	Score     int64                `json:"score"`
	Grade     string               `json:"grade"`
	Output    int64                `json:"output"`
	Power     int64                `json:"power"`
	History   []CreditHistoryEntry `json:"history"` // oldest first
	Truncated bool                 `json:"truncated,omitempty"`
}

// CreditHistoryEntry is one move of a rating with the grade it left.
type CreditHistoryEntry struct {
	Height int64  `json:"height"`
	Reason string `json:"reason"`
	Delta  int64  `json:"delta"`
	Score  int64  `json:"score"`
	Grade  string `json:"grade"`
}

// Order returns an order by ID.
func (c *Client) Order(ctx context.Context, id string) (*Order, error) {
	var o Order
	return &o, c.do(ctx, http.MethodGet, "/v1/order/"+url.PathEscape(id), nil, &o)
}

// Orders lists the orders by ID (the first 1000).
func (c *Client) Orders(ctx context.Context) ([]Order, error) {
	var os []Order
	return os, c.do(ctx, http.MethodGet, "/v1/orders", nil, &os)
}

// Settlement returns a settled order's settlement.
func (c *Client) Settlement(ctx context.Context, orderID string) (*Settlement, error) {
	var s Settlement
	return &s, c.do(ctx, http.MethodGet, "/v1/settlement/"+url.PathEscape(orderID), nil, &s)
}

// CreditHistory returns a member's grade label and score history.
func (c *Client) CreditHistory(ctx context.Context, member string) (*CreditHistory, error) {
	var h CreditHistory
	return &h, c.do(ctx, http.MethodGet, "/v1/credit/"+url.PathEscape(member)+"/history", nil, &h)
}
