package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/ss"
)

// AuctionKind selects the pricing rule of a sealed-bid auction.
type AuctionKind int

// Sealed-bid auction kinds.
const (
	// FirstPrice: the highest bidder wins and pays its bid.
	FirstPrice AuctionKind = iota + 1
	// SecondPrice (Vickrey): the highest bidder wins and pays the second
	// highest bid.
	SecondPrice
)

func (k AuctionKind) String() string {
	switch k {
	case FirstPrice:
		return "first-price"
	case SecondPrice:
		return "second-price"
	}
	return fmt.Sprintf("AuctionKind(%d)", int(k))
}

// AuctionResult is a committee party's output of an auction. The committee
// learns only the commitment Poseidon2(winner, price, salt), computed inside
// the MPC under a joint random salt; the winner and the price stay
// secret-shared. Output is this party's share of (winner, price) and of the
// salt: every party sends it to the job's recipient alone, who recovers and
// checks the result with OpenAuction.
type AuctionResult struct {
	Commitment fr.Element
	Output     OutputShare // Values: winner index, price
}

// Output label of the auction: the commitment is the only output the
// committee opens (everything else the engine opens is masked).
const LabelAuctionCommitment = "auction.commitment"

// auctionOutputValues is the number of committed output values: winner, price.
const auctionOutputValues = 2

// OpenAuction is the recipient side of an auction among bids bidders: from
// the committee's output shares (indexed by party, nil when missing) it
// recovers the winner's index, the price and the salt by ReconstructOutput's
// rule (t+1 shares open the commitment the committee opened and signed,
// every other share is on their polynomial, or *InconsistentSharesError).
func OpenAuction(committee, bids int, parts []*OutputShare, commitment fr.Element) (winner int, price uint64, salt fr.Element, err error) {
	for i, o := range parts {
		if o != nil && len(o.Values) != auctionOutputValues {
			return 0, 0, fr.Element{}, fmt.Errorf("jobs: auction output share of party %d has %d values, want %d", i, len(o.Values), auctionOutputValues)
		}
	}
	values, salt, err := ReconstructOutput(committee, parts, commitment)
	if err != nil {
		return 0, 0, fr.Element{}, fmt.Errorf("jobs: open auction: %w", err)
	}
	// The commitment binds the values, so these checks only catch a
	// committee that committed to an out-of-range result.
	if !values[0].IsUint64() || values[0].Uint64() >= uint64(bids) {
		return 0, 0, fr.Element{}, fmt.Errorf("jobs: open auction: winner %s out of range for %d bids", values[0].String(), bids)
	}
	if !values[1].IsUint64() {
		return 0, 0, fr.Element{}, errors.New("jobs: open auction: price out of range")
	}
	return int(values[0].Uint64()), values[1].Uint64(), salt, nil
}

// RunAuction runs a sealed-bid auction on shared bids (one field each: the bid,
// an unsigned integer below 2^64 — the range is what each provider's
// input-validity proof attests). It checks every bid against its commitment
// (aborting with a *CommitmentMismatchError naming the providers that do not
// match), finds the winner with a tournament of batched comparisons —
// ⌈log2 B⌉ levels, carrying the maximum, its index and (Vickrey) the runner-up
// obliviously — and opens only the commitment to the winner and the price;
// both stay secret-shared for the recipient.
func RunAuction(ctx context.Context, p *ss.Party, kind AuctionKind, bids []Input) (*AuctionResult, error) {
	if kind != FirstPrice && kind != SecondPrice {
		return nil, fmt.Errorf("jobs: unknown auction kind %d", int(kind))
	}
	if len(bids) < 2 {
		return nil, errors.New("jobs: an auction needs at least two bids")
	}
	for _, b := range bids {
		if len(b.Share.Fields) != 1 {
			return nil, fmt.Errorf("jobs: bid of %s has %d fields, want 1", b.Provider, len(b.Share.Fields))
		}
	}
	// The commitment check (after the input shares' consistency check and
	// authentication, malicious mode) runs on a lane of its own, concurrently
	// with what does not touch the bids: the comparison preprocessing, the
	// MAC check of its products, and the output commitment's salt and S-box
	// masks. The tournament starts once the check passed: a provider could
	// deal consistent shares of an out-of-range value (e.g. 2^184) that only
	// the commitment check catches, and a comparison on it yields a non-bit
	// that passes every MAC check and makes the next comparison's
	// bounded-mask opening leak an honest bid. The lane checks the MACs of
	// the bids' authentication with its own products, before its opening, so
	// the bids it hands over are checked.
	lane, err := p.Lane(1)
	if err != nil {
		return nil, err
	}
	// A failed preprocessing stops the lane; a failed check does not stop
	// the preprocessing, which does not depend on the bids: a member that
	// abandoned the main engine mid-round would look, to a peer still in it,
	// like a member that left, and the peer would name it (an honest member
	// whose check failed first, e.g. on a provider's mismatching input, while
	// a corrupted member delays the others' check). The error returned is
	// the side's that failed on its own (the check's when both did), never
	// the other's cancellation.
	laneCtx, stopLane := context.WithCancel(ctx)
	defer stopLane()
	type checked struct {
		auth      []ss.Vec
		err       error
		cancelled bool // the lane was stopped by a failed preprocessing
	}
	done := make(chan checked, 1)
	go func() {
		auth, err := authInputs(laneCtx, lane, bids)
		if err == nil {
			err = verifyAuth(laneCtx, lane, bids, auth)
		}
		done <- checked{auth, err, err != nil && laneCtx.Err() != nil}
	}()
	out, err := prepareAuction(ctx, p, kind, len(bids))
	if err != nil {
		stopLane()
		if c := <-done; c.err != nil && !c.cancelled {
			return nil, c.err
		}
		return nil, err
	}
	c := <-done
	if c.err != nil {
		return nil, c.err
	}
	shares := p.NewVec(len(bids))
	for i := range bids {
		shares.Set(i, c.auth[i], 0)
	}
	idx, price, err := tournament(ctx, p, kind, shares)
	if err != nil {
		return nil, err
	}
	return auctionOutputs(ctx, p, idx, price, out)
}

