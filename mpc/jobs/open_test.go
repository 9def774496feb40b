package jobs

import (
	"errors"
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/ss"
)

func TestSubsets(t *testing.T) {
	var got [][]int
	subsets(4, 2, func(s []int) bool { got = append(got, slices.Clone(s)); return true })
	want := [][]int{{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("subsets(4, 2) = %v", got)
	}
	calls := 0
	subsets(5, 3, func([]int) bool { calls++; return calls < 2 })
	if calls != 2 {
		t.Fatalf("subsets kept going after yield returned false: %d calls", calls)
	}
	subsets(2, 3, func([]int) bool { t.Fatal("no 3-subsets of 2"); return false })
}

// sharedOutput shares (values, salt) among n parties and returns the shares
// and the commitment Commit(public ‖ values, salt).
func sharedOutput(t testing.TB, n int, public, vals fr.Vector, salt fr.Element, seed uint64) ([]*OutputShare, fr.Element) {
	t.Helper()
	prm, err := ss.NewParams(n)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := ss.Share(prm, append(append(fr.Vector(nil), vals...), salt), newSeeded(seed))
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]*OutputShare, n)
	for i := range parts {
		parts[i] = &OutputShare{Values: append(fr.Vector(nil), sh[i][:len(vals)]...), Salt: sh[i][len(vals)]}
	}
	return parts, ss.NativeCommit(append(append(fr.Vector(nil), public...), vals...), salt)
}

func clone(parts []*OutputShare) []*OutputShare {
	out := make([]*OutputShare, len(parts))
	for i, p := range parts {
		if p != nil {
			out[i] = &OutputShare{Values: append(fr.Vector(nil), p.Values...), Salt: p.Salt}
		}
	}
	return out
}

// wantNamed checks that err refuses the output naming exactly parties.
func wantNamed(t *testing.T, what string, err error, parties ...int) {
	t.Helper()
	var ie *InconsistentSharesError
	if !errors.As(err, &ie) {
		t.Fatalf("%s: want inconsistent shares naming %v, got %v", what, parties, err)
	}
	if !slices.Equal(ie.Parties, parties) {
		t.Fatalf("%s: named %v, want %v (%v)", what, ie.Parties, parties, err)
	}
}

// TestOpenOutputNamesWrongShares: for every committee size, the honest
// shares open the output (all of them, or any t+1); a wrong but well-formed
// share from any one party — first in order, inside or outside the t+1 that
// open — refuses the output and names exactly that party; so do t parties
// that shift their shares alike; a wrong commitment never opens.
func TestOpenOutputNamesWrongShares(t *testing.T) {
	vals := fr.Vector{fr.NewElement(17), fr.NewElement(4242)}
	salt := fr.NewElement(99)
	one := fr.One()
	for n := ss.MinParties; n <= ss.MaxParties; n++ {
		prm, _ := ss.NewParams(n)
		parts, c := sharedOutput(t, n, nil, vals, salt, uint64(n))
		got, gotSalt, err := ReconstructOutput(n, parts, c)
		if err != nil || !got.Equal(vals) || !gotSalt.Equal(&salt) {
			t.Fatalf("n=%d: honest shares: %v", n, err)
		}
		last := clone(parts)
		for i := 0; i < n-(prm.T+1); i++ {
			last[i] = nil
		}
		if got, _, err := ReconstructOutput(n, last, c); err != nil || !got.Equal(vals) {
			t.Fatalf("n=%d: last t+1 shares: %v", n, err)
		}
		if _, _, err := ReconstructOutput(n, parts, fr.NewElement(5)); !errors.Is(err, ErrNotOpened) {
			t.Fatalf("n=%d: wrong commitment: %v", n, err)
		}
		for bad := 0; bad < n; bad++ {
			for _, salted := range []bool{false, true} {
				p := clone(parts)
				if salted {
					p[bad].Salt.Add(&p[bad].Salt, &one)
				} else {
					p[bad].Values[1].Add(&p[bad].Values[1], &one)
				}
				_, _, err := ReconstructOutput(n, p, c)
				wantNamed(t, "one wrong share", err, bad)
			}
		}
		p := clone(parts)
		var liars []int
		for i := n - prm.T; i < n; i++ {
			p[i].Values[0].Add(&p[i].Values[0], &one)
			liars = append(liars, i)
		}
		_, _, err = ReconstructOutput(n, p, c)
		wantNamed(t, "t shifted shares", err, liars...)
	}
}

