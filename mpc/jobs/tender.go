package jobs

import (
	"context"
	"errors"
	"fmt"
	mathbits "math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/ss"
)

// MaxTenderQuotes bounds the quotes of one tender the engine accepts (the
// ranking compares every pair: 2,016 comparisons at this bound). It equals
// jobspec.MaxTenderQuotes, which the ledger enforces (jobspec imports this
// package, so the bound is repeated here rather than imported).
const MaxTenderQuotes = 64

// TenderSpec is the public part of a tender job (see jobspec.TenderParams):
// the order's quantity, how many partners it may take, the largest unit
// price a quote may ask (each price is proven in [0, MaxPrice], each capacity
// in [0, Quantity]) and each quote's rating weight.
type TenderSpec struct {
	Quantity     uint64
	MaxPartners  int
	MaxPrice     uint64
	PriceFactors []uint64
}

// TenderQuote is one quoter's two shared inputs, one field each: its unit
// price and the quantity it can deliver (provider slots 2k and 2k+1).
type TenderQuote struct {
	Price, Capacity Input
}

// TenderResult is a committee party's output of a tender. The committee
// learns only the commitments, computed inside the MPC under joint random
// salts; the award and every assignment stay secret-shared.
type TenderResult struct {
	// Commitments[0] commits to the award vector (2 values per quote:
	// quantity, price — both 0 for a quote not chosen), Commitments[1+k] to
	// quote k's assignment (quantity, price). The job's output commitment is
	// CombineCommitments(Commitments).
	Commitments []fr.Element
	// Award is this party's share of the award vector and of its salt: send
	// it to the job's recipient (the demander) only, who runs OpenTender.
	Award OutputShare
	// Assignments[k] is this party's share of quote k's assignment and of
	// its salt: send it to quote k's member only (OpenTenderAssignment).
	Assignments []OutputShare
}

// LabelTenderCommitments is the only output label of the tender: the
// commitments to the award and to each assignment.
const LabelTenderCommitments = "tender.commitments"

// tenderAssignmentValues is the number of values of one assignment.
const tenderAssignmentValues = 2

// Check reports a spec the engine cannot run: quotes (the number of quotes)
// must be 2..MaxTenderQuotes with one price factor each, MaxPartners in
// 1..quotes, and every value the ranking compares below 2^64: weighted prices
// (≤ MaxPrice × factor) and sums of capacities (≤ quotes × Quantity).
func (s *TenderSpec) Check(quotes int) error {
	if quotes < 2 || quotes > MaxTenderQuotes {
		return fmt.Errorf("jobs: tender of %d quotes, want 2..%d", quotes, MaxTenderQuotes)
	}
	if len(s.PriceFactors) != quotes {
		return fmt.Errorf("jobs: tender: %d price factors for %d quotes", len(s.PriceFactors), quotes)
	}
	if s.MaxPartners < 1 || s.MaxPartners > quotes {
		return fmt.Errorf("jobs: tender: max partners %d, want 1..%d", s.MaxPartners, quotes)
	}
	if s.Quantity < 1 || s.MaxPrice < 1 {
		return errors.New("jobs: tender: quantity and max price must be positive")
	}
	if s.Quantity >= (1<<63)/uint64(quotes) {
		return fmt.Errorf("jobs: tender: quantity %d too large for %d quotes", s.Quantity, quotes)
	}
	for k, f := range s.PriceFactors {
		if f < 1 {
			return fmt.Errorf("jobs: tender: price factor of quote %d is 0", k)
		}
		if hi, lo := mathbits.Mul64(f, s.MaxPrice); hi != 0 || lo >= 1<<63 {
			return fmt.Errorf("jobs: tender: quote %d: weighted prices up to %d × %d exceed 2^63", k, s.MaxPrice, f)
		}
	}
	return nil
}

