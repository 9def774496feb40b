package he

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
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
	// sharesChecked: the setup ran the share checks (ShareCheckRuns).
	sharesChecked bool

	deviation *Deviation // adversarial tests only (Deviant)
}

// CommitteeID is the committee this member belongs to.
func (m *Member) CommitteeID() string { return m.committee }

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

// SharesChecked reports whether the committee's setup checked every
// member's key shares (ShareCheckRuns: threshold at most ⌈n/2⌉). An
// unchecked committee's key is exposed to one malicious member through the
// key test (doc.go, security model); it is part of KeyDigest, so every
// member holds the same value. Keys stored before the check existed load as
// unchecked.
func (m *Member) SharesChecked() bool { return m.sharesChecked }

// GaloisElements lists the automorphisms the committee has keys for.
func (m *Member) GaloisElements() []uint64 { return append([]uint64(nil), m.galEls...) }

// shamirPoint is member i's public evaluation point in the Shamir sharing.
func shamirPoint(i transport.PartyID) mhe.ShamirPublicPoint {
	return mhe.ShamirPublicPoint(uint64(i) + 1)
}

// keyShapes lists the public key material in its fixed order.
//
// The public key and the Galois keys are (b, a) pairs whose a half is a
// common reference polynomial, a deterministic function of the committee's
// CRS; only the b halves are encoded (and hashed), and LoadMember re-derives
// the a halves. The relinearisation key has no CRP half and is encoded whole.
func keyShapes(params rlwe.Parameters, pk *rlwe.PublicKey, rlk *rlwe.RelinearizationKey, gks []*rlwe.GaloisKey) []keyBlock {
	blocks := []keyBlock{
		{newShape(params).polyQP(pk.Value[0]), kindPK, 0},
		{newShape(params).gadget(rlk.GadgetCiphertext), kindRLK, 0},
	}
	for _, gk := range gks {
		shape := newShape(params)
		for _, row := range gk.Value {
			for _, vec := range row {
				shape.polyQP(vec[0])
			}
		}
		blocks = append(blocks, keyBlock{shape, kindGK, gk.GaloisElement})
	}
	return blocks
}

type keyBlock struct {
	shape *shapeBuilder
	kind  shareKind
	tag   uint64
}

func newKeyHash(preset *Preset, committee string) hash.Hash {
	h := sha256.New()
	h.Write([]byte(crsLabel(preset, committee)))
	return h
}

