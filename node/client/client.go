package client

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
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cohortnet/cohort/ledger"
)

// Client talks to one node's API.
type Client struct {
	base string
	http *http.Client
	// PollInterval is how often Submit looks for its tx (default 100 ms).
	PollInterval time.Duration
	// ResubmitAfter is how long Submit waits for inclusion before it sends
	// the same tx again (default 5 s). CometBFT v0.38 can drop an accepted tx
	// when its mempool is full; the tx ID makes the resend idempotent.
	ResubmitAfter time.Duration
}

// New returns a client for the API at addr (host:port or a URL).
func New(addr string) *Client {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{
		base: strings.TrimRight(base, "/"),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			// Submitters run many requests in parallel against one node; the
			// default of 2 idle connections per host would reconnect constantly.
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}},
		PollInterval:  100 * time.Millisecond,
		ResubmitAfter: 5 * time.Second,
	}
}

// Addr is the base URL of the API c talks to (for messages).
func (c *Client) Addr() string { return c.base }

// APIError is an error answer of the API.
type APIError struct {
	Status int
	Code   uint32 // ledger code, 0 if none
	Msg    string
}

func (e *APIError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s (code %d)", e.Msg, e.Code)
	}
	return e.Msg
}

// IsNotFound reports whether err is an API "not found" answer.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

const maxResponseBytes = 65 << 20 // a blob of up to 64 MiB

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(raw))
		}
		return &APIError{Status: resp.StatusCode, Code: e.Code, Msg: e.Error}
	}
	if out == nil {
		return nil
	}
	if rb, ok := out.(*rawBody); ok {
		*rb = raw
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	return &s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// AppHashAt returns the AppHash the node computed after height h.
func (c *Client) AppHashAt(ctx context.Context, h int64) (string, error) {
	var a AppHashAt
	if err := c.do(ctx, http.MethodGet, "/v1/apphash/"+strconv.FormatInt(h, 10), nil, &a); err != nil {
		return "", err
	}
	return a.AppHash, nil
}

// Broadcast hands a signed tx to the node's mempool once.
func (c *Client) Broadcast(ctx context.Context, tx []byte) (*BroadcastResult, error) {
	var r BroadcastResult
	if err := c.do(ctx, http.MethodPost, "/v1/tx", tx, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Tx looks up a committed tx by hash.
func (c *Client) Tx(ctx context.Context, hash []byte) (*TxResult, error) {
	var r TxResult
	return &r, c.do(ctx, http.MethodGet, "/v1/tx/"+hex.EncodeToString(hash), nil, &r)
}

// TxRejectedError is a tx that the ledger refused, in the mempool or in a block.
type TxRejectedError struct {
	Code   uint32
	Log    string
	Height int64 // 0 when refused before any block
}

func (e *TxRejectedError) Error() string {
	if e.Height > 0 {
		return fmt.Sprintf("tx rejected in block %d: %s (code %d)", e.Height, e.Log, e.Code)
	}
	return fmt.Sprintf("tx rejected: %s (code %d)", e.Log, e.Code)
}

// Submit broadcasts a signed tx and returns once it is committed. If the tx
// is not committed within ResubmitAfter it is sent again; a tx that the
// ledger refuses returns a *TxRejectedError. Resending is safe: the ledger
// commits a tx ID at most once.
func (c *Client) Submit(ctx context.Context, tx []byte) (*TxResult, error) {
	sum := sha256.Sum256(tx)
	hash := sum[:]
	for {
		_, err := c.Broadcast(ctx, tx)
		var ae *APIError
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity && ae.Code == ledger.CodeReplay:
			// Committed by an earlier attempt: find it below.
		case errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity:
			return nil, &TxRejectedError{Code: ae.Code, Log: ae.Msg}
		case errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable:
			// Already in the mempool (cache) or mempool full: wait and look.
		case errors.As(err, &ae):
			return nil, err
		default:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Transport error: the node may be restarting; retry below.
		}
		res, err := c.waitCommitted(ctx, hash)
		if err != nil {
			return nil, err
		}
		if res != nil {
			if res.Code != 0 {
				return res, &TxRejectedError{Code: res.Code, Log: res.Log, Height: res.Height}
			}
			return res, nil
		}
	}
}

// waitCommitted polls for the tx until ResubmitAfter; nil, nil means "not yet".
func (c *Client) waitCommitted(ctx context.Context, hash []byte) (*TxResult, error) {
	deadline := time.NewTimer(c.ResubmitAfter)
	defer deadline.Stop()
	tick := time.NewTicker(c.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("tx %X not committed: %w", hash, ctx.Err())
		case <-deadline.C:
			return nil, nil
		case <-tick.C:
		}
		res, err := c.Tx(ctx, hash)
		if err == nil {
			return res, nil
		}
		if !IsNotFound(err) && ctx.Err() == nil {
			// The node may be briefly unreachable; keep polling.
			continue
		}
	}
}

// Record returns an anchored record by ID.
func (c *Client) Record(ctx context.Context, id string) (*Record, error) {
	var r Record
	return &r, c.do(ctx, http.MethodGet, "/v1/record/"+url.PathEscape(id), nil, &r)
}

// RecordsByHash returns the records anchoring a hash.
func (c *Client) RecordsByHash(ctx context.Context, hash []byte) ([]Record, error) {
	var rs []Record
	return rs, c.do(ctx, http.MethodGet, "/v1/records?hash="+hex.EncodeToString(hash), nil, &rs)
}

// Members returns the registered members.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	var ms []Member
	return ms, c.do(ctx, http.MethodGet, "/v1/members", nil, &ms)
}

