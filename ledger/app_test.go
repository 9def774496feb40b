package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

const testChain = "cohort-test"

type testMember struct {
	name string
	key  ed25519.PrivateKey
}

// deterministicKey derives a key from a label so that two app instances in a
// test see the same members.
func deterministicKey(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testGenesis(t testing.TB, names ...string) ([]testMember, []byte) {
	t.Helper()
	var g Genesis
	var ms []testMember
	for i, n := range names {
		k := deterministicKey("account/" + n)
		ms = append(ms, testMember{name: n, key: k})
		g.Members = append(g.Members, GenesisMember{
			Name: n, Roles: []string{RoleEnterprise}, AccountKey: k.Public().(ed25519.PublicKey),
			PeerID: fmt.Sprintf("peer-%d", i),
		})
	}
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return ms, raw
}

func newTestApp(t testing.TB, genesis []byte) *App {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := OpenStore(t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	app, err := NewApp(store, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, InitialHeight: 1, AppStateBytes: genesis}); err != nil {
		t.Fatal(err)
	}
	return app
}

func anchorTx(t testing.TB, m testMember, chain string, txID []byte, hash byte) []byte {
	t.Helper()
	raw, err := SignTx(m.key, &ledgerpb.TxPayload{
		ChainId: chain, TxId: txID, Signer: m.name,
		Msg: &ledgerpb.TxPayload_RecordAnchor{RecordAnchor: &ledgerpb.RecordAnchor{
			Hash: bytes.Repeat([]byte{hash}, 32), Kind: "trade", Locator: "blob://x",
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func txID(i int) []byte {
	id := make([]byte, 16)
	id[0], id[1] = byte(i>>8), byte(i)
	return id
}

func finalize(t testing.TB, app *App, height int64, txs ...[]byte) *abci.ResponseFinalizeBlock {
	t.Helper()
	resp, err := app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: height, Txs: txs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	return resp
}

func checkTx(t testing.TB, app *App, raw []byte) *abci.ResponseCheckTx {
	t.Helper()
	resp, err := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestSignedTxRoundTrip(t *testing.T) {
	ms, _ := testGenesis(t, "alice")
	raw := anchorTx(t, ms[0], testChain, txID(1), 7)
	tx, terr := decodeTx(raw, testChain)
	if terr != nil {
		t.Fatal(terr)
	}
	if tx.payload.Signer != "alice" || !bytes.Equal(tx.payload.TxId, txID(1)) {
		t.Fatalf("decoded payload %+v", tx.payload)
	}
	if a := tx.payload.GetRecordAnchor(); a == nil || a.Kind != "trade" || a.Hash[0] != 7 {
		t.Fatalf("decoded anchor %+v", a)
	}
	if err := tx.verifySignature(newSigCache(16), ms[0].key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	other := deterministicKey("someone else").Public().(ed25519.PublicKey)
	if err := tx.verifySignature(newSigCache(16), other); err == nil || err.Code != CodeBadSignature {
		t.Fatalf("signature verified under the wrong key: %v", err)
	}
}

func TestAnchorAndQuery(t *testing.T) {
	ms, gen := testGenesis(t, "alice", "bob")
	app := newTestApp(t, gen)
	raw := anchorTx(t, ms[1], testChain, txID(1), 9)
	if r := checkTx(t, app, raw); r.Code != CodeOK {
		t.Fatalf("CheckTx: %d %s", r.Code, r.Log)
	}
	resp := finalize(t, app, 1, raw)
	if resp.TxResults[0].Code != CodeOK {
		t.Fatalf("FinalizeBlock: %s", resp.TxResults[0].Log)
	}
	q, _ := app.Query(context.Background(), &abci.RequestQuery{Path: QueryRecord, Data: []byte(RecordID(txID(1)))})
	var rec ledgerpb.Record
	if q.Code != CodeOK || proto.Unmarshal(q.Value, &rec) != nil {
		t.Fatalf("query record: %d %s", q.Code, q.Log)
	}
	if rec.Submitter != "bob" || rec.Height != 1 || rec.Hash[0] != 9 || !bytes.Equal(rec.TxHash, TxHash(raw)) {
		t.Fatalf("record %+v", &rec)
	}
	q, _ = app.Query(context.Background(), &abci.RequestQuery{Path: QueryRecordsByHash, Data: bytes.Repeat([]byte{9}, 32)})
	var list ledgerpb.RecordList
	if q.Code != CodeOK || proto.Unmarshal(q.Value, &list) != nil || len(list.Records) != 1 || list.Records[0].Id != rec.Id {
		t.Fatalf("query by hash: %d %s %v", q.Code, q.Log, &list)
	}
	q, _ = app.Query(context.Background(), &abci.RequestQuery{Path: QueryRecord, Data: []byte("nope")})
	if q.Code != CodeNotFound {
		t.Fatalf("missing record: code %d", q.Code)
	}
}

// TestBadTxsChangeNothing feeds each kind of bad tx to CheckTx and to
// FinalizeBlock and checks the clear error and that the AppHash is the one of
// an empty block.
func TestBadTxsChangeNothing(t *testing.T) {
	ms, gen := testGenesis(t, "alice", "bob")
	stranger := testMember{name: "mallory", key: deterministicKey("mallory")}
	good := anchorTx(t, ms[0], testChain, txID(1), 1)

	badSig := anchorTx(t, ms[0], testChain, txID(2), 2)
	badSig[len(badSig)-1] ^= 1 // the signature is the last field
	forged := anchorTx(t, testMember{name: "alice", key: ms[1].key}, testChain, txID(3), 3)
	wrongChain := anchorTx(t, ms[0], "other-chain", txID(4), 4)
	huge := make([]byte, 10<<20)

	cases := []struct {
		name string
		raw  []byte
		code uint32
	}{
		{"malformed", []byte("\x0a\xff\xffnot a tx"), CodeMalformed},
		{"empty", nil, CodeMalformed},
		{"bad signature", badSig, CodeBadSignature},
		{"signed by another member's key", forged, CodeBadSignature},
		{"unknown signer", anchorTx(t, stranger, testChain, txID(5), 5), CodeUnknownSigner},
		{"wrong chain", wrongChain, CodeWrongChain},
		{"10 MiB", huge, CodeTooLarge},
		{"replay", good, CodeReplay},
	}

	app := newTestApp(t, gen)
	if r := finalize(t, app, 1, good); r.TxResults[0].Code != CodeOK {
		t.Fatal(r.TxResults[0].Log)
	}
	ref := newTestApp(t, gen)
	finalize(t, ref, 1, good)

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := checkTx(t, app, tc.raw); r.Code != tc.code || r.Log == "" {
				t.Fatalf("CheckTx: code %d (%q), want %d", r.Code, r.Log, tc.code)
			}
			h := int64(i + 2)
			resp := finalize(t, app, h, tc.raw)
			if c := resp.TxResults[0].Code; c != tc.code {
				t.Fatalf("FinalizeBlock: code %d (%q), want %d", c, resp.TxResults[0].Log, tc.code)
			}
			want := finalize(t, ref, h) // the same height with no tx at all
			if !bytes.Equal(resp.AppHash, want.AppHash) {
				t.Fatalf("a rejected tx changed the AppHash")
			}
		})
	}
}

func TestReplayInsideOneBlock(t *testing.T) {
	ms, gen := testGenesis(t, "alice")
	app := newTestApp(t, gen)
	raw := anchorTx(t, ms[0], testChain, txID(1), 1)
	resp := finalize(t, app, 1, raw, raw)
	if resp.TxResults[0].Code != CodeOK || resp.TxResults[1].Code != CodeReplay {
		t.Fatalf("codes %d, %d; want OK then replay", resp.TxResults[0].Code, resp.TxResults[1].Code)
	}
}

func TestAppHashDeterministic(t *testing.T) {
	ms, gen := testGenesis(t, "alice", "bob", "carol")
	var blocks [][][]byte
	for h := 0; h < 5; h++ {
		var txs [][]byte
		for i := 0; i < 20; i++ {
			txs = append(txs, anchorTx(t, ms[(h+i)%3], testChain, txID(h*100+i), byte(i)))
		}
		blocks = append(blocks, txs)
	}
	run := func() [][]byte {
		app := newTestApp(t, gen)
		var hashes [][]byte
		for h, txs := range blocks {
			hashes = append(hashes, finalize(t, app, int64(h+1), txs...).AppHash)
		}
		return hashes
	}
	a, b := run(), run()
	for h := range a {
		if !bytes.Equal(a[h], b[h]) {
			t.Fatalf("height %d: AppHash differs between two runs", h+1)
		}
		if h > 0 && bytes.Equal(a[h], a[h-1]) {
			t.Fatalf("height %d: AppHash did not move", h+1)
		}
	}
	// The same txs in another order are another history.
	app := newTestApp(t, gen)
	swapped := append([][]byte{blocks[0][1], blocks[0][0]}, blocks[0][2:]...)
	if bytes.Equal(finalize(t, app, 1, swapped...).AppHash, a[0]) {
		t.Fatal("AppHash ignores tx order")
	}
}

func TestRestartResumesFromDisk(t *testing.T) {
	ms, gen := testGenesis(t, "alice")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	store, err := OpenStore(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(store, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, InitialHeight: 1, AppStateBytes: gen}); err != nil {
		t.Fatal(err)
	}
	raw := anchorTx(t, ms[0], testChain, txID(1), 1)
	hash := finalize(t, app, 1, raw).AppHash
	store.Close()

	store, err = OpenStore(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	app, err = NewApp(store, log)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := app.Info(context.Background(), &abci.RequestInfo{})
	if info.LastBlockHeight != 1 || !bytes.Equal(info.LastBlockAppHash, hash) {
		t.Fatalf("after restart: height %d hash %x; want 1 %x", info.LastBlockHeight, info.LastBlockAppHash, hash)
	}
	if r := checkTx(t, app, raw); r.Code != CodeReplay {
		t.Fatalf("replay after restart: code %d", r.Code)
	}
	if !app.IsMemberPeer("peer-0") || app.IsMemberPeer("peer-9") {
		t.Fatal("member set not restored")
	}
}