// prepareAuction prepares, on p, what the auction needs after the input
// check and that does not depend on the bids: the tournament's comparison
// randomness and the output commitment's salt and masks; then it checks the
// MACs of their products, so that the tournament's first comparison does
// not wait for that check.
func prepareAuction(ctx context.Context, p *ss.Party, kind AuctionKind, B int) (*outputPrep, error) {
	if err := prepareTournament(ctx, p, kind, B); err != nil {
		return nil, err
	}
	out, err := prepareOutputs(ctx, p, 1, 2)
	if err != nil {
		return nil, err
	}
	if err := p.Verify(ctx); err != nil {
		return nil, fmt.Errorf("jobs: auction preprocessing: %w", err)
	}
	return out, nil
}

// Auction is the computation of RunAuction on bid shares that the caller has
// already checked against their commitments (in malicious mode they are
// still checked for consistency and authenticated).
func Auction(ctx context.Context, p *ss.Party, kind AuctionKind, bids fr.Vector) (*AuctionResult, error) {
	auth, err := p.AuthenticateDealt(ctx, []fr.Vector{bids})
	if err != nil {
		return nil, fmt.Errorf("jobs: auction: %w", err)
	}
	out, err := prepareAuction(ctx, p, kind, auth[0].Len())
	if err != nil {
		return nil, err
	}
	idx, price, err := tournament(ctx, p, kind, auth[0])
	if err != nil {
		return nil, err
	}
	return auctionOutputs(ctx, p, idx, price, out)
}

// prepareTournament prepares the comparison randomness of a tournament over
// B bids (independent of the bids).
func prepareTournament(ctx context.Context, p *ss.Party, kind AuctionKind, B int) error {
	comparisons := B - 1
	if kind == SecondPrice {
		// A runner-up comparison per match, except in the first round, where
		// every runner-up so far is zero and the loser is the runner-up.
		comparisons += B - 1 - B/2
	}
	if err := p.PrepareComparisons(ctx, comparisons, 0); err != nil {
		return fmt.Errorf("jobs: auction preprocessing: %w", err)
	}
	return nil
}

