package he

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"

	"github.com/cohortnet/cohort/mpc/transport"
)

func ids(xs ...int) []transport.PartyID {
	out := make([]transport.PartyID, len(xs))
	for i, x := range xs {
		out[i] = transport.PartyID(x)
	}
	return out
}

func TestKeySwitchFamily(t *testing.T) {
	for _, tc := range []struct {
		alive   []transport.PartyID
		thr     int
		want    int
		subsets int
	}{
		{ids(0, 1, 2), 3, 0, 1},
		{ids(0, 1, 2, 3), 3, 0, 4},      // k = t+1: t+1 subsets, each leaves one out
		{ids(0, 1, 2, 3, 4), 3, 0, 3},   // ⌈5/2⌉
		{ids(0, 2, 3, 5), 2, 0, 2},      // k = 2t: two disjoint halves
		{ids(0, 1, 2, 3, 4), 2, 0, 3},   // two windows leave member 4 out of both: a third subset holds it
		{ids(0, 1, 2, 3, 4), 2, 10, 10}, // every 2-subset of 5
		{ids(0, 1, 2, 3, 4), 2, 50, 10}, // no more than there are
		{ids(0, 1, 2, 3), 3, 6, 4},
	} {
		name := fmt.Sprintf("k%d-t%d-want%d", len(tc.alive), tc.thr, tc.want)
		f := KeySwitchFamily(tc.alive, tc.thr, tc.want)
		if len(f) != tc.subsets {
			t.Fatalf("%s: %d subsets %v, want %d", name, len(f), f, tc.subsets)
		}
		if !slices.Equal(f[0], tc.alive[:tc.thr]) {
			t.Fatalf("%s: first subset %v, want the first t online", name, f[0])
		}
		if err := checkFamily(f, tc.thr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(tc.alive) > tc.thr {
			for _, p := range tc.alive {
				out := 0
				for _, s := range f {
					if !slices.Contains(s, p) {
						out++
					}
				}
				if out == 0 {
					t.Fatalf("%s: member %d in every subset %v", name, p, f)
				}
			}
		}
	}
	if KeySwitchFamily(ids(0, 1), 3, 0) != nil {
		t.Fatal("a family with fewer than t online")
	}
	// A family that keeps a member in every subset is refused.
	if err := checkFamily([][]transport.PartyID{ids(0, 1, 2), ids(0, 1, 3)}, 3); err == nil {
		t.Fatal("checkFamily accepted members 0 and 1 in every subset")
	}
	for name, f := range map[string][][]transport.PartyID{
		"repeat":   {ids(0, 1), ids(0, 1)},
		"unsorted": {ids(1, 0), ids(2, 3)},
		"size":     {ids(0, 1, 2), ids(2, 3)},
	} {
		if err := checkFamily(f, 2); err == nil {
			t.Fatalf("%s: accepted %v", name, f)
		}
	}
}

// TestIdentify drives identify with simulated outcomes: every subset without
// a deviator decrypts to the right value (0); each subset with one decrypts
// to whatever the deviators chose.
func TestIdentify(t *testing.T) {
	outcome := func(family [][]transport.PartyID, value func(s []transport.PartyID) int) func(a, b int) bool {
		return func(a, b int) bool { return value(family[a]) == value(family[b]) }
	}
	all5of2 := KeySwitchFamily(ids(0, 1, 2, 3, 4), 2, 10)
	// Member 3 shifts every subset it is in alike: it is named.
	got := identify(all5of2, outcome(all5of2, func(s []transport.PartyID) int {
		if slices.Contains(s, 3) {
			return 1
		}
		return 0
	}), 1)
	if !slices.Equal(got, ids(3)) {
		t.Fatalf("named %v, want [3]", got)
	}
	// Member 3 deviates only in {3,4}: 4 explains it as well, nobody is named.
	got = identify(all5of2, outcome(all5of2, func(s []transport.PartyID) int {
		if slices.Equal(s, ids(3, 4)) {
			return 1
		}
		return 0
	}), 1)
	if got != nil {
		t.Fatalf("named %v on an ambiguous outcome", got)
	}
	// k = t+1: each member is left out of one subset only, so any single
	// member explains any outcome; nobody is ever named.
	cover := KeySwitchFamily(ids(0, 1, 2, 3), 3, 0)
	got = identify(cover, outcome(cover, func(s []transport.PartyID) int {
		if slices.Contains(s, 1) {
			return 1
		}
		return 0
	}), 2)
	if got != nil {
		t.Fatalf("named %v with k = t+1", got)
	}
	// Two deviators beyond the bound (maxBad 1) that frame member 0: no set
	// of one explains the outcome, so nobody is named.
	got = identify(all5of2, outcome(all5of2, func(s []transport.PartyID) int {
		switch {
		case slices.Contains(s, 3) && slices.Contains(s, 4):
			return 2
		case slices.Contains(s, 3), slices.Contains(s, 4):
			return 1
		}
		return 0
	}), 1)
	if got != nil {
		t.Fatalf("named %v beyond the deviator bound", got)
	}
}

// keySwitchJob runs an identity circuit over input on the online members,
// member dev (if ≥ 0) deviating with d, and returns member 0's... the first
// online member's result.
func keySwitchJob(t *testing.T, preset *Preset, members []*Member, online []int, scheme Scheme, input []byte, rcpt *Recipient, subsets, dev int, d Deviation) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ms := append([]*Member(nil), members...)
	if dev >= 0 {
		ms[dev] = Deviant(members[dev], d)
	}
	circuit := func(*Member) Circuit {
		return func(context.Context) ([]*rlwe.Ciphertext, error) {
			ct, _, err := preset.UnmarshalCiphertext(scheme, input)
			return []*rlwe.Ciphertext{ct}, err
		}
	}
	// A member offline costs the others one step's wait for its hello.
	step := 10 * time.Second
	if len(online) < len(members) {
		step = 3 * time.Second
	}
	cfg := RunConfig{Scheme: scheme, Recipient: rcpt.PublicKey(), StepTimeout: step, IdleTimeout: 30 * time.Second, Subsets: subsets}
	res, errs := runAll(ctx, ms, online, cfg, circuit, nil)
	for _, i := range online {
		if errs[i] != nil {
			for _, j := range online {
				t.Logf("member %d: %v", j, errs[j])
			}
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if res[i].OutputIDs[0] != res[online[0]].OutputIDs[0] || len(res[i].Checks) != len(res[online[0]].Checks) {
			t.Fatalf("member %d disagrees on the key switches", i)
		}
	}
	return res[online[0]]
}

func TestKeySwitchCheckCKKS(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 3, nil)
	values := make([]float64, preset.CKKS.MaxSlots())
	for i := range values {
		values[i] = math.Sin(float64(i))
	}
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), values, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	tol := preset.CKKSTolerance(3, preset.OutputScale())
	// 0.01 in every slot: plausible-looking, far above the tolerance.
	shift := Deviation{Shift: uint64(0.01 * preset.OutputScale().Float64())}

	t.Run("honest", func(t *testing.T) {
		res := keySwitchJob(t, preset, members, []int{0, 1, 2, 3}, CKKS, input, rcpt, 0, -1, Deviation{})
		if len(res.Checks) != 3 {
			t.Fatalf("%d check key switches with 4 of 4 online, want 3", len(res.Checks))
		}
		got, err := rcpt.DecryptFloatsChecked(res, 3, 4)
		if err != nil {
			t.Fatal(err)
		}
		// How close the honest key switches are, against the tolerance.
		var maxDiff float64
		for _, ks := range res.Checks {
			v, err := rcpt.DecryptFloats(ks.Outputs[0])
			if err != nil {
				t.Fatal(err)
			}
			for j := range v {
				maxDiff = math.Max(maxDiff, math.Abs(v[j]-got[0][j]))
			}
		}
		t.Logf("honest key switches differ by at most %.2e; tolerance %.2e", maxDiff, tol)
		if maxDiff == 0 || maxDiff > tol {
			t.Fatalf("max difference %.2e: the tolerance %.2e does not match the noise", maxDiff, tol)
		}
		for i := range values {
			if math.Abs(got[0][i]-values[i]) > 1e-4 {
				t.Fatalf("slot %d: %v, want %v", i, got[0][i], values[i])
			}
		}
	})
	for _, dev := range []int{0, 3} { // in the first subset or not
		t.Run(fmt.Sprintf("deviant%d", dev), func(t *testing.T) {
			res := keySwitchJob(t, preset, members, []int{0, 1, 2, 3}, CKKS, input, rcpt, 0, dev, shift)
			got, err := rcpt.DecryptFloatsChecked(res, 3, 4)
			var me *MismatchError
			if !errors.As(err, &me) || !errors.Is(err, ErrKeySwitchMismatch) || got != nil {
				t.Fatalf("want a key-switch mismatch and no values, got %v", err)
			}
			// k = t+1: not identifiable (each member is left out once).
			if len(me.Deviants) != 0 {
				t.Fatalf("named %v with k = t+1", me.Deviants)
			}
			t.Log(err)
		})
	}
	// Exactly t online: one subset, nothing to compare. A committee of
	// n > t members has its single-subset result rejected (review M1: one
	// deviant can force that case); only for n = t is the wrong share
	// NOT detected: the recipient accepts a result shifted by 0.01.
	t.Run("exactly-t", func(t *testing.T) {
		res := keySwitchJob(t, preset, members, []int{0, 1, 3}, CKKS, input, rcpt, 0, 1, shift)
		if len(res.Checks) != 0 {
			t.Fatalf("%d checks with exactly t online", len(res.Checks))
		}
		if _, err := rcpt.DecryptFloatsChecked(res, 3, 4); !errors.Is(err, ErrSingleSubset) {
			t.Fatalf("3 of 4 online: want ErrSingleSubset, got %v", err)
		}
		got, err := rcpt.DecryptFloats(res.Outputs[0]) // unchecked, as with n = t
		if err != nil {
			t.Fatal(err)
		}
		for i := range values {
			if d := got[i] - values[i]; math.Abs(d-0.01) > 1e-4 {
				t.Fatalf("slot %d moved by %v, want the deviant's 0.01", i, d)
			}
		}
	})
}

