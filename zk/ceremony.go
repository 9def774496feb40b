package zk

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	cmpcsetup "github.com/consensys/gnark-crypto/ecc/bn254/mpcsetup"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// A ceremony is a directory passed from contributor to contributor (shared
// drive, or copied machine to machine). It holds ceremony.json (the state
// and the SHA-256 of every file), the phase-1 contributions (powers of tau
// for the circuit's domain), the sealed phase-1 parameters, and the phase-2
// (circuit-specific) contributions:
//
//	ceremony.json
//	phase1-0001.bin … phase1-000n.bin
//	phase1-sealed.bin
//	phase2-0000.bin (starting state of phase 2)
//	phase2-0001.bin … phase2-000m.bin
//
// Steps: init → contribute (phase 1, any number of times) → close-phase1
// with a public random beacon → contribute (phase 2) → finalize with a
// second beacon, which writes the keys. Every contribute first verifies the
// whole chain of the current phase (each contribution's proofs of knowledge
// and update consistency, as gnark's mpcsetup checks them), so a tampered
// contribution is caught by the next contributor; `verify` re-checks the
// entire transcript from scratch and recomputes the keys.

const (
	ceremonyManifest    = "ceremony.json"
	ceremonySealedFile  = "phase1-sealed.bin"
	ceremonyPhase2Init  = "phase2-0000.bin"
	maxContributorName  = 64
	maxContributions    = 256
	ceremonyFormat      = "cohort-groth16-mpc/1"
	phase1BeaconContext = "cohort/zk/ceremony/phase1"
	phase2BeaconContext = "cohort/zk/ceremony/phase2"
)

// Ceremony phases.
const (
	PhaseOne  = "phase1"
	PhaseTwo  = "phase2"
	PhaseDone = "done"
)

// ContributionRecord names one contribution file and its hash.
type ContributionRecord struct {
	Contributor string `json:"contributor"`
	File        string `json:"file"`
	SHA256      string `json:"sha256"`
}

// CeremonyTranscript is the public record of a ceremony (ceremony.json, and
// embedded in ceremony keys' KeyInfo).
type CeremonyTranscript struct {
	Format        string               `json:"format"`
	Circuit       string               `json:"circuit"`
	Version       string               `json:"version"`
	GnarkVersion  string               `json:"gnark_version"`
	CircuitDigest string               `json:"circuit_digest"`
	DomainSize    uint64               `json:"domain_size"`
	Phase         string               `json:"phase"`
	Phase1        []ContributionRecord `json:"phase1"`
	Phase1Beacon  string               `json:"phase1_beacon,omitempty"`
	SealedSHA256  string               `json:"phase1_sealed_sha256,omitempty"`
	// Phase2InitSHA256 is the hash of phase2-0000.bin, the phase-2 starting
	// state derived from the sealed phase 1 and the circuit. Contributors
	// start from it (deriving it costs seconds); finalize and verify
	// recompute it.
	Phase2InitSHA256 string               `json:"phase2_initial_sha256,omitempty"`
	Phase2           []ContributionRecord `json:"phase2"`
	Phase2Beacon     string               `json:"phase2_beacon,omitempty"`
	VKID             string               `json:"vk_id,omitempty"`
}

func readManifest(dir string) (*CeremonyTranscript, error) {
	raw, err := readFileLimited(filepath.Join(dir, ceremonyManifest), 1<<20)
	if err != nil {
		return nil, fmt.Errorf("ceremony: %w", err)
	}
	var m CeremonyTranscript
	dec := strictDecoder(raw)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("ceremony: %s: %w", ceremonyManifest, err)
	}
	if m.Format != ceremonyFormat {
		return nil, fmt.Errorf("ceremony: format %q, want %q", truncate(m.Format), ceremonyFormat)
	}
	if m.Version != CircuitVersion(m.Circuit) || m.GnarkVersion != GnarkVersion() {
		return nil, fmt.Errorf("%w: ceremony is for circuit v%s / gnark %s, this build is v%s / gnark %s",
			ErrStaleKeys, truncate(m.Version), truncate(m.GnarkVersion), CircuitVersion(m.Circuit), GnarkVersion())
	}
	if len(m.Phase1) > maxContributions || len(m.Phase2) > maxContributions {
		return nil, errors.New("ceremony: too many contributions")
	}
	return &m, nil
}

