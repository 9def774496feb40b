package ss

import (
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"

	"github.com/cohortnet/cohort/mpc/field"
)

// The Poseidon2 instance of gnark-crypto v0.21.0 for bn254 used by its
// Merkle–Damgård hasher (and by gnark's std/hash/poseidon2): width 2, 6 full
// rounds (3 before and 3 after the partial ones), 50 partial rounds, S-box
// x^5. External layer circ(2,1): (a, b) ↦ (2a+b, a+2b); internal layer
// [[2,1],[1,3]]: (a, b) ↦ (2a+b, a+3b). The permutation starts with one
// external layer; a full round is add-round-key, S-box on both elements,
// external layer; a partial round adds the key to element 0 only, applies the
// S-box to element 0 and the internal layer.
var p2params = poseidon2.GetDefaultParameters()

// sboxesPerPermutation counts the S-boxes of one permutation.
var sboxesPerPermutation = 2*p2params.NbFullRounds + p2params.NbPartialRounds

// powers holds shares of r, r², r³, r⁴, r⁵ for random r, one per S-box.
type powers struct{ r1, r2, r3, r4, r5 Vec }

func (w powers) slice(from, to int) powers {
	return powers{w.r1.Slice(from, to), w.r2.Slice(from, to), w.r3.Slice(from, to), w.r4.Slice(from, to), w.r5.Slice(from, to)}
}

// randomPowers prepares m S-box masks: a joint random r and its powers up to
// 5 (1 sharing round + 3 multiplication rounds, any m).
func (p *Party) randomPowers(ctx context.Context, m int) (powers, error) {
	r, err := p.RandomVec(ctx, m)
	if err != nil {
		return powers{}, err
	}
	// The products below are the masks' powers; the test-only adversary
	// (cheat.Plan.MulOp) can target them by this name.
	p.op = opSboxPowers
	defer func() { p.op = "" }()
	r2, err := p.mulVec(ctx, r, r)
	if err != nil {
		return powers{}, err
	}
	r34, err := p.mulVec(ctx, ConcatVecs(r2, r2), ConcatVecs(r, r2))
	if err != nil {
		return powers{}, err
	}
	r3, r4 := r34.Slice(0, m), r34.Slice(m, 2*m)
	r5, err := p.mulVec(ctx, r4, r)
	if err != nil {
		return powers{}, err
	}
	return powers{r, r2, r3, r4, r5}, nil
}

// opSboxPowers names the multiplications of randomPowers for the test-only
// adversary (cheat.Plan.MulOp).
const opSboxPowers = "sbox-powers"

// sbox raises x to the 5th power in place with one opening: c = x + r is
// opened (uniform), and x^5 = (c − r)^5 = c^5 − r^5 + 5(c·r^4 − c^4·r)
// + 10(c^3·r^2 − c^2·r^3) is linear in the prepared powers of r (and their
// MACs, the constant c^5 entering the MAC half as c^5·[α]).
func (p *Party) sbox(ctx context.Context, x Vec, w powers) error {
	m := x.Len()
	masked := x.Add(w.r1)
	c, err := p.Open(ctx, "mask:poseidon2", masked.V)
	if err != nil {
		return err
	}
	c2 := field.Mul(c, c)
	c3 := field.Mul(c2, c)
	c4 := field.Mul(c2, c2)
	c5 := field.Mul(c4, c)
	a, b, t := field.New(m), field.New(m), field.New(m)
	for h := 0; h < p.halves(); h++ {
		r1, r2, r3, r4, r5 := w.r1.half(h), w.r2.half(h), w.r3.half(h), w.r4.half(h), w.r5.half(h)
		// a = c·r4 − c4·r1
		a.Mul(c, r4)
		b.Mul(c4, r1)
		a.Sub(a, b)
		// b = c3·r2 − c2·r3
		b.Mul(c3, r2)
		t.Mul(c2, r3)
		b.Sub(b, t)
		// x = c5·one − r5 + 5(a + 2b)
		b.Add(b, b)
		a.Add(a, b)
		b.Add(a, a)
		b.Add(b, b)
		b.Add(b, a)
		xh := x.half(h)
		if h == 0 {
			xh.Sub(c5, r5)
		} else {
			xh.ScalarMul(c5, &p.alpha)
			xh.Sub(xh, r5)
		}
		xh.Add(xh, b)
	}
	return nil
}