// TestOpenOutputCollusionNamesNoHonestMember: with n = 5 (t = 2), members 0
// and 1 shift their shares by δ(x) = x(x−3), which vanishes at 0 and at
// member 2's point 3: the first t+1 shares in order (0, 1, 2) then open the
// commitment on a polynomial that the honest members 3 and 4 are off.
// Checking against that polynomial alone would name 3 and 4; both
// explanations have at most t deviants, so nobody is named, and the output
// is refused.
func TestOpenOutputCollusionNamesNoHonestMember(t *testing.T) {
	const n = 5
	vals := fr.Vector{fr.NewElement(3), fr.NewElement(700)}
	salt := fr.NewElement(12345)
	parts, c := sharedOutput(t, n, nil, vals, salt, 77)
	for _, i := range []int{0, 1} {
		x := fr.NewElement(uint64(i + 1))
		var d, three fr.Element
		three.SetUint64(3)
		d.Sub(&x, &three)
		d.Mul(&d, &x)
		parts[i].Values[0].Add(&parts[i].Values[0], &d)
	}
	// The colluders' subset does open the commitment.
	first := []*OutputShare{parts[0], parts[1], parts[2], nil, nil}
	if got, _, err := ReconstructOutput(n, first, c); err != nil || !got.Equal(vals) {
		t.Fatalf("the colluders' subset does not open: %v", err)
	}
	_, _, err := ReconstructOutput(n, parts, c)
	wantNamed(t, "collusion", err)

	// One colluder alone is named: it is off both candidates' support.
	honest, _ := sharedOutput(t, n, nil, vals, salt, 77)
	p := clone(honest)
	one := fr.One()
	p[1].Salt.Add(&p[1].Salt, &one)
	_, _, err = ReconstructOutput(n, p, c)
	wantNamed(t, "one deviant of five", err, 1)
}

// TestOpenOutputCannotTell: with members missing, the shares alone cannot
// say whose is wrong — refused, nobody named: with 2t received (n = 5, t =
// 2, one missing) every share is on a polynomial through the output that at
// most t others are off; with t+1 received and one wrong, nothing opens.
func TestOpenOutputCannotTell(t *testing.T) {
	const n = 5
	vals := fr.Vector{fr.NewElement(8)}
	salt := fr.NewElement(1)
	parts, c := sharedOutput(t, n, nil, vals, salt, 5)
	one := fr.One()
	p := clone(parts)
	p[4] = nil
	p[0].Salt.Add(&p[0].Salt, &one)
	_, _, err := ReconstructOutput(n, p, c)
	wantNamed(t, "2t received", err)
	p[3] = nil
	if _, _, err := ReconstructOutput(n, p, c); !errors.Is(err, ErrNotOpened) {
		t.Fatalf("t+1 received, one wrong: %v", err)
	}
	p[2] = nil
	if _, _, err := ReconstructOutput(n, p, c); err == nil || errors.Is(err, ErrNotOpened) {
		t.Fatalf("t received: want too few shares, got %v", err)
	}
}

// TestOpenOutputPublicValues: a commitment to public values and a shared
// salt (a clearing level) opens from salt shares alone, by the same rule.
func TestOpenOutputPublicValues(t *testing.T) {
	const n = 4
	level := fr.Vector{fr.NewElement(2)}
	salt := fr.NewElement(31337)
	parts, c := sharedOutput(t, n, level, nil, salt, 9)
	if _, got, err := OpenOutput(n, parts, level, c); err != nil || !got.Equal(&salt) {
		t.Fatalf("level salt: %v", err)
	}
	if _, _, err := OpenOutput(n, parts, fr.Vector{fr.NewElement(3)}, c); !errors.Is(err, ErrNotOpened) {
		t.Fatalf("another level opened the commitment: %v", err)
	}
	one := fr.One()
	for _, bad := range []int{0, n - 1} {
		p := clone(parts)
		p[bad].Salt.Add(&p[bad].Salt, &one)
		_, _, err := OpenOutput(n, p, level, c)
		wantNamed(t, "level salt", err, bad)
	}
}

