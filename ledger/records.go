package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
	"github.com/cohortnet/cohort/zk"
)

const (
	recordHashBytes    = 32
	maxKindBytes       = 64
	maxChannelBytes    = 64
	maxLocatorBytes    = 512
	maxPublicInfoBytes = 16 << 10
)

func keyRecord(id string) []byte { return append([]byte("rec/"), id...) }

// keyRecordByHash indexes records by their anchored hash; several records may
// anchor the same hash, so the record ID is part of the key.
func keyRecordByHash(hash []byte, id string) []byte {
	k := append([]byte("rech/"), hash...)
	return append(k, id...)
}

func prefixRecordByHash(hash []byte) []byte { return append([]byte("rech/"), hash...) }

// keyRecordByCommitment names the record that anchored a compliance
// commitment: one commitment, one record.
func keyRecordByCommitment(c []byte) []byte { return append([]byte("recc/"), c...) }

// RecordBinding is the compliance statement's binding for a channel record:
// SHA-256 over a domain tag and the length-prefixed chain ID, tx ID, signer,
// channel, kind, hash, locator and public info, with its top three bits
// cleared so that it is a canonical field element (< 2^253 < r). A proof made
// for one record therefore verifies for no other: not under another tx ID
// (a replay as a new record), signer, chain or content.
func RecordBinding(chainID string, txID []byte, signer string, m *ledgerpb.RecordAnchor) zk.Felt {
	h := sha256.New()
	for _, part := range [][]byte{[]byte("cohort/record-binding/v1"), []byte(chainID), txID, []byte(signer),
		[]byte(m.Channel), []byte(m.Kind), m.Hash, []byte(m.Locator), m.PublicInfo} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	sum := h.Sum(nil)
	sum[0] &= 0x1f
	var e fr.Element
	if err := e.SetBytesCanonical(sum); err != nil {
		panic(fmt.Sprintf("record binding: %v", err)) // unreachable: < 2^253 < r
	}
	return zk.FeltOf(e)
}

func checkRecordAnchor(signer string, m *ledgerpb.RecordAnchor, v *committedView, st stateReader) *TxError {
	switch {
	case len(m.Hash) != recordHashBytes:
		return txErr(CodeInvalid, "record hash must be %d bytes, got %d", recordHashBytes, len(m.Hash))
	case m.Kind == "" || len(m.Kind) > maxKindBytes:
		return txErr(CodeInvalid, "record kind must be 1 to %d bytes", maxKindBytes)
	case len(m.Channel) > maxChannelBytes:
		return txErr(CodeInvalid, "record channel exceeds %d bytes", maxChannelBytes)
	case len(m.Locator) > maxLocatorBytes:
		return txErr(CodeInvalid, "record locator exceeds %d bytes", maxLocatorBytes)
	}
	if m.Channel == "" {
		if len(m.PublicInfo)+len(m.Commitment)+len(m.VkId)+len(m.Proof) != 0 {
			return txErr(CodeInvalid, "public info and compliance proofs belong to channel records")
		}
		return nil
	}
	if v.policy == nil {
		return txErr(CodeInvalid, "channel %q: the chain has no policy, so no channels", m.Channel)
	}
	ch, ok := v.policy.Channel(m.Channel)
	if !ok {
		return txErr(CodeInvalid, "unknown channel %q", m.Channel)
	}
	if !slices.Contains(ch.Members, signer) {
		return txErr(CodeUnauthorized, "%s is not a member of channel %q", signer, m.Channel)
	}
	if len(m.PublicInfo) > maxPublicInfoBytes || !json.Valid(m.PublicInfo) || len(m.PublicInfo) == 0 || m.PublicInfo[0] != '{' {
		return txErr(CodeInvalid, "public info must be a JSON object of at most %d bytes", maxPublicInfoBytes)
	}
	if _, terr := fieldElement(m.Commitment, "record commitment"); terr != nil {
		return terr
	}
	// A commitment and its proof belong to one record: the binding makes the
	// proof fail under any other, and this refuses the replay before any
	// proof work, without a state change.
	prev, err := st.get(keyRecordByCommitment(m.Commitment))
	if err != nil {
		return txErr(CodeInvalid, "read state: %v", err)
	}
	if prev != nil {
		return txErr(CodeReplay, "commitment %s is already anchored by record %s: a compliance proof is bound to its record",
			hex.EncodeToString(m.Commitment), prev)
	}
	if len(m.Proof) == 0 || len(m.Proof) > maxProofBytes || len(m.VkId) > maxVKIDBytes {
		return txErr(CodeInvalid, "a channel record needs a compliance proof of 1 to %d bytes", maxProofBytes)
	}
	info, ok := v.keys.Key(m.VkId)
	if !ok || info.Circuit != zk.CircuitCompliance {
		return txErr(CodeInvalid, "vk %q is not a registered compliance key", m.VkId)
	}
	return nil
}

