package zk

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
)

// commitCircuit exposes CommitVar for a cross-check with the native Commit.
type commitCircuit struct {
	Fields [3]frontend.Variable
	Salt   frontend.Variable
	Want   frontend.Variable `gnark:",public"`
	n      int
}

func (c *commitCircuit) Define(api frontend.API) error {
	got, err := CommitVar(api, c.Salt, c.Fields[:c.n]...)
	if err != nil {
		return err
	}
	api.AssertIsEqual(got, c.Want)
	return nil
}

func TestCommitNativeEqualsCircuit(t *testing.T) {
	for n := 0; n <= 3; n++ {
		var fields [3]fr.Element
		a := &commitCircuit{n: n}
		for i := range fields {
			fields[i] = randFelt(t).Fr()
			a.Fields[i] = fields[i].BigInt(new(big.Int))
		}
		salt := randFelt(t).Fr()
		a.Salt = salt.BigInt(new(big.Int))
		want := Commit(salt, fields[:n]...)
		a.Want = want.BigInt(new(big.Int))
		if err := test.IsSolved(&commitCircuit{n: n}, a, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("%d fields: circuit commitment differs from native: %v", n, err)
		}
		// A different salt must give a different commitment.
		other := Commit(randFelt(t).Fr(), fields[:n]...)
		if other.Equal(&want) {
			t.Fatalf("%d fields: commitment ignores the salt", n)
		}
	}
}

func TestNewSaltIsFullSize(t *testing.T) {
	s1, err := NewSalt(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := NewSalt(rand.Reader)
	if s1.Equal(&s2) || s1.BitLen() < 200 && s2.BitLen() < 200 {
		t.Fatalf("salts look degenerate: %s %s", s1.String(), s2.String())
	}
	if _, err := NewSalt(nil); err == nil {
		t.Fatal("nil reader accepted")
	}
}

type proveCase struct {
	name string
	good Witness
	bad  []Witness // each violates the relation
}

func proveCases(t *testing.T) []proveCase {
	t.Helper()
	badSig := sampleCompletion(t, 1000, 990, 9800, 9500)
	other := sampleCompletion(t, 1000, 990, 9800, 9500)
	badSig.Signature = other.Signature // signed by another key over another delivery
	wrongKey := sampleCompletion(t, 1000, 990, 9800, 9500)
	wrongKey.CounterpartyKey = other.CounterpartyKey
	return []proveCase{
		{
			name: CircuitInput,
			good: sampleInput(t, 50, 10, 100),
			bad:  []Witness{sampleInput(t, 101, 10, 100), sampleInput(t, 9, 10, 100)},
		},
		{
			name: CircuitCompliance,
			good: sampleCompliance(t, 100, 2, 5),
			bad: []Witness{
				sampleCompliance(t, 111, 2, 5), // price above 110: negative coefficient
				sampleCompliance(t, 89, 2, 5),  // price below 90
				sampleCompliance(t, 100, 3, 5), // fee above 2.5 %
				sampleCompliance(t, 100, 2, 0), // quantity zero
			},
		},
		{
			name: CircuitCompletion,
			good: sampleCompletion(t, 1000, 990, 9800, 9500),
			bad: []Witness{
				sampleCompletion(t, 1000, 960, 9800, 9500), // 960·0.98 < 950
				sampleCompletion(t, 0, 0, 9800, 9500),      // empty order
				badSig,
				wrongKey,
			},
		},
	}
}

func TestProveVerify(t *testing.T) {
	ctx := context.Background()
	for _, tc := range proveCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			keys := testKeys(t, tc.name)
			reg := NewRegistry()
			id, err := reg.Register(tc.name, keys.VKBytes)
			if err != nil {
				t.Fatal(err)
			}
			if id != keys.Info.VKID {
				t.Fatalf("registry vk id %s, key file %s", id, keys.Info.VKID)
			}
			pf, err := keys.Prove(ctx, tc.good)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(pf)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := ParseProofFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := reg.VerifyFile(parsed); err != nil {
				t.Fatalf("valid proof rejected: %v", err)
			}
			proof, _ := parsed.ProofBytes()
			if len(proof) != keys.Info.ProofBytes || len(proof) != ProofSize(0) {
				t.Fatalf("proof is %d bytes, key info says %d", len(proof), keys.Info.ProofBytes)
			}
			st, err := ParseStatement(tc.name, parsed.Public)
			if err != nil {
				t.Fatal(err)
			}
			public, err := PublicVector(st)
			if err != nil {
				t.Fatal(err)
			}
			if err := reg.Verify(id, public, proof); err != nil {
				t.Fatalf("valid proof rejected by Verify: %v", err)
			}

			// Every public input is bound: changing any one fails.
			for i := range public {
				changed := append(fr.Vector(nil), public...)
				var one fr.Element
				one.SetOne()
				changed[i].Add(&changed[i], &one)
				err := reg.Verify(id, changed, proof)
				if err == nil {
					t.Fatalf("public input %d changed, proof still verifies", i)
				}
				if !errors.Is(err, ErrInvalidProof) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("public input %d: unexpected error class: %v", i, err)
				}
			}
			// A flipped proof bit fails, as malformed or invalid.
			for _, pos := range []int{0, 5, 40, 100, len(proof) - 1} {
				bad := append([]byte(nil), proof...)
				bad[pos] ^= 0x01
				if err := reg.Verify(id, public, bad); err == nil {
					t.Fatalf("proof byte %d flipped, still verifies", pos)
				}
			}
			// The unused commitment-proof slot must hold the point at
			// infinity; any other valid point is rejected.
			g := append([]byte(nil), proof...)
			_, _, g1, _ := curve.Generators()
			gb := g1.Bytes()
			copy(g[len(g)-32:], gb[:])
			if err := reg.Verify(id, public, g); !errors.Is(err, ErrMalformed) {
				t.Fatalf("proof with a stray commitment proof: %v", err)
			}
			if err := reg.Verify("00", public, proof); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("unknown key: got %v", err)
			}
			if err := reg.Verify(id, public[:len(public)-1], proof); !errors.Is(err, ErrMalformed) {
				t.Fatalf("short public vector: got %v", err)
			}
		})
	}
}

