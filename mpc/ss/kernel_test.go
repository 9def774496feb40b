package ss

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

// halveInto agrees with fr.Element.Halve on random elements and on the
// edge cases 0, 1, q−1 (odd and even representations alike), in place too.
func TestHalveIntoMatchesHalve(t *testing.T) {
	v := field.New(1000)
	for i := range v {
		v[i].MustSetRandom()
	}
	v[0].SetZero()
	v[1].SetOne()
	v[2].SetOne()
	v[2].Neg(&v[2])
	v[3] = fr.Element{1, 0, 0, 0} // the representation 1 (odd)
	got := field.New(len(v))
	halveInto(got, v)
	for i := range v {
		want := v[i]
		want.Halve()
		if !got[i].Equal(&want) {
			t.Fatalf("element %d: halveInto %v, Halve %v", i, got[i], want)
		}
		var twice fr.Element
		twice.Double(&got[i])
		if !twice.Equal(&v[i]) {
			t.Fatalf("element %d: 2·(v/2) ≠ v", i)
		}
	}
	halveInto(v, v)
	for i := range v {
		if !v[i].Equal(&got[i]) {
			t.Fatalf("element %d: in place differs", i)
		}
	}
}

func BenchmarkHalveInto(b *testing.B) {
	v := field.New(chunkSize)
	for i := range v {
		v[i].MustSetRandom()
	}
	d := field.New(chunkSize)
	for i := 0; i < b.N; i++ {
		halveInto(d, v)
	}
}

// The comparison leaf by its definition: for public bits ch, cl and shared
// bits rh, rl (with pr = rh·rl), E = [ch = rh]·[cl = rl] and L = [ch < rh] +
// [ch = rh]·[cl < rl]. Both are affine in (1, rh, rl, pr), whose four
// monomials are independent over the four bit pairs, so checking every pair
// fixes the coefficients that the MAC half (1 → a share of α) uses too.
func TestLeafMatchesDefinition(t *testing.T) {
	b2i := func(b bool) uint64 {
		if b {
			return 1
		}
		return 0
	}
	one := fr.One()
	for ch := uint64(0); ch < 2; ch++ {
		for cl := uint64(0); cl < 2; cl++ {
			for h := uint64(0); h < 2; h++ {
				for l := uint64(0); l < 2; l++ {
					var rh, rl, pr, E, L, e2, l2 fr.Element
					rh.SetUint64(h)
					rl.SetUint64(l)
					pr.SetUint64(h * l)
					leafEqual(ch, cl, &rh, &rl, &pr, &one, &E)
					leafLess(ch, cl, &rh, &rl, &pr, &L)
					pairNode(ch, cl, &rh, &rl, &pr, &one, &e2, &l2)
					wantE := b2i(ch == h && cl == l)
					wantL := b2i(ch < h) + b2i(ch == h && cl < l)
					if !E.Equal(new(fr.Element).SetUint64(wantE)) || !L.Equal(new(fr.Element).SetUint64(wantL)) || !e2.Equal(&E) || !l2.Equal(&L) {
						t.Fatalf("c = (%d, %d), r = (%d, %d): E = %v, L = %v, want %d, %d", ch, cl, h, l, E.String(), L.String(), wantE, wantL)
					}
				}
			}
		}
	}
}

// The limbs of q and the branch-free addBF, subBF agree with gnark-crypto.
func TestModulusLimbsAndBranchFree(t *testing.T) {
	want := fr.Modulus()
	got := new(big.Int)
	for i, l := range []uint64{q3, q2, q1, q0} {
		if i > 0 {
			got.Lsh(got, 64)
		}
		got.Or(got, new(big.Int).SetUint64(l))
	}
	if got.Cmp(want) != 0 {
		t.Fatalf("q limbs give %v, want %v", got, want)
	}
	vals := field.New(200)
	for i := range vals {
		vals[i].MustSetRandom()
	}
	vals[0].SetZero()
	vals[1].SetOne()
	vals[2].Neg(&vals[1]) // q − 1
	for i := range vals {
		for j := range vals {
			var a, s, wa, ws fr.Element
			addBF(&a, &vals[i], &vals[j])
			subBF(&s, &vals[i], &vals[j])
			wa.Add(&vals[i], &vals[j])
			ws.Sub(&vals[i], &vals[j])
			if !a.Equal(&wa) || !s.Equal(&ws) {
				t.Fatalf("(%d, %d): addBF/subBF differ from Add/Sub", i, j)
			}
		}
	}
}