func TestKeySwitchCheckBGV(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 3, nil)
	values := make([]int64, preset.BGV.MaxSlots())
	for i := range values {
		values[i] = int64(i*i) - 5000
	}
	input, _, err := preset.EncryptInts(members[0].PublicKey(), values)
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	res := keySwitchJob(t, preset, members, []int{0, 1, 2, 3}, BGV, input, rcpt, 0, -1, Deviation{})
	got, err := rcpt.DecryptIntsChecked(res, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0], values) {
		t.Fatal("honest BGV result differs from the input")
	}
	// A shift the decryption noise absorbs changes nothing: the result is
	// exact and accepted.
	// (at the top level the BGV noise budget is far above 2^58).
	res = keySwitchJob(t, preset, members, []int{0, 1, 2, 3}, BGV, input, rcpt, 0, 2, Deviation{Shift: 1 << 58})
	if got, err := rcpt.DecryptIntsChecked(res, 3, 4); err != nil || !slices.Equal(got[0], values) {
		t.Fatalf("a shift of 2^58: %v", err)
	}
	for name, d := range map[string]Deviation{"random": {Random: true}, "one-subset": {Random: true, Subsets: []int{2}}} {
		res := keySwitchJob(t, preset, members, []int{0, 1, 2, 3}, BGV, input, rcpt, 0, 2, d)
		if _, err := rcpt.DecryptIntsChecked(res, 3, 4); !errors.Is(err, ErrKeySwitchMismatch) {
			t.Fatalf("%s: want a key-switch mismatch, got %v", name, err)
		}
	}
	// Exactly t online: rejected when n > t; with n = t not detected, the
	// recipient gets garbage.
	res = keySwitchJob(t, preset, members, []int{0, 1, 2}, BGV, input, rcpt, 0, 2, Deviation{Random: true})
	if _, err := rcpt.DecryptIntsChecked(res, 3, 4); !errors.Is(err, ErrSingleSubset) {
		t.Fatalf("3 of 4 online: want ErrSingleSubset, got %v", err)
	}
	unchecked, err := rcpt.DecryptInts(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(unchecked, values) {
		t.Fatal("the random share did not change the result")
	}
}

