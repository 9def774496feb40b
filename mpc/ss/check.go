package ss

import (
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

// The MAC check of the malicious mode (Verify) in three rounds:
//
//  1. open a coin (a joint random sharing dealt ahead, opened with all n
//     shares) and derive ρ_k = x^k from it; compute [u] = Σρ_k[α·z_k] and
//     [w] = Σρ_k[z_k] locally over the pending pairs (z_k, α·z_k);
//  2. one GRR multiplication [α·w], so [T] = [u] − [α·w] (T = Σρ_k·e_k for
//     the MAC errors e_k = m_k − α·z_k, zero iff every pair is right);
//  3. open s·T for a joint random [s] dealt ahead (unknown to everyone): each
//     of the 2t+1 parties 0..2t sends its local product T_i·s_i (a share of
//     degree 2t) plus its share Z_i of a pseudo-random sharing of zero of
//     degree 2t; the value is the degree-2t interpolation at 0. It must be 0.
//
// Why s·T and not T (Chida et al. open T·[s] too, "CheckZero"): T itself is
// not harmless. A member that adds e to the MAC half of a product (the value
// stays right, so the check must still catch it) makes every later product
// with that operand carry the MAC error e·y for an honest y; T then contains
// ρ·e·y, and opening it would hand the member y (the check fails, but too
// late). Likewise a member that adds a known δ to the product α·w could
// cancel a T it knows (MAC errors only). s·T is uniform whenever T ≠ 0 (s
// uniform, fresh, never opened), so the opening reveals nothing but whether
// T = 0, and a member that adds δ to its share (no consistency check on a
// degree-2t opening) passes with probability 1/|F| when T ≠ 0: it would need
// δ = −λ·s·T. With T = 0 (everyone honest so far) it can only make the check
// fail (an abort without culprit, as any shifted share), and what is opened
// is its own δ. Soundness: every e_k ≠ 0 makes T = Σ x^k·e_k, a polynomial
// of degree < K in the coin x whose coefficients were fixed before the coin
// was opened, zero with probability ≤ K/|F|; hence a wrong product or MAC
// passes with probability ≤ (K+1)/|F|.
//
// Privacy of the opening: Z is uniform among the degree-2t sharings of 0
// over the 2t+1 openers (an additive zero sharing Σ_i λ′_i·Z_i = 0 from the
// pairwise keys of the openers; at least t+1 of them are honest and every
// honest pair shares a key no corrupted member has), so the opened shares
// (T·s + Z)(x_i) reveal only the interpolated value. If a member dealt
// inconsistent shares of T or s (off degree t), that value is T(0)·s(0) plus
// cross terms in their higher coefficients: with T(0) ≠ 0 it is uniform by
// the honest part of s(0); with T(0) = 0 a corrupted member already knows T
// (its t shares and T(0) fix it) and the rest is about s, fresh randomness.
// Only 2t+1 shares are used, also for even n: with more points the
// degree-(n−1) interpolant of an inconsistent product would leak a
// coefficient Z does not randomise.
//
// The coin and s are dealt ahead in batches (checkPoolBatch per round):
// dealt before the pending values are fixed, they are nevertheless unknown
// to the adversary until opened (t shares of a sum with an honest uniform
// term), and a coin dealt inconsistently is caught at its opening with all n
// shares. Three rounds per check instead of four (coin sharing, coin
// opening, α·w, T), and T no longer leaks.
//
// Values the caller wants opened right after a successful check ride in the
// check's last round (check's extra, opened with all n shares and checked for
// consistency): the bitness results of dealt random bits, which reveal only
// a dealer's own values (zero for an honest dealer whatever the others did),
// and which are acted on only if the check passed.

// checkPoolBatch is the number of joint random sharings dealt per round for
// checks (two per check: a coin and s).
const checkPoolBatch = 64

// zeroKeys derives, for a check opener (party ≤ 2t), the keys it shares with
// every other opener for the zero sharing of the check opening, from the
// pairwise setup seeds (seeds[j]: the seed of the pair {self, j}).
func zeroKeys(prm *Params, self int, seeds [][field.SeedBytes]byte) []*field.StreamKey {
	openers := 2*prm.T + 1
	if self >= openers {
		return nil
	}
	keys := make([]*field.StreamKey, openers)
	for j := 0; j < openers; j++ {
		if j != self {
			keys[j] = field.NewStreamKey(seeds[j], fmt.Sprintf("cohort/ss/zero/%d-%d", min(self, j), max(self, j)))
		}
	}
	return keys
}

// zeroShare returns this opener's share Z_self of the pseudo-random sharing
// of zero for the check opening of logical round r: with F_ij the pair's
// stream value for r, λ′_self·Z_self = Σ_{j>self} F_ij − Σ_{j<self} F_ji, so
// that Σ_i λ′_i·Z_i = 0 over the openers (their shares lie on a polynomial
// of degree 2t with value 0 at 0). Each round draws its own value (lanes have
// disjoint round numbers).
func (p *Party) zeroShare(r uint64) fr.Element {
	var acc fr.Element
	v := field.New(1)
	for j, k := range p.zero {
		if k == nil {
			continue
		}
		k.Fill(v, r, 0, p.workers[0].stream)
		if j > p.self {
			acc.Add(&acc, &v[0])
		} else {
			acc.Sub(&acc, &v[0])
		}
	}
	var inv fr.Element
	inv.Inverse(&p.params.chkLambda[p.self])
	return *acc.Mul(&acc, &inv)
}

// poolRandom returns a joint random sharing dealt ahead (one sharing round
// per checkPoolBatch of them): the sum of every member's random
// contribution, uniform and unknown while one contributor is honest.
func (p *Party) poolRandom(ctx context.Context) (fr.Element, error) {
	if len(p.randPool) == 0 {
		own := field.New(checkPoolBatch)
		p.own.FillVector(own)
		r, err := p.reshare(ctx, own, nil, false)
		if err != nil {
			return fr.Element{}, err
		}
		p.randPool = r
	}
	e := p.randPool[0]
	p.randPool = p.randPool[1:]
	return e, nil
}

// coin opens a pooled random sharing with all n shares (after everything it
// is to check is fixed) and returns a PRG seeded with it.
func (p *Party) coin(ctx context.Context) (*field.PRG, error) {
	c, err := p.poolRandom(ctx)
	if err != nil {
		return nil, err
	}
	seed, err := p.openAll(ctx, "mask:coin", fr.Vector{c}, -1)
	if err != nil {
		return nil, err
	}
	var s [field.SeedBytes]byte
	b := seed[0].Bytes()
	copy(s[:], b[:])
	return field.NewPRG(s, "cohort/ss/coin"), nil
}

// Verify checks every product, input and random value authenticated since
// the last check (Chida et al., ePrint 2018/570, the verification step, with
// a MAC key that is never opened; see the comment at the top of check.go):
// three rounds, after which the job aborts with a CheckError naming no one
// (the check cannot tell who deviated) if any pair was wrong, and nothing
// more is opened. Semi-honest mode: a no-op.
func (p *Party) Verify(ctx context.Context) error {
	_, err := p.check(ctx, nil, 0)
	return err
}

// check is Verify, opening extra (with all n shares) in the check's last
// round; it returns their values, to be used only because the check passed.
// extra[:checked] are check results that are 0 for honest parties (observed
// under "check:mac"); the rest are statistically masked values (observed
// under "mask:range", see checkBits).
func (p *Party) check(ctx context.Context, extra fr.Vector, checked int) (fr.Vector, error) {
	if !p.malicious() || (p.pend.n == 0 && !p.dirty && len(extra) == 0) {
		return nil, nil
	}
	k := p.pend.n
	s, err := p.poolRandom(ctx)
	if err != nil {
		return nil, fmt.Errorf("ss: check: %w", err)
	}
	prg, err := p.coin(ctx)
	if err != nil {
		return nil, fmt.Errorf("ss: check: %w", err)
	}
	// ρ_k = x^k for one joint random x (Horner): the check polynomial
	// Σ x^k·e_k has degree < K, so a non-zero error vector gives T = 0 with
	// probability ≤ K/|F| (< 2^−230 for K ≤ 2^20) — and no PRG value per
	// product.
	var x fr.Element
	prg.Element(&x)
	u, w := p.hornerPending(&x)
	aw, err := p.reshare(ctx, fr.Vector{w}, fr.Vector{p.alpha}, true)
	if err != nil {
		return nil, fmt.Errorf("ss: check: %w", err)
	}
	r := p.round + 1
	var v fr.Element
	v.Sub(&u, &aw[0]).Mul(&v, &s) // a share of s·T of degree 2t
	vals, err := p.openCheck(ctx, "check:mac", v, extra, checked)
	if err != nil {
		return nil, fmt.Errorf("ss: check: %w", err)
	}
	if !vals[0].IsZero() {
		return nil, p.checkFailed(r, &CheckError{Check: "mac", Culprit: -1, Group: -1,
			Detail: fmt.Sprintf("%d authenticated products do not match their MACs", k)})
	}
	p.pend = pending{}
	p.dirty = false
	return vals[1:], nil
}

// openCheck is the last round of a check: each opener (party ≤ 2t) sends
// every other party its share v of degree 2t plus its zero-sharing share,
// and every party sends its shares of extra. It returns the interpolated
// check value followed by extra's values; extra's shares must lie on one
// polynomial of degree t (else a CheckError naming no one).
func (p *Party) openCheck(ctx context.Context, label string, v fr.Element, extra fr.Vector, checked int) (fr.Vector, error) {
	m := len(extra)
	if err := checkBatch(m + 1); err != nil {
		return nil, err
	}
	r := p.nextRound()
	prm := p.params
	openers := 2*prm.T + 1
	if c := p.cheat; c != nil && c.LeaveAt != "" && c.LeaveAt == label {
		return nil, p.cheatLeave(ctx)
	}
	mine := fr.Vector{}
	if p.self < openers {
		z := p.zeroShare(uint64(r))
		v.Add(&v, &z)
		if c := p.cheat; c != nil && c.ShiftCheck {
			one := fr.One()
			v.Add(&v, &one)
		}
		mine = fr.Vector{v}
	}
	mine = append(mine, extra...)
	payload := field.EncodeVector(mine)
	for j := 0; j < prm.N; j++ {
		if j == p.self {
			continue
		}
		if err := p.send(ctx, j, msgRound(r, 0), payload); err != nil {
			return nil, fmt.Errorf("ss: open %s: %w", label, err)
		}
	}
	var val fr.Element
	shares := make([]fr.Vector, prm.N)
	for j := 0; j < prm.N; j++ {
		got := mine
		if j != p.self {
			l := m
			if j < openers {
				l++
			}
			got = field.New(l)
			if err := p.recvInto(ctx, j, msgRound(r, 0), got); err != nil {
				return nil, fmt.Errorf("ss: open %s: %w", label, err)
			}
		}
		if j < openers {
			var t fr.Element
			t.Mul(&got[0], &prm.chkLambda[j])
			val.Add(&val, &t)
			got = got[1:]
		}
		shares[j] = got
	}
	out := fr.Vector{val}
	if m > 0 {
		res, bad := prm.interpolateChecked(shares, nil)
		if bad {
			return nil, p.checkFailed(r, &CheckError{Check: "open " + label, Culprit: -1, Group: -1,
				Detail: "shares are not on one polynomial of degree t"})
		}
		out = append(out, res...)
	}
	p.observe(label, out[:1+checked])
	if len(out) > 1+checked {
		p.observe("mask:range", out[1+checked:])
	}
	return out, nil
}

// hornerPending returns u = Σ_k x^(K−1−k)·m_k and w = Σ_k x^(K−1−k)·z_k over
// the K pending pairs in order (the same coefficients as one Horner pass),
// computed in parallel over segments of at most chunkSize values and
// combined as acc·x^len + segment.
func (p *Party) hornerPending(x *fr.Element) (u, w fr.Element) {
	segs := segments(p.pend.z)
	hu := make([]fr.Element, len(segs))
	hw := make([]fr.Element, len(segs))
	p.parallel(len(segs)*chunkSize, func(_ *worker, c uint32, _, _ int) {
		s := segs[c]
		z, m := p.pend.z[s.vec][s.off:s.end], p.pend.m[s.vec][s.off:s.end]
		var a, b fr.Element
		for j := range z {
			a.Mul(&a, x).Add(&a, &m[j])
			b.Mul(&b, x).Add(&b, &z[j])
		}
		hu[c], hw[c] = a, b
	})
	pw := newPowers(x)
	for i, s := range segs {
		xl := pw.pow(s.end - s.off)
		u.Mul(&u, &xl).Add(&u, &hu[i])
		w.Mul(&w, &xl).Add(&w, &hw[i])
	}
	return u, w
}

// segment is values [off, end) of vector vec of a list.
type segment struct{ vec, off, end int }

// segments cuts vectors into segments of at most chunkSize values, in order.
func segments(vs []fr.Vector) []segment {
	var out []segment
	for i, v := range vs {
		for off := 0; off < len(v); off += chunkSize {
			out = append(out, segment{i, off, min(off+chunkSize, len(v))})
		}
	}
	return out
}

// xPowers computes x^l, caching x^chunkSize (the length of most segments).
type xPowers struct {
	x     fr.Element
	chunk fr.Element
}

func newPowers(x *fr.Element) *xPowers {
	p := &xPowers{x: *x}
	p.chunk = p.slow(chunkSize)
	return p
}

func (p *xPowers) pow(l int) fr.Element {
	if l == chunkSize {
		return p.chunk
	}
	return p.slow(l)
}

// slow is square-and-multiply.
func (p *xPowers) slow(l int) fr.Element {
	r := fr.One()
	b := p.x
	for ; l > 0; l >>= 1 {
		if l&1 == 1 {
			r.Mul(&r, &b)
		}
		b.Square(&b)
	}
	return r
}
