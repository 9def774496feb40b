package zk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// Fuzz targets for every decoder of untrusted bytes. Seeds live in
// testdata/fuzz/<Target>/ (a plain `go test` runs them); regenerate them
// with ZK_WRITE_FUZZ_CORPUS=1 go test -run TestWriteFuzzCorpus.

// fuzzFixture is one valid input-circuit proof with its key.
type fuzzFixture struct {
	reg    *Registry
	id     string
	keys   *Keys
	proof  []byte
	public fr.Vector
	file   []byte
}

var (
	fuzzOnce sync.Once
	fuzzFix  *fuzzFixture
	fuzzErr  error
)

func getFuzzFixture(t testing.TB) *fuzzFixture {
	t.Helper()
	fuzzOnce.Do(func() {
		keys := testKeys(t, CircuitInput)
		fx := &fuzzFixture{reg: NewRegistry(), keys: keys}
		if fx.id, fuzzErr = fx.reg.Register(CircuitInput, keys.VKBytes); fuzzErr != nil {
			return
		}
		var pf *ProofFile
		if pf, fuzzErr = keys.Prove(context.Background(), InputWitness{Value: 5, Lo: 1, Hi: 9, Salt: FeltOf(fr.NewElement(77))}); fuzzErr != nil {
			return
		}
		fx.proof, _ = pf.ProofBytes()
		st, _ := ParseStatement(CircuitInput, pf.Public)
		fx.public, _ = PublicVector(st)
		fx.file, fuzzErr = json.Marshal(pf)
		fuzzFix = fx
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzFix
}

func publicBytes(v fr.Vector) []byte {
	var out []byte
	for i := range v {
		b := v[i].Bytes()
		out = append(out, b[:]...)
	}
	return out
}

func FuzzDecodeProof(f *testing.F) {
	fx := getFuzzFixture(f)
	f.Add(fx.proof, uint8(0))
	f.Add(fx.proof[:100], uint8(0))
	f.Add(make([]byte, ProofSize(1)), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, nbCommit uint8) {
		p, err := DecodeProof(b, int(nbCommit))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		again, err := EncodeProof(p)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatal("accepted a non-canonical proof encoding")
		}
	})
}

func FuzzVerify(f *testing.F) {
	fx := getFuzzFixture(f)
	f.Add(fx.proof, publicBytes(fx.public))
	f.Add(fx.proof, publicBytes(fx.public[:2]))
	bad := bytes.Clone(fx.proof)
	bad[7] ^= 0x40
	f.Add(bad, publicBytes(fx.public))
	f.Fuzz(func(t *testing.T, proof, pub []byte) {
		if len(pub) > 8*fr.Bytes {
			return
		}
		var public fr.Vector
		for len(pub) > 0 {
			n := min(len(pub), fr.Bytes)
			var e fr.Element
			e.SetBytes(pub[:n])
			public = append(public, e)
			pub = pub[n:]
		}
		err := fx.reg.Verify(fx.id, public, proof)
		if err == nil && (!bytes.Equal(proof, fx.proof) || !slicesEqual(public, fx.public)) {
			t.Fatal("a proof other than the genuine one verified")
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}

func slicesEqual(a, b fr.Vector) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(&b[i]) {
			return false
		}
	}
	return true
}

func FuzzDecodeVerifyingKey(f *testing.F) {
	fx := getFuzzFixture(f)
	f.Add(fx.keys.VKBytes)
	f.Add(fx.keys.VKBytes[:300])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		vk, err := DecodeVerifyingKey(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		again, err := EncodeVerifyingKey(vk)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatal("accepted a non-canonical key encoding")
		}
	})
}