func writeManifest(dir string, m *CeremonyTranscript) error {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("ceremony: encode manifest: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, ceremonyManifest), func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	})
}

// ceremonyCircuit compiles the circuit and checks it against the manifest.
func ceremonyCircuit(m *CeremonyTranscript) (*cs.R1CS, error) {
	ccs, err := compileR1CS(m.Circuit)
	if err != nil {
		return nil, err
	}
	digest, err := CircuitDigest(ccs)
	if err != nil {
		return nil, err
	}
	if digest != m.CircuitDigest {
		return nil, fmt.Errorf("%w: ceremony circuit digest differs from this build's %s circuit", ErrStaleKeys, m.Circuit)
	}
	if n := ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints())); n != m.DomainSize {
		return nil, fmt.Errorf("ceremony: domain size %d, circuit needs %d", m.DomainSize, n)
	}
	return ccs, nil
}

// InitCeremony starts a ceremony for circuit in an empty or new directory.
func InitCeremony(dir, circuit string) (*CeremonyTranscript, error) {
	if _, err := os.Stat(filepath.Join(dir, ceremonyManifest)); err == nil {
		return nil, fmt.Errorf("ceremony: %s already holds a ceremony", dir)
	}
	ccs, err := compileR1CS(circuit)
	if err != nil {
		return nil, err
	}
	digest, err := CircuitDigest(ccs)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ceremony: %w", err)
	}
	m := &CeremonyTranscript{
		Format:        ceremonyFormat,
		Circuit:       circuit,
		Version:       CircuitVersion(circuit),
		GnarkVersion:  GnarkVersion(),
		CircuitDigest: digest,
		DomainSize:    ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints())),
		Phase:         PhaseOne,
		Phase1:        []ContributionRecord{},
		Phase2:        []ContributionRecord{},
	}
	return m, writeManifest(dir, m)
}

func checkContributorName(name string) error {
	if name == "" || len(name) > maxContributorName {
		return fmt.Errorf("ceremony: contributor name must be 1..%d bytes", maxContributorName)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return errors.New("ceremony: contributor name must be printable")
		}
	}
	return nil
}

