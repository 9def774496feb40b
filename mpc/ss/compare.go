package ss

import (
	"context"
	"fmt"
	"math/big"
	mbits "math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

// Comparison parameters. Values compared are unsigned integers below
// 2^ValueBits; masked openings hide them with statistical distance at most
// 2^−Kappa. Every mask is r' + 2^m·r” with r' uniform on m bits (from random
// bits) and r” a sum of t+1 parties' uniform MaskBits-bit integers. Composed
// from checked bits, opened values stay below 2^(66+MaskBits+4); dealt as
// range-checked integers (checkBits, many masks) each is below the range
// check's window W and the opening is shifted by (t+1)·W, so it stays below
// about 2^(ValueBits+wide+log2(2(t+1))) — near 2^170 at a few thousand masks,
// still far below the 254-bit field.
const (
	ValueBits = 64
	Kappa     = 40
	MaskBits  = Kappa + 2
)

var (
	pow2    [256]fr.Element // pow2[i] = 2^i
	inv2_64 fr.Element
	inv2_65 fr.Element
)

func init() {
	pow2[0].SetOne()
	for i := 1; i < len(pow2); i++ {
		pow2[i].Double(&pow2[i-1])
	}
	inv2_64.Inverse(&pow2[64])
	inv2_65.Inverse(&pow2[65])
}

// genMasks makes nbits random bits and nmasks bounded masks (each below
// (t+1)·2^boundBits). Parties 0..t each share their own random bits (and,
// semi-honest, uniform boundBits-bit integers) in one round; a bit is the XOR
// of the t+1 parties' bits (b⊕b' = b+(1−2b)·b', ⌈log2(t+1)⌉ multiplication
// rounds), so it is uniform and unknown as long as one contributor is honest.
//
// Malicious mode: a dealer could deal a non-bit (which would make the masked
// openings leak) or an oversized mask (which would make them wrap modulo q and
// give a wrong result the MACs cannot see). So each dealer's part of a mask is
// either composed from boundBits of its own dealt bits (no XOR needed: the sum
// over dealers stays below (t+1)·2^boundBits and an honest dealer's part
// hides the value), or — in large comparison batches, see maskLayout — a
// dealt integer that passes a batched range check (checkBits). Every
// contribution but the XOR bits of right operands (xorLeft, xorProduct) is
// authenticated (one round). Before any is used, the XOR bits and each
// dealer's own bits pass a bitness check: with coefficients ρ_k drawn after
// the bits are fixed, the committee computes Σ_k ρ_k·b_k·(1−b_k) as one dot
// product (reduced once, with its MAC) and opens it after the MAC check; a
// non-zero result proves that a dealer dealt a non-bit (the MAC check
// passed, so the arithmetic was right), and the abort names it (for the XOR
// bits after per-dealer checks on that failure path, nonBitDealer); likewise
// a range check opening out of range. (Bits from squares
// need no dealer but cost a square root per bit, ~20 µs in BN254's field
// with its 2-adicity of 28: over a second of CPU per thousand comparisons,
// against one dot product per batch here.)
func (p *Party) genMasks(ctx context.Context, nbits, nmasks int, boundBits uint) (Vec, Vec, error) {
	prm := p.params
	mal := p.malicious()
	lay := maskLayout(mal, nbits, nmasks, boundBits)
	dealt := lay.dealt
	dealers := prm.T + 1
	left := xorLeft(dealers)
	counts := make([]int, prm.N)
	for i := 0; i < dealers; i++ {
		counts[i] = dealt
	}
	mine := p.tmpHalf(2*tmpDeal, counts[p.self]) // overwritten in full below
	if p.self < dealers {
		d := dealingOf(lay, nbits, left[p.self])
		p.own.FillBits(mine[d.xor : d.xor+nbits])
		p.own.FillBits(mine[d.own : d.own+lay.bits-nbits])
		fillBoundedWide(p, mine[d.ints:d.ints+lay.dealt-lay.bits], boundBits)
		if mal && p.cheat != nil && p.cheat.BadBit && len(mine) > 0 {
			at := d.xor
			if nbits == 0 {
				at = d.own
			}
			mine[at].SetUint64(2)
		}
		if mal && p.cheat != nil && p.cheat.BadMask && lay.ranged && nmasks > 0 {
			mine[d.ints] = pow2[200] // wraps a masked opening modulo q
		}
	}
	if c := p.cheat; mal && c != nil && c.HiddenOffset && c.MulOp == "deal" && p.self < dealers && nbits > 0 {
		// Test adversary: the first XOR bit dealt off degree t.
		p.cheating, p.cheatAt = true, dealingOf(lay, nbits, left[p.self]).xor
	}
	raw, flat, err := p.inputsFlat(ctx, mine, counts)
	p.cheating, p.cheatAt = false, 0
	if err != nil {
		return Vec{}, Vec{}, fmt.Errorf("ss: random bits: %w", err)
	}
	// Per dealer: its XOR bits, its own bits (composed into masks or range
	// checks) and its mask integers.
	xorOf := make([]Vec, dealers)
	ownOf := make([]Vec, dealers)
	intsOf := make([]Vec, dealers)
	var auth Vec
	if mal {
		// MACs for everything dealt except the XOR bits of right operands
		// (xorLeft). flat is the dealers' contributions back to back (no
		// other party deals); when the parts to authenticate are
		// contiguous in it (t+1 = 2), they are authenticated in place.
		parts := make([]fr.Vector, dealers)
		total, contiguous := 0, true
		for i := 0; i < dealers; i++ {
			d := dealingOf(lay, nbits, left[i])
			parts[i] = raw[i][:d.auth]
			if i < dealers-1 && d.auth != dealt {
				contiguous = false
			}
			total += d.auth
		}
		x := flat[:total:total]
		if !contiguous {
			x = field.Concat(parts...)
		}
		if auth, err = p.macOf(ctx, x); err != nil {
			return Vec{}, Vec{}, fmt.Errorf("ss: random bits: %w", err)
		}
	}
	off := 0
	for i := 0; i < dealers; i++ {
		d := dealingOf(lay, nbits, left[i])
		blk := Vec{V: raw[i]}
		if mal {
			blk = auth.Slice(off, off+d.auth)
			off += d.auth
			if !left[i] {
				xorOf[i] = Vec{V: raw[i][d.xor : d.xor+nbits : d.xor+nbits]}
			}
		}
		if !mal || left[i] {
			xorOf[i] = blk.Slice(d.xor, d.xor+nbits)
		}
		ownOf[i] = blk.Slice(d.own, d.own+lay.bits-nbits)
		intsOf[i] = blk.Slice(d.ints, d.ints+lay.dealt-lay.bits)
	}
	// The XOR tree: b ⊕ b' = b + (1−2b)·b'. Only the left operand needs a
	// MAC: the product's MAC half is (α−2·[α·b])·b', and b ⊕ b' gets the
	// MAC [α·b] + that (see xorProduct).
	layer := append([]Vec(nil), xorOf...)
	for len(layer) > 1 && nbits > 0 {
		pairs := len(layer) / 2
		xs := make([]Vec, pairs)
		ys := make([]fr.Vector, pairs)
		for k := 0; k < pairs; k++ {
			xs[k], ys[k] = layer[2*k], layer[2*k+1].V
		}
		x := ConcatVecs(xs...)
		prod, err := p.xorProduct(ctx, x, concat(ys))
		if err != nil {
			return Vec{}, Vec{}, fmt.Errorf("ss: random bits: %w", err)
		}
		next := make([]Vec, 0, pairs+1)
		for k := 0; k < pairs; k++ {
			next = append(next, prod.Slice(k*nbits, (k+1)*nbits))
		}
		if len(layer)%2 == 1 {
			next = append(next, layer[len(layer)-1])
		}
		layer = next
	}
	bits := layer[0]
	if mal {
		if err := p.checkBits(ctx, ownOf, intsOf, xorOf, bits, lay); err != nil {
			return Vec{}, Vec{}, fmt.Errorf("ss: random bits: %w", err)
		}
	}
	masks := p.NewVec(nmasks)
	for i := 0; i < dealers; i++ {
		var hi Vec
		switch {
		case !mal || lay.ranged:
			// Dealt integers (range-checked in malicious mode).
			hi = intsOf[i]
		default:
			// A dealer's checked bits composed: below 2^boundBits.
			hi = p.composeVec(ownOf[i], nmasks, int(boundBits))
		}
		masks.AddInPlace(hi)
	}
	if lay.ranged {
		// Each dealer's integer passed the range check: it lies in (−W, W)
		// for W = lay.window (an honest one in [0, 2^boundBits)), so the
		// offset (t+1)·W makes the sum positive and below 2(t+1)·W, far
		// below q/2^m for every masked opening.
		var off fr.Element
		off.SetBigInt(new(big.Int).Mul(big.NewInt(int64(dealers)), lay.window))
		masks = p.AddConst(masks, &off)
	}
	if mal {
		p.Stats.Bits += dealers * (lay.bits - nbits)
	}
	p.Stats.Bits += nbits
	return bits, masks, nil
}

// xorLeft reports, for each of d dealers, whether its XOR bits enter the
// XOR tree of genMasks as a left operand (layer[2k] of some level before
// they were combined), which needs MACs; the others are only ever right
// operands, whose MACs the tree never uses.
func xorLeft(d int) []bool {
	left := make([]bool, d)
	layer := make([]int, d) // dealer index, or −1 for a combined value
	for i := range layer {
		layer[i] = i
	}
	if d == 1 {
		left[0] = true // used as it is
	}
	for len(layer) > 1 {
		next := make([]int, 0, len(layer)/2+1)
		for k := 0; k+1 < len(layer); k += 2 {
			if l := layer[k]; l >= 0 {
				left[l] = true
			}
			next = append(next, -1)
		}
		if len(layer)%2 == 1 {
			next = append(next, layer[len(layer)-1])
		}
		layer = next
	}
	return left
}

// dealing is where a dealer's values lie in its block of genMasks: the XOR
// bits at xor, its own bits at own, its mask integers at ints; the first
// auth values are the ones authenticated (malicious mode). A left operand
// deals [XOR bits | own bits | integers], all authenticated; a right
// operand deals [own bits | integers | XOR bits] and only the first two get
// MACs, so that for t+1 = 2 the authenticated values are one contiguous
// prefix of the round's vector.
type dealing struct{ xor, own, ints, auth int }

func dealingOf(lay maskDealing, nbits int, left bool) dealing {
	ownBits := lay.bits - nbits
	if left {
		return dealing{xor: 0, own: nbits, ints: lay.bits, auth: lay.dealt}
	}
	return dealing{own: 0, ints: ownBits, xor: lay.dealt - nbits, auth: lay.dealt - nbits}
}

// xorProduct returns [(1−2x)·y] for x with MACs and y without (one
// multiplication round), and sets it to x ⊕ y = x + (1−2x)·y in place.
//
// Malicious mode: the re-shared pair is ((1−2x)·y, (α−2·αx)·y), the MAC
// relation of a product whose left operand (1−2x) carries the MAC α−2·αx
// (linear in [α] and x's MAC); a right operand needs no MAC of its own (as
// in every product here: α·z = (α·x)·y uses y's value half only). A sharing
// of y off degree t (a dealer's) gives no advantage: both halves are
// re-shared with the same Lagrange combination of the parties' products,
// so the pair is either a MAC error (caught like any other) or the
// authenticated product (1−2x)·y′ for a value y′ that is a fixed linear
// function of the shares the dealer itself chose (for n = 2t+1, the value
// the honest parties' t+1 shares define; for even n a degree-(t+1) offset
// can be multiplied exactly, TestXorOffDegreeDealEvenN) — as if the dealer
// had dealt y′, which a dealer may do anyway; the bitness check then
// applies to the XOR of the effective values.
// The pair is kept for the next check, and x is then added
// to both halves in place: what the check verifies is the pair
// (x ⊕ y, α·(x ⊕ y)), whose MAC error is that of the product plus x's —
// and x's own pair is pending (or checked) too, so the errors of both pairs
// are zero iff those of (x, product) are: the same check, after an
// invertible linear change of the pending pairs.
func (p *Party) xorProduct(ctx context.Context, x Vec, y fr.Vector) (Vec, error) {
	m := x.Len()
	if len(y) != m {
		return Vec{}, fmt.Errorf("ss: xor of vectors of length %d and %d", m, len(y))
	}
	if err := p.checkMode("xor", x); err != nil {
		return Vec{}, err
	}
	aff := [2]fr.Element{fr.One(), p.alpha}
	src := source{x: x.V, y: y, aff: &aff}
	for h := range src.affVec {
		v := make(fr.Vector, chunkSize)
		for i := range v {
			v[i] = aff[h]
		}
		src.affVec[h] = v
	}
	if x.M != nil {
		src.x2, src.y2 = x.M, y
	}
	p.op = "xor"
	z, err := p.mulSrc(ctx, m, src, func(z Vec) {
		z.V.Add(z.V, x.V)
		if z.M != nil {
			z.M.Add(z.M, x.M)
		}
	})
	p.op = ""
	return z, err
}

// rangeRows is the number of random subset sums of the range check of dealt
// mask integers: each catches an out-of-range integer with probability ≥ 1/2.
const rangeRows = Kappa

// maskDealing is what each of the t+1 dealers deals in genMasks: bits random
// bits first (nbits for the XOR-combined bits, then, malicious, either
// nmasks·boundBits bits composed into bounded masks or rangeRows·wide bits
// composed into the range check's masks), then the plain integers of the
// bounded masks (semi-honest, or ranged).
type maskDealing struct {
	bits, dealt int
	ranged      bool
	wide        int      // bits per range-check mask
	window      *big.Int // nmasks·2^boundBits + 2^wide: the accepted range
	nmasks      int
	boundBits   uint
}

// maskLayout chooses how the bounded masks are dealt. Malicious mode, few
// masks (or wide ones, as in truncation): composed from bitness-checked bits,
// boundBits per mask. Many masks of at most MaskBits bits (comparisons):
// one dealt integer per mask, with a batched range check (checkBits) costing
// rangeRows·wide bits for the whole batch — for 10,000 comparisons ~4,000
// bits per dealer instead of 420,000.
func maskLayout(mal bool, nbits, nmasks int, boundBits uint) maskDealing {
	d := maskDealing{nmasks: nmasks, boundBits: boundBits}
	if !mal {
		d.bits, d.dealt = nbits, nbits+nmasks
		return d
	}
	// A range-check mask hides a subset sum (< nmasks·2^boundBits) of an
	// honest dealer's integers with statistical distance ≤ 2^−(Kappa+6) per
	// row, ≤ 2^−Kappa over the rangeRows rows.
	wide := int(boundBits) + mbits.Len(uint(nmasks)) + Kappa + 6
	if boundBits <= MaskBits && rangeRows*wide < nmasks*int(boundBits) {
		d.ranged, d.wide = true, wide
		d.bits = nbits + rangeRows*wide
		d.dealt = d.bits + nmasks
		d.window = new(big.Int).Lsh(big.NewInt(int64(nmasks)), boundBits)
		d.window.Add(d.window, new(big.Int).Lsh(big.NewInt(1), uint(wide)))
		return d
	}
	d.bits = nbits + nmasks*int(boundBits)
	d.dealt = d.bits
	return d
}

// checkBits is the bitness check of dealt bits (see genMasks). ownOf[i]
// are dealer i's authenticated own bits (composed into its masks or range
// check masks), bits the authenticated XOR bits b = b_0 ⊕ … ⊕ b_t. With x
// drawn from a coin opened after the bits are fixed, d = Σ_k
// x^(L−1−k)·b_k·(1−b_k) over L bits (a polynomial in x whose coefficients
// are all 0 iff every b_k is a bit: non-zero with probability ≥ 1 − L/|F|
// otherwise) is one dot product, reduced once with its MAC half
// Σ x^(L−1−k)·(α·b_k)·(1−b_k): one per dealer over its own bits (d_i), and
// one over the XOR bits (d⊕), all in one round.
//
// The d_i are opened in the last round of the MAC check that covers them
// (see check): an honest dealer's d_i is 0 whatever the others did (a wrong
// share or re-sharing changes a value against its MAC and fails that
// check), so the opening reveals only a corrupted dealer's own values, and a
// non-zero d_i after a passed check names its dealer.
//
// d⊕ is opened (with all n shares) only after that check passed, so the
// XOR products it depends on are right. Then it reveals only corrupted
// dealers' values: 1−2b = Π_i (1−2b_i), and an honest dealer's factor is
// ±1, so b(1−b) = (1 − Π_i (1−2b_i)²)/4 does not depend on the honest
// dealers' bits. It is 0 iff every XOR bit is a bit, i.e. iff for every k
// the product of the corrupted dealers' factors is ±1 — their combined
// contribution a bit c_k, and b_k = c_k ⊕ (honest bits) uniform and unknown
// to them. (A right operand of the XOR tree carries no MAC, so its bits have
// no bitness check of their own; checking the result is what matters.) A
// non-zero d⊕ therefore proves that some dealer dealt a non-bit; to name
// it, the committee authenticates the dealers' XOR bits and checks each
// dealer's separately (nonBitDealer: only on this failure path).
//
// Range check (lay.ranged): dealer i's mask integers y_1..y_M (intsOf[i])
// must lie in (−W, W), W = lay.window, so that the masks' sum plus (t+1)·W
// is positive and small (no masked opening wraps modulo q). For each of
// rangeRows rows ℓ, with public c_ℓk ∈ {0,1} drawn from the same coin, the
// committee opens o_iℓ = Σ_k c_ℓk·y_k + R_iℓ, where R_iℓ is composed from
// `wide` of the dealer's own (bitness-checked) bits, and requires 0 ≤ o_iℓ
// < W. Soundness: R_iℓ and the y_k were fixed before the coin; if some y_j
// ∉ (−W, W), then for any choice of the other c's at most one of the two
// values of c_ℓj puts o_iℓ in [0, W) (they differ by y_j), so each row
// passes with probability ≤ 1/2 and all rows with ≤ 2^−Kappa. Privacy: an
// honest dealer's subset sum is below M·2^boundBits and R_iℓ is uniform on
// wide = boundBits + ⌈log2 M⌉ + Kappa + 6 bits, so each opening is within
// 2^−(Kappa+6) of a value independent of the y's. o is linear in the
// dealer's shares (no product, so no MAC is needed for it) and opened with
// all n shares; a consistent opening out of range after a passed MAC and
// bitness check names the dealer. The two ways of dealing masks are not
// equally strong: masks composed from checked bits are in range with
// certainty (up to the bitness check's L/|F|), dealt integers only up to the
// range check's 2^−Kappa per dealer and batch. A corrupted dealer that slips
// an oversized integer through (each caught try names it) makes one masked
// opening wrap modulo q: a wrong comparison result no MAC sees, but nothing
// private revealed (the opening is still masked by the honest dealers'
// integers).
func (p *Party) checkBits(ctx context.Context, ownOf, intsOf, xorOf []Vec, bits Vec, lay maskDealing) error {
	prg, err := p.coin(ctx)
	if err != nil {
		return err
	}
	var x fr.Element
	prg.Element(&x)
	k := len(ownOf)
	h := bitnessSums(p, &x, append(append([]Vec(nil), ownOf...), bits))
	var ranged fr.Vector
	if lay.ranged {
		ranged = p.rangeSums(prg, ownOf, intsOf, lay)
	}
	if c := p.cheat; c != nil && c.FrameBits {
		one := fr.One()
		h[0].Add(&h[0], &one)
	}
	K := k + 1
	p.Stats.Mults += K
	r0, err := p.reshare(ctx, h, nil, true)
	if err != nil {
		return err
	}
	d := Vec{V: r0[:K:K], M: r0[K:]}
	if err := p.addPending(ctx, d.V, d.M); err != nil {
		return err
	}
	v, err := p.check(ctx, append(append(fr.Vector(nil), d.V[:k]...), ranged...), k)
	if err != nil {
		return err
	}
	r := p.round
	for i := 0; i < k; i++ {
		if !v[i].IsZero() {
			return p.checkFailed(r, &CheckError{Check: "bits", Culprit: i, Group: -1,
				Detail: fmt.Sprintf("party %d dealt random bits that are not bits", i)})
		}
	}
	if lay.ranged {
		var o big.Int
		for q, e := range v[k:] {
			if e.BigInt(&o).Cmp(lay.window) >= 0 {
				i := q / rangeRows
				return p.checkFailed(r, &CheckError{Check: "mask range", Culprit: i, Group: -1,
					Detail: fmt.Sprintf("party %d dealt a mask integer out of range", i)})
			}
		}
	}
	if bits.Len() == 0 {
		return nil
	}
	dx, err := p.openAll(ctx, "check:bits", d.V[k:], -1)
	if err != nil {
		return err
	}
	if !dx[0].IsZero() {
		return p.nonBitDealer(ctx, xorOf)
	}
	return nil
}

// bitnessSums returns, for each of the vectors bitsOf (with MACs), this
// party's local product share of Σ_k x^(L−1−k)·b_k·(1−b_k) and of its MAC
// Σ_k x^(L−1−k)·(α·b_k)·(1−b_k): values first, then MACs (degree 2t, to be
// reduced once).
func bitnessSums(p *Party, x *fr.Element, bitsOf []Vec) fr.Vector {
	k := len(bitsOf)
	vals := make([]fr.Vector, k)
	for i, b := range bitsOf {
		vals[i] = b.V
	}
	segs := segments(vals)
	hv := make([]fr.Element, len(segs))
	hm := make([]fr.Element, len(segs))
	tab := powerTable(x)
	p.parallel(len(segs)*chunkSize, func(w *worker, c uint32, _, _ int) {
		s := segs[c]
		bv, bm := bitsOf[s.vec].V[s.off:s.end], bitsOf[s.vec].M[s.off:s.end]
		n := len(bv)
		u, t := w.buf(slotTmp, n), w.buf(slotOut, n)
		one := fr.One()
		for j := range bv {
			subBF(&u[j], &one, &bv[j])
		}
		pw := tab[chunkSize-n:] // Horner's coefficients x^(n−1−j)
		t.Mul(u, bv)
		hv[c] = pw.InnerProduct(t)
		t.Mul(u, bm)
		hm[c] = pw.InnerProduct(t)
	})
	// h_i (value half) and h_{k+i} (MAC half) per vector.
	h := field.New(2 * k)
	pw := newPowers(x)
	for q, s := range segs {
		xl := pw.pow(s.end - s.off)
		i := s.vec
		h[i].Mul(&h[i], &xl).Add(&h[i], &hv[q])
		h[k+i].Mul(&h[k+i], &xl).Add(&h[k+i], &hm[q])
	}
	return h
}

// nonBitDealer names the dealer of a non-bit after the bitness check of the
// XOR bits failed (checkBits): it authenticates every dealer's XOR bits
// that lack MACs, computes each dealer's bitness sum as checkBits does for
// own bits, and opens them in the last round of a MAC check. A non-zero sum
// after a passed check names its dealer (an honest dealer's is 0 whatever
// the others did); if none is non-zero (which a passed check makes
// impossible but for the check's error probability), or the check fails,
// the abort names no one. Run only on this failure path.
func (p *Party) nonBitDealer(ctx context.Context, xorOf []Vec) error {
	fail := func(detail string) error {
		return p.checkFailed(p.round, &CheckError{Check: "bits", Culprit: -1, Group: -1, Detail: detail})
	}
	bitsOf := make([]Vec, len(xorOf))
	for i, b := range xorOf {
		if b.M != nil {
			bitsOf[i] = b
			continue
		}
		a, err := p.macOf(ctx, append(fr.Vector(nil), b.V...))
		if err != nil {
			return err
		}
		bitsOf[i] = a
	}
	prg, err := p.coin(ctx)
	if err != nil {
		return err
	}
	var x fr.Element
	prg.Element(&x)
	h := bitnessSums(p, &x, bitsOf)
	k := len(bitsOf)
	r0, err := p.reshare(ctx, h, nil, true)
	if err != nil {
		return err
	}
	if err := p.addPending(ctx, r0[:k:k], r0[k:]); err != nil {
		return err
	}
	v, err := p.check(ctx, append(fr.Vector(nil), r0[:k]...), k)
	if err != nil {
		return err
	}
	for i := 0; i < k; i++ {
		if !v[i].IsZero() {
			return p.checkFailed(p.round, &CheckError{Check: "bits", Culprit: i, Group: -1,
				Detail: fmt.Sprintf("party %d dealt random bits that are not bits", i)})
		}
	}
	return fail("the XOR of the dealt random bits is not a bit, but no dealer's bits are off")
}

// rangeSums returns this party's shares of the range check's openings
// o_iℓ = Σ_k c_ℓk·y_ik + R_iℓ, dealer-major (see checkBits).
func (p *Party) rangeSums(prg *field.PRG, ownOf, intsOf []Vec, lay maskDealing) fr.Vector {
	M := lay.nmasks
	sel := make([][]uint64, rangeRows) // c_ℓ as a bit set
	for l := range sel {
		sel[l] = make([]uint64, (M+63)/64)
		for w := range sel[l] {
			sel[l][w] = prg.Uint64()
		}
	}
	out := field.New(len(intsOf) * rangeRows)
	for i, c := range intsOf {
		ys := c.V
		own := ownOf[i].V
		rs := composeBits(own[len(own)-rangeRows*lay.wide:], rangeRows, lay.wide)
		for l := 0; l < rangeRows; l++ {
			acc := rs[l]
			for k := 0; k < M; k++ {
				if sel[l][k/64]>>(k%64)&1 == 1 {
					acc.Add(&acc, &ys[k])
				}
			}
			out[i*rangeRows+l] = acc
		}
	}
	return out
}

var minusOne = func() fr.Element {
	var e fr.Element
	e.SetOne()
	e.Neg(&e)
	return e
}()

// fillBoundedWide fills v with uniform integers below 2^bits (bits ≤ 192).
func fillBoundedWide(p *Party, v fr.Vector, bits uint) {
	for i := range v {
		var acc fr.Element
		left := bits
		for left > 0 {
			w := left
			if w > 64 {
				w = 64
			}
			x := p.own.Uint64()
			if w < 64 {
				x &= 1<<w - 1
			}
			var e fr.Element
			e.SetUint64(x)
			acc.Mul(&acc, &pow2[w])
			acc.Add(&acc, &e)
			left -= w
		}
		v[i] = acc
	}
}

// Prepare generates nbits random bits ahead of the online phase, for
// truncations (1 + ⌈log2(t+1)⌉ rounds for any amount; malicious mode adds the
// MACs and the bitness check). Comparisons have their own preprocessing,
// PrepareComparisons.
func (p *Party) Prepare(ctx context.Context, nbits int) error {
	bits, _, err := p.genMasks(ctx, nbits, 0, MaskBits)
	if err != nil {
		return err
	}
	if p.bitPool.Len() == 0 {
		p.bitPool = bits
	} else {
		p.bitPool = ConcatVecs(p.bitPool, bits)
	}
	return nil
}

// cmpPool holds prepared comparison randomness, comparison-major: for
// comparison j, bits[j·k+i] is bit i of its mask r', pairs[j·(k/2)+q] is the
// product of its bits 2q and 2q+1, and masks[j] its bounded high part r”.
type cmpPool struct {
	k                  int
	bits, pairs, masks Vec
}

func (c *cmpPool) len() int { return c.masks.Len() }

// PrepareComparisons prepares the randomness of lt less-than and eq equality
// comparisons: the mask bits (1 sharing round and ⌈log2(t+1)⌉ XOR rounds)
// and the products of adjacent bit pairs (1 more round), which take the
// first level of the online comparison trees off the online phase.
func (p *Party) PrepareComparisons(ctx context.Context, lt, eq int) error {
	kl, ke := ValueBits, ValueBits+1
	nbits := kl*lt + ke*eq
	bits, masks, err := p.genMasks(ctx, nbits, lt+eq, MaskBits)
	if err != nil {
		return err
	}
	pairs, err := p.mulGen(ctx, kl/2*lt+ke/2*eq, genPairs(bits, kl, lt, ke))
	if err != nil {
		return fmt.Errorf("ss: comparison preprocessing: %w", err)
	}
	p.ltPool.k, p.eqPool.k = kl, ke
	// Slice caps the views: an append to one pool must not run into the other.
	p.ltPool.add(bits.Slice(0, kl*lt), pairs.Slice(0, kl/2*lt), masks.Slice(0, lt))
	p.eqPool.add(bits.Slice(kl*lt, bits.Len()), pairs.Slice(kl/2*lt, pairs.Len()), masks.Slice(lt, masks.Len()))
	return nil
}

// genPairs is the generator (source.gen) of the products of adjacent bit
// pairs of PrepareComparisons: product q of comparison j multiplies its bits
// 2q and 2q+1 (kl bits for each of the lt less-than comparisons, then ke
// for the equalities; an odd ke leaves the top bit unpaired). The MAC half
// multiplies bit 2q's MAC by bit 2q+1's value, as mulVec does.
func genPairs(bits Vec, kl, lt, ke int) func(h int, x, y fr.Vector, off, end int) {
	nl := kl / 2 * lt
	return func(h int, x, y fr.Vector, off, end int) {
		b, v := bits.half(h), bits.V
		// Product i is pair q of comparison j, at bit base + j·k + 2q.
		i := off
		for seg := 0; seg < 2 && i < end; seg++ {
			base, k, from, to := 0, kl, 0, nl
			if seg == 1 {
				base, k, from, to = kl*lt, ke, nl, end
			}
			if i >= to {
				continue
			}
			per := k / 2
			j, q := (i-from)/per, (i-from)%per
			at := base + j*k + 2*q
			for ; i < min(to, end); i++ {
				x[i-off], y[i-off] = b[at], v[at+1]
				at += 2
				if q++; q == per {
					q = 0
					at += k - 2*per // skips an odd k's top bit
				}
			}
		}
	}
}

// add appends prepared randomness, without copying into an empty pool.
func (c *cmpPool) add(bits, pairs, masks Vec) {
	if c.masks.Len() == 0 {
		c.bits, c.pairs, c.masks = bits, pairs, masks
		return
	}
	c.bits = ConcatVecs(c.bits, bits)
	c.pairs = ConcatVecs(c.pairs, pairs)
	c.masks = ConcatVecs(c.masks, masks)
}

// takeCmp returns the randomness of m comparisons from pool, preparing any
// shortfall first, in the pool's comparison-major layout.
func (p *Party) takeCmp(ctx context.Context, pool *cmpPool, m int, lt bool) (bits, pairs, masks Vec, err error) {
	if short := m - pool.len(); short > 0 {
		l, e := 0, 0
		if lt {
			l = short
		} else {
			e = short
		}
		if err := p.PrepareComparisons(ctx, l, e); err != nil {
			return Vec{}, Vec{}, Vec{}, err
		}
	}
	k := pool.k
	h := k / 2
	bits, pairs, masks = pool.bits.Slice(0, k*m), pool.pairs.Slice(0, h*m), pool.masks.Slice(0, m)
	pool.bits = pool.bits.Slice(k*m, pool.bits.Len())
	pool.pairs = pool.pairs.Slice(h*m, pool.pairs.Len())
	pool.masks = pool.masks.Slice(m, pool.masks.Len())
	return bits, pairs, masks, nil
}

// takeBits returns n prepared random bits, generating any shortfall first.
func (p *Party) takeBits(ctx context.Context, n int) (Vec, error) {
	if short := n - p.bitPool.Len(); short > 0 {
		if err := p.Prepare(ctx, short); err != nil {
			return Vec{}, err
		}
	}
	bits := p.bitPool.Slice(0, n)
	p.bitPool = p.bitPool.Slice(n, p.bitPool.Len())
	return bits, nil
}

// composeBits returns, for each of m values, Σ_i 2^i·bits[j·k + i] over its
// k bits (comparison-major layout; Horner, additions only).
func composeBits(bits fr.Vector, m, k int) fr.Vector {
	acc := field.New(m)
	for j := range acc {
		b := bits[j*k : (j+1)*k]
		var a fr.Element
		for i := k - 1; i >= 0; i-- {
			addBF(&a, &a, &a)
			addBF(&a, &a, &b[i])
		}
		acc[j] = a
	}
	return acc
}

// composeVec is composeBits on both halves.
func (p *Party) composeVec(bits Vec, m, k int) Vec {
	out := Vec{V: composeBits(bits.V, m, k)}
	if bits.M != nil {
		out.M = composeBits(bits.M, m, k)
	}
	return out
}

// maskedOpen opens x + r' + 2^m·masks under the label and returns the opened
// values, with r' composed from k bits per value.
func (p *Party) maskedOpen(ctx context.Context, label string, x, bits, masks Vec, m, k int) (fr.Vector, Vec, error) {
	rp := p.composeVec(bits, x.Len(), k)
	c := x.Add(rp).Add(masks.Scale(&pow2[m]))
	opened, err := p.Open(ctx, label, c.V)
	if err != nil {
		return nil, Vec{}, err
	}
	return opened, rp, nil
}

// LessThan returns shares of [a < b] for unsigned a, b below 2^64.
// Semi-honest mode only; LessThanVec works in both.
func (p *Party) LessThan(ctx context.Context, a, b fr.Vector) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	r, err := p.LessThanVec(ctx, Vec{V: a}, Vec{V: b})
	return r.V, err
}

