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

// refuseFaults is a ledger that refuses, as invalid, every job.abort that
// carries a fault (a culprit it does not take for that fault), and takes
// every other tx.
type refuseFaults struct{ signedSubmit }

func (r refuseFaults) Submit(ctx context.Context, set func(*ledgerpb.TxPayload)) error {
	p := r.payload(set)
	if a, ok := p.Msg.(*ledgerpb.TxPayload_JobAbort); ok && a.JobAbort.Fault != "" {
		r.mu.Lock()
		r.txs = append(r.txs, p)
		r.mu.Unlock()
		return &ledger.TxError{Code: ledger.CodeInvalid, Msg: "culprit is not a member"}
	}
	return r.signedSubmit.Submit(ctx, func(q *ledgerpb.TxPayload) { q.Msg = p.Msg })
}

// TestAbortAttestsFault: a member's abort carries the fault it determined
// itself (jobrun FaultError.Attested) for the ledger's quorum; one agreed
// from other members' input claims carries none; refused as invalid with
// the fault, the abort is posted again without it.
func TestAbortAttestsFault(t *testing.T) {
	preset, err := testPreset()
	if err != nil {
		t.Fatal(err)
	}
	newSched := func(l Ledger) *Scheduler {
		s, err := New(Config{Name: "n1", Ledger: l, Network: transport.NewMemoryNetwork(), Preset: preset,
			Store: he.NewMemoryStore(), Blobs: noBlobs{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			ReadInput:  func(string, string) ([]byte, error) { return nil, fmt.Errorf("no input") },
			SaveResult: func(string, string, any) error { return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name           string
		fe             *jobrun.FaultError
		fault, culprit string
	}{
		{"dropped", &jobrun.FaultError{Job: "j", Kind: jobrun.FaultMemberDropped, Parties: []string{"n2", "n3"}}, "member-dropped", "n2"},
		{"non-bit", &jobrun.FaultError{Job: "j", Kind: jobrun.FaultCheckFailed, Parties: []string{"n3"}}, "mpc-check-failed", "n3"},
		{"unidentified", &jobrun.FaultError{Job: "j", Kind: jobrun.FaultCheckFailed}, "", ""},
		{"claimed", &jobrun.FaultError{Job: "j", Kind: jobrun.FaultMissingInput, Parties: []string{"p0"}, Claimants: []string{"n3"}}, "", "p0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLedger()
			f.jobs["j"] = &ledgerpb.Job{Id: "j", Status: ledger.JobRunning, Providers: []string{"p0"}}
			if err := newSched(signedSubmit{f, "n1"}).postOutcome(context.Background(), f.jobs["j"], 1, nil, tc.fe); err == nil {
				t.Fatal("postOutcome hid the job's failure")
			}
			aborts := submitted[*ledgerpb.TxPayload_JobAbort](f)
			if len(aborts) != 1 || aborts[0].JobAbort.Fault != tc.fault || aborts[0].JobAbort.Culprit != tc.culprit {
				t.Fatalf("aborts posted: %v; want fault %q naming %q", aborts, tc.fault, tc.culprit)
			}
			if !ledger.KnownFault(string(tc.fe.Kind)) {
				t.Fatalf("the ledger does not know fault %q", tc.fe.Kind)
			}
		})
	}
	f := newFakeLedger()
	f.jobs["j"] = &ledgerpb.Job{Id: "j", Status: ledger.JobRunning}
	fe := &jobrun.FaultError{Job: "j", Kind: jobrun.FaultMemberDropped, Parties: []string{"n3"}}
	_ = newSched(refuseFaults{signedSubmit{f, "n1"}}).postOutcome(context.Background(), f.jobs["j"], 1, nil, fe)
	aborts := submitted[*ledgerpb.TxPayload_JobAbort](f)
	if len(aborts) != 2 || aborts[0].JobAbort.Fault == "" || aborts[1].JobAbort.Fault != "" || aborts[1].JobAbort.Culprit != "n3" {
		t.Fatalf("aborts posted: %v; want one with the fault, then one without", aborts)
	}
	if j, _ := f.Job("j"); j.Status != ledger.JobAborted {
		t.Fatalf("job %s", j.Status)
	}
}

// refuseFaultsOnly is refuseFaults but takes an abort with a fault when
// it carries a sealed-share proof too: the ledger refuses the fault, the
// proof would stand alone.
type refuseFaultsOnly struct{ signedSubmit }

func (r refuseFaultsOnly) Submit(ctx context.Context, set func(*ledgerpb.TxPayload)) error {
	p := r.payload(set)
	if a, ok := p.Msg.(*ledgerpb.TxPayload_JobAbort); ok && a.JobAbort.Fault != "" {
		r.mu.Lock()
		r.txs = append(r.txs, p)
		r.mu.Unlock()
		return &ledger.TxError{Code: ledger.CodeInvalid, Msg: "culprit is not a provider slot"}
	}
	return r.signedSubmit.Submit(ctx, func(q *ledgerpb.TxPayload) { q.Msg = p.Msg })
}

// TestAbortKeepsProofWhenFaultRefused (review s7, L1): when the ledger
// refuses an abort carrying a fault and a sealed-share proof because of
// the fault, the member posts the proof again without the fault, before it
// would drop the proof: the proof convicts on its own.
func TestAbortKeepsProofWhenFaultRefused(t *testing.T) {
	f := newFakeLedger()
	f.jobs["j"] = &ledgerpb.Job{Id: "j", Status: ledger.JobRunning, Providers: []string{"firm0"}}
	preset, err := testPreset()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Name: "n1", Ledger: refuseFaultsOnly{signedSubmit{f, "n1"}}, Network: transport.NewMemoryNetwork(), Preset: preset,
		Store: he.NewMemoryStore(), Blobs: noBlobs{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ReadInput:  func(string, string) ([]byte, error) { return nil, fmt.Errorf("no input") },
		SaveResult: func(string, string, any) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.postAbort(context.Background(), "j", "bad-input: firm0", "firm0", "bad-input", &ledgerpb.SealedOpening{Slot: 0, Claimant: "n1"}); err != nil {
		t.Fatal(err)
	}
	aborts := submitted[*ledgerpb.TxPayload_JobAbort](f)
	if len(aborts) != 2 || aborts[0].JobAbort.Fault == "" || aborts[0].JobAbort.SealedOpening == nil ||
		aborts[1].JobAbort.Fault != "" || aborts[1].JobAbort.SealedOpening == nil {
		t.Fatalf("aborts posted: %v; want one with fault and proof, then one with the proof alone", aborts)
	}
	if j, _ := f.Job("j"); j.Status != ledger.JobAborted {
		t.Fatalf("job %s", j.Status)
	}
}

// TestLedgerKnowsEveryFault: every jobrun fault kind is one the ledger
// takes in job.abort, and those it charges on a quorum are the ones
// ledger/attest.go argues for.
func TestLedgerKnowsEveryFault(t *testing.T) {
	for _, k := range []jobrun.FaultKind{jobrun.FaultMissingInput, jobrun.FaultBadInput, jobrun.FaultCommitmentMismatch,
		jobrun.FaultMemberDropped, jobrun.FaultRecipient, jobrun.FaultBadOutput, jobrun.FaultCheckFailed, jobrun.FaultFalseClaim} {
		if !ledger.KnownFault(string(k)) {
			t.Errorf("ledger does not know %s", k)
		}
		// Timeouts (member-dropped, missing-input) are recorded, never
		// charged on a vote: third parties steer them (review s7).
		want := k == jobrun.FaultBadInput || k == jobrun.FaultCommitmentMismatch || k == jobrun.FaultCheckFailed
		if ledger.AttestableFault(string(k)) != want {
			t.Errorf("%s attestable: %v, want %v", k, !want, want)
		}
	}
}

// TestConfirmOnlyAllowList: with Config.ConfirmOnly set, the node does not
// set up (so never confirms) a pending committee naming it with a member
// off the list — the committee {colluder, colluder, it} of review s7 C1 —
// and sets up one whose other members are all listed; with no list, every
// committee naming it, as before.
func TestConfirmOnlyAllowList(t *testing.T) {
	preset, err := testPreset()
	if err != nil {
		t.Fatal(err)
	}
	newSched := func(allow []string) *Scheduler {
		s, err := New(Config{Name: "n1", Ledger: signedSubmit{newFakeLedger(), "n1"}, Network: transport.NewMemoryNetwork(), Preset: preset,
			Store: he.NewMemoryStore(), Blobs: noBlobs{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			ReadInput:   func(string, string) ([]byte, error) { return nil, fmt.Errorf("no input") },
			SaveResult:  func(string, string, any) error { return nil },
			ConfirmOnly: allow,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := newSched([]string{"n0", "n2"})
	evil := &ledgerpb.Committee{Id: "evil", Members: []string{"n1", "x0", "x1"}, Status: ledger.CommitteePending, Threshold: 2}
	s.startSetup(context.Background(), evil)
	s.mu.Lock()
	started := s.active[SetupPrefix+"evil"]
	s.mu.Unlock()
	if started {
		t.Fatal("set up a committee with members off the allow-list")
	}
	if got := s.unlisted(evil.Members); got != "x0" {
		t.Fatalf("unlisted: %q", got)
	}
	if got := s.unlisted([]string{"n0", "n1", "n2"}); got != "" {
		t.Fatalf("a listed committee refused for %q", got)
	}
	if got := newSched(nil).unlisted(evil.Members); got != "" {
		t.Fatalf("with no allow-list, refused for %q", got)
	}
}