// tournament returns shares of the winner's index and of the price; the
// comparison randomness is prepared first (prepareTournament).
//
// Every level compares the pairs of nodes (w = [l < r]) and selects the new
// maximum and its index in one multiplication round. Vickrey also carries each
// node's runner-up: max(min(l, r), runner-up of the winning side). That max
// is left pending as the pair (lo, hi) = (min(l, r), winner's runner-up) and
// resolved by a comparison batched with the next level's winner comparison —
// both inputs are ready after the same selection round — so a level costs one
// comparison stage (one MAC check and one bounded-mask opening) instead of
// two; the runner-ups the next level selects from are resolved in its
// selection round and the winner's side is chosen in one more
// multiplication round.
func tournament(ctx context.Context, p *ss.Party, kind AuctionKind, bids ss.Vec) (idx, price ss.Vec, err error) {
	if kind != FirstPrice && kind != SecondPrice {
		return ss.Vec{}, ss.Vec{}, fmt.Errorf("jobs: unknown auction kind %d", int(kind))
	}
	vickrey := kind == SecondPrice
	B := bids.Len()
	// Nodes of the tournament, in bidder order: max, its index, runner-up.
	mx := bids.Clone()
	ids := field.New(B)
	for i := range ids {
		ids[i].SetUint64(uint64(i))
	}
	idx = p.Public(ids)
	second := p.NewVec(B)
	// The runner-up of node q < pending.Len() is max(pending[q], pendHi[q])
	// (not yet resolved); the other nodes' runner-ups are in second.
	pending, pendHi := p.NewVec(0), p.NewVec(0)
	for first := true; mx.Len() > 1 || pending.Len() > 0; first = false {
		pairs := mx.Len() / 2
		l, r := p.NewVec(pairs), p.NewVec(pairs)
		li, ri := p.NewVec(pairs), p.NewVec(pairs)
		for q := 0; q < pairs; q++ {
			l.Set(q, mx, 2*q)
			r.Set(q, mx, 2*q+1)
			li.Set(q, idx, 2*q)
			ri.Set(q, idx, 2*q+1)
		}
		// w = [l < r]: the right node wins only on a strictly higher bid, so
		// ties go to the lower index. v = [lo < hi] resolves the pending
		// runner-ups, in the same comparison stage.
		np := pending.Len()
		c, err := p.LessThanVec(ctx, ss.ConcatVecs(l, pending), ss.ConcatVecs(r, pendHi))
		if err != nil {
			return ss.Vec{}, ss.Vec{}, fmt.Errorf("jobs: auction: %w", err)
		}
		w, v := c.Slice(0, pairs), c.Slice(pairs, pairs+np)
		// One multiplication round selects max, index (x_l + w·(x_r − x_l))
		// and the pending runner-ups (lo + v·(hi − lo)).
		prod, err := p.MulVec(ctx, ss.ConcatVecs(w, w, v), ss.ConcatVecs(r.Sub(l), ri.Sub(li), pendHi.Sub(pending)))
		if err != nil {
			return ss.Vec{}, ss.Vec{}, fmt.Errorf("jobs: auction: %w", err)
		}
		if np > 0 {
			second = ss.ConcatVecs(pending.Add(prod.Slice(2*pairs, 2*pairs+np)), second.Slice(np, second.Len()))
			pending, pendHi = p.NewVec(0), p.NewVec(0)
		}
		if pairs == 0 {
			break
		}
		nm := l.Add(prod.Slice(0, pairs))
		ni := li.Add(prod.Slice(pairs, 2*pairs))
		ns := p.NewVec(pairs)
		if vickrey {
			// lo = min(l, r); the first level's runner-ups are all zero, so
			// there lo is the runner-up.
			lo := l.Add(r).Sub(nm)
			if first {
				ns = lo
			} else {
				ls, rs := p.NewVec(pairs), p.NewVec(pairs)
				for q := 0; q < pairs; q++ {
					ls.Set(q, second, 2*q)
					rs.Set(q, second, 2*q+1)
				}
				// The winning side's runner-up: ls + w·(rs − ls).
				sel, err := p.MulVec(ctx, w, rs.Sub(ls))
				if err != nil {
					return ss.Vec{}, ss.Vec{}, fmt.Errorf("jobs: auction: %w", err)
				}
				pending, pendHi = lo, ls.Add(sel)
			}
		}
		if mx.Len()%2 == 1 {
			last := mx.Len() - 1
			nm = ss.ConcatVecs(nm, mx.Slice(last, last+1))
			ni = ss.ConcatVecs(ni, idx.Slice(last, last+1))
			ns = ss.ConcatVecs(ns, second.Slice(last, last+1))
		}
		mx, idx, second = nm, ni, ns
	}
	price = mx
	if vickrey {
		price = second
	}
	return idx, price, nil
}

// auctionOutputs commits to the winner and the price inside the MPC and
// opens only the commitment (salt and masks prepared by prepareOutputs).
func auctionOutputs(ctx context.Context, p *ss.Party, idx, price ss.Vec, out *outputPrep) (*AuctionResult, error) {
	commitment, salt, err := out.commit(ctx, p, LabelAuctionCommitment, []ss.Vec{idx, price})
	if err != nil {
		return nil, err
	}
	return &AuctionResult{
		Commitment: commitment[0],
		Output:     OutputShare{Values: fr.Vector{idx.V[0], price.V[0]}, Salt: salt[0]},
	}, nil
}
