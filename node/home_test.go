package node

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/policies"
)

// TestGenesisAcrossMachines follows README's "A network across machines"
// for two members on other hosts: member.json advertises the host's
// address and no loopback RPC, and `cohort genesis` run by one member with a
// scratch directory for the other writes only the genesis there and sets
// the peers of its own home.
func TestGenesisAcrossMachines(t *testing.T) {
	dir := t.TempDir()
	a, err := Init(filepath.Join(dir, "a"), InitOptions{Moniker: "a", Role: "enterprise", Host: "10.77.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Init(filepath.Join(dir, "b"), InitOptions{Moniker: "b", Role: "supervisor", Host: "10.77.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ConsensusAddr != "10.77.0.1:26656" || a.RPCAddr != "" || a.P2PAddrs[0] != "/ip4/10.77.0.1/tcp/26658/p2p/"+a.PeerID {
		t.Fatalf("member a advertises %s, rpc %q, %v", a.ConsensusAddr, a.RPCAddr, a.P2PAddrs)
	}
	scratch := filepath.Join(dir, "scratch-b")
	if err := BuildGenesis("x-1", []string{filepath.Join(dir, "a"), scratch}, []*MemberInfo{a, b}, GenesisOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(scratch, genesisFileName)); err != nil {
		t.Fatalf("no genesis in the scratch home: %v", err)
	}
	if _, err := os.Stat(filepath.Join(scratch, ConfigFile)); !os.IsNotExist(err) {
		t.Fatalf("scratch home got a config: %v", err)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Consensus.PersistentPeers) != 1 || cfg.Consensus.PersistentPeers[0] != b.ConsensusNodeID+"@10.77.0.2:26656" ||
		len(cfg.Trace.Witnesses) != 0 || cfg.Consensus.AllowLoopbackPeer {
		t.Fatalf("home a: peers %v, witnesses %v, loopback peers %v", cfg.Consensus.PersistentPeers, cfg.Trace.Witnesses, cfg.Consensus.AllowLoopbackPeer)
	}

	// On one machine the loopback RPC is a witness the others can reach.
	l, err := Init(filepath.Join(dir, "l"), InitOptions{Moniker: "l", Role: "enterprise"})
	if err != nil {
		t.Fatal(err)
	}
	if l.RPCAddr != "tcp://127.0.0.1:26657" {
		t.Fatalf("loopback member advertises rpc %q", l.RPCAddr)
	}
}

// TestTestnetMemberNodes: a testnet of 4 validators and 2 member nodes that
// do not validate. The members have no validator key and power 0, are
// enterprises, dial the 4 validators only for consensus (the validators
// dial each other), and the default policy gains them as enterprises; a
// 4-node testnet keeps the default policy byte for byte.
func TestTestnetMemberNodes(t *testing.T) {
	dir := t.TempDir()
	o := TestnetOptions{Nodes: 6, Validators: 4, BasePort: 31000, ChainID: "members-1"}
	pol, err := DefaultTestnetPolicy(o)
	if err != nil {
		t.Fatal(err)
	}
	o.Genesis.Policy = pol
	homes, err := Testnet(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cmttypes.GenesisDocFromFile(GenesisPath(homes[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Validators) != 4 {
		t.Fatalf("%d genesis validators, want 4", len(doc.Validators))
	}
	app, err := ledger.ParseGenesis(doc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range app.Members {
		validator := i < 4
		if validator != (len(m.ValidatorKey) > 0 && m.Power > 0) || (!validator && (len(m.ValidatorKey) != 0 || m.Power != 0)) {
			t.Fatalf("member %s: validator key %d bytes, power %d", m.Name, len(m.ValidatorKey), m.Power)
		}
		if want := []string{"enterprise", "enterprise", "platform", "supervisor", "enterprise", "enterprise"}[i]; m.Roles[0] != want {
			t.Fatalf("member %s has role %v, want %s", m.Name, m.Roles, want)
		}
		cfg, err := LoadConfig(homes[i])
		if err != nil {
			t.Fatal(err)
		}
		peers, sleep := 4, 100*time.Millisecond
		if validator {
			peers, sleep = 3, defaultPeerGossipSleep
		}
		if len(cfg.Consensus.PersistentPeers) != peers || len(cfg.P2P.Peers) != 2*5 || cfg.Consensus.PeerGossipSleep.Duration != sleep {
			t.Fatalf("%s: %d consensus peers (want %d), %d libp2p addresses (want 10), gossip sleep %v (want %v)", m.Name,
				len(cfg.Consensus.PersistentPeers), peers, len(cfg.P2P.Peers), cfg.Consensus.PeerGossipSleep, sleep)
		}
	}
	p, err := policies.Parse([]byte(app.Policy))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"node4", "node5"} {
		if m, ok := p.Member(name); !ok || m.Role != policies.RoleEnterprise {
			t.Fatalf("policy member %s: %+v %v", name, m, ok)
		}
	}
	if m, ok := p.Member("node2"); !ok || m.Role != policies.RolePlatform {
		t.Fatalf("policy member node2: %+v %v", m, ok)
	}

	for _, o := range []TestnetOptions{{Nodes: 4}, {Nodes: 4, Validators: 4}} {
		if raw, err := DefaultTestnetPolicy(o); err != nil || !bytes.Equal(raw, policies.DefaultYAML()) {
			t.Fatalf("%+v: not the default policy (%v)", o, err)
		}
	}
	for _, o := range []TestnetOptions{{Nodes: 5}, {Nodes: 6, Validators: 3}, {Nodes: 6, Validators: 4, Roles: []string{"enterprise"}}} {
		if raw, err := DefaultTestnetPolicy(o); err != nil || raw != nil {
			t.Fatalf("%+v: got a policy (%v)", o, err)
		}
	}
	if _, err := Testnet(t.TempDir(), TestnetOptions{Nodes: 2, Validators: 3}); err == nil {
		t.Fatal("3 validators of 2 nodes accepted")
	}
}

// TestTestnetNodeless: a testnet's members without a node have their keys
// only (0600), no peer ID, validator key or address; the genesis lists them
// as enterprises of the default policy; no node dials them; and the chain's
// rules refuse such a member with a validator key or without a sealing key.
func TestTestnetNodeless(t *testing.T) {
	dir := t.TempDir()
	o := TestnetOptions{Nodes: 4, Nodeless: 2, BasePort: 47100}
	raw, err := DefaultTestnetPolicy(o)
	if err != nil || raw == nil {
		t.Fatalf("policy: %v", err)
	}
	o.Genesis.Policy = raw
	homes, err := Testnet(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(homes) != 4 {
		t.Fatalf("%d node homes, want 4", len(homes))
	}
	pol, err := policies.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		name := NodelessName(k)
		home := filepath.Join(dir, name)
		for _, f := range []string{AccountKeyFile, SealingKeyFile} {
			st, err := os.Stat(filepath.Join(home, f))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("%s %s: %v %v", name, f, st.Mode(), err)
			}
		}
		if _, err := os.Stat(filepath.Join(home, ConfigFile)); err == nil {
			t.Fatalf("%s has a node config", name)
		}
		if pm, ok := pol.Member(name); !ok || pm.Role != policies.RoleEnterprise {
			t.Fatalf("policy member %s: %+v %v", name, pm, ok)
		}
	}
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(homes[0], genesisFileName))
	if err != nil {
		t.Fatal(err)
	}
	g, err := ledger.ParseGenesis(doc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 6 || len(doc.Validators) != 4 {
		t.Fatalf("%d members, %d validators", len(g.Members), len(doc.Validators))
	}
	for _, m := range g.Members[4:] {
		if m.PeerID != "" || len(m.ValidatorKey) != 0 || len(m.SealingKey) != 32 {
			t.Fatalf("member without a node %+v", m)
		}
	}
	cfg, err := LoadConfig(homes[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Consensus.PersistentPeers) != 3 || !cfg.Consensus.AllowLoopbackPeer {
		t.Fatalf("node0 consensus peers %v, loopback %v", cfg.Consensus.PersistentPeers, cfg.Consensus.AllowLoopbackPeer)
	}
	for _, p := range cfg.P2P.Peers {
		if strings.HasSuffix(p, "/p2p/") {
			t.Fatalf("node0 dials a member without a node: %q", p)
		}
	}
	bad := *g
	bad.Members = append([]ledger.GenesisMember(nil), g.Members...)
	bad.Members[4].ValidatorKey, bad.Members[4].Power = g.Members[0].ValidatorKey, 10
	if err := bad.Validate(); err == nil {
		t.Fatal("a validator without a node accepted")
	}
	bad.Members[4] = g.Members[4]
	bad.Members[4].SealingKey = nil
	if err := bad.Validate(); err == nil {
		t.Fatal("a member without a node or sealing key accepted")
	}
}