// LessThanVec returns shares of [a < b] for unsigned a, b below 2^64
// (Catrina–de Hoogh: x = a − b + 2^64 has bit 64 equal to [a ≥ b]; the masked
// opening of x gives x mod 2^64 up to a bitwise comparison with the mask's
// bits, done by a log-depth tree; 1 opening + 5 multiplication rounds online).
func (p *Party) LessThanVec(ctx context.Context, a, b Vec) (Vec, error) {
	m := a.Len()
	if b.Len() != m {
		return Vec{}, fmt.Errorf("ss: less-than of %d and %d values", a.Len(), b.Len())
	}
	if err := p.checkMode("less-than", a, b); err != nil {
		return Vec{}, err
	}
	if m == 0 {
		return p.NewVec(0), nil
	}
	bits, pairs, masks, err := p.takeCmp(ctx, &p.ltPool, m, true)
	if err != nil {
		return Vec{}, fmt.Errorf("ss: less-than: %w", err)
	}
	x := p.AddConst(a.Sub(b), &pow2[ValueBits])
	c, rp, err := p.maskedOpen(ctx, "mask:lt", x, bits, masks, ValueBits, ValueBits)
	if err != nil {
		return Vec{}, fmt.Errorf("ss: less-than: %w", err)
	}
	low := make([]uint64, m)
	cl := field.New(m)
	for j := range c {
		low[j] = c[j].Uint64()
		cl[j].SetUint64(low[j])
	}
	u, err := p.bitLessThan(ctx, low, bits, pairs, m)
	if err != nil {
		return Vec{}, fmt.Errorf("ss: less-than: %w", err)
	}
	// x mod 2^64 = c' − r' + 2^64·[c' < r'];  [a ≥ b] = (x − x mod 2^64)/2^64.
	xmod := p.AddConsts(u.Scale(&pow2[ValueBits]).Sub(rp), cl)
	ge := x.Sub(xmod).Scale(&inv2_64)
	// [a < b] = 1 − [a ≥ b]
	one := fr.One()
	return p.AddConst(ge.Scale(&minusOne), &one), nil
}

