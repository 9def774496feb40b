package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestAuctionTournamentShapes runs both auction kinds over every bid count
// from 2 to 13 and a few past powers of two, so that the pipelined runner-up
// comparisons meet odd levels (a node carried up unmatched, with or without
// a runner-up of its own) at every depth, with ties and full-range bids, and
// checks the result against plaintext. The two highest bids sit at either
// end or apart, so that the runner-up of the winner comes from a carried
// node, from the winner's own subtree or from the other side.
func TestAuctionTournamentShapes(t *testing.T) {
	counts := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 33}
	for _, kind := range []AuctionKind{FirstPrice, SecondPrice} {
		for _, B := range counts {
			for place := 0; place < 4; place++ {
				t.Run(fmt.Sprintf("%s/%d/%d", kind, B, place), func(t *testing.T) {
					r := rand.New(rand.NewPCG(uint64(B*4+place), uint64(kind)))
					bids := make([]uint64, B)
					fields := make([][]uint64, B)
					for i := range bids {
						switch r.IntN(3) {
						case 0:
							bids[i] = r.Uint64() >> 2 // below the two top bids
						case 1:
							bids[i] = uint64(r.IntN(3)) // ties likely
						default:
							bids[i] = r.Uint64() >> 30
						}
					}
					top := [][2]int{{B - 1, B - 2}, {B - 2, B - 1}, {0, 1}, {B / 2, B - 1}}[place]
					if top[0] == top[1] {
						top[1] = 0
					}
					bids[top[0]] = ^uint64(0) - 1
					bids[top[1]] = ^uint64(0) - 1 - uint64(B%2) // a tie at the top for even B
					for i := range bids {
						fields[i] = []uint64{bids[i]}
					}
					inputs := provide(t, 3, fields, uint64(B))
					res, errs := committee(t, transport.NewMemoryNetwork(), 3, defaultCfg(3), func(ctx context.Context, p *ss.Party) (*AuctionResult, error) {
						return RunAuction(ctx, p, kind, inputs[p.Self()])
					})
					mustAll(t, errs)
					w, price := plainAuction(kind, bids)
					checkAuctionOutput(t, 3, B, res, w, price)
				})
			}
		}
	}
}
