package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/ledger/trace"
	"github.com/cohortnet/cohort/node/supervision"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

// recordDetail is everything the record page shows.
type recordDetail struct {
	Rec        *ledgerpb.Record
	ID         string
	Hash       string
	TxHash     string
	PublicInfo string // pretty JSON, shown escaped
	Steps      []Step
	Members    []string // the channel's members
	Sealed     string   // why the private info is not shown, if it is not
}

// recordPage checks a record: its compliance proof, its light-client trace
// (off-chain bytes re-hashed against the hash in a verified block) and, on a
// node of its channel, opens its private info with the node's key.
func (s *Server) recordPage(ctx context.Context, rec *ledgerpb.Record) recordDetail {
	d := recordDetail{Rec: rec, ID: rec.Id, Hash: hex.EncodeToString(rec.Hash), TxHash: fmt.Sprintf("%X", rec.TxHash),
		PublicInfo: prettyJSON(rec.PublicInfo)}
	pol, _, err := s.l.policy(ctx)
	if err != nil {
		pol = nil
	}
	d.Steps = append(d.Steps, okStep("Anchored", fmt.Sprintf("%s record by %s at height %d, tx %X", rec.Kind, rec.Submitter, rec.Height, rec.TxHash)))
	d.Steps[0].Links = []Link{{rec.Submitter, memberHref(rec.Submitter)}}
	d.Steps = append(d.Steps, s.complianceStep(ctx, rec))
	if rec.Channel == "" {
		d.Steps = append(d.Steps, pendingStep("Light-client trace",
			"not a channel record: its off-chain copy is not in the members' store; trace it with `cohort trace record --file`"))
		return d
	}
	var ch *policies.Channel
	if pol != nil {
		ch, _ = pol.Channel(rec.Channel)
	}
	if ch != nil {
		d.Members = ch.Members
	}
	sealed, err := s.fetchSealed(ctx, rec)
	if err != nil {
		d.Steps = append(d.Steps, s.check("trace", failStep("Light-client trace", "off-chain record: "+err.Error())))
		return d
	}
	d.Steps = append(d.Steps, s.traceStep(ctx, rec, sealed))
	inChannel := false
	for _, m := range d.Members {
		inChannel = inChannel || m == s.cfg.Moniker
	}
	if !inChannel {
		d.Sealed = fmt.Sprintf("This node (%s) is not a member of channel %s: the private supervision info stays sealed.", s.cfg.Moniker, rec.Channel)
		return d
	}
	d.Steps = append(d.Steps, s.openStep(rec, sealed))
	return d
}

// fetchSealed reads a channel record's sealed bytes through the node's API
// (from the node's store, or from the member that holds them).
func (s *Server) fetchSealed(ctx context.Context, rec *ledgerpb.Record) ([]byte, error) {
	rest, ok := strings.CutPrefix(rec.Locator, "blob:")
	h, holder, ok2 := strings.Cut(rest, "@")
	hash, err := hex.DecodeString(h)
	if !ok || !ok2 || err != nil || len(hash) != sha256.Size {
		return nil, fmt.Errorf("locator %q is not blob:<hash>@<member>", rec.Locator)
	}
	if s.cfg.API == nil {
		return nil, errors.New("no node API to read blobs from")
	}
	return s.cfg.API.GetBlob(ctx, hash, holder)
}

// traceStep runs the light-client trace of a record's off-chain bytes.
func (s *Server) traceStep(ctx context.Context, rec *ledgerpb.Record, content []byte) Step {
	name := "Light-client trace"
	v, trusted, err := s.tracer(ctx)
	if err != nil {
		s.cfg.Metrics.ConsoleCheck("trace", false, err)
		return failStep(name, err.Error())
	}
	res, err := v.VerifyRecord(ctx, rec.Id, rec.Height, rec.TxHash, content)
	if err != nil {
		s.cfg.Metrics.ConsoleCheck("trace", false, err)
		return failStep(name, err.Error())
	}
	detail := fmt.Sprintf("off-chain record (%d bytes) hashes to %s; anchored hash %s in block %d, header %s verified by the light client from trusted header %d and cross-checked with %d witness(es); the anchoring tx is in that block and the ledger accepted it",
		len(content), res.ContentHex, res.AnchoredHex, res.Height, res.HeaderHash, trusted.Height, len(s.cfg.Witnesses))
	if !res.Pass {
		return s.check("trace", failStep(name, res.Reason+": content "+res.ContentHex+", anchored "+res.AnchoredHex))
	}
	return s.check("trace", okStep(name, detail))
}