// pairNode returns, for public bits ch, cl and shared bits rh, rl with
// product pr, shares of E = [ch = rh]·[cl = rl] and L = [ch < rh] +
// [ch = rh]·[cl < rl] — both linear in (1, rh, rl, pr) since c is public.
// one is the share of 1 in the half computed (see Party.unit).
func pairNode(ch, cl uint64, rh, rl, pr *fr.Element, one *fr.Element, E, L *fr.Element) {
	leafEqual(ch, cl, rh, rl, pr, one, E)
	leafLess(ch, cl, rh, rl, pr, L)
}

// leafEqual is pairNode's E alone (branch-free arithmetic: the operands
// are random shares).
func leafEqual(ch, cl uint64, rh, rl, pr *fr.Element, one *fr.Element, E *fr.Element) {
	switch {
	case ch == 1 && cl == 1:
		*E = *pr
	case ch == 1 && cl == 0:
		subBF(E, rh, pr)
	case ch == 0 && cl == 1:
		subBF(E, rl, pr)
	default:
		var e fr.Element
		subBF(&e, one, rh)
		subBF(&e, &e, rl)
		addBF(E, &e, pr)
	}
}

// leafLess is pairNode's L alone: [ch < rh] + [ch = rh]·[cl < rl].
func leafLess(ch, cl uint64, rh, rl, pr *fr.Element, L *fr.Element) {
	switch {
	case ch == 1 && cl == 1:
		L.SetZero()
	case ch == 1 && cl == 0: // rh·rl
		*L = *pr
	case ch == 0 && cl == 1: // rh
		*L = *rh
	default: // rh + (1−rh)·rl
		var l fr.Element
		addBF(&l, rh, rl)
		subBF(L, &l, pr)
	}
}

