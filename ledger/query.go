package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// Query paths served by the application. Responses carry protobuf values
// (ledgerpb) in Value; Code is CodeOK, CodeNotFound or CodeInvalid.
const (
	QueryRecord        = "/record"          // data: record ID (hex)
	QueryRecordsByHash = "/records/by-hash" // data: 32-byte hash
	QueryMember        = "/member"          // data: member name
	QueryMembers       = "/members"
	QueryAppHash       = "/apphash"    // data: decimal height; value: the AppHash after that height
	QueryTask          = "/task"       // data: task ID; value: Task
	QueryRating        = "/rating"     // data: member name; value: CreditReport (the member's rating)
	QueryCredit        = "/credit"     // the historical name of QueryRating, still served
	QueryParams        = "/params"     // value: Params as JSON
	QueryPolicy        = "/policy"     // value: the current policy's YAML
	QueryPolicyAt      = "/policy/at"  // data: decimal height; value: YAML of the revision in force at that height
	QueryVerifyingKey  = "/vk"         // data: vk ID; value: JSON {"circuit", "key"}
	QueryJob           = "/job"        // data: job ID; value: Job
	QueryCommittee     = "/committee"  // data: committee ID; value: Committee
	QueryJobs          = "/jobs"       // value: JobList of every job, by ID
	QueryCommittees    = "/committees" // value: CommitteeList, by ID
	QueryOpenJobs      = "/jobs/open"  // value: JobList of every unfinished job, by deadline
	// Orders, settlements and credit history (orders.go, settle.go).
	QueryOrder         = "/order"          // data: order ID; value: Order
	QueryOrders        = "/orders"         // value: OrderList, by ID (the first 1000)
	QuerySettlement    = "/settlement"     // data: order ID; value: Settlement, the exact bytes its record hashes
	QueryCreditHistory = "/credit/history" // data: member name; value: CreditHistory
)

// CodeNotFound answers a query for an absent object.
const CodeNotFound uint32 = 404

const (
	maxQueryData   = 1024
	maxJobsInQuery = 1000
)

// Query implements abci.Application over committed state.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	v := a.committed.Load()
	resp := &abci.ResponseQuery{Height: v.height, Codespace: "cohort"}
	if len(req.Data) > maxQueryData {
		resp.Code, resp.Log = CodeInvalid, fmt.Sprintf("query data exceeds %d bytes", maxQueryData)
		return resp, nil
	}
	val, err := a.query(v, req.Path, req.Data)
	switch {
	case err == ErrNotFound:
		resp.Code, resp.Log = CodeNotFound, fmt.Sprintf("%s %q: not found", req.Path, req.Data)
	case err != nil:
		resp.Code, resp.Log = CodeInvalid, err.Error()
	default:
		resp.Value = val
	}
	return resp, nil
}

func (a *App) query(v *committedView, path string, data []byte) ([]byte, error) {
	switch path {
	case QueryRecord:
		return a.getOrNotFound(keyRecord(string(data)))
	case QueryRecordsByHash:
		if len(data) != recordHashBytes {
			return nil, fmt.Errorf("record hash must be %d bytes", recordHashBytes)
		}
		prefix := prefixRecordByHash(data)
		var list ledgerpb.RecordList
		err := a.store.scan(prefix, func(key, _ []byte) error {
			raw, err := a.store.get(keyRecord(string(key[len(prefix):])))
			if err != nil || raw == nil {
				return fmt.Errorf("record index points to a missing record: %v", err)
			}
			var rec ledgerpb.Record
			if err := proto.Unmarshal(raw, &rec); err != nil {
				return fmt.Errorf("corrupt record: %w", err)
			}
			list.Records = append(list.Records, &rec)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(list.Records) == 0 {
			return nil, ErrNotFound
		}
		return marshal(&list)
	case QueryMember:
		m, ok := v.members.byName[string(data)]
		if !ok {
			return nil, ErrNotFound
		}
		return marshal(m)
	case QueryMembers:
		var list ledgerpb.MemberList
		for _, n := range v.members.names {
			list.Members = append(list.Members, v.members.byName[n])
		}
		return marshal(&list)
	case QueryAppHash:
		h, err := strconv.ParseInt(string(data), 10, 64)
		if err != nil || h <= 0 {
			return nil, fmt.Errorf("height must be a positive integer")
		}
		return a.getOrNotFound(keyAppHashAt(h))
	case QueryTask:
		return a.getOrNotFound(keyTask(string(data)))
	case QueryRating, QueryCredit:
		if _, ok := v.members.byName[string(data)]; !ok {
			return nil, ErrNotFound
		}
		r, err := a.ratingReport(v, string(data))
		if err != nil {
			return nil, err
		}
		return marshal(r)
	case QueryParams:
		return json.Marshal(v.params)
	case QueryJob:
		return a.getOrNotFound(keyJob(string(data)))
	case QueryCommittee:
		return a.getOrNotFound(keyCommittee(string(data)))
	case QueryCommittees:
		list, err := a.Committees()
		if err != nil {
			return nil, err
		}
		return marshal(&ledgerpb.CommitteeList{Committees: list})
	case QueryOpenJobs:
		list, err := a.OpenJobs()
		if err != nil {
			return nil, err
		}
		return marshal(&ledgerpb.JobList{Jobs: list})
	case QueryJobs:
		var list ledgerpb.JobList
		err := a.store.scan([]byte("job/"), func(_, val []byte) error {
			var j ledgerpb.Job
			if err := proto.Unmarshal(val, &j); err != nil {
				return fmt.Errorf("corrupt job: %w", err)
			}
			if len(list.Jobs) < maxJobsInQuery {
				list.Jobs = append(list.Jobs, &j)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return marshal(&list)
	case QueryPolicy:
		return a.getOrNotFound(keyPolicy)
	case QueryPolicyAt:
		h, err := strconv.ParseInt(string(data), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("policy at: height %q is not a decimal", data)
		}
		return policyAt(a.store, h)
	case QueryVerifyingKey:
		return a.getOrNotFound(keyVerifyingKey(string(data)))
	case QueryOrder:
		return a.queryOrder(string(data))
	case QueryOrders:
		return a.queryOrders()
	case QuerySettlement:
		return a.querySettlement(string(data))
	case QueryCreditHistory:
		return a.queryCreditHistory(v, string(data))
	default:
		return a.consoleQuery(v, path, data)
	}
}

func (a *App) getOrNotFound(key []byte) ([]byte, error) {
	v, err := a.store.get(key)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, ErrNotFound
	}
	return v, nil
}
