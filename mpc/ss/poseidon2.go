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
type powers struct{ r1, r2, r3, r4, r5 fr.Vector }

func (w powers) slice(from, to int) powers {
	return powers{w.r1[from:to], w.r2[from:to], w.r3[from:to], w.r4[from:to], w.r5[from:to]}
}

// randomPowers prepares m S-box masks: a joint random r and its powers up to
// 5 (1 sharing round + 3 multiplication rounds, any m).
func (p *Party) randomPowers(ctx context.Context, m int) (powers, error) {
	r, err := p.Random(ctx, m)
	if err != nil {
		return powers{}, err
	}
	r2, err := p.Mul(ctx, r, r)
	if err != nil {
		return powers{}, err
	}
	r34, err := p.Mul(ctx, field.Concat(r2, r2), field.Concat(r, r2))
	if err != nil {
		return powers{}, err
	}
	r3, r4 := r34[:m], r34[m:]
	r5, err := p.Mul(ctx, r4, r)
	if err != nil {
		return powers{}, err
	}
	return powers{r, r2, r3, r4, r5}, nil
}

// sbox raises x to the 5th power in place with one opening: c = x + r is
// opened (uniform), and x^5 = (c − r)^5 = c^5 − r^5 + 5(c·r^4 − c^4·r)
// + 10(c^3·r^2 − c^2·r^3) is linear in the prepared powers of r.
func (p *Party) sbox(ctx context.Context, x fr.Vector, w powers) error {
	m := len(x)
	masked := field.Add(x, w.r1)
	c, err := p.Open(ctx, "mask:poseidon2", masked)
	if err != nil {
		return err
	}
	c2 := field.Mul(c, c)
	c3 := field.Mul(c2, c)
	c4 := field.Mul(c2, c2)
	c5 := field.Mul(c4, c)
	a, b := field.New(m), field.New(m)
	// a = c·r4 − c4·r1
	a.Mul(c, w.r4)
	b.Mul(c4, w.r1)
	a.Sub(a, b)
	// b = c3·r2 − c2·r3
	b.Mul(c3, w.r2)
	c4.Mul(c2, w.r3) // c4 is free now
	b.Sub(b, c4)
	// x = c5 − r5 + 5a + 10b = c5 − r5 + 5(a + 2b)
	b.Add(b, b)
	a.Add(a, b)
	b.Add(a, a)
	b.Add(b, b)
	b.Add(b, a) // 5(a + 2b)
	x.Sub(c5, w.r5)
	x.Add(x, b)
	return nil
}

