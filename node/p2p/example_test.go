package p2p_test

import (
	"context"
	"log"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/node/p2p"
)

// How a node wires its network: a member-gated host, the address book from
// its configuration, a redial loop it owns, and the MPC network whose job
// committees come from the ledger. (Compiled, not run: it needs real peers.)
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	var ledgerMembers p2p.MemberSet = p2p.NewMemberList() // the ledger's member set in a node
	committeeOf := func(ctx context.Context, jobID string) ([]peer.ID, error) {
		return nil, nil // the job's committee from its on-ledger spec, party order
	}

	host, err := p2p.New(ctx, p2p.Config{
		Home:        "/var/lib/cohort",
		ListenAddrs: []string{"/ip4/0.0.0.0/tcp/26670", "/ip4/0.0.0.0/udp/26670/quic-v1"},
		Members:     ledgerMembers,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer host.Close()

	info, err := peer.AddrInfoFromString("/ip4/10.0.0.2/tcp/26670/p2p/12D3KooWStdMHkkmo1UHHhGWyJbSmTrvYR1ucFgNEnGhLPCBy6Z6")
	if err != nil {
		log.Fatal(err)
	}
	if err := host.AddPeer(*info); err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // owned here: stopped by stop(), joined below
		defer close(done)
		_ = host.KeepConnected(ctx, 5*time.Second)
	}()
	defer func() { stop(); <-done }()

	mpc := transport.NewP2PNetwork(host.Libp2p(), transport.WithCommitteeResolver(committeeOf))
	defer mpc.Close()
	prometheus.NewRegistry().MustRegister(mpc)

	// Engines receive mpc as a transport.Network and call
	// mpc.Open(ctx, jobID, self, n); when the ledger's member set changes the
	// node calls host.EnforceMembership().
}