// TestViolatingWitnessCannotProve: the circuit itself (not only the native
// pre-check) rejects every witness that breaks the relation.
func TestViolatingWitnessCannotProve(t *testing.T) {
	ctx := context.Background()
	for _, tc := range proveCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			keys := testKeys(t, tc.name)
			for i, w := range tc.bad {
				if err := w.Check(); err == nil {
					t.Errorf("bad witness %d passes the native check", i)
				}
				if _, err := keys.Prove(ctx, w); err == nil {
					t.Errorf("bad witness %d: Prove succeeded", i)
				}
				if _, err := keys.proveAssignment(w); err == nil {
					t.Errorf("bad witness %d: the circuit accepted it", i)
				}
			}
		})
	}
}

func TestComplianceBoundsAndPadding(t *testing.T) {
	// Extreme but legal coefficients and constants; 8 fields, 8 constraints.
	w := ComplianceWitness{Salt: randFelt(t)}
	maxU := ^uint64(0)
	for j := 0; j < MaxPolicyFields; j++ {
		w.Fields = append(w.Fields, Uint64(maxU))
	}
	big129 := new(big.Int).Lsh(big.NewInt(1), 129)
	for i := 0; i < MaxPolicyConstraints; i++ {
		c := LinearConstraint{Constant: NewInt(new(big.Int).Sub(big129, big.NewInt(1)))}
		for j := 0; j < MaxPolicyFields; j++ {
			c.Coefficients = append(c.Coefficients, Int64(1<<63-1))
		}
		w.Constraints = append(w.Constraints, c)
	}
	// Σ (2^63−1)(2^64−1)·8 + 2^129 − 1 < 2^132: satisfiable at the bound.
	keys := testKeys(t, CircuitCompliance)
	if _, err := keys.proveAssignment(w); err != nil {
		t.Fatalf("extreme legal policy: %v", err)
	}
	// Most negative: every constraint far below zero must fail in-circuit.
	for i := range w.Constraints {
		for j := range w.Constraints[i].Coefficients {
			w.Constraints[i].Coefficients[j] = Int64(-1 << 63)
		}
		w.Constraints[i].Constant = NewInt(new(big.Int).Neg(big129))
	}
	if _, err := keys.proveAssignment(w); err == nil {
		t.Fatal("hugely negative constraints accepted")
	}
	// The verifier rejects out-of-bound public coefficients and constants.
	st, err := sampleCompliance(t, 100, 2, 5).Statement()
	if err != nil {
		t.Fatal(err)
	}
	public, err := PublicVector(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCompliancePublic(public); err != nil {
		t.Fatal(err)
	}
	tooBig := append(fr.Vector(nil), public...)
	tooBig[2].SetBigInt(new(big.Int).Lsh(big.NewInt(1), 63))
	if err := CheckCompliancePublic(tooBig); err == nil {
		t.Fatal("coefficient 2^63 accepted")
	}
	tooBig[2].SetBigInt(new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 63)))
	if err := CheckCompliancePublic(tooBig); err != nil {
		t.Fatalf("coefficient -2^63 rejected: %v", err)
	}
	tooBig[2].SetBigInt(new(big.Int).Sub(new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 63)), big.NewInt(1)))
	if err := CheckCompliancePublic(tooBig); err == nil {
		t.Fatal("coefficient -2^63-1 accepted")
	}
	reg := NewRegistry()
	id, _ := reg.Register(CircuitCompliance, keys.VKBytes)
	if err := reg.Verify(id, tooBig, make([]byte, ProofSize(0))); !errors.Is(err, ErrMalformed) {
		t.Fatalf("out-of-bound coefficient: got %v", err)
	}
	// Statements: wrong arity and oversized constants are malformed.
	bad := st.(ComplianceStatement)
	bad.Constraints = append([]LinearConstraint(nil), bad.Constraints...)
	bad.Constraints[0] = LinearConstraint{Coefficients: []Int64{1}, Constant: IntOf(0)}
	if err := bad.Validate(); err == nil {
		t.Fatal("constraint with wrong arity accepted")
	}
	bad.Constraints[0] = LinearConstraint{Coefficients: []Int64{1, 1, 1}, Constant: NewInt(big129)}
	if err := bad.Validate(); err == nil {
		t.Fatal("constant 2^129 accepted")
	}
	bad.Constraints[0].Constant = NewInt(new(big.Int).Neg(big129))
	if err := bad.Validate(); err != nil {
		t.Fatalf("constant -2^129 rejected: %v", err)
	}
	bad.Constraints[0].Constant = NewInt(new(big.Int).Sub(new(big.Int).Neg(big129), big.NewInt(1)))
	if err := bad.Validate(); err == nil {
		t.Fatal("constant -2^129-1 accepted")
	}
}