// bitLessThan returns shares of [c_j < r_j] for public 64-bit c_j and r_j
// given by its shared bits (bits[j·64 + i] is bit i of r_j, pairs[j·32 + q]
// the product of its bits 2q and 2q+1). The 32 leaves are bit pairs, computed
// without interaction from the prepared products; a node combines (hi, lo) as
// L = L_hi + E_hi·L_lo, E = E_hi·E_lo; one batched multiplication per level.
// Nodes are stored comparison-major: node q of comparison j at j·nodes + q.
func (p *Party) bitLessThan(ctx context.Context, c []uint64, bits, pairs Vec, m int) (Vec, error) {
	const k = ValueBits
	nodes := k / 2
	// The levels' E and L live in the party's temporaries (slots tmpE0/tmpL0
	// and tmpE1/tmpL1 in turn): only the products and the result are fresh
	// memory. The leaves (pairNode) are not stored: the first level's
	// multiplication computes its operands from them chunk by chunk
	// (leafLevel), and keeps the L_hi it adds to its products in the next
	// level's L.
	cur := 0
	var E, L Vec
	if nodes > 2 && nodes%2 == 0 {
		var err error
		if E, L, err = p.leafLevel(ctx, c, bits, pairs, m); err != nil {
			return Vec{}, err
		}
		nodes, cur = nodes/2, 1
	} else {
		E = p.tmpVec(tmpE0, nodes*m)
		L = p.tmpVec(tmpL0, nodes*m)
		for h := 0; h < p.halves(); h++ {
			one := p.unit(h)
			bh, ph, Eh, Lh := bits.half(h), pairs.half(h), E.half(h), L.half(h)
			for j := 0; j < m; j++ {
				b := bh[j*k : (j+1)*k]
				pr := ph[j*nodes : (j+1)*nodes]
				for q := 0; q < nodes; q++ {
					ch, cl := c[j]>>uint(2*q+1)&1, c[j]>>uint(2*q)&1
					pairNode(ch, cl, &b[2*q+1], &b[2*q], &pr[q], &one, &Eh[j*nodes+q], &Lh[j*nodes+q])
				}
			}
		}
	}
	for nodes > 1 {
		half := nodes / 2
		if nodes == 2 {
			X, Y := p.tmpVec(tmpX, m), p.tmpVec(tmpY, m)
			for j := 0; j < m; j++ {
				X.Set(j, E, 2*j+1)
				Y.Set(j, L, 2*j)
			}
			p.op = "lt"
			prod, err := p.mulVec(ctx, X, Y)
			p.op = ""
			if err != nil {
				return Vec{}, err
			}
			hi := p.NewVec(m)
			for j := 0; j < m; j++ {
				hi.Set(j, L, 2*j+1)
			}
			return prod.Add(hi), nil
		}
		// X = [E_hi | E_hi], Y = [L_lo | E_lo], each half comparison-major,
		// per half: L for every node pair, E for all but the lowest (q = 0).
		// The lowest node's E would only ever feed the E of the lowest node
		// of the next level (E = E_hi·E_lo), which is skipped again, and the
		// root needs no E: each level saves one product per comparison.
		eq := half - 1
		X, Y := p.tmpVec(tmpX, (half+eq)*m), p.tmpVec(tmpY, (half+eq)*m)
		for h := 0; h < p.halves(); h++ {
			Eh, Lh, Xh, Yh := E.half(h), L.half(h), X.half(h), Y.half(h)
			for j := 0; j < m; j++ {
				for q := 0; q < half; q++ {
					hi, lo := j*nodes+2*q+1, j*nodes+2*q
					Xh[j*half+q] = Eh[hi]
					Yh[j*half+q] = Lh[lo]
					if q > 0 {
						Xh[m*half+j*eq+q-1] = Eh[hi]
						Yh[m*half+j*eq+q-1] = Eh[lo]
					}
				}
			}
		}
		prod, err := p.mulVec(ctx, X, Y)
		if err != nil {
			return Vec{}, err
		}
		next := (nodes + 1) / 2
		cur = 1 - cur
		nE := p.tmpVec(tmpE0+2*cur, next*m)
		nL := p.tmpVec(tmpL0+2*cur, next*m)
		for h := 0; h < p.halves(); h++ {
			Eh, Lh, ph, nEh, nLh := E.half(h), L.half(h), prod.half(h), nE.half(h), nL.half(h)
			for j := 0; j < m; j++ {
				for q := 0; q < half; q++ {
					addBF(&nLh[j*next+q], &Lh[j*nodes+2*q+1], &ph[j*half+q])
					if q > 0 {
						nEh[j*next+q] = ph[m*half+j*eq+q-1]
					}
				}
				if nodes%2 == 1 {
					nEh[j*next+half] = Eh[j*nodes+nodes-1]
					nLh[j*next+half] = Lh[j*nodes+nodes-1]
				}
			}
		}
		E, L, nodes = nE, nL, next
	}
	return L.Clone(), nil // (k = 2 only: L is a temporary)
}

