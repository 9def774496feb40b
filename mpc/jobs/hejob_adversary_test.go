package jobs

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

// deviantRun wraps a job's committee side so that member dev sends wrong
// key-switching shares.
func deviantRun(dev transport.PartyID, d he.Deviation, run func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error)) func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error) {
	return func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error) {
		if m.Self() == dev {
			m = he.Deviant(m, d)
		}
		return run(ctx, m, conn)
	}
}

// stepFor is the key-switching step timeout: a member offline costs the
// others one step's wait for its hello.
func stepFor(online []int, n int) time.Duration {
	if len(online) < n {
		return 2 * time.Second
	}
	return 10 * time.Second
}

// TestCreditDeviantKeySwitch: a member shifts every score by 0.01 through
// its key-switching shares. With all 4 members online (t = 3) the recipient
// detects it and gets no scores; with exactly 3 online it is not detected
// and the recipient accepts the shifted scores (the documented limit).
func TestCreditDeviantKeySwitch(t *testing.T) {
	c := testCommittee(t)
	subjects := 64
	model, cols := creditData(subjects, 4, 21)
	features, _, err := EncryptFeatureColumns(c.preset, c.members[0].PublicKey(), cols)
	if err != nil {
		t.Fatal(err)
	}
	want := PlainCreditScores(model, cols)
	job := CreditJob{Model: model, Features: features}
	shift := he.Deviation{Shift: uint64(0.01 * c.preset.OutputScale().Float64())}
	for _, tc := range []struct {
		name   string
		online []int
		dev    transport.PartyID
	}{
		{"all-online-deviant-in-first-subset", []int{0, 1, 2, 3}, 1},
		{"all-online-deviant-outside-first-subset", []int{0, 1, 2, 3}, 3},
		{"exactly-t-online", []int{0, 1, 3}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rcpt := he.NewRecipient(c.preset)
			opts := he.RunConfig{StepTimeout: stepFor(tc.online, 4)}
			res, errs := runJob(ctx, c, tc.online, deviantRun(tc.dev, shift, func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error) {
				return RunCredit(ctx, m, conn, job, rcpt.PublicKey(), opts)
			}), nil)
			for _, i := range tc.online {
				if errs[i] != nil {
					t.Fatalf("member %d: %v", i, errs[i])
				}
			}
			got, err := DecryptCreditScores(rcpt, res[tc.online[0]], subjects, 3, 4)
			if len(tc.online) > c.members[0].Threshold() {
				if !errors.Is(err, he.ErrKeySwitchMismatch) || got != nil {
					t.Fatalf("want he.ErrKeySwitchMismatch and no scores, got %v", err)
				}
				return
			}
			// Exactly t of n > t: one subset, rejected.
			if !errors.Is(err, he.ErrSingleSubset) || got != nil {
				t.Fatalf("exactly t of 4 online: want he.ErrSingleSubset, got %v", err)
			}
			// Were the committee only t (n = t), nothing could be compared:
			// the wrong result would be accepted.
			if got, err = rcpt.DecryptFloats(res[tc.online[0]].Outputs[0]); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if d := got[i] - want[i]; math.Abs(d-0.01) > 1e-3 {
					t.Fatalf("subject %d: score moved by %v, want the deviant's 0.01 (accepted undetected)", i, d)
				}
			}
		})
	}
}

// TestAggregateDeviantKeySwitch: a member adds a random polynomial to its
// key-switching shares. Detected with all 4 online; with exactly 3 online
// the recipient decrypts wrong statistics without noticing.
func TestAggregateDeviantKeySwitch(t *testing.T) {
	c := testCommittee(t)
	spec := AggregateSpec{Bins: 4, Lo: 0, Hi: 100}
	values := [][]int64{{1, 5, 99, 42}, {7, 7, 7}, {0, 120, -3, 64, 50}}
	var inputs []AggregateInput
	for _, v := range values {
		in, err := EncryptAggregateInput(c.preset, c.members[0].PublicKey(), spec, v)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
	}
	want := PlainAggregate(spec, values)
	for _, tc := range []struct {
		name   string
		online []int
		dev    he.Deviation
	}{
		{"all-online-random", []int{0, 1, 2, 3}, he.Deviation{Random: true}},
		{"all-online-one-subset", []int{0, 1, 2, 3}, he.Deviation{Random: true, Subsets: []int{1}}},
		{"exactly-t-online", []int{0, 2, 3}, he.Deviation{Random: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rcpt := he.NewRecipient(c.preset)
			opts := he.RunConfig{StepTimeout: stepFor(tc.online, 4)}
			res, errs := runJob(ctx, c, tc.online, deviantRun(0, tc.dev, func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error) {
				return RunAggregate(ctx, m, conn, spec, inputs, rcpt.PublicKey(), opts)
			}), nil)
			for _, i := range tc.online {
				if errs[i] != nil {
					t.Fatalf("member %d: %v", i, errs[i])
				}
			}
			got, err := DecryptAggregate(rcpt, c.preset, spec, res[tc.online[0]], 3, 4)
			if len(tc.online) > c.members[0].Threshold() {
				if !errors.Is(err, he.ErrKeySwitchMismatch) {
					t.Fatalf("want he.ErrKeySwitchMismatch, got %v (%+v)", err, got)
				}
				return
			}
			if !errors.Is(err, he.ErrSingleSubset) {
				t.Fatalf("exactly t of 4 online: want he.ErrSingleSubset, got %v", err)
			}
			got = uncheckedAggregate(t, rcpt, c.preset, spec, res[tc.online[0]])
			if reflect.DeepEqual(got, want) {
				t.Fatal("the deviant's random share left the statistics right")
			}
		})
	}
}
