package test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/p2p"
)

func anchorTx(t *testing.T, home, chainID string, hash []byte) []byte {
	t.Helper()
	key, err := node.LoadAccountKey(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	return signAnchor(t, key, cfg.Moniker, chainID, hash)
}

func signAnchor(t *testing.T, key ed25519.PrivateKey, signer, chainID string, hash []byte) []byte {
	t.Helper()
	id, err := ledger.NewTxID()
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.SignTx(key, &ledgerpb.TxPayload{
		ChainId: chainID, TxId: id, Signer: signer,
		Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{Hash: hash, Kind: "trade"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func recordHash(i int) []byte {
	h := sha256.Sum256([]byte(fmt.Sprintf("off-chain record %d", i)))
	return h[:]
}

// TestFourNodeTestnet is the foundation's end-to-end check: 4 node processes
// commit records, survive one node's stop, and the restarted node catches up
// to the same AppHash; non-members cannot reach the libp2p host; bad txs are
// refused with clear errors and change nothing.
func TestFourNodeTestnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	keys, err := zkKeysDir()
	if err != nil {
		t.Fatal(err)
	}
	nw := startNetwork(t, 4, "--zk-keys", keys, "--epoch-length", "10")
	for i := range nw.homes {
		nw.waitHeight(ctx, i, 2)
	}
	// Consensus peers connect within a few seconds of start.
	var st *client.Status
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		if st, err = nw.client(0).Status(ctx); err != nil {
			t.Fatal(err)
		}
		if len(st.Validators) == 4 && len(st.Peers) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status: %d validators, %d peers; want 4 and 3", len(st.Validators), len(st.Peers))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Records committed through different nodes, one of them via the CLI.
	for i := 0; i < 8; i++ {
		tx := anchorTx(t, nw.homes[i%4], st.ChainID, recordHash(i))
		if _, err := nw.client(i%4).Submit(ctx, tx); err != nil {
			t.Fatalf("anchor %d: %v", i, err)
		}
	}
	out, err := exec.CommandContext(ctx, cohortBin, "record", "anchor", "--home", nw.homes[2],
		"--hash", fmt.Sprintf("%x", recordHash(100)), "--kind", "supervision").Output()
	if err != nil {
		t.Fatalf("cohort record anchor: %v", err)
	}
	id := strings.TrimSpace(string(out))
	nw.waitHeight(ctx, 3, nw.height(ctx, 2)) // node 3 may be a block behind node 2
	out, err = exec.CommandContext(ctx, cohortBin, "record", "show", "--home", nw.homes[3], id).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("%x", recordHash(100))) {
		t.Fatalf("cohort record show %s on another node: %v\n%s", id, err, out)
	}

	t.Run("bad input changes nothing", func(t *testing.T) { badInput(ctx, t, nw, st.ChainID) })
	t.Run("non-member libp2p peer refused", func(t *testing.T) { nonMemberRefused(ctx, t, nw) })
	t.Run("trace with light client", func(t *testing.T) { traceRecord(ctx, t, nw) })
	t.Run("proof of task completion moves credit", func(t *testing.T) { taskCompletion(ctx, t, nw, keys) })
	t.Run("order: signing checks, breach, resume, settlement", func(t *testing.T) { orderLifecycle(ctx, t, nw, keys) })
	t.Run("supervision records on a channel", func(t *testing.T) { supervisionRecords(ctx, t, nw, keys) })
	t.Run("policy update needs the supervisors' quorum", func(t *testing.T) { policyUpdate(ctx, t, nw) })

	// Stop node 3: three of four validators keep committing.
	nw.stop(3)
	h := nw.height(ctx, 0)
	for i := 0; i < 4; i++ {
		tx := anchorTx(t, nw.homes[i%3], st.ChainID, recordHash(200+i))
		if _, err := nw.client(i%3).Submit(ctx, tx); err != nil {
			t.Fatalf("anchor while node 3 is down: %v", err)
		}
	}
	nw.waitHeight(ctx, 0, h+3)

	// Restart node 3: it catches up and agrees on the AppHash.
	nw.start(3)
	target := nw.height(ctx, 0)
	nw.waitHeight(ctx, 3, target)
	var want string
	for i := range nw.homes {
		got, err := nw.client(i).AppHashAt(ctx, target)
		if err != nil {
			t.Fatalf("node %d AppHash at %d: %v", i, target, err)
		}
		if i == 0 {
			want = got
		} else if got != want {
			t.Fatalf("node %d AppHash at height %d is %s, node 0 has %s", i, target, got, want)
		}
	}
	rec, err := nw.client(3).RecordsByHash(ctx, recordHash(203))
	if err != nil || len(rec) != 1 {
		t.Fatalf("restarted node misses a record committed while it was down: %v %v", rec, err)
	}
}

func badInput(ctx context.Context, t *testing.T, nw *network, chainID string) {
	c := nw.client(0)
	good := anchorTx(t, nw.homes[0], chainID, recordHash(300))
	if _, err := c.Submit(ctx, good); err != nil {
		t.Fatal(err)
	}
	_, strangerKey, _ := ed25519.GenerateKey(nil)
	badSig := anchorTx(t, nw.homes[0], chainID, recordHash(301))
	badSig[len(badSig)-1] ^= 0xff
	cases := []struct {
		name string
		tx   []byte
		hash []byte // the hash the tx would anchor, which must stay absent
		want string
	}{
		{"malformed", []byte("definitely not a protobuf tx \xff\xff"), nil, "malformed"},
		{"bad signature", badSig, recordHash(301), "bad signature"},
		{"unknown signer", signAnchor(t, strangerKey, "mallory", chainID, recordHash(302)), recordHash(302), "unknown signer"},
		{"signer's name with another key", signAnchor(t, strangerKey, "node0", chainID, recordHash(303)), recordHash(303), "bad signature"},
		{"replay", good, nil, "replay"},
		// The same signed payload in a re-encoded envelope (an unknown field
		// appended) slips past CometBFT's byte-level mempool cache: the
		// ledger's tx-ID check must catch it.
		{"replay re-encoded", append(append([]byte(nil), good...), 0x78, 0x01), nil, "replay"},
		{"10 MiB", bytes.Repeat([]byte{1}, 10<<20), nil, "exceeds"},
	}
	before := nw.height(ctx, 0)
	for _, tc := range cases {
		_, err := c.Broadcast(ctx, tc.tx)
		var ae *client.APIError
		if !errors.As(err, &ae) || !strings.Contains(ae.Msg, tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, err, tc.want)
			continue
		}
		t.Logf("%s: refused: %v", tc.name, err)
		if tc.hash != nil {
			if recs, err := c.RecordsByHash(ctx, tc.hash); !client.IsNotFound(err) {
				t.Errorf("%s: a record appeared: %v %v", tc.name, recs, err)
			}
		}
	}
	// The replayed record still exists exactly once.
	nw.waitHeight(ctx, 0, before+2)
	if recs, err := c.RecordsByHash(ctx, recordHash(300)); err != nil || len(recs) != 1 {
		t.Errorf("replayed record: %v %v; want exactly one", recs, err)
	}
}

func nonMemberRefused(ctx context.Context, t *testing.T, nw *network) {
	cfg, err := node.LoadConfig(nw.homes[0])
	if err != nil {
		t.Fatal(err)
	}
	member, err := p2p.PeerIDFromIdentity(filepath.Join(nw.homes[0], node.P2PKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	// The outsider admits everyone itself: the refusal must come from node 0.
	outsider, err := p2p.New(ctx, p2p.Config{
		KeyFile:     filepath.Join(t.TempDir(), "outsider.key"),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Members:     p2p.MemberSetFunc(func(peer.ID) bool { return true }),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer outsider.Close()
	var addrs []ma.Multiaddr
	for _, s := range cfg.P2P.Listen {
		addrs = append(addrs, ma.StringCast(s))
	}
	if err := outsider.AddPeer(peer.AddrInfo{ID: member, Addrs: addrs}); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// With TCP the dialer may finish its side of the handshake before the
	// member's gater refuses the connection, so Connect alone proves little:
	// what must fail is using the connection.
	connErr := outsider.Libp2p().Connect(dctx, peer.AddrInfo{ID: member, Addrs: addrs})
	s, err := outsider.Libp2p().NewStream(dctx, member, ping.ID)
	if err == nil {
		_, werr := s.Write(make([]byte, 32))
		buf := make([]byte, 32)
		_, rerr := io.ReadFull(s, buf)
		s.Close()
		if werr == nil && rerr == nil {
			t.Fatal("a non-member pinged a member node over libp2p")
		}
		err = errors.Join(werr, rerr)
	}
	t.Logf("non-member refused: connect: %v; stream: %v", connErr, err)
	st, serr := nw.client(0).Status(ctx)
	if serr != nil {
		t.Fatal(serr)
	}
	for _, p := range st.P2PPeers {
		if p == outsider.ID().String() {
			t.Fatal("the non-member is listed among node 0's libp2p peers")
		}
	}
}

func traceRecord(ctx context.Context, t *testing.T, nw *network) {
	dir := t.TempDir()
	file := filepath.Join(dir, "trade.json")
	content := []byte(`{"trade":"T-1","price_cents":12500,"quantity":40}`)
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	out, err := exec.CommandContext(ctx, cohortBin, "record", "anchor", "--home", nw.homes[0],
		"--hash", fmt.Sprintf("%x", sum), "--kind", "trade").Output()
	if err != nil {
		t.Fatalf("anchor: %v", err)
	}
	id := strings.TrimSpace(string(out))
	// The results of the anchoring block are committed by the next header.
	nw.waitHeight(ctx, 3, nw.height(ctx, 0)+2)

	supervisor := nw.homes[3]
	out, err = exec.CommandContext(ctx, cohortBin, "trace", "record", id, "--home", supervisor, "--file", file).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "pass") && !strings.Contains(string(out), "\npass") {
		t.Fatalf("trace of the genuine record: %v\n%s", err, out)
	}
	t.Logf("genuine: %s", out)

	tampered := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(tampered, bytes.Replace(content, []byte("12500"), []byte("12000"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, cohortBin, "trace", "record", id, "--home", supervisor, "--file", tampered)
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "fail") {
		t.Fatalf("trace of a tampered record: want exit 1 and 'fail', got %v\n%s", err, out)
	}
	t.Logf("tampered: %s", out)
}

func taskCompletion(ctx context.Context, t *testing.T, nw *network, keys string) {
	dir := t.TempDir()
	order, delivery := filepath.Join(dir, "order.json"), filepath.Join(dir, "delivery.json")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, cohortBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("cohort %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	before, err := nw.client(1).Credit(ctx, "node1")
	if err != nil {
		t.Fatal(err)
	}
	// node0 buys 1,000 units from node1 and needs 90% delivered.
	run("task", "assign", "--home", nw.homes[0], "--task", "T-100", "--assignee", "node1",
		"--quantity", "1000", "--threshold-bps", "9000", "--order-out", order)
	run("task", "sign-delivery", "--home", nw.homes[0], "--order", order, "--delivered", "1000",
		"--quality-bps", "10000", "--out", delivery)
	// Claiming less than the threshold is refused before any block.
	out, err := exec.CommandContext(ctx, cohortBin, "task", "complete", "--home", nw.homes[1], "--order", order,
		"--delivery", delivery, "--claim-bps", "8000", "--keys", keys).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "below the task's threshold") {
		t.Fatalf("completion below threshold accepted: %v\n%s", err, out)
	}
	run("task", "complete", "--home", nw.homes[1], "--order", order, "--delivery", delivery,
		"--claim-bps", "10000", "--keys", keys)
	// The other nodes may be a block behind node1.
	h := nw.height(ctx, 1)
	nw.waitHeight(ctx, 2, h)
	nw.waitHeight(ctx, 3, h)
	task, err := nw.client(2).Task(ctx, "T-100")
	if err != nil || task.Status != "completed" || task.CompletedBps != 10000 {
		t.Fatalf("task on another node: %+v %v", task, err)
	}
	after, err := nw.client(3).Credit(ctx, "node1")
	if err != nil {
		t.Fatal(err)
	}
	if after.Output != before.Output+1 || len(after.History) == 0 {
		t.Fatalf("credit of node1 before %+v after %+v", before, after)
	}
	t.Logf("%s", run("credit", "show", "--home", nw.homes[3], "node1"))
}

func supervisionRecords(ctx context.Context, t *testing.T, nw *network, keys string) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	public := write("public.json", `{"trade_id":"T-7","kind":"purchase order","platform":"node2"}`)
	private := write("private.json", `{"price":"125000.00","quantity":"4000","fee":"3000.00","delivery_days":"14"}`)
	const channel = "demander-platform-supervisor"
	out, err := exec.CommandContext(ctx, cohortBin, "record", "anchor", "--home", nw.homes[0], "--kind", "trade",
		"--channel", channel, "--public", public, "--private", private, "--keys", keys).CombinedOutput()
	if err != nil {
		t.Fatalf("anchor a channel record: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	id := lines[len(lines)-1]
	nw.waitHeight(ctx, 3, nw.height(ctx, 0))
	rec, err := nw.client(3).Record(ctx, id)
	if err != nil || rec.Channel != channel || !strings.Contains(string(rec.PublicInfo), "T-7") {
		t.Fatalf("record on the supervisor's node: %+v %v", rec, err)
	}
	if strings.Contains(string(rec.PublicInfo), "125000") {
		t.Fatal("private info on the ledger")
	}

	// The other channel members keep a copy (fetched over libp2p when the
	// record was committed); node1, not on the channel, does not.
	hash, _ := hex.DecodeString(rec.Hash)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := nw.client(2).GetBlob(ctx, hash, ""); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the platform (a channel member) did not replicate the sealed record")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := nw.client(1).GetBlob(ctx, hash, ""); !client.IsNotFound(err) {
		t.Fatalf("a non-member replicated the sealed record: %v", err)
	}

	// The supervisor opens it, re-verifies the proof and traces it with its
	// light client.
	out, err = exec.CommandContext(ctx, cohortBin, "record", "open", "--home", nw.homes[3], id).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "125000.00") {
		t.Fatalf("supervisor cannot open the record: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, cohortBin, "verify", "record", "--home", nw.homes[3], id).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "valid") {
		t.Fatalf("verify record: %v\n%q", err, out)
	}
	nw.waitHeight(ctx, 3, rec.Height+2)
	out, err = exec.CommandContext(ctx, cohortBin, "trace", "record", id, "--home", nw.homes[3]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "pass") {
		t.Fatalf("trace of the off-chain record: %v\n%s", err, out)
	}

	// node1 is not on the channel: it can fetch the sealed bytes but not read them.
	out, err = exec.CommandContext(ctx, cohortBin, "record", "open", "--home", nw.homes[1], id).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not a member") {
		t.Fatalf("a non-member opened private info: %v\n%s", err, out)
	}

	// A fee of 10% breaks the trade rule set: the record cannot be anchored.
	bad := write("bad.json", `{"price":"125000.00","quantity":"4000","fee":"12500.00","delivery_days":"14"}`)
	out, err = exec.CommandContext(ctx, cohortBin, "record", "anchor", "--home", nw.homes[0], "--kind", "trade",
		"--channel", channel, "--public", public, "--private", bad, "--keys", keys).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "breaks") {
		t.Fatalf("an out-of-policy record was anchored: %v\n%s", err, out)
	}
}

func policyUpdate(ctx context.Context, t *testing.T, nw *network) {
	out, err := exec.CommandContext(ctx, cohortBin, "policy", "default").Output()
	if err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(next, bytes.Replace(out, []byte("revision: 1"), []byte("revision: 2"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	// The platform approves its own proposal: not a supervisor, no quorum.
	own, err := exec.CommandContext(ctx, cohortBin, "policy", "approve", next, "--home", nw.homes[2]).Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err = exec.CommandContext(ctx, cohortBin, "policy", "update", next, "--home", nw.homes[2],
		"--approval", strings.TrimSpace(string(own))).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "supervisor") {
		t.Fatalf("policy update without the supervisor's approval: %v\n%s", err, out)
	}
	sup, err := exec.CommandContext(ctx, cohortBin, "policy", "approve", next, "--home", nw.homes[3]).Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err = exec.CommandContext(ctx, cohortBin, "policy", "update", next, "--home", nw.homes[2],
		"--approval", strings.TrimSpace(string(sup))).CombinedOutput()
	if err != nil {
		t.Fatalf("policy update with the supervisor's approval: %v\n%s", err, out)
	}
}
