package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/mempool"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/blob"
	"github.com/cohortnet/cohort/node/client"
)

// apiHandler serves the local HTTP API (see node/client for the shapes).
func (n *Node) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", n.handleStatus)
	mux.HandleFunc("GET /v1/apphash/{height}", n.handleAppHash)
	mux.HandleFunc("POST /v1/tx", n.handleBroadcast)
	mux.HandleFunc("GET /v1/tx/{hash}", n.handleTx)
	mux.HandleFunc("GET /v1/record/{id}", n.handleRecord)
	mux.HandleFunc("GET /v1/records", n.handleRecordsByHash)
	mux.HandleFunc("GET /v1/members", n.handleMembers)
	mux.HandleFunc("GET /v1/task/{id}", n.handleTask)
	mux.HandleFunc("POST /v1/blob", n.handlePutBlob)
	mux.HandleFunc("GET /v1/policy", n.handlePolicy)
	mux.HandleFunc("GET /v1/committee/{id}", n.handleCommittee)
	mux.HandleFunc("GET /v1/job/{id}", n.handleJob)
	mux.HandleFunc("GET /v1/jobs", n.handleJobs)
	mux.HandleFunc("GET /v1/job/{id}/{kind}", n.handleJobOutput)
	mux.HandleFunc("GET /v1/vk/{id}", n.handleVerifyingKey)
	mux.HandleFunc("GET /v1/blob/{hash}", n.handleGetBlob)
	mux.HandleFunc("GET /v1/credit/{name}", n.handleCredit)
	n.registerOrderRoutes(mux)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code uint32, err error) {
	writeJSON(w, status, client.Error{Error: err.Error(), Code: code})
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := n.rpc.Status(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, 0, fmt.Errorf("consensus status: %w", err))
		return
	}
	out := client.Status{
		ChainID:    st.NodeInfo.Network,
		Moniker:    n.cfg.Moniker,
		PeerID:     n.host.ID().String(),
		CatchingUp: st.SyncInfo.CatchingUp,
		Height:     n.app.Height(),
	}
	// The app's height and hash, not the header's: the header at H carries the
	// AppHash of H-1.
	if h, ok := n.appHashAt(out.Height); ok {
		out.AppHash = h
	}
	vals, err := n.rpc.Validators(r.Context(), nil, nil, intPtr(100))
	if err != nil {
		writeError(w, http.StatusInternalServerError, 0, fmt.Errorf("validators: %w", err))
		return
	}
	names := n.validatorNames()
	for _, v := range vals.Validators {
		out.Validators = append(out.Validators, client.Validator{
			Address: v.Address.String(), Power: v.VotingPower, Name: names[string(v.PubKey.Bytes())],
		})
	}
	ni, err := n.rpc.NetInfo(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, 0, fmt.Errorf("net info: %w", err))
		return
	}
	for _, p := range ni.Peers {
		out.Peers = append(out.Peers, client.Peer{ID: string(p.NodeInfo.ID()), Moniker: p.NodeInfo.Moniker, Addr: p.RemoteIP})
	}
	for _, p := range n.host.Libp2p().Network().Peers() {
		out.P2PPeers = append(out.P2PPeers, p.String())
	}
	writeJSON(w, http.StatusOK, out)
}

func intPtr(i int) *int { return &i }

func (n *Node) validatorNames() map[string]string {
	res, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: ledger.QueryMembers})
	names := make(map[string]string)
	if err != nil || res.Code != 0 {
		return names
	}
	var list ledgerpb.MemberList
	if proto.Unmarshal(res.Value, &list) != nil {
		return names
	}
	for _, m := range list.Members {
		names[string(m.ValidatorKey)] = m.Name
	}
	return names
}

func (n *Node) appHashAt(height int64) (string, bool) {
	if height <= 0 {
		return "", false
	}
	res, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: ledger.QueryAppHash, Data: []byte(strconv.FormatInt(height, 10))})
	if err != nil || res.Code != 0 {
		return "", false
	}
	return strings.ToUpper(hex.EncodeToString(res.Value)), true
}

