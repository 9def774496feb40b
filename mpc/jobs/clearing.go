package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/ss"
)

// Side says whether a double-auction bidder buys or sells.
type Side int

// Bidder sides.
const (
	Buyer Side = iota + 1
	Seller
)

// MaxClearingLevels bounds the price grid of a clearing job.
const MaxClearingLevels = 4096

// ClearingSpec is the public part of a double-auction clearing job: the price
// of each level of the grid, strictly increasing.
type ClearingSpec struct {
	Prices []uint64
}

// ClearingBid is one bidder's shared curve. Field l is the quantity the bidder
// adds at price level l: a buyer buys q_l more if the price is at most
// Prices[l], a seller sells q_l more if the price is at least Prices[l]. So a
// buyer's demand at level l is Σ_{l' ≥ l} q_l' and a seller's supply is
// Σ_{l' ≤ l} q_l'; the aggregate demand is non-increasing and the supply
// non-decreasing by construction. Quantities must be non-negative and the
// aggregates below 2^64 (each provider's input-validity proof bounds its q_l,
// e.g. below 2^48 with at most 2^16 bidders).
type ClearingBid struct {
	Input
	Side Side
}

// ClearingResult is a committee party's output of a clearing job.
type ClearingResult struct {
	// Level is the clearing level: the highest level at which aggregate demand
	// covers aggregate supply, or −1 when there is none (no trade).
	Level int
	// Price is Prices[Level] (0 when Level is −1).
	Price uint64
	// Commitments[0] commits to the level, Commitments[1+i] to bidder i's
	// allocation; all computed inside the MPC.
	Commitments []fr.Element
	// Allocations[i] is this party's share of bidder i's allocation and of its
	// commitment salt: send it to bidder i only, who runs ReconstructOutput.
	Allocations []OutputShare
	// LevelSalt is this party's share of the level commitment's salt (the
	// level is public: the recipient opens it with OpenOutput).
	LevelSalt fr.Element
}

// Output labels of the clearing job.
const (
	LabelClearingSearch      = "clearing.search" // binary-search steps, a function of the level
	LabelClearingCommitments = "clearing.commitments"
)

// RunClearing checks every bidder's curve against its commitment and clears.
// The check hashes each curve inside the MPC (for more than 8 levels, a tree
// of levels−1 compressions in ⌈log2 levels⌉ batched rounds of permutations,
// every bidder side by side), which dominates the cost for long curves: its
// work grows with levels × bidders. Nothing about the curves is opened
// before every curve has passed the check.
func RunClearing(ctx context.Context, p *ss.Party, spec ClearingSpec, bids []ClearingBid) (*ClearingResult, error) {
	inputs := make([]Input, len(bids))
	for i, b := range bids {
		inputs[i] = b.Input
	}
	if err := checkClearing(spec, bids); err != nil {
		return nil, err
	}
	auth, err := authInputs(ctx, p, inputs)
	if err != nil {
		return nil, err
	}
	if err := verifyAuth(ctx, p, inputs, auth); err != nil {
		return nil, err
	}
	return clearAuth(ctx, p, spec, bids, auth)
}

// Clear is the computation of RunClearing on curves the caller has already
// checked against their commitments (in malicious mode they are still checked
// for consistency and authenticated).
//
// Aggregate demand D(l) and supply S(l) are local linear combinations of the
// shares. The predicate D(l) ≥ S(l) holds exactly for the levels up to the
// clearing level, so a binary search with one comparison per step finds it in
// ⌈log2(L+1)⌉ steps; the opened step outcomes are a function of the clearing
// level alone, which is revealed anyway (in malicious mode each is opened
// after a MAC check, so a cheater cannot steer the search). With the level
// public, each bidder's quantity at the clearing price is again linear in the
// shares; the long side is rationed to the short side's volume (ration,
// comparisons whose outcomes stay shared). No allocation is opened to the
// committee: each is handed to its bidder as output shares.
func Clear(ctx context.Context, p *ss.Party, spec ClearingSpec, bids []ClearingBid) (*ClearingResult, error) {
	if err := checkClearing(spec, bids); err != nil {
		return nil, err
	}
	groups := make([]fr.Vector, len(bids))
	for i, b := range bids {
		groups[i] = b.Share.Fields
	}
	// Only the consistency of the curves is checked here; the MACs are
	// computed for the aggregates and allocations alone (see clearAuth).
	if err := p.CheckDealt(ctx, groups); err != nil {
		var ce *ss.CheckError
		if errors.As(err, &ce) && ce.Group >= 0 && ce.Group < len(bids) {
			return nil, &InputCheckError{Provider: bids[ce.Group].Provider, Err: err}
		}
		return nil, fmt.Errorf("jobs: clearing: %w", err)
	}
	return clearAuth(ctx, p, spec, bids, nil)
}

