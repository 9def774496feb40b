package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// scores returns every member's rating.
func (c *jobChain) scores(t *testing.T) []int64 {
	t.Helper()
	var out []int64
	for _, m := range c.ms {
		out = append(out, creditOf(t, c.app, m.name).Credit.Score)
	}
	return out
}

// refused submits msg as member i and checks that CheckTx and FinalizeBlock
// both refuse it with code and a message containing want, and that the block
// changed nothing: its AppHash is that of an empty block on the same parent,
// and nobody's rating moved.
func (c *jobChain) refused(t *testing.T, i int, msg proto.Message, code uint32, want string) {
	t.Helper()
	if (c.height+1)%DefaultParams().EpochLength == 0 {
		c.block(t) // an epoch's end writes the decay; keep refusals apart from it
	}
	tx := c.tx(t, i, msg)
	if r := checkTx(t, c.app, tx); r.Code != code || !strings.Contains(r.Log, want) {
		t.Errorf("CheckTx: code %d %q, want %d containing %q", r.Code, r.Log, code, want)
	}
	before := c.scores(t)
	prev := c.app.committed.Load().appHash
	c.height++
	resp := c.finalize(t, tx)
	if r := resp.TxResults[0]; r.Code != code || !strings.Contains(r.Log, want) {
		t.Errorf("FinalizeBlock: code %d %q, want %d containing %q", r.Code, r.Log, code, want)
	}
	if empty := newBlockState(nil).hash(prev, c.height); !bytes.Equal(resp.AppHash, empty) {
		t.Errorf("a refused tx changed the state: AppHash %x, empty block %x", resp.AppHash, empty)
	}
	if after := c.scores(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("ratings moved: %v → %v", before, after)
	}
}

