package test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/adversary"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/policies"
)

// TestCorruptedMemberProcess runs the issue-10 adversary through the whole
// node pipeline: node1, a member of committee c1 (4 members, HE threshold
// 2 = ⌈n/2⌉, the only one that runs HE jobs; SS t = 1, so members 0 and 1
// deal the random bits), runs a second binary built with -tags cohort_adversary and
// COHORT_ADVERSARY=ss-bad-bit,he-keyswitch-shift, so that it deals a
// non-bit as a dealer of random bits in SS jobs and shifts its
// key-switching shares in HE jobs; the other three run the production
// binary with the same variable, which they ignore. Both jobs must end
// aborted on the ledger, with nothing anchored and nothing at the
// recipient, and every honest member must have caught the deviation itself:
//   - an SS Vickrey auction fails the malicious mode's bitness check, opened
//     with all n shares, before anything is opened: every honest member
//     names node1 (mpc-check-failed), their aborts are the ledger's
//     attestations, and the quorum (2 of the 3 others) charges node1 once
//     — and no honest member (ledger/attest.go; the chain's policy enables
//     credit.charge_attested_faults, off by default). A MAC-check failure, which
//     names nobody, is shown in-process (mpc/jobs, node/jobrun);
//   - an HE credit-score job with every member online reaches the recipient
//     as two key switches (the family's two disjoint 2-subsets) that
//     disagree; the recipient rejects them, the committee aborts with
//     bad-output and signs nothing; bad-output is the recipient's word and
//     charges nobody.
//
// Then every node holds the same AppHash.
func TestCorruptedMemberProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	keys, err := zkKeysDir()
	if err != nil {
		t.Fatal(err)
	}
	advBin := filepath.Join(t.TempDir(), "cohort-adversary")
	if out, err := exec.CommandContext(ctx, "go", "build", "-tags", "cohort_adversary", "-o", advBin, "../cmd/cohort").CombinedOutput(); err != nil {
		t.Fatalf("build the adversarial binary: %v\n%s", err, out)
	}
	// The ss-vickrey case asserts a quorum charge, which a chain charges
	// only when its policy enables it (credit.charge_attested_faults, off
	// by default): the default testnet policy with the key on, and with
	// committees.creators, which charging requires, naming the platform
	// (node2, which creates c1 below) and the supervisor. This alliance's
	// one committee (c1, all four members) is composed by the platform:
	// its honest majority is the assumption the key rests on.
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	policy := string(policies.DefaultYAML())
	for _, r := range [][2]string{
		{"charge_attested_faults: false", "charge_attested_faults: true"},
		{"creators: []", "creators: [platform, supervisor]"},
	} {
		if !strings.Contains(policy, r[0]) {
			t.Fatalf("the default policy does not state %q", r[0])
		}
		policy = strings.Replace(policy, r[0], r[1], 1)
	}
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	const corrupted = 1 // a dealer of random bits (members 0 … t)
	// Every node gets the variable; only node1 runs the tagged binary, the
	// production binary of the others must ignore it.
	nw := startNetworkWith(t, 4, func(ctx context.Context, i int, args ...string) *exec.Cmd {
		bin := cohortBin
		if i == corrupted {
			bin = advBin
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), adversary.EnvVar+"=ss-bad-bit,he-keyswitch-shift")
		return cmd
	}, "--zk-keys", keys, "--he-preset", "insecure-test", "--policy", policyFile)
	for i := range nw.homes {
		nw.waitHeight(ctx, i, 2)
	}
	jr := &jobRunner{t: t, ctx: ctx, nw: nw}
	jr.cli(2, "committee", "create", "--id", "c1", "--members", "node0,node1,node2,node3", "--threshold", "2")
	jr.waitCommittee("c1")
	// The deviation is wired in node1 only.
	for i := range nw.homes {
		raw, err := os.ReadFile(filepath.Join(nw.homes[i], "node.log"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(raw), "ADVERSARIAL TEST BUILD"); got != (i == corrupted) {
			t.Fatalf("node%d deviates: %v", i, got)
		}
	}

	// noResult checks that job id ended aborted with nothing anchored, and
	// that no node, the recipient included, holds a result.
	noResult := func(t *testing.T, id string, recipient int) *client.Job {
		t.Helper()
		j := jr.waitEnd(id)
		if j.Status != "aborted" || j.OutputCommitment != "" || j.Signature != "" {
			t.Fatalf("job %s with a corrupted member: %+v", id, j)
		}
		if out, err := nw.cohort(ctx, recipient, "job", "result", id, "--home", nw.homes[recipient]).CombinedOutput(); err == nil {
			t.Fatalf("recipient node%d holds a result of %s: %s", recipient, id, out)
		}
		for i := range nw.homes {
			if _, err := nw.client(i).JobOutput(ctx, id, "result"); !client.IsNotFound(err) {
				t.Fatalf("node%d holds a result of %s: %v", i, id, err)
			}
		}
		t.Logf("job %s aborted: %q (culprit %q)", id, j.AbortReason, j.Culprit)
		return j
	}
	// honestDetect checks that every honest member caught the deviation
	// itself (whoever's abort landed first): each logs the job's failure
	// with reason kind.
	honestDetect := func(t *testing.T, id string, kind jobrun.FaultKind) {
		t.Helper()
		for i := range nw.homes {
			if i == corrupted {
				continue
			}
			jr.eventually(t, 60*time.Second, func() error {
				raw, err := os.ReadFile(filepath.Join(nw.homes[i], "node.log"))
				if err != nil {
					return err
				}
				for _, line := range strings.Split(string(raw), "\n") {
					if strings.Contains(line, `msg="job failed; aborting on the ledger"`) && strings.Contains(line, " job="+id+" ") &&
						strings.Contains(line, `reason="`+string(kind)+":") {
						return nil
					}
				}
				return fmt.Errorf("honest member node%d did not abort %s with %s", i, id, kind)
			})
		}
	}

	t.Run("ss-vickrey", func(t *testing.T) {
		jr.writeInputs("VA", map[int]uint64{0: 700, 1: 900, 3: 800})
		jr.submit(2, "auction-vickrey", "VA", jobrun.AuctionParams{MaxBid: 10000}, []string{"node0", "node1", "node3"}, "node2", 400)
		j := noResult(t, "VA", 2)
		// node1 names nobody (its own engine cannot blame itself): the job
		// names node1 unless node1's abort landed first.
		if !strings.HasPrefix(j.AbortReason, string(jobrun.FaultCheckFailed)) || j.Culprit != "" && j.Culprit != "node1" {
			t.Fatalf("want a %s abort naming node1 or nobody, got %q (culprit %q)", jobrun.FaultCheckFailed, j.AbortReason, j.Culprit)
		}
		honestDetect(t, "VA", jobrun.FaultCheckFailed)
		// The honest members' aborts attest node1's non-bit: charged once.
		jr.eventually(t, 60*time.Second, func() error {
			j, err := nw.client(0).Job(ctx, "VA")
			if err != nil {
				return err
			}
			if len(j.Charges) != 1 || j.Charges[0].Member != "node1" || j.Charges[0].Cause != "attested:"+string(jobrun.FaultCheckFailed) {
				return fmt.Errorf("VA charges %+v, attestations %+v", j.Charges, j.Attestations)
			}
			return nil
		})
		charged := func(name string) []client.CreditEvent {
			c, err := nw.client(0).Credit(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			return slices.DeleteFunc(c.History, func(e client.CreditEvent) bool { return !strings.HasSuffix(e.Reason, "job VA") })
		}
		if got := charged("node1"); len(got) != 1 || got[0].Delta >= 0 ||
			!strings.HasPrefix(got[0].Reason, "attested by ") || !strings.Contains(got[0].Reason, "of 4 committee members: mpc-check-failed") {
			t.Fatalf("node1's rating history for VA: %+v", got)
		}
		for _, name := range []string{"node0", "node2", "node3"} {
			if got := charged(name); len(got) != 0 {
				t.Fatalf("honest %s charged for VA: %+v", name, got)
			}
		}
	})
	t.Run("he-credit-score", func(t *testing.T) {
		params := jobrun.CreditParams{Subjects: 40, Weights: jobrun.CreditWeights(0.7, -1.1, 0.4), Bias: "0.1", ProviderFeatures: [][]int{{0, 1}, {2}}}
		cols := make([][]float64, 3)
		for f := range cols {
			for s := 0; s < params.Subjects; s++ {
				cols[f] = append(cols[f], math.Sin(float64(7*f+s)))
			}
		}
		jr.writeInput(0, "CA", map[string]any{"features": cols[:2]})
		jr.writeInput(1, "CA", map[string]any{"features": cols[2:]})
		jr.submit(0, "credit-score", "CA", params, []string{"node0", "node1"}, "node0", 400)
		j := noResult(t, "CA", 0)
		if !strings.HasPrefix(j.AbortReason, string(jobrun.FaultBadOutput)) || j.Culprit != "" {
			t.Fatalf("want an unattributed %s abort, got %q (culprit %q)", jobrun.FaultBadOutput, j.AbortReason, j.Culprit)
		}
		honestDetect(t, "CA", jobrun.FaultBadOutput)
		if j, err := nw.client(0).Job(ctx, "CA"); err != nil || len(j.Charges) != 0 {
			t.Fatalf("CA charged %+v (%v)", j, err)
		}
	})

	h := nw.height(ctx, 0)
	var want string
	for i := range nw.homes {
		nw.waitHeight(ctx, i, h)
		got, err := nw.client(i).AppHashAt(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = got
		} else if got != want {
			t.Fatalf("node%d AppHash at %d is %s, node0 has %s", i, h, got, want)
		}
	}
}
