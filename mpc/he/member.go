package he

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"

	"github.com/cohortnet/cohort/mpc/transport"
)

// Member is one committee member's view of the committee's keys after
// setup: the collective public and evaluation keys (public) and its own
// t-out-of-N threshold share of the collective secret key (secret).
type Member struct {
	preset    *Preset
	committee string
	self      transport.PartyID
	n, t      int
	galEls    []uint64

	pk     *rlwe.PublicKey
	rlk    *rlwe.RelinearizationKey
	gks    []*rlwe.GaloisKey
	evk    *rlwe.MemEvaluationKeySet
	tsk    mhe.ShamirSecretShare
	digest [32]byte
}

// Preset returns the committee's parameters.
func (m *Member) Preset() *Preset { return m.preset }

// Self is this member's index in the committee.
func (m *Member) Self() transport.PartyID { return m.self }

// Parties is the committee size N.
func (m *Member) Parties() int { return m.n }

// Threshold is the number t of members needed to finish a job.
func (m *Member) Threshold() int { return m.t }

// PublicKey is the collective public key data providers encrypt under.
func (m *Member) PublicKey() *rlwe.PublicKey { return m.pk }

// EvaluationKeys holds the relinearisation and Galois keys job circuits use.
func (m *Member) EvaluationKeys() *rlwe.MemEvaluationKeySet { return m.evk }

// KeyDigest is the SHA-256 of the committee's public key material; every
// member holds the same digest, so it can be published and compared.
func (m *Member) KeyDigest() [32]byte { return m.digest }

// GaloisElements lists the automorphisms the committee has keys for.
func (m *Member) GaloisElements() []uint64 { return append([]uint64(nil), m.galEls...) }

// shamirPoint is member i's public evaluation point in the Shamir sharing.
func shamirPoint(i transport.PartyID) mhe.ShamirPublicPoint {
	return mhe.ShamirPublicPoint(uint64(i) + 1)
}

