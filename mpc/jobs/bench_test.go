package jobs

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// BenchmarkVickrey1024 runs the full second-price job (input checks,
// tournament, output commitment) over 1,024 bids, 3 parties in memory.
func BenchmarkVickrey1024(b *testing.B) {
	const bidders = 1024
	rng := rand.New(rand.NewPCG(1, 2))
	fields := make([][]uint64, bidders)
	for i := range fields {
		fields[i] = []uint64{rng.Uint64() >> 1}
	}
	inputs := provide(b, 3, fields, 9)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, errs := committee(b, transport.NewMemoryNetwork(), 3, defaultCfg(3), func(ctx context.Context, p *ss.Party) (*AuctionResult, error) {
			return RunAuction(ctx, p, SecondPrice, inputs[p.Self()])
		})
		mustAll(b, errs)
	}
}
