package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cohortnet/cohort/node/p2p"
)

func newHost(t *testing.T) *p2p.Host {
	t.Helper()
	h, err := p2p.New(context.Background(), p2p.Config{
		KeyFile:     filepath.Join(t.TempDir(), "key"),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Members:     p2p.MemberSetFunc(func(peer.ID) bool { return true }),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFetchVerifiesContent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	server, client := newHost(t), newHost(t)
	serverStore, clientStore := newStore(t), newStore(t)
	Serve(server.Libp2p(), serverStore, nil)
	if err := client.AddPeer(server.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("sealed record "), 10000)
	h, err := serverStore.Put(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Fetch(ctx, client.Libp2p(), clientStore, server.ID(), h)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetch: %v", err)
	}
	if !clientStore.Has(h) {
		t.Fatal("fetched blob not stored")
	}
	if _, err := Fetch(ctx, client.Libp2p(), clientStore, server.ID(), Hash{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing blob: %v", err)
	}

	// A server that answers with other bytes than asked for is caught.
	liar := newHost(t)
	liar.Libp2p().SetStreamHandler(ProtocolID, func(st network.Stream) {
		defer st.Close()
		var want Hash
		_, _ = st.Read(want[:])
		_, _ = st.Write(append([]byte{statusFound, 5}, "lies!"...))
	})
	if err := client.AddPeer(liar.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	h2 := Hash(sha256.Sum256([]byte("truth")))
	if _, err := Fetch(ctx, client.Libp2p(), clientStore, liar.ID(), h2); err == nil {
		t.Fatal("accepted content that does not match its hash")
	}
	if clientStore.Has(h2) {
		t.Fatal("stored content that does not match its hash")
	}
}
