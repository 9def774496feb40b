package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// BenchmarkTender runs the whole tender (input checks, ranking, fill,
// commitments) over 20 and 64 quotes, a committee of 4 in memory, in
// malicious mode; it reports the rounds of the main engine (the lanes that
// check the inputs and commit to the award run alongside).
func BenchmarkTender(b *testing.B) {
	for _, Q := range []int{20, 64} {
		b.Run(fmt.Sprintf("quotes=%d", Q), func(b *testing.B) {
			const n = 4
			r := rand.New(rand.NewPCG(uint64(Q), 1))
			c := randomTender(r, Q)
			c.spec.MaxPartners = min(Q, 16)
			in := quotesOf(b, n, c, 3)
			var rounds int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, errs := committee(b, transport.NewMemoryNetwork(), n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (int, error) {
					_, err := RunTender(ctx, p, c.spec, in[p.Self()])
					return p.Stats.Rounds, err
				})
				mustAll(b, errs)
				rounds = res[0]
			}
			b.ReportMetric(float64(rounds), "main-rounds")
		})
	}
}
