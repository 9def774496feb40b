package ledger

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// A member's rating (its reputation on the ledger, 0 to policies.MaxRating)
// is kept here; it is unrelated to the credit-score job (jobspec.CreditScore),
// which scores subjects' data. State keys keep their historical "cred/"
// prefix (the AppHash commits to them).

// Rating moves. Each is applied in FinalizeBlock, in tx order.
const (
	ratingTaskFull         = 20  // task completed at ≥ 100% of the order
	ratingTaskHigh         = 10  // ≥ 90%
	ratingTaskMet          = 5   // ≥ the task's threshold
	ratingTaskTimeout      = -50 // deadline passed without a completion proof
	ratingInvalidProof     = -30 // a proof that does not verify
	ratingRejectedRecord   = -20 // a record that breaks its channel's rule set
	ratingJobParticipation = 2   // a job completed with the member on its committee
	ratingJobTimeout       = -25 // a job aborted because the member did not deliver
	ratingBadSealedInput   = -30 // a sealed input share proven not to open, or malformed
	ratingFalseSealedClaim = -30 // a committee member's claim on its sealed share, proven false by its own proof
	// Charged by a quorum of committee attestations (attest.go).
	// (member-dropped and missing-input are timeouts: recorded, never charged.)
	ratingAttestedCheat     = -30 // the dealer of a non-bit or an out-of-range mask: a deliberate deviation
	ratingAttestedBadInput  = -30 // an input not opening its commitment or malformed, as a bad sealed input
	maxRatingHistoryInQuery = 50
)

func keyRating(name string) []byte { return append([]byte("cred/"), name...) }

func prefixRatingEvents(name string) []byte {
	k := append([]byte("credev/"), name...)
	return append(k, '/')
}

func keyRatingEvent(name string, height int64, seq uint32) []byte {
	k := binary.BigEndian.AppendUint64(prefixRatingEvents(name), uint64(height))
	return binary.BigEndian.AppendUint32(k, seq)
}

func loadRating(st stateReader, name string) (*ledgerpb.Credit, error) {
	raw, err := st.get(keyRating(name))
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("no credit record for %q", name)
	}
	var c ledgerpb.Credit
	if err := proto.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("corrupt credit record of %q: %w", name, err)
	}
	return &c, nil
}

func putRating(b *blockState, c *ledgerpb.Credit) error {
	raw, err := marshal(c)
	if err != nil {
		return err
	}
	b.set(keyRating(c.Member), raw)
	return nil
}

// adjustRating moves a member's rating by delta (clamped to 0…policies.MaxRating) and
// records why in its history.
func adjustRating(b *blockState, name string, delta int64, reason string, height int64) error {
	_, err := applyRating(b, name, delta, reason, height)
	return err
}

// applyRating is adjustRating returning the move actually made: delta
// clamped to the rating range [0, MaxRating].
func applyRating(b *blockState, name string, delta int64, reason string, height int64) (int64, error) {
	c, err := loadRating(b, name)
	if err != nil {
		return 0, err
	}
	old := c.Score
	c.Score = min(max(old+delta, 0), policies.MaxRating)
	if err := putRating(b, c); err != nil {
		return 0, err
	}
	ev, err := marshal(&ledgerpb.CreditEvent{Height: height, Reason: reason, Delta: c.Score - old, Score: c.Score})
	if err != nil {
		return 0, err
	}
	b.set(keyRatingEvent(name, height, b.nextSeq()), ev)
	return c.Score - old, nil
}

func addOutput(b *blockState, name string, n int64) error {
	c, err := loadRating(b, name)
	if err != nil {
		return err
	}
	c.Output += n
	return putRating(b, c)
}

// grade names a rating's grade under the policy's table, or, on a chain
// without a policy, the default policy's: policies owns the one grade table.
func (v *committedView) grade(score int64) string {
	p := v.policy
	if p == nil {
		p = v.defaults
	}
	g, err := p.GradeOf(uint32(min(max(score, 0), policies.MaxRating)))
	if err != nil {
		return ""
	}
	return g
}

// ratingReport assembles the query answer for a member.
func (a *App) ratingReport(v *committedView, name string) (*ledgerpb.CreditReport, error) {
	c, err := loadRating(committedReader{a.store}, name)
	if err != nil {
		return nil, ErrNotFound
	}
	var events []*ledgerpb.CreditEvent
	err = a.store.scan(prefixRatingEvents(name), func(_, val []byte) error {
		var ev ledgerpb.CreditEvent
		if err := proto.Unmarshal(val, &ev); err != nil {
			return fmt.Errorf("corrupt credit event: %w", err)
		}
		events = append(events, &ev)
		if len(events) > maxRatingHistoryInQuery {
			events = events[1:]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ledgerpb.CreditReport{Credit: c, Grade: v.grade(c.Score), History: events}, nil
}
