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

// combine draws a coefficient ρ per relation, limb and point and folds
//
//	Σ ρ·(L − q_j·W),  L = Σ_k c_k·(Σ_terms ±(A·x)_k + e_k − p_k)
//
// into a linear form on the members' inputs. With C = Σ_rep ρ_rep·c_rep
// (per relation and limb), Σ_k C_k·(A·x)_k = ⟨x, A*·C⟩ (A* the adjoint,
// see adjoint), accumulated in the transform domain so that each secret
// costs one inverse transform per group.
func (s *System) combine(prg *field.PRG, pts *points, stmts []Statement) *linearForm {
	G, N, n := len(s.Groups), s.N, len(stmts)
	ng := newNegacyclic(N)
	lf := &linearForm{gamma: make([]fr.Vector, G), gammaW: make([]fr.Vector, G), kappa: make([][]fr.Element, G)}
	acc := make([][]fr.Vector, G)  // transform-domain accumulators per secret
	coef := make([][]fr.Vector, G) // coefficient-domain (scalar terms) per secret
	errAcc := make([]fr.Vector, len(s.Rels))
	for g := range s.Groups {
		lf.gamma[g] = field.New(s.phase1Len())
		lf.gammaW[g] = field.New(s.phase2Len())
		lf.kappa[g] = make([]fr.Element, n)
		acc[g] = make([]fr.Vector, len(s.Secrets))
		coef[g] = make([]fr.Vector, len(s.Secrets))
		for i := range s.Secrets {
			coef[g][i] = field.New(N)
		}
	}
	rho := field.New(s.Reps)
	wOff := 0
	var t, pow2, qf fr.Element
	for r, rel := range s.Rels {
		g := rel.Group
		errAcc[r] = field.New(N)
		for j, q := range s.Moduli {
			prg.FillVector(rho)
			C := field.New(N)
			for rep := 0; rep < s.Reps; rep++ {
				c := pts.c[j][rep]
				for k := range C {
					t.SetUint64(c[k])
					t.Mul(&t, &rho[rep])
					C[k].Add(&C[k], &t)
				}
			}
			var Chat fr.Vector
			for _, tm := range rel.Terms {
				if tm.Poly >= 0 {
					if Chat == nil {
						Chat = ng.forward(C)
					}
					if acc[g][tm.Secret] == nil {
						acc[g][tm.Secret] = field.New(N)
					}
					a := ng.forward(adjoint(liftU64(s.Polys[tm.Poly][j])))
					mulAcc(acc[g][tm.Secret], a, Chat, tm.Neg)
				} else {
					t.SetUint64(tm.Scalar[j])
					sc := field.Scale(C, &t)
					if tm.Neg {
						coef[g][tm.Secret] = field.Sub(coef[g][tm.Secret], sc)
					} else {
						coef[g][tm.Secret] = field.Add(coef[g][tm.Secret], sc)
					}
				}
			}
			errAcc[r] = field.Add(errAcc[r], C)
			for d := range stmts {
				pv := liftU64(stmts[d][r][j])
				v := pv.InnerProduct(C)
				lf.kappa[g][d].Sub(&lf.kappa[g][d], &v)
			}
			// −q·W with W = Σ_i 2^i·w_i − 2^wb.
			qf.SetUint64(q)
			for rep := 0; rep < s.Reps; rep++ {
				var c fr.Element
				c.Mul(&qf, &rho[rep]) // q·ρ
				pow2.SetOne()
				for i := 0; i <= s.wb[j]; i++ {
					lf.gammaW[g][wOff].Neg(&c)
					lf.gammaW[g][wOff].Mul(&lf.gammaW[g][wOff], &pow2)
					pow2.Double(&pow2)
					wOff++
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
	}
	for g := range s.Groups {
		for i := range s.Secrets {
			v := coef[g][i]
			if acc[g][i] != nil {
				v = field.Add(v, ng.inverse(acc[g][i]))
			}
			copy(lf.gamma[g][i*N:(i+1)*N], v)
		}
	}
	// Errors: e_k = Σ_i 2^i·b_{k,i} − ErrOffset.
	off := len(s.Secrets) * N
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
