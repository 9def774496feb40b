package jobs

import (
	"context"
	"errors"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

func TestAggregateExact(t *testing.T) {
	c := testCommittee(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := AggregateSpec{Bins: 8, Lo: -1000, Hi: 1000}
	rng := rand.New(rand.NewSource(7))
	row := c.preset.BGV.MaxSlots() / 2
	// Six providers with different amounts of data, including negatives and
	// out-of-range values that clamp into the edge bins.
	sizes := []int{row, 1, 500, row / 3, 77, 1200}
	values := make([][]int64, len(sizes))
	var inputs []AggregateInput
	for p, n := range sizes {
		values[p] = make([]int64, n)
		for i := range values[p] {
			values[p][i] = rng.Int63n(2600) - 1300
		}
		in, err := EncryptAggregateInput(c.preset, c.members[0].PublicKey(), spec, values[p])
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
	}
	rcpt := he.NewRecipient(c.preset)
	// Member 1 is offline after setup: the other three finish (t = 3).
	online := []int{0, 2, 3}
	res, errs := runJob(ctx, c, online, func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error) {
		return RunAggregate(ctx, m, conn, spec, inputs, rcpt.PublicKey(), he.RunConfig{StepTimeout: 2 * time.Second})
	}, nil)
	for _, i := range online {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if res[i].OutputIDs[0] != res[0].OutputIDs[0] {
			t.Fatalf("member %d disagrees on the result", i)
		}
	}
	// One subset of a 4-member committee: a wrong share could not be
	// detected, so the recipient rejects it (review M1) ...
	if _, err := DecryptAggregate(rcpt, c.preset, spec, res[0], 3, 4); !errors.Is(err, he.ErrSingleSubset) {
		t.Fatalf("3 of 4 online: want he.ErrSingleSubset, got %v", err)
	}
	// ... though the honest members' key switch is right.
	got := uncheckedAggregate(t, rcpt, c.preset, spec, res[0])
	want := PlainAggregate(spec, values)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("aggregate mismatch:\n got %+v\nwant %+v", got, want)
	}
	t.Logf("count %d sum %d mean %.3f variance %.3f histogram %v", got.Count, got.Sum, got.Mean, got.Variance, got.Histogram)
}

// uncheckedAggregate decrypts the first key switch only, as a recipient
// that compared nothing would (to show what a single subset delivers).
func uncheckedAggregate(t *testing.T, rcpt *he.Recipient, preset *he.Preset, spec AggregateSpec, res *he.Result) AggregateStats {
	t.Helper()
	var dec [][]int64
	for _, o := range res.Outputs {
		v, err := rcpt.DecryptInts(o)
		if err != nil {
			t.Fatal(err)
		}
		dec = append(dec, v)
	}
	return aggregateStats(preset, spec, dec)
}
