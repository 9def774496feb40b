// Package cheat is the test-only adversary of the secret-sharing engine: a
// Plan attached to a committee member's context makes mpc/ss deviate from
// the protocol in one chosen way, so that tests can show that the malicious
// mode catches it. Go's internal rule confines it to packages under mpc/: the
// node, its configuration and the command line cannot import it, so no
// deployment can switch it on.
package cheat

import "context"

// Plan lists the deviations of one member. The zero Plan is honest.
type Plan struct {
	// MulOffset adds Offset to the value of the first product of every
	// multiplication the member takes part in (it re-shares a wrong local
	// product, shifted so that the shared result changes by exactly Offset:
	// a consistent sharing of a wrong value). With MulOp set, only the
	// multiplications of that operation ("lt": the last level of a
	// less-than circuit, i.e. a flipped comparison bit).
	MulOffset bool
	MulOp     string
	Offset    uint64
	// OffsetShift scales the offset: the product changes by
	// Offset·2^OffsetShift (a field element, e.g. 2^110, well beyond uint64).
	OffsetShift uint
	// OnDeviate, if set, is called (from any of the member's goroutines)
	// each time the member actually deviates in a multiplication, so that a
	// test can tell what the engine opened after a deviation and before the
	// next check.
	OnDeviate func()
	// ShiftOpen adds 1 to this member's share of the first value of every
	// opening it takes part in, in what it sends to party ShiftTo (−1: to
	// everyone).
	ShiftOpen bool
	ShiftTo   int
	// ShiftLabel restricts ShiftOpen to openings of that label ("": all).
	ShiftLabel string
	// ShiftAt, if set (at most t parties), makes ShiftOpen's shift
	// Π_{j ∈ ShiftAt}(x_self − x_j) instead of 1: colluders using the same
	// ShiftAt send shares that agree with the honest shares of ShiftAt on
	// one polynomial of degree t, so that the remaining honest shares look
	// off (framing by a coalition).
	ShiftAt []int
	// HiddenOffset (n = 2t+2 and up) adds Offset·D(x_k) to the sub-share
	// the member sends party k in the re-sharing of the first product of its
	// multiplications (MulOp as for MulOffset), D(X) = X·Π(X − x_p) over its
	// pairwise-PRG parties p: the product's value is unchanged (D(0) = 0)
	// and GRR cannot see it, so the MAC check passes, but the sharing is no
	// longer of degree t. With MulOp "deal" it applies instead to the first
	// XOR bit the member deals as a dealer of random bits (any n): a dealt
	// sharing off degree t with the right value at 0.
	HiddenOffset bool
	// FrameLabel (t = 1, with HiddenOffset) makes the member send, in the
	// opening of that label (of the product itself), its share moved onto
	// the line through its PRG partner's share and its first send partner's,
	// so that the third honest share alone looks off.
	FrameLabel string
	// LeaveAt makes the member, at the opening of that label, send every
	// other member the abort notice NoticeBlames (a party, or −1: "aborted on
	// a check, culprit unidentified") and leave the job.
	LeaveAt      string
	NoticeBlames int
	// BadInput makes the member, sharing its own input (InputVec), send its
	// first send partner a share of the first value that is off by 1.
	BadInput bool
	// BadBit makes the member deal 2 instead of its first random bit when
	// the committee generates random bits.
	BadBit bool
	// MacOffset adds Offset to the MAC half only of the first product of
	// every multiplication the member takes part in (MulOp as for
	// MulOffset): the value stays right, its MAC is off, and every later
	// product with that operand carries a MAC error times an honest value.
	MacOffset bool
	// BadMask makes the member, as a dealer of comparison masks, deal 2^200
	// as its first mask integer (which would make a masked opening wrap
	// modulo q).
	BadMask bool
	// ShiftCheck adds 1 to this member's share of the MAC check's opening
	// (its share of s·T).
	ShiftCheck bool
	// RushCheck makes the member send last in the MAC check's opening: it
	// reads every other share of s·T first, then sends the share that makes
	// its own reconstruction interpolate to 0 (an attack on a check opened
	// without redundancy; found by review).
	RushCheck bool
	// MulOnce limits MulOffset to the first matching multiplication.
	MulOnce bool
	// FrameBits adds 1 to this member's local product of dealer 0's
	// bitness sum (a MAC error that would name an honest dealer if the check
	// let it through).
	FrameBits bool
}

type key struct{}

// With returns ctx carrying the plan.
func With(ctx context.Context, p *Plan) context.Context { return context.WithValue(ctx, key{}, p) }

// From returns the plan ctx carries, or nil.
func From(ctx context.Context) *Plan {
	p, _ := ctx.Value(key{}).(*Plan)
	return p
}