// RunTender chooses a tender's partners from sealed quotes. It checks every
// quote's two inputs against their commitments first (aborting with a
// *CommitmentMismatchError naming the slots that do not match; nothing is
// compared before the check passed — a provider could deal consistent
// shares of a value beyond 2^64 that only the commitment check catches, see
// RunAuction), then:
//
//   - ranks the quotes by weighted price w_k = price_k × factor_k (public
//     factors: local), with ONE batched comparison of every pair j < k:
//     b = [w_k < w_j]; so j is ranked before k iff 1 − b (ties go to the
//     lower index) and k before j iff b;
//   - rank_k = Σ_j before(j, k) is linear in those bits, and the capacity
//     ranked before k, B_k = Σ_j before(j, k)·capacity_j, is one batched
//     dot product (one round for all k);
//   - one batch of comparisons gives top_k = [rank_k < MaxPartners],
//     room_k = [B_k < Quantity] and pos_k = [0 < capacity_k]; then
//     quantity_k = min(top_k·capacity_k, room_k·(Quantity − B_k)) (one more
//     comparison and a select) and chosen_k = top_k·room_k·pos_k, which
//     equals [quantity_k > 0], and the price delivered is chosen_k·price_k.
//
// Every input must lie in its slot's proven range (price ≤ MaxPrice,
// capacity ≤ Quantity: the ledger accepts a tender input only with its
// input-validity proof), as RunAuction relies on max_bid: Check bounds what
// the comparisons then see below 2^63.
//
// The rounds are constant in the number of quotes except for the award's
// commitment, a Poseidon2 tree over its 2·quotes values (⌈log2(2·quotes)⌉
// levels), computed on a lane of its own alongside the assignments'
// commitments. Only the commitments are opened (after a MAC check of the
// whole computation in malicious mode).
func RunTender(ctx context.Context, p *ss.Party, spec TenderSpec, quotes []TenderQuote) (*TenderResult, error) {
	Q := len(quotes)
	if err := spec.Check(Q); err != nil {
		return nil, err
	}
	inputs := make([]Input, 0, 2*Q)
	for _, q := range quotes {
		inputs = append(inputs, q.Price, q.Capacity)
	}
	for _, in := range inputs {
		if len(in.Share.Fields) != 1 {
			return nil, fmt.Errorf("jobs: tender input of %s has %d fields, want 1", in.Provider, len(in.Share.Fields))
		}
	}
	auth, err := authInputs(ctx, p, inputs)
	if err != nil {
		return nil, err
	}
	// The commitment check runs on a lane while the main engine prepares the
	// comparison randomness (independent of the quotes); the ranking starts
	// only once the check passed.
	lane, err := p.Lane(1)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	checked := make(chan error, 1)
	go func() { checked <- verifyAuth(cctx, lane, inputs, auth) }()
	pairs := Q * (Q - 1) / 2
	if err := p.PrepareComparisons(ctx, pairs+4*Q, 0); err != nil {
		cancel()
		<-checked
		return nil, fmt.Errorf("jobs: tender preprocessing: %w", err)
	}
	if err := <-checked; err != nil {
		return nil, err
	}
	price, capacity := p.NewVec(Q), p.NewVec(Q)
	for k := 0; k < Q; k++ {
		price.Set(k, auth[2*k], 0)
		capacity.Set(k, auth[2*k+1], 0)
	}
	qty, out, err := tender(ctx, p, spec, price, capacity)
	if err != nil {
		return nil, fmt.Errorf("jobs: tender: %w", err)
	}
	return tenderOutputs(ctx, p, qty, out)
}

