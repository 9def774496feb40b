package he

import (
	"fmt"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Public keys cross the network twice: the committee's collective key goes
// to data providers, and a recipient's key comes with each job request. Both
// use the bounded coefficient codec: exact length, reduced coefficients, no
// allocation driven by the input.

// MarshalPublicKey encodes a public key of the preset's ring.
func (p *Preset) MarshalPublicKey(pk *rlwe.PublicKey) []byte {
	params := p.RLWE()
	shape := newShape(params)
	for _, v := range pk.Value {
		shape.polyQP(v)
	}
	return shape.encode(kindPK, 0, params.N())
}

// UnmarshalPublicKey decodes an untrusted public key.
func (p *Preset) UnmarshalPublicKey(data []byte) (*rlwe.PublicKey, error) {
	params := p.RLWE()
	pk := rlwe.NewPublicKey(params)
	shape := newShape(params)
	for _, v := range pk.Value {
		shape.polyQP(v)
	}
	if _, err := shape.decode(kindPK, data, params.N()); err != nil {
		return nil, fmt.Errorf("he: public key for preset %s: %w", p.Name, err)
	}
	return pk, nil
}

// MarshalSecret encodes the recipient's key pair for its own storage. The
// bytes contain the secret key: keep them private.
func (r *Recipient) MarshalSecret() []byte {
	params := r.preset.RLWE()
	out := newShape(params).polyQP(r.sk.Value).encode(kindRecipientSK, 0, params.N())
	return append(out, r.preset.MarshalPublicKey(r.pk)...)
}

// LoadRecipient restores a recipient saved with MarshalSecret.
func LoadRecipient(preset *Preset, data []byte) (*Recipient, error) {
	params := preset.RLWE()
	sk := rlwe.NewSecretKey(params)
	skShape := newShape(params).polyQP(sk.Value)
	n := skShape.size(params.N())
	if len(data) < n {
		return nil, fmt.Errorf("he: recipient key of %d bytes is too short", len(data))
	}
	if _, err := skShape.decode(kindRecipientSK, data[:n], params.N()); err != nil {
		return nil, fmt.Errorf("he: recipient secret key: %w", err)
	}
	pk, err := preset.UnmarshalPublicKey(data[n:])
	if err != nil {
		return nil, err
	}
	return &Recipient{preset: preset, sk: sk, pk: pk}, nil
}
