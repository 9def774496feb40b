package jobs

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// ssP2PNetworks dispatches Open to each party's own libp2p network.
type ssP2PNetworks []*transport.P2PNetwork

func (nets ssP2PNetworks) Open(ctx context.Context, job string, self transport.PartyID, n int) (transport.Conn, error) {
	return nets[self].Open(ctx, job, self, n)
}

func newSSP2P(t testing.TB, n int) ssP2PNetworks {
	t.Helper()
	ids := make([]peer.ID, n)
	var nets ssP2PNetworks
	hostList := make([]host.Host, n)
	for i := range hostList {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics(), libp2p.DisableRelay(),
			libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		hostList[i] = h
		ids[i] = h.ID()
	}
	for _, h := range hostList {
		for _, o := range hostList {
			if o != h {
				h.Peerstore().AddAddrs(o.ID(), o.Addrs(), peerstore.PermanentAddrTTL)
			}
		}
	}
	resolver := transport.WithCommitteeResolver(func(context.Context, string) ([]peer.ID, error) { return ids, nil })
	for _, h := range hostList {
		nw := transport.NewP2PNetwork(h, resolver)
		t.Cleanup(func() { nw.Close() })
		nets = append(nets, nw)
	}
	return nets
}

// TestJobsOverLibp2p runs both auctions and a clearing over the libp2p
// transport on loopback, for 3 and 5 parties.
func TestJobsOverLibp2p(t *testing.T) {
	for _, n := range []int{3, 5} {
		nets := newSSP2P(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 5))
		bids := make([]uint64, 9)
		fields := make([][]uint64, len(bids))
		for i := range bids {
			bids[i] = r.Uint64() >> 2
			fields[i] = []uint64{bids[i]}
		}
		inputs := provide(t, n, fields, 11)
		for _, kind := range []AuctionKind{FirstPrice, SecondPrice} {
			res, errs := committee(t, nets, n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (*AuctionResult, error) {
				return RunAuction(ctx, p, kind, inputs[p.Self()])
			})
			mustAll(t, errs)
			w, price := plainAuction(kind, bids)
			checkAuctionOutput(t, n, len(bids), res, w, price)
		}
		const L = 16
		prices := make([]uint64, L)
		for l := range prices {
			prices[l] = uint64(100 + l)
		}
		curves := make([][]uint64, 4)
		sides := []Side{Buyer, Seller, Buyer, Seller}
		for i := range curves {
			curves[i] = make([]uint64, L)
			for l := range curves[i] {
				curves[i][l] = uint64(r.IntN(100))
			}
		}
		cin := provide(t, n, curves, 12)
		res, errs := committee(t, nets, n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (*ClearingResult, error) {
			bs := make([]ClearingBid, len(curves))
			for i := range bs {
				bs[i] = ClearingBid{Input: cin[p.Self()][i], Side: sides[i]}
			}
			return RunClearing(ctx, p, ClearingSpec{Prices: prices}, bs)
		})
		mustAll(t, errs)
		level, alloc := plainClearing(prices, curves, sides)
		if res[0].Level != level {
			t.Fatalf("n=%d: clearing level %d, want %d", n, res[0].Level, level)
		}
		for b := range curves {
			parts := make([]*OutputShare, n)
			for i := range res {
				parts[i] = &res[i].Allocations[b]
			}
			vals, _, err := ReconstructOutput(n, parts, res[0].Commitments[1+b])
			if err != nil || vals[0].Uint64() != alloc[b] {
				t.Fatalf("n=%d bidder %d: allocation %v (%v), want %d", n, b, vals, err, alloc[b])
			}
		}
	}
}
