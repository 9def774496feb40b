package node

import (
	"os"
	"path/filepath"
	"testing"
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
