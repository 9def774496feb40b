package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// Chain is what the console reads from CometBFT: the node's RPC, in
// process (rpc/client/local) or over HTTP (rpc/client/http).
type Chain interface {
	ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*ctypes.ResultABCIQuery, error)
	Status(ctx context.Context) (*ctypes.ResultStatus, error)
	Validators(ctx context.Context, height *int64, page, perPage *int) (*ctypes.ResultValidators, error)
	BlockchainInfo(ctx context.Context, minHeight, maxHeight int64) (*ctypes.ResultBlockchainInfo, error)
	Block(ctx context.Context, height *int64) (*ctypes.ResultBlock, error)
	BlockResults(ctx context.Context, height *int64) (*ctypes.ResultBlockResults, error)
}

// errNotFound is a query for an absent object.
var errNotFound = errors.New("not found")

// ledgerReader runs ABCI queries of committed state.
type ledgerReader struct{ chain Chain }

func (l ledgerReader) raw(ctx context.Context, path string, data []byte) ([]byte, error) {
	res, err := l.chain.ABCIQuery(ctx, path, data)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", path, err)
	}
	switch res.Response.Code {
	case ledger.CodeOK:
		return res.Response.Value, nil
	case ledger.CodeNotFound:
		return nil, errNotFound
	}
	return nil, fmt.Errorf("query %s: %s", path, res.Response.Log)
}

func (l ledgerReader) proto(ctx context.Context, path string, data []byte, v proto.Message) error {
	raw, err := l.raw(ctx, path, data)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

func (l ledgerReader) jobs(ctx context.Context) ([]*ledgerpb.Job, error) {
	var list ledgerpb.JobList
	err := l.proto(ctx, ledger.QueryJobs, nil, &list)
	return list.Jobs, err
}

func (l ledgerReader) openJobs(ctx context.Context) ([]*ledgerpb.Job, error) {
	var list ledgerpb.JobList
	err := l.proto(ctx, ledger.QueryOpenJobs, nil, &list)
	return list.Jobs, err
}

func (l ledgerReader) job(ctx context.Context, id string) (*ledgerpb.Job, error) {
	var j ledgerpb.Job
	return &j, l.proto(ctx, ledger.QueryJob, []byte(id), &j)
}

func (l ledgerReader) committee(ctx context.Context, id string) (*ledgerpb.Committee, error) {
	var c ledgerpb.Committee
	return &c, l.proto(ctx, ledger.QueryCommittee, []byte(id), &c)
}

// records returns every record (up to the query's bound), newest first.
func (l ledgerReader) records(ctx context.Context) ([]*ledgerpb.Record, error) {
	var list ledgerpb.RecordList
	if err := l.proto(ctx, ledger.QueryRecords, nil, &list); err != nil {
		return nil, err
	}
	sort.SliceStable(list.Records, func(i, j int) bool { return list.Records[i].Height > list.Records[j].Height })
	return list.Records, nil
}

func (l ledgerReader) record(ctx context.Context, id string) (*ledgerpb.Record, error) {
	var r ledgerpb.Record
	return &r, l.proto(ctx, ledger.QueryRecord, []byte(id), &r)
}

func (l ledgerReader) members(ctx context.Context) ([]*ledgerpb.Member, error) {
	var list ledgerpb.MemberList
	err := l.proto(ctx, ledger.QueryMembers, nil, &list)
	return list.Members, err
}

func (l ledgerReader) credit(ctx context.Context, name string) (*ledgerpb.CreditReport, error) {
	var r ledgerpb.CreditReport
	return &r, l.proto(ctx, ledger.QueryCredit, []byte(name), &r)
}

func (l ledgerReader) tasks(ctx context.Context) ([]*ledgerpb.Task, error) {
	raw, err := l.raw(ctx, ledger.QueryTasks, nil)
	if err != nil {
		return nil, err
	}
	return ledger.DecodeTaskList(raw)
}

// policy returns the policy in force, parsed, and its YAML.
func (l ledgerReader) policy(ctx context.Context) (*policies.Policy, []byte, error) {
	raw, err := l.raw(ctx, ledger.QueryPolicy, nil)
	if err != nil {
		return nil, nil, err
	}
	p, err := policies.Parse(raw)
	if err != nil {
		return nil, raw, fmt.Errorf("policy on the ledger: %w", err)
	}
	return p, raw, nil
}

// policyAt returns the policy revision in force at a height, parsed, and its
// YAML: a record is judged by the policy of its own block.
func (l ledgerReader) policyAt(ctx context.Context, height int64) (*policies.Policy, []byte, error) {
	raw, err := l.raw(ctx, ledger.QueryPolicyAt, []byte(strconv.FormatInt(height, 10)))
	if err != nil {
		return nil, nil, err
	}
	p, err := policies.Parse(raw)
	if err != nil {
		return nil, raw, fmt.Errorf("policy at height %d: %w", height, err)
	}
	return p, raw, nil
}

func (l ledgerReader) params(ctx context.Context) (ledger.Params, error) {
	var p ledger.Params
	raw, err := l.raw(ctx, ledger.QueryParams, nil)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("params: %w", err)
	}
	return p, nil
}

func (l ledgerReader) vk(ctx context.Context, id string) (circuit string, key []byte, err error) {
	raw, err := l.raw(ctx, ledger.QueryVerifyingKey, []byte(id))
	if err != nil {
		return "", nil, err
	}
	var v struct {
		Circuit string `json:"circuit"`
		Key     []byte `json:"key"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", nil, fmt.Errorf("verifying key %s: %w", id, err)
	}
	return v.Circuit, v.Key, nil
}

func (l ledgerReader) appHash(ctx context.Context, h int64) string {
	raw, err := l.raw(ctx, ledger.QueryAppHash, []byte(strconv.FormatInt(h, 10)))
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%X", raw)
}
