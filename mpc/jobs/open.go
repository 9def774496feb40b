package jobs

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/ss"
)

// Opening an output at its recipient.
//
// A committee party sends the recipient of a private output its shares of
// the values and of the salt of their commitment, which the committee
// opened (and signs). The recipient applies one rule to every such output
// (auction result, tender award, clearing level salt, allocations):
//
//  1. find t+1 received shares whose reconstruction opens the commitment,
//     trying every (t+1)-subset (at most C(9,5) = 126), never "the first
//     t+1": a wrong share among the first would otherwise deny the output
//     with nobody named;
//  2. check every other received share against the polynomial of degree t
//     those t+1 define;
//  3. accept only when every received share is on it. Otherwise refuse the
//     output (secure with abort) and name the parties whose share deviated
//     beyond doubt (identified), or nobody when the shares alone cannot tell.
//
// The commitment binds the output, so no set of wrong shares can make the
// recipient accept another one; the price of refusing rather than ignoring a
// wrong share is that a deviant can deny the recipient its output, but never
// without being named when the shares can tell.

// ErrNotOpened reports that no t+1 of the received shares open the
// output's commitment. The shares alone cannot then say whose is wrong: if
// the commitment is the committee's (it is opened after the committee's
// checks and signed), any t+1 right shares would open it, so at most t of
// the received shares are right; with at most t deviants, at most 2t shares
// were received, and for every party there is a polynomial through the
// output and its share (and others', up to t) that at most t received
// shares are off — every party's share is the right one in some
// explanation of what was received. The cause is members that sent
// nothing (too few right shares left) or more than t deviants.
var ErrNotOpened = errors.New("jobs: no t+1 of the output shares open the commitment")

// InconsistentSharesError reports that the output opened but not every
// received share is on one polynomial of degree t through it: the output is
// refused. Parties lists, in increasing order, the parties whose share
// deviated beyond doubt (see OpenOutput); it is empty when the shares alone
// cannot tell.
type InconsistentSharesError struct {
	Parties []int
}

func (e *InconsistentSharesError) Error() string {
	if len(e.Parties) == 0 {
		return "jobs: output shares are not on one polynomial of degree t (the shares alone cannot tell whose is wrong)"
	}
	names := make([]string, len(e.Parties))
	for i, p := range e.Parties {
		names[i] = strconv.Itoa(p)
	}
	return "jobs: output shares are not on one polynomial of degree t: party(ies) " + strings.Join(names, ", ") + " sent a wrong share"
}

// ReconstructOutput is the recipient side: from the committee's output
// shares (indexed by party, nil when missing) it recovers the values and
// the salt that open the public commitment, by OpenOutput's rule: t+1
// shares open it and every other received share is on their polynomial.
// A missing share costs nothing while t+1 others are right; a wrong share
// (well-formed but off the polynomial) refuses the output with an
// *InconsistentSharesError naming its sender when the shares can tell. So
// a member that sends a wrong share can deny the recipient its output
// (which it could not while any t+1 right shares sufficed), and is named
// for it whenever at least 2t+1 shares arrived and either it deviated
// alone or t = 1; colluding deviants or members missing can leave it
// unnamed (see OpenOutput). No set of wrong shares can make the recipient
// accept another output: the commitment binds the values.
func ReconstructOutput(committee int, parts []*OutputShare, commitment fr.Element) (fr.Vector, fr.Element, error) {
	return OpenOutput(committee, parts, nil, commitment)
}

