package zk

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"

	"github.com/cohortnet/cohort/internal/recent"
)

// ProofFile is the JSON document `cohort zk prove` writes and `cohort zk
// verify` reads; the ledger stores the same triple (vk_id, public, proof).
type ProofFile struct {
	Circuit string `json:"circuit"`
	VKID    string `json:"vk_id"`
	// Public is the circuit's statement (ComplianceStatement, InputStatement
	// or CompletionStatement as JSON).
	Public json.RawMessage `json:"public"`
	// Proof is the base64 (standard, padded) compressed Groth16 proof.
	Proof string `json:"proof"`
}

// MaxProofFileJSON bounds a proof file.
const MaxProofFileJSON = MaxStatementJSON + 4<<10

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// ParseProofFile decodes a proof file (bounded, strict).
func ParseProofFile(raw []byte) (*ProofFile, error) {
	if len(raw) > MaxProofFileJSON {
		return nil, fmt.Errorf("%w: proof file is %d bytes, limit %d", ErrMalformed, len(raw), MaxProofFileJSON)
	}
	dec := strictDecoder(raw)
	var pf ProofFile
	if err := dec.Decode(&pf); err != nil {
		return nil, fmt.Errorf("%w: proof file: %v", ErrMalformed, err)
	}
	if err := expectEOF(dec); err != nil {
		return nil, err
	}
	return &pf, nil
}

// ProofBytes decodes the base64 proof, bounded by the largest proof any
// accepted key can have.
func (pf *ProofFile) ProofBytes() ([]byte, error) {
	if len(pf.Proof) > base64.StdEncoding.EncodedLen(ProofSize(maxCommitments)) {
		return nil, fmt.Errorf("%w: proof field too long", ErrMalformed)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(pf.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: proof base64: %v", ErrMalformed, err)
	}
	return b, nil
}

// PublicVector returns a statement's public inputs in circuit witness order
// (without gnark's constant-one wire): the vector the ledger passes to
// Registry.Verify.
func PublicVector(st Statement) (fr.Vector, error) {
	assign, err := st.publicAssignment()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	w, err := frontend.NewWitness(assign, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return nil, fmt.Errorf("%w: public witness: %v", ErrMalformed, err)
	}
	v, ok := w.Vector().(fr.Vector)
	if !ok {
		return nil, fmt.Errorf("public witness: unexpected vector %T", w.Vector())
	}
	return v, nil
}

// Registry maps verifying-key IDs to verifying keys. It is what the ledger
// consults: Register keys (from the genesis or a key-registration tx), then
// Verify(vkID, public inputs, proof bytes). Safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	keys     map[string]*registeredKey
	verdicts *recent.Set
}

type registeredKey struct {
	info KeyInfo
	vk   *groth16bn254.VerifyingKey
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{keys: make(map[string]*registeredKey), verdicts: recent.New(verdictCacheSize)}
}

// Register decodes an untrusted compressed verifying key for circuit (at
// this build's CircuitVersion and gnark version), checks its shape against
// the circuit, and returns its vk ID. Registering the same key twice is a
// no-op.
func (r *Registry) Register(circuit string, vkBytes []byte) (string, error) {
	s, err := lookupSpec(circuit)
	if err != nil {
		return "", err
	}
	vk, err := DecodeVerifyingKey(vkBytes)
	if err != nil {
		return "", fmt.Errorf("register %s: %w", circuit, err)
	}
	nbCommit := len(vk.CommitmentKeys)
	if got := len(vk.G1.K) - 1 - nbCommit; got != s.nbPublic {
		return "", fmt.Errorf("register %s: %w: key has %d public inputs, circuit has %d", circuit, ErrMalformed, got, s.nbPublic)
	}
	id := VKID(circuit, CircuitVersion(circuit), GnarkVersion(), vkBytes)
	info := KeyInfo{
		Circuit: circuit, Version: CircuitVersion(circuit), GnarkVersion: GnarkVersion(), VKID: id,
		NbPublic: s.nbPublic, ProofBytes: ProofSize(nbCommit),
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.keys[id]; !ok {
		r.keys[id] = &registeredKey{info: info, vk: vk}
	}
	return id, nil
}

// RegisterDir registers the verifying key of every circuit found in a keys
// directory (as written by `cohort setup`). It returns the keys' info.
func (r *Registry) RegisterDir(dir string) ([]KeyInfo, error) {
	var out []KeyInfo
	for _, c := range CircuitNames() {
		if _, err := os.Stat(vkPath(dir, c)); errors.Is(err, os.ErrNotExist) {
			continue // this directory has no key for c
		}
		info, vkBytes, err := LoadKeyInfo(dir, c)
		if err != nil {
			return nil, err
		}
		if info.Version != CircuitVersion(c) || info.GnarkVersion != GnarkVersion() {
			return nil, fmt.Errorf("%w: %s key in %s is for v%s / gnark %s", ErrStaleKeys, c, dir, info.Version, info.GnarkVersion)
		}
		if _, err := r.Register(c, vkBytes); err != nil {
			return nil, err
		}
		// Entries are immutable once published (readers use them without
		// the lock): replace, do not modify, to attach the file's info.
		r.mu.Lock()
		if old, ok := r.keys[info.VKID]; ok {
			r.keys[info.VKID] = &registeredKey{info: info, vk: old.vk}
		}
		r.mu.Unlock()
		out = append(out, info)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no verifying keys in %s", dir)
	}
	return out, nil
}

// Key returns the info of a registered key.
func (r *Registry) Key(vkID string) (KeyInfo, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.keys[vkID]
	if !ok {
		return KeyInfo{}, false
	}
	return k.info, true
}

func (r *Registry) lookup(vkID string) (*registeredKey, error) {
	r.mu.RLock()
	k, ok := r.keys[vkID]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, truncate(vkID))
	}
	return k, nil
}

