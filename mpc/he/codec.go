package he

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// CiphertextID is the content address of a ciphertext: the SHA-256 of its
// canonical encoding (MarshalCiphertext).
type CiphertextID [32]byte

func (id CiphertextID) String() string { return hex.EncodeToString(id[:]) }

// HashCiphertext returns the content address of canonical ciphertext bytes.
func HashCiphertext(canonical []byte) CiphertextID { return sha256.Sum256(canonical) }

// ErrBadCiphertext wraps every rejection of an untrusted ciphertext.
var ErrBadCiphertext = errors.New("he: bad ciphertext")

// Canonical ciphertext encoding (all integers little-endian):
//
//	magic "CHC1" | scheme u8 | params fingerprint [8] | degree u8 | level u8 |
//	flags u8 (1=NTT, 2=Montgomery, 4=batched) | logRows u8 | logCols u8 |
//	scale-mod u64 | scale-text-len u8 | scale text (hex float) |
//	(degree+1)·(level+1)·N coefficients u64, each reduced modulo its prime.
//
// The coefficient block's size follows from the header, so a decoder checks
// the total length against the header before it allocates anything.
const (
	ctMagic         = "CHC1"
	ctFixedHeader   = 4 + 1 + 8 + 1 + 1 + 1 + 1 + 1 + 8 + 1
	maxScaleTextLen = 96
	flagNTT         = 1
	flagMontgomery  = 2
	flagBatched     = 4
)

// MaxCiphertextDegree bounds the degree of ciphertexts accepted from
// outside: inputs and results are always relinearised (degree 1).
const MaxCiphertextDegree = 1

// MarshalCiphertext returns the canonical encoding of ct under scheme s.
func (p *Preset) MarshalCiphertext(s Scheme, ct *rlwe.Ciphertext) ([]byte, error) {
	fp, err := p.Fingerprint(s)
	if err != nil {
		return nil, err
	}
	params := p.RLWE()
	level, degree := ct.Level(), ct.Degree()
	if degree > 255 || level > params.MaxLevel() {
		return nil, fmt.Errorf("he: marshal ciphertext: degree %d level %d out of range", degree, level)
	}
	scaleText := canonicalScaleText(&ct.Scale.Value)
	if len(scaleText) > maxScaleTextLen {
		return nil, fmt.Errorf("he: marshal ciphertext: scale encoding too long")
	}
	var mod uint64
	if ct.Scale.Mod != nil {
		if !ct.Scale.Mod.IsUint64() {
			return nil, fmt.Errorf("he: marshal ciphertext: scale modulus exceeds 64 bits")
		}
		mod = ct.Scale.Mod.Uint64()
	}
	var flags byte
	if ct.IsNTT {
		flags |= flagNTT
	}
	if ct.IsMontgomery {
		flags |= flagMontgomery
	}
	if ct.IsBatched {
		flags |= flagBatched
	}
	n := params.N()
	out := make([]byte, 0, ctFixedHeader+len(scaleText)+(degree+1)*(level+1)*n*8)
	out = append(out, ctMagic...)
	out = append(out, byte(s))
	out = append(out, fp[:]...)
	out = append(out, byte(degree), byte(level), flags, byte(ct.LogDimensions.Rows), byte(ct.LogDimensions.Cols))
	out = binary.LittleEndian.AppendUint64(out, mod)
	out = append(out, byte(len(scaleText)))
	out = append(out, scaleText...)
	for _, poly := range ct.Value {
		for i := 0; i <= level; i++ {
			for _, c := range poly.Coeffs[i][:n] {
				out = binary.LittleEndian.AppendUint64(out, c)
			}
		}
	}
	return out, nil
}

// canonicalScaleText renders a scale exactly (hex mantissa, binary
// exponent), so that equal scales always encode to equal bytes.
func canonicalScaleText(v *big.Float) string {
	return v.Text('p', 0)
}

