package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node/client"
)

// Order, settlement and credit-history endpoints (see node/client/orders.go).
func (n *Node) registerOrderRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/order/{id}", n.handleOrder)
	mux.HandleFunc("GET /v1/orders", n.handleOrders)
	mux.HandleFunc("GET /v1/settlement/{id}", n.handleSettlement)
	mux.HandleFunc("GET /v1/credit/{name}/history", n.handleCreditHistory)
}

func (n *Node) handleOrder(w http.ResponseWriter, r *http.Request) {
	var o ledgerpb.Order
	if !n.query(w, ledger.QueryOrder, []byte(r.PathValue("id")), &o) {
		return
	}
	writeJSON(w, http.StatusOK, orderJSON(&o))
}

func (n *Node) handleOrders(w http.ResponseWriter, _ *http.Request) {
	var list ledgerpb.OrderList
	if !n.query(w, ledger.QueryOrders, nil, &list) {
		return
	}
	out := make([]client.Order, 0, len(list.Orders))
	for _, o := range list.Orders {
		out = append(out, orderJSON(o))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleSettlement also returns the hash of the stored bytes, the hash the
// settlement record anchors, so a supervisor can look the record up.
func (n *Node) handleSettlement(w http.ResponseWriter, r *http.Request) {
	res, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: ledger.QuerySettlement, Data: []byte(r.PathValue("id"))})
	if err != nil {
		writeError(w, http.StatusInternalServerError, 0, err)
		return
	}
	switch res.Code {
	case 0:
	case ledger.CodeNotFound:
		writeError(w, http.StatusNotFound, res.Code, errors.New(res.Log))
		return
	default:
		writeError(w, http.StatusBadRequest, res.Code, errors.New(res.Log))
		return
	}
	var s ledgerpb.Settlement
	if err := unmarshalAnswer(res.Value, &s); err != nil {
		writeError(w, http.StatusInternalServerError, 0, err)
		return
	}
	h := sha256.Sum256(res.Value)
	out := client.Settlement{OrderID: s.OrderId, Mode: s.Mode, ProfitPool: s.ProfitPool, Paid: s.Paid, Refund: s.Refund,
		Height: s.Height, SettledBy: s.SettledBy, Hash: hex.EncodeToString(h[:])}
	for _, sh := range s.Shares {
		out.Shares = append(out.Shares, client.PartnerShare{Member: sh.Member, TaskID: sh.TaskId, TaskStatus: sh.TaskStatus,
			CompletedBps: sh.CompletedBps, DeliveredQuantity: sh.DeliveredQuantity, VerifiedValue: sh.VerifiedValue,
			FixedPart: sh.FixedPart, SharingPart: sh.SharingPart, Total: sh.Total})
	}
	writeJSON(w, http.StatusOK, out)
}

func (n *Node) handleCreditHistory(w http.ResponseWriter, r *http.Request) {
	var h ledgerpb.CreditHistory
	if !n.query(w, ledger.QueryCreditHistory, []byte(r.PathValue("name")), &h) {
		return
	}
	out := client.CreditHistory{Member: h.Credit.Member, Score: h.Credit.Score, Grade: h.Grade, Output: h.Credit.Output,
		Power: h.Credit.Power, Truncated: h.Truncated, History: []client.CreditHistoryEntry{}}
	for _, e := range h.Entries {
		out.History = append(out.History, client.CreditHistoryEntry{Height: e.Event.Height, Reason: e.Event.Reason,
			Delta: e.Event.Delta, Score: e.Event.Score, Grade: e.Grade})
	}
	writeJSON(w, http.StatusOK, out)
}

func orderJSON(o *ledgerpb.Order) client.Order {
	t := o.Terms
	out := client.Order{
		ID: o.Id, Demander: o.Demander, Product: t.Product, Quantity: t.Quantity, DeadlineHeight: t.DeadlineHeight,
		MinGrade: t.MinGrade, MaxPartners: t.MaxPartners, Mode: t.Mode, ProfitPool: t.ProfitPool, Funds: t.Funds,
		ThresholdBps: t.ThresholdBps, CounterpartyKey: hex.EncodeToString(t.CounterpartyKey),
		TermsHash: hex.EncodeToString(o.TermsHash), Status: o.Status, Signed: o.Signed, CreatedHeight: o.CreatedHeight,
		Version: uint32(len(o.Transitions)), ResumeVotes: o.ResumeVotes, TerminateVotes: o.TerminateVotes,
		SettlementRecord: o.SettlementRecord, Tender: t.Tender, MaxPrice: t.MaxPrice, TenderJob: o.TenderJob,
		TenderedQuantity: o.TenderedQuantity,
	}
	for i, p := range t.Partners {
		cp := client.OrderPartner{Member: p.Member, Quantity: p.Quantity, UnitValue: p.UnitValue, FixedAmount: p.FixedAmount}
		if i < len(o.TaskIds) {
			cp.TaskID = o.TaskIds[i]
		}
		out.Partners = append(out.Partners, cp)
	}
	for _, tr := range o.Transitions {
		out.Transitions = append(out.Transitions, client.OrderTransition{Height: tr.Height, From: tr.From, To: tr.To,
			Reason: tr.Reason, By: tr.By, Party: tr.Party, CreditDelta: tr.CreditDelta})
	}
	return out
}

func unmarshalAnswer(raw []byte, s *ledgerpb.Settlement) error {
	if err := proto.Unmarshal(raw, s); err != nil {
		return fmt.Errorf("decode settlement: %w", err)
	}
	return nil
}
