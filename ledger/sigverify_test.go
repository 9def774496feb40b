package ledger

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// sigVector is one (key, message, signature) case.
type sigVector struct {
	name          string
	key, msg, sig []byte
}

func readGzipJSON(t *testing.T, name string, v any) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ed25519", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edgeSigVectors loads the edge-case vectors (testdata/ed25519/README).
func edgeSigVectors(t *testing.T) []sigVector {
	var out []sigVector
	var c2sp []struct{ A, R, S, M string }
	readGzipJSON(t, "ed25519vectors.json.gz", &c2sp)
	for i, v := range c2sp {
		out = append(out, sigVector{fmt.Sprintf("c2sp/%d", i), mustHex(t, v.A), []byte(v.M),
			append(mustHex(t, v.R), mustHex(t, v.S)...)})
	}
	var spec []struct {
		Message   string `json:"message"`
		PubKey    string `json:"pub_key"`
		Signature string `json:"signature"`
	}
	readGzipJSON(t, "speccheck_cases.json.gz", &spec)
	for _, v := range spec {
		out = append(out, sigVector{"speccheck", mustHex(t, v.PubKey), mustHex(t, v.Message), mustHex(t, v.Signature)})
	}
	var zip [][2]string
	readGzipJSON(t, "zip215.json.gz", &zip)
	for _, v := range zip {
		out = append(out, sigVector{"zip215", mustHex(t, v[0]), []byte("Zcash"), mustHex(t, v[1])})
	}
	return out
}

// TestSigVerifyMatchesStdlib: the ledger's verifier gives crypto/ed25519's
// verdict on every edge case (non-canonical and small-order keys and R,
// non-canonical S, low-order residues), on valid signatures, and on
// corrupted ones, both for a key it sees the first time and once expanded.
func TestSigVerifyMatchesStdlib(t *testing.T) {
	vecs := edgeSigVectors(t)
	if len(vecs) < 100 {
		t.Fatalf("only %d vectors loaded", len(vecs))
	}
	for i := 0; i < 64; i++ {
		seed := sha256.Sum256([]byte{byte(i)})
		k := ed25519.NewKeyFromSeed(seed[:])
		msg := seed[:i%32]
		sig := ed25519.Sign(k, msg)
		vecs = append(vecs, sigVector{"valid", k.Public().(ed25519.PublicKey), msg, sig})
		bad := append([]byte(nil), sig...)
		bad[i%64] ^= 1 << (i % 8)
		vecs = append(vecs, sigVector{"corrupted", k.Public().(ed25519.PublicKey), msg, bad})
		// S + ℓ: the same signature with a non-canonical S.
		vecs = append(vecs, sigVector{"s-plus-l", k.Public().(ed25519.PublicKey), msg, addL(sig)})
	}
	accepted := 0
	for _, fresh := range []bool{true, false} {
		c := newSigCache(16)
		for pass := 0; pass < 2; pass++ { // the second pass uses expanded keys
			for i, v := range vecs {
				want := ed25519.Verify(v.key, v.msg, v.sig)
				if fresh {
					c = newSigCache(16)
				}
				if got := c.verify(v.key, v.msg, v.sig); got != want {
					t.Errorf("vector %d (%s, key %x, sig %x): verify %v, crypto/ed25519 %v", i, v.name, v.key, v.sig, got, want)
				}
				if want && pass == 0 && fresh {
					accepted++
				}
			}
		}
	}
	// The vectors must exercise both verdicts, including edge cases that
	// crypto/ed25519 accepts (small-order A and R) and refuses.
	if accepted < 64+10 || accepted > len(vecs)-64-10 {
		t.Fatalf("%d of %d vectors accepted: the set does not exercise both verdicts", accepted, len(vecs))
	}
}

// addL returns sig with ℓ added to its S (little-endian), which crypto/ed25519
// must refuse as non-canonical.
func addL(sig []byte) []byte {
	l := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	out := append([]byte(nil), sig...)
	carry := 0
	for i := 0; i < 32; i++ {
		s := int(out[32+i]) + int(l[i]) + carry
		out[32+i], carry = byte(s), s>>8
	}
	return out
}

// TestFinalizeSameWhetherTxsWereSeen: a node that never saw a block's txs in
// CheckTx (their signatures are verified in parallel before the block runs)
// ends with the same results and AppHash as one that checked them all, with
// valid txs from several members, a forged signature, an unknown signer and
// a replay inside the block.
func TestFinalizeSameWhetherTxsWereSeen(t *testing.T) {
	ms, gen := testGenesis(t, "alice", "bob", "carol", "dave")
	var txs [][]byte
	for i := 0; i < 4*minSigsPerWorker+3; i++ {
		txs = append(txs, anchorTx(t, ms[i%len(ms)], testChain, txID(i), byte(i)))
	}
	forged := anchorTx(t, ms[1], testChain, txID(1000), 9)
	forged[len(forged)-1] ^= 1 // the last byte is the signature's
	stranger := anchorTx(t, testMember{name: "mallory", key: deterministicKey("mallory")}, testChain, txID(1001), 9)
	block := append([][]byte{forged, stranger, txs[3]}, txs...) // txs[3] twice: a replay
	block = append(block, forged)

	seen, unseen := newTestApp(t, gen), newTestApp(t, gen)
	for _, tx := range txs {
		if r := checkTx(t, seen, tx); r.Code != CodeOK {
			t.Fatalf("checktx: %s", r.Log)
		}
	}
	a, b := finalize(t, seen, 1, block...), finalize(t, unseen, 1, block...)
	if !bytes.Equal(a.AppHash, b.AppHash) {
		t.Fatal("AppHash depends on which txs the node saw in CheckTx")
	}
	for i := range block {
		if a.TxResults[i].Code != b.TxResults[i].Code || a.TxResults[i].Log != b.TxResults[i].Log {
			t.Fatalf("tx %d: %d %q (seen) vs %d %q (unseen)", i, a.TxResults[i].Code, a.TxResults[i].Log,
				b.TxResults[i].Code, b.TxResults[i].Log)
		}
	}
	want := map[int]uint32{0: CodeBadSignature, 1: CodeUnknownSigner, 2: CodeOK, 3 + 3: CodeReplay, len(block) - 1: CodeBadSignature}
	for i, r := range b.TxResults {
		code, ok := want[i]
		if !ok {
			code = CodeOK
		}
		if r.Code != code {
			t.Fatalf("tx %d: code %d (%s), want %d", i, r.Code, r.Log, code)
		}
	}
}
