package ss

import (
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/transport"
)

// The MAC check of the malicious mode (Verify) in four rounds:
//
//  1. open a coin (a joint random sharing dealt ahead, opened with all n
//     shares) and derive ρ_k = x^k from it; compute [u] = Σρ_k[α·z_k] and
//     [w] = Σρ_k[z_k] locally over the pending pairs (z_k, α·z_k);
//  2. one GRR multiplication [α·w], so [T] = [u] − [α·w] (T = Σρ_k·e_k for
//     the MAC errors e_k = m_k − α·z_k, zero iff every pair is right);
//  3. one GRR multiplication [v] = [s]·[T] for a joint random [s] dealt ahead
//     (unknown to everyone, never opened);
//  4. open v with all n shares, which must lie on one polynomial of degree
//     t; it must be 0 (Chida et al., ePrint 2018/570, "CheckZero").
//
// Why s·T and not T: T itself is not harmless. A member that adds e to the
// MAC half of a product (the value stays right, so the check must still
// catch it) makes every later product with that operand carry the MAC error
// e·y for an honest y; T then contains ρ·e·y, and opening it would hand the
// member y (the check fails, but too late). Likewise a member that adds a
// known δ to the product α·w could cancel a T it knows (MAC errors only). s·T
// is uniform whenever T ≠ 0 (s uniform, fresh, never opened), so the opening
// reveals nothing but whether T = 0.
//
// Why a degree-t sharing of s·T opened with all n shares, and not the local
// products T_i·s_i (degree 2t) opened by 2t+1 parties, which would save
// round 3: 2t+1 shares of degree 2t have no redundancy and nothing makes the
// parties send at once, so a member that waits for every other share can
// send the one share that interpolates to 0 whatever T is (found by review;
// TestRushingCheckAborts). Here the t+1 honest shares fix v: a member that
// sends last can only make the shares inconsistent (an abort naming no one).
// What a member can do is GRR's additive attack in round 3 — v = s·T + δ
// with δ chosen without knowing s (the honest dealings it sees in that round
// are t shares of degree-t polynomials, uniform) — which passes with
// probability 1/|F| when T ≠ 0 and only makes the check fail when T = 0.
// Soundness: every e_k ≠ 0 makes T = Σ x^k·e_k, a polynomial of degree < K
// in the coin x whose coefficients were fixed before the coin was opened,
// zero with probability ≤ K/|F|; hence a wrong product or MAC passes with
// probability ≤ (K+2)/|F|.
//
// The coin and s are dealt ahead in batches (checkPoolBatch per round):
// dealt before the pending values are fixed, they are nevertheless unknown
// to the adversary until opened (t shares of a sum with an honest uniform
// term), and a coin dealt inconsistently is caught at its opening with all n
// shares.
//
// Values the caller wants opened right after a successful check ride in the
// check's last round (check's extra, opened with all n shares and checked for
// consistency like v): the per-dealer bitness results of a dealer's own
// random bits, which reveal only that dealer's values (zero for an honest
// dealer whatever the others did), and which are acted on only if the check
// passed. The bitness result of the XOR-combined bits, which a wrong XOR
// product could make depend on honest bits, is opened only after the check
// passed (checkBits).

// checkPoolBatch is the number of joint random sharings dealt per round for
// checks (two per check: a coin and s).
const checkPoolBatch = 64

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
// four rounds, after which the job aborts with a CheckError naming no one
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
	var t fr.Element
	t.Sub(&u, &aw[0])
	sv, err := p.reshare(ctx, fr.Vector{t}, fr.Vector{s}, true) // [s·T], degree t
	if err != nil {
		return nil, fmt.Errorf("ss: check: %w", err)
	}
	r := p.round + 1
	vals, err := p.openCheck(ctx, "check:mac", sv[0], extra, checked)
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

