package sharecheck

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

// linearForm is the public side of the check: for each group g,
// Z_{D,g} = ⟨gamma[g], x_D⟩ + ⟨gammaW[g], w_D⟩ + kappa[g][D] with x_D a
// member's phase-1 input (secrets, error bits) and w_D its quotient bits.
type linearForm struct {
	gamma  []fr.Vector
	gammaW []fr.Vector
	kappa  [][]fr.Element
}

// combine draws the coefficients of the random combination and folds
//
//	Σ ρ_ρ·σ_{j,rep}·(L − q_j·W),  L = Σ_k c_k·(Σ_terms ±(A·x)_k + e_k − p_k)
//
// into a linear form on the members' inputs, over relations ρ, limbs j and
// points rep. The coefficient of each (ρ, j, rep) is the product ρ_ρ·σ_{j,rep}
// of two random field elements: the combination is a polynomial of degree 2
// in them, non-zero if any term is, so it vanishes with probability ≤ 2/r.
// With C_j = Σ_rep σ_{j,rep}·c_{j,rep}, Σ_k C_k·(A·x)_k = ⟨x, A*·C_j⟩ (A* the
// adjoint, see adjoint): per limb, C_j is transformed once, the relations'
// ρ-weighted adjoints are summed in the transform domain, and each secret
// costs one inverse transform per group.
func (s *System) combine(prg *field.PRG, pts *points, stmts []Statement) *linearForm {
	G, N, n := len(s.Groups), s.N, len(stmts)
	ng := newNegacyclic(N)
	lf := &linearForm{gamma: make([]fr.Vector, G), gammaW: make([]fr.Vector, G), kappa: make([][]fr.Element, G)}
	// Accumulators per group, secret and automorphism (terms on an
	// automorphism of a secret are folded back by its transpose at the end).
	type key struct {
		g, secret int
		auto      uint64
	}
	acc := make(map[key]fr.Vector)  // transform domain
	coef := make(map[key]fr.Vector) // coefficient domain (scalar terms)
	var keys []key                  // in first-use order (deterministic)
	use := func(k key) {
		if _, ok := coef[k]; !ok {
			coef[k] = field.New(N)
			keys = append(keys, k)
		}
	}
	for g := range s.Groups {
		lf.gamma[g] = field.New(s.phase1Len())
		lf.gammaW[g] = field.New(s.phase2Len())
		lf.kappa[g] = make([]fr.Element, n)
	}
	sigma := make([]fr.Vector, len(s.Moduli))
	for j := range sigma {
		sigma[j] = field.New(s.Reps)
		prg.FillVector(sigma[j])
	}
	rho := field.New(len(s.Rels))
	prg.FillVector(rho)
	errAcc := make([]fr.Vector, len(s.Rels))
	for r := range errAcc {
		errAcc[r] = field.New(N)
	}
	// wOff[r][j]: where relation r's quotient bits for limb j start.
	wOff := make([][]int, len(s.Rels))
	off := 0
	for r := range s.Rels {
		wOff[r] = make([]int, len(s.Moduli))
		for j := range s.Moduli {
			wOff[r][j] = off
			off += s.Reps * (s.wb[j] + 1)
		}
	}
	var t, pow2, qf, c, rs fr.Element
	raw := field.New(N) // scratch for rawU64
	for j, q := range s.Moduli {
		C := field.New(N)
		cl := field.New(N)
		for rep := 0; rep < s.Reps; rep++ {
			rawU64(cl, pts.c[j][rep]) // values c·R^-1: σ·R restores them
			t.Mul(&sigma[j][rep], &montR)
			cl.ScalarMul(cl, &t)
			C.Add(C, cl)
		}
		// Per group, secret and automorphism: Σ_ρ ±ρ_ρ·FFT(A*) over the
		// poly terms.
		sumT := make(map[key]fr.Vector)
		var sumKeys []key
		adj := make(map[int]fr.Vector) // FFT(A*) per public polynomial, this limb
		for r, rel := range s.Rels {
			g := rel.Group
			for _, tm := range rel.Terms {
				rs = rho[r]
				if tm.Neg {
					rs.Neg(&rs)
				}
				k := key{g, tm.Secret, tm.Auto}
				use(k)
				if tm.Poly >= 0 {
					a, ok := adj[tm.Poly]
					if !ok {
						rawU64(raw, s.Polys[tm.Poly][j])
						a = ng.forwardRaw(adjoint(raw))
						adj[tm.Poly] = a
					}
					if sumT[k] == nil {
						sumT[k] = field.New(N)
						sumKeys = append(sumKeys, k)
					}
					field.AddScaled(sumT[k], a, &rs, cl)
				} else {
					t.SetUint64(tm.Scalar[j])
					t.Mul(&t, &rs)
					field.AddScaled(coef[k], C, &t, cl)
				}
			}
			field.AddScaled(errAcc[r], C, &rho[r], cl)
			for d := range stmts {
				rawU64(raw, stmts[d][r][j])
				v := raw.InnerProduct(C)
				v.Mul(&v, &montR)
				v.Mul(&v, &rho[r])
				lf.kappa[g][d].Sub(&lf.kappa[g][d], &v)
			}
			// −q·W with W = Σ_i 2^i·w_i − 2^wb, per point.
			qf.SetUint64(q)
			w := wOff[r][j]
			for rep := 0; rep < s.Reps; rep++ {
				c.Mul(&qf, &rho[r])
				c.Mul(&c, &sigma[j][rep]) // q·ρ·σ
				pow2.SetOne()
				for i := 0; i <= s.wb[j]; i++ {
					lf.gammaW[g][w].Neg(&c)
					lf.gammaW[g][w].Mul(&lf.gammaW[g][w], &pow2)
					pow2.Double(&pow2)
					w++
				}
				pow2.SetOne()
				for i := 0; i < s.wb[j]; i++ {
					pow2.Double(&pow2)
				}
				t.Mul(&c, &pow2)
				for d := range stmts {
					lf.kappa[g][d].Add(&lf.kappa[g][d], &t)
				}
			}
		}
		if len(sumKeys) > 0 {
			Chat := ng.forward(C)
			for _, k := range sumKeys {
				if acc[k] == nil {
					acc[k] = field.New(N)
				}
				mulAcc(acc[k], sumT[k], Chat, false)
			}
		}
	}
	for _, k := range keys {
		v := coef[k]
		if acc[k] != nil {
			v = field.Add(v, ng.inverse(acc[k]))
		}
		if k.auto != 0 {
			v = automorphismT(v, k.auto)
		}
		dst := lf.gamma[k.g][k.secret*N : (k.secret+1)*N]
		dst.Add(dst, v)
	}
	// Errors: e_k = Σ_i 2^i·b_{k,i} − ErrOffset.
	off = len(s.Secrets) * N
	var sum, offE fr.Element
	offE.SetUint64(ErrOffset)
	for r, rel := range s.Rels {
		g := rel.Group
		sum.SetZero()
		for k := 0; k < N; k++ {
			e := errAcc[r][k]
			sum.Add(&sum, &e)
			for i := 0; i < ErrBits; i++ {
				lf.gamma[g][off+(r*N+k)*ErrBits+i] = e
				e.Double(&e)
			}
		}
		t.Mul(&sum, &offE)
		for d := range stmts {
			lf.kappa[g][d].Sub(&lf.kappa[g][d], &t)
		}
	}
	return lf
}
