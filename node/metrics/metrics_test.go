package metrics

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

type fakeLedger struct {
	jobs    map[string]*ledgerpb.Job
	credits map[int64][]*ledgerpb.CreditEvent
}

func (f fakeLedger) OpenJobs() ([]*ledgerpb.Job, error) {
	var out []*ledgerpb.Job
	for _, j := range f.jobs {
		if j.Status == ledger.JobCollecting || j.Status == ledger.JobRunning {
			out = append(out, j)
		}
	}
	return out, nil
}

func (f fakeLedger) Job(id string) (*ledgerpb.Job, bool) { j, ok := f.jobs[id]; return j, ok }
func (f fakeLedger) CreditEventsAt(h int64) ([]*ledgerpb.CreditEvent, error) {
	return f.credits[h], nil
}
func (f fakeLedger) BlockTime(h int64) (time.Time, bool) {
	return time.Unix(1_700_000_000+2*h, 0), true
}

func signed(t *testing.T, p *ledgerpb.TxPayload) []byte {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(nil)
	p.ChainId, p.Signer = "c", "node0"
	p.TxId = make([]byte, 16)
	raw, err := ledger.SignTx(key, p)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestObserveBlock feeds one block of txs and checks every cohort metric it
// should move, and that no label carries an ID.
func TestObserveBlock(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	job := &ledgerpb.Job{Id: "secret-job-id", Type: "auction-vickrey", SubmittedHeight: 10, FinishedHeight: 14, Status: ledger.JobCompleted}
	l := fakeLedger{
		jobs: map[string]*ledgerpb.Job{job.Id: job},
		credits: map[int64][]*ledgerpb.CreditEvent{14: {
			{Height: 14, Reason: "job completed: secret-job-id", Delta: 2, Score: 502},
			{Height: 14, Reason: "invalid completion proof: task-7", Delta: -30, Score: 470},
		}},
	}
	txs := [][]byte{
		signed(t, &ledgerpb.TxPayload{Msg: &ledgerpb.TxPayload_JobResult{JobResult: &ledgerpb.JobResult{JobId: job.Id}}}),
		signed(t, &ledgerpb.TxPayload{Msg: &ledgerpb.TxPayload_TaskComplete{TaskComplete: &ledgerpb.TaskComplete{TaskId: "task-7"}}}),
		signed(t, &ledgerpb.TxPayload{Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{Channel: "ch"}}}),
		[]byte("garbage"),
	}
	results := []*abci.ExecTxResult{
		{Code: ledger.CodeOK, Events: []abci.Event{{Type: "job", Attributes: []abci.EventAttribute{{Key: "id", Value: job.Id}, {Key: "status", Value: ledger.JobCompleted}}}}},
		{Code: ledger.CodeInvalidProof},
		{Code: ledger.CodeOK},
		{Code: ledger.CodeMalformed},
	}
	m.ObserveBlock(Block{Height: 14, Time: time.Unix(1_700_000_028, 0), ChainID: "c", Txs: txs, Results: results}, l)
	m.ConsoleCheck("committee_signature", true, nil)
	m.ConsoleCheck("compliance_proof", false, nil)
	m.ConsoleCheck("trace", false, errors.New("witness down"))

	for _, c := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.txs.WithLabelValues("job_result", "0"), 1},
		{m.txs.WithLabelValues("task_complete", "10"), 1},
		{m.txs.WithLabelValues("record_anchor", "0"), 1},
		{m.txs.WithLabelValues("malformed", "1"), 1},
		{m.proofs.WithLabelValues("committee_signature", "valid"), 1},
		{m.proofs.WithLabelValues("completion", "invalid"), 1},
		{m.proofs.WithLabelValues("compliance", "valid"), 1},
		{m.jobPhases.WithLabelValues("auction-vickrey", "completed"), 1},
		{m.creditUpdates.WithLabelValues("job_completed", "up"), 1},
		{m.creditUpdates.WithLabelValues("invalid_proof", "down"), 1},
		{m.consoleChecks.WithLabelValues("committee_signature", "pass"), 1},
		{m.consoleChecks.WithLabelValues("compliance_proof", "fail"), 1},
		{m.consoleChecks.WithLabelValues("trace", "error"), 1},
		{m.blocks, 1},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%v = %v, want %v", c.c, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.jobBlocks); n != 1 {
		t.Errorf("job duration histogram series: %d, want 1", n)
	}
	if n := testutil.CollectAndCount(m.jobSeconds); n != 1 {
		t.Errorf("job seconds histogram series: %d, want 1", n)
	}
	names := map[string]bool{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		for _, metric := range mf.Metric {
			for _, lp := range metric.Label {
				if strings.Contains(lp.GetValue(), "secret") || strings.Contains(lp.GetValue(), "task-7") {
					t.Errorf("%s carries an ID in label %s=%q", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
	for _, want := range []string{
		"cohort_ledger_blocks_total", "cohort_ledger_txs_total", "cohort_ledger_proof_verifications_total",
		"cohort_jobs_phase_transitions_total", "cohort_jobs_duration_blocks", "cohort_jobs_duration_seconds",
		"cohort_credit_updates_total", "cohort_console_verifications_total", "cohort_ledger_last_block_time_seconds",
	} {
		if !names[want] {
			t.Errorf("metric %s not registered", want)
		}
	}
}

func TestRegisterState(t *testing.T) {
	reg := prometheus.NewRegistry()
	err := RegisterState(reg, func() (State, error) {
		return State{Jobs: map[JobKey]int{{"aggregate", "completed"}: 3}, Members: []MemberState{{"node0", 512, 10}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP cohort_credit_rating Each member's credit rating (0 to 1000).
# TYPE cohort_credit_rating gauge
cohort_credit_rating{member="node0"} 512
# HELP cohort_jobs Jobs on the ledger by type and status.
# TYPE cohort_jobs gauge
cohort_jobs{status="completed",type="aggregate"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "cohort_credit_rating", "cohort_jobs"); err != nil {
		t.Fatal(err)
	}
}

func TestCreditReasonClass(t *testing.T) {
	for reason, want := range map[string]string{
		"task completed (100%): t1": "task_completed", "task timed out: t": "task_timeout", "decay": "decay",
		"rejected record on ch": "rejected_record", "job input missing: j": "job_timeout", "something new": "other",
	} {
		if got := CreditReasonClass(reason); got != want {
			t.Errorf("%q → %s, want %s", reason, got, want)
		}
	}
}

// TestExpiredJobsCounted: a job the ledger aborts at its deadline emits no
// event; it is counted when it leaves the open set.
func TestExpiredJobsCounted(t *testing.T) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	j := &ledgerpb.Job{Id: "x", Type: "aggregate", Status: ledger.JobCollecting, SubmittedHeight: 2}
	l := fakeLedger{jobs: map[string]*ledgerpb.Job{"x": j}}
	m.ObserveBlock(Block{Height: 3, ChainID: "c"}, l)
	j.Status, j.FinishedHeight = ledger.JobAborted, 9
	m.ObserveBlock(Block{Height: 9, ChainID: "c"}, l)
	m.ObserveBlock(Block{Height: 10, ChainID: "c"}, l)
	if got := testutil.ToFloat64(m.jobPhases.WithLabelValues("aggregate", "aborted")); got != 1 {
		t.Fatalf("aborted at deadline counted %v times, want 1", got)
	}
	if n := testutil.CollectAndCount(m.jobBlocks); n != 1 {
		t.Fatalf("duration series %d", n)
	}
}
