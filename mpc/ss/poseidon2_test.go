package ss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

func TestPoseidon2MatchesGnark(t *testing.T) {
	for _, tc := range []struct{ n, m int }{{3, 5}, {5, 5}, {3, DirectSboxBatch + 1}, {5, DirectSboxBatch}} {
		n, m := tc.n, tc.m
		r := rand.New(rand.NewPCG(uint64(n), uint64(17+m)))
		prm := mustParams(t, n)
		a, b := randField(r, m), randField(r, m)
		as, bs := shareAll(t, prm, a, 7), shareAll(t, prm, b, 8)
		res := runParties(t, n, func(ctx context.Context, p *Party) ([2]fr.Vector, error) {
			s0 := append(fr.Vector(nil), as[p.Self()]...)
			s1 := append(fr.Vector(nil), bs[p.Self()]...)
			if err := p.Poseidon2(ctx, s0, s1); err != nil {
				return [2]fr.Vector{}, err
			}
			o0, err := p.Open(ctx, "s0", s0)
			if err != nil {
				return [2]fr.Vector{}, err
			}
			o1, err := p.Open(ctx, "s1", s1)
			return [2]fr.Vector{o0, o1}, err
		})
		perm := poseidon2.NewDefaultPermutation()
		for j := 0; j < m; j++ {
			st := []fr.Element{a[j], b[j]}
			if err := perm.Permutation(st); err != nil {
				t.Fatal(err)
			}
			if !st[0].Equal(&res[0][0][j]) || !st[1].Equal(&res[0][1][j]) {
				t.Fatalf("n=%d: permutation %d differs from gnark-crypto", n, j)
			}
		}
	}
}

func TestCommitMatchesNativeHasher(t *testing.T) {
	// Chain mode, and tree mode with and without odd levels.
	for _, k := range []int{1, 3, CommitChainFields, CommitChainFields + 1, 16, 37} {
		t.Run(fmt.Sprint(k), func(t *testing.T) { testCommitMatchesNative(t, k) })
	}
	testNativeCommitConstruction(t)
}

func testCommitMatchesNative(t *testing.T, k int) {
	n := 3
	r := rand.New(rand.NewPCG(3, uint64(19+k)))
	prm := mustParams(t, n)
	const m = 3
	fields := make([]fr.Vector, k)
	shares := make([][]fr.Vector, k)
	for i := range fields {
		fields[i] = randField(r, m)
		shares[i] = shareAll(t, prm, fields[i], uint64(20+i))
	}
	salt := randField(r, m)
	saltSh := shareAll(t, prm, salt, 30)
	res := runParties(t, n, func(ctx context.Context, p *Party) (fr.Vector, error) {
		fs := make([]fr.Vector, k)
		for i := range fs {
			fs[i] = shares[i][p.Self()]
		}
		c, err := p.Commit(ctx, fs, saltSh[p.Self()])
		if err != nil {
			return nil, err
		}
		return p.Open(ctx, "commitment", c)
	})
	for j := 0; j < m; j++ {
		in := make([]fr.Element, k)
		for i := range in {
			in[i] = fields[i][j]
		}
		want := NativeCommit(in, salt[j])
		if !want.Equal(&res[0][j]) {
			t.Fatalf("commitment %d differs from the native hasher", j)
		}
	}
}

// testNativeCommitConstruction cross-checks NativeCommit against the
// permutation by hand: the Merkle–Damgård chain h ← b + P(h, b)[1] (zero IV)
// for short inputs, and over (tree root, salt) for long ones.
func testNativeCommitConstruction(t *testing.T) {
	perm := poseidon2.NewDefaultPermutation()
	compress := func(l, r fr.Element) fr.Element {
		st := []fr.Element{l, r}
		if err := perm.Permutation(st); err != nil {
			t.Fatal(err)
		}
		st[1].Add(&st[1], &r)
		return st[1]
	}
	chain := func(blocks ...fr.Element) fr.Element {
		var h fr.Element
		for _, b := range blocks {
			h = compress(h, b)
		}
		return h
	}
	f := make([]fr.Element, CommitChainFields+1)
	for i := range f {
		f[i].SetUint64(uint64(100 + i))
	}
	salt := fr.NewElement(7)
	if got, want := NativeCommit(f[:3], salt), chain(f[0], f[1], f[2], salt); !got.Equal(&want) {
		t.Fatal("NativeCommit of 3 fields is not the Merkle–Damgård chain of the permutation")
	}
	// 9 fields: levels of 9 → 5 → 3 → 2 → 1 nodes, the odd last node carried up.
	l1 := []fr.Element{compress(f[0], f[1]), compress(f[2], f[3]), compress(f[4], f[5]), compress(f[6], f[7]), f[8]}
	l2 := []fr.Element{compress(l1[0], l1[1]), compress(l1[2], l1[3]), l1[4]}
	l3 := []fr.Element{compress(l2[0], l2[1]), l2[2]}
	root := compress(l3[0], l3[1])
	if got, want := NativeCommit(f, salt), chain(root, salt); !got.Equal(&want) {
		t.Fatal("NativeCommit of 9 fields is not the chain over (tree root, salt)")
	}
}