func (n *Node) handleAppHash(w http.ResponseWriter, r *http.Request) {
	h, err := strconv.ParseInt(r.PathValue("height"), 10, 64)
	if err != nil || h <= 0 {
		writeError(w, http.StatusBadRequest, 0, errors.New("height must be a positive integer"))
		return
	}
	hash, ok := n.appHashAt(h)
	if !ok {
		writeError(w, http.StatusNotFound, ledger.CodeNotFound, fmt.Errorf("no AppHash for height %d on this node", h))
		return
	}
	writeJSON(w, http.StatusOK, client.AppHashAt{Height: h, AppHash: hash})
}

func (n *Node) handleBroadcast(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ledger.MaxTxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, ledger.CodeTooLarge,
				fmt.Errorf("tx exceeds the %d-byte limit", ledger.MaxTxBytes))
			return
		}
		writeError(w, http.StatusBadRequest, 0, fmt.Errorf("read tx: %w", err))
		return
	}
	res, err := n.rpc.BroadcastTxSync(r.Context(), body)
	if errors.Is(err, mempool.ErrTxInCache) {
		// CometBFT remembers recent txs by their bytes: this one is either
		// committed already (a replay) or still waiting in the mempool.
		if committed, qerr := n.rpc.Tx(r.Context(), ledger.TxHash(body), false); qerr == nil {
			writeError(w, http.StatusUnprocessableEntity, ledger.CodeReplay,
				fmt.Errorf("replay: tx already committed at height %d", committed.Height))
			return
		}
		writeError(w, http.StatusServiceUnavailable, 0, errors.New("tx already in the mempool"))
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, 0, fmt.Errorf("mempool: %w", err))
		return
	}
	if res.Code != 0 {
		writeError(w, http.StatusUnprocessableEntity, res.Code, errors.New(res.Log))
		return
	}
	writeJSON(w, http.StatusOK, client.BroadcastResult{TxHash: strings.ToUpper(hex.EncodeToString(res.Hash))})
}

func (n *Node) handleTx(w http.ResponseWriter, r *http.Request) {
	hash, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(hash) != 32 {
		writeError(w, http.StatusBadRequest, 0, errors.New("tx hash must be 64 hex characters"))
		return
	}
	res, err := n.rpc.Tx(r.Context(), hash, false)
	if err != nil {
		writeError(w, http.StatusNotFound, ledger.CodeNotFound, fmt.Errorf("tx %X not committed: %w", hash, err))
		return
	}
	writeJSON(w, http.StatusOK, client.TxResult{
		TxHash: strings.ToUpper(hex.EncodeToString(hash)), Height: res.Height, Index: res.Index,
		Code: res.TxResult.Code, Log: res.TxResult.Log,
	})
}

func (n *Node) handleRecord(w http.ResponseWriter, r *http.Request) {
	var rec ledgerpb.Record
	if !n.query(w, ledger.QueryRecord, []byte(r.PathValue("id")), &rec) {
		return
	}
	writeJSON(w, http.StatusOK, recordJSON(&rec))
}

func (n *Node) handleRecordsByHash(w http.ResponseWriter, r *http.Request) {
	hash, err := hex.DecodeString(r.URL.Query().Get("hash"))
	if err != nil || len(hash) != 32 {
		writeError(w, http.StatusBadRequest, 0, errors.New("hash must be 64 hex characters"))
		return
	}
	var list ledgerpb.RecordList
	if !n.query(w, ledger.QueryRecordsByHash, hash, &list) {
		return
	}
	out := make([]client.Record, 0, len(list.Records))
	for _, rec := range list.Records {
		out = append(out, recordJSON(rec))
	}
	writeJSON(w, http.StatusOK, out)
}