// Task returns a task by ID.
func (c *Client) Task(ctx context.Context, id string) (*Task, error) {
	var t Task
	return &t, c.do(ctx, http.MethodGet, "/v1/task/"+url.PathEscape(id), nil, &t)
}

// Credit returns a member's rating and history.
func (c *Client) Credit(ctx context.Context, member string) (*Credit, error) {
	var cr Credit
	return &cr, c.do(ctx, http.MethodGet, "/v1/credit/"+url.PathEscape(member), nil, &cr)
}

// PutBlob stores an object in the node's off-chain store.
func (c *Client) PutBlob(ctx context.Context, data []byte) (*BlobRef, error) {
	var ref BlobRef
	return &ref, c.do(ctx, http.MethodPost, "/v1/blob", data, &ref)
}

// GetBlob reads an object from the node's store; with from set, the node
// fetches it from that member first if it does not hold it.
func (c *Client) GetBlob(ctx context.Context, hash []byte, from string) ([]byte, error) {
	path := "/v1/blob/" + hex.EncodeToString(hash)
	if from != "" {
		path += "?from=" + url.QueryEscape(from)
	}
	var raw rawBody
	if err := c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// rawBody receives a non-JSON answer.
type rawBody []byte

// Policy returns the current policy's YAML.
// PolicyAt returns the YAML of the policy revision in force at height h.
func (c *Client) PolicyAt(ctx context.Context, h int64) ([]byte, error) {
	var raw rawBody
	if err := c.do(ctx, http.MethodGet, "/v1/policy?height="+strconv.FormatInt(h, 10), nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

func (c *Client) Policy(ctx context.Context) ([]byte, error) {
	var raw rawBody
	if err := c.do(ctx, http.MethodGet, "/v1/policy", nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// VerifyingKey returns a registered verifying key by ID.
func (c *Client) VerifyingKey(ctx context.Context, id string) (*VerifyingKey, error) {
	var vk VerifyingKey
	return &vk, c.do(ctx, http.MethodGet, "/v1/vk/"+url.PathEscape(id), nil, &vk)
}

// Committee returns a committee by ID.
func (c *Client) Committee(ctx context.Context, id string) (*Committee, error) {
	var out Committee
	return &out, c.do(ctx, http.MethodGet, "/v1/committee/"+url.PathEscape(id), nil, &out)
}

// Job returns a job by ID.
func (c *Client) Job(ctx context.Context, id string) (*Job, error) {
	var out Job
	return &out, c.do(ctx, http.MethodGet, "/v1/job/"+url.PathEscape(id), nil, &out)
}

// Jobs lists the jobs on the ledger.
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	var out []Job
	return out, c.do(ctx, http.MethodGet, "/v1/jobs", nil, &out)
}

// JobOutput returns what this node learned from a job: kind "result" (on the
// recipient's node) or "allocation" (a clearing bidder's own).
func (c *Client) JobOutput(ctx context.Context, id, kind string) ([]byte, error) {
	var raw rawBody
	if err := c.do(ctx, http.MethodGet, "/v1/job/"+url.PathEscape(id)+"/"+url.PathEscape(kind), nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