// Verify checks untrusted proof bytes against the key vkID and the public
// inputs in circuit order (PublicVector). It returns nil for a valid proof;
// otherwise an error wrapping ErrUnknownKey, ErrMalformed (wrong length or
// encoding, wrong number of public inputs) or ErrInvalidProof. No input makes
// it panic or allocate more than a fixed bound.
func (r *Registry) Verify(vkID string, public fr.Vector, proof []byte) error {
	k, err := r.lookup(vkID)
	if err != nil {
		return err
	}
	return verifyWithKey(k.info.Circuit, k.vk, public, proof)
}

// VerifyStatement verifies a proof of a typed statement.
func (r *Registry) VerifyStatement(vkID string, st Statement, proof []byte) error {
	k, err := r.lookup(vkID)
	if err != nil {
		return err
	}
	if st.CircuitName() != k.info.Circuit {
		return fmt.Errorf("%w: %s statement for a %s key", ErrMalformed, st.CircuitName(), k.info.Circuit)
	}
	public, err := PublicVector(st)
	if err != nil {
		return err
	}
	vk := verdictKey(vkID, public, proof)
	if r.verdicts.Has(vk) {
		return nil
	}
	if err := verifyWithKey(k.info.Circuit, k.vk, public, proof); err != nil {
		return err
	}
	r.verdicts.Add(vk)
	return nil
}

// VerifyJSON verifies a proof of a statement given as JSON.
func (r *Registry) VerifyJSON(vkID string, statement []byte, proof []byte) error {
	k, err := r.lookup(vkID)
	if err != nil {
		return err
	}
	st, err := ParseStatement(k.info.Circuit, statement)
	if err != nil {
		return err
	}
	return r.VerifyStatement(vkID, st, proof)
}

// VerifyFile verifies a proof file.
func (r *Registry) VerifyFile(pf *ProofFile) error {
	k, err := r.lookup(pf.VKID)
	if err != nil {
		return err
	}
	if pf.Circuit != k.info.Circuit {
		return fmt.Errorf("%w: proof file names circuit %q, key %s is for %s", ErrMalformed, truncate(pf.Circuit), pf.VKID, k.info.Circuit)
	}
	proof, err := pf.ProofBytes()
	if err != nil {
		return err
	}
	return r.VerifyJSON(pf.VKID, pf.Public, proof)
}

// verifyWithKey is the one place proofs are checked.
func verifyWithKey(circuit string, vk *groth16bn254.VerifyingKey, public fr.Vector, proofBytes []byte) (err error) {
	s, err := lookupSpec(circuit)
	if err != nil {
		return err
	}
	if len(public) != s.nbPublic {
		return fmt.Errorf("%w: %d public inputs, %s expects %d", ErrMalformed, len(public), circuit, s.nbPublic)
	}
	if s.checkPublic != nil {
		if err := s.checkPublic(public); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	proof, err := DecodeProof(proofBytes, len(vk.CommitmentKeys))
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: verifier panicked: %v", ErrMalformed, r)
		}
	}()
	// gnark appends commitment hashes to the public vector: give it a copy.
	if err := groth16bn254.Verify(proof, vk, slices.Clone(public)); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProof, err)
	}
	return nil
}

// VerifyProofFileWithKeys verifies an encoded proof file against the
// verifying keys in keysDir (`cohort zk verify`). A nil error means valid;
// errors wrap ErrInvalidProof (well-formed but false), or ErrMalformed /
// ErrUnknownKey / a key-loading error (the input cannot be judged).
func VerifyProofFileWithKeys(keysDir string, proofFile []byte) error {
	pf, err := ParseProofFile(proofFile)
	if err != nil {
		return err
	}
	reg := NewRegistry()
	if _, err := reg.RegisterDir(keysDir); err != nil {
		return fmt.Errorf("load verifying keys: %w", err)
	}
	return reg.VerifyFile(pf)
}