func checkClearing(spec ClearingSpec, bids []ClearingBid) error {
	L := len(spec.Prices)
	if L == 0 || L > MaxClearingLevels {
		return fmt.Errorf("jobs: clearing grid of %d levels, want 1..%d", L, MaxClearingLevels)
	}
	for l := 1; l < L; l++ {
		if spec.Prices[l] <= spec.Prices[l-1] {
			return errors.New("jobs: clearing prices must increase strictly")
		}
	}
	if len(bids) == 0 {
		return errors.New("jobs: clearing needs bids")
	}
	for _, b := range bids {
		if len(b.Share.Fields) != L {
			return fmt.Errorf("jobs: curve of %s has %d levels, want %d", b.Provider, len(b.Share.Fields), L)
		}
		if b.Side != Buyer && b.Side != Seller {
			return fmt.Errorf("jobs: bid of %s has no side", b.Provider)
		}
	}
	return nil
}

// clearAuth is Clear on authenticated curves (auth[i] starts with bidder i's L
// quantities) or, with auth nil, on consistency-checked curves: the clearing
// computes only on linear combinations of the curves (the aggregates, then
// each bidder's quantity at the level), so in malicious mode it
// authenticates those 2L + B values instead of all L × B quantities — the
// MAC of a combination is the combination of the MACs.
func clearAuth(ctx context.Context, p *ss.Party, spec ClearingSpec, bids []ClearingBid, auth []ss.Vec) (*ClearingResult, error) {
	L := len(spec.Prices)
	qb, qs := p.NewVec(L), p.NewVec(L)
	if auth == nil {
		q := ss.Vec{V: field.New(2 * L)}
		for _, b := range bids {
			dst := q.V[:L]
			if b.Side == Seller {
				dst = q.V[L:]
			}
			dst.Add(dst, b.Share.Fields)
		}
		a, err := p.AuthenticateChecked(ctx, q.V)
		if err != nil {
			return nil, fmt.Errorf("jobs: clearing: %w", err)
		}
		qb, qs = a.Slice(0, L), a.Slice(L, 2*L)
	}
	for i, b := range bids {
		if auth == nil {
			break
		}
		q := auth[i].Slice(0, L)
		if b.Side == Buyer {
			qb.AddInPlace(q)
		} else {
			qs.AddInPlace(q)
		}
	}
	demand := ss.Vec{V: suffixSums(qb.V)}
	supply := ss.Vec{V: prefixSums(qs.V)}
	if qb.Authenticated() {
		demand.M, supply.M = suffixSums(qb.M), prefixSums(qs.M)
	}

	steps := 0
	for span := L + 1; span > 1; span = (span + 1) / 2 {
		steps++
	}
	// The search, then the rationing of the long side (see ration).
	if err := p.PrepareComparisons(ctx, steps+len(bids), 0); err != nil {
		return nil, fmt.Errorf("jobs: clearing preprocessing: %w", err)
	}
	// Count the levels with D ≥ S: the predicate is true on a prefix.
	lo, hi := 0, L
	for lo < hi {
		mid := (lo + hi) / 2
		lt, err := p.LessThanVec(ctx, demand.Slice(mid, mid+1), supply.Slice(mid, mid+1))
		if err != nil {
			return nil, fmt.Errorf("jobs: clearing: %w", err)
		}
		bit, err := p.OpenVec(ctx, LabelClearingSearch, lt)
		if err != nil {
			return nil, fmt.Errorf("jobs: clearing: %w", err)
		}
		if bit[0].IsZero() { // D(mid) ≥ S(mid)
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	level := lo - 1

	alloc := p.NewVec(len(bids))
	if level >= 0 {
		if auth == nil {
			alloc = ss.Vec{V: field.New(len(bids))}
		}
		for i, b := range bids {
			q := ss.Vec{V: b.Share.Fields}
			if auth != nil {
				q = auth[i]
			}
			from, to := level, L // a buyer's demand at the level
			if b.Side == Seller {
				from, to = 0, level+1
			}
			for h, dst := range []fr.Vector{alloc.V, alloc.M} {
				if dst == nil {
					continue
				}
				src := q.V
				if h == 1 {
					src = q.M
				}
				var a fr.Element
				for l := from; l < to; l++ {
					a.Add(&a, &src[l])
				}
				dst[i] = a
			}
		}
		var err error
		if auth == nil {
			if alloc, err = p.AuthenticateChecked(ctx, alloc.V); err != nil {
				return nil, fmt.Errorf("jobs: clearing: %w", err)
			}
		}
		if alloc, err = ration(ctx, p, bids, alloc, demand.Slice(level, level+1), supply.Slice(level, level+1)); err != nil {
			return nil, fmt.Errorf("jobs: clearing: %w", err)
		}
	}
	// Commit to the level (public) and to each allocation, side by side.
	var lv fr.Element
	if level >= 0 {
		lv.SetUint64(uint64(level))
	} else {
		lv.SetInt64(-1)
	}
	outputs := ss.ConcatVecs(p.Public(fr.Vector{lv}), alloc)
	commitments, salts, err := commitOutputs(ctx, p, LabelClearingCommitments, []ss.Vec{outputs})
	if err != nil {
		return nil, err
	}
	res := &ClearingResult{
		Level:       level,
		Commitments: commitments,
		LevelSalt:   salts[0],
		Allocations: make([]OutputShare, len(bids)),
	}
	if level >= 0 {
		res.Price = spec.Prices[level]
	}
	for i := range bids {
		res.Allocations[i] = OutputShare{Values: fr.Vector{alloc.V[i]}, Salt: salts[1+i]}
	}
	return res, nil
}

// ration turns each bidder's quantity at the clearing price (x) into what it
// trades: the volume is V = min(D, S); the short side trades all of it, and
// the long side is filled in provider order (time priority) until V is
// reached, so that both sides' allocations add up to V. Bidder i of a side
// gets min(x_i, max(0, V − P_i)), P_i the quantities of the same side's
// bidders before it. (Pro-rata rationing would need a secret division.)
//
// That is min(P_i + x_i, V) − min(P_i, V): the part of [P_i, P_i + x_i]
// below V. A side's quantities add up to its own total (D for the buyers, S
// for the sellers), so every P_i + x_i is at most it and min(P_i + x_i, V)
// is min(P_i + x_i, T) with T the other side's total. So one comparison per
// bidder, all in one comparison stage (one MAC check and one bounded-mask
// opening), and one multiplication round; the outcomes stay shared and
// nothing is opened.
func ration(ctx context.Context, p *ss.Party, bids []ClearingBid, x, demand, supply ss.Vec) (ss.Vec, error) {
	B := len(bids)
	end := p.NewVec(B)   // P_i + x_i
	other := p.NewVec(B) // T: the other side's total
	var sums [3]ss.Vec   // per side
	for s := range sums {
		sums[s] = p.NewVec(1)
	}
	for i, b := range bids {
		sums[b.Side] = sums[b.Side].Add(x.Slice(i, i+1))
		end.Set(i, sums[b.Side], 0)
		if b.Side == Buyer {
			other.Set(i, supply, 0)
		} else {
			other.Set(i, demand, 0)
		}
	}
	below, err := p.LessThanVec(ctx, other, end) // [T < P_i + x_i]
	if err != nil {
		return ss.Vec{}, err
	}
	prod, err := p.MulVec(ctx, below, other.Sub(end))
	if err != nil {
		return ss.Vec{}, err
	}
	capped := end.Add(prod) // min(P_i + x_i, T)
	alloc := p.NewVec(B)
	var prev [3]ss.Vec // min(P_i, T) per side: 0 for its first bidder
	for s := range prev {
		prev[s] = p.NewVec(1)
	}
	for i, b := range bids {
		c := capped.Slice(i, i+1)
		alloc.Set(i, c.Sub(prev[b.Side]), 0)
		prev[b.Side] = c
	}
	return alloc, nil
}

// PlainRation is ration in the clear (the reference of tests and of
// plaintext checks): x[i] is bidder i's quantity at the clearing price, sides
// has one entry per bidder (sides other than Buyer and Seller: no trade).
func PlainRation(sides []Side, x []uint64) []uint64 {
	var total [3]uint64
	for i, q := range x {
		if sides[i] != Buyer && sides[i] != Seller {
			return make([]uint64, len(x))
		}
		total[sides[i]] += q
	}
	volume := min(total[Buyer], total[Seller])
	var before [3]uint64
	out := make([]uint64, len(x))
	for i, q := range x {
		s := sides[i]
		if before[s] < volume {
			out[i] = min(q, volume-before[s])
		}
		before[s] += q
	}
	return out
}

func prefixSums(v fr.Vector) fr.Vector {
	out := field.New(len(v))
	var acc fr.Element
	for i := range v {
		acc.Add(&acc, &v[i])
		out[i] = acc
	}
	return out
}

func suffixSums(v fr.Vector) fr.Vector {
	out := field.New(len(v))
	var acc fr.Element
	for i := len(v) - 1; i >= 0; i-- {
		acc.Add(&acc, &v[i])
		out[i] = acc
	}
	return out
}
