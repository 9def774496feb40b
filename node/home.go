package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/node/p2p"
	"github.com/cohortnet/cohort/node/supervision"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// DefaultBasePort is the first port of a node initialised without one.
const DefaultBasePort = 26656

// InitOptions describes a node home to create.
type InitOptions struct {
	Moniker  string
	Role     string
	Host     string // address the node listens on and advertises (default 127.0.0.1)
	BasePort int    // see DefaultConfig
	// NonValidator makes a member node that does not validate: its member
	// entry has no validator key and power 0, so the ledger never gives it
	// voting power (ledger.votingPowers), while it keeps every other part of
	// membership (txs, job inputs, committees, credit). CometBFT still gets a
	// validator key file, which it needs to start, but the key is in no
	// validator set.
	NonValidator bool
}

// MemberInfo is what a node publishes about itself so that a genesis can be
// assembled: everything public, nothing secret.
type MemberInfo struct {
	ledger.GenesisMember
	ConsensusNodeID string   `json:"consensus_node_id"` // CometBFT p2p node ID
	ConsensusAddr   string   `json:"consensus_addr"`    // host:port of CometBFT p2p
	RPCAddr         string   `json:"rpc_addr"`          // CometBFT RPC, for light-client witnesses
	P2PAddrs        []string `json:"p2p_addrs"`         // libp2p multiaddrs with /p2p/<id>
}

