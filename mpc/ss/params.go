package ss

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Committee sizes the engine supports.
const (
	MinParties = 3
	MaxParties = 9
)

// Params fixes a committee of n parties with threshold t = ⌊(n−1)/2⌋ and the
// interpolation tables every protocol of the engine uses. Party i evaluates
// share polynomials at the point i+1.
type Params struct {
	N, T int

	// prgSet[i] lists the t parties i+1, …, i+t (mod n) whose sub-shares of
	// any value party i re-shares are drawn from the pairwise PRG i→j.
	prgSet [][]int
	// sendSet[i] lists the other parties to whom party i sends sub-shares.
	sendSet [][]int
	// Party k's sub-share of a value s re-shared by party i is
	// subSecretIn/Mul[i][k]·s + Σ_j subPRGc[i][k][j]·u_j, where u_j is the PRG
	// stream i→prgSet[i][j] and party prgSet[i][j]'s own sub-share is
	// prgScale[i][j]·u_j. The scale clears the denominators of the u_j
	// coefficients, so that for n = 3 every coefficient is small (additions
	// only). subSecretIn is used for inputs and sums, subSecretMul (which
	// includes λ_i) for degree reduction.
	prgScale     [][]coef
	subPRGc      [][][]coef
	subSecretIn  [][]coef
	subSecretMul [][]coef
	// lambda are the Lagrange coefficients at 0 over all n points: the
	// recombination vector of any sharing of degree ≤ n−1 (so ≤ 2t).
	lambda []fr.Element
	// openSet[j] = {j, j+1, …, j+t} (mod n) are the t+1 parties whose shares
	// party j uses to reconstruct; openCoef[j] are their Lagrange coefficients.
	openSet  [][]int
	openCoef [][]fr.Element
}

// NewParams returns the parameters for a committee of n parties.
func NewParams(n int) (*Params, error) {
	if n < MinParties || n > MaxParties {
		return nil, fmt.Errorf("ss: committee of %d parties, want %d..%d", n, MinParties, MaxParties)
	}
	t := (n - 1) / 2
	p := &Params{N: n, T: t}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	p.lambda = lagrange(all, 0)

	p.prgSet = make([][]int, n)
	p.sendSet = make([][]int, n)
	p.prgScale = make([][]coef, n)
	p.subPRGc = make([][][]coef, n)
	p.subSecretIn = make([][]coef, n)
	p.subSecretMul = make([][]coef, n)
	p.openSet = make([][]int, n)
	p.openCoef = make([][]fr.Element, n)
	for i := 0; i < n; i++ {
		inPRG := make([]bool, n)
		for k := 1; k <= t; k++ {
			j := (i + k) % n
			p.prgSet[i] = append(p.prgSet[i], j)
			inPRG[j] = true
		}
		for k := 0; k < n; k++ {
			if k != i && !inPRG[k] {
				p.sendSet[i] = append(p.sendSet[i], k)
			}
		}
		// Basis over the points {0} ∪ prgSet[i]: −1 stands for the point 0.
		basis := append([]int{-1}, p.prgSet[i]...)
		p.ratTables(i, basis, all)
		for k := 0; k <= t; k++ {
			p.openSet[i] = append(p.openSet[i], (i+k)%n)
		}
		p.openCoef[i] = lagrange(p.openSet[i], 0)
	}
	return p, nil
}

// point returns the evaluation point of party i (i+1), or 0 for i = −1.
func point(i int) fr.Element {
	var x fr.Element
	x.SetUint64(uint64(i + 1))
	return x
}

// lagrange returns the Lagrange coefficients of the parties' points at the
// point 0 (target is the value 0 only; kept as a parameter for clarity).
func lagrange(parties []int, target uint64) []fr.Element {
	var tx fr.Element
	tx.SetUint64(target)
	return lagrangeAtPoint(parties, tx)
}

func lagrangeAtPoint(basis []int, x fr.Element) []fr.Element {
	out := make([]fr.Element, len(basis))
	for j, bj := range basis {
		xj := point(bj)
		num, den := fr.One(), fr.One()
		for m, bm := range basis {
			if m == j {
				continue
			}
			xm := point(bm)
			var a, b fr.Element
			a.Sub(&x, &xm)
			b.Sub(&xj, &xm)
			num.Mul(&num, &a)
			den.Mul(&den, &b)
		}
		den.Inverse(&den)
		out[j].Mul(&num, &den)
	}
	return out
}

// ratPoint is party i's evaluation point i+1 (−1 stands for the point 0).
func ratPoint(i int) *big.Rat { return big.NewRat(int64(i+1), 1) }

// ratLagrange returns the Lagrange coefficients over basis at party k's point
// (k = −1: the point 0), as exact rationals.
func ratLagrange(basis []int, k int) []*big.Rat {
	x := ratPoint(k)
	out := make([]*big.Rat, len(basis))
	for j, bj := range basis {
		v := big.NewRat(1, 1)
		for m, bm := range basis {
			if m == j {
				continue
			}
			num := new(big.Rat).Sub(x, ratPoint(bm))
			den := new(big.Rat).Sub(ratPoint(bj), ratPoint(bm))
			v.Mul(v, num.Quo(num, den))
		}
		out[j] = v
	}
	return out
}

// ratTables fills the kernel coefficient tables of owner i. basis is
// {0} ∪ prgSet[i] (0 written as −1).
func (p *Params) ratTables(i int, basis []int, all []int) {
	n := p.N
	lambda := ratLagrange(all, -1)[i]
	coefs := make([][]*big.Rat, n) // coefs[k] over basis, at party k
	for k := 0; k < n; k++ {
		coefs[k] = ratLagrange(basis, k)
	}
	// Scale PRG value j by the lcm of its coefficients' denominators when
	// that keeps everything small; otherwise leave it unscaled.
	p.prgScale[i] = make([]coef, len(basis)-1)
	scales := make([]*big.Rat, len(basis)-1)
	for j := range scales {
		l := big.NewInt(1)
		for k := 0; k < n; k++ {
			d := coefs[k][j+1].Denom()
			g := new(big.Int).GCD(nil, nil, l, d)
			l.Mul(l, d).Quo(l, g)
		}
		scale := new(big.Rat).SetInt(l)
		ok := l.IsInt64() && l.Int64() <= maxSmallNum
		for k := 0; k < n && ok; k++ {
			c := newCoef(new(big.Rat).Mul(coefs[k][j+1], scale))
			ok = c.small
		}
		if !ok {
			scale = big.NewRat(1, 1)
		}
		scales[j] = scale
		p.prgScale[i][j] = newCoef(scale)
	}
	p.subPRGc[i] = make([][]coef, n)
	p.subSecretIn[i] = make([]coef, n)
	p.subSecretMul[i] = make([]coef, n)
	for k := 0; k < n; k++ {
		p.subSecretIn[i][k] = newCoef(coefs[k][0])
		p.subSecretMul[i][k] = newCoef(new(big.Rat).Mul(coefs[k][0], lambda))
		p.subPRGc[i][k] = make([]coef, len(scales))
		for j := range scales {
			p.subPRGc[i][k][j] = newCoef(new(big.Rat).Mul(coefs[k][j+1], scales[j]))
		}
	}
}
