package he

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/heint"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

// runWithForger runs member.Run (through run) on every member but forger,
// whose connection is handed to forge instead: it sends what it likes.
func runWithForger(ctx context.Context, n int, forger int, run func(i int, conn transport.Conn) error, forge func(conn transport.Conn)) []error {
	_, errs := mpctest.RunContext(ctx, n, func(_ context.Context, conn transport.Conn) (struct{}, error) {
		if i := int(conn.Self()); i != forger {
			return struct{}{}, run(i, conn)
		}
		forge(conn)
		return struct{}{}, nil
	})
	return errs
}

// sendForgedDone sends every other member, in the first attempt's hello
// round, a "job done" announcement of res (what the forger chose).
func sendForgedDone(ctx context.Context, conn transport.Conn, res *Result) {
	msg := encodeDone(res)
	for p := 0; p < conn.Parties(); p++ {
		if transport.PartyID(p) != conn.Self() {
			_ = conn.Send(ctx, transport.PartyID(p), jobRound(0, stepHello), msg)
		}
	}
}

// TestRunRejectsForgedDone (review C1): member 3 announces in the first
// attempt's hello round that the job is done, with a well-formed covering
// family whose "key switches" are its own encryptions, under the
// recipient's key, of a value it picked, and the right evaluation IDs.
// Nobody can have finished before the first attempt, so the honest members
// must not adopt it: they leave member 3 out and key-switch the real result
// themselves.
func TestRunRejectsForgedDone(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	values := []float64{0.25, -0.5, 0.125}
	input, inputID, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), values, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	const forged = 0.75
	var switches []KeySwitched
	for _, s := range KeySwitchFamily(ids(0, 1, 2, 3), 3, 0) {
		o, oid, err := preset.EncryptFloatsAtScale(rcpt.PublicKey(), []float64{forged, forged, forged}, preset.OutputScale())
		if err != nil {
			t.Fatal(err)
		}
		switches = append(switches, KeySwitched{Subset: s, Outputs: [][]byte{o}, OutputIDs: []CiphertextID{oid}})
	}
	fake := NewResult([]CiphertextID{inputID}, switches)

	cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 3 * time.Second, IdleTimeout: 30 * time.Second}
	res := make([]*Result, 4)
	errs := runWithForger(ctx, 4, 3, func(i int, conn transport.Conn) error {
		var err error
		res[i], err = members[i].Run(ctx, conn, cfg, func(context.Context) ([]*rlwe.Ciphertext, error) {
			ct, _, err := preset.UnmarshalCiphertext(CKKS, input)
			return []*rlwe.Ciphertext{ct}, err
		})
		return err
	}, func(conn transport.Conn) { sendForgedDone(ctx, conn, fake) })
	for i := 0; i < 3; i++ {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if res[i].Adopted {
			t.Fatalf("member %d adopted an announced result", i)
		}
		got, err := rcpt.DecryptFloats(res[i].Outputs[0])
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range values {
			if math.Abs(got[j]-v) > 1e-4 {
				t.Fatalf("member %d slot %d: %v, want %v (forged %v)", i, j, got[j], v, forged)
			}
		}
	}
}

// TestKeyTestRejectsForgedDone (review C1): during the setup's known-answer
// test, member 3 announces a "done" result whose outputs are zero-key
// ciphertexts of the public expected values, so that the test would pass
// whatever the keys. The honest members must not accept it: none may pass
// the key test on a result it did not key-switch itself (here, with member
// 3 left out, 3 of 4 online give one subset, which the key test refuses).
func TestKeyTestRejectsForgedDone(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	params := preset.BGV
	_, want, err := members[3].keyTestCase()
	if err != nil {
		t.Fatal(err)
	}
	enc := heint.NewEncoder(params)
	var switches []KeySwitched
	for _, s := range KeySwitchFamily(ids(0, 1, 2, 3), 3, 0) {
		ks := KeySwitched{Subset: s}
		for _, w := range want {
			pt := heint.NewPlaintext(params, params.MaxLevel())
			if err := enc.Encode(w, pt); err != nil {
				t.Fatal(err)
			}
			ct := rlwe.NewCiphertext(params, 1, pt.Level())
			*ct.MetaData = *pt.MetaData
			ct.Value[0].Copy(pt.Value)
			b, err := preset.MarshalCiphertext(BGV, ct)
			if err != nil {
				t.Fatal(err)
			}
			ks.Outputs, ks.OutputIDs = append(ks.Outputs, b), append(ks.OutputIDs, HashCiphertext(b))
		}
		switches = append(switches, ks)
	}
	fake := NewResult(make([]CiphertextID, len(want)), switches)
	errs := runWithForger(ctx, 4, 3, func(i int, conn transport.Conn) error {
		return members[i].keyTest(ctx, conn, 3*time.Second)
	}, func(conn transport.Conn) { sendForgedDone(ctx, conn, fake) })
	for i := 0; i < 3; i++ {
		if !errors.Is(errs[i], ErrKeyTest) {
			t.Fatalf("member %d: want ErrKeyTest, got %v", i, errs[i])
		}
		t.Logf("member %d: %v", i, errs[i])
	}
}