// sboxDirect raises x to the 5th power in place with three multiplications
// (x², x⁴, x⁵) and no preprocessing: half the work of sbox, but three rounds
// instead of one. Poseidon2 uses it for large batches, where work dominates.
func (p *Party) sboxDirect(ctx context.Context, x Vec) error {
	x2, err := p.mulVec(ctx, x, x)
	if err != nil {
		return err
	}
	x4, err := p.mulVec(ctx, x2, x2)
	if err != nil {
		return err
	}
	x5, err := p.mulVec(ctx, x4, x)
	if err != nil {
		return err
	}
	copy(x.V, x5.V)
	copy(x.M, x5.M)
	return nil
}

// externalLayer applies circ(2,1): (a, b) ↦ (2a+b, a+2b).
func externalLayer(a, b fr.Vector) {
	for j := range a {
		var s fr.Element
		s.Add(&a[j], &b[j])
		a[j].Add(&a[j], &s)
		b[j].Add(&b[j], &s)
	}
}

// internalLayer applies [[2,1],[1,3]]: (a, b) ↦ (2a+b, a+3b).
func internalLayer(a, b fr.Vector) {
	for j := range a {
		var s fr.Element
		s.Add(&a[j], &b[j])
		a[j].Add(&a[j], &s)
		b[j].Double(&b[j]).Add(&b[j], &s)
	}
}

// DirectSboxBatch is the batch size from which Poseidon2 computes S-boxes
// with three multiplication rounds instead of one masked opening after
// preprocessing: below it round latency dominates, above it work does.
const DirectSboxBatch = 256

// Poseidon2 is Poseidon2Vec in semi-honest mode.
func (p *Party) Poseidon2(ctx context.Context, s0, s1 fr.Vector) error {
	if p.malicious() {
		return errSemiHonestAPI
	}
	return p.Poseidon2Vec(ctx, Vec{V: s0}, Vec{V: s1})
}

// Poseidon2Vec applies the permutation to the m shared states (s0[j], s1[j])
// in place. Small batches: 4 preprocessing rounds, then one opening per round
// (60 rounds). Batches of at least DirectSboxBatch: 3 multiplication rounds
// per round (168 rounds), about half the work.
func (p *Party) Poseidon2Vec(ctx context.Context, s0, s1 Vec) error {
	return p.poseidon2Plan(ctx, s0, s1, planAuto)
}

// sboxPlan chooses how a batch of permutations computes its S-boxes.
type sboxPlan int

const (
	// planAuto: masked below DirectSboxBatch, direct from it.
	planAuto sboxPlan = iota
	// planDirect: three multiplication rounds per S-box layer (sboxDirect).
	planDirect
	// planMasked: one opening per layer after the powers (sbox).
	planMasked
)

func (p *Party) poseidon2Plan(ctx context.Context, s0, s1 Vec, plan sboxPlan) error {
	m := s0.Len()
	if s1.Len() != m {
		return fmt.Errorf("ss: poseidon2 state halves of %d and %d", s0.Len(), s1.Len())
	}
	if err := p.checkMode("poseidon2", s0, s1); err != nil {
		return err
	}
	if m == 0 {
		return nil
	}
	if plan == planAuto {
		plan = planMasked
		if m >= DirectSboxBatch {
			plan = planDirect
		}
	}
	if plan == planDirect {
		if err := p.poseidon2Rounds(ctx, s0, s1, func(x Vec, _ int) error { return p.sboxDirect(ctx, x) }); err != nil {
			return fmt.Errorf("ss: poseidon2: %w", err)
		}
		return nil
	}
	w, err := p.randomPowers(ctx, sboxesPerPermutation*m)
	if err != nil {
		return fmt.Errorf("ss: poseidon2 masks: %w", err)
	}
	return p.poseidon2Masked(ctx, s0, s1, w)
}

// poseidon2Masked runs the permutation with masked S-boxes, consuming the
// prepared powers w (sboxesPerPermutation·m of them) in order.
func (p *Party) poseidon2Masked(ctx context.Context, s0, s1 Vec, w powers) error {
	used := 0
	masked := func(x Vec, _ int) error {
		err := p.sbox(ctx, x, w.slice(used, used+x.Len()))
		used += x.Len()
		return err
	}
	if err := p.poseidon2Rounds(ctx, s0, s1, masked); err != nil {
		return fmt.Errorf("ss: poseidon2: %w", err)
	}
	return nil
}

// addKey adds the public round key k to x (both halves).
func (p *Party) addKey(x Vec, k *fr.Element) {
	field.AddConst(x.V, x.V, k)
	if x.M != nil {
		var a fr.Element
		a.Mul(k, &p.alpha)
		field.AddConst(x.M, x.M, &a)
	}
}

