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
// comparisons meet odd levels (a node carried up unmatched) at every depth,
// with ties and full-range bids, and checks the result against plaintext.
func TestAuctionTournamentShapes(t *testing.T) {
	counts := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 33}
	for _, kind := range []AuctionKind{FirstPrice, SecondPrice} {
		for _, B := range counts {
			t.Run(fmt.Sprintf("%s/%d", kind, B), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(B), uint64(kind)))
				bids := make([]uint64, B)
				fields := make([][]uint64, B)
				for i := range bids {
					switch r.IntN(3) {
					case 0:
						bids[i] = r.Uint64() // full 64-bit range
					case 1:
						bids[i] = uint64(r.IntN(3)) // ties likely
					default:
						bids[i] = r.Uint64() >> 30
					}
					fields[i] = []uint64{bids[i]}
				}
				// The top bid sits at a varying position: last (carried up
				// unmatched when B is odd), first or in the middle.
				top := []int{B - 1, 0, B / 2}[B%3]
				bids[top], fields[top][0] = ^uint64(0)-1, ^uint64(0)-1
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