// UnmarshalCiphertext decodes untrusted bytes into a ciphertext of scheme s.
// It rejects, before allocating, any encoding whose parameters, degree,
// level or length do not match, then checks every coefficient is reduced and
// that the bytes are the canonical encoding of the result. It returns the
// ciphertext and its content address.
func (p *Preset) UnmarshalCiphertext(s Scheme, data []byte) (*rlwe.Ciphertext, CiphertextID, error) {
	var id CiphertextID
	fail := func(format string, args ...any) (*rlwe.Ciphertext, CiphertextID, error) {
		return nil, id, fmt.Errorf("%w: %s", ErrBadCiphertext, fmt.Sprintf(format, args...))
	}
	fp, err := p.Fingerprint(s)
	if err != nil {
		return nil, id, err
	}
	params := p.RLWE()
	if len(data) < ctFixedHeader {
		return fail("%d bytes is shorter than the %d-byte header", len(data), ctFixedHeader)
	}
	if string(data[:4]) != ctMagic {
		return fail("bad magic")
	}
	if Scheme(data[4]) != s {
		return fail("scheme %v, expected %v", Scheme(data[4]), s)
	}
	if !bytes.Equal(data[5:13], fp[:]) {
		return fail("made under other parameters (fingerprint %x, expected %x for preset %s)", data[5:13], fp[:], p.Name)
	}
	degree, level, flags := int(data[13]), int(data[14]), data[15]
	logRows, logCols := int(data[16]), int(data[17])
	mod := binary.LittleEndian.Uint64(data[18:26])
	scaleLen := int(data[26])
	if degree < 1 || degree > MaxCiphertextDegree {
		return fail("degree %d, accepted 1..%d", degree, MaxCiphertextDegree)
	}
	if level > params.MaxLevel() {
		return fail("level %d above the parameters' maximum %d", level, params.MaxLevel())
	}
	if scaleLen == 0 || scaleLen > maxScaleTextLen {
		return fail("scale encoding of %d bytes", scaleLen)
	}
	n := params.N()
	want := ctFixedHeader + scaleLen + (degree+1)*(level+1)*n*8
	if len(data) != want {
		return fail("%d bytes, expected %d for degree %d at level %d", len(data), want, degree, level)
	}
	// Metadata the evaluator relies on.
	if flags != flagNTT|flagBatched {
		return fail("flags %#x, expected NTT and batched, not Montgomery", flags)
	}
	var dims ring.Dimensions
	var wantMod uint64
	switch s {
	case CKKS:
		dims = p.CKKS.LogMaxDimensions()
	case BGV:
		dims = p.BGV.LogMaxDimensions()
		wantMod = p.BGV.PlaintextModulus()
	}
	if logRows != dims.Rows || logCols != dims.Cols {
		return fail("slot dimensions 2^%d×2^%d, expected 2^%d×2^%d", logRows, logCols, dims.Rows, dims.Cols)
	}
	if mod != wantMod {
		return fail("scale modulus %d, expected %d", mod, wantMod)
	}
	scale, ok := new(big.Float).SetPrec(rlwe.ScalePrecision).SetString(string(data[ctFixedHeader : ctFixedHeader+scaleLen]))
	if !ok || scale.Sign() <= 0 || scale.IsInf() || float64(scale.MantExp(nil)) > params.LogQ()+1 {
		return fail("invalid scale")
	}
	if s == BGV && (!scale.IsInt() || scale.Cmp(new(big.Float).SetUint64(wantMod)) >= 0) {
		return fail("BGV scale must be an integer below the plaintext modulus")
	}
	ct := rlwe.NewCiphertext(params, degree, level)
	ct.IsNTT, ct.IsMontgomery, ct.IsBatched = true, false, true
	ct.LogDimensions = dims
	ct.Scale = rlwe.Scale{Value: *scale}
	if wantMod != 0 {
		ct.Scale.Mod = new(big.Int).SetUint64(wantMod)
	}
	moduli := params.Q()
	off := ctFixedHeader + scaleLen
	for _, poly := range ct.Value {
		for i := 0; i <= level; i++ {
			q := moduli[i]
			row := poly.Coeffs[i][:n]
			for j := range row {
				c := binary.LittleEndian.Uint64(data[off:])
				if c >= q {
					return fail("coefficient not reduced modulo q_%d", i)
				}
				row[j] = c
				off += 8
			}
		}
	}
	canon, err := p.MarshalCiphertext(s, ct)
	if err != nil {
		return nil, id, err
	}
	if !bytes.Equal(canon, data) {
		return fail("encoding is not canonical")
	}
	return ct, HashCiphertext(data), nil
}