// tender returns shares of each quote's assigned quantity and price (both 0
// when it is not chosen); the comparison randomness is prepared by the
// caller (any shortfall is prepared on the way).
func tender(ctx context.Context, p *ss.Party, spec TenderSpec, price, capacity ss.Vec) (qty, out ss.Vec, err error) {
	Q := price.Len()
	weighted := p.NewVec(Q)
	for k := 0; k < Q; k++ {
		var f fr.Element
		f.SetUint64(spec.PriceFactors[k])
		weighted.Set(k, price.Slice(k, k+1).Scale(&f), 0)
	}
	// All pairs j < k in one comparison: b_jk = [w_k < w_j].
	pairs := Q * (Q - 1) / 2
	left, right := p.NewVec(pairs), p.NewVec(pairs)
	at := make([][]int, Q) // at[j][k] = index of pair (j, k), j < k
	q := 0
	for j := 0; j < Q; j++ {
		at[j] = make([]int, Q)
		for k := j + 1; k < Q; k++ {
			at[j][k] = q
			left.Set(q, weighted, k)
			right.Set(q, weighted, j)
			q++
		}
	}
	b, err := p.LessThanVec(ctx, left, right)
	if err != nil {
		return ss.Vec{}, ss.Vec{}, err
	}
	notB := p.AddConst(b.Scale(&minusOneElt), &oneElt) // 1 − b
	// before(j, k): j is ranked before k.
	before := func(j, k int) ss.Vec {
		if j < k {
			return notB.Slice(at[j][k], at[j][k]+1)
		}
		return b.Slice(at[k][j], at[k][j]+1)
	}
	rank := p.NewVec(Q)
	xs, ys := make([]ss.Vec, Q), make([]ss.Vec, Q)
	for k := 0; k < Q; k++ {
		xs[k], ys[k] = p.NewVec(Q-1), p.NewVec(Q-1)
		acc := p.NewVec(1)
		i := 0
		for j := 0; j < Q; j++ {
			if j == k {
				continue
			}
			bj := before(j, k)
			acc = acc.Add(bj)
			xs[k].Set(i, bj, 0)
			ys[k].Set(i, capacity, j)
			i++
		}
		rank.Set(k, acc, 0)
	}
	ahead, err := p.DotVec(ctx, xs, ys) // capacity ranked before k
	if err != nil {
		return ss.Vec{}, ss.Vec{}, err
	}
	consts := func(v uint64) ss.Vec {
		c := field.New(Q)
		for k := range c {
			c[k].SetUint64(v)
		}
		return p.Public(c)
	}
	partners, quantity, zero := consts(uint64(spec.MaxPartners)), consts(spec.Quantity), p.NewVec(Q)
	c, err := p.LessThanVec(ctx, ss.ConcatVecs(rank, ahead, zero), ss.ConcatVecs(partners, quantity, capacity))
	if err != nil {
		return ss.Vec{}, ss.Vec{}, err
	}
	top, room, pos := c.Slice(0, Q), c.Slice(Q, 2*Q), c.Slice(2*Q, 3*Q)
	// left_k = room_k·(Quantity − B_k) ≥ 0, offer_k = top_k·capacity_k,
	// g_k = top_k·room_k.
	m, err := p.MulVec(ctx, ss.ConcatVecs(room, top, top), ss.ConcatVecs(quantity.Sub(ahead), capacity, room))
	if err != nil {
		return ss.Vec{}, ss.Vec{}, err
	}
	rest, offer, g := m.Slice(0, Q), m.Slice(Q, 2*Q), m.Slice(2*Q, 3*Q)
	short, err := p.LessThanVec(ctx, rest, offer)
	if err != nil {
		return ss.Vec{}, ss.Vec{}, err
	}
	// quantity_k = min(offer_k, left_k); chosen_k = g_k·pos_k.
	m, err = p.MulVec(ctx, ss.ConcatVecs(short, g), ss.ConcatVecs(rest.Sub(offer), pos))
	if err != nil {
		return ss.Vec{}, ss.Vec{}, err
	}
	qty = m.Slice(0, Q).Add(offer)
	chosen := m.Slice(Q, 2*Q)
	if out, err = p.MulVec(ctx, chosen, price); err != nil {
		return ss.Vec{}, ss.Vec{}, err
	}
	return qty, out, nil
}

var (
	oneElt      = fr.One()
	minusOneElt = func() fr.Element { var e fr.Element; e.SetInt64(-1); return e }()
)

// tenderOutputs commits, inside the MPC, to the award vector (quantity_k,
// price_k for every k, one commitment, tree mode beyond 8 values) on a lane
// and to each quote's assignment (side by side) on the main engine, and
// opens only the commitments: the lane's products are checked on the lane,
// the rest by the opening's check.
func tenderOutputs(ctx context.Context, p *ss.Party, qty, price ss.Vec) (*TenderResult, error) {
	Q := qty.Len()
	salt, err := p.RandomVec(ctx, 1+Q)
	if err != nil {
		return nil, fmt.Errorf("jobs: tender output salts: %w", err)
	}
	award := make([]ss.Vec, 0, 2*Q)
	for k := 0; k < Q; k++ {
		award = append(award, qty.Slice(k, k+1), price.Slice(k, k+1))
	}
	lane, err := p.Lane(2)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type laneOut struct {
		c   ss.Vec
		err error
	}
	done := make(chan laneOut, 1)
	go func() {
		c, err := lane.CommitVec(cctx, award, salt.Slice(0, 1))
		if err == nil {
			err = lane.Verify(cctx)
		}
		done <- laneOut{c, err}
	}()
	cs, err := p.CommitVec(ctx, []ss.Vec{qty, price}, salt.Slice(1, 1+Q))
	if err != nil {
		cancel()
		<-done
		return nil, fmt.Errorf("jobs: tender output commitments: %w", err)
	}
	lo := <-done
	if lo.err != nil {
		return nil, fmt.Errorf("jobs: tender award commitment: %w", lo.err)
	}
	opened, err := p.OpenVec(ctx, LabelTenderCommitments, ss.ConcatVecs(lo.c, cs))
	if err != nil {
		return nil, fmt.Errorf("jobs: tender output commitments: %w", err)
	}
	res := &TenderResult{
		Commitments: opened,
		Award:       OutputShare{Values: make(fr.Vector, 0, 2*Q), Salt: salt.V[0]},
		Assignments: make([]OutputShare, Q),
	}
	for k := 0; k < Q; k++ {
		res.Award.Values = append(res.Award.Values, qty.V[k], price.V[k])
		res.Assignments[k] = OutputShare{Values: fr.Vector{qty.V[k], price.V[k]}, Salt: salt.V[1+k]}
	}
	return res, nil
}

