package node

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	cmtcfg "github.com/cometbft/cometbft/config"
)

// Files and directories inside a node home.
const (
	ConfigFile      = "config.toml"
	AccountKeyFile  = "keys/account.key"
	P2PKeyFile      = "keys/p2p.key"
	SealingKeyFile  = "keys/sealing.key"
	DKGKeyFile      = "keys/dkg.key"
	cometDir        = "cometbft"
	appStateDir     = "data/app"
	blobStoreDir    = "data/blobs"
	genesisFileName = "cometbft/config/genesis.json"
)

// defaultPeerGossipSleep is a validator's consensus gossip pause (see
// cometConfig).
const defaultPeerGossipSleep = 20 * time.Millisecond

// Config is a node's config.toml.
type Config struct {
	Moniker string `toml:"moniker"`
	Role    string `toml:"role"`

	API       APIConfig       `toml:"api"`
	P2P       P2PConfig       `toml:"p2p"`
	Consensus ConsensusConfig `toml:"consensus"`
	Trace     TraceConfig     `toml:"trace"`
	Jobs      JobsConfig      `toml:"jobs"`
	Metrics   MetricsConfig   `toml:"metrics"`
	Console   ConsoleConfig   `toml:"console"`
	Log       LogConfig       `toml:"log"`
}

// MetricsConfig is the Prometheus endpoint: cohort's, CometBFT's, libp2p's
// and the MPC transport's metrics at http://LISTEN/metrics.
type MetricsConfig struct {
	Listen string `toml:"listen"` // host:port; empty turns the endpoint off
}

// ConsoleConfig is the read-only supervisor console `node start` serves
// (see node/console). Off when Listen is empty; beyond loopback every
// request needs the token in HOME/console.token.
type ConsoleConfig struct {
	Listen string `toml:"listen"` // host:port
}

// APIConfig is the local HTTP API the CLI uses. It must stay on loopback or a
// trusted interface: it accepts signed txs from anyone who can reach it.
type APIConfig struct {
	Listen string `toml:"listen"` // host:port
}

// P2PConfig is the libp2p host (MPC and off-chain traffic).
type P2PConfig struct {
	Listen []string `toml:"listen"` // multiaddrs
	Peers  []string `toml:"peers"`  // member multiaddrs with /p2p/<id>
}

// ConsensusConfig is what cohort exposes of CometBFT's configuration.
type ConsensusConfig struct {
	Listen          string   `toml:"listen"`           // CometBFT p2p, tcp://host:port
	RPCListen       string   `toml:"rpc_listen"`       // CometBFT RPC (light clients, supervisors)
	ExternalAddress string   `toml:"external_address"` // host:port advertised to peers
	PersistentPeers []string `toml:"persistent_peers"` // id@host:port
	TimeoutPropose  Duration `toml:"timeout_propose"`  // how long to wait for a proposal
	TimeoutCommit   Duration `toml:"timeout_commit"`   // pause after a commit to gather txs
	// EmptyBlocksInterval: with no tx waiting, the next block is made after
	// this long (0: right after timeout_commit, as CometBFT does by default).
	EmptyBlocksInterval Duration `toml:"empty_blocks_interval"`
	// PeerGossipSleep is how long a consensus peer routine pauses when it
	// has nothing to send (0: defaultPeerGossipSleep). A member node that
	// does not validate gets CometBFT's 100 ms default (Init): what it could
	// relay, its peers (the validators) already have.
	PeerGossipSleep   Duration `toml:"peer_gossip_sleep"`
	MempoolSize       int      `toml:"mempool_size"`       // txs; sized for bursts (CometBFT can drop txs when full)
	MempoolCacheSize  int      `toml:"mempool_cache_size"` // recently seen tx hashes
	AllowLoopbackPeer bool     `toml:"allow_loopback_peers"`
}

// TraceConfig is what `cohort trace` needs besides the node's own RPC.
type TraceConfig struct {
	// Witnesses are other members' CometBFT RPC addresses; the light client
	// cross-checks every header with them.
	Witnesses []string `toml:"witnesses"`
}

