package ss

import (
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

// leafEqual and leafLess compute pairNode's E and L.
func TestLeafMatchesPairNode(t *testing.T) {
	var rh, rl, pr, one fr.Element
	rh.MustSetRandom()
	rl.MustSetRandom()
	pr.MustSetRandom()
	one.MustSetRandom() // a MAC half's unit is a share of α
	for ch := uint64(0); ch < 2; ch++ {
		for cl := uint64(0); cl < 2; cl++ {
			var E, L, e, l fr.Element
			pairNode(ch, cl, &rh, &rl, &pr, &one, &E, &L)
			leafEqual(ch, cl, &rh, &rl, &pr, &one, &e)
			leafLess(ch, cl, &rh, &rl, &pr, &l)
			if !e.Equal(&E) || !l.Equal(&L) {
				t.Fatalf("c = (%d, %d): leaf functions differ from pairNode", ch, cl)
			}
		}
	}
}