// OpenTender is the recipient (demander) side: from the committee's award
// shares (indexed by party, nil when missing) it recovers the award vector
// of quotes quotes and its salt by ReconstructOutput's rule (t+1 shares open
// the award commitment the committee opened, every other share is on their
// polynomial, or *InconsistentSharesError; the caller checks that the
// commitments hash to the signed output commitment).
func OpenTender(committee, quotes int, parts []*OutputShare, commitment fr.Element) (award []uint64, salt fr.Element, err error) {
	if quotes < 1 || quotes > MaxTenderQuotes {
		return nil, fr.Element{}, fmt.Errorf("jobs: open tender: %d quotes, want 1..%d", quotes, MaxTenderQuotes)
	}
	values, salt, err := openValues(committee, 2*quotes, parts, commitment)
	if err != nil {
		return nil, fr.Element{}, fmt.Errorf("jobs: open tender: %w", err)
	}
	return values, salt, nil
}

// OpenTenderAssignment is the quoter side: it recovers its assignment
// (quantity, price) and salt from the committee's shares by
// ReconstructOutput's rule, checked against its commitment.
func OpenTenderAssignment(committee int, parts []*OutputShare, commitment fr.Element) (quantity, price uint64, salt fr.Element, err error) {
	values, salt, err := openValues(committee, tenderAssignmentValues, parts, commitment)
	if err != nil {
		return 0, 0, fr.Element{}, fmt.Errorf("jobs: open tender assignment: %w", err)
	}
	return values[0], values[1], salt, nil
}

// openValues reconstructs want values and checks that each is an integer
// below 2^64 (the commitment binds them, so this only catches a committee
// that committed to an out-of-range result).
func openValues(committee, want int, parts []*OutputShare, commitment fr.Element) ([]uint64, fr.Element, error) {
	for i, o := range parts {
		if o != nil && len(o.Values) != want {
			return nil, fr.Element{}, fmt.Errorf("output share of party %d has %d values, want %d", i, len(o.Values), want)
		}
	}
	values, salt, err := ReconstructOutput(committee, parts, commitment)
	if err != nil {
		return nil, fr.Element{}, err
	}
	out := make([]uint64, len(values))
	for i := range values {
		if !values[i].IsUint64() {
			return nil, fr.Element{}, fmt.Errorf("value %d out of range", i)
		}
		out[i] = values[i].Uint64()
	}
	return out, salt, nil
}

// PlainTender is the tender in the clear (the reference of tests and of
// plaintext checks): it returns each quote's assigned quantity and price
// (0, 0 when not chosen), with the engine's rule — weighted price
// price_k × factor_k, lower first, ties to the lower index; the MaxPartners
// best; quantity_k = min(capacity_k, Quantity − capacities ranked before k),
// 0 when that is not positive.
func PlainTender(spec TenderSpec, prices, capacities []uint64) (quantities, awarded []uint64) {
	Q := len(prices)
	quantities, awarded = make([]uint64, Q), make([]uint64, Q)
	for k := 0; k < Q; k++ {
		wk := prices[k] * spec.PriceFactors[k]
		rank := 0
		var ahead uint64
		for j := 0; j < Q; j++ {
			wj := prices[j] * spec.PriceFactors[j]
			if j != k && (wj < wk || (wj == wk && j < k)) {
				rank++
				ahead += capacities[j]
			}
		}
		if rank >= spec.MaxPartners || ahead >= spec.Quantity {
			continue
		}
		quantities[k] = min(capacities[k], spec.Quantity-ahead)
		if quantities[k] > 0 {
			awarded[k] = prices[k]
		}
	}
	return quantities, awarded
}