// TestLedgerRefusesJobsNodesReject: every job spec that the nodes' Validate
// rejects is refused by the ledger in CheckTx and FinalizeBlock, changes
// nothing, penalises nobody (also when its deadline would have passed).
func TestLedgerRefusesJobsNodesReject(t *testing.T) {
	c := newJobChain(t)
	c.activeCommittee(t, "c2", 2) // c1 (3-of-4) runs no HE job at all
	valid := func() *ledgerpb.JobSubmit {
		return &ledgerpb.JobSubmit{JobId: "J", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000}`),
			Providers: []string{"node0", "node1"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 5}
	}
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("node0/b%d", i)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		edit func(*ledgerpb.JobSubmit)
		want string
	}{
		{"unknown type", func(s *ledgerpb.JobSubmit) { s.Type = "lottery" }, "unknown job type"},
		{"bad job ID", func(s *ledgerpb.JobSubmit) { s.JobId = "job/1" }, "job id"},
		{"long job ID", func(s *ledgerpb.JobSubmit) { s.JobId = strings.Repeat("j", jobspec.MaxIDBytes+1) }, "job id"},
		{"params unknown field", func(s *ledgerpb.JobSubmit) { s.Params = []byte(`{"max_bid":1000,"reserve":5}`) }, "unknown field"},
		{"params wrong type", func(s *ledgerpb.JobSubmit) { s.Params = []byte(`{"max_bid":"lots"}`) }, "params"},
		{"params not an object", func(s *ledgerpb.JobSubmit) { s.Params = []byte(`[1]`) }, "params"},
		{"params too large", func(s *ledgerpb.JobSubmit) {
			s.Params = []byte(`{"max_bid":1000` + strings.Repeat(" ", jobspec.MaxParamsBytes) + `}`)
		}, "exceed"},
		{"one bidder", func(s *ledgerpb.JobSubmit) { s.Providers = []string{"node0"} }, "two bidders"},
		{"no providers", func(s *ledgerpb.JobSubmit) { s.Providers = nil }, "providers"},
		{"too many providers", func(s *ledgerpb.JobSubmit) { s.Providers = many(jobspec.MaxProviders + 1) }, "providers"},
		{"duplicate provider", func(s *ledgerpb.JobSubmit) { s.Providers = []string{"node0", "node1", "node0"} }, "twice"},
		{"empty slot label", func(s *ledgerpb.JobSubmit) { s.Providers = []string{"node0", "node1/"} }, "label"},
		{"nested slot", func(s *ledgerpb.JobSubmit) { s.Providers = []string{"node0", "node1/a/b"} }, "label"},
		{"bad recipient", func(s *ledgerpb.JobSubmit) { s.Recipient = "no body" }, "recipient"},
		{"credit features", func(s *ledgerpb.JobSubmit) {
			s.CommitteeId, s.Type, s.Params = "c2", "credit-score", []byte(`{"subjects":5,"weights":[1,2],"provider_features":[[0],[0]]}`)
		}, "feature"},
		{"credit subjects", func(s *ledgerpb.JobSubmit) {
			s.CommitteeId, s.Type, s.Params = "c2", "credit-score", []byte(`{"subjects":100000,"weights":[1,2],"provider_features":[[0],[1]]}`)
		}, "subjects"},
		{"credit weight", func(s *ledgerpb.JobSubmit) {
			s.CommitteeId, s.Type, s.Params = "c2", "credit-score", []byte(`{"subjects":5,"weights":[1e9,2],"provider_features":[[0],[1]]}`)
		}, "coefficient"},
		{"aggregate bins", func(s *ledgerpb.JobSubmit) {
			s.CommitteeId, s.Type, s.Params = "c2", "aggregate", []byte(`{"bins":6,"lo":0,"hi":10}`)
		}, "power of two"},
		{"aggregate range", func(s *ledgerpb.JobSubmit) {
			s.CommitteeId, s.Type, s.Params = "c2", "aggregate", []byte(`{"bins":4,"lo":0,"hi":10000000}`)
		}, "exceeds"},
		{"clearing sides", func(s *ledgerpb.JobSubmit) {
			s.Type, s.Params = "clearing", []byte(`{"prices":[3,4],"sides":["buyer"]}`)
		}, "sides"},
		{"clearing prices", func(s *ledgerpb.JobSubmit) {
			s.Type, s.Params = "clearing", []byte(`{"prices":[4,4],"sides":["buyer","seller"]}`)
		}, "increase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			s.JobId = "J-" + strings.ReplaceAll(tc.name, " ", "-")
			tc.edit(s)
			s.DeadlineHeight = c.height + 3
			// The platform (node2) may submit every type under the default policy.
			c.refused(t, 2, s, CodeInvalid, tc.want)
			// Past the deadline the job would have had, nothing expires and
			// nobody pays for a job that never existed.
			before := c.scores(t)
			for i := 0; i < 4; i++ {
				c.block(t)
			}
			if after := c.scores(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("ratings moved after the deadline: %v → %v", before, after)
			}
			var j ledgerpb.Job
			if found, _ := loadProto(committedReader{c.app.store}, keyJob(s.JobId), &j); found {
				t.Errorf("refused job is on the ledger: %+v", &j)
			}
		})
	}
	// The valid job is accepted: the refusals came from the edits.
	c.mustOK(t, c.tx(t, 2, valid()))
}

// TestLedgerRefusesCommitteesEnginesCannotRun: committee sizes and
// thresholds outside what the DKG and the engines run (threshold 1, 2 or 10
// members, a threshold below ⌈n/2⌉ or above n) are refused.
func TestLedgerRefusesCommitteesEnginesCannotRun(t *testing.T) {
	c := newJobChain(t)
	four := []string{"node0", "node1", "node2", "node3"}
	ten := append(append([]string(nil), four...), "n4", "n5", "n6", "n7", "n8", "n9")
	sixteen := append(append([]string(nil), ten...), "na", "nb", "nc", "nd", "ne", "nf")
	for _, tc := range []struct {
		name      string
		members   []string
		threshold uint32
		want      string
	}{
		{"threshold 1", four, 1, "threshold 1"},
		{"threshold 0", four, 0, "threshold 0"},
		{"threshold above n", four, 5, "threshold 5"},
		{"huge threshold", four, 1 << 31, "threshold"},
		{"threshold below half", []string{"node0", "node1", "node2"}, 1, "want 2..3"},
		{"committee of 2", []string{"node0", "node1"}, 2, "committee of 2"},
		{"committee of 10", ten, 6, "committee of 10"},
		{"committee of 16", sixteen, 9, "committee of 16"},
		{"member twice", []string{"node0", "node1", "node0"}, 2, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.refused(t, 2, &ledgerpb.CommitteeCreate{CommitteeId: "c-" + strings.ReplaceAll(tc.name, " ", "-"), Members: tc.members, Threshold: tc.threshold}, CodeInvalid, tc.want)
		})
	}
	// ⌈n/2⌉ is enough: a 2-of-4 and a 2-of-3 committee are accepted.
	c.mustOK(t, c.tx(t, 2, &ledgerpb.CommitteeCreate{CommitteeId: "c-2of4", Members: four, Threshold: 2}))
	c.mustOK(t, c.tx(t, 2, &ledgerpb.CommitteeCreate{CommitteeId: "c-2of3", Members: four[:3], Threshold: 2}))
}

// TestLedgerRefusesHEJobsOnUncheckedCommittee: a committee with t > ⌈n/2⌉
// (c1, 3-of-4) sets up no checked HE key (mpc/he: its share check would
// hand ⌈n/2⌉ < t members the key), so the ledger refuses its HE jobs, of
// both HE types, in CheckTx and FinalizeBlock, naming the bound and the
// committee; its SS jobs are accepted, and the same HE job on a 2-of-4
// committee (c2, t = ⌈n/2⌉) is accepted.
func TestLedgerRefusesHEJobsOnUncheckedCommittee(t *testing.T) {
	c := newJobChain(t)
	c.activeCommittee(t, "c2", 2)
	jobs := map[string]*ledgerpb.JobSubmit{
		"credit-score": {Type: "credit-score", Params: []byte(`{"subjects":5,"weights":[1,2],"provider_features":[[0],[1]]}`)},
		"aggregate":    {Type: "aggregate", Params: []byte(`{"bins":4,"lo":0,"hi":100}`)},
	}
	for _, typ := range []string{"credit-score", "aggregate"} {
		t.Run(typ, func(t *testing.T) {
			s := jobs[typ]
			s.JobId, s.Providers, s.CommitteeId, s.Recipient, s.DeadlineHeight = "J-"+typ, []string{"node0", "node1"}, "c1", "node2", c.height+5
			c.refused(t, 2, s, CodeInvalid, `on committee "c1": `+typ+`: HE jobs need a committee whose HE setup checks every member's key shares: threshold at most ⌈n/2⌉ = 2, the committee is 3-of-4`)
			s.JobId, s.CommitteeId = "J-"+typ+"-c2", "c2"
			c.mustOK(t, c.tx(t, 2, s))
		})
	}
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "J-ss", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000}`),
		Providers: []string{"node0", "node1"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 5}))
}

// TestJobAbortedByItsCommitteePenalisesNobody: an accepted job that the nodes
// cannot run ends with the abort a committee member posts, naming the reason;
// its providers lose nothing, a second member's abort is its attestation, and
// a late result or a member's second abort is told the job is finished
// (CodeJobFinished).
func TestJobAbortedByItsCommitteePenalisesNobody(t *testing.T) {
	c := newJobChain(t)
	c.activeCommittee(t, "c2", 2)
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "J-cannot", Type: "aggregate", Params: []byte(`{"bins":8,"lo":0,"hi":100}`),
		Providers: []string{"node0", "node1"}, CommitteeId: "c2", Recipient: "node2", DeadlineHeight: c.height + 4}))
	before := c.scores(t)
	reason := "committee member node3 cannot run the job: preset insecure-test: 9000 subjects exceed 4096 slots"
	c.mustOK(t, c.tx(t, 3, &ledgerpb.JobAbort{JobId: "J-cannot", Reason: reason}))
	j := c.job(t, "J-cannot")
	if j.Status != JobAborted || !strings.Contains(j.AbortReason, reason) || !strings.Contains(j.AbortReason, "node3") || j.Culprit != "" {
		t.Fatalf("aborted job: %+v", j)
	}
	for i := 0; i < 5; i++ {
		c.block(t)
	}
	if after := c.scores(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("ratings moved for an aborted job: %v → %v", before, after)
	}
	// A second member's abort is its attestation (attest.go): recorded, the
	// job's reason unchanged; its third is told the job is finished.
	c.mustOK(t, c.tx(t, 1, &ledgerpb.JobAbort{JobId: "J-cannot", Reason: "again"}))
	if j2 := c.job(t, "J-cannot"); j2.AbortReason != j.AbortReason || len(j2.Attestations) != 2 || j2.Attestations[1].Member != "node1" || len(j2.Charges) != 0 {
		t.Fatalf("attested job: %+v", j2)
	}
	if r := c.block(t, c.tx(t, 1, &ledgerpb.JobAbort{JobId: "J-cannot", Reason: "again"}))[0]; r.Code != CodeJobFinished {
		t.Fatalf("second abort: %d %s", r.Code, r.Log)
	}
	if r := c.block(t, c.tx(t, 0, &ledgerpb.JobInput{JobId: "J-cannot", Commitment: make([]byte, 32)}))[0]; r.Code != CodeJobFinished {
		t.Fatalf("late input: %d %s", r.Code, r.Log)
	}
}

// TestTypedReads: the scheduler's typed reads of committed jobs and
// committees, with ErrNotFound for absent ones.
func TestTypedReads(t *testing.T) {
	c := newJobChain(t)
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: "J-open", Type: "auction-first", Providers: []string{"node0", "node1"},
		CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}))
	if com, err := c.app.Committee("c1"); err != nil || com.Status != CommitteeActive || len(com.Members) != 4 {
		t.Fatalf("committee c1: %+v %v", com, err)
	}
	if _, err := c.app.Committee("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent committee: %v", err)
	}
	if _, err := c.app.Job("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent job: %v", err)
	}
	open, err := c.app.OpenJobs()
	if err != nil || len(open) != 1 || open[0].Id != "J-open" {
		t.Fatalf("open jobs: %v %v", open, err)
	}
	all, err := c.app.Committees()
	if err != nil || len(all) != 1 || all[0].Id != "c1" {
		t.Fatalf("committees: %v %v", all, err)
	}
	j, err := c.app.Job("J-open")
	if err != nil {
		t.Fatal(err)
	}
	com, _ := c.app.Committee("c1")
	spec, err := JobSpec(j, com)
	if err != nil || spec.Threshold != 3 || len(spec.Committee) != 4 || spec.Requester != "node2" {
		t.Fatalf("job spec: %+v %v", spec, err)
	}
}
