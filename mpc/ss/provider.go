package ss

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

// Share splits secrets into n Shamir share vectors of degree t, one per
// committee party (out[i] goes to party i). It is what a data provider that is
// not a committee member runs before sending each party its vector; rnd is
// the provider's randomness (nil means crypto/rand).
func Share(params *Params, secrets fr.Vector, rnd io.Reader) ([]fr.Vector, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	prg, err := field.NewPRGFrom(rnd, "cohort/ss/provider-share")
	if err != nil {
		return nil, fmt.Errorf("ss: share: %w", err)
	}
	m := len(secrets)
	coeffs := make([]fr.Vector, params.T)
	for k := range coeffs {
		coeffs[k] = field.New(m)
		prg.FillVector(coeffs[k])
	}
	out := make([]fr.Vector, params.N)
	for i := range out {
		// Horner: f(x) = s + x(a1 + x(a2 + …)).
		x := point(i)
		acc := field.New(m)
		for k := params.T - 1; k >= 0; k-- {
			acc.Add(acc, coeffs[k])
			acc.ScalarMul(acc, &x)
		}
		acc.Add(acc, secrets)
		out[i] = acc
	}
	return out, nil
}

// Reconstruct recovers the secrets from share vectors indexed by party; nil
// entries are missing. Any t+1 present shares suffice; the first t+1 are used.
// It is what the recipient of an output (e.g. a bidder learning its
// allocation) runs on the shares the committee parties send it.
func Reconstruct(params *Params, shares []fr.Vector) (fr.Vector, error) {
	if len(shares) != params.N {
		return nil, fmt.Errorf("ss: reconstruct needs %d share slots, got %d", params.N, len(shares))
	}
	var have []int
	m := -1
	for i, s := range shares {
		if s == nil {
			continue
		}
		if m >= 0 && len(s) != m {
			return nil, fmt.Errorf("ss: reconstruct: party %d sent %d shares, others %d", i, len(s), m)
		}
		m = len(s)
		have = append(have, i)
		if len(have) == params.T+1 {
			break
		}
	}
	if len(have) < params.T+1 {
		return nil, fmt.Errorf("ss: reconstruct needs %d shares, have %d", params.T+1, len(have))
	}
	coef := lagrange(have, 0)
	out := field.New(m)
	tmp := field.New(m)
	for k, i := range have {
		field.AddScaled(out, shares[i], &coef[k], tmp)
	}
	return out, nil
}