// readContribution reads a recorded contribution file and checks its hash.
func readContribution(dir string, rec ContributionRecord, limit int64) ([]byte, error) {
	if rec.File != filepath.Base(rec.File) || rec.File == "" || rec.File == "." || rec.File == ".." {
		return nil, fmt.Errorf("ceremony: bad file name %q", truncate(rec.File))
	}
	b, err := readFileLimited(filepath.Join(dir, rec.File), limit)
	if err != nil {
		return nil, fmt.Errorf("ceremony: %w", err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != rec.SHA256 {
		return nil, fmt.Errorf("ceremony: %s does not match its recorded SHA-256", rec.File)
	}
	return b, nil
}

// verifyPhase1Chain verifies all phase-1 contributions from the initial
// state and returns the last one.
func verifyPhase1Chain(ctx context.Context, dir string, m *CeremonyTranscript, progress io.Writer) (*mpcsetup.Phase1, error) {
	prev := mpcsetup.NewPhase1(m.DomainSize)
	for i, rec := range m.Phase1 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		next := new(mpcsetup.Phase1)
		if err := readAgainstTemplate(dir, rec, prev, &prev.Challenge, next); err != nil {
			return nil, fmt.Errorf("ceremony: phase 1 contribution %d (%s): %w", i+1, truncate(rec.Contributor), err)
		}
		if err := prev.Verify(next); err != nil {
			return nil, fmt.Errorf("ceremony: phase 1 contribution %d (%s) is invalid: %w", i+1, truncate(rec.Contributor), err)
		}
		fmt.Fprintf(progress, "  phase 1 contribution %d/%d (%s) verified in %.1fs\n", i+1, len(m.Phase1), truncate(rec.Contributor), time.Since(start).Seconds())
		prev = next
	}
	return prev, nil
}

// sealedCommons re-derives the sealed phase-1 parameters and checks them
// against the recorded hash.
func sealedCommons(ctx context.Context, dir string, m *CeremonyTranscript, progress io.Writer) (*mpcsetup.SrsCommons, error) {
	last, err := verifyPhase1Chain(ctx, dir, m, progress)
	if err != nil {
		return nil, err
	}
	beacon, err := hex.DecodeString(m.Phase1Beacon)
	if err != nil || len(beacon) == 0 {
		return nil, errors.New("ceremony: phase 1 beacon missing or not hex")
	}
	commons := last.Seal(append([]byte(phase1BeaconContext), beacon...))
	var buf bytes.Buffer
	if _, err := commons.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("ceremony: encode sealed phase 1: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if m.SealedSHA256 != "" && hex.EncodeToString(sum[:]) != m.SealedSHA256 {
		return nil, errors.New("ceremony: sealed phase 1 parameters do not match the transcript")
	}
	return &commons, nil
}

// initialPhase2 derives the phase-2 starting state and checks it against
// the recorded hash of phase2-0000.bin.
func initialPhase2(m *CeremonyTranscript, ccs *cs.R1CS, commons *mpcsetup.SrsCommons) (*mpcsetup.Phase2, *mpcsetup.Phase2Evaluations, error) {
	p := new(mpcsetup.Phase2)
	evals := p.Initialize(ccs, commons)
	h := sha256.New()
	if _, err := p.WriteTo(h); err != nil {
		return nil, nil, fmt.Errorf("ceremony: hash phase 2 start: %w", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != m.Phase2InitSHA256 {
		return nil, nil, errors.New("ceremony: phase2-0000.bin is not derived from the sealed phase 1")
	}
	return p, &evals, nil
}

// phase2Template is an all-zero Phase2 with the slice sizes gnark's
// Initialize gives the circuit: the layout phase2-0000.bin must have.
func phase2Template(ccs *cs.R1CS, domain uint64) (*mpcsetup.Phase2, error) {
	commitments, ok := ccs.CommitmentInfo.(constraint.Groth16Commitments)
	if !ok {
		return nil, errors.New("ceremony: unexpected commitment info")
	}
	nbInternal, nbSecret, _ := ccs.GetNbVariables()
	nbCommitted := 0
	for _, c := range commitments {
		nbCommitted += len(c.PrivateCommitted)
	}
	p := new(mpcsetup.Phase2)
	p.Parameters.G1.PKK = make([]curve.G1Affine, nbInternal+nbSecret-nbCommitted-len(commitments))
	p.Parameters.G1.Z = make([]curve.G1Affine, domain-1)
	p.Parameters.G1.SigmaCKK = make([][]curve.G1Affine, len(commitments))
	for j := range commitments {
		p.Parameters.G1.SigmaCKK[j] = make([]curve.G1Affine, len(commitments[j].PrivateCommitted))
	}
	p.Parameters.G2.Sigma = make([]curve.G2Affine, len(commitments))
	p.Sigmas = make([]cmpcsetup.UpdateProof, len(commitments))
	return p, nil
}

// readInitialPhase2 reads phase2-0000.bin (hash-checked, layout-checked).
func readInitialPhase2(dir string, m *CeremonyTranscript, ccs *cs.R1CS) (*mpcsetup.Phase2, error) {
	tmpl, err := phase2Template(ccs, m.DomainSize)
	if err != nil {
		return nil, err
	}
	l, err := recordLayout(tmpl, false)
	if err != nil {
		return nil, err
	}
	b, err := readContribution(dir, ContributionRecord{File: ceremonyPhase2Init, SHA256: m.Phase2InitSHA256}, l.size)
	if err != nil {
		return nil, err
	}
	p := new(mpcsetup.Phase2)
	if err := l.decode(b, p); err != nil {
		return nil, fmt.Errorf("ceremony: %s: %w", ceremonyPhase2Init, err)
	}
	return p, nil
}

// verifyPhase2Chain verifies all phase-2 contributions starting from prev
// and returns the last one.
func verifyPhase2Chain(ctx context.Context, dir string, m *CeremonyTranscript, prev *mpcsetup.Phase2, progress io.Writer) (*mpcsetup.Phase2, error) {
	for i, rec := range m.Phase2 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		next := new(mpcsetup.Phase2)
		if err := readAgainstTemplate(dir, rec, prev, &prev.Challenge, next); err != nil {
			return nil, fmt.Errorf("ceremony: phase 2 contribution %d (%s): %w", i+1, truncate(rec.Contributor), err)
		}
		if err := prev.Verify(next); err != nil {
			return nil, fmt.Errorf("ceremony: phase 2 contribution %d (%s) is invalid: %w", i+1, truncate(rec.Contributor), err)
		}
		fmt.Fprintf(progress, "  phase 2 contribution %d/%d (%s) verified in %.1fs\n", i+1, len(m.Phase2), truncate(rec.Contributor), time.Since(start).Seconds())
		prev = next
	}
	return prev, nil
}

// readAgainstTemplate decodes an untrusted contribution whose layout must
// equal prev's (with a 32-byte challenge, as every contribution carries).
func readAgainstTemplate(dir string, rec ContributionRecord, prev io.WriterTo, prevChallenge *[]byte, into io.ReaderFrom) error {
	saved := *prevChallenge
	*prevChallenge = make([]byte, sha256.Size)
	layout, err := recordLayout(prev, true)
	*prevChallenge = saved
	if err != nil {
		return err
	}
	b, err := readContribution(dir, rec, layout.size)
	if err != nil {
		return err
	}
	return layout.decode(b, into)
}

// contribute appends one contribution to the current phase.
func contribute(ctx context.Context, dir, name string, progress io.Writer) (_ *CeremonyTranscript, _ ContributionRecord, err error) {
	if err := checkContributorName(name); err != nil {
		return nil, ContributionRecord{}, err
	}
	unlock, err := lockCeremony(dir)
	if err != nil {
		return nil, ContributionRecord{}, err
	}
	defer unlock(&err)
	m, err := readManifest(dir)
	if err != nil {
		return nil, ContributionRecord{}, err
	}
	var (
		next    io.WriterTo
		records *[]ContributionRecord
		prefix  string
	)
	fmt.Fprintf(progress, "ceremony %s: verifying %s before contributing\n", m.Circuit, m.Phase)
	switch m.Phase {
	case PhaseOne:
		if _, err := ceremonyCircuit(m); err != nil {
			return nil, ContributionRecord{}, err
		}
		last, err := verifyPhase1Chain(ctx, dir, m, progress)
		if err != nil {
			return nil, ContributionRecord{}, err
		}
		start := time.Now()
		last.Contribute()
		fmt.Fprintf(progress, "  phase 1 contribution by %s computed in %.1fs\n", name, time.Since(start).Seconds())
		next, records, prefix = last, &m.Phase1, "phase1"
	case PhaseTwo:
		ccs, err := ceremonyCircuit(m)
		if err != nil {
			return nil, ContributionRecord{}, err
		}
		first, err := readInitialPhase2(dir, m, ccs)
		if err != nil {
			return nil, ContributionRecord{}, err
		}
		last, err := verifyPhase2Chain(ctx, dir, m, first, progress)
		if err != nil {
			return nil, ContributionRecord{}, err
		}
		start := time.Now()
		last.Contribute()
		fmt.Fprintf(progress, "  phase 2 contribution by %s computed in %.1fs\n", name, time.Since(start).Seconds())
		next, records, prefix = last, &m.Phase2, "phase2"
	default:
		return nil, ContributionRecord{}, fmt.Errorf("ceremony: phase %q takes no contributions", truncate(m.Phase))
	}
	if len(*records) >= maxContributions {
		return nil, ContributionRecord{}, errors.New("ceremony: contribution limit reached")
	}
	if err := ctx.Err(); err != nil {
		return nil, ContributionRecord{}, err
	}
	rec := ContributionRecord{Contributor: name, File: fmt.Sprintf("%s-%04d.bin", prefix, len(*records)+1)}
	h := sha256.New()
	if err := writeFileAtomic(filepath.Join(dir, rec.File), func(w io.Writer) error {
		_, err := next.WriteTo(io.MultiWriter(w, h))
		return err
	}); err != nil {
		return nil, ContributionRecord{}, fmt.Errorf("ceremony: write %s: %w", rec.File, err)
	}
	rec.SHA256 = hex.EncodeToString(h.Sum(nil))
	*records = append(*records, rec)
	return m, rec, writeManifest(dir, m)
}

// Contribute verifies the current phase's contributions and adds one by
// name. The contribution's randomness comes from crypto/rand inside gnark
// and is discarded when the call returns.
func Contribute(ctx context.Context, dir, name string, progress io.Writer) (ContributionRecord, error) {
	_, rec, err := contribute(ctx, dir, name, progress)
	return rec, err
}

// lockCeremony takes the directory's lock file, so that two contributors
// working on a shared directory cannot both append contribution n+1. A lock
// left by a crashed process must be removed by hand (the error says where).
func lockCeremony(dir string) (unlock func(*error), err error) {
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("ceremony: %s is locked by another step in progress (remove %s if it crashed)", dir, path)
		}
		return nil, fmt.Errorf("ceremony: lock: %w", err)
	}
	_ = f.Close()
	return func(errp *error) {
		if rerr := os.Remove(path); rerr != nil && *errp == nil {
			*errp = fmt.Errorf("ceremony: unlock: %w", rerr)
		}
	}, nil
}