// OpenOutput is ReconstructOutput for a commitment that also binds public
// values known to the recipient: Commit(public ‖ values, salt) (a clearing
// level's commitment: the level is public, only its salt is shared, so
// parts carry no values).
//
// Naming: a party is named only when its share is off every polynomial of
// degree t through the opened output that at most t received shares are
// off, i.e. when it deviated in every explanation of what was received that
// has at most t deviants. With p received shares and p ≥ 2t+1 such a
// polynomial passes through at least t+1 of them, so the candidates are the
// polynomials of the (t+1)-subsets that open the commitment, and with at
// most one candidate (always when t = 1, or when one member deviates) the
// parties off it are named. Checking against the one polynomial found first
// would not do: t ≥ 2 colluding members can shift their shares by a
// polynomial of degree t that vanishes at 0 and at an honest party's point,
// and the t+1 shares (theirs and that party's) then open the commitment on
// a polynomial the other honest shares are off (see
// TestOpenOutputCollusionNamesNoHonestMember). With p ≤ 2t (members
// missing) nobody is named: every share is on a polynomial through the
// output and max(1, p−t) ≤ t received shares, its own among them, that the
// at most t others are off.
func OpenOutput(committee int, parts []*OutputShare, public fr.Vector, commitment fr.Element) (fr.Vector, fr.Element, error) {
	params, err := ss.NewParams(committee)
	if err != nil {
		return nil, fr.Element{}, err
	}
	if len(parts) != committee {
		return nil, fr.Element{}, fmt.Errorf("jobs: %d output shares for a committee of %d", len(parts), committee)
	}
	var present []int
	for i, o := range parts {
		if o == nil {
			continue
		}
		if len(present) > 0 && len(o.Values) != len(parts[present[0]].Values) {
			return nil, fr.Element{}, fmt.Errorf("jobs: output share of party %d has %d values, others %d", i, len(o.Values), len(parts[present[0]].Values))
		}
		present = append(present, i)
	}
	t := params.T
	if len(present) < t+1 {
		return nil, fr.Element{}, fmt.Errorf("jobs: reconstruct output: %d shares, need %d", len(present), t+1)
	}
	// reconstruct interpolates the t+1 shares of members at 0: values ‖ salt.
	reconstruct := func(members []int) (fr.Vector, error) {
		vecs := make([]fr.Vector, committee)
		for _, j := range members {
			vecs[j] = append(append(fr.Vector(nil), parts[j].Values...), parts[j].Salt)
		}
		return ss.Reconstruct(params, vecs)
	}

	// 1. The first (t+1)-subset, in lexicographic order, that opens.
	var basis []int
	var secret fr.Vector
	var rerr error
	subsets(len(present), t+1, func(idx []int) bool {
		members := pickMembers(present, idx)
		v, err := reconstruct(members)
		if err != nil {
			rerr = err
			return false
		}
		values, salt := v[:len(v)-1], v[len(v)-1]
		if c := ss.NativeCommit(append(append(fr.Vector(nil), public...), values...), salt); c.Equal(&commitment) {
			basis, secret = members, v
			return false
		}
		return true
	})
	if rerr != nil {
		return nil, fr.Element{}, fmt.Errorf("jobs: reconstruct output: %w", rerr)
	}
	if basis == nil {
		return nil, fr.Element{}, ErrNotOpened
	}

	// 2. Every other received share against the basis's polynomial f. The
	// polynomial through t of the basis and party j's share equals f iff
	// it takes f's value at 0 (two polynomials of degree t that agree on
	// t+1 distinct points, 0 and t parties' points i+1, are equal), iff
	// j's share is f's at j's point: one reconstruction per share.
	onPoly := func(basis []int) ([]bool, int, error) {
		on := make([]bool, committee)
		count := 0
		for _, j := range present {
			if slices.Contains(basis, j) {
				on[j] = true
				count++
				continue
			}
			v, err := reconstruct(append(append([]int(nil), basis[:t]...), j))
			if err != nil {
				return nil, 0, err
			}
			if v.Equal(secret) {
				on[j] = true
				count++
			}
		}
		return on, count, nil
	}
	on, count, err := onPoly(basis)
	if err != nil {
		return nil, fr.Element{}, fmt.Errorf("jobs: reconstruct output: %w", err)
	}
	if count == len(present) {
		return secret[:len(secret)-1], secret[len(secret)-1], nil
	}

	// 3. Refused. Name the parties off every candidate polynomial.
	if len(present) <= 2*t {
		return nil, fr.Element{}, &InconsistentSharesError{}
	}
	// The candidates: polynomials through the output that at most t
	// received shares are off. A (t+1)-subset inside a polynomial's
	// support found already gives that polynomial again; any other that
	// reconstructs the output gives a new one (reconstructing the same
	// output is opening the commitment, which binds it).
	type poly struct {
		on    []bool
		count int
	}
	found := []poly{{on, count}}
	subsets(len(present), t+1, func(idx []int) bool {
		members := pickMembers(present, idx)
		for _, f := range found {
			if all(f.on, members) {
				return true
			}
		}
		v, e := reconstruct(members)
		if e != nil {
			err = e
			return false
		}
		if !v.Equal(secret) {
			return true
		}
		fon, fcount, e := onPoly(members)
		if e != nil {
			err = e
			return false
		}
		found = append(found, poly{fon, fcount})
		return true
	})
	if err != nil {
		return nil, fr.Element{}, fmt.Errorf("jobs: reconstruct output: %w", err)
	}
	nameable := make([]bool, committee)
	for _, j := range present {
		nameable[j] = true
	}
	candidates := 0
	for _, f := range found {
		if len(present)-f.count > t {
			continue // more than t deviants in that explanation
		}
		candidates++
		for _, j := range present {
			if f.on[j] {
				nameable[j] = false
			}
		}
	}
	ie := &InconsistentSharesError{}
	if candidates > 0 {
		// With none, more than t received shares are wrong in every
		// explanation: the bound is broken and nobody is named.
		for _, j := range present {
			if nameable[j] {
				ie.Parties = append(ie.Parties, j)
			}
		}
	}
	return nil, fr.Element{}, ie
}

func pickMembers(present, idx []int) []int {
	members := make([]int, len(idx))
	for i, k := range idx {
		members[i] = present[k]
	}
	return members
}

// all reports whether on[j] for every j in members.
func all(on []bool, members []int) bool {
	for _, j := range members {
		if !on[j] {
			return false
		}
	}
	return true
}

// subsets calls yield with every k-subset of {0..n-1} (as increasing
// indices, in lexicographic order) until yield returns false. yield must
// not keep idx.
func subsets(n, k int, yield func(idx []int) bool) {
	if k > n {
		return
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		if !yield(idx) {
			return
		}
		i := k - 1
		for i >= 0 && idx[i] == n-k+i {
			i--
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}