// Init creates a node home: config.toml, the account key, the libp2p
// identity, CometBFT's node and validator keys (all secret files 0600), and
// member.json with the node's public member entry. It refuses to overwrite an
// existing home.
func Init(home string, o InitOptions) (*MemberInfo, error) {
	if o.Moniker == "" {
		return nil, fmt.Errorf("init: a moniker is required")
	}
	if !ledger.IsKnownRole(o.Role) {
		return nil, fmt.Errorf("init: unknown role %q", o.Role)
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.BasePort == 0 {
		o.BasePort = DefaultBasePort
	}
	if _, err := os.Stat(filepath.Join(home, ConfigFile)); err == nil {
		return nil, fmt.Errorf("init: %s already holds a node (config.toml exists)", home)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	cfg := DefaultConfig(o.Moniker, o.Role, o.Host, o.BasePort)
	if o.NonValidator {
		cfg.Consensus.PeerGossipSleep = Duration{100 * time.Millisecond}
	}
	if err := cfg.Save(home); err != nil {
		return nil, err
	}
	account, err := createAccountKey(filepath.Join(home, AccountKeyFile))
	if err != nil {
		return nil, err
	}
	if _, err := p2p.LoadOrCreateIdentity(filepath.Join(home, P2PKeyFile)); err != nil {
		return nil, fmt.Errorf("init: libp2p identity: %w", err)
	}
	pid, err := p2p.PeerIDFromIdentity(filepath.Join(home, P2PKeyFile))
	if err != nil {
		return nil, fmt.Errorf("init: libp2p identity: %w", err)
	}
	peerID := pid.String()
	sealing := supervision.GenerateKey()
	if err := supervision.SaveKey(filepath.Join(home, SealingKeyFile), sealing); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	sealingPub, err := sealing.Public.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	dkgKey := committee.GenerateLongTermKey()
	dkgRaw, err := dkgKey.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if err := writeFile(filepath.Join(home, DKGKeyFile), dkgRaw, 0o600); err != nil {
		return nil, err
	}
	cc := cfg.cometConfig(home)
	for _, d := range []string{filepath.Dir(cc.NodeKeyFile()), filepath.Dir(cc.PrivValidatorStateFile())} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("init: %w", err)
		}
	}
	nodeKey, err := cmtp2p.LoadOrGenNodeKey(cc.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("init: consensus node key: %w", err)
	}
	pv := privval.GenFilePV(cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
	pv.Save()
	valKey, err := pv.GetPubKey()
	if err != nil {
		return nil, fmt.Errorf("init: validator key: %w", err)
	}
	info := &MemberInfo{
		GenesisMember: ledger.GenesisMember{
			Name:         o.Moniker,
			Roles:        []string{o.Role},
			AccountKey:   account.Public().(ed25519.PublicKey),
			PeerID:       peerID,
			ValidatorKey: valKey.Bytes(),
			Power:        10,
			SealingKey:   sealingPub,
			DKGKey:       dkgKey.Public().Bytes(),
		},
		ConsensusNodeID: string(nodeKey.ID()),
		ConsensusAddr:   fmt.Sprintf("%s:%d", o.Host, o.BasePort),
	}
	if o.NonValidator {
		info.ValidatorKey, info.Power = nil, 0
	}
	// The RPC listens on loopback; advertised to members on other machines,
	// it would make each of them use its own RPC as a "witness". It is
	// published only when every member is on this machine, and a member
	// that serves light clients on its host sets rpc_addr itself.
	if isLoopbackHost(o.Host) {
		info.RPCAddr = cfg.Consensus.RPCListen
	}
	for _, a := range cfg.P2P.Listen {
		info.P2PAddrs = append(info.P2PAddrs, a+"/p2p/"+peerID)
	}
	raw, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if err := writeFile(filepath.Join(home, "member.json"), raw, 0o644); err != nil {
		return nil, err
	}
	return info, nil
}

// InitMember creates the home of a member that runs no node: its account
// key (signs its txs) and its sealing key (its sealed job inputs are sealed
// to the committee's keys; what is sealed to it opens with this one), both
// 0600, and member.json with its public entry: the role, no peer ID, no
// validator key, no consensus or libp2p address. Such a member acts through
// a member node's API with a client (`cohort order quote --sealed`). It
// refuses to overwrite an existing member or node home.
func InitMember(home, name, role string) (*MemberInfo, error) {
	if name == "" {
		return nil, fmt.Errorf("init member: a name is required")
	}
	if !ledger.IsKnownRole(role) {
		return nil, fmt.Errorf("init member: unknown role %q", role)
	}
	for _, f := range []string{ConfigFile, AccountKeyFile, "member.json"} {
		if _, err := os.Stat(filepath.Join(home, f)); err == nil {
			return nil, fmt.Errorf("init member: %s already holds a member (%s exists)", home, f)
		}
	}
	if err := os.MkdirAll(filepath.Join(home, filepath.Dir(AccountKeyFile)), 0o700); err != nil {
		return nil, fmt.Errorf("init member: %w", err)
	}
	account, err := createAccountKey(filepath.Join(home, AccountKeyFile))
	if err != nil {
		return nil, err
	}
	sealing := supervision.GenerateKey()
	if err := supervision.SaveKey(filepath.Join(home, SealingKeyFile), sealing); err != nil {
		return nil, fmt.Errorf("init member: %w", err)
	}
	sealingPub, err := sealing.Public.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("init member: %w", err)
	}
	info := &MemberInfo{GenesisMember: ledger.GenesisMember{
		Name: name, Roles: []string{role}, AccountKey: account.Public().(ed25519.PublicKey), SealingKey: sealingPub,
	}}
	raw, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("init member: %w", err)
	}
	if err := writeFile(filepath.Join(home, "member.json"), raw, 0o644); err != nil {
		return nil, err
	}
	return info, nil
}

// GenesisOptions are the chain-wide settings of a genesis besides members.
type GenesisOptions struct {
	// ZKKeysDir holds verifying keys (from `cohort setup`) to register; every
	// circuit found there is registered. Empty registers none.
	ZKKeysDir string
	// Params overrides the ledger's default params.
	Params *ledger.Params
	// Policy is the alliance policy (YAML); nil leaves the chain without one.
	Policy []byte
	// HEPreset is written to every node's jobs.he_preset (committees need one).
	HEPreset string
}