func (n *Node) handleMembers(w http.ResponseWriter, _ *http.Request) {
	var list ledgerpb.MemberList
	if !n.query(w, ledger.QueryMembers, nil, &list) {
		return
	}
	out := make([]client.Member, 0, len(list.Members))
	for _, m := range list.Members {
		out = append(out, client.Member{
			Name: m.Name, Roles: m.Roles, AccountKey: hex.EncodeToString(m.AccountKey), PeerID: m.PeerId,
			ValidatorKey: hex.EncodeToString(m.ValidatorKey), Power: m.Power, SealingKey: hex.EncodeToString(m.SealingKey),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// query runs an app query and decodes its value into v, answering the HTTP
// request itself when the query fails.
func (n *Node) query(w http.ResponseWriter, path string, data []byte, v proto.Message) bool {
	res, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: data})
	if err != nil {
		writeError(w, http.StatusInternalServerError, 0, err)
		return false
	}
	switch res.Code {
	case 0:
	case ledger.CodeNotFound:
		writeError(w, http.StatusNotFound, res.Code, errors.New(res.Log))
		return false
	default:
		writeError(w, http.StatusBadRequest, res.Code, errors.New(res.Log))
		return false
	}
	if err := proto.Unmarshal(res.Value, v); err != nil {
		writeError(w, http.StatusInternalServerError, 0, fmt.Errorf("decode %s answer: %w", path, err))
		return false
	}
	return true
}

func recordJSON(r *ledgerpb.Record) client.Record {
	return client.Record{
		ID: r.Id, Hash: hex.EncodeToString(r.Hash), Kind: r.Kind, Channel: r.Channel, Locator: r.Locator,
		Submitter: r.Submitter, Height: r.Height, TxHash: strings.ToUpper(hex.EncodeToString(r.TxHash)),
		PublicInfo: r.PublicInfo, Commitment: hex.EncodeToString(r.Commitment), VKID: r.VkId, Proof: r.Proof,
	}
}

func (n *Node) handleTask(w http.ResponseWriter, r *http.Request) {
	var t ledgerpb.Task
	if !n.query(w, ledger.QueryTask, []byte(r.PathValue("id")), &t) {
		return
	}
	writeJSON(w, http.StatusOK, client.Task{
		ID: t.Id, Buyer: t.Buyer, Assignee: t.Assignee, OrderCommitment: hex.EncodeToString(t.OrderCommitment),
		ThresholdBps: t.ThresholdBps, DeadlineHeight: t.DeadlineHeight, AssignedHeight: t.AssignedHeight,
		Status: t.Status, CompletedBps: t.CompletedBps, CompletedHeight: t.CompletedHeight, OrderID: t.OrderId,
	})
}

func (n *Node) handleCredit(w http.ResponseWriter, r *http.Request) {
	var rep ledgerpb.CreditReport
	if !n.query(w, ledger.QueryCredit, []byte(r.PathValue("name")), &rep) {
		return
	}
	out := client.Credit{
		Member: rep.Credit.Member, Score: rep.Credit.Score, Grade: rep.Grade, Output: rep.Credit.Output, Power: rep.Credit.Power,
	}
	for _, e := range rep.History {
		out.History = append(out.History, client.CreditEvent{Height: e.Height, Reason: e.Reason, Delta: e.Delta, Score: e.Score})
	}
	writeJSON(w, http.StatusOK, out)
}

func (n *Node) handlePutBlob(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, blob.MaxBlobBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, 0, fmt.Errorf("blob: %w", err))
		return
	}
	h, err := n.blobs.Put(data)
	if err != nil {
		writeError(w, http.StatusInternalServerError, 0, err)
		return
	}
	writeJSON(w, http.StatusOK, client.BlobRef{Hash: hex.EncodeToString(h[:]), Size: len(data)})
}

// handleGetBlob serves a blob from the local store or, with ?from=MEMBER,
// fetches it from that member's node first.
func (n *Node) handleGetBlob(w http.ResponseWriter, r *http.Request) {
	raw, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(raw) != 32 {
		writeError(w, http.StatusBadRequest, 0, errors.New("blob hash must be 64 hex characters"))
		return
	}
	h, _ := blob.ParseHash(raw)
	data, err := n.blobs.Get(h)
	if errors.Is(err, blob.ErrNotFound) && r.URL.Query().Get("from") != "" {
		data, err = n.fetchBlob(r.Context(), r.URL.Query().Get("from"), h)
	}
	if errors.Is(err, blob.ErrNotFound) {
		writeError(w, http.StatusNotFound, ledger.CodeNotFound, err)
		return
	}
	if err != nil {
		writeError(w, http.StatusBadGateway, 0, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
}

// rawQuery answers with an app query's raw value.
func (n *Node) rawQuery(w http.ResponseWriter, path string, data []byte) ([]byte, bool) {
	res, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: data})
	if err != nil {
		writeError(w, http.StatusInternalServerError, 0, err)
		return nil, false
	}
	if res.Code == ledger.CodeNotFound {
		writeError(w, http.StatusNotFound, res.Code, errors.New(res.Log))
		return nil, false
	}
	if res.Code != 0 {
		writeError(w, http.StatusBadRequest, res.Code, errors.New(res.Log))
		return nil, false
	}
	return res.Value, true
}

