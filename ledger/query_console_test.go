package ledger

import (
	"context"
	"encoding/binary"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// TestConsoleQueries: /records lists anchored records, /tasks the tasks,
// CreditEventsAt the rating changes of one height, JobCounts and Credits
// the state the metrics read.
func TestConsoleQueries(t *testing.T) {
	ms, gen, keys := taskGenesis(t, 1000, "buyer", "seller")
	buyer, seller := ms[0], ms[1]
	app := newTestApp(t, gen)
	o := newOrder(t, "T-1", 1000)
	finalize(t, app, 1, assignTx(t, buyer, 1, o, "seller", 9000, 50), anchorTx(t, buyer, testChain, txID(9), 7))
	if r := finalize(t, app, 2, signPayload(t, seller, 3, completeMsg(t, keys, o, 1000, 10000, 10000))); r.TxResults[0].Code != CodeOK {
		t.Fatalf("complete: %s", r.TxResults[0].Log)
	}
	query := func(path string) []byte {
		t.Helper()
		res, err := app.Query(context.Background(), &abci.RequestQuery{Path: path})
		if err != nil || res.Code != CodeOK {
			t.Fatalf("%s: %v %d %s", path, err, res.Code, res.Log)
		}
		return res.Value
	}
	var recs ledgerpb.RecordList
	if err := proto.Unmarshal(query(QueryRecords), &recs); err != nil || len(recs.Records) != 1 || recs.Records[0].Submitter != "buyer" {
		t.Fatalf("records %v %v", recs.Records, err)
	}
	tasks, err := DecodeTaskList(query(QueryTasks))
	if err != nil || len(tasks) != 1 || tasks[0].Id != "T-1" || tasks[0].Status != TaskCompleted {
		t.Fatalf("tasks %v %v", tasks, err)
	}
	evs, err := app.CreditEventsAt(2)
	if err != nil || len(evs) != 1 || evs[0].Delta != ratingTaskFull {
		t.Fatalf("credit events at 2: %v %v", evs, err)
	}
	if evs, _ := app.CreditEventsAt(1); len(evs) != 0 {
		t.Fatalf("credit events at 1: %v", evs)
	}
	credits, err := app.Credits()
	if err != nil || len(credits) != 2 {
		t.Fatalf("credits %v %v", credits, err)
	}
	if counts, err := app.JobCounts(); err != nil || len(counts) != 0 {
		t.Fatalf("job counts %v %v", counts, err)
	}
	if res, _ := app.Query(context.Background(), &abci.RequestQuery{Path: "/nope"}); res.Code != CodeInvalid {
		t.Fatalf("unknown path: code %d", res.Code)
	}
}

func TestDecodeTaskListRejectsBadLengths(t *testing.T) {
	good, _ := proto.Marshal(&ledgerpb.Task{Id: "a"})
	raw := binary.AppendUvarint(nil, uint64(len(good)))
	raw = append(raw, good...)
	if ts, err := DecodeTaskList(raw); err != nil || len(ts) != 1 {
		t.Fatalf("good list: %v %v", ts, err)
	}
	for _, bad := range [][]byte{
		binary.AppendUvarint(nil, 1<<40),                                   // longer than the input
		append(binary.AppendUvarint(nil, 5), 1, 2),                         // truncated
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // varint overflow
	} {
		if _, err := DecodeTaskList(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}

func FuzzDecodeTaskList(f *testing.F) {
	good, _ := proto.Marshal(&ledgerpb.Task{Id: "T-1", Buyer: "b", Assignee: "s", Status: TaskOpen})
	f.Add(append(binary.AppendUvarint(nil, uint64(len(good))), good...))
	f.Add([]byte{0x05, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ts, err := DecodeTaskList(raw)
		if err == nil && len(ts) > maxTasksInQuery {
			t.Fatalf("%d tasks", len(ts))
		}
	})
}
