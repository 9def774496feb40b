package ss

import (
	"fmt"

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
	// subSecret[i][k] and subPRG[i][k][·] give party k's sub-share of a value s
	// re-shared by party i: subSecret[i][k]·s + Σ_j subPRG[i][k][j]·ρ_{i→prgSet[i][j]}.
	subSecret [][]fr.Element
	subPRG    [][][]fr.Element
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
	p.subSecret = make([][]fr.Element, n)
	p.subPRG = make([][][]fr.Element, n)
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
		p.subSecret[i] = make([]fr.Element, n)
		p.subPRG[i] = make([][]fr.Element, n)
		for k := 0; k < n; k++ {
			c := lagrangeAt(basis, k)
			p.subSecret[i][k] = c[0]
			p.subPRG[i][k] = c[1:]
		}
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

// lagrangeAt returns the coefficients, over the given basis (party indices,
// −1 for the point 0), of the value at party k's point.
func lagrangeAt(basis []int, k int) []fr.Element {
	return lagrangeAtPoint(basis, point(k))
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