// keyDigest hashes the key region of a record together with the CRS label,
// which determines the CRP halves the region leaves out.
func keyDigest(preset *Preset, committee string, region []byte) [32]byte {
	h := newKeyHash(preset, committee)
	h.Write(region)
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// storeKey names a member's record in its KeyStore.
func storeKey(preset *Preset, committee string, self transport.PartyID) string {
	sum := sha256.Sum256([]byte(committee))
	return fmt.Sprintf("he-%s-%x-%d", preset.Name, sum[:8], self)
}

// The stored record is local data written by save; it is still decoded with
// the bounded codec so that a corrupt or tampered file fails cleanly.
// recordMagicV1 records (written before the share check) have no
// shares-checked word and load as unchecked.
const (
	recordMagic   = "CHK2"
	recordMagicV1 = "CHK1"
)

// record encodes the member's keys for its store in one allocation (the
// keys take hundreds of megabytes at secure parameters) and returns it with
// the digest of its public-key region:
//
//	magic | committee | self n t | galois elements | threshold share |
//	shares checked (0 or 1) | key count | (length | block)...
//	└─ public-key region, hashed ──────────────────────────┘
//
// The shares-checked word is in the hashed region, so members whose setups
// disagree on it hold different digests.
func (m *Member) record() ([]byte, [32]byte) {
	params := m.preset.RLWE()
	N := params.N()
	tskShape := newShape(params).polyQP(m.tsk.Poly)
	blocks := keyShapes(params, m.pk, m.rlk, m.gks)
	size := len(recordMagic) + 8 + len(m.committee) + 4*8 + 8*len(m.galEls) + 8 + tskShape.size(N) + 8 + 8
	for _, b := range blocks {
		size += 8 + b.shape.size(N)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, recordMagic...)
	putU64 := func(v uint64) { buf = binary.LittleEndian.AppendUint64(buf, v) }
	putU64(uint64(len(m.committee)))
	buf = append(buf, m.committee...)
	putU64(uint64(m.self))
	putU64(uint64(m.n))
	putU64(uint64(m.t))
	putU64(uint64(len(m.galEls)))
	for _, g := range m.galEls {
		putU64(g)
	}
	putU64(uint64(tskShape.size(N)))
	buf = tskShape.appendTo(buf, kindShamir, 0, N)
	// Hash each block right after encoding it, while it is still in cache;
	// the digest equals keyDigest over the whole key region.
	h := newKeyHash(m.preset, m.committee)
	hashed := len(buf)
	checked := uint64(0)
	if m.sharesChecked {
		checked = 1
	}
	putU64(checked)
	putU64(uint64(len(blocks)))
	for _, b := range blocks {
		putU64(uint64(b.shape.size(N)))
		buf = b.shape.appendTo(buf, b.kind, b.tag, N)
		h.Write(buf[hashed:])
		hashed = len(buf)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return buf, d
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
	if _, err := r.Read(magic); err != nil || (string(magic) != recordMagic && string(magic) != recordMagicV1) {
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
		// Slices of the record, not copies: the key blocks are tens of
		// megabytes and are decoded into freshly allocated keys anyway.
		off := len(data) - r.Len()
		if _, err := r.Seek(int64(l), io.SeekCurrent); err != nil {
			return nil, false
		}
		return data[off : off+int(l)], true
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
	keyStart := len(data) - r.Len()
	if string(magic) == recordMagic {
		checked, ok := getU64()
		if !ok || checked > 1 {
			return bad("shares-checked flag")
		}
		m.sharesChecked = checked == 1
	}
	nb, ok := getU64()
	if !ok || nb != uint64(2+len(m.galEls)) {
		return bad("key count")
	}
	m.pk = rlwe.NewPublicKey(params)
	m.rlk = rlwe.NewRelinearizationKey(params)
	for _, g := range m.galEls {
		gk := rlwe.NewGaloisKey(params)
		gk.GaloisElement = g
		m.gks = append(m.gks, gk)
	}
	for i, b := range keyShapes(params, m.pk, m.rlk, m.gks) {
		blob, ok := getBytes()
		if !ok {
			return bad("key block")
		}
		tag, err := b.shape.decode(b.kind, blob, params.N())
		if err != nil || tag != b.tag {
			return bad(fmt.Sprintf("key block %d", i))
		}
	}
	if r.Len() != 0 {
		return bad("trailing bytes")
	}
	if err := m.deriveCRPHalves(); err != nil {
		return nil, err
	}
	m.evk = rlwe.NewMemEvaluationKeySet(m.rlk, m.gks...)
	m.digest = keyDigest(preset, committee, data[keyStart:])
	return m, nil
}

// deriveCRPHalves re-samples the committee's common reference polynomials
// in the order Setup sampled them and puts them in the keys' a halves.
func (m *Member) deriveCRPHalves() error {
	params := m.preset.RLWE()
	prng, err := crs(m.preset, m.committee)
	if err != nil {
		return err
	}
	ckgCRP := mhe.NewPublicKeyGenProtocol(params).SampleCRP(prng)
	m.pk.Value[1].Copy(ckgCRP.Value)
	_ = mhe.NewRelinearizationKeyGenProtocol(params).SampleCRP(prng) // advances the CRS as Setup did
	gkg := mhe.NewGaloisKeyGenProtocol(params)
	for _, gk := range m.gks {
		crp := gkg.SampleCRP(prng)
		for i, row := range gk.Value {
			for j, vec := range row {
				vec[1].Copy(crp.Value[i][j])
			}
		}
	}
	return nil
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
