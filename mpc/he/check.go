package he

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/he/heint"

	"github.com/cohortnet/cohort/mpc/transport"
)

// maxSubsets bounds the t-subsets that key-switch one result (a covering
// family of k online members has at most k).
const maxSubsets = 256

// KeySwitchFamily returns the t-subsets of the online members alive (sorted)
// that key-switch a result. With exactly t online there is one subset and a
// wrong key-switching share cannot be detected. With k > t online it is the
// fewest subsets that leave every online member out of at least one,
// ⌈k/(k−t)⌉ (at least two): subset j leaves out the j-th window of k−t
// members counted from the end, so the first subset is alive[:t]. When
// t < k/2 the two windows overlap and leave k−2t members in no subset;
// further subsets then put each of them in one, so that every online
// member aggregates a key switch of its own (and none merely adopts a
// peer's announcement). A member
// that sends wrong shares is then missing from at least one subset, whose
// key switch is correct, and cannot make every subset agree on its wrong
// result. If want asks for more subsets (identification, see Recipient),
// further t-subsets follow in lexicographic order, up to maxSubsets.
func KeySwitchFamily(alive []transport.PartyID, t, want int) [][]transport.PartyID {
	k := len(alive)
	if t < 1 || k < t {
		return nil
	}
	if k == t {
		return [][]transport.PartyID{append([]transport.PartyID(nil), alive...)}
	}
	d := k - t
	m := (k + d - 1) / d
	if want > maxSubsets {
		want = maxSubsets
	}
	var family [][]transport.PartyID
	seen := map[string]bool{}
	add := func(out []bool) {
		var s []transport.PartyID
		for i, p := range alive {
			if !out[i] {
				s = append(s, p)
			}
		}
		key := fmt.Sprint(s)
		if !seen[key] {
			seen[key] = true
			family = append(family, s)
		}
	}
	in := make([]bool, k) // member i is in some subset
	for j := 0; j < m; j++ {
		out := make([]bool, k)
		start := ((k-d*(j+1))%k + k) % k
		for i := 0; i < d; i++ {
			out[(start+i)%k] = true
		}
		for i := range out {
			in[i] = in[i] || !out[i]
		}
		add(out)
	}
	// With two windows and t < k/2, the k−2t members in both are in no
	// subset: they would check nothing and only adopt the result. Give each
	// a subset: it and the first t−1 others not yet placed, then the first
	// members.
	for i := 0; i < k; i++ {
		if in[i] {
			continue
		}
		out := make([]bool, k)
		for j := range out {
			out[j] = true
		}
		left := t
		for j := 0; j < k && left > 0; j++ { // i and the next uncovered
			if jj := (i + j) % k; !in[jj] {
				out[jj], in[jj] = false, true
				left--
			}
		}
		for j := 0; j < k && left > 0; j++ {
			if out[j] {
				out[j] = false
				left--
			}
		}
		add(out)
	}
	if want > len(family) {
		idx := make([]int, t)
		for i := range idx {
			idx[i] = i
		}
		for len(family) < want {
			out := make([]bool, k)
			for i := range out {
				out[i] = true
			}
			for _, x := range idx {
				out[x] = false
			}
			add(out)
			// Next t-subset of positions in lexicographic order.
			i := t - 1
			for i >= 0 && idx[i] == k-t+i {
				i--
			}
			if i < 0 {
				break
			}
			idx[i]++
			for j := i + 1; j < t; j++ {
				idx[j] = idx[j-1] + 1
			}
		}
	}
	return family
}

func inFamily(family [][]transport.PartyID, p transport.PartyID) bool {
	for _, s := range family {
		if contains(s, p) {
			return true
		}
	}
	return false
}

