package ss

import (
	"fmt"
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

// linComb equals the sum of the scaled terms for every combination of up to
// four sources with coefficients in [−4, 4] (zero terms left out), including
// all-negative ones (the final negation), and on edge values.
func TestLinCombMatchesScaling(t *testing.T) {
	const n = 64
	srcs := make([]fr.Vector, 4)
	for s := range srcs {
		srcs[s] = field.New(n)
		for i := range srcs[s] {
			srcs[s][i].MustSetRandom()
		}
		srcs[s][0].SetZero()
		srcs[s][1].SetOne()
		srcs[s][2].Neg(&srcs[s][1])
	}
	dst := field.New(n)
	var cs [4]int64
	for code := 0; code < 9*9*9*9; code++ {
		x := code
		var terms []linTerm
		for s := range cs {
			cs[s] = int64(x%9) - 4
			x /= 9
			if cs[s] != 0 {
				terms = append(terms, linTerm{src: s, c: cs[s]})
			}
		}
		for i := range dst {
			dst[i].MustSetRandom() // linComb must overwrite it
		}
		linComb(dst, srcs, terms)
		for i := range dst {
			var want, c, term fr.Element
			for s := range cs {
				c.SetInt64(cs[s])
				term.Mul(&c, &srcs[s][i])
				want.Add(&want, &term)
			}
			if !dst[i].Equal(&want) {
				t.Fatalf("coefficients %v, element %d: got %v, want %v", cs, i, dst[i].String(), want.String())
			}
		}
	}
}

// kernelParty is party me of n with fixed pairwise streams, enough to run
// its re-sharing kernel (subShares) alone.
func kernelParty(n, me int) (*Party, error) {
	prm, err := NewParams(n)
	if err != nil {
		return nil, err
	}
	p := &Party{params: prm, self: me, toPRG: make([]*field.StreamKey, n), fromPRG: make([]*field.StreamKey, n), fromIdx: make([]int, n)}
	for _, j := range prm.prgSet[me] {
		p.toPRG[j] = field.NewStreamKey([field.SeedBytes]byte{byte(me), byte(j)}, "kernel")
	}
	for i := 0; i < n; i++ {
		for k, j := range prm.prgSet[i] {
			if j == me {
				p.fromPRG[i] = field.NewStreamKey([field.SeedBytes]byte{byte(i), byte(me)}, "kernel")
				p.fromIdx[i] = k
			}
		}
	}
	return p, nil
}

// BenchmarkReshareKernel: one chunk of a multiplication's re-sharing for
// each party of n = 3 (its PRG streams, its sub-shares, the folded streams
// and the encoding of the sent one), on one core.
func BenchmarkReshareKernel(b *testing.B) {
	for me := 0; me < 3; me++ {
		p, err := kernelParty(3, me)
		if err != nil {
			b.Fatal(err)
		}
		w := &worker{stream: make([]byte, field.StreamBufBytes)}
		v := field.New(chunkSize)
		for i := range v {
			v[i].MustSetRandom()
		}
		own := field.New(chunkSize)
		payload := make([]byte, chunkSize*field.Bytes)
		b.Run(fmt.Sprintf("party%d", me), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p.subShares(w, v, p.params.subSecretMul[me], 1, uint32(i), own, true, func(to int, share fr.Vector) {
					if to != me {
						field.PutElements(payload, share)
					}
				})
			}
		})
	}
}

// subShares (linComb where the coefficients are small, scaling otherwise)
// gives every sub-share its definition — secret[k]·v + Σ_j subPRGc[k][j]·u_j,
// plus, for its own with fold, Σ prgScale·(stream from i) — for every
// committee size, party, coefficient table, and with and without fold.
func TestSubSharesMatchDefinition(t *testing.T) {
	const m = 300
	for n := MinParties; n <= MaxParties; n++ {
		for me := 0; me < n; me++ {
			p, err := kernelParty(n, me)
			if err != nil {
				t.Fatal(err)
			}
			prm := p.params
			w := &worker{stream: make([]byte, field.StreamBufBytes)}
			v := field.New(m)
			for i := range v {
				v[i].MustSetRandom()
			}
			v[0].SetZero()
			v[1].SetOne()
			for ti, secret := range [][]coef{prm.subSecretIn[me], prm.subSecretMul[me]} {
				for _, fold := range []bool{false, true} {
					const r, c = 5, 2
					got := make(map[int]fr.Vector)
					own := field.New(m)
					p.subShares(w, v, secret, r, c, own, fold, func(k int, share fr.Vector) {
						got[k] = append(fr.Vector(nil), share...)
					})
					streams := make([]fr.Vector, len(prm.prgSet[me]))
					for j, pj := range prm.prgSet[me] {
						streams[j] = field.New(m)
						p.toPRG[pj].Fill(streams[j], r, c, w.stream)
					}
					for k, share := range got {
						want := field.New(m)
						var term fr.Element
						for i := range want {
							want[i].Mul(&secret[k].e, &v[i])
							for j := range streams {
								term.Mul(&prm.subPRGc[me][k][j].e, &streams[j][i])
								want[i].Add(&want[i], &term)
							}
						}
						if k == me {
							if !own.Equal(share) {
								t.Fatalf("n = %d, party %d: own sub-share not in own", n, me)
							}
							for i, g := range p.fromPRG {
								if g == nil || i == me || !fold {
									continue
								}
								u := field.New(m)
								g.Fill(u, r, c, w.stream)
								for e := range want {
									term.Mul(&prm.prgScale[i][p.fromIdx[i]].e, &u[e])
									want[e].Add(&want[e], &term)
								}
							}
						}
						if !share.Equal(want) {
							t.Fatalf("n = %d, party %d, table %d, fold %v: sub-share for %d differs", n, me, ti, fold, k)
						}
					}
					if len(got) != len(prm.sendSet[me])+1 {
						t.Fatalf("n = %d, party %d: %d sub-shares emitted", n, me, len(got))
					}
				}
			}
		}
	}
}
