package he

import (
	"fmt"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/he/heint"
)

// Recipient is the party a job's result is re-encrypted to. Its secret key
// never leaves it; the committee only sees its public key.
type Recipient struct {
	preset *Preset
	sk     *rlwe.SecretKey
	pk     *rlwe.PublicKey
}

// NewRecipient generates a fresh recipient key pair under the preset's ring.
func NewRecipient(preset *Preset) *Recipient {
	kg := rlwe.NewKeyGenerator(preset.RLWE())
	sk, pk := kg.GenKeyPairNew()
	return &Recipient{preset: preset, sk: sk, pk: pk}
}

// PublicKey is what the recipient hands to the committee.
func (r *Recipient) PublicKey() *rlwe.PublicKey { return r.pk }

// DecryptFloats decrypts a CKKS job output into its real slot values.
func (r *Recipient) DecryptFloats(output []byte) ([]float64, error) {
	ct, _, err := r.preset.UnmarshalCiphertext(CKKS, output)
	if err != nil {
		return nil, err
	}
	params := r.preset.CKKS
	pt := rlwe.NewDecryptor(params, r.sk).DecryptNew(ct)
	values := make([]float64, params.MaxSlots())
	if err := hefloat.NewEncoder(params).Decode(pt, values); err != nil {
		return nil, fmt.Errorf("he: decode CKKS output: %w", err)
	}
	return values, nil
}

// DecryptInts decrypts a BGV job output into its signed slot values
// (centred modulo the plaintext modulus).
func (r *Recipient) DecryptInts(output []byte) ([]int64, error) {
	ct, _, err := r.preset.UnmarshalCiphertext(BGV, output)
	if err != nil {
		return nil, err
	}
	params := r.preset.BGV
	pt := rlwe.NewDecryptor(params, r.sk).DecryptNew(ct)
	values := make([]int64, params.MaxSlots())
	if err := heint.NewEncoder(params).Decode(pt, values); err != nil {
		return nil, fmt.Errorf("he: decode BGV output: %w", err)
	}
	return values, nil
}

// EncryptFloats is a data provider's step: it encodes values (at most
// CKKS.MaxSlots(), zero-padded) at the default scale and top level, encrypts
// them under the committee's public key and returns the canonical encoding
// and its content address.
func (p *Preset) EncryptFloats(pk *rlwe.PublicKey, values []float64) ([]byte, CiphertextID, error) {
	return p.EncryptFloatsAtScale(pk, values, p.CKKS.DefaultScale())
}

// EncryptFloatsAtScale is EncryptFloats with an explicit encoding scale,
// for operands that are added to products (scale = DefaultScale²).
func (p *Preset) EncryptFloatsAtScale(pk *rlwe.PublicKey, values []float64, scale rlwe.Scale) ([]byte, CiphertextID, error) {
	params := p.CKKS
	if len(values) > params.MaxSlots() {
		return nil, CiphertextID{}, fmt.Errorf("he: %d values exceed %d CKKS slots", len(values), params.MaxSlots())
	}
	pt := hefloat.NewPlaintext(params, params.MaxLevel())
	pt.Scale = scale
	if err := hefloat.NewEncoder(params).Encode(values, pt); err != nil {
		return nil, CiphertextID{}, fmt.Errorf("he: encode: %w", err)
	}
	ct, err := rlwe.NewEncryptor(params, pk).EncryptNew(pt)
	if err != nil {
		return nil, CiphertextID{}, fmt.Errorf("he: encrypt: %w", err)
	}
	b, err := p.MarshalCiphertext(CKKS, ct)
	if err != nil {
		return nil, CiphertextID{}, err
	}
	return b, HashCiphertext(b), nil
}

// EncryptInts is EncryptFloats for BGV: values (at most BGV.MaxSlots(),
// zero-padded, each |v| < t/2) are encrypted exactly.
func (p *Preset) EncryptInts(pk *rlwe.PublicKey, values []int64) ([]byte, CiphertextID, error) {
	params := p.BGV
	if len(values) > params.MaxSlots() {
		return nil, CiphertextID{}, fmt.Errorf("he: %d values exceed %d BGV slots", len(values), params.MaxSlots())
	}
	half := int64(params.PlaintextModulus() / 2)
	for _, v := range values {
		if v >= half || v <= -half {
			return nil, CiphertextID{}, fmt.Errorf("he: value out of the plaintext range ±%d", half)
		}
	}
	pt := heint.NewPlaintext(params, params.MaxLevel())
	if err := heint.NewEncoder(params).Encode(values, pt); err != nil {
		return nil, CiphertextID{}, fmt.Errorf("he: encode: %w", err)
	}
	ct, err := rlwe.NewEncryptor(params, pk).EncryptNew(pt)
	if err != nil {
		return nil, CiphertextID{}, fmt.Errorf("he: encrypt: %w", err)
	}
	b, err := p.MarshalCiphertext(BGV, ct)
	if err != nil {
		return nil, CiphertextID{}, err
	}
	return b, HashCiphertext(b), nil
}
