package zk

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/frontend"
)

// How a key pair was made.
const (
	// SetupDev: single-party groth16.Setup. Whoever ran it knows the
	// toxic waste and can forge proofs. Development and tests only.
	SetupDev = "dev"
	// SetupCeremony: multi-party Groth16 MPC (phase 1 and phase 2); sound
	// as long as one contributor destroyed its randomness.
	SetupCeremony = "ceremony"
)

// KeyInfo describes a key pair; it is written next to the keys as
// <circuit>.json.
type KeyInfo struct {
	Circuit      string `json:"circuit"`
	Version      string `json:"version"`
	GnarkVersion string `json:"gnark_version"`
	VKID         string `json:"vk_id"`
	Setup        string `json:"setup"`
	Constraints  int    `json:"constraints"`
	NbPublic     int    `json:"nb_public"`
	ProofBytes   int    `json:"proof_bytes"`
	// CircuitDigest is SHA-256 of the compiled constraint system: keys are
	// refused when the circuit code no longer compiles to the same system.
	CircuitDigest string `json:"circuit_digest"`
	// Transcript, for ceremony keys, is the SHA-256 of every contribution
	// and the beacons, so anyone can re-verify the ceremony.
	Transcript *CeremonyTranscript `json:"transcript,omitempty"`
}

// Keys is a circuit's compiled constraint system with its key pair.
type Keys struct {
	Info    KeyInfo
	CCS     *cs.R1CS
	PK      *groth16bn254.ProvingKey
	VK      *groth16bn254.VerifyingKey
	VKBytes []byte
}

// CircuitDigest hashes a compiled constraint system.
func CircuitDigest(ccs constraint.ConstraintSystem) (string, error) {
	h := sha256.New()
	if _, err := ccs.WriteTo(h); err != nil {
		return "", fmt.Errorf("hash constraint system: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func compileR1CS(circuit string) (*cs.R1CS, error) {
	ccs, err := Compile(circuit)
	if err != nil {
		return nil, err
	}
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, fmt.Errorf("compile %s: unexpected constraint system %T", circuit, ccs)
	}
	return r, nil
}

// newKeys assembles Keys and their KeyInfo.
func newKeys(circuit, setup string, ccs *cs.R1CS, pk groth16.ProvingKey, vk groth16.VerifyingKey) (*Keys, error) {
	bpk, ok1 := pk.(*groth16bn254.ProvingKey)
	bvk, ok2 := vk.(*groth16bn254.VerifyingKey)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("setup %s: keys are not BN254 (%T, %T)", circuit, pk, vk)
	}
	s, err := lookupSpec(circuit)
	if err != nil {
		return nil, err
	}
	vkBytes, err := EncodeVerifyingKey(bvk)
	if err != nil {
		return nil, err
	}
	digest, err := CircuitDigest(ccs)
	if err != nil {
		return nil, err
	}
	return &Keys{
		Info: KeyInfo{
			Circuit:       circuit,
			Version:       CircuitVersion(circuit),
			GnarkVersion:  GnarkVersion(),
			VKID:          VKID(circuit, CircuitVersion(circuit), GnarkVersion(), vkBytes),
			Setup:         setup,
			Constraints:   ccs.GetNbConstraints(),
			NbPublic:      s.nbPublic,
			ProofBytes:    ProofSize(len(bvk.CommitmentKeys)),
			CircuitDigest: digest,
		},
		CCS: ccs, PK: bpk, VK: bvk, VKBytes: vkBytes,
	}, nil
}

// DevSetup makes single-party keys for circuit. INSECURE: the caller's
// process sees the setup randomness; use a ceremony for anything real.
func DevSetup(ctx context.Context, circuit string) (*Keys, error) {
	return DevSetupWithRangeMode(ctx, circuit, DefaultRangeMode)
}

// DevSetupWithRangeMode makes development keys for a circuit compiled with
// a non-default range-check strategy, to measure the trade-off (bench suite
// zk). Such keys prove and verify in-process but are not for distribution:
// LoadKeys refuses them because the constraint system differs.
func DevSetupWithRangeMode(ctx context.Context, circuit string, mode RangeMode) (*Keys, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ccs0, err := CompileWithRangeMode(circuit, mode)
	if err != nil {
		return nil, err
	}
	ccs, ok := ccs0.(*cs.R1CS)
	if !ok {
		return nil, fmt.Errorf("compile %s: unexpected constraint system %T", circuit, ccs0)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, fmt.Errorf("dev setup %s: %w", circuit, err)
	}
	return newKeys(circuit, SetupDev, ccs, pk, vk)
}

// Key file names inside a keys directory.
func pkPath(dir, circuit string) string   { return filepath.Join(dir, circuit+".pk") }
func vkPath(dir, circuit string) string   { return filepath.Join(dir, circuit+".vk") }
func infoPath(dir, circuit string) string { return filepath.Join(dir, circuit+".json") }

// Save writes <circuit>.pk (raw points, fast to load), <circuit>.vk
// (compressed; the bytes the vk ID hashes) and <circuit>.json to dir.
func (k *Keys) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save keys: %w", err)
	}
	c := k.Info.Circuit
	if err := writeFileAtomic(pkPath(dir, c), func(w io.Writer) error {
		_, err := k.PK.WriteRawTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("save %s proving key: %w", c, err)
	}
	if err := writeFileAtomic(vkPath(dir, c), func(w io.Writer) error {
		_, err := w.Write(k.VKBytes)
		return err
	}); err != nil {
		return fmt.Errorf("save %s verifying key: %w", c, err)
	}
	info, err := json.MarshalIndent(k.Info, "", "  ")
	if err != nil {
		return fmt.Errorf("save %s key info: %w", c, err)
	}
	if err := writeFileAtomic(infoPath(dir, c), func(w io.Writer) error {
		_, err := w.Write(append(info, '\n'))
		return err
	}); err != nil {
		return fmt.Errorf("save %s key info: %w", c, err)
	}
	return nil
}

