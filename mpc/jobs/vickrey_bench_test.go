package jobs

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// BenchmarkVickrey1024Net runs the malicious second-price job over 1,024 bids
// with and without the input-commitment check, over memory and over libp2p
// on loopback (the setting of bench -suite ss):
// go test ./mpc/jobs -run '^$' -bench Vickrey1024Net -benchtime 3x.
func BenchmarkVickrey1024Net(b *testing.B) {
	const bidders = 1024
	rng := rand.New(rand.NewPCG(1, 2))
	fields := make([][]uint64, bidders)
	for i := range fields {
		fields[i] = []uint64{rng.Uint64() >> 1}
	}
	inputs := provide(b, 3, fields, 9)
	for _, net := range []string{"mem", "p2p"} {
		for _, check := range []bool{true, false} {
			name := net + "/check"
			if !check {
				name = net + "/nocheck"
			}
			b.Run(name, func(b *testing.B) {
				var nw transport.Network = transport.NewMemoryNetwork()
				if net == "p2p" {
					nw = newSSP2P(b, 3)
				}
				b.ResetTimer()
				cpu0 := cpuSeconds()
				for i := 0; i < b.N; i++ {
					_, errs := committee(b, nw, 3, defaultCfg(3), func(ctx context.Context, p *ss.Party) (*AuctionResult, error) {
						if check {
							return RunAuction(ctx, p, SecondPrice, inputs[p.Self()])
						}
						bids := make(fr.Vector, bidders)
						for j, in := range inputs[p.Self()] {
							bids[j] = in.Share.Fields[0]
						}
						return Auction(ctx, p, SecondPrice, bids)
					})
					mustAll(b, errs)
				}
				// The process's CPU time per job, all 3 parties: steadier than
				// wall time on a shared machine.
				b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
			})
		}
	}
}
