package test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohortnet/cohort/node/client"
)

// orderLifecycle drives an order through the CLI on the 4-process network:
// a refusal at signing (grade), creation and signatures, deliveries proven
// by PoTC, a completion below threshold that suspends the order, a resume
// by every party, the settlement (a record found by its hash), the credit
// history, and the same AppHash on every node.
func orderLifecycle(ctx context.Context, t *testing.T, nw *network, keys string) {
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, cohortBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("cohort %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	spec := func(id, grade string, partners string) string {
		p := filepath.Join(dir, id+".json")
		body := fmt.Sprintf(`{"id": %q, "product": "gearbox housings", "deadline_blocks": 300, "min_grade": %q,
  "mode": "hybrid", "profit_pool": 1000003, "funds": 1080003, "threshold_bps": 8000, "partners": [%s]}`, id, grade, partners)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// A partner under the order's minimum grade: the last signature is
	// refused (exit 1) and the order stays a draft.
	run("order", "create", "--home", nw.homes[0], "--spec", spec("O-AAA", "AAA", `{"member": "node3", "quantity": 5, "unit_value": 10}`))
	out, err := exec.CommandContext(ctx, cohortBin, "order", "sign", "--home", nw.homes[3], "O-AAA").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "below the minimum AAA") {
		t.Fatalf("signature under the grade: %v\n%s", err, out)
	}
	if o, err := nw.client(2).Order(ctx, "O-AAA"); err != nil || o.Status != "draft" || len(o.Signed) != 1 {
		t.Fatalf("order after a refused signature: %+v %v", o, err)
	}

	run("order", "create", "--home", nw.homes[0], "--spec", spec("O-CLI", "BB",
		`{"member": "node1", "quantity": 60, "unit_value": 1000, "fixed_amount": 50000},
		 {"member": "node2", "quantity": 40, "unit_value": 1500, "fixed_amount": 30000}`))
	run("order", "sign", "--home", nw.homes[1], "O-CLI")
	t.Logf("%s", run("order", "sign", "--home", nw.homes[2], "O-CLI"))

	// node0 signs what each partner delivered; each proves its band.
	deliver := func(partner int, delivered, claim string) {
		t.Helper()
		name := fmt.Sprint("node", partner)
		opening, delivery := filepath.Join(dir, name+"-order.json"), filepath.Join(dir, name+"-delivery.json")
		run("order", "task-file", "--home", nw.homes[0], "O-CLI", "--partner", name, "--out", opening)
		run("task", "sign-delivery", "--home", nw.homes[0], "--order", opening, "--delivered", delivered, "--out", delivery)
		run("task", "complete", "--home", nw.homes[partner], "--order", opening, "--delivery", delivery, "--claim-bps", claim, "--keys", keys)
	}
	deliver(1, "60", "10000")
	deliver(2, "21", "5000") // 52.5% of 40 proves the 50% band, under the 80% threshold: a breach
	o, err := nw.client(3).Order(ctx, "O-CLI")
	if err == nil && o.Status != "suspended" {
		nw.waitHeight(ctx, 3, nw.height(ctx, 2))
		o, err = nw.client(3).Order(ctx, "O-CLI")
	}
	if err != nil || o.Status != "suspended" || !strings.Contains(o.Transitions[len(o.Transitions)-1].Reason, "below the threshold") {
		t.Fatalf("order after a completion below threshold: %+v %v", o, err)
	}
	if task, err := nw.client(3).Task(ctx, "order/O-CLI/2"); err != nil || task.Status != "below_threshold" || task.OrderID != "O-CLI" {
		t.Fatalf("task show of the breached task: %+v %v", task, err)
	}
	for _, i := range []int{0, 1, 2} {
		run("order", "resume", "--home", nw.homes[i], "O-CLI", "--reason", "accept 50% from node2")
	}
	t.Logf("%s", run("order", "settle", "--home", nw.homes[1], "O-CLI"))
	show := run("order", "show", "--home", nw.homes[3], "O-CLI")
	t.Logf("%s", show)
	for _, want := range []string{"settled", "suspended", "resumed by every party", "below the threshold"} {
		if !strings.Contains(show, want) {
			t.Fatalf("order show lacks %q", want)
		}
	}
	s, err := nw.client(3).Settlement(ctx, "O-CLI")
	if err != nil {
		t.Fatal(err)
	}
	if s.Shares[0].SharingPart+s.Shares[1].SharingPart != 1_000_003 || s.Paid+s.Refund != 1_080_003 || s.Shares[1].FixedPart != 0 {
		t.Fatalf("settlement %+v", s)
	}
	recs, err := nw.client(3).RecordsByHash(ctx, mustHex(t, s.Hash))
	if err != nil || len(recs) != 1 || recs[0].Kind != "settlement" {
		t.Fatalf("settlement record by hash: %+v %v", recs, err)
	}

	var hist client.CreditHistory
	if err := json.Unmarshal([]byte(run("credit", "show", "--home", nw.homes[3], "node2", "--history", "--json")), &hist); err != nil {
		t.Fatal(err)
	}
	breach := false
	for _, e := range hist.History {
		breach = breach || strings.Contains(e.Reason, "O-CLI breach") && e.Delta < 0 && e.Grade != ""
	}
	if !breach || hist.Grade == "" {
		t.Fatalf("credit history of node2 lacks the breach: %+v", hist)
	}

	h := nw.height(ctx, 1)
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
			t.Fatalf("node %d AppHash at %d is %s, node 0 has %s", i, h, got, want)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