// JobsConfig is how the node runs the private jobs it is assigned.
type JobsConfig struct {
	// HEPreset names the HE parameters of the committees this node sits on:
	// "secure" (logN 14, 128-bit) or "insecure-test" (tests only). Every
	// member of a committee must use the same preset.
	HEPreset string `toml:"he_preset"`
	// ZKKeys is a directory of zk proving keys (from `cohort setup`); the
	// node proves its auction bids lie in range with the input circuit.
	ZKKeys string `toml:"zk_keys"`
	// InputsDir holds this node's private job inputs, one file per job:
	// <inputs_dir>/<job id>.json. Relative paths are under the node home.
	InputsDir string `toml:"inputs_dir"`
	// ConfirmCommitteesOf, if not empty, lists the members whose
	// committees this node sets up and confirms: it confirms a committee
	// naming it only if every other member is listed. Empty (the default):
	// every committee naming it. A chain whose policy enables
	// credit.charge_attested_faults assumes every committee has an honest
	// majority; confirming blindly lets two colluders form a committee with
	// this node and charge it (policies/README.md, "Attested faults").
	ConfirmCommitteesOf []string `toml:"confirm_committees_of"`
}

// LogConfig sets the log level: debug, info, warn or error.
type LogConfig struct {
	Level string `toml:"level"`
}

// Duration is a time.Duration written as "300ms" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// DefaultConfig is the configuration of a fresh node on the given ports.
// basePort+0 CometBFT p2p, +1 CometBFT RPC, +2 libp2p (TCP and QUIC), +3 API,
// +4 metrics, +5 console (off unless set).
func DefaultConfig(moniker, role, host string, basePort int) *Config {
	return &Config{
		Moniker: moniker,
		Role:    role,
		API:     APIConfig{Listen: fmt.Sprintf("127.0.0.1:%d", basePort+3)},
		P2P: P2PConfig{Listen: []string{
			fmt.Sprintf("/ip4/%s/tcp/%d", host, basePort+2),
			fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", host, basePort+2),
		}},
		Consensus: ConsensusConfig{
			Listen:    fmt.Sprintf("tcp://%s:%d", host, basePort),
			RPCListen: fmt.Sprintf("tcp://127.0.0.1:%d", basePort+1),
			// Tuned for the ledger bench (4 validators, 2,500 tx/s offered):
			// a tx waits on average half a block interval for the next
			// proposal, then one consensus round (proposal, prevotes,
			// precommits) and FinalizeBlock. timeout_commit is the floor of
			// the block interval under load: 300 ms made the interval
			// ≈ 0.6 s and the commit p50 0.66 s; 100 ms still gathers a few
			// hundred txs per block at that rate, so the per-block costs
			// (signatures, WAL, badger commit, recheck) stay well amortised.
			// timeout_propose stays 1 s (the _delta values at CometBFT's
			// defaults, 500 ms): it only matters when a proposer is down or
			// a large block is slow to gossip across a WAN, and a shorter one
			// would cost rounds there. skip_timeout_commit stays off: the
			// pause lets late precommits into the LastCommit. Empty blocks:
			// with no tx waiting the next block comes after 300 ms more, so
			// an idle chain keeps its ≈ 0.4-0.5 s pace and height-based
			// deadlines (jobs, tasks, epochs) keep their wall-clock meaning,
			// while a tx never waits for that timer (CometBFT proposes as
			// soon as the mempool has a tx).
			TimeoutPropose:      Duration{time.Second},
			TimeoutCommit:       Duration{100 * time.Millisecond},
			EmptyBlocksInterval: Duration{300 * time.Millisecond},
			PeerGossipSleep:     Duration{defaultPeerGossipSleep},
			// Mempool: sized for bursts (40 s of the bench's rate), since
			// CometBFT v0.38 can drop an accepted tx when it is full.
			MempoolSize:      100_000,
			MempoolCacheSize: 200_000,
		},
		Jobs:    JobsConfig{HEPreset: "secure", InputsDir: "inputs"},
		Metrics: MetricsConfig{Listen: fmt.Sprintf("127.0.0.1:%d", basePort+4)},
		Log:     LogConfig{Level: "info"},
	}
}

// GenesisPath is where the chain's genesis file lives in a node home; a
// supervisor's trust anchor comes from it.
func GenesisPath(home string) string { return filepath.Join(home, genesisFileName) }

// LoadConfig reads HOME/config.toml, refusing unknown keys.
func LoadConfig(home string) (*Config, error) {
	path := filepath.Join(home, ConfigFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read node config: %w", err)
	}
	var c Config
	md, err := toml.Decode(string(raw), &c)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%s: unknown keys %v", path, und)
	}
	return &c, nil
}