// sboxDirect raises x to the 5th power in place with three multiplications
// (x², x⁴, x⁵) and no preprocessing: half the work of sbox, but three rounds
// instead of one. Poseidon2 uses it for large batches, where work dominates.
func (p *Party) sboxDirect(ctx context.Context, x fr.Vector) error {
	x2, err := p.Mul(ctx, x, x)
	if err != nil {
		return err
	}
	x4, err := p.Mul(ctx, x2, x2)
	if err != nil {
		return err
	}
	x5, err := p.Mul(ctx, x4, x)
	if err != nil {
		return err
	}
	copy(x, x5)
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

// Poseidon2 applies the permutation to the m shared states (s0[j], s1[j]) in
// place. Small batches: 4 preprocessing rounds, then one opening per round
// (60 rounds). Batches of at least DirectSboxBatch: 3 multiplication rounds
// per round (168 rounds), about half the work.
func (p *Party) Poseidon2(ctx context.Context, s0, s1 fr.Vector) error {
	m := len(s0)
	if len(s1) != m {
		return fmt.Errorf("ss: poseidon2 state halves of %d and %d", len(s0), len(s1))
	}
	if m == 0 {
		return nil
	}
	if m >= DirectSboxBatch {
		if err := p.poseidon2Rounds(ctx, s0, s1, func(x fr.Vector, _ int) error { return p.sboxDirect(ctx, x) }); err != nil {
			return fmt.Errorf("ss: poseidon2: %w", err)
		}
		return nil
	}
	w, err := p.randomPowers(ctx, sboxesPerPermutation*m)
	if err != nil {
		return fmt.Errorf("ss: poseidon2 masks: %w", err)
	}
	used := 0
	masked := func(x fr.Vector, _ int) error {
		err := p.sbox(ctx, x, w.slice(used, used+len(x)))
		used += len(x)
		return err
	}
	if err := p.poseidon2Rounds(ctx, s0, s1, masked); err != nil {
		return fmt.Errorf("ss: poseidon2: %w", err)
	}
	return nil
}

// poseidon2Rounds runs the permutation's rounds, raising the S-box inputs to
// the 5th power with sbox (in place).
func (p *Party) poseidon2Rounds(_ context.Context, s0, s1 fr.Vector, sbox func(x fr.Vector, round int) error) error {
	m := len(s0)
	rf := p2params.NbFullRounds / 2
	keys := p2params.RoundKeys
	both := field.New(2 * m)
	full := func(round int) error {
		field.AddConst(s0, s0, &keys[round][0])
		field.AddConst(s1, s1, &keys[round][1])
		copy(both, s0)
		copy(both[m:], s1)
		if err := sbox(both, round); err != nil {
			return err
		}
		copy(s0, both[:m])
		copy(s1, both[m:])
		externalLayer(s0, s1)
		return nil
	}
	externalLayer(s0, s1)
	for i := 0; i < rf; i++ {
		if err := full(i); err != nil {
			return err
		}
	}
	for i := rf; i < rf+p2params.NbPartialRounds; i++ {
		field.AddConst(s0, s0, &keys[i][0])
		if err := sbox(s0, i); err != nil {
			return err
		}
		internalLayer(s0, s1)
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

// Commit computes, for each of m instances j, the project's Poseidon2
// commitment of (fields[0][j], …, fields[k−1][j]) under salt[j] on shares
// (see NativeCommit); the m instances run side by side.
func (p *Party) Commit(ctx context.Context, fields []fr.Vector, salt fr.Vector) (fr.Vector, error) {
	m := len(salt)
	if err := field.CheckLen(m, fields...); err != nil {
		return nil, fmt.Errorf("ss: commit: %w", err)
	}
	blocks := fields
	if len(fields) > CommitChainFields {
		root, err := p.treeRoot(ctx, fields)
		if err != nil {
			return nil, fmt.Errorf("ss: commit: %w", err)
		}
		blocks = []fr.Vector{root}
	}
	state := field.New(m)
	s0, s1 := field.New(m), field.New(m)
	for _, b := range append(append([]fr.Vector(nil), blocks...), salt) {
		copy(s0, state)
		copy(s1, b)
		if err := p.Poseidon2(ctx, s0, s1); err != nil {
			return nil, fmt.Errorf("ss: commit: %w", err)
		}
		state.Add(b, s1)
	}
	return state, nil
}

// treeRoot computes, for each instance, the root of the binary tree of
// compressions over its fields (see NativeCommit): every level compresses
// all its pairs of every instance in one batched permutation.
func (p *Party) treeRoot(ctx context.Context, fields []fr.Vector) (fr.Vector, error) {
	level := fields
	m := len(fields[0])
	for len(level) > 1 {
		pairs := len(level) / 2
		left, right := field.New(pairs*m), field.New(pairs*m)
		for q := 0; q < pairs; q++ {
			copy(left[q*m:], level[2*q])
			copy(right[q*m:], level[2*q+1])
		}
		out := append(fr.Vector(nil), right...)
		if err := p.Poseidon2(ctx, left, out); err != nil {
			return nil, err
		}
		out.Add(out, right) // compress(l, r) = P(l, r)[1] + r
		next := make([]fr.Vector, 0, pairs+1)
		for q := 0; q < pairs; q++ {
			next = append(next, out[q*m:(q+1)*m])
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
