package ledger

import (
	"context"
	"crypto/ed25519"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// FuzzCheckTx feeds arbitrary bytes to CheckTx: it must answer with a code,
// never panic, and accept only txs that decode and verify.
func FuzzCheckTx(f *testing.F) {
	ms, gen := testGenesis(f, "alice")
	f.Add(anchorTx(f, ms[0], testChain, txID(1), 1))
	f.Add([]byte{})
	f.Add([]byte("\x0a\x05hello\x12\x40"))
	app := newTestApp(f, gen)
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp, err := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code == CodeOK {
			tx, terr := decodeTx(raw, testChain)
			// crypto/ed25519 is the reference for the signature rule.
			if terr != nil || !ed25519.Verify(ms[0].key.Public().(ed25519.PublicKey), signingBytes(tx.body), tx.sig) {
				t.Fatalf("accepted a tx that does not verify: %x", raw)
			}
		}
	})
}