// NewBeacon returns 32 random bytes for a local ceremony. A real ceremony
// uses a public beacon fixed after the last contribution (a drand round, a
// ledger block hash) so no contributor could have predicted it.
func NewBeacon() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return nil, fmt.Errorf("ceremony: beacon: %w", err)
	}
	return b, nil
}

// ClosePhase1 verifies phase 1, seals it with the public beacon and opens
// phase 2.
func ClosePhase1(ctx context.Context, dir string, beacon []byte, progress io.Writer) (err error) {
	if len(beacon) == 0 || len(beacon) > 1024 {
		return errors.New("ceremony: beacon must be 1..1024 bytes")
	}
	unlock, err := lockCeremony(dir)
	if err != nil {
		return err
	}
	defer unlock(&err)
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	if m.Phase != PhaseOne {
		return fmt.Errorf("ceremony: phase 1 already closed (phase %s)", m.Phase)
	}
	if len(m.Phase1) == 0 {
		return errors.New("ceremony: phase 1 has no contributions")
	}
	ccs, err := ceremonyCircuit(m)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "ceremony %s: closing phase 1\n", m.Circuit)
	m.Phase1Beacon = hex.EncodeToString(beacon)
	commons, err := sealedCommons(ctx, dir, m, progress)
	if err != nil {
		return err
	}
	h := sha256.New()
	if err := writeFileAtomic(filepath.Join(dir, ceremonySealedFile), func(w io.Writer) error {
		_, err := commons.WriteTo(io.MultiWriter(w, h))
		return err
	}); err != nil {
		return fmt.Errorf("ceremony: write %s: %w", ceremonySealedFile, err)
	}
	m.SealedSHA256 = hex.EncodeToString(h.Sum(nil))
	start := time.Now()
	p2 := new(mpcsetup.Phase2)
	p2.Initialize(ccs, commons)
	h = sha256.New()
	if err := writeFileAtomic(filepath.Join(dir, ceremonyPhase2Init), func(w io.Writer) error {
		_, err := p2.WriteTo(io.MultiWriter(w, h))
		return err
	}); err != nil {
		return fmt.Errorf("ceremony: write %s: %w", ceremonyPhase2Init, err)
	}
	m.Phase2InitSHA256 = hex.EncodeToString(h.Sum(nil))
	fmt.Fprintf(progress, "  phase 2 starting state derived in %.1fs\n", time.Since(start).Seconds())
	m.Phase = PhaseTwo
	return writeManifest(dir, m)
}

