package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// observedCommittee runs a job with the members of plans deviating, every
// member (cheaters included) reporting its openings to onOpen.
func observedCommittee[T any](t testing.TB, nw transport.Network, n int, plans map[int]*cheat.Plan, onOpen func(party int, label string, v fr.Vector), fn func(ctx context.Context, p *ss.Party) (T, error)) ([]T, []error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	job := fmt.Sprintf("ssjob-obs-%d", jobSeq.Add(1))
	res := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cctx := ctx
			if pl := plans[i]; pl != nil {
				cctx = cheat.With(ctx, pl)
			}
			cfg := ss.Config{Rand: newSeeded(uint64(500*n + i)), OnOpen: func(label string, v fr.Vector) { onOpen(i, label, v) }}
			errs[i] = RunSSParty(cctx, nw, job, i, n, cfg, func(ctx context.Context, p *ss.Party) error {
				var err error
				res[i], err = fn(ctx, p)
				return err
			})
		}(i)
	}
	wg.Wait()
	return res, errs
}

func boundedLabel(label string) bool {
	return label == "mask:lt" || label == "mask:eq" || label == "mask:trunc"
}

// TestNoBoundedOpeningAfterDeviation (review C1) on every SS job type: a
// member adds 2^110 to comparison results (the attack that would read
// r − l, an honest bid or D − S, off the next comparison's bounded-mask
// opening). From the cheater's own view, no bounded-mask opening follows a
// deviation before the check that covers it; every honest member aborts and
// nobody honest is named.
func TestNoBoundedOpeningAfterDeviation(t *testing.T) {
	for _, n := range []int{3, 5} {
		if testing.Short() && n == 5 {
			continue
		}
		for _, jc := range ssJobCases(t, n) {
			cheater := 1
			var deviated atomic.Bool
			var mu sync.Mutex
			var leaks []string
			plan := &cheat.Plan{MulOffset: true, MulOp: "lt", Offset: 1, OffsetShift: 110, OnDeviate: func() { deviated.Store(true) }}
			onOpen := func(party int, label string, _ fr.Vector) {
				if party != cheater {
					return
				}
				switch {
				case label == "check:mac":
					deviated.Store(false)
				case boundedLabel(label) && deviated.Load():
					mu.Lock()
					leaks = append(leaks, label)
					mu.Unlock()
				}
			}
			res, errs := observedCommittee(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: plan}, onOpen, jc.run)
			what := fmt.Sprintf("%s n=%d", jc.name, n)
			if len(leaks) > 0 {
				t.Fatalf("%s: the cheater saw bounded-mask openings %v after deviating, before a check", what, leaks)
			}
			checkJobAbort(t, what, n, res, errs, nil, cheater, false)
		}
	}
}

// TestOutOfRangeInputNotCompared (review C2): a provider deals consistent
// shares of 2^184 (not its committed bid). Only the commitment check catches
// it, so no comparison may run on it before that check: a comparison on it
// yields a non-bit that passes every MAC check and makes the next bounded-mask
// opening leak an honest bid to a colluding member. Every SS job type: no
// member sees a bounded-mask opening, and the job aborts naming the provider.
func TestOutOfRangeInputNotCompared(t *testing.T) {
	n := 3
	var huge fr.Element
	huge.Exp(fr.NewElement(2), big184)
	for _, jc := range ssJobCases(t, n) {
		jc.dealHuge(huge)
		var mu sync.Mutex
		var seen []string
		onOpen := func(party int, label string, _ fr.Vector) {
			if boundedLabel(label) {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("%d/%s", party, label))
				mu.Unlock()
			}
		}
		res, errs := observedCommittee(t, transport.NewMemoryNetwork(), n, nil, onOpen, jc.run)
		if len(seen) > 0 {
			t.Fatalf("%s: bounded-mask openings %v before the commitment check failed", jc.name, seen)
		}
		for i, err := range errs {
			var mm *CommitmentMismatchError
			if err == nil || res[i] != nil && !isNilResult(res[i]) || !errors.As(err, &mm) || len(mm.Providers) != 1 || mm.Providers[0] != "provider-0" {
				t.Fatalf("%s: member %d: want a commitment mismatch of provider-0, got %v", jc.name, i, err)
			}
		}
	}
}

var big184 = new(big.Int).SetUint64(184)
