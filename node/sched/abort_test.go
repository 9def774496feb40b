package sched

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/node/jobrun"
)

// refuseOpenings is a ledger that refuses, as invalid, every job.abort
// carrying a sealed-share proof (one it judges otherwise than the
// committee), and takes every other tx.
type refuseOpenings struct{ signedSubmit }

func (r refuseOpenings) Submit(ctx context.Context, set func(*ledgerpb.TxPayload)) error {
	p := r.payload(set)
	if a, ok := p.Msg.(*ledgerpb.TxPayload_JobAbort); ok && a.JobAbort.SealedOpening != nil {
		r.mu.Lock()
		r.txs = append(r.txs, p)
		r.mu.Unlock()
		return &ledger.TxError{Code: ledger.CodeInvalid, Msg: "sealed opening does not verify"}
	}
	return r.signedSubmit.Submit(ctx, func(q *ledgerpb.TxPayload) { q.Msg = p.Msg })
}

// TestAbortRetriedWithoutRefusedEvidence (review m1): when the ledger
// refuses the abort carrying the committee's sealed-share proof, the member
// posts the same abort without it, so the job ends now instead of at its
// deadline.
func TestAbortRetriedWithoutRefusedEvidence(t *testing.T) {
	f := newFakeLedger()
	f.jobs["j"] = &ledgerpb.Job{Id: "j", Status: ledger.JobRunning, Providers: []string{"firm0"}}
	preset, err := testPreset()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Name: "n1", Ledger: refuseOpenings{signedSubmit{f, "n1"}}, Network: transport.NewMemoryNetwork(), Preset: preset,
		Store: he.NewMemoryStore(), Blobs: noBlobs{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ReadInput:  func(string, string) ([]byte, error) { return nil, fmt.Errorf("no input") },
		SaveResult: func(string, string, any) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	fe := &jobrun.FaultError{Job: "j", Kind: jobrun.FaultBadInput, Parties: []string{"firm0"}, Claimants: []string{"n1"},
		Evidence: &jobrun.SealedEvidence{Slot: 0, Claimant: "n1", Culprit: "firm0", Opening: make([]byte, 96)}}
	if err := s.postOutcome(context.Background(), f.jobs["j"], 1, nil, fe); err == nil {
		t.Fatal("postOutcome hid the job's failure")
	}
	aborts := submitted[*ledgerpb.TxPayload_JobAbort](f)
	if len(aborts) != 2 || aborts[0].JobAbort.SealedOpening == nil || aborts[1].JobAbort.SealedOpening != nil {
		t.Fatalf("aborts posted: %v; want one with the proof, then one without", aborts)
	}
	if j, _ := f.Job("j"); j.Status != ledger.JobAborted || j.Culprit != "firm0" || j.AbortReason != fe.Reason() {
		t.Fatalf("job: %s, culprit %q, reason %q", j.Status, j.Culprit, j.AbortReason)
	}
}