// poseidon2Rounds runs the permutation's rounds, raising the S-box inputs to
// the 5th power with sbox (in place). The layers are linear without
// constants, so they act on both halves alike.
func (p *Party) poseidon2Rounds(_ context.Context, s0, s1 Vec, sbox func(x Vec, round int) error) error {
	m := s0.Len()
	rf := p2params.NbFullRounds / 2
	keys := p2params.RoundKeys
	both := p.NewVec(2 * m)
	ext := func() {
		for h := 0; h < p.halves(); h++ {
			externalLayer(s0.half(h), s1.half(h))
		}
	}
	full := func(round int) error {
		p.addKey(s0, &keys[round][0])
		p.addKey(s1, &keys[round][1])
		for h := 0; h < p.halves(); h++ {
			copy(both.half(h), s0.half(h))
			copy(both.half(h)[m:], s1.half(h))
		}
		if err := sbox(both, round); err != nil {
			return err
		}
		for h := 0; h < p.halves(); h++ {
			copy(s0.half(h), both.half(h)[:m])
			copy(s1.half(h), both.half(h)[m:])
		}
		ext()
		return nil
	}
	ext()
	for i := 0; i < rf; i++ {
		if err := full(i); err != nil {
			return err
		}
	}
	for i := rf; i < rf+p2params.NbPartialRounds; i++ {
		p.addKey(s0, &keys[i][0])
		if err := sbox(s0, i); err != nil {
			return err
		}
		for h := 0; h < p.halves(); h++ {
			internalLayer(s0.half(h), s1.half(h))
		}
	}
	for i := rf + p2params.NbPartialRounds; i < p2params.NbFullRounds+p2params.NbPartialRounds; i++ {
		if err := full(i); err != nil {
			return err
		}
	}
	return nil
}

// CommitChainFields is the longest input committed as one Merkle–Damgård
// chain. Longer inputs (clearing curves of up to 4,000 levels) are committed
// in tree mode: a chain of k blocks costs k permutations in sequence, hence k
// times the latency of one inside the MPC, while a tree of the same k−1
// compressions needs only ⌈log2 k⌉ batched levels.
const CommitChainFields = 8

// Commit is CommitVec in semi-honest mode.
func (p *Party) Commit(ctx context.Context, fields []fr.Vector, salt fr.Vector) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	fs := make([]Vec, len(fields))
	for i, f := range fields {
		fs[i] = Vec{V: f}
	}
	c, err := p.CommitVec(ctx, fs, Vec{V: salt})
	return c.V, err
}

// CommitVec computes, for each of m instances j, the project's Poseidon2
// commitment of (fields[0][j], …, fields[k−1][j]) under salt[j] on shares
// (see NativeCommit); the m instances run side by side. Below
// DirectSboxBatch the chain's S-box masks are prepared in one batch for all
// its permutations (PrepareCommit; in malicious mode a single instance runs
// its partial rounds in pairs, see poseidon2_pair.go); from it every S-box
// takes three multiplications (sboxDirect): the masked S-box needs four for
// its powers and an opening, and the engine's cost there is work, not
// rounds (BenchmarkCommitPlans).
func (p *Party) CommitVec(ctx context.Context, fields []Vec, salt Vec) (Vec, error) {
	return p.commitPlan(ctx, fields, salt, planAuto)
}

func (p *Party) commitPlan(ctx context.Context, fields []Vec, salt Vec, plan sboxPlan) (Vec, error) {
	m := salt.Len()
	for _, f := range fields {
		if f.Len() != m {
			return Vec{}, fmt.Errorf("ss: commit: field of %d values, want %d", f.Len(), m)
		}
		if err := p.checkMode("commit", f); err != nil {
			return Vec{}, err
		}
	}
	if err := p.checkMode("commit", salt); err != nil {
		return Vec{}, err
	}
	blocks := fields
	if len(fields) > CommitChainFields {
		root, err := p.treeRoot(ctx, fields)
		if err != nil {
			return Vec{}, fmt.Errorf("ss: commit: %w", err)
		}
		blocks = []Vec{root}
	}
	blocks = append(append([]Vec(nil), blocks...), salt)
	if plan == planAuto && m < DirectSboxBatch {
		plan = planMasked
	}
	if plan == planMasked && m > 0 && len(blocks)*sboxesPerPermutation*m <= maxChainMasks {
		// The masks of every permutation of the chain in one preparation:
		// 5 rounds for the chain instead of 5 per permutation.
		masks, err := p.prepareCommit(ctx, m, len(blocks))
		if err != nil {
			return Vec{}, err
		}
		return p.chain(ctx, blocks, masks)
	}
	state := p.NewVec(m)
	for _, b := range blocks {
		s0, s1 := state.Clone(), b.Clone()
		if err := p.poseidon2Plan(ctx, s0, s1, plan); err != nil {
			return Vec{}, fmt.Errorf("ss: commit: %w", err)
		}
		state = b.Add(s1)
	}
	return state, nil
}

