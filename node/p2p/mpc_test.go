package p2p

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cohortnet/cohort/mpc/transport"
)

// TestMPCOverGatedHosts wires the pieces as a node does: member-gated hosts,
// an address book, and the MPC network on top. Members exchange messages; an
// outsider cannot even open the MPC protocol.
func TestMPCOverGatedHosts(t *testing.T) {
	homes := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	committee := make([]peer.ID, len(homes))
	for i, home := range homes {
		committee[i] = peerIDAt(t, home)
	}
	members := NewMemberList(committee...)
	hosts := make([]*Host, len(homes))
	nets := make([]*transport.P2PNetwork, len(homes))
	resolver := transport.WithCommitteeResolver(func(context.Context, string) ([]peer.ID, error) { return committee, nil })
	for i, home := range homes {
		hosts[i] = newTestHost(t, home, members)
		nets[i] = transport.NewP2PNetwork(hosts[i].Libp2p(), resolver)
		t.Cleanup(func() { nets[i].Close() })
	}
	for _, h := range hosts {
		for _, other := range hosts {
			if h != other {
				if err := h.AddPeer(other.AddrInfo()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, h := range hosts {
		if err := h.ConnectAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	conns := make([]transport.Conn, len(hosts))
	for i, nw := range nets {
		c, err := nw.Open(ctx, "gated-job", transport.PartyID(i), len(hosts))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		if err := transport.Broadcast(ctx, c, 1, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		got, err := transport.RecvAll(ctx, c, 1)
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
		for j, m := range got {
			if j != i && (len(m) != 1 || m[0] != byte(j)) {
				t.Fatalf("party %d got %v from %d", i, m, j)
			}
		}
	}

	outsider := newTestHost(t, t.TempDir(), NewMemberList(committee...))
	outsider.Libp2p().Peerstore().AddAddrs(hosts[0].ID(), hosts[0].AddrInfo().Addrs, time.Minute)
	if s, err := outsider.Libp2p().NewStream(ctx, hosts[0].ID(), transport.ProtocolID); err == nil {
		s.Reset()
		t.Fatal("outsider opened the MPC protocol on a member")
	}
	// And the members' job is untouched by the attempt.
	if err := conns[1].Send(ctx, 0, 2, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if m, err := conns[0].Recv(ctx, 1, 2); err != nil || string(m) != "still here" {
		t.Fatalf("after outsider attempt: %q, %v", m, err)
	}
	var pe *transport.PartyError
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := conns[0].Recv(short, 2, 2); !errors.As(err, &pe) || pe.Party != 2 {
		t.Fatalf("silent party not named: %v", err)
	}
}
