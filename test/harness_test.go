package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/localnet"
)

// cohortBin is the binary built once for the package's tests.
var cohortBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cohort-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cohortBin = filepath.Join(dir, "cohort")
	build := exec.Command("go", "build", "-o", cohortBin, "../cmd/cohort")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cohort:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one node process.
type proc struct {
	home string
	cmd  *exec.Cmd
	done chan error
}

// network is a testnet whose nodes run as separate processes.
type network struct {
	t     *testing.T
	homes []string
	procs []*proc
	// command, when set, makes the command that runs the cohort binary for
	// node i on its own host (see TestNetNS); apis[i] is then where the
	// test reaches node i's API.
	command func(ctx context.Context, i int, args ...string) *exec.Cmd
	apis    []string
}

// cohort makes the command that runs `cohort args…` for node i.
func (nw *network) cohort(ctx context.Context, i int, args ...string) *exec.Cmd {
	if nw.command != nil {
		return nw.command(ctx, i, args...)
	}
	return exec.CommandContext(ctx, cohortBin, args...)
}

// zkKeysDir holds development keys of every circuit, made once per
// test binary by `cohort setup dev`.
var zkKeysDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cohort-zk-keys-")
	if err != nil {
		return "", err
	}
	for _, circuit := range []string{"completion", "compliance", "input"} {
		out, err := exec.Command(cohortBin, "setup", "dev", "--circuit", circuit, "--keys", dir).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("cohort setup dev: %v\n%s", err, out)
		}
	}
	return dir, nil
})

func startNetwork(t *testing.T, n int, extraArgs ...string) *network {
	t.Helper()
	return startNetworkWith(t, n, nil, extraArgs...)
}

// startNetworkWith is startNetwork with network.command set to command
// (nil: the cohort binary for every node) before any node starts.
func startNetworkWith(t *testing.T, n int, command func(ctx context.Context, i int, args ...string) *exec.Cmd, extraArgs ...string) *network {
	t.Helper()
	dir := t.TempDir()
	base, err := localnet.FreePorts(10 * n)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"testnet", "--nodes", fmt.Sprint(n), "--out", dir, "--base-port", fmt.Sprint(base)}, extraArgs...)
	out, err := exec.Command(cohortBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cohort testnet: %v\n%s", err, out)
	}
	nw := &network{t: t, command: command}
	for i := 0; i < n; i++ {
		nw.homes = append(nw.homes, filepath.Join(dir, fmt.Sprintf("node%d", i)))
	}
	nw.procs = make([]*proc, n)
	for i := range nw.homes {
		nw.start(i)
	}
	t.Cleanup(nw.stopAll)
	return nw
}

func (nw *network) start(i int) {
	nw.t.Helper()
	logf, err := os.OpenFile(filepath.Join(nw.homes[i], "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		nw.t.Fatal(err)
	}
	cmd := nw.cohort(context.Background(), i, "node", "start", "--home", nw.homes[i])
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		nw.t.Fatal(err)
	}
	p := &proc{home: nw.homes[i], cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	nw.procs[i] = p
}

// kill ends node i with SIGKILL, as a crash would.
func (nw *network) kill(i int) {
	nw.t.Helper()
	p := nw.procs[i]
	if p == nil {
		return
	}
	nw.procs[i] = nil
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (nw *network) stop(i int) {
	nw.t.Helper()
	p := nw.procs[i]
	if p == nil {
		return
	}
	nw.procs[i] = nil
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			nw.t.Errorf("node %d exited uncleanly: %v (log: %s)", i, err, filepath.Join(p.home, "node.log"))
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		nw.t.Errorf("node %d did not stop within 30s of SIGTERM", i)
	}
}

func (nw *network) stopAll() {
	for i := range nw.procs {
		nw.stop(i)
	}
	if nw.t.Failed() {
		for _, h := range nw.homes {
			if raw, err := os.ReadFile(filepath.Join(h, "node.log")); err == nil {
				tail := raw
				if len(tail) > 4000 {
					tail = tail[len(tail)-4000:]
				}
				nw.t.Logf("--- %s/node.log (tail)\n%s", h, tail)
			}
		}
	}
}

func (nw *network) client(i int) *client.Client {
	nw.t.Helper()
	if nw.apis != nil {
		return client.New(nw.apis[i])
	}
	cfg, err := node.LoadConfig(nw.homes[i])
	if err != nil {
		nw.t.Fatal(err)
	}
	return client.New(cfg.API.Listen)
}

// waitHeight waits until node i has committed height h.
func (nw *network) waitHeight(ctx context.Context, i int, h int64) int64 {
	nw.t.Helper()
	c := nw.client(i)
	for {
		st, err := c.Status(ctx)
		if err == nil && st.Height >= h {
			return st.Height
		}
		select {
		case <-ctx.Done():
			nw.t.Fatalf("node %d did not reach height %d: %v (last error %v)", i, h, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (nw *network) height(ctx context.Context, i int) int64 {
	nw.t.Helper()
	st, err := nw.client(i).Status(ctx)
	if err != nil {
		nw.t.Fatalf("status of node %d: %v", i, err)
	}
	return st.Height
}