// writeFileAtomic writes via a temporary file and rename, so a crash never
// leaves a half-written key under the final name.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadKeyInfo reads <circuit>.json and <circuit>.vk from dir and checks that
// the vk ID matches the verifying-key bytes.
func LoadKeyInfo(dir, circuit string) (KeyInfo, []byte, error) {
	if _, err := lookupSpec(circuit); err != nil {
		return KeyInfo{}, nil, err
	}
	var info KeyInfo
	raw, err := readFileLimited(infoPath(dir, circuit), 1<<20)
	if err != nil {
		return KeyInfo{}, nil, err
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return KeyInfo{}, nil, fmt.Errorf("key info %s: %w", circuit, err)
	}
	vkBytes, err := readFileLimited(vkPath(dir, circuit), MaxVerifyingKeyBytes)
	if err != nil {
		return KeyInfo{}, nil, err
	}
	if info.Circuit != circuit {
		return KeyInfo{}, nil, fmt.Errorf("key info %s names circuit %q", circuit, info.Circuit)
	}
	if id := VKID(info.Circuit, info.Version, info.GnarkVersion, vkBytes); id != info.VKID {
		return KeyInfo{}, nil, fmt.Errorf("key info %s: vk_id %s does not match the verifying key (%s)", circuit, info.VKID, id)
	}
	return info, vkBytes, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// ErrStaleKeys: keys on disk were made for a different circuit build.
var ErrStaleKeys = errors.New("keys do not match the compiled circuit")

// LoadKeys loads a circuit's keys from dir for proving. It recompiles the
// circuit and refuses keys made for a different constraint system, circuit
// version or gnark version. The proving key is a local file made by this
// node's own setup and is read without subgroup checks (for speed); the
// verifying key is decoded as untrusted input.
func LoadKeys(dir, circuit string) (*Keys, error) {
	info, vkBytes, err := LoadKeyInfo(dir, circuit)
	if err != nil {
		return nil, err
	}
	if info.Version != CircuitVersion(circuit) || info.GnarkVersion != GnarkVersion() {
		return nil, fmt.Errorf("%w: %s keys are for circuit v%s / gnark %s, this build is v%s / gnark %s",
			ErrStaleKeys, circuit, info.Version, info.GnarkVersion, CircuitVersion(circuit), GnarkVersion())
	}
	ccs, err := compileR1CS(circuit)
	if err != nil {
		return nil, err
	}
	digest, err := CircuitDigest(ccs)
	if err != nil {
		return nil, err
	}
	if digest != info.CircuitDigest {
		return nil, fmt.Errorf("%w: %s (run cohort setup again)", ErrStaleKeys, circuit)
	}
	vk, err := DecodeVerifyingKey(vkBytes)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(pkPath(dir, circuit))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pk := new(groth16bn254.ProvingKey)
	if _, err := pk.UnsafeReadFrom(bufio.NewReaderSize(f, 1<<20)); err != nil {
		return nil, fmt.Errorf("read %s proving key: %w", circuit, err)
	}
	return &Keys{Info: info, CCS: ccs, PK: pk, VK: vk, VKBytes: vkBytes}, nil
}

// Prove proves w and returns the proof file. The witness is checked
// natively first (a clear error instead of a solver failure), then the
// circuit solver enforces the relation; the fresh proof is verified before
// it is returned.
func (k *Keys) Prove(ctx context.Context, w Witness) (*ProofFile, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if w.CircuitName() != k.Info.Circuit {
		return nil, fmt.Errorf("prove: %s input for %s keys", w.CircuitName(), k.Info.Circuit)
	}
	if err := w.Check(); err != nil {
		return nil, fmt.Errorf("prove %s: %w", k.Info.Circuit, err)
	}
	st, err := w.Statement()
	if err != nil {
		return nil, fmt.Errorf("prove %s: %w", k.Info.Circuit, err)
	}
	proof, err := k.proveAssignment(w)
	if err != nil {
		return nil, err
	}
	pub, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("prove %s: encode statement: %w", k.Info.Circuit, err)
	}
	public, err := PublicVector(st)
	if err != nil {
		return nil, err
	}
	if err := verifyWithKey(k.Info.Circuit, k.VK, public, proof); err != nil {
		return nil, fmt.Errorf("prove %s: fresh proof does not verify: %w", k.Info.Circuit, err)
	}
	return &ProofFile{Circuit: k.Info.Circuit, VKID: k.Info.VKID, Public: pub, Proof: encodeBase64(proof)}, nil
}

// proveAssignment runs the Groth16 prover on w without native pre-checks
// and returns the compressed proof.
func (k *Keys) proveAssignment(w Witness) ([]byte, error) {
	assign, err := w.fullAssignment()
	if err != nil {
		return nil, fmt.Errorf("prove %s: %w", k.Info.Circuit, err)
	}
	wit, err := frontend.NewWitness(assign, ecc.BN254.ScalarField())
	if err != nil {
		return nil, fmt.Errorf("prove %s: witness: %w", k.Info.Circuit, err)
	}
	p, err := groth16.Prove(k.CCS, k.PK, wit)
	if err != nil {
		return nil, fmt.Errorf("prove %s: %w", k.Info.Circuit, err)
	}
	bp, ok := p.(*groth16bn254.Proof)
	if !ok {
		return nil, fmt.Errorf("prove %s: unexpected proof type %T", k.Info.Circuit, p)
	}
	return EncodeProof(bp)
}
