package jobrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/node/p2p"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
)

// p2pNetworks starts a member-gated libp2p host on loopback for every party,
// each with its own MPC network resolving job sessions through P2PResolver
// over the specs registered with the returned function.
func p2pNetworks(ctx context.Context, tb testing.TB, parties []string) (map[string]transport.Network, func(*Spec)) {
	tb.Helper()
	t := tb
	n := len(parties)
	homes := make([]string, n)
	ids := make([]peer.ID, n)
	peerOf := map[string]peer.ID{}
	for i := range homes {
		homes[i] = t.TempDir()
		sk, err := p2p.LoadOrCreateIdentity(p2p.IdentityPath(homes[i]))
		if err != nil {
			t.Fatal(err)
		}
		if ids[i], err = peer.IDFromPrivateKey(sk); err != nil {
			t.Fatal(err)
		}
		peerOf[parties[i]] = ids[i]
	}
	var mu sync.Mutex
	specs := map[string]*Spec{}
	resolver := P2PResolver(func(_ context.Context, jobID string) (*Spec, error) {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := specs[jobID]; ok {
			return s, nil
		}
		return nil, fmt.Errorf("unknown job %s", jobID)
	}, func(party string) (peer.ID, error) {
		if id, ok := peerOf[party]; ok {
			return id, nil
		}
		return "", fmt.Errorf("unknown party %s", party)
	})
	members := p2p.NewMemberList(ids...)
	hosts := make([]*p2p.Host, n)
	nets := map[string]transport.Network{}
	for i, home := range homes {
		h, err := p2p.New(ctx, p2p.Config{Home: home, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Members: members, DialTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		hosts[i] = h
		nw := transport.NewP2PNetwork(h.Libp2p(), transport.WithCommitteeResolver(resolver))
		t.Cleanup(func() { nw.Close() })
		nets[parties[i]] = nw
	}
	for _, h := range hosts {
		for _, o := range hosts {
			if h != o {
				if err := h.AddPeer(o.AddrInfo()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, h := range hosts {
		if err := h.ConnectAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	register := func(s *Spec) {
		mu.Lock()
		defer mu.Unlock()
		specs[s.ID] = s
	}
	return nets, register
}

// TestJobsOverLibp2p runs an SS and an HE job with every party on its own
// member-gated libp2p host on loopback, as nodes do: the MPC network resolves
// job sessions through P2PResolver.
func TestJobsOverLibp2p(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	nets, register := p2pNetworks(ctx, t, c.Members)
	c.NetworkOf = func(party string) transport.Network { return nets[party] }

	// Vickrey auction among the members themselves (each node bids and sits
	// on the committee), result to n1.
	bids := []uint64{700, 910, 880, 905}
	auction := &Spec{ID: "p2p-vickrey", Type: AuctionVickrey, Providers: c.Members, Committee: c.Members, Threshold: 3, Recipient: "n1"}
	inputs := map[string][]byte{}
	for i, m := range c.Members {
		inputs[m], _ = json.Marshal(AuctionInput{Bid: &bids[i]})
	}
	// The credit job on the 2-of-4 committee (HE jobs need t = ⌈n/2⌉), its
	// members on the same hosts.
	c24 := testCluster24(t)
	c24.NetworkOf = c.NetworkOf
	credit, creditInputs, creditCheck, err := SampleJob(CreditScore, 64, c24.Members, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	credit.ID = "p2p-credit"
	for _, s := range []*Spec{auction, credit} {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		register(s)
	}

	rep, err := c.Run(ctx, auction, inputs, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if a := rep.Result.Auction; a.Winner != "n1" || a.Price != 905 {
		t.Fatalf("auction over libp2p: %+v, want n1 paying 905", a)
	}

	rep, err = c24.Run(ctx, credit, creditInputs, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if err := creditCheck(rep); err != nil {
		t.Fatal(err)
	}
}