// genesisKeys loads the verifying keys of every circuit present in dir.
func genesisKeys(dir string) ([]ledger.GenesisKey, error) {
	if dir == "" {
		return nil, nil
	}
	var keys []ledger.GenesisKey
	for _, c := range zk.CircuitNames() {
		info, vk, err := zk.LoadKeyInfo(dir, c)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("genesis: zk keys in %s: %w", dir, err)
		}
		keys = append(keys, ledger.GenesisKey{Circuit: info.Circuit, Key: vk})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("genesis: no verifying keys in %s (run `cohort setup` first)", dir)
	}
	return keys, nil
}

// BuildGenesis writes a CometBFT genesis with the given members (their
// validator keys and powers make the validator set) to every home, and points
// each node's consensus and libp2p peers at the others. Consensus peers are
// the validators only, as for sentry nodes: a non-validator member dials the
// validators and each validator dials the other validators, so votes and
// blocks cross the validator mesh once instead of a mesh of every member
// (with many quoting members the full mesh's gossip, n² connections each
// relaying every vote, would cost more than consensus itself). A network
// of non-validators only is left as before: everyone dials everyone.
func BuildGenesis(chainID string, homes []string, members []*MemberInfo, opts GenesisOptions) error {
	if len(homes) != len(members) {
		return fmt.Errorf("genesis: %d homes for %d members", len(homes), len(members))
	}
	keys, err := genesisKeys(opts.ZKKeysDir)
	if err != nil {
		return err
	}
	app := ledger.Genesis{Params: opts.Params, VerifyingKeys: keys, Policy: string(opts.Policy)}
	doc := &cmttypes.GenesisDoc{
		GenesisTime:     time.Now().UTC().Truncate(time.Second),
		ChainID:         chainID,
		InitialHeight:   1,
		ConsensusParams: cmttypes.DefaultConsensusParams(),
	}
	// Blocks are bounded so that one block's state writes always fit in one
	// badger transaction (see ledger.Store), and so that FinalizeBlock stays
	// short: 4 MiB holds 4 of the largest txs (ledger.MaxTxBytes = 1 MiB),
	// ~7 s of the bench's 2,500 plain anchors/s (~250 B each with their
	// envelope), or ~6,000 proof-carrying records: a few seconds of batched
	// proof verification on 2 cores, where 8 MiB allowed twice that before
	// the next height could start. The app meters no gas (max_gas -1).
	doc.ConsensusParams.Block.MaxBytes = 4 << 20
	doc.ConsensusParams.Block.MaxGas = -1
	for _, m := range members {
		app.Members = append(app.Members, m.GenesisMember)
		if m.Power > 0 {
			pk := cmted25519.PubKey(m.ValidatorKey)
			doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{
				Address: pk.Address(), PubKey: pk, Power: m.Power, Name: m.Name,
			})
		}
	}
	if err := app.Validate(); err != nil {
		return err
	}
	appState, err := json.Marshal(app)
	if err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	doc.AppState = appState
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	for i, home := range homes {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(home, genesisFileName)), 0o700); err != nil {
			return fmt.Errorf("genesis: %w", err)
		}
		if err := doc.SaveAs(filepath.Join(home, genesisFileName)); err != nil {
			return fmt.Errorf("genesis: write for %s: %w", home, err)
		}
		if _, err := os.Stat(filepath.Join(home, ConfigFile)); errors.Is(err, os.ErrNotExist) {
			// A scratch directory standing for a member on another machine
			// (README, "A network across machines"): it only receives the
			// genesis to hand over; that member sets its own peers.
			continue
		}
		cfg, err := LoadConfig(home)
		if err != nil {
			return err
		}
		cfg.Consensus.PersistentPeers, cfg.P2P.Peers, cfg.Trace.Witnesses = nil, nil, nil
		anyValidator := slices.ContainsFunc(members, isValidator)
		for j, m := range members {
			if j == i || m.PeerID == "" { // a member without a node has no addresses
				continue
			}
			if !anyValidator || isValidator(m) {
				cfg.Consensus.PersistentPeers = append(cfg.Consensus.PersistentPeers, m.ConsensusNodeID+"@"+m.ConsensusAddr)
			}
			cfg.P2P.Peers = append(cfg.P2P.Peers, m.P2PAddrs...)
			if m.RPCAddr != "" {
				cfg.Trace.Witnesses = append(cfg.Trace.Witnesses, m.RPCAddr)
			}
		}
		cfg.Consensus.AllowLoopbackPeer = allLoopback(members)
		if opts.ZKKeysDir != "" {
			abs, err := filepath.Abs(opts.ZKKeysDir)
			if err != nil {
				return err
			}
			cfg.Jobs.ZKKeys = abs
		}
		if opts.HEPreset != "" {
			cfg.Jobs.HEPreset = opts.HEPreset
		}
		if err := cfg.Save(home); err != nil {
			return err
		}
	}
	return nil
}

