package p2p

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

var loopback = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}

func newTestHost(t *testing.T, home string, members MemberSet, listen ...string) *Host {
	t.Helper()
	if len(listen) == 0 {
		listen = loopback
	}
	h, err := New(context.Background(), Config{Home: home, ListenAddrs: listen, Members: members, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func peerIDAt(t *testing.T, home string) peer.ID {
	t.Helper()
	sk, err := LoadOrCreateIdentity(IdentityPath(home))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestIdentityPersistsAcrossRestarts(t *testing.T) {
	home := t.TempDir()
	h1 := newTestHost(t, home, NewMemberList())
	id1 := h1.ID()
	if err := h1.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(IdentityPath(home))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file permissions %#o, want 0600", perm)
	}
	h2 := newTestHost(t, home, NewMemberList())
	if h2.ID() != id1 {
		t.Fatalf("peer ID changed across restart: %s then %s", id1, h2.ID())
	}
	got, err := PeerIDFromIdentity(IdentityPath(home))
	if err != nil || got != id1 {
		t.Fatalf("PeerIDFromIdentity = %s, %v; want %s", got, err, id1)
	}
}

func TestIdentityRefusesUnsafeOrBogusKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if _, err := LoadOrCreateIdentity(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(path); err == nil {
		t.Fatal("world-readable key file accepted")
	}
	bogus := filepath.Join(dir, "bogus")
	if err := os.WriteFile(bogus, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(bogus); err == nil {
		t.Fatal("garbage key file accepted")
	}
	// A failed load must never overwrite the file with a fresh identity.
	if b, _ := os.ReadFile(bogus); string(b) != "not a key" {
		t.Fatal("bogus key file was overwritten")
	}
}

// pair starts two hosts that list each other as members.
func pair(t *testing.T) (a, b *Host, membersA, membersB *MemberList) {
	t.Helper()
	homeA, homeB := t.TempDir(), t.TempDir()
	idA, idB := peerIDAt(t, homeA), peerIDAt(t, homeB)
	membersA, membersB = NewMemberList(idB), NewMemberList(idA)
	a = newTestHost(t, homeA, membersA)
	b = newTestHost(t, homeB, membersB)
	return a, b, membersA, membersB
}

func TestMembersConnectOverTCPAndQUIC(t *testing.T) {
	for _, proto := range []int{ma.P_TCP, ma.P_QUIC_V1} {
		a, b, _, _ := pair(t)
		var addrs []ma.Multiaddr
		for _, addr := range b.AddrInfo().Addrs {
			if _, err := addr.ValueForProtocol(proto); err == nil {
				addrs = append(addrs, addr)
			}
		}
		if len(addrs) == 0 {
			t.Fatalf("host listens on no address with protocol %d: %v", proto, b.AddrInfo().Addrs)
		}
		if err := a.AddPeer(peer.AddrInfo{ID: b.ID(), Addrs: addrs}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.ConnectAll(ctx); err != nil {
			t.Fatalf("connect over protocol %d: %v", proto, err)
		}
		cancel()
		conns := a.Libp2p().Network().ConnsToPeer(b.ID())
		if len(conns) == 0 {
			t.Fatal("no connection after Connect")
		}
		if _, err := conns[0].RemoteMultiaddr().ValueForProtocol(proto); err != nil {
			t.Fatalf("connected over %s, want protocol %d", conns[0].RemoteMultiaddr(), proto)
		}
	}
}

// A member whose libp2p offers only one of the two handshakes still gets in:
// the host speaks both.
// With both transports on offer, members meet over TCP (the faster one for
// bulk MPC traffic) with TLS 1.3.
func TestMembersPreferTCPAndTLS(t *testing.T) {
	a, b, _, _ := pair(t)
	if err := a.AddPeer(b.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, b.ID()); err != nil {
		t.Fatal(err)
	}
	c := a.Libp2p().Network().ConnsToPeer(b.ID())[0]
	if _, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_TCP); err != nil {
		t.Fatalf("connected over %s, want TCP", c.RemoteMultiaddr())
	}
	if sec := c.ConnState().Security; sec != libp2ptls.ID {
		t.Fatalf("security %s, want %s", sec, libp2ptls.ID)
	}
}

func TestSingleHandshakePeersAreAccepted(t *testing.T) {
	for _, sec := range []struct {
		id  protocol.ID
		opt libp2p.Option
	}{
		{libp2ptls.ID, libp2p.Security(libp2ptls.ID, libp2ptls.New)},
		{noise.ID, libp2p.Security(noise.ID, noise.New)},
	} {
		t.Run(string(sec.id), func(t *testing.T) {
			sk, err := LoadOrCreateIdentity(filepath.Join(t.TempDir(), "key"))
			if err != nil {
				t.Fatal(err)
			}
			otherID, _ := peer.IDFromPrivateKey(sk)
			a := newTestHost(t, t.TempDir(), NewMemberList(otherID))
			other, err := libp2p.New(libp2p.Identity(sk), libp2p.NoListenAddrs, sec.opt,
				libp2p.Transport(tcp.NewTCPTransport), libp2p.DisableMetrics())
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := other.Connect(ctx, a.AddrInfo()); err != nil {
				t.Fatalf("member offering only %s could not connect: %v", sec.id, err)
			}
			if got := other.Network().ConnsToPeer(a.ID())[0].ConnState().Security; got != sec.id {
				t.Fatalf("security protocol %s, want %s", got, sec.id)
			}
		})
	}
}

func TestGaterRefusesNonMember(t *testing.T) {
	a, _, _, _ := pair(t)
	const proto = protocol.ID("/cohort/test/1")
	a.Libp2p().SetStreamHandler(proto, func(s network.Stream) { s.Close() })

	var admitted atomic.Int32
	a.Libp2p().Network().Notify(&network.NotifyBundle{ConnectedF: func(network.Network, network.Conn) { admitted.Add(1) }})

	// The outsider considers a a member, so only a's gater can stop it.
	outsider := newTestHost(t, t.TempDir(), NewMemberList(a.ID()))
	if err := outsider.AddPeer(a.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The dialer finishes its side of the handshake before the listener's
	// gater rules (Noise XX and TLS 1.3 both let the initiator speak last),
	// so its Connect may briefly see a connection that a tears down at once.
	// What must hold: a never admits the connection, and no stream opens.
	if err := outsider.Connect(ctx, a.ID()); err == nil {
		deadline := time.Now().Add(5 * time.Second)
		for outsider.Libp2p().Network().Connectedness(a.ID()) == network.Connected {
			if time.Now().After(deadline) {
				t.Fatal("non-member's connection stayed open")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, addr := range a.AddrInfo().Addrs { // over TCP and over QUIC
		outsider.Libp2p().Peerstore().ClearAddrs(a.ID())
		outsider.Libp2p().Peerstore().AddAddr(a.ID(), addr, time.Minute)
		if s, err := outsider.Libp2p().NewStream(ctx, a.ID(), proto); err == nil {
			s.Reset()
			t.Fatalf("non-member opened a stream via %s", addr)
		}
	}
	if n := admitted.Load(); n != 0 {
		t.Fatalf("member host admitted %d connections from a non-member", n)
	}
	// Dialling out to a non-member is refused before any packet is sent.
	if err := a.AddPeer(outsider.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(ctx, outsider.ID()); !errors.Is(err, ErrNotMember) {
		t.Fatalf("connect to non-member: %v, want ErrNotMember", err)
	}
}

func TestEnforceMembershipDropsRemovedMember(t *testing.T) {
	a, b, membersA, _ := pair(t)
	if err := a.AddPeer(b.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, b.ID()); err != nil {
		t.Fatal(err)
	}
	membersA.Remove(b.ID())
	if n := a.EnforceMembership(); n != 1 {
		t.Fatalf("EnforceMembership closed %d peers, want 1", n)
	}
	if a.Libp2p().Network().Connectedness(b.ID()) == network.Connected {
		t.Fatal("removed member still connected")
	}
	// b may try to come back; a's gater refuses it now.
	if err := b.AddPeer(a.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	if s, err := b.Libp2p().NewStream(ctx, a.ID(), "/cohort/test/1"); err == nil {
		s.Reset()
		t.Fatal("removed member opened a stream")
	}
	if a.Libp2p().Network().Connectedness(b.ID()) == network.Connected {
		t.Fatal("removed member reconnected")
	}
}

func TestConnectRetriesUntilPeerComesUp(t *testing.T) {
	homeA, homeB := t.TempDir(), t.TempDir()
	idA, idB := peerIDAt(t, homeA), peerIDAt(t, homeB)
	a := newTestHost(t, homeA, NewMemberList(idB))
	b := newTestHost(t, homeB, NewMemberList(idA), "/ip4/127.0.0.1/tcp/0")
	info := b.AddrInfo()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.AddPeer(info); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	go func() { done <- a.Connect(ctx, idB) }()

	time.Sleep(500 * time.Millisecond) // let a few attempts fail
	// Restart b on the same port with its persisted identity.
	b2 := newTestHost(t, homeB, NewMemberList(idA), info.Addrs[0].String())
	if b2.ID() != idB {
		t.Fatal("restarted host has a different identity")
	}
	if err := <-done; err != nil {
		t.Fatalf("Connect did not succeed after the peer came up: %v", err)
	}
}

func TestConnectGivesUpAtDeadline(t *testing.T) {
	a, b, _, _ := pair(t)
	info := b.AddrInfo()
	b.Close()
	if err := a.AddPeer(info); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	err := a.Connect(ctx, info.ID)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline error, got %v", err)
	}
}

func TestKeepConnectedRedials(t *testing.T) {
	a, b, _, _ := pair(t)
	if err := a.AddPeer(b.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32 // connections a has established to b
	a.Libp2p().Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == b.ID() {
			conns.Add(1)
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.KeepConnected(ctx, 50*time.Millisecond) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("KeepConnected returned %v", err)
		}
	}()
	waitConns := func(n int32) {
		t.Helper()
		// Generous: under CI load a redial can wait out a dial backoff.
		deadline := time.Now().Add(45 * time.Second)
		for conns.Load() < n || a.Libp2p().Network().Connectedness(b.ID()) != network.Connected {
			if time.Now().After(deadline) {
				t.Fatalf("connection %d to b not established", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitConns(1)
	// b drops the connection (e.g. a network blip); a brings it back.
	if err := b.Libp2p().Network().ClosePeer(a.ID()); err != nil {
		t.Fatal(err)
	}
	waitConns(2)
}

// Two processes starting on the same fresh home at once must end up with one
// identity, never two.
func TestIdentityCreationIsRaceFree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	ids := make([]peer.ID, 8)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			sk, err := LoadOrCreateIdentity(path)
			if err == nil {
				ids[i], err = peer.IDFromPrivateKey(sk)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("concurrent first starts produced different identities: %s and %s", ids[0], ids[i])
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary key files left behind: %v", leftovers)
	}
}

// ConnectAll is one pass: a member that is down yields an error naming it,
// not a call that blocks until the caller's context ends.
func TestConnectAllIsOnePass(t *testing.T) {
	a, b, _, _ := pair(t)
	info := b.AddrInfo()
	b.Close()
	if err := a.AddPeer(info); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := a.ConnectAll(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("ConnectAll with a member down: %v (context: %v)", err, ctx.Err())
	}
}