// leafLevel is the first level of bitLessThan's tree, over the leaves
// (pairNode of bit pairs 2q, 2q+1; an even number per comparison): the
// same products as a generic level — E_hi·L_lo for every node pair, then
// E_hi·E_lo for all but the lowest — whose operands the multiplication
// computes from the bits, the prepared pair products and the public c
// chunk by chunk (source.gen), instead of storing every leaf's E and L
// and gathering them. It returns the next level's E and L (slots
// tmpE1/tmpL1); L starts as L_hi, written by the generator, and gets the
// products added.
func (p *Party) leafLevel(ctx context.Context, c []uint64, bits, pairs Vec, m int) (Vec, Vec, error) {
	const k = ValueBits
	leaves := k / 2
	half, eq := leaves/2, leaves/2-1
	nE := p.tmpVec(tmpE1, half*m)
	nL := p.tmpVec(tmpL1, half*m)
	units := [2]fr.Element{p.unit(0), p.unit(1)}
	nl := half * m
	gen := func(h int, x, y fr.Vector, off, end int) {
		// x from half h, y from the values (as mulVec's MAC half).
		bh, ph, bv, pv, one := bits.half(h), pairs.half(h), bits.V, pairs.V, units[h]
		lhi := nL.half(h)
		i := off
		if i < nl {
			// Node pair q of comparison j: x = E_hi, y = L_lo; the next
			// level's L starts as L_hi.
			j, q := i/half, i%half
			for ; i < min(end, nl); i++ {
				cj, hi, lo := c[j], 2*q+1, 2*q
				ch, cl := cj>>uint(2*hi+1)&1, cj>>uint(2*hi)&1
				b, pr := j*k+2*hi, j*leaves+hi
				leafEqual(ch, cl, &bh[b+1], &bh[b], &ph[pr], &one, &x[i-off])
				leafLess(ch, cl, &bh[b+1], &bh[b], &ph[pr], &lhi[i])
				ch, cl = cj>>uint(2*lo+1)&1, cj>>uint(2*lo)&1
				b, pr = j*k+2*lo, j*leaves+lo
				leafLess(ch, cl, &bv[b+1], &bv[b], &pv[pr], &y[i-off])
				if q++; q == half {
					j, q = j+1, 0
				}
			}
		}
		if i < end {
			// Node pair q ≥ 1 of comparison j: x = E_hi, y = E_lo.
			one0 := units[0]
			j, q := (i-nl)/eq, (i-nl)%eq+1
			for ; i < end; i++ {
				cj, hi, lo := c[j], 2*q+1, 2*q
				ch, cl := cj>>uint(2*hi+1)&1, cj>>uint(2*hi)&1
				b, pr := j*k+2*hi, j*leaves+hi
				leafEqual(ch, cl, &bh[b+1], &bh[b], &ph[pr], &one, &x[i-off])
				ch, cl = cj>>uint(2*lo+1)&1, cj>>uint(2*lo)&1
				b, pr = j*k+2*lo, j*leaves+lo
				leafEqual(ch, cl, &bv[b+1], &bv[b], &pv[pr], &one0, &y[i-off])
				if q++; q == half {
					j, q = j+1, 1
				}
			}
		}
	}
	prod, err := p.mulGen(ctx, (half+eq)*m, gen)
	if err != nil {
		return Vec{}, Vec{}, err
	}
	for h := 0; h < p.halves(); h++ {
		lh, ph, eh := nL.half(h), prod.half(h), nE.half(h)
		lh.Add(lh, ph[:nl])
		for j := 0; j < m; j++ {
			copy(eh[j*half+1:(j+1)*half], ph[nl+j*eq:nl+(j+1)*eq])
		}
	}
	return nE, nL, nil
}

