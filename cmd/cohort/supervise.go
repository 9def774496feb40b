package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/supervision"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// privateInfo is the plaintext sealed for a channel: the record's private
// fields as written, their circuit values and the salt, i.e. the opening of
// the commitment that the compliance proof is about.
type privateInfo struct {
	RuleSet string            `json:"rule_set"`
	Fields  map[string]string `json:"fields"`
	Values  []zk.Uint64       `json:"values"`
	Salt    zk.Felt           `json:"salt"`
	Extra   json.RawMessage   `json:"extra,omitempty"`
}

// currentPolicy fetches and parses the ledger's policy.
func currentPolicy(ctx context.Context, c *client.Client) (*policies.Policy, error) {
	raw, err := c.Policy(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return policies.Parse(raw)
}

// anchorChannelRecord proves the private fields comply with the channel's
// rule set, seals them for the channel's members, stores the sealed record
// off-chain and anchors its hash with the proof. It returns the record ID.
func anchorChannelRecord(ctx context.Context, home, channel, kind string, public, private []byte, keysDir string) (string, error) {
	cfg, err := node.LoadConfig(home)
	if err != nil {
		return "", err
	}
	c := client.New(cfg.API.Listen)
	pol, err := currentPolicy(ctx, c)
	if err != nil {
		return "", err
	}
	ch, ok := pol.Channel(channel)
	if !ok {
		return "", fmt.Errorf("unknown channel %q", channel)
	}
	rs, _ := pol.RuleSet(ch.RuleSet)
	var fields map[string]string
	if err := json.Unmarshal(private, &fields); err != nil {
		return "", fmt.Errorf("private info must be a JSON object of field → decimal string (rule set %s: %s): %w",
			rs.Name, strings.Join(fieldNames(rs), ", "), err)
	}
	values, err := rs.Values(fields)
	if err != nil {
		return "", err
	}
	if err := rs.Compiled.Check(values); err != nil {
		return "", fmt.Errorf("the record breaks channel %s's rule set %s: %w", channel, rs.Name, err)
	}
	keys, err := zk.LoadKeys(keysDir, zk.CircuitCompliance)
	if err != nil {
		return "", err
	}
	salt, err := zk.NewSalt(rand.Reader)
	if err != nil {
		return "", err
	}
	w := zk.ComplianceWitness{Salt: zk.FeltOf(salt), Constraints: rs.Compiled.ZKConstraints()}
	for _, v := range values {
		w.Fields = append(w.Fields, zk.Uint64(v))
	}
	st, err := w.Statement()
	if err != nil {
		return "", err
	}
	commitment := st.(zk.ComplianceStatement).Commitment.Fr()
	cb := commitment.Bytes()

	recipients, err := channelRecipients(ctx, c, ch.Members)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(privateInfo{RuleSet: rs.Name, Fields: fields, Values: w.Fields, Salt: zk.FeltOf(salt)})
	if err != nil {
		return "", err
	}
	_, sealed, err := supervision.Seal(channel, public, plain, "0x"+hex.EncodeToString(cb[:]), recipients)
	if err != nil {
		return "", err
	}
	ref, err := c.PutBlob(ctx, sealed)
	if err != nil {
		return "", err
	}
	var compact []byte
	if s, err := supervision.Parse(sealed); err == nil {
		compact = s.Public
	}
	hash := sha256.Sum256(sealed)
	// The proof is made last: its binding covers the tx (ID, chain, signer)
	// and the record's content, so it cannot be replayed under another record.
	id, _, err := submitBuilt(ctx, home, func(p *ledgerpb.TxPayload) error {
		anchor := &ledgerpb.RecordAnchor{
			Hash: hash[:], Kind: kind, Channel: channel, Locator: blobLocator(ref.Hash, cfg.Moniker),
			PublicInfo: compact, Commitment: cb[:], VkId: keys.Info.VKID,
		}
		w.Binding = ledger.RecordBinding(p.ChainId, p.TxId, p.Signer, anchor)
		pf, err := keys.Prove(ctx, w)
		if err != nil {
			return err
		}
		if anchor.Proof, err = pf.ProofBytes(); err != nil {
			return err
		}
		p.Msg = &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: anchor}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(id), nil
}

func fieldNames(rs *policies.RuleSet) []string {
	var out []string
	for _, f := range rs.Fields {
		out = append(out, f.Name)
	}
	return out
}

func channelRecipients(ctx context.Context, c *client.Client, names []string) ([]supervision.Recipient, error) {
	members, err := c.Members(ctx)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]client.Member, len(members))
	for _, m := range members {
		byName[m.Name] = m
	}
	var out []supervision.Recipient
	for _, n := range names {
		m, ok := byName[n]
		if !ok || m.SealingKey == "" {
			return nil, fmt.Errorf("channel member %s has no sealing key on the ledger", n)
		}
		raw, err := hex.DecodeString(m.SealingKey)
		if err != nil {
			return nil, err
		}
		pk, err := supervision.ParsePublicKey(raw)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", n, err)
		}
		out = append(out, supervision.Recipient{Member: n, Key: pk})
	}
	return out, nil
}

// blobLocator names a blob and the member that holds it.
func blobLocator(hash, holder string) string { return "blob:" + hash + "@" + holder }