func FuzzProofFile(f *testing.F) {
	fx := getFuzzFixture(f)
	f.Add(fx.file)
	f.Add([]byte(`{"circuit":"input","vk_id":"x","public":{},"proof":""}`))
	f.Add([]byte(`{"circuit":"compliance","vk_id":"","public":{"commitment":"0x00","num_fields":9,"constraints":[]},"proof":"AAAA"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		pf, err := ParseProofFile(raw)
		if err != nil {
			return
		}
		err = fx.reg.VerifyFile(pf)
		if err == nil && !bytes.Equal(raw, fx.file) {
			// Only the genuine statement and proof may verify (JSON
			// re-formatting aside).
			proof, _ := pf.ProofBytes()
			if !bytes.Equal(proof, fx.proof) {
				t.Fatal("a forged proof file verified")
			}
		}
		for _, c := range CircuitNames() {
			_, _ = ParseStatement(c, pf.Public)
			_, _ = ParseWitness(c, pf.Public)
		}
	})
}

// FuzzCeremonyFile decodes crafted phase-1 and phase-2 contribution files
// (domain 4) through the layout check.
func FuzzCeremonyFile(f *testing.F) {
	p1 := mpcsetup.NewPhase1(4)
	p1.Contribute()
	var buf bytes.Buffer
	if _, err := p1.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), false)
	f.Add(buf.Bytes()[:50], false)
	fx := getFuzzFixture(f)
	tmpl, err := phase2Template(fx.keys.CCS, ecc1024)
	if err != nil {
		f.Fatal(err)
	}
	buf.Reset()
	if _, err := tmpl.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), true)
	f.Fuzz(func(t *testing.T, b []byte, phase2 bool) {
		if phase2 {
			l, err := recordLayout(tmpl, false)
			if err != nil {
				t.Fatal(err)
			}
			_ = l.decode(b, new(mpcsetup.Phase2))
			return
		}
		prev := mpcsetup.NewPhase1(4)
		prev.Challenge = make([]byte, 32)
		l, err := recordLayout(prev, true)
		if err != nil {
			t.Fatal(err)
		}
		next := new(mpcsetup.Phase1)
		if err := l.decode(b, next); err == nil {
			prev.Challenge = nil
			_ = prev.Verify(next)
		}
	})
}

// ecc1024 is the input circuit's domain size.
const ecc1024 = 1024

// TestWriteFuzzCorpus writes the seed corpus files (opt-in).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("ZK_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set ZK_WRITE_FUZZ_CORPUS=1 to regenerate testdata/fuzz")
	}
	fx := getFuzzFixture(t)
	write := func(target, name string, args ...any) {
		var sb strings.Builder
		sb.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&sb, "[]byte(%q)\n", v)
			case uint8:
				fmt.Fprintf(&sb, "byte(%q)\n", v)
			case bool:
				fmt.Fprintf(&sb, "bool(%v)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flipped := bytes.Clone(fx.proof)
	flipped[0] &^= 0xc0 // "uncompressed" flag
	long := append(bytes.Clone(fx.proof), make([]byte, 32)...)
	write("FuzzDecodeProof", "valid", fx.proof, uint8(0))
	write("FuzzDecodeProof", "uncompressed-flag", flipped, uint8(0))
	write("FuzzDecodeProof", "one-commitment", long, uint8(1))
	hugeCount := bytes.Clone(fx.proof)
	copy(hugeCount[128:], []byte{0xff, 0xff, 0xff, 0xff})
	write("FuzzDecodeProof", "huge-commitment-count", hugeCount, uint8(0))
	write("FuzzVerify", "valid", fx.proof, publicBytes(fx.public))
	write("FuzzVerify", "short-public", fx.proof, publicBytes(fx.public[:1]))
	write("FuzzVerify", "garbage", bytes.Repeat([]byte{0xc0}, ProofSize(0)), publicBytes(fx.public))
	write("FuzzDecodeVerifyingKey", "valid", fx.keys.VKBytes)
	hugeK := bytes.Clone(fx.keys.VKBytes)
	copy(hugeK[288:], []byte{0x7f, 0xff, 0xff, 0xff})
	write("FuzzDecodeVerifyingKey", "huge-k", hugeK)
	write("FuzzDecodeVerifyingKey", "truncated", fx.keys.VKBytes[:290])
	write("FuzzProofFile", "valid", fx.file)
	write("FuzzProofFile", "long-proof", []byte(`{"circuit":"input","vk_id":"`+fx.id+`","public":{"commitment":"0x0000000000000000000000000000000000000000000000000000000000000001","lo":"1","hi":"2"},"proof":"`+strings.Repeat("A", 400)+`"}`))
	p1 := mpcsetup.NewPhase1(4)
	p1.Contribute()
	var buf bytes.Buffer
	_, _ = p1.WriteTo(&buf)
	write("FuzzCeremonyFile", "phase1", buf.Bytes(), false)
	bad := bytes.Clone(buf.Bytes())
	copy(bad[3*(32+64):], []byte{0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}) // domain size field after 3 update proofs
	write("FuzzCeremonyFile", "phase1-huge-domain", bad, false)
}