// maxChainMasks bounds the S-box masks a chain commitment prepares in one
// batch (5 shares each, twice in malicious mode: 20 MiB at the bound);
// beyond it each permutation prepares its own.
const maxChainMasks = 1 << 16

// CommitMasks are the S-box masks of one chain commitment (see
// PrepareCommit): shares of r, …, r⁵ for a fresh joint random r per S-box.
// They do not depend on what is committed, so a job prepares them while it
// waits for something else, and they are used once: a second use would open
// x + r and x′ + r under the same r, i.e. reveal x − x′.
type CommitMasks struct {
	owner *Party
	m     int
	perms int
	w     powers
	// paired (m ≤ PairBatch): the partial rounds run in pairs with the
	// monomials pw, the full rounds with w (see poseidon2_pair.go).
	paired bool
	pw     pairMasks
	used   bool
}

// PrepareCommit prepares the masks of one later CommitVecPrepared of m
// instances of k fields (1 ≤ k ≤ CommitChainFields; k+1 permutations in
// sequence): 5 rounds and 4 multiplications per S-box (malicious mode: with
// their MACs, checked with the engine's next check like every product; for
// m ≤ PairBatch also the monomials of the paired partial rounds, 8 more
// rounds). It is meant for small batches, where the commitment's latency is
// its k+1 permutations' 56 layers each: with the masks ready, each layer (or
// pair of partial layers) is one opening.
func (p *Party) PrepareCommit(ctx context.Context, m, k int) (*CommitMasks, error) {
	if m < 1 || k < 1 || k > CommitChainFields {
		return nil, fmt.Errorf("ss: commit masks for %d instances of %d fields (want m ≥ 1, 1 ≤ k ≤ %d)", m, k, CommitChainFields)
	}
	if (k+1)*sboxesPerPermutation*m > maxChainMasks {
		return nil, fmt.Errorf("ss: commit masks for %d instances of %d fields: more than %d S-boxes", m, k, maxChainMasks)
	}
	return p.prepareCommit(ctx, m, k+1)
}

func (p *Party) prepareCommit(ctx context.Context, m, perms int) (*CommitMasks, error) {
	// Pairs only in malicious mode: there an opening costs a round of
	// all-n-share messages and the check's latency, while semi-honest
	// openings are cheap enough that the pairs' local work is not repaid.
	return p.prepareCommitPaired(ctx, m, perms, p.malicious() && m <= PairBatch)
}

func (p *Party) prepareCommitPaired(ctx context.Context, m, perms int, paired bool) (*CommitMasks, error) {
	if paired {
		w, err := p.randomPowers(ctx, perms*singlesPerPairedPermutation*m)
		if err != nil {
			return nil, fmt.Errorf("ss: commit masks: %w", err)
		}
		pw, err := p.randomPairMasks(ctx, perms*pairsPerPermutation*m)
		if err != nil {
			return nil, fmt.Errorf("ss: commit masks: %w", err)
		}
		return &CommitMasks{owner: p, m: m, perms: perms, w: w, paired: true, pw: pw}, nil
	}
	w, err := p.randomPowers(ctx, perms*sboxesPerPermutation*m)
	if err != nil {
		return nil, fmt.Errorf("ss: commit masks: %w", err)
	}
	return &CommitMasks{owner: p, m: m, perms: perms, w: w}, nil
}

// CommitVecPrepared is CommitVec (chain mode) with masks from PrepareCommit
// on the same engine, for the same m and number of fields; it consumes them.
func (p *Party) CommitVecPrepared(ctx context.Context, fields []Vec, salt Vec, masks *CommitMasks) (Vec, error) {
	m := salt.Len()
	switch {
	case masks == nil || masks.owner != p:
		return Vec{}, fmt.Errorf("ss: commit: masks prepared by another engine")
	case masks.used:
		return Vec{}, fmt.Errorf("ss: commit: masks already used")
	case masks.m != m || masks.perms != len(fields)+1:
		return Vec{}, fmt.Errorf("ss: commit: masks for %d instances of %d fields, got %d of %d", masks.m, masks.perms-1, m, len(fields))
	}
	for _, f := range fields {
		if f.Len() != m {
			return Vec{}, fmt.Errorf("ss: commit: field of %d values, want %d", f.Len(), m)
		}
		if err := p.checkMode("commit", f); err != nil {
			return Vec{}, err
		}
	}
	if err := p.checkMode("commit", salt); err != nil {
		return Vec{}, err
	}
	return p.chain(ctx, append(append([]Vec(nil), fields...), salt), masks)
}