// familyDigest binds a member's key-switching shares to the family it made
// them for: members that saw different sets of online members notice it
// instead of adding shares made for different subsets.
func familyDigest(family [][]transport.PartyID) [32]byte {
	h := sha256.New()
	h.Write([]byte("cohort/he/keyswitch-family/v1\x00"))
	put := func(v int) { h.Write(binary.BigEndian.AppendUint32(nil, uint32(v))) }
	put(len(family))
	for _, s := range family {
		put(len(s))
		for _, p := range s {
			put(int(p))
		}
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// checkFamily checks a family of key-switching subsets received from
// others: distinct t-subsets, members strictly increasing, and, when their
// union has more than t members, every member of the union left out of at
// least one subset (the property detection rests on).
func checkFamily(family [][]transport.PartyID, t int) error {
	if len(family) == 0 || len(family) > maxSubsets {
		return fmt.Errorf("he: %d key-switching subsets", len(family))
	}
	seen := map[string]bool{}
	union := map[transport.PartyID]int{} // member → subsets it is in
	for _, s := range family {
		if len(s) != t {
			return fmt.Errorf("he: key-switching subset of %d members, threshold %d", len(s), t)
		}
		for i, p := range s {
			if i > 0 && p <= s[i-1] {
				return errors.New("he: key-switching subset not strictly increasing")
			}
			union[p]++
		}
		key := fmt.Sprint(s)
		if seen[key] {
			return errors.New("he: key-switching subset repeated")
		}
		seen[key] = true
	}
	if len(union) == t {
		return nil // one subset (a repeat would have been caught)
	}
	for p, in := range union {
		if in == len(family) {
			return fmt.Errorf("he: member %d is in every key-switching subset; its shares could not be checked", p)
		}
	}
	return nil
}

// falseAlarmBits: two honest CKKS key switches of the same ciphertext differ
// by more than CKKSTolerance in a given slot with probability below
// 2^-falseAlarmBits (union bound over the slots).
const falseAlarmBits = 64

// CKKSTolerance is the largest difference, per slot, between two honest
// key switches of one CKKS ciphertext at the given scale, each by t members.
//
// Both subsets reconstruct the same secret s exactly (the Lagrange
// coefficients of any t-subset recombine the Shamir shares into s), so
// c0 + s·c1 (message and the ciphertext's own noise) is identical in both;
// they differ only by the fresh noise of the 2t shares: smudging (discrete
// Gaussian σ = Preset.Smudging, truncated at 6σ, sub-Gaussian with parameter
// σ) plus the fresh public-key encryption noise (σ_pk = NoiseFreshPK, about
// 2^-17 of the smudging; treated as Gaussian). Per coefficient the
// difference is sub-Gaussian with v = 2t(σ² + σ_pk²); the real part of a
// slot, Σ_j D_j·cos θ_j / Δ with Σ cos² θ_j = N/2, is sub-Gaussian with
// vN/2, so P(|x| > τ) ≤ 2·exp(−τ²Δ²/(vN)). A union bound over the N/2 slots
// gives τ = sqrt(v·N·(ln N + 64·ln 2)) / Δ. For the secure preset (N = 2^14,
// σ = 2^30, Δ = 2^57) and t = 3 this is ≈ 1.7e-5; for the test preset
// (N = 2^12) ≈ 8.5e-6. A deviating member's shift smaller than τ is not
// detected, and moves the result by at most τ per slot.
func (p *Preset) CKKSTolerance(t int, scale rlwe.Scale) float64 {
	N := float64(p.CKKS.N())
	sigma := p.Smudging.Sigma
	fresh := p.RLWE().NoiseFreshPK()
	v := 2 * float64(t) * (sigma*sigma + fresh*fresh)
	return math.Sqrt(v*N*(math.Log(N)+falseAlarmBits*math.Ln2)) / scale.Float64()
}

// ErrKeySwitchMismatch is returned by the checked decryptions when the key
// switches of a result by different t-subsets decrypt to different values:
// at least one member sent a wrong key-switching share. No result is
// returned.
var ErrKeySwitchMismatch = errors.New("he: key switches by different subsets disagree")

// MismatchError details an ErrKeySwitchMismatch.
type MismatchError struct {
	// Subsets are the key-switching subsets, as in Result.KeySwitches.
	Subsets [][]transport.PartyID
	// Disagree lists the pairs of subset indices whose decryptions differ.
	Disagree [][2]int
	// Deviants are members that deviated in every explanation of the
	// observations by fewer than t deviating members (sorted; empty when
	// that does not single anyone out).
	Deviants []transport.PartyID
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: ", ErrKeySwitchMismatch)
	for i, d := range e.Disagree {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more", len(e.Disagree)-3)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%v vs %v", e.Subsets[d[0]], e.Subsets[d[1]])
	}
	if len(e.Deviants) > 0 {
		fmt.Fprintf(&b, "; deviating member(s) %v", e.Deviants)
	} else {
		b.WriteString("; deviating member not identified")
	}
	return b.String()
}

func (e *MismatchError) Unwrap() error { return ErrKeySwitchMismatch }

// maxExplanations bounds the candidate deviator sets identify enumerates.
const maxExplanations = 1 << 16

// identify returns the members that belong to every set C of at most
// maxBad members explaining the observations, where C explains them if the
// subsets disjoint from C (all honest, were C the deviators) pairwise agree.
// The true set of deviators always explains them, so if it has at most
// maxBad members, everyone returned deviated: naming is sound under the
// threshold model (fewer than t corrupt members, maxBad = t−1) whatever the
// deviators do — they may shift each subset they are in differently, or not
// at all. Returns nil when the candidates are too many to enumerate.
func identify(family [][]transport.PartyID, agree func(a, b int) bool, maxBad int) []transport.PartyID {
	set := map[transport.PartyID]bool{}
	for _, s := range family {
		for _, p := range s {
			set[p] = true
		}
	}
	var union []transport.PartyID
	for p := range set {
		union = append(union, p)
	}
	sort.Slice(union, func(i, j int) bool { return union[i] < union[j] })
	if maxBad > len(union) {
		maxBad = len(union)
	}
	total, c := 1, 1
	for i := 1; i <= maxBad; i++ {
		c = c * (len(union) - i + 1) / i
		if total += c; total > maxExplanations {
			return nil
		}
	}
	explains := func(bad []transport.PartyID) bool {
		var honest []int
		for s, sub := range family {
			clean := true
			for _, p := range bad {
				if contains(sub, p) {
					clean = false
					break
				}
			}
			if clean {
				honest = append(honest, s)
			}
		}
		for i := range honest {
			for j := i + 1; j < len(honest); j++ {
				if !agree(honest[i], honest[j]) {
					return false
				}
			}
		}
		return true
	}
	var common map[transport.PartyID]bool
	for size := 0; size <= maxBad; size++ {
		idx := make([]int, size)
		for i := range idx {
			idx[i] = i
		}
		for {
			bad := make([]transport.PartyID, size)
			for i, x := range idx {
				bad[i] = union[x]
			}
			if explains(bad) {
				if size == 0 {
					return nil // everything agrees: nobody to name
				}
				if common == nil {
					common = map[transport.PartyID]bool{}
					for _, p := range bad {
						common[p] = true
					}
				} else {
					for p := range common {
						if !contains(bad, p) {
							delete(common, p)
						}
					}
				}
			}
			i := size - 1
			for i >= 0 && idx[i] == len(union)-size+i {
				i--
			}
			if i < 0 {
				break
			}
			idx[i]++
			for j := i + 1; j < size; j++ {
				idx[j] = idx[j-1] + 1
			}
		}
	}
	var out []transport.PartyID
	for _, p := range union {
		if common[p] {
			out = append(out, p)
		}
	}
	return out
}

// compare checks every pair of key switches and returns a *MismatchError if
// any disagree.
func compare(switches []KeySwitched, agree func(a, b int) bool) error {
	var disagree [][2]int
	ok := make([][]bool, len(switches))
	for a := range switches {
		ok[a] = make([]bool, len(switches))
	}
	for a := range switches {
		ok[a][a] = true
		for b := a + 1; b < len(switches); b++ {
			ok[a][b] = agree(a, b)
			ok[b][a] = ok[a][b]
			if !ok[a][b] {
				disagree = append(disagree, [2]int{a, b})
			}
		}
	}
	if len(disagree) == 0 {
		return nil
	}
	family := make([][]transport.PartyID, len(switches))
	for i, ks := range switches {
		family[i] = ks.Subset
	}
	t := len(family[0])
	return &MismatchError{Subsets: family, Disagree: disagree, Deviants: identify(family, func(a, b int) bool { return ok[a][b] }, t-1)}
}

// ErrSingleSubset is returned by the checked decryptions when a result of
// a committee of more than t members was key-switched by one t-subset only:
// nothing can be compared, so a wrong key-switching share would go
// undetected, and one deviant can force that case (by withholding its hello
// from some members). Such a result is rejected; the job can be retried.
var ErrSingleSubset = errors.New("he: result key-switched by a single subset of a larger committee; a wrong share could not be detected")

// checkStructure validates a result's key switches for a committee of n
// members with threshold t (both as the recipient knows them, never taken
// from the result).
func checkStructure(res *Result, t, n int) ([]KeySwitched, error) {
	if t < 1 || n < t {
		return nil, fmt.Errorf("he: threshold %d of %d members", t, n)
	}
	switches := res.KeySwitches()
	family := make([][]transport.PartyID, len(switches))
	for i, ks := range switches {
		if len(ks.Outputs) == 0 || len(ks.Outputs) != len(switches[0].Outputs) {
			return nil, fmt.Errorf("he: key switch %d has %d outputs, the first %d", i, len(ks.Outputs), len(switches[0].Outputs))
		}
		for _, p := range ks.Subset {
			if int(p) >= n {
				return nil, fmt.Errorf("he: key switch %d names member %d of a committee of %d", i, p, n)
			}
		}
		family[i] = ks.Subset
	}
	if err := checkFamily(family, t); err != nil {
		return nil, err
	}
	if n > t && len(switches) < 2 {
		return nil, fmt.Errorf("%w (threshold %d of %d)", ErrSingleSubset, t, n)
	}
	return switches, nil
}

// sameMeta checks that every key switch's output i has the metadata (scale,
// level, encoding) of the first key switch's, so that they are compared as
// like with like (the CKKS tolerance is computed from the first's scale).
func sameMeta(s, i int, first, ct *rlwe.Ciphertext) error {
	if ct.Level() != first.Level() || !ct.Scale.Equal(first.Scale) || ct.IsNTT != first.IsNTT || ct.IsBatched != first.IsBatched || ct.LogDimensions != first.LogDimensions {
		return fmt.Errorf("he: key switch %d output %d: metadata differs from the first key switch's", s, i)
	}
	return nil
}

// DecryptFloatsChecked decrypts every key switch of a CKKS result made by a
// committee of n members with threshold t (the recipient's own knowledge of
// the committee, not the result's claim) and compares them slot by slot: if
// any two differ by more than CKKSTolerance it returns a *MismatchError
// (ErrKeySwitchMismatch) and no values. Otherwise it returns the first key
// switch's slot values, one slice per output. A result key-switched by one
// subset has nothing to compare: it is rejected (ErrSingleSubset) unless
// n = t, where a wrong share goes undetected.
func (r *Recipient) DecryptFloatsChecked(res *Result, t, n int) ([][]float64, error) {
	switches, err := checkStructure(res, t, n)
	if err != nil {
		return nil, err
	}
	params := r.preset.CKKS
	dec := rlwe.NewDecryptor(params, r.sk)
	enc := hefloat.NewEncoder(params)
	vals := make([][][]float64, len(switches))
	var tol []float64
	var firsts []*rlwe.Ciphertext
	for s, ks := range switches {
		for i, o := range ks.Outputs {
			ct, _, err := r.preset.UnmarshalCiphertext(CKKS, o)
			if err != nil {
				return nil, fmt.Errorf("he: key switch %d output %d: %w", s, i, err)
			}
			if s == 0 {
				firsts = append(firsts, ct)
				tol = append(tol, r.preset.CKKSTolerance(t, ct.Scale))
			} else if err := sameMeta(s, i, firsts[i], ct); err != nil {
				return nil, err
			}
			v := make([]float64, params.MaxSlots())
			if err := enc.Decode(dec.DecryptNew(ct), v); err != nil {
				return nil, fmt.Errorf("he: decode CKKS output: %w", err)
			}
			vals[s] = append(vals[s], v)
		}
	}
	agree := func(a, b int) bool {
		for i := range vals[a] {
			for j, x := range vals[a][i] {
				// NaN compares false and counts as a disagreement.
				if !(math.Abs(x-vals[b][i][j]) <= tol[i]) {
					return false
				}
			}
		}
		return true
	}
	if err := compare(switches, agree); err != nil {
		return nil, err
	}
	return vals[0], nil
}

// DecryptIntsChecked is DecryptFloatsChecked for BGV: decryption is exact,
// so key switches must decode to identical slot values.
func (r *Recipient) DecryptIntsChecked(res *Result, t, n int) ([][]int64, error) {
	switches, err := checkStructure(res, t, n)
	if err != nil {
		return nil, err
	}
	params := r.preset.BGV
	dec := rlwe.NewDecryptor(params, r.sk)
	enc := heint.NewEncoder(params)
	vals := make([][][]int64, len(switches))
	var firsts []*rlwe.Ciphertext
	for s, ks := range switches {
		for i, o := range ks.Outputs {
			ct, _, err := r.preset.UnmarshalCiphertext(BGV, o)
			if err != nil {
				return nil, fmt.Errorf("he: key switch %d output %d: %w", s, i, err)
			}
			if s == 0 {
				firsts = append(firsts, ct)
			} else if err := sameMeta(s, i, firsts[i], ct); err != nil {
				return nil, err
			}
			v := make([]int64, params.MaxSlots())
			if err := enc.Decode(dec.DecryptNew(ct), v); err != nil {
				return nil, fmt.Errorf("he: decode BGV output: %w", err)
			}
			vals[s] = append(vals[s], v)
		}
	}
	agree := func(a, b int) bool {
		for i := range vals[a] {
			for j, x := range vals[a][i] {
				if x != vals[b][i][j] {
					return false
				}
			}
		}
		return true
	}
	if err := compare(switches, agree); err != nil {
		return nil, err
	}
	return vals[0], nil
}