// FinalizeCeremony verifies the whole transcript, seals phase 2 with the
// public beacon and returns the keys (Setup = "ceremony").
func FinalizeCeremony(ctx context.Context, dir string, beacon []byte, progress io.Writer) (_ *Keys, err error) {
	if len(beacon) == 0 || len(beacon) > 1024 {
		return nil, errors.New("ceremony: beacon must be 1..1024 bytes")
	}
	unlock, err := lockCeremony(dir)
	if err != nil {
		return nil, err
	}
	defer unlock(&err)
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if m.Phase != PhaseTwo {
		return nil, fmt.Errorf("ceremony: cannot finalize in phase %s", m.Phase)
	}
	if len(m.Phase2) == 0 {
		return nil, errors.New("ceremony: phase 2 has no contributions")
	}
	m.Phase2Beacon = hex.EncodeToString(beacon)
	keys, err := ceremonyKeys(ctx, dir, m, progress)
	if err != nil {
		return nil, err
	}
	m.Phase = PhaseDone
	m.VKID = keys.Info.VKID
	if err := writeManifest(dir, m); err != nil {
		return nil, err
	}
	t := *m
	keys.Info.Transcript = &t
	return keys, nil
}

// ceremonyKeys re-verifies both phases from scratch and seals phase 2.
func ceremonyKeys(ctx context.Context, dir string, m *CeremonyTranscript, progress io.Writer) (*Keys, error) {
	ccs, err := ceremonyCircuit(m)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "ceremony %s: verifying the transcript\n", m.Circuit)
	commons, err := sealedCommons(ctx, dir, m, progress)
	if err != nil {
		return nil, err
	}
	first, evals, err := initialPhase2(m, ccs, commons)
	if err != nil {
		return nil, err
	}
	last, err := verifyPhase2Chain(ctx, dir, m, first, progress)
	if err != nil {
		return nil, err
	}
	beacon, err := hex.DecodeString(m.Phase2Beacon)
	if err != nil || len(beacon) == 0 {
		return nil, errors.New("ceremony: phase 2 beacon missing or not hex")
	}
	pk, vk := last.Seal(commons, evals, append([]byte(phase2BeaconContext), beacon...))
	return newKeys(m.Circuit, SetupCeremony, ccs, pk, vk)
}