// tracer returns the console's light-client verifier, made on first use
// from HOME/trust.json or, without it, the header at height 1 of the node.
func (s *Server) tracer(ctx context.Context) (*trace.Verifier, trace.TrustedHeader, error) {
	s.traceMu.Lock()
	defer s.traceMu.Unlock()
	if s.trace != nil {
		return s.trace, s.trusted, nil
	}
	var t trace.TrustedHeader
	if raw, err := os.ReadFile(filepath.Join(s.cfg.Home, "trust.json")); err == nil {
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, t, fmt.Errorf("trust.json: %w", err)
		}
	} else {
		h := int64(1)
		b, err := s.cfg.Chain.Block(ctx, &h)
		if err != nil {
			return nil, t, fmt.Errorf("header 1: %w", err)
		}
		t = trace.TrustedHeader{Height: 1, Hash: b.Block.Hash().String()}
	}
	st, err := s.cfg.Chain.Status(ctx)
	if err != nil {
		return nil, t, err
	}
	v, err := trace.NewVerifier(ctx, trace.Config{ChainID: st.NodeInfo.Network, Primary: s.cfg.RPCAddr,
		Witnesses: s.cfg.Witnesses, Trusted: t})
	if err != nil {
		return nil, t, err
	}
	s.trace, s.trusted = v, t
	return v, t, nil
}

// privateInfo is the sealed plaintext `cohort record anchor` writes.
type privateInfo struct {
	RuleSet string            `json:"rule_set"`
	Fields  map[string]string `json:"fields"`
	Values  []zk.Uint64       `json:"values"`
	Salt    zk.Felt           `json:"salt"`
}

// openStep opens the private info with this node's sealing key and checks
// that it opens the commitment the compliance proof is about.
func (s *Server) openStep(rec *ledgerpb.Record, raw []byte) Step {
	name := "Private supervision info"
	sealed, err := supervision.Parse(raw)
	if err != nil {
		return failStep(name, err.Error())
	}
	key, err := s.sealingKey()
	if err != nil {
		return failStep(name, err.Error())
	}
	plain, err := sealed.Open(s.cfg.Moniker, key)
	if err != nil {
		return failStep(name, err.Error())
	}
	var info privateInfo
	if err := json.Unmarshal(plain, &info); err != nil {
		return failStep(name, "private info: "+err.Error())
	}
	vals := make([]fr.Element, len(info.Values))
	for i, v := range info.Values {
		vals[i].SetUint64(uint64(v))
	}
	c := zk.Commit(info.Salt.Fr(), vals...)
	cb := c.Bytes()
	if !bytes.Equal(cb[:], rec.Commitment) {
		return s.check("private_opening", failStep(name, "the private info does not open the record's commitment"))
	}
	st := s.check("private_opening", okStep(name, fmt.Sprintf("opened with %s's key; it opens the record's commitment (rule set %s)", s.cfg.Moniker, info.RuleSet)))
	names := make([]string, 0, len(info.Fields))
	for k := range info.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		st.Private = append(st.Private, Field{k, info.Fields[k]})
	}
	return st
}

func (s *Server) sealingKey() (supervision.KeyPair, error) {
	return supervision.LoadKey(s.cfg.SealingKeyFile)
}

// prettyJSON indents JSON for reading, with strings decoded (the page
// escapes them: a person reads "<b>" where the JSON had "\u003cb\u003e").
func prettyJSON(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimRight(buf.String(), "\n")
}