// Equal returns shares of [a = b] for unsigned a, b below 2^64.
// Semi-honest mode only; EqualVec works in both.
func (p *Party) Equal(ctx context.Context, a, b fr.Vector) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	r, err := p.EqualVec(ctx, Vec{V: a}, Vec{V: b})
	return r.V, err
}

// EqualVec returns shares of [a = b] for unsigned a, b below 2^64: with
// x = a − b + 2^65 > 0, the masked opening c of x + r' + 2^65·r” satisfies
// c mod 2^65 = r' iff a = b. The 65 bit-equalities are paired without
// interaction (prepared products) and the 33 factors multiplied in a
// log-depth tree (1 opening + 6 multiplication rounds online).
func (p *Party) EqualVec(ctx context.Context, a, b Vec) (Vec, error) {
	m := a.Len()
	if b.Len() != m {
		return Vec{}, fmt.Errorf("ss: equality of %d and %d values", a.Len(), b.Len())
	}
	if err := p.checkMode("equal", a, b); err != nil {
		return Vec{}, err
	}
	if m == 0 {
		return p.NewVec(0), nil
	}
	const k = ValueBits + 1
	bits, pairs, masks, err := p.takeCmp(ctx, &p.eqPool, m, false)
	if err != nil {
		return Vec{}, fmt.Errorf("ss: equal: %w", err)
	}
	x := p.AddConst(a.Sub(b), &pow2[k])
	c, _, err := p.maskedOpen(ctx, "mask:eq", x, bits, masks, k, k)
	if err != nil {
		return Vec{}, fmt.Errorf("ss: equal: %w", err)
	}
	const f = k/2 + 1 // factors per comparison: 32 pairs and the top bit
	factors := p.NewVec(f * m)
	var unused fr.Element
	for h := 0; h < p.halves(); h++ {
		one := p.unit(h)
		bh, ph, fh := bits.half(h), pairs.half(h), factors.half(h)
		for j := 0; j < m; j++ {
			b := bh[j*k : (j+1)*k]
			pr := ph[j*(k/2) : (j+1)*(k/2)]
			limbs := c[j].Bits()
			bit := func(i int) uint64 { return limbs[i/64] >> uint(i%64) & 1 }
			for q := 0; q < k/2; q++ {
				pairNode(bit(2*q+1), bit(2*q), &b[2*q+1], &b[2*q], &pr[q], &one, &fh[j*f+q], &unused)
			}
			if bit(k-1) == 1 {
				fh[j*f+f-1] = b[k-1]
			} else {
				fh[j*f+f-1].Sub(&one, &b[k-1])
			}
		}
	}
	return p.productGroups(ctx, factors, m, f)
}