// chain runs the Merkle–Damgård chain over blocks with masked S-boxes,
// consuming masks (one permutation's worth per block, in order).
func (p *Party) chain(ctx context.Context, blocks []Vec, masks *CommitMasks) (Vec, error) {
	masks.used = true
	m := masks.m
	n := sboxesPerPermutation * m
	state := p.NewVec(m)
	ns, np := singlesPerPairedPermutation*m, pairsPerPermutation*m
	for i, b := range blocks {
		s0, s1 := state.Clone(), b.Clone()
		var err error
		if masks.paired {
			err = p.poseidon2Paired(ctx, s0, s1, masks.w.slice(i*ns, (i+1)*ns), masks.pw.slice(i*np, (i+1)*np))
		} else {
			err = p.poseidon2Masked(ctx, s0, s1, masks.w.slice(i*n, (i+1)*n))
		}
		if err != nil {
			return Vec{}, fmt.Errorf("ss: commit: %w", err)
		}
		state = b.Add(s1)
	}
	// Drop the references: the masks are spent.
	masks.w, masks.pw = powers{}, pairMasks{}
	return state, nil
}

// treeRoot computes, for each instance, the root of the binary tree of
// compressions over its fields (see NativeCommit): every level compresses
// all its pairs of every instance in one batched permutation.
func (p *Party) treeRoot(ctx context.Context, fields []Vec) (Vec, error) {
	level := fields
	m := fields[0].Len()
	for len(level) > 1 {
		pairs := len(level) / 2
		left, right := p.NewVec(pairs*m), p.NewVec(pairs*m)
		for q := 0; q < pairs; q++ {
			for h := 0; h < p.halves(); h++ {
				copy(left.half(h)[q*m:], level[2*q].half(h))
				copy(right.half(h)[q*m:], level[2*q+1].half(h))
			}
		}
		out := right.Clone()
		if err := p.Poseidon2Vec(ctx, left, out); err != nil {
			return Vec{}, err
		}
		out.AddInPlace(right) // compress(l, r) = P(l, r)[1] + r
		next := make([]Vec, 0, pairs+1)
		for q := 0; q < pairs; q++ {
			next = append(next, out.Slice(q*m, (q+1)*m))
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level = next
	}
	return level[0], nil
}

// NativeCommit is the plaintext commitment to fields under salt, a 32-byte
// field element:
//
//   - up to CommitChainFields fields: gnark-crypto's bn254 Merkle–Damgård
//     Poseidon2 hasher (zero IV; each block b updates the state h to
//     b + P(h, b)[1]) fed with the fields, then the salt, each as its 32-byte
//     big-endian encoding — the same function as zk.Commit and the zk circuits'
//     commitments;
//   - longer inputs, tree mode: the same hasher fed with (root, salt), where
//     root is the binary tree of compressions c(l, r) = P(l, r)[1] + r over the
//     fields, pairing neighbours level by level and carrying an odd last node
//     up unchanged. The tree's shape depends only on the number of fields,
//     which every job fixes publicly; for a given length it binds like the
//     chain.
func NativeCommit(fields []fr.Element, salt fr.Element) fr.Element {
	blocks := fields
	if len(fields) > CommitChainFields {
		blocks = []fr.Element{nativeTreeRoot(fields)}
	}
	h := poseidon2.NewMerkleDamgardHasher()
	for i := range blocks {
		b := blocks[i].Bytes()
		h.Write(b[:])
	}
	b := salt.Bytes()
	h.Write(b[:])
	var out fr.Element
	out.SetBytes(h.Sum(nil))
	return out
}

func nativeTreeRoot(fields []fr.Element) fr.Element {
	perm := poseidon2.NewDefaultPermutation()
	level := append([]fr.Element(nil), fields...)
	for len(level) > 1 {
		next := level[:0:0]
		for q := 0; q+1 < len(level); q += 2 {
			st := []fr.Element{level[q], level[q+1]}
			if err := perm.Permutation(st); err != nil {
				panic(err) // the state has the permutation's width
			}
			st[1].Add(&st[1], &level[q+1])
			next = append(next, st[1])
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level = next
	}
	return level[0]
}
