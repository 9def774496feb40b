package ledger

import (
	"fmt"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

const (
	recordHashBytes = 32
	maxKindBytes    = 64
	maxChannelBytes = 64
	maxLocatorBytes = 512
)

func keyRecord(id string) []byte { return append([]byte("rec/"), id...) }

// keyRecordByHash indexes records by their anchored hash; several records may
// anchor the same hash, so the record ID is part of the key.
func keyRecordByHash(hash []byte, id string) []byte {
	k := append([]byte("rech/"), hash...)
	return append(k, id...)
}

func prefixRecordByHash(hash []byte) []byte { return append([]byte("rech/"), hash...) }

func checkRecordAnchor(m *ledgerpb.RecordAnchor) *TxError {
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
	return nil
}

func applyRecordAnchor(b *blockState, tx *decodedTx, m *ledgerpb.RecordAnchor, height int64, txHash []byte) (*ledgerpb.Record, error) {
	rec := &ledgerpb.Record{
		Id:        RecordID(tx.payload.TxId),
		Hash:      m.Hash,
		Kind:      m.Kind,
		Channel:   m.Channel,
		Locator:   m.Locator,
		Submitter: tx.payload.Signer,
		Height:    height,
		TxHash:    txHash,
	}
	v, err := marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", rec.Id, err)
	}
	b.set(keyRecord(rec.Id), v)
	b.set(keyRecordByHash(rec.Hash, rec.Id), []byte{})
	return rec, nil
}