func parseBlobLocator(loc string) (hash []byte, holder string, err error) {
	rest, ok := strings.CutPrefix(loc, "blob:")
	h, holder, ok2 := strings.Cut(rest, "@")
	if !ok || !ok2 {
		return nil, "", fmt.Errorf("locator %q is not blob:<hash>@<member>", loc)
	}
	hash, err = hex.DecodeString(h)
	if err != nil || len(hash) != sha256.Size {
		return nil, "", fmt.Errorf("locator %q: bad hash", loc)
	}
	return hash, holder, nil
}

// fetchSealed gets a channel record's sealed bytes (from the local store, or
// from the member holding it) and checks them against the anchored hash.
func fetchSealed(ctx context.Context, c *client.Client, rec *client.Record) ([]byte, error) {
	if rec.Channel == "" {
		return nil, fmt.Errorf("record %s is not on a supervision channel", rec.ID)
	}
	hash, holder, err := parseBlobLocator(rec.Locator)
	if err != nil {
		return nil, err
	}
	raw, err := c.GetBlob(ctx, hash, holder)
	if err != nil {
		return nil, fmt.Errorf("off-chain record: %w", err)
	}
	return raw, nil
}

// openRecord decrypts a channel record's private info as the member at home
// and checks that it opens the commitment the compliance proof is about.
func openRecord(ctx context.Context, home, id string) (*privateInfo, *client.Record, error) {
	cfg, err := node.LoadConfig(home)
	if err != nil {
		return nil, nil, err
	}
	c := client.New(cfg.API.Listen)
	rec, err := c.Record(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	raw, err := fetchSealed(ctx, c, rec)
	if err != nil {
		return nil, nil, err
	}
	if got := sha256.Sum256(raw); hex.EncodeToString(got[:]) != rec.Hash {
		return nil, nil, errors.New("the off-chain record does not match its anchored hash")
	}
	sealed, err := supervision.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	key, err := supervision.LoadKey(filepath.Join(home, node.SealingKeyFile))
	if err != nil {
		return nil, nil, err
	}
	plain, err := sealed.Open(cfg.Moniker, key)
	if err != nil {
		return nil, nil, err
	}
	var info privateInfo
	if err := json.Unmarshal(plain, &info); err != nil {
		return nil, nil, fmt.Errorf("private info: %w", err)
	}
	fieldsFr := make([]fr.Element, len(info.Values))
	for i, v := range info.Values {
		fieldsFr[i].SetUint64(uint64(v))
	}
	commitment := zk.Commit(info.Salt.Fr(), fieldsFr...)
	cb := commitment.Bytes()
	if hex.EncodeToString(cb[:]) != rec.Commitment {
		return nil, nil, errors.New("the private info does not open the record's commitment")
	}
	return &info, rec, nil
}

// verifyRecordProof re-verifies a channel record's compliance proof with the
// verifying key registered on the ledger, the channel's rule set in the
// policy revision in force at the record's height (not today's), and the
// record's binding.
func verifyRecordProof(ctx context.Context, home string, c *client.Client, rec *client.Record) error {
	if rec.Channel == "" {
		return fmt.Errorf("record %s carries no compliance proof (not on a channel)", rec.ID)
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	policyYAML, err := c.PolicyAt(ctx, rec.Height)
	if err != nil {
		return fmt.Errorf("policy at height %d: %w", rec.Height, err)
	}
	vk, err := c.VerifyingKey(ctx, rec.VKID)
	if err != nil {
		return err
	}
	reg := zk.NewRegistry()
	id, err := reg.Register(vk.Circuit, vk.Key)
	if err != nil {
		return err
	}
	if id != rec.VKID {
		return fmt.Errorf("the ledger's key for %s hashes to %s", rec.VKID, id)
	}
	pb, err := anchoredRecord(ctx, home, st.ChainID, rec)
	if err != nil {
		return err
	}
	return ledger.VerifyRecordProof(st.ChainID, pb, policyYAML, reg)
}

// anchoredRecord rebuilds a record from its anchoring tx as CometBFT stores
// it: the binding covers the exact bytes of the anchor (e.g. its public
// info), which the API's JSON rendering need not preserve.
func anchoredRecord(ctx context.Context, home, chainID string, rec *client.Record) (*ledgerpb.Record, error) {
	cfg, err := node.LoadConfig(home)
	if err != nil {
		return nil, err
	}
	txHash, err := hex.DecodeString(rec.TxHash)
	if err != nil || len(txHash) != sha256.Size {
		return nil, fmt.Errorf("record %s: bad tx hash %q from the node", rec.ID, rec.TxHash)
	}
	rpc, err := rpchttp.New(cfg.Consensus.RPCListen, "/websocket")
	if err != nil {
		return nil, err
	}
	res, err := rpc.Tx(ctx, txHash, false)
	if err != nil {
		return nil, fmt.Errorf("record %s: anchoring tx: %w", rec.ID, err)
	}
	p, err := ledger.DecodePayload(res.Tx, chainID)
	if err != nil {
		return nil, fmt.Errorf("record %s: anchoring tx: %w", rec.ID, err)
	}
	a := p.GetRecordAnchor()
	if a == nil || ledger.RecordID(p.TxId) != rec.ID || res.Height != rec.Height {
		return nil, fmt.Errorf("record %s: the node's tx %s does not anchor it at height %d", rec.ID, rec.TxHash, rec.Height)
	}
	return &ledgerpb.Record{Id: rec.ID, Hash: a.Hash, Kind: a.Kind, Channel: a.Channel, Locator: a.Locator,
		Submitter: p.Signer, Height: res.Height, TxHash: txHash, PublicInfo: a.PublicInfo,
		Commitment: a.Commitment, VkId: a.VkId, Proof: a.Proof}, nil
}
