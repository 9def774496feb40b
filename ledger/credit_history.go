package ledger

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// maxCreditHistory bounds the history one query returns (the most recent
// events; CreditHistory.truncated says when older ones were left out).
const maxCreditHistory = 1000

// queryCreditHistory answers QueryCreditHistory: a member's current grade
// label and its score history, each event labelled with the grade its score
// has under the current grade table.
func (a *App) queryCreditHistory(v *committedView, name string) ([]byte, error) {
	if _, ok := v.members.byName[name]; !ok {
		return nil, ErrNotFound
	}
	c, err := loadRating(committedReader{a.store}, name)
	if err != nil {
		return nil, err
	}
	h := &ledgerpb.CreditHistory{Credit: c, Grade: v.grade(c.Score)}
	err = a.store.scan(prefixRatingEvents(name), func(_, val []byte) error {
		var ev ledgerpb.CreditEvent
		if err := proto.Unmarshal(val, &ev); err != nil {
			return fmt.Errorf("corrupt credit event: %w", err)
		}
		h.Entries = append(h.Entries, &ledgerpb.CreditHistoryEntry{Event: &ev, Grade: v.grade(ev.Score)})
		if len(h.Entries) > maxCreditHistory {
			h.Entries, h.Truncated = h.Entries[1:], true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return marshal(h)
}