func TestParseStatementStrict(t *testing.T) {
	st, err := sampleInput(t, 5, 1, 10).Statement()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(st)
	if _, err := ParseStatement(CircuitInput, raw); err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"unknown field": `{"commitment":"0x0000000000000000000000000000000000000000000000000000000000000001","lo":"1","hi":"2","x":1}`,
		"non-canonical": `{"commitment":"0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001","lo":"1","hi":"2"}`,
		"number":        `{"commitment":"0x0000000000000000000000000000000000000000000000000000000000000001","lo":1,"hi":"2"}`,
		"leading zero":  `{"commitment":"0x0000000000000000000000000000000000000000000000000000000000000001","lo":"01","hi":"2"}`,
		"empty range":   `{"commitment":"0x0000000000000000000000000000000000000000000000000000000000000001","lo":"3","hi":"2"}`,
		"trailing":      `{"commitment":"0x0000000000000000000000000000000000000000000000000000000000000001","lo":"1","hi":"2"} {}`,
	} {
		if _, err := ParseStatement(CircuitInput, []byte(doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
	if _, err := ParseStatement("nope", raw); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown circuit: %v", err)
	}
}

func TestKeysRoundTripAndStale(t *testing.T) {
	keys := testKeys(t, CircuitInput)
	dir := t.TempDir()
	if err := keys.Save(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadKeys(dir, CircuitInput)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Info.VKID != keys.Info.VKID || loaded.Info.Setup != SetupDev {
		t.Fatalf("reloaded key info differs: %+v", loaded.Info)
	}
	reg := NewRegistry()
	infos, err := reg.RegisterDir(dir)
	if err != nil || len(infos) != 1 {
		t.Fatalf("RegisterDir: %v %v", infos, err)
	}
	pf, err := loaded.Prove(context.Background(), sampleInput(t, 7, 7, 7))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.VerifyFile(pf); err != nil {
		t.Fatal(err)
	}
	// The vk ID binds circuit, version and gnark version.
	if VKID(CircuitInput, "2", GnarkVersion(), keys.VKBytes) == keys.Info.VKID ||
		VKID(CircuitCompliance, CircuitVersion(CircuitCompliance), GnarkVersion(), keys.VKBytes) == keys.Info.VKID ||
		VKID(CircuitInput, CircuitVersion(CircuitInput), "0.15.0", keys.VKBytes) == keys.Info.VKID {
		t.Fatal("vk id does not bind its parts")
	}
	// Keys of one circuit refuse to register as another.
	if _, err := reg.Register(CircuitCompliance, keys.VKBytes); !errors.Is(err, ErrMalformed) {
		t.Fatalf("input key registered as compliance: %v", err)
	}
}

// TestLookupRangeMode exercises proofs with a BSB22 commitment (the
// std/rangecheck alternative): 196-byte proofs, decoded and verified through
// the same length-checked path.
func TestLookupRangeMode(t *testing.T) {
	keys, err := DevSetupWithRangeMode(context.Background(), CircuitInput, RangeLookup)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.VK.CommitmentKeys) != 1 {
		t.Fatalf("lookup mode: %d commitments, want 1", len(keys.VK.CommitmentKeys))
	}
	reg := NewRegistry()
	id, err := reg.Register(CircuitInput, keys.VKBytes)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := keys.Prove(context.Background(), sampleInput(t, 3, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	proof, _ := pf.ProofBytes()
	if len(proof) != ProofSize(1) {
		t.Fatalf("proof is %d bytes, want %d", len(proof), ProofSize(1))
	}
	if err := reg.VerifyFile(pf); err != nil {
		t.Fatal(err)
	}
	if err := reg.VerifyJSON(id, pf.Public, proof[:ProofSize(0)]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("proof without its commitment: %v", err)
	}
	st, _ := ParseStatement(CircuitInput, pf.Public)
	public, _ := PublicVector(st)
	public[1].SetUint64(2)
	if err := reg.Verify(id, public, proof); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("changed lo: %v", err)
	}
	if _, err := keys.proveAssignment(sampleInput(t, 6, 1, 5)); err == nil {
		t.Fatal("out-of-range value proved in lookup mode")
	}
}

// TestCommitKnownAnswer pins the commitment construction; the MPC engine
// (mpc/ss.NativeCommit and its on-shares Commit) must produce the same value.
func TestCommitKnownAnswer(t *testing.T) {
	got := FeltOf(Commit(fr.NewElement(4), fr.NewElement(1), fr.NewElement(2), fr.NewElement(3))).String()
	const want = "0x0bf1e7d92cff33e808e2a0d0c74e95173cdc92fa02d009b3a015895f8ac13a61"
	if got != want {
		t.Fatalf("Commit(1, 2, 3; salt 4) = %s, want %s", got, want)
	}
}

// TestRegistryConcurrentVerify: the ledger verifies from concurrent CheckTx
// calls while keys are being registered.
func TestRegistryConcurrentVerify(t *testing.T) {
	keys := testKeys(t, CircuitInput)
	reg := NewRegistry()
	id, err := reg.Register(CircuitInput, keys.VKBytes)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := keys.Prove(context.Background(), sampleInput(t, 1, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	proof, _ := pf.ProofBytes()
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 5; i++ {
				if err := reg.VerifyJSON(id, pf.Public, proof); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		go func() {
			_, err := reg.Register(CircuitInput, keys.VKBytes)
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyProofFileWithKeys covers the `cohort zk verify` path: valid,
// invalid (exit 1) and malformed (exit 2) inputs.
func TestVerifyProofFileWithKeys(t *testing.T) {
	keys := testKeys(t, CircuitInput)
	dir := t.TempDir()
	if err := keys.Save(dir); err != nil {
		t.Fatal(err)
	}
	pf, err := keys.Prove(context.Background(), sampleInput(t, 5, 1, 9))
	if err != nil {
		t.Fatal(err)
	}
	valid, _ := json.Marshal(pf)
	if err := VerifyProofFileWithKeys(dir, valid); err != nil {
		t.Fatalf("valid: %v", err)
	}
	changed := *pf
	changed.Public = json.RawMessage(strings.Replace(string(pf.Public), `"lo":"1"`, `"lo":"2"`, 1))
	raw, _ := json.Marshal(changed)
	if err := VerifyProofFileWithKeys(dir, raw); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("changed statement: %v", err)
	}
	for name, doc := range map[string][]byte{
		"not json":    []byte("{"),
		"unknown key": []byte(strings.Replace(string(valid), pf.VKID, strings.Repeat("0", 64), 1)),
		"short proof": []byte(strings.Replace(string(valid), pf.Proof, pf.Proof[:40], 1)),
		"huge":        make([]byte, MaxProofFileJSON+1),
	} {
		err := VerifyProofFileWithKeys(dir, doc)
		if err == nil || errors.Is(err, ErrInvalidProof) {
			t.Errorf("%s: got %v, want a malformed-input error", name, err)
		}
	}
	if err := VerifyProofFileWithKeys(t.TempDir(), valid); err == nil || errors.Is(err, ErrInvalidProof) {
		t.Errorf("empty keys dir: %v", err)
	}
}

// TestComplianceProofIsBoundToItsRecord: a compliance proof verifies only
// with the binding it was made for, so it cannot be replayed under another
// record, and the binding's verifying-key point is not the identity.
func TestComplianceProofIsBoundToItsRecord(t *testing.T) {
	keys := testKeys(t, CircuitCompliance)
	reg := NewRegistry()
	id, err := reg.Register(CircuitCompliance, keys.VKBytes)
	if err != nil {
		t.Fatal(err)
	}
	w := sampleCompliance(t, 100, 2, 5)
	w.Binding = randFelt(t)
	pf, err := keys.Prove(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := pf.ProofBytes()
	if err != nil {
		t.Fatal(err)
	}
	st, err := w.Statement()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.VerifyStatement(id, st, proof); err != nil {
		t.Fatalf("genuine proof: %v", err)
	}
	other := st.(ComplianceStatement)
	other.Binding = randFelt(t)
	if err := reg.VerifyStatement(id, other, proof); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("proof under another record's binding: got %v, want ErrInvalidProof", err)
	}
	other.Binding = Felt{}
	if err := reg.VerifyStatement(id, other, proof); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("proof under a zero binding: got %v, want ErrInvalidProof", err)
	}
	vk, err := DecodeVerifyingKey(keys.VKBytes)
	if err != nil {
		t.Fatal(err)
	}
	// K[0] is the constant-one wire; the binding is the last public input.
	if k := vk.G1.K[len(vk.G1.K)-1-len(vk.CommitmentKeys)]; k.IsInfinity() {
		t.Fatal("the binding's verifying-key point is the identity: the binding is not constrained")
	}
	if got := keys.Info.Version; got != "2" || CircuitVersion(CircuitCompliance) != "2" {
		t.Fatalf("compliance keys are version %q, want 2 (the binding changed the circuit)", got)
	}
}