// productGroups returns, for each of m groups of f consecutive values, their
// product (log-depth tree, one batched multiplication per level).
func (p *Party) productGroups(ctx context.Context, v Vec, m, f int) (Vec, error) {
	for f > 1 {
		half := f / 2
		X, Y := p.NewVec(half*m), p.NewVec(half*m)
		for j := 0; j < m; j++ {
			for q := 0; q < half; q++ {
				X.Set(j*half+q, v, j*f+2*q)
				Y.Set(j*half+q, v, j*f+2*q+1)
			}
		}
		prod, err := p.mulVec(ctx, X, Y)
		if err != nil {
			return Vec{}, err
		}
		next := (f + 1) / 2
		nv := p.NewVec(next * m)
		for j := 0; j < m; j++ {
			for q := 0; q < half; q++ {
				nv.Set(j*next+q, prod, j*half+q)
			}
			if f%2 == 1 {
				nv.Set(j*next+half, v, j*f+f-1)
			}
		}
		v, f = nv, next
	}
	return v, nil
}

// Select returns c·a + (1−c)·b for shared bits c (one multiplication round).
// Semi-honest mode only; SelectVec works in both.
func (p *Party) Select(ctx context.Context, c, a, b fr.Vector) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	r, err := p.SelectVec(ctx, Vec{V: c}, Vec{V: a}, Vec{V: b})
	return r.V, err
}