// complianceStatement is what a channel record's proof must show: its
// commitment opens to fields satisfying the channel's compiled rule set, for
// this record (RecordBinding).
func complianceStatement(v *committedView, p *ledgerpb.TxPayload) (zk.ComplianceStatement, error) {
	m := p.GetRecordAnchor()
	if m == nil {
		return zk.ComplianceStatement{}, fmt.Errorf("not a record anchor")
	}
	if v.policy == nil {
		return zk.ComplianceStatement{}, fmt.Errorf("no policy")
	}
	ch, ok := v.policy.Channel(m.Channel)
	if !ok {
		return zk.ComplianceStatement{}, fmt.Errorf("unknown channel %q", m.Channel)
	}
	rs, ok := v.policy.RuleSet(ch.RuleSet)
	if !ok || rs.Compiled == nil {
		return zk.ComplianceStatement{}, fmt.Errorf("channel %q has no compiled rule set", m.Channel)
	}
	commitment, terr := fieldElement(m.Commitment, "record commitment")
	if terr != nil {
		return zk.ComplianceStatement{}, terr
	}
	return zk.ComplianceStatement{
		Commitment:  zk.FeltOf(commitment),
		NumFields:   len(rs.Compiled.Fields),
		Constraints: rs.Compiled.ZKConstraints(),
		Binding:     RecordBinding(v.chainID, p.TxId, p.Signer, m),
	}, nil
}

// verifyRecordCompliance checks the record's compliance proof against the
// channel's rule set, compiled from the current policy.
func verifyRecordCompliance(v *committedView, p *ledgerpb.TxPayload) error {
	st, err := complianceStatement(v, p)
	if err != nil {
		return err
	}
	return v.keys.VerifyStatement(p.GetRecordAnchor().VkId, st, p.GetRecordAnchor().Proof)
}

// VerifyRecordProof re-verifies a committed channel record's compliance
// proof as a supervisor does: against policyYAML, which must be the policy
// revision in force at the record's height (QueryPolicyAt), with the keys in
// reg, for this record's binding.
func VerifyRecordProof(chainID string, rec *ledgerpb.Record, policyYAML []byte, reg *zk.Registry) error {
	if rec.Channel == "" {
		return fmt.Errorf("record %s carries no compliance proof (not on a channel)", rec.Id)
	}
	pol, err := policies.Parse(policyYAML)
	if err != nil {
		return fmt.Errorf("policy at height %d: %w", rec.Height, err)
	}
	txID, err := hex.DecodeString(rec.Id)
	if err != nil {
		return fmt.Errorf("record ID %q is not hex", rec.Id)
	}
	anchor := &ledgerpb.RecordAnchor{Hash: rec.Hash, Kind: rec.Kind, Channel: rec.Channel, Locator: rec.Locator,
		PublicInfo: rec.PublicInfo, Commitment: rec.Commitment, VkId: rec.VkId, Proof: rec.Proof}
	v := &committedView{chainID: chainID, policy: pol, keys: reg}
	st, err := complianceStatement(v, &ledgerpb.TxPayload{ChainId: chainID, TxId: txID, Signer: rec.Submitter,
		Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: anchor}})
	if err != nil {
		return fmt.Errorf("record %s under policy revision %d: %w", rec.Id, pol.Revision, err)
	}
	if err := reg.VerifyStatement(rec.VkId, st, rec.Proof); err != nil {
		return fmt.Errorf("record %s under policy revision %d: %w", rec.Id, pol.Revision, err)
	}
	return nil
}

// preverifyRecords verifies the compliance proofs of a block's channel
// records in one batch (zk.Registry.VerifyBatch) before the txs run. A
// record's statement depends only on the tx and the policy, which changes
// only between blocks, so the outcome is the one the tx would get alone; txs
// that fail their other checks are simply never looked up.
func preverifyRecords(txs []blockTx, v *committedView) map[[32]byte]error {
	if v.policy == nil {
		return nil
	}
	var items []zk.BatchItem
	var hashes [][32]byte
	for _, d := range txs {
		tx := d.tx
		if d.err != nil {
			continue
		}
		m := tx.payload.GetRecordAnchor()
		if m == nil || m.Channel == "" {
			continue
		}
		st, err := complianceStatement(v, tx.payload)
		if err != nil {
			continue
		}
		items = append(items, zk.BatchItem{VKID: m.VkId, Statement: st, Proof: m.Proof})
		hashes = append(hashes, [32]byte(TxHash(tx.raw)))
	}
	if len(items) == 0 {
		return nil
	}
	out := make(map[[32]byte]error, len(items))
	for i, err := range v.keys.VerifyBatch(items) {
		out[hashes[i]] = err
	}
	return out
}

func applyRecordAnchor(b *blockState, tx *decodedTx, m *ledgerpb.RecordAnchor, height int64, txHash []byte) (*ledgerpb.Record, error) {
	rec := &ledgerpb.Record{
		Id:         RecordID(tx.payload.TxId),
		Hash:       m.Hash,
		Kind:       m.Kind,
		Channel:    m.Channel,
		Locator:    m.Locator,
		Submitter:  tx.payload.Signer,
		Height:     height,
		TxHash:     txHash,
		PublicInfo: m.PublicInfo,
		Commitment: m.Commitment,
		VkId:       m.VkId,
		Proof:      m.Proof,
	}
	v, err := marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", rec.Id, err)
	}
	b.set(keyRecord(rec.Id), v)
	b.set(keyRecordByHash(rec.Hash, rec.Id), []byte{})
	if len(rec.Commitment) > 0 {
		b.set(keyRecordByCommitment(rec.Commitment), []byte(rec.Id))
	}
	return rec, nil
}
