package he

import (
	"fmt"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Public keys cross the network twice: the committee's collective key goes
// to data providers (through the ledger's blob store), and a recipient's key
// comes with each job request. This is their one codec, in a canonical
// encoding of its own because lattigo's generic decoder sizes its
// allocations from headers in the data:
//
//	magic "CPK1" | CKKS parameter fingerprint [8] | for each of the two QP
//	polynomials (b, a): (levelQ+1)·N then (levelP+1)·N coefficients, u64
//	little-endian, each reduced modulo its prime (NTT and Montgomery form, as
//	lattigo keeps keys).
//
// The size is fixed by the preset, so the decoder checks it before it
// allocates anything.
const pkMagic = "CPK1"

// pkShape describes a public key's polynomials in wire order.
func pkShape(params rlwe.Parameters, pk *rlwe.PublicKey) *shapeBuilder {
	shape := newShape(params)
	for _, v := range pk.Value {
		shape.polyQP(v)
	}
	return shape
}

// PublicKeySize is the exact length of an encoded public key of the preset.
func (p *Preset) PublicKeySize() int {
	params := p.RLWE()
	return len(pkMagic) + 8 + pkShape(params, rlwe.NewPublicKey(params)).coeffSize(params.N())
}

// MarshalPublicKey encodes a public key of the preset's ring canonically.
func (p *Preset) MarshalPublicKey(pk *rlwe.PublicKey) ([]byte, error) {
	fp, err := p.Fingerprint(CKKS)
	if err != nil {
		return nil, err
	}
	params := p.RLWE()
	want := rlwe.NewPublicKey(params)
	if pk == nil {
		return nil, fmt.Errorf("he: marshal public key: nil key")
	}
	for k := range want.Value {
		v, w := pk.Value[k], want.Value[k]
		if v.Q.N() != w.Q.N() || v.Q.Level() != w.Q.Level() || v.P.Level() != w.P.Level() || (w.P.Level() >= 0 && v.P.N() != w.P.N()) {
			return nil, fmt.Errorf("he: marshal public key: not of the shape of preset %s", p.Name)
		}
	}
	shape := pkShape(params, pk)
	out := make([]byte, len(pkMagic)+len(fp)+shape.coeffSize(params.N()))
	copy(out, pkMagic)
	copy(out[len(pkMagic):], fp[:])
	shape.putCoeffs(out[len(pkMagic)+len(fp):], params.N())
	return out, nil
}

// UnmarshalPublicKey decodes an untrusted public key written by
// MarshalPublicKey: exact length (checked first), magic, the preset's
// fingerprint, every coefficient reduced. The encoding is canonical: a key
// decodes from exactly one byte string.
func (p *Preset) UnmarshalPublicKey(data []byte) (*rlwe.PublicKey, error) {
	if want := p.PublicKeySize(); len(data) != want {
		return nil, fmt.Errorf("he: public key of %d bytes, want %d for preset %s", len(data), want, p.Name)
	}
	fp, err := p.Fingerprint(CKKS)
	if err != nil {
		return nil, err
	}
	hdr := len(pkMagic) + len(fp)
	if string(data[:len(pkMagic)]) != pkMagic || string(data[len(pkMagic):hdr]) != string(fp[:]) {
		return nil, fmt.Errorf("he: public key: bad magic or made under another preset than %s", p.Name)
	}
	params := p.RLWE()
	pk := rlwe.NewPublicKey(params)
	if err := pkShape(params, pk).readCoeffs(data[hdr:], params.N()); err != nil {
		return nil, fmt.Errorf("he: public key for preset %s: %w", p.Name, err)
	}
	return pk, nil
}

// MarshalSecret encodes the recipient's key pair for its own storage. The
// bytes contain the secret key: keep them private.
func (r *Recipient) MarshalSecret() ([]byte, error) {
	params := r.preset.RLWE()
	pk, err := r.preset.MarshalPublicKey(r.pk)
	if err != nil {
		return nil, err
	}
	out := newShape(params).polyQP(r.sk.Value).encode(kindRecipientSK, 0, params.N())
	return append(out, pk...), nil
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
