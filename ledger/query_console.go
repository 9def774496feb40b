package ledger

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// Read-only queries for the supervisor console and the node's metrics. They
// live apart from query.go so that the console's needs do not crowd the
// queries the ledger's own clients use.
const (
	QueryRecords = "/records" // value: RecordList of up to maxRecordsInQuery records, by ID
	QueryTasks   = "/tasks"   // value: RecordList-like TaskList encoding, see DecodeTaskList
)

const (
	maxRecordsInQuery = 1000
	maxTasksInQuery   = 1000
)

// consoleQuery answers the console's query paths; query falls through to it.
func (a *App) consoleQuery(_ *committedView, path string, _ []byte) ([]byte, error) {
	switch path {
	case QueryRecords:
		var list ledgerpb.RecordList
		err := a.store.scan([]byte("rec/"), func(_, val []byte) error {
			if len(list.Records) >= maxRecordsInQuery {
				return nil
			}
			var r ledgerpb.Record
			if err := proto.Unmarshal(val, &r); err != nil {
				return fmt.Errorf("corrupt record: %w", err)
			}
			list.Records = append(list.Records, &r)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return marshal(&list)
	case QueryTasks:
		// No TaskList message exists; tasks are sent length-prefixed.
		var out []byte
		n := 0
		err := a.store.scan([]byte("task/"), func(_, val []byte) error {
			if n >= maxTasksInQuery {
				return nil
			}
			n++
			out = binary.AppendUvarint(out, uint64(len(val)))
			out = append(out, val...)
			return nil
		})
		return out, err
	}
	return nil, fmt.Errorf("unknown query path %q", path)
}

// DecodeTaskList decodes a QueryTasks answer.
func DecodeTaskList(raw []byte) ([]*ledgerpb.Task, error) {
	var out []*ledgerpb.Task
	for len(raw) > 0 {
		if len(out) >= maxTasksInQuery {
			return nil, fmt.Errorf("task list: more than %d tasks", maxTasksInQuery)
		}
		n, k := binary.Uvarint(raw)
		if k <= 0 || n > uint64(len(raw)-k) {
			return nil, fmt.Errorf("task list: bad length prefix")
		}
		var t ledgerpb.Task
		if err := proto.Unmarshal(raw[k:k+int(n)], &t); err != nil {
			return nil, fmt.Errorf("task list: %w", err)
		}
		out = append(out, &t)
		raw = raw[k+int(n):]
	}
	return out, nil
}

// CreditEventsAt returns every rating change the ledger recorded at height,
// in member order. It reads committed state.
func (a *App) CreditEventsAt(height int64) ([]*ledgerpb.CreditEvent, error) {
	v := a.committed.Load()
	var out []*ledgerpb.CreditEvent
	for _, name := range v.members.names {
		prefix := binary.BigEndian.AppendUint64(prefixRatingEvents(name), uint64(height))
		err := a.store.scan(prefix, func(_, val []byte) error {
			var e ledgerpb.CreditEvent
			if err := proto.Unmarshal(val, &e); err != nil {
				return fmt.Errorf("corrupt credit event of %q: %w", name, err)
			}
			out = append(out, &e)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// JobCounts counts every job on the ledger by type and status.
func (a *App) JobCounts() (map[[2]string]int, error) {
	out := make(map[[2]string]int)
	err := a.store.scan([]byte("job/"), func(_, val []byte) error {
		var j ledgerpb.Job
		if err := proto.Unmarshal(val, &j); err != nil {
			return fmt.Errorf("corrupt job: %w", err)
		}
		out[[2]string{j.Type, j.Status}]++
		return nil
	})
	return out, err
}

// Credits returns every member's credit record, in member order.
func (a *App) Credits() ([]*ledgerpb.Credit, error) {
	v := a.committed.Load()
	out := make([]*ledgerpb.Credit, 0, len(v.members.names))
	for _, name := range v.members.names {
		c, err := loadRating(committedReader{a.store}, name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