// withholdConn drops this member's messages of one round to one peer, as a
// deviant that withholds its hello from some members only.
type withholdConn struct {
	transport.Conn
	round transport.Round
	to    transport.PartyID
}

func (c *withholdConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	if r == c.round && to == c.to {
		return nil
	}
	return c.Conn.Send(ctx, to, r, p)
}

// TestRunViewMismatchBlamesNobody (review M1): member 3 sends its first
// hello to members 0 and 2 but not to member 1. Member 1 times out on it
// and key-switches for the single subset {0,1,2}; the others for the family
// of all four. A family-digest mismatch shows that views differ, not that
// the peer is at fault: 0 and 2 must not leave the honest member 1 out and
// finish as {0,2,3}, one subset in which member 3's share is unchecked.
func TestRunViewMismatchBlamesNobody(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), []float64{0.5}, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	circuit := func(*Member) Circuit {
		return func(context.Context) ([]*rlwe.Ciphertext, error) {
			ct, _, err := preset.UnmarshalCiphertext(CKKS, input)
			return []*rlwe.Ciphertext{ct}, err
		}
	}
	cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 2 * time.Second, IdleTimeout: 30 * time.Second}
	res, errs := runAll(ctx, members, []int{0, 1, 2, 3}, cfg, circuit, func(i int, c transport.Conn) transport.Conn {
		if i == 3 {
			return &withholdConn{Conn: c, round: jobRound(0, stepHello), to: 1}
		}
		return c
	})
	for _, i := range []int{0, 2} {
		t.Logf("member %d: %v", i, errs[i])
		if errs[i] != nil {
			continue // redone, then given up: an abort naming nobody
		}
		for _, ks := range res[i].KeySwitches() {
			if !slices.Contains(ks.Subset, 1) && len(res[i].Checks) == 0 {
				t.Fatalf("member %d finished with the single subset %v, leaving out honest member 1", i, ks.Subset)
			}
		}
	}
}

// TestCheckedDecryptionUsesExpectedCommittee (review minor 6): the checked
// decryptions take the committee's threshold and size from the caller, not
// from the result, and compare only key switches with equal metadata.
func TestCheckedDecryptionUsesExpectedCommittee(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	rcpt := NewRecipient(preset)
	values := []float64{0.5, -0.25}
	build := func(family [][]transport.PartyID, scale func(s int) rlwe.Scale) *Result {
		var switches []KeySwitched
		for s, sub := range family {
			o, oid, err := preset.EncryptFloatsAtScale(rcpt.PublicKey(), values, scale(s))
			if err != nil {
				t.Fatal(err)
			}
			switches = append(switches, KeySwitched{Subset: sub, Outputs: [][]byte{o}, OutputIDs: []CiphertextID{oid}})
		}
		return NewResult([]CiphertextID{{}}, switches)
	}
	same := func(int) rlwe.Scale { return preset.OutputScale() }
	// A result key-switched by 2-subsets, for a committee of threshold 3:
	// the result's own subset size must not be taken as the threshold.
	res := build(KeySwitchFamily(ids(0, 1, 2, 3), 2, 0), same)
	if _, err := rcpt.DecryptFloatsChecked(res, 3, 4); err == nil {
		t.Fatal("accepted 2-subsets for threshold 3")
	}
	if _, err := rcpt.DecryptFloatsChecked(res, 2, 4); err != nil {
		t.Fatalf("threshold 2: %v", err)
	}
	// Members beyond the committee.
	if _, err := rcpt.DecryptFloatsChecked(build(KeySwitchFamily(ids(0, 1, 2, 5), 3, 0), same), 3, 4); err == nil {
		t.Fatal("accepted a subset naming member 5 of 4")
	}
	// The same values at another scale in one key switch: the tolerance is
	// computed from the first's scale, so the metadata must match.
	res = build(KeySwitchFamily(ids(0, 1, 2, 3), 3, 0), func(s int) rlwe.Scale {
		if s == 2 {
			return rlwe.NewScale(preset.OutputScale().Float64() / 1024)
		}
		return preset.OutputScale()
	})
	if _, err := rcpt.DecryptFloatsChecked(res, 3, 4); err == nil || !strings.Contains(err.Error(), "metadata") {
		t.Fatalf("want a metadata mismatch, got %v", err)
	}
}