// publicKeyDigest hashes the public key material in a fixed order.
func publicKeyDigest(pk *rlwe.PublicKey, rlk *rlwe.RelinearizationKey, gks []*rlwe.GaloisKey) ([32]byte, [][]byte, error) {
	var blobs [][]byte
	b, err := pk.MarshalBinary()
	if err != nil {
		return [32]byte{}, nil, fmt.Errorf("marshal public key: %w", err)
	}
	blobs = append(blobs, b)
	if b, err = rlk.MarshalBinary(); err != nil {
		return [32]byte{}, nil, fmt.Errorf("marshal relinearisation key: %w", err)
	}
	blobs = append(blobs, b)
	for _, gk := range gks {
		if b, err = gk.MarshalBinary(); err != nil {
			return [32]byte{}, nil, fmt.Errorf("marshal Galois key %d: %w", gk.GaloisElement, err)
		}
		blobs = append(blobs, b)
	}
	h := sha256.New()
	for _, b := range blobs {
		var l [8]byte
		binary.LittleEndian.PutUint64(l[:], uint64(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d, blobs, nil
}

// storeKey names a member's record in its KeyStore.
func storeKey(preset *Preset, committee string, self transport.PartyID) string {
	sum := sha256.Sum256([]byte(committee))
	return fmt.Sprintf("he-%s-%x-%d", preset.Name, sum[:8], self)
}

// The stored record is local, trusted data written by save; it is still
// decoded with bounds so that a corrupt file fails cleanly.
const recordMagic = "CHK1"

func (m *Member) save(ctx context.Context, store KeyStore, blobs [][]byte) error {
	var buf bytes.Buffer
	buf.WriteString(recordMagic)
	putU64 := func(v uint64) { _ = binary.Write(&buf, binary.LittleEndian, v) }
	putBytes := func(b []byte) { putU64(uint64(len(b))); buf.Write(b) }
	putBytes([]byte(m.committee))
	putU64(uint64(m.self))
	putU64(uint64(m.n))
	putU64(uint64(m.t))
	putU64(uint64(len(m.galEls)))
	for _, g := range m.galEls {
		putU64(g)
	}
	params := m.preset.RLWE()
	putBytes(newShape(params).polyQP(m.tsk.Poly).encode(kindShamir, 0, params.N()))
	putU64(uint64(len(blobs)))
	for _, b := range blobs {
		putBytes(b)
	}
	if err := store.Put(ctx, storeKey(m.preset, m.committee, m.self), buf.Bytes()); err != nil {
		return fmt.Errorf("he: persist committee keys: %w", err)
	}
	return nil
}

// LoadMember restores a member's committee keys saved by Setup.
func LoadMember(ctx context.Context, store KeyStore, preset *Preset, committee string, self transport.PartyID) (*Member, error) {
	data, err := store.Get(ctx, storeKey(preset, committee, self))
	if err != nil {
		return nil, fmt.Errorf("he: load committee keys: %w", err)
	}
	r := bytes.NewReader(data)
	bad := func(what string) (*Member, error) {
		return nil, fmt.Errorf("he: stored committee keys are corrupt: %s", what)
	}
	magic := make([]byte, 4)
	if _, err := r.Read(magic); err != nil || string(magic) != recordMagic {
		return bad("magic")
	}
	getU64 := func() (uint64, bool) {
		var v uint64
		return v, binary.Read(r, binary.LittleEndian, &v) == nil
	}
	getBytes := func() ([]byte, bool) {
		l, ok := getU64()
		if !ok || l > uint64(r.Len()) {
			return nil, false
		}
		b := make([]byte, l)
		_, err := r.Read(b)
		return b, err == nil || l == 0
	}
	comm, ok := getBytes()
	if !ok || string(comm) != committee {
		return bad("committee id")
	}
	vals := make([]uint64, 4)
	for i := range vals {
		if vals[i], ok = getU64(); !ok {
			return bad("header")
		}
	}
	if transport.PartyID(vals[0]) != self || vals[1] == 0 || vals[1] > 1<<16 || vals[2] == 0 || vals[2] > vals[1] || vals[3] > 1<<16 {
		return bad("header")
	}
	m := &Member{preset: preset, committee: committee, self: self, n: int(vals[1]), t: int(vals[2])}
	m.galEls = make([]uint64, vals[3])
	for i := range m.galEls {
		if m.galEls[i], ok = getU64(); !ok {
			return bad("galois elements")
		}
	}
	params := preset.RLWE()
	tskBytes, ok := getBytes()
	if !ok {
		return bad("threshold share")
	}
	m.tsk = mhe.NewThresholdizer(params).AllocateThresholdSecretShare()
	if _, err := newShape(params).polyQP(m.tsk.Poly).decode(kindShamir, tskBytes, params.N()); err != nil {
		return bad("threshold share")
	}
	nb, ok := getU64()
	if !ok || nb != uint64(2+len(m.galEls)) {
		return bad("key count")
	}
	blobs := make([][]byte, nb)
	for i := range blobs {
		if blobs[i], ok = getBytes(); !ok {
			return bad("key blob")
		}
	}
	m.pk = rlwe.NewPublicKey(params)
	if err := m.pk.UnmarshalBinary(blobs[0]); err != nil {
		return nil, fmt.Errorf("he: stored public key: %w", err)
	}
	m.rlk = rlwe.NewRelinearizationKey(params)
	if err := m.rlk.UnmarshalBinary(blobs[1]); err != nil {
		return nil, fmt.Errorf("he: stored relinearisation key: %w", err)
	}
	for i, g := range m.galEls {
		gk := rlwe.NewGaloisKey(params)
		if err := gk.UnmarshalBinary(blobs[2+i]); err != nil || gk.GaloisElement != g {
			return nil, fmt.Errorf("he: stored Galois key %d is corrupt", g)
		}
		m.gks = append(m.gks, gk)
	}
	m.evk = rlwe.NewMemEvaluationKeySet(m.rlk, m.gks...)
	if m.digest, _, err = publicKeyDigest(m.pk, m.rlk, m.gks); err != nil {
		return nil, err
	}
	return m, nil
}

// sortedUnique returns the Galois elements sorted without duplicates, the
// order in which the committee samples CRPs and exchanges shares.
func sortedUnique(els []uint64) []uint64 {
	out := append([]uint64(nil), els...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	w := 0
	for i, e := range out {
		if i == 0 || e != out[w-1] {
			out[w] = e
			w++
		}
	}
	return out[:w]
}
