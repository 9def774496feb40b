package ss

import (
	"context"
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
	n := 3
	r := rand.New(rand.NewPCG(3, 19))
	prm := mustParams(t, n)
	const m, k = 3, 3
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
	// NativeCommit itself: cross-check against a hand-rolled Merkle–Damgård
	// chain over the permutation (h ← b + P(h, b)[1], zero IV).
	perm := poseidon2.NewDefaultPermutation()
	var h fr.Element
	for _, b := range []fr.Element{fields[0][0], fields[1][0], fields[2][0], salt[0]} {
		st := []fr.Element{h, b}
		if err := perm.Permutation(st); err != nil {
			t.Fatal(err)
		}
		h.Add(&b, &st[1])
	}
	want := NativeCommit([]fr.Element{fields[0][0], fields[1][0], fields[2][0]}, salt[0])
	if !h.Equal(&want) {
		t.Fatal("NativeCommit is not the Merkle–Damgård chain of the permutation")
	}
}