// Save writes HOME/config.toml.
func (c *Config) Save(home string) error {
	var buf bytes.Buffer
	buf.WriteString("# cohort node configuration\n")
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return writeFile(filepath.Join(home, ConfigFile), buf.Bytes(), 0o644)
}

// cometConfig builds CometBFT's configuration from ours; CometBFT's own
// config.toml is not used, so that a node has a single configuration file.
func (c *Config) cometConfig(home string) *cmtcfg.Config {
	cc := cmtcfg.DefaultConfig()
	cc.SetRoot(filepath.Join(home, cometDir))
	cc.Moniker = c.Moniker
	cc.ProxyApp = "" // the application runs in-process
	cc.P2P.ListenAddress = c.Consensus.Listen
	cc.P2P.ExternalAddress = c.Consensus.ExternalAddress
	cc.P2P.PersistentPeers = strings.Join(c.Consensus.PersistentPeers, ",")
	cc.P2P.AddrBookStrict = !c.Consensus.AllowLoopbackPeer
	cc.P2P.AllowDuplicateIP = c.Consensus.AllowLoopbackPeer
	cc.P2P.PexReactor = true
	cc.RPC.ListenAddress = c.Consensus.RPCListen
	cc.Consensus.TimeoutPropose = c.Consensus.TimeoutPropose.Duration
	cc.Consensus.TimeoutCommit = c.Consensus.TimeoutCommit.Duration
	cc.Consensus.CreateEmptyBlocks = true
	cc.Consensus.CreateEmptyBlocksInterval = c.Consensus.EmptyBlocksInterval.Duration
	cc.Consensus.PeerQueryMaj23SleepDuration = peerGossipSleep
	// A peer's gossip routine sleeps this long whenever it has nothing to
	// send; CometBFT's 100 ms default adds up to that much to each of a
	// round's three hops (proposal and block parts, prevotes, precommits).
	// 20 ms costs a few hundred idle wake-ups a second per node.
	cc.Consensus.PeerGossipSleepDuration = defaultPeerGossipSleep
	if c.Consensus.PeerGossipSleep.Duration > 0 {
		cc.Consensus.PeerGossipSleepDuration = c.Consensus.PeerGossipSleep.Duration
	}
	// A peer connection flushes what it buffered at most this often:
	// CometBFT's 100 ms default holds a proposal part, a prevote or a
	// precommit for up to that long at each of a round's hops. Measured with
	// the ledger suite (4 validators in one process, 2,500 tx/s offered, 2
	// cores): 100 ms gave p50 0.53–0.65 s at 2,110–2,360 tx/s; 25 ms 0.30–0.36 s
	// at 2,210–2,460 tx/s; 10 ms 0.30–0.33 s but only 1,770–1,960 tx/s (more,
	// smaller writes cost CPU the load needs).
	cc.P2P.FlushThrottleTimeout = 25 * time.Millisecond
	// No recheck of the mempool after each block. A recheck runs CheckTx
	// again on every tx still waiting (≈ a block's worth under load) while
	// CometBFT holds the mempool lock, so new txs wait behind it; it only
	// drops txs that the block made invalid, and on this ledger such a tx
	// costs nothing when it is not dropped: FinalizeBlock re-runs every
	// check against the block's state (a second tx with a committed tx ID, a
	// late job result, a record on a channel the new policy closed is
	// refused there, deterministically, and changes nothing), CometBFT
	// removes it from the mempool once it is in a block whatever its result,
	// and a client sees the same rejection code in the block's result as it
	// would have at its resubmission (node/client.Submit treats both alike).
	// The cost is block space for such txs, bounded by what passed CheckTx.
	cc.Mempool.Recheck = false
	cc.Mempool.Size = c.Consensus.MempoolSize
	cc.Mempool.CacheSize = c.Consensus.MempoolCacheSize
	cc.Mempool.MaxTxsBytes = int64(c.Consensus.MempoolSize) * 4096
	cc.Mempool.MaxTxBytes = 1<<20 + 1024
	cc.TxIndex.Indexer = "kv"
	cc.Instrumentation.Prometheus = false
	return cc
}

// writeFile writes data atomically (temp file + rename) with the given mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