// isValidator reports whether a member is in the genesis validator set.
func isValidator(m *MemberInfo) bool { return m.Power > 0 }

func allLoopback(members []*MemberInfo) bool {
	for _, m := range members {
		if m.PeerID == "" {
			continue // no node, no address
		}
		host, _, err := net.SplitHostPort(m.ConsensusAddr)
		if err != nil || !isLoopbackHost(host) {
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether host (an IP or "localhost") is on loopback.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TestnetOptions describes a local testnet.
type TestnetOptions struct {
	Nodes    int
	ChainID  string
	BasePort int      // node i uses BasePort + 10*i
	Roles    []string // role of node i is Roles[i % len(Roles)]
	// Validators: nodes 0 … Validators-1 validate, the others are member
	// nodes that do not (InitOptions.NonValidator). 0 makes every node a
	// validator. With Roles empty, the validators take DefaultTestnetRoles
	// in turn and the non-validator members are enterprises, the firms that
	// join an alliance to trade without running its consensus.
	Validators int
	// Nodeless adds members that run no node (InitMember): enterprises
	// NodelessName(0) … under out/<name>, holding only their keys. They
	// quote and supply SS job inputs sealed on the ledger through a node's
	// API.
	Nodeless int
	Genesis  GenesisOptions
}

// NodelessName is the name of a testnet's k-th member without a node.
func NodelessName(k int) string { return fmt.Sprintf("firm%d", k) }

// maxTestnetMembers bounds a testnet's members, with or without a node.
const maxTestnetMembers = 128

// DefaultTestnetRoles gives a 4-node testnet every role of ARCHITECTURE.md §1.
var DefaultTestnetRoles = []string{ledger.RoleEnterprise, ledger.RoleEnterprise, ledger.RolePlatform, ledger.RoleSupervisor}

// Testnet creates out/node0 … out/node{N-1} sharing one genesis, all on
// 127.0.0.1 with distinct ports, and the homes of o.Nodeless members without
// a node, out/firm0 … (keys only). It returns the node homes.
func Testnet(out string, o TestnetOptions) ([]string, error) {
	if o.Nodes < 1 || o.Nodes > 64 {
		return nil, fmt.Errorf("testnet: node count must be 1 to 64, got %d", o.Nodes)
	}
	if o.ChainID == "" {
		o.ChainID = "cohort-testnet"
	}
	if o.BasePort == 0 {
		o.BasePort = DefaultBasePort
	}
	if o.Nodeless < 0 || o.Nodes+o.Nodeless > maxTestnetMembers {
		return nil, fmt.Errorf("testnet: at most %d members, nodes and members without a node together", maxTestnetMembers)
	}
	if o.Validators < 0 || o.Validators > o.Nodes {
		return nil, fmt.Errorf("testnet: validator count must be 0 to %d (the node count), got %d", o.Nodes, o.Validators)
	}
	validators := o.Validators
	if validators == 0 {
		validators = o.Nodes
	}
	var homes []string
	var members []*MemberInfo
	for i := 0; i < o.Nodes; i++ {
		home := filepath.Join(out, fmt.Sprintf("node%d", i))
		role := ledger.RoleEnterprise
		switch {
		case len(o.Roles) > 0:
			role = o.Roles[i%len(o.Roles)]
		case i < validators:
			role = DefaultTestnetRoles[i%len(DefaultTestnetRoles)]
		}
		info, err := Init(home, InitOptions{
			Moniker: fmt.Sprintf("node%d", i), Role: role, BasePort: o.BasePort + 10*i, NonValidator: i >= validators,
		})
		if err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		homes = append(homes, home)
		members = append(members, info)
	}
	all := slices.Clone(homes)
	for k := 0; k < o.Nodeless; k++ {
		home := filepath.Join(out, NodelessName(k))
		info, err := InitMember(home, NodelessName(k), ledger.RoleEnterprise)
		if err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		all = append(all, home)
		members = append(members, info)
	}
	if err := BuildGenesis(o.ChainID, all, members, o.Genesis); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	return homes, nil
}

// DefaultTestnetPolicy is the genesis policy of a testnet with the default
// roles: the default policy as it is (policies/default.yaml, written for the
// 4 validators node0 … node3) when the testnet is exactly that, and with
// 4 validators plus non-validator members or members without a node the
// same policy with each member node4 …, firm0 … added as an enterprise (canonical JSON, which policies.Parse
// reads), so that they may quote, bid and submit jobs by their grades like
// node0 and node1. Any other shape has no policy (nil): the default's
// channels and roles name node0 … node3 and would not fit it.
func DefaultTestnetPolicy(o TestnetOptions) ([]byte, error) {
	nodes := len(DefaultTestnetRoles)
	switch {
	case len(o.Roles) != 0:
		return nil, nil
	case o.Nodes == nodes && (o.Validators == 0 || o.Validators == nodes) && o.Nodeless == 0:
		return policies.DefaultYAML(), nil
	case o.Nodes == nodes && (o.Validators == 0 || o.Validators == nodes):
		// The 4 validators and members without a node: the policy below.
	case o.Nodes <= nodes || o.Validators != nodes:
		return nil, nil
	}
	p, err := policies.Default()
	if err != nil {
		return nil, err
	}
	for i := nodes; i < o.Nodes; i++ {
		p.Members = append(p.Members, policies.Member{Name: fmt.Sprintf("node%d", i), Role: policies.RoleEnterprise})
	}
	for k := 0; k < o.Nodeless; k++ {
		p.Members = append(p.Members, policies.Member{Name: NodelessName(k), Role: policies.RoleEnterprise})
	}
	raw, err := p.Canonical()
	if err != nil {
		return nil, fmt.Errorf("testnet policy: %w", err)
	}
	// Parsed again: the member limit and every other rule of a policy file.
	if _, err := policies.Parse(raw); err != nil {
		return nil, fmt.Errorf("testnet policy: %w", err)
	}
	return raw, nil
}

// createAccountKey writes a new ed25519 account key (hex seed, mode 0600).
func createAccountKey(path string) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("generate account key: %w", err)
	}
	if err := writeFile(path, []byte(hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// LoadAccountKey reads a node's account key. Like ssh, it refuses a key file
// that group or others can read.
func LoadAccountKey(home string) (ed25519.PrivateKey, error) {
	path := filepath.Join(home, AccountKeyFile)
	raw, err := readSecretFile(path, "account key")
	if err != nil {
		return nil, err
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("account key %s: not a hex ed25519 seed", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// LoadDKGKey reads a node's committee DKG key, refusing a file others can read.
func LoadDKGKey(home string) (*committee.LongTermKey, error) {
	raw, err := readSecretFile(filepath.Join(home, DKGKeyFile), "DKG key")
	if err != nil {
		return nil, err
	}
	return committee.ParseLongTermKey(raw)
}

// readSecretFile reads a small key file. Like ssh, it refuses one that group
// or others can read: whoever can read it can act as the member.
func readSecretFile(path, what string) ([]byte, error) {
	const maxKeyFileBytes = 256
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s has permissions %v; it must be 0600", what, path, st.Mode().Perm())
	}
	if st.Size() > maxKeyFileBytes {
		return nil, fmt.Errorf("%s %s: not a key file (%d bytes)", what, path, st.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return raw, nil
}