// BenchmarkOpenOutput: the recipient's cost of opening a largest tender
// award (2·MaxTenderQuotes values) from a committee of 9 (t = 4): every
// share right; one wrong share first in order (every (t+1)-subset with it
// is tried before one opens, then the candidates are searched).
func BenchmarkOpenOutput(b *testing.B) {
	const n = ss.MaxParties
	vals := make(fr.Vector, 2*MaxTenderQuotes)
	for i := range vals {
		vals[i].SetUint64(uint64(i))
	}
	parts, c := sharedOutput(b, n, nil, vals, fr.NewElement(7), 1)
	wrong := clone(parts)
	one := fr.One()
	wrong[0].Salt.Add(&wrong[0].Salt, &one)
	for _, bc := range []struct {
		name  string
		parts []*OutputShare
	}{{"honest", parts}, {"wrong-first", wrong}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, _, err := ReconstructOutput(n, bc.parts, c)
				if bc.name == "honest" && err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestOpenOutputNamesOnlyDeviants: randomized (fixed seed) over committee
// sizes, deviant sets of at most t, missing members and shifts — random, or
// crafted to vanish at 0 and at some honest parties' points so that the
// deviants' shares open the commitment with them — the rule never accepts
// a share off the polynomial or another output, never names a party that
// did not deviate, and names the deviant when it is alone and at least
// 2t+1 shares arrived.
func TestOpenOutputNamesOnlyDeviants(t *testing.T) {
	rng := newSeeded(2026)
	rnd := func(k int) int {
		var b [1]byte
		_, _ = rng.Read(b[:])
		return int(b[0]) % k
	}
	vals := fr.Vector{fr.NewElement(5), fr.NewElement(6), fr.NewElement(7)}
	salt := fr.NewElement(8)
	var accepted, named, unnamed, notOpened int
	for trial := 0; trial < 400; trial++ {
		n := ss.MinParties + rnd(ss.MaxParties-ss.MinParties+1)
		prm, _ := ss.NewParams(n)
		tt := prm.T
		parts, c := sharedOutput(t, n, nil, vals, salt, uint64(trial))
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		for i := n - 1; i > 0; i-- {
			j := rnd(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
		deviants := perm[:1+rnd(tt)]
		honest := perm[len(deviants):]
		// The shift: c·∏(x − r) over r ∈ {0} ∪ some honest points, of
		// degree at most t, on one component (values or salt).
		roots := []fr.Element{{}}
		if len(deviants) > 1 && rnd(2) == 0 {
			for _, h := range honest[:rnd(min(tt, len(honest)))] {
				roots = append(roots, fr.NewElement(uint64(h+1)))
			}
		}
		var coef fr.Element
		coef.SetUint64(uint64(1 + rnd(200)))
		comp := rnd(len(vals) + 1)
		for _, d := range deviants {
			x := fr.NewElement(uint64(d + 1))
			shift := coef
			for _, r := range roots {
				var f fr.Element
				f.Sub(&x, &r)
				shift.Mul(&shift, &f)
			}
			if rnd(4) == 0 {
				shift.SetUint64(uint64(1 + rnd(1000))) // unstructured
			}
			if comp == len(vals) {
				parts[d].Salt.Add(&parts[d].Salt, &shift)
			} else {
				parts[d].Values[comp].Add(&parts[d].Values[comp], &shift)
			}
		}
		// Missing members: any, keeping t+1 shares.
		for _, j := range perm {
			if rnd(5) == 0 && countPresent(parts) > tt+1 {
				parts[j] = nil
			}
		}
		sent := 0 // deviants whose share arrived
		for _, d := range deviants {
			if parts[d] != nil {
				sent++
			}
		}
		got, gotSalt, err := ReconstructOutput(n, parts, c)
		if err == nil {
			if sent > 0 || !got.Equal(vals) || !gotSalt.Equal(&salt) {
				t.Fatalf("trial %d (n=%d): accepted with %d wrong shares", trial, n, sent)
			}
			accepted++
			continue
		}
		if sent == 0 {
			t.Fatalf("trial %d (n=%d): right shares refused: %v", trial, n, err)
		}
		var ie *InconsistentSharesError
		if errors.As(err, &ie) {
			for _, p := range ie.Parties {
				if !slices.Contains(deviants, p) {
					t.Fatalf("trial %d (n=%d): named %d, deviants %v", trial, n, p, deviants)
				}
			}
			if sent == 1 && countPresent(parts) >= 2*tt+1 && len(ie.Parties) != 1 {
				t.Fatalf("trial %d (n=%d): a lone deviant of %v not named (%v)", trial, n, deviants, err)
			}
			if len(ie.Parties) > 0 {
				named++
			} else {
				unnamed++
			}
		} else if errors.Is(err, ErrNotOpened) {
			notOpened++
		} else {
			t.Fatalf("trial %d (n=%d): %v", trial, n, err)
		}
	}
	// Every outcome occurs with this seed, so that none goes untested.
	if accepted == 0 || named == 0 || unnamed == 0 || notOpened == 0 {
		t.Fatalf("outcomes: %d accepted, %d named, %d refused unnamed, %d not opened", accepted, named, unnamed, notOpened)
	}
	t.Logf("outcomes: %d accepted, %d named, %d refused unnamed, %d not opened", accepted, named, unnamed, notOpened)
}

func countPresent(parts []*OutputShare) int {
	k := 0
	for _, p := range parts {
		if p != nil {
			k++
		}
	}
	return k
}
