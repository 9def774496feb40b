package ss

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestSilentPartyNamedAtDeadline: a party that stays connected but stops
// answering makes the others fail at their deadline with an error naming it,
// even the party that was waiting on someone else.
func TestSilentPartyNamedAtDeadline(t *testing.T) {
	for _, n := range committeeSizes {
		const silent = 1
		x := field.New(64)
		start := time.Now()
		_, errs := runPartiesCfg(t, transport.NewMemoryNetwork(), n, func(i int) Config { return Config{Security: SemiHonest, Rand: newSeeded(uint64(i))} },
			func(ctx context.Context, p *Party) (fr.Vector, error) {
				y, err := p.Mul(ctx, x, x)
				if err != nil {
					return nil, err
				}
				if p.Self() == silent {
					time.Sleep(2 * time.Second) // hang, connected, past the others' deadline
					return nil, errors.New("silent")
				}
				ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
				if _, err := p.Mul(ctx, y, y); err != nil {
					return nil, err
				}
				return p.Open(ctx, "y", y)
			})
		for i, err := range errs {
			if i == silent {
				continue
			}
			var pe *transport.PartyError
			if !errors.As(err, &pe) || pe.Party != silent {
				t.Fatalf("n=%d party %d: want an error naming party %d, got %v", n, i, silent, err)
			}
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("took %v", d)
		}
	}
}