// SelectVec returns c·a + (1−c)·b for shared bits c (one multiplication round).
func (p *Party) SelectVec(ctx context.Context, c, a, b Vec) (Vec, error) {
	prod, err := p.mulVec(ctx, c, a.Sub(b))
	if err != nil {
		return Vec{}, err
	}
	return prod.Add(b), nil
}

// TruncPr is TruncPrVec in semi-honest mode.
func (p *Party) TruncPr(ctx context.Context, x fr.Vector, k, m int) (fr.Vector, error) {
	if p.malicious() {
		return nil, errSemiHonestAPI
	}
	r, err := p.TruncPrVec(ctx, Vec{V: x}, k, m)
	return r.V, err
}

// TruncPrVec returns shares of ⌊x/2^m⌋ + u, u ∈ {0,1} with Pr[u=1] = (x mod 2^m)/2^m,
// for signed x in [−2^(k−1), 2^(k−1)) (probabilistic truncation of Catrina and
// Saxena; one preprocessing round for the wide masks and one opening).
// Requires 1 ≤ m < k ≤ 128.
func (p *Party) TruncPrVec(ctx context.Context, x Vec, k, m int) (Vec, error) {
	if m < 1 || m >= k || k > 128 {
		return Vec{}, fmt.Errorf("ss: truncation with k=%d m=%d unsupported", k, m)
	}
	if err := p.checkMode("truncate", x); err != nil {
		return Vec{}, err
	}
	n := x.Len()
	bits, err := p.takeBits(ctx, m*n)
	if err != nil {
		return Vec{}, fmt.Errorf("ss: truncate: %w", err)
	}
	_, wide, err := p.genMasks(ctx, 0, n, uint(k-m+Kappa+1))
	if err != nil {
		return Vec{}, fmt.Errorf("ss: truncate: %w", err)
	}
	y := p.AddConst(x, &pow2[k-1])
	c, rp, err := p.maskedOpen(ctx, "mask:trunc", y, bits, wide, m, m)
	if err != nil {
		return Vec{}, fmt.Errorf("ss: truncate: %w", err)
	}
	// d = (x − (c mod 2^m − r')) / 2^m
	var inv fr.Element
	inv.Inverse(&pow2[m])
	mod := new(big.Int).Lsh(big.NewInt(1), uint(m))
	cb := new(big.Int)
	cm := field.New(n)
	for j := range c {
		c[j].BigInt(cb)
		cb.Mod(cb, mod)
		cm[j].SetBigInt(cb)
		cm[j].Neg(&cm[j])
	}
	return p.AddConsts(x.Add(rp), cm).Scale(&inv), nil
}

// concat concatenates vectors, without copying a single one.
func concat(vs []fr.Vector) fr.Vector {
	if len(vs) == 1 {
		return vs[0]
	}
	return field.Concat(vs...)
}
