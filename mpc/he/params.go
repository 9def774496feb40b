package he

import (
	"crypto/sha256"
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/he/heint"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// Scheme names the homomorphic scheme a ciphertext belongs to.
type Scheme uint8

const (
	// CKKS is approximate arithmetic over the reals (lattigo he/hefloat).
	CKKS Scheme = 1
	// BGV is exact arithmetic modulo the plaintext modulus (lattigo he/heint).
	BGV Scheme = 2
)

func (s Scheme) String() string {
	switch s {
	case CKKS:
		return "CKKS"
	case BGV:
		return "BGV"
	default:
		return fmt.Sprintf("scheme(%d)", uint8(s))
	}
}

// SmudgingSigma is the standard deviation of the noise each member adds to
// its public-key-switching share. 2^30 is the value lattigo's multiparty
// examples use for PublicKeySwitch (examples/multi_party/int_psi); it hides a
// member's secret-key share in its decryption share as long as the
// ciphertext noise stays well below 2^30 (see mhe.NoisePublicKeySwitch), and
// the CKKS output scale is raised before key switching so that this noise
// costs no accuracy (see Preset.OutputScale).
const SmudgingSigma = float64(1 << 30)

// Preset is one parameter set for a committee: a CKKS and a BGV
// parameterisation over the same RLWE ring, so that one set of collective
// keys serves both schemes.
type Preset struct {
	// Name identifies the preset; it is part of every stored key's name.
	Name string
	// Secure tells whether the preset claims 128-bit security. Insecure
	// presets exist only to keep unit tests fast.
	Secure bool
	// CKKS parameters for real-valued jobs.
	CKKS hefloat.Parameters
	// BGV parameters for exact integer jobs.
	BGV heint.Parameters
	// Smudging is the flooding noise of public-key switching.
	Smudging ring.DiscreteGaussian
	// OutputLogScale is the log2 of the scale at which CKKS circuits deliver
	// their results for key switching (see OutputScale).
	OutputLogScale int

	fingerprints map[Scheme][8]byte // computed once by newPreset
}

// OutputScale is the scale CKKS job circuits must deliver results at
// (Run rejects lower ones). The smudging noise of key switching, about
// 2^(30+logN/2) in the slots, is then ~2^-20 of a unit value. Circuits reach
// it through their last rescale (e.g. the polynomial evaluator's target
// scale), not by multiplying a result by a constant afterwards: that would
// multiply the ciphertext's own noise too, and the smudging has to stay far
// above that noise to hide it.
func (p *Preset) OutputScale() rlwe.Scale { return rlwe.NewScale(math.Exp2(float64(p.OutputLogScale))) }

// RLWE returns the parameters of the ring shared by both schemes.
func (p *Preset) RLWE() rlwe.Parameters { return *p.CKKS.GetRLWEParameters() }

// Parameters returns the lattigo parameters of one scheme.
func (p *Preset) Parameters(s Scheme) (rlwe.ParameterProvider, error) {
	switch s {
	case CKKS:
		return p.CKKS, nil
	case BGV:
		return p.BGV, nil
	default:
		return nil, fmt.Errorf("he: unknown scheme %d", s)
	}
}

// Fingerprint identifies a scheme's parameters: the first 8 bytes of the
// SHA-256 of lattigo's canonical parameter encoding. Ciphertexts carry it so
// that a ciphertext made under other parameters is rejected before decoding.
func (p *Preset) Fingerprint(s Scheme) ([8]byte, error) {
	if fp, ok := p.fingerprints[s]; ok {
		return fp, nil
	}
	return p.computeFingerprint(s)
}

func (p *Preset) computeFingerprint(s Scheme) ([8]byte, error) {
	var fp [8]byte
	var b []byte
	var err error
	switch s {
	case CKKS:
		b, err = p.CKKS.MarshalBinary()
	case BGV:
		b, err = p.BGV.MarshalBinary()
	default:
		return fp, fmt.Errorf("he: unknown scheme %d", s)
	}
	if err != nil {
		return fp, fmt.Errorf("he: marshal %v parameters: %w", s, err)
	}
	h := sha256.Sum256(append([]byte{byte(s)}, b...))
	copy(fp[:], h[:8])
	return fp, nil
}

// The moduli below give 6 CKKS levels (one for the linear layer, five for a
// degree-31 polynomial) with a 45-bit scale and a 60-bit last modulus that
// holds the result at OutputLogScale. Two 54-bit special primes make the
// gadget decomposition 4 digits deep. logQP = 60 + 6·45 + 2·54 = 438.
var (
	presetLogQ = []int{60, 45, 45, 45, 45, 45, 45}
	presetLogP = []int{54, 54}
)

// bgvPlaintextBits is the size of the BGV plaintext modulus. Sums of squares
// of many values must stay below t/2; a 50-bit t leaves room for ~2^16
// values of magnitude < 2^16 while t·noise stays far below Q at the levels
// where results are decrypted.
const bgvPlaintextBits = 50

// SecurePreset returns the demo and benchmark parameters: ring degree 2^14
// and logQP = 438, the bound that lattigo's ExampleParameters128BitLogN14LogQP438
// (schemes/ckks, schemes/bgv) document as 128-bit secure for the default
// ternary secret and σ = 3.2 error (HomomorphicEncryption.org standard).
func SecurePreset() (*Preset, error) {
	return newPreset("cohort-he-logn14-qp438", 14, true)
}

// InsecureTestPreset returns parameters for unit tests ONLY: the same moduli
// as SecurePreset over a ring of degree 2^12, which gives far less than
// 128-bit security. Never use it for real data.
func InsecureTestPreset() (*Preset, error) {
	return newPreset("INSECURE-test-logn12", 12, false)
}

// maxLogQPForSecurity is the HE-standard bound for 128-bit security at
// ring degree 2^14 with a ternary secret.
const maxLogQPForSecurity = 438

func newPreset(name string, logN int, secure bool) (*Preset, error) {
	ckks, err := hefloat.NewParametersFromLiteral(hefloat.ParametersLiteral{
		LogN:            logN,
		LogQ:            presetLogQ,
		LogP:            presetLogP,
		LogDefaultScale: 45,
	})
	if err != nil {
		return nil, fmt.Errorf("he: CKKS parameters: %w", err)
	}
	if secure && (logN < 14 || ckks.LogQP() > maxLogQPForSecurity+0.5) {
		return nil, fmt.Errorf("he: preset %s: logN=%d logQP=%.1f does not reach 128-bit security", name, logN, ckks.LogQP())
	}
	// t ≡ 1 mod 2^16 allows full SIMD packing for every ring up to 2^15.
	gen := ring.NewNTTFriendlyPrimesGenerator(bgvPlaintextBits, 1<<16)
	ts, err := gen.NextUpstreamPrimes(1)
	if err != nil {
		return nil, fmt.Errorf("he: BGV plaintext modulus: %w", err)
	}
	bgv, err := heint.NewParametersFromLiteral(heint.ParametersLiteral{
		LogN:             logN,
		Q:                ckks.Q(),
		P:                ckks.P(),
		PlaintextModulus: ts[0],
	})
	if err != nil {
		return nil, fmt.Errorf("he: BGV parameters: %w", err)
	}
	p := &Preset{
		Name:           name,
		Secure:         secure,
		CKKS:           ckks,
		BGV:            bgv,
		Smudging:       ring.DiscreteGaussian{Sigma: SmudgingSigma, Bound: 6 * SmudgingSigma},
		OutputLogScale: 57,
	}
	if err := p.checkSharedRing(); err != nil {
		return nil, err
	}
	p.fingerprints = make(map[Scheme][8]byte, 2)
	for _, s := range []Scheme{CKKS, BGV} {
		fp, err := p.computeFingerprint(s)
		if err != nil {
			return nil, err
		}
		p.fingerprints[s] = fp
	}
	return p, nil
}

// checkSharedRing verifies that keys made for one scheme are valid for the
// other: same degree, moduli, secret and error distributions.
func (p *Preset) checkSharedRing() error {
	a, b := p.CKKS.GetRLWEParameters(), p.BGV.GetRLWEParameters()
	same := a.N() == b.N() && a.RingType() == b.RingType() &&
		equalU64(a.Q(), b.Q()) && equalU64(a.P(), b.P()) &&
		a.Xs() == b.Xs() && a.Xe() == b.Xe()
	if !same {
		return fmt.Errorf("he: preset %s: CKKS and BGV rings differ, keys cannot be shared", p.Name)
	}
	if math.Log2(float64(p.BGV.PlaintextModulus())) >= float64(bgvPlaintextBits)+1 {
		return fmt.Errorf("he: preset %s: unexpected BGV plaintext modulus", p.Name)
	}
	return nil
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