// TestKeySwitchIdentifiesDeviant: with t = 2 (so at most one corrupt member
// in the threshold model) and every 2-subset of the 5 online members key-
// switching, a member that shifts every subset it is in is the only
// explanation and is named.
func TestKeySwitchIdentifiesDeviant(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 5, 2, nil)
	values := []float64{0.5, -0.25, 0.125}
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), values, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	shift := Deviation{Shift: uint64(0.01 * preset.OutputScale().Float64())}
	res := keySwitchJob(t, preset, members, []int{0, 1, 2, 3, 4}, CKKS, input, rcpt, 10, 3, shift)
	if n := len(res.KeySwitches()); n != 10 {
		t.Fatalf("%d key switches, want 10", n)
	}
	_, err = rcpt.DecryptFloatsChecked(res, 2, 5)
	var me *MismatchError
	if !errors.As(err, &me) || !slices.Equal(me.Deviants, ids(3)) {
		t.Fatalf("want member 3 named, got %v", err)
	}
	// The default family (two disjoint pairs and one more) cannot tell.
	res = keySwitchJob(t, preset, members, []int{0, 1, 2, 3, 4}, CKKS, input, rcpt, 0, 3, shift)
	if _, err = rcpt.DecryptFloatsChecked(res, 2, 5); !errors.As(err, &me) || len(me.Deviants) != 0 {
		t.Fatalf("want an unidentified mismatch, got %v", err)
	}
}

// TestKeySwitchFamilyBounded: the default family of k online members has
// at most k subsets (node/jobrun's recipient bounds candidates by the
// committee size and would name an honest member's larger one malformed),
// and puts every online member in some subset.
func TestKeySwitchFamilyBounded(t *testing.T) {
	for k := 1; k <= 16; k++ {
		alive := make([]transport.PartyID, k)
		for i := range alive {
			alive[i] = transport.PartyID(i)
		}
		for thr := 1; thr <= k; thr++ {
			f := KeySwitchFamily(alive, thr, 0)
			if len(f) > k {
				t.Fatalf("k=%d t=%d: %d subsets", k, thr, len(f))
			}
			if !slices.EqualFunc(alive, alive, func(p, _ transport.PartyID) bool { return inFamily(f, p) }) {
				t.Fatalf("k=%d t=%d: a member in no subset: %v", k, thr, f)
			}
			if err := checkFamily(f, thr); err != nil {
				t.Fatalf("k=%d t=%d: %v", k, thr, err)
			}
		}
	}
}