// handlePolicy serves the current policy, or with ?height=H the revision in
// force at height H (what a record anchored at H was checked against).
func (n *Node) handlePolicy(w http.ResponseWriter, r *http.Request) {
	path, data := ledger.QueryPolicy, []byte(nil)
	if h := r.URL.Query().Get("height"); h != "" {
		path, data = ledger.QueryPolicyAt, []byte(h)
	}
	yaml, ok := n.rawQuery(w, path, data)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(yaml)
}

func (n *Node) handleVerifyingKey(w http.ResponseWriter, r *http.Request) {
	raw, ok := n.rawQuery(w, ledger.QueryVerifyingKey, []byte(r.PathValue("id")))
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

func (n *Node) handleCommittee(w http.ResponseWriter, r *http.Request) {
	var c ledgerpb.Committee
	if !n.query(w, ledger.QueryCommittee, []byte(r.PathValue("id")), &c) {
		return
	}
	writeJSON(w, http.StatusOK, client.Committee{ID: c.Id, Members: c.Members, Threshold: c.Threshold,
		Status: c.Status, Confirmed: c.Confirmed, CommitteeKey: c.CommitteeKey})
}

func (n *Node) handleJob(w http.ResponseWriter, r *http.Request) {
	var j ledgerpb.Job
	if !n.query(w, ledger.QueryJob, []byte(r.PathValue("id")), &j) {
		return
	}
	writeJSON(w, http.StatusOK, JobJSON(&j))
}

func (n *Node) handleJobs(w http.ResponseWriter, _ *http.Request) {
	var list ledgerpb.JobList
	if !n.query(w, ledger.QueryJobs, nil, &list) {
		return
	}
	out := make([]client.Job, 0, len(list.Jobs))
	for _, j := range list.Jobs {
		out = append(out, JobJSON(j))
	}
	writeJSON(w, http.StatusOK, out)
}

// JobJSON is the API form of a ledger job.
func JobJSON(j *ledgerpb.Job) client.Job {
	out := client.Job{
		ID: j.Id, Type: j.Type, Params: j.Params, Providers: j.Providers, Committee: j.CommitteeId,
		Recipient: j.Recipient, Requester: j.Requester, DeadlineHeight: j.DeadlineHeight,
		SubmittedHeight: j.SubmittedHeight, Status: j.Status, OutputCommitment: hex.EncodeToString(j.OutputCommitment),
		Signature: hex.EncodeToString(j.Signature), FinishedHeight: j.FinishedHeight, AbortReason: j.AbortReason,
		Culprit: j.Culprit, RecipientKeyHash: hex.EncodeToString(j.RecipientKeyHash),
		InputProofs: j.InputProofs, InputVKIDs: j.InputVkIds,
	}
	for _, c := range j.InputCommitments {
		out.InputCommitments = append(out.InputCommitments, hex.EncodeToString(c))
	}
	for _, a := range j.Attestations {
		out.Attestations = append(out.Attestations, client.JobAttestation{Member: a.Member, Fault: a.Fault, Culprit: a.Culprit,
			Height: a.Height, First: a.First, Convicted: a.Convicted, NotCharged: a.NotCharged})
	}
	for _, c := range j.Charges {
		out.Charges = append(out.Charges, client.JobCharge{Member: c.Member, Culprit: c.Culprit, Cause: c.Cause,
			Delta: c.Delta, Height: c.Height, Attesters: c.Attesters})
	}
	return out
}

// handleJobOutput serves what this node learned from a job: "result" (the
// recipient's result), "allocation" (a clearing bidder's own allocation) or
// "allocation-LABEL" (the allocation of the slot "node/LABEL" it supplied for
// a client). It exists only on the node that learned it; the API listens on
// loopback.
func (n *Node) handleJobOutput(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	label, labelled := strings.CutPrefix(kind, "allocation-")
	if kind != "result" && kind != "allocation" && !(labelled && jobspec.CheckSlotLabel(label) == nil) {
		writeError(w, http.StatusNotFound, ledger.CodeNotFound, fmt.Errorf("unknown job output %q", kind))
		return
	}
	raw, err := os.ReadFile(n.resultPath(r.PathValue("id"), kind))
	if err != nil {
		writeError(w, http.StatusNotFound, ledger.CodeNotFound,
			fmt.Errorf("no %s of job %q on this node (only the job's recipient holds its result)", kind, r.PathValue("id")))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}