// openCheck is the last round of a check: every party sends its shares of v
// (the check value s·T) and of extra, and all n shares of each must lie on
// one polynomial of degree t (else a CheckError naming no one). It returns v
// followed by extra's values.
func (p *Party) openCheck(ctx context.Context, label string, v fr.Element, extra fr.Vector, checked int) (fr.Vector, error) {
	m := len(extra) + 1
	if err := checkBatch(m); err != nil {
		return nil, err
	}
	r := p.nextRound()
	prm := p.params
	if c := p.cheat; c != nil && c.LeaveAt != "" && c.LeaveAt == label {
		return nil, p.cheatLeave(ctx)
	}
	mine := append(fr.Vector{v}, extra...)
	if c := p.cheat; c != nil && c.ShiftCheck {
		one := fr.One()
		mine[0].Add(&mine[0], &one)
	}
	shares := make([]fr.Vector, prm.N)
	received := false
	if c := p.cheat; c != nil && c.RushCheck {
		// The test adversary that sends last: it reads every other share
		// first, then sends the share that makes its own reconstruction
		// set (itself and the next t parties) interpolate v to 0.
		if err := p.recvShares(ctx, label, r, shares, m); err != nil {
			return nil, err
		}
		received = true
		var acc, own fr.Element
		for k, j := range prm.openSet[p.self] {
			if j == p.self {
				own = prm.openCoef[p.self][k]
				continue
			}
			var t fr.Element
			t.Mul(&shares[j][0], &prm.openCoef[p.self][k])
			acc.Add(&acc, &t)
		}
		own.Inverse(&own)
		mine[0].Mul(&acc, &own).Neg(&mine[0])
	}
	payload := field.EncodeVector(mine)
	for j := 0; j < prm.N; j++ {
		if j == p.self {
			continue
		}
		if err := p.send(ctx, j, msgRound(r, 0), payload); err != nil {
			return nil, fmt.Errorf("ss: open %s: %w", label, err)
		}
	}
	if !received {
		if err := p.recvShares(ctx, label, r, shares, m); err != nil {
			return nil, err
		}
	}
	shares[p.self] = mine
	out, bad := prm.interpolateChecked(shares, nil)
	if bad {
		return nil, p.checkFailed(r, &CheckError{Check: "open " + label, Culprit: -1, Group: -1,
			Detail: "shares are not on one polynomial of degree t"})
	}
	p.observe(label, out[:1+checked])
	if len(out) > 1+checked {
		p.observe("mask:range", out[1+checked:])
	}
	return out, nil
}

// recvShares receives every other party's m shares of round r.
func (p *Party) recvShares(ctx context.Context, label string, r transport.Round, shares []fr.Vector, m int) error {
	for j := range shares {
		if j == p.self {
			continue
		}
		shares[j] = field.New(m)
		if err := p.recvInto(ctx, j, msgRound(r, 0), shares[j]); err != nil {
			return fmt.Errorf("ss: open %s: %w", label, err)
		}
	}
	return nil
}

// hornerPending returns u = Σ_k x^(K−1−k)·m_k and w = Σ_k x^(K−1−k)·z_k over
// the K pending pairs in order (the same coefficients as one Horner pass),
// computed in parallel over segments of at most chunkSize values — each as
// inner products with the table of powers x^(len−1−j) (vectorised, instead
// of a multiplication per value and sum) — and combined as
// acc·x^len + segment.
func (p *Party) hornerPending(x *fr.Element) (u, w fr.Element) {
	segs := segments(p.pend.z)
	hu := make([]fr.Element, len(segs))
	hw := make([]fr.Element, len(segs))
	tab := powerTable(x)
	p.parallel(len(segs)*chunkSize, func(_ *worker, c uint32, _, _ int) {
		s := segs[c]
		z, m := p.pend.z[s.vec][s.off:s.end], p.pend.m[s.vec][s.off:s.end]
		pw := tab[chunkSize-len(z):]
		hu[c], hw[c] = pw.InnerProduct(m), pw.InnerProduct(z)
	})
	pw := newPowers(x)
	for i, s := range segs {
		xl := pw.pow(s.end - s.off)
		u.Mul(&u, &xl).Add(&u, &hu[i])
		w.Mul(&w, &xl).Add(&w, &hw[i])
	}
	return u, w
}

// powerTable returns t with t[j] = x^(chunkSize−1−j): t[chunkSize−L:] are
// the Horner coefficients of a segment of L values.
func powerTable(x *fr.Element) fr.Vector {
	t := make(fr.Vector, chunkSize)
	t[chunkSize-1].SetOne()
	for j := chunkSize - 2; j >= 0; j-- {
		t[j].Mul(&t[j+1], x)
	}
	return t
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