// VerifyCeremony re-checks a ceremony directory from scratch: every file
// hash, every contribution's proofs, the sealed phase-1 parameters and, for
// a finished ceremony, that the transcript yields the recorded vk ID.
func VerifyCeremony(ctx context.Context, dir string, progress io.Writer) (*CeremonyTranscript, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	ccs, err := ceremonyCircuit(m)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "ceremony %s: verifying (phase %s)\n", m.Circuit, m.Phase)
	switch m.Phase {
	case PhaseOne:
		_, err = verifyPhase1Chain(ctx, dir, m, progress)
	case PhaseTwo:
		var commons *mpcsetup.SrsCommons
		if commons, err = sealedCommons(ctx, dir, m, progress); err == nil {
			var first *mpcsetup.Phase2
			if first, _, err = initialPhase2(m, ccs, commons); err == nil {
				_, err = verifyPhase2Chain(ctx, dir, m, first, progress)
			}
		}
	case PhaseDone:
		var keys *Keys
		if keys, err = ceremonyKeys(ctx, dir, m, progress); err == nil && keys.Info.VKID != m.VKID {
			err = fmt.Errorf("ceremony: transcript yields vk %s, recorded %s", keys.Info.VKID, m.VKID)
		}
	default:
		err = fmt.Errorf("ceremony: unknown phase %q", truncate(m.Phase))
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RunLocalCeremony runs a whole ceremony in dir with n local contributors
// per phase and fresh random beacons: a convenience for tests and
// single-operator networks. It is only as trustworthy as this one machine.
func RunLocalCeremony(ctx context.Context, dir, circuit string, n int, progress io.Writer) (*Keys, error) {
	if n < 1 || n > maxContributions {
		return nil, fmt.Errorf("ceremony: %d contributors, want 1..%d", n, maxContributions)
	}
	if _, err := InitCeremony(dir, circuit); err != nil {
		return nil, err
	}
	for i := 1; i <= n; i++ {
		if _, err := Contribute(ctx, dir, fmt.Sprintf("local-%d", i), progress); err != nil {
			return nil, err
		}
	}
	b1, err := NewBeacon()
	if err != nil {
		return nil, err
	}
	if err := ClosePhase1(ctx, dir, b1, progress); err != nil {
		return nil, err
	}
	for i := 1; i <= n; i++ {
		if _, err := Contribute(ctx, dir, fmt.Sprintf("local-%d", i), progress); err != nil {
			return nil, err
		}
	}
	b2, err := NewBeacon()
	if err != nil {
		return nil, err
	}
	return FinalizeCeremony(ctx, dir, b2, progress)
}
