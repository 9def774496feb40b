package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultListenAddrs are used when Config.ListenAddrs is empty: TCP and QUIC
// on every interface, on the same port.
var DefaultListenAddrs = []string{
	"/ip4/0.0.0.0/tcp/26670",
	"/ip4/0.0.0.0/udp/26670/quic-v1",
}

// Defaults for Config's zero values.
const (
	DefaultDialTimeout = 10 * time.Second
	minRetryBackoff    = 100 * time.Millisecond
	maxRetryBackoff    = 5 * time.Second
	protectTag         = "cohort-member"
)

// ErrNotMember is returned when asked to connect to a peer the MemberSet
// does not admit.
var ErrNotMember = errors.New("p2p: peer is not a registered member")

// Config configures a Host.
type Config struct {
	// Home is the node home directory; the identity lives at
	// IdentityPath(Home) unless KeyFile is set.
	Home string
	// KeyFile overrides the identity path.
	KeyFile string
	// ListenAddrs are multiaddrs to listen on, e.g. "/ip4/0.0.0.0/tcp/26670"
	// and "/ip4/0.0.0.0/udp/26670/quic-v1". Empty means DefaultListenAddrs.
	ListenAddrs []string
	// Members decides which peers may connect. Required: a cohort host never
	// runs open to the world.
	Members MemberSet
	// DialTimeout bounds one connection attempt (default DefaultDialTimeout).
	DialTimeout time.Duration
	// Logger receives connection refusals and dial retries (default: discard).
	Logger *slog.Logger
	// Registerer, if set, receives libp2p's Prometheus metrics; nil disables
	// them (libp2p would otherwise register on the global default registry).
	Registerer prometheus.Registerer
}

// Host is a cohort node's libp2p host with its member gater and address book.
// All methods are safe for concurrent use.
type Host struct {
	h           host.Host
	gater       *memberGater
	log         *slog.Logger
	dialTimeout time.Duration

	mu     sync.Mutex
	book   map[peer.ID]struct{} // member peers we keep addresses for
	closed bool
}

// New loads (or on first start creates) the node identity and starts a
// libp2p host listening on cfg.ListenAddrs over TCP and QUIC, securing
// connections with TLS 1.3 (preferred) or Noise and admitting only members. ctx
// bounds start-up only; the host runs until Close.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Members == nil {
		return nil, errors.New("p2p: Config.Members is required")
	}
	keyPath := cfg.KeyFile
	if keyPath == "" {
		if cfg.Home == "" {
			return nil, errors.New("p2p: Config.Home or Config.KeyFile is required")
		}
		keyPath = IdentityPath(cfg.Home)
	}
	listen := cfg.ListenAddrs
	if len(listen) == 0 {
		listen = DefaultListenAddrs
	}
	addrs := make([]ma.Multiaddr, 0, len(listen))
	for _, s := range listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("p2p: listen address %q: %w", s, err)
		}
		addrs = append(addrs, a)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dialTimeout := cfg.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("p2p: start host: %w", err)
	}

	sk, err := LoadOrCreateIdentity(keyPath)
	if err != nil {
		return nil, err
	}
	self, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, fmt.Errorf("p2p: derive peer ID: %w", err)
	}
	g := &memberGater{
		self:    self,
		members: cfg.Members,
		refused: func(stage string, p peer.ID) {
			log.Debug("p2p: refused non-member", "stage", stage, "peer", p)
		},
	}
	metrics := libp2p.DisableMetrics()
	if cfg.Registerer != nil {
		metrics = libp2p.PrometheusRegisterer(cfg.Registerer)
	}
	h, err := libp2p.New(
		libp2p.Identity(sk),
		libp2p.ListenAddrs(addrs...),
		// Both handshakes are offered; TLS 1.3 is preferred because its
		// AES-GCM runs on the CPU's AES instructions and moved MPC traffic
		// faster than Noise's ChaCha20-Poly1305 in BenchmarkP2PExchange.
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Security(noise.ID, noise.New),
		// Without SO_REUSEPORT, a TCP dial leaves from an ephemeral port. With
		// it, two members dialling each other at the same moment (every
		// committee does at job start) can meet in a TCP simultaneous open
		// that fails the security handshake. Members are servers with
		// reachable addresses, so port reuse for NAT traversal buys nothing.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(quic.NewTransport),
		libp2p.ConnectionGater(g),
		libp2p.SwarmOpts(swarm.WithDialRanker(tcpFirstRanker)),
		libp2p.DisableRelay(),
		libp2p.UserAgent("cohort"),
		metrics,
	)
	if err != nil {
		return nil, fmt.Errorf("p2p: start libp2p host: %w", err)
	}
	return &Host{
		h:           h,
		gater:       g,
		log:         log,
		dialTimeout: dialTimeout,
		book:        make(map[peer.ID]struct{}),
	}, nil
}

// quicFallbackDelay is how long a dial waits for TCP before also trying QUIC.
const quicFallbackDelay = 500 * time.Millisecond

// tcpFirstRanker dials a member's TCP addresses at once and its QUIC
// addresses only if TCP has not connected after quicFallbackDelay.
// libp2p's default ranker prefers QUIC; for cohort's traffic (bulk MPC
// messages between servers) TCP with TLS 1.3 moved several times more bytes
// per second than QUIC in BenchmarkP2PExchange, so QUIC is the fallback for
// networks that block TCP.
func tcpFirstRanker(addrs []ma.Multiaddr) []network.AddrDelay {
	out := make([]network.AddrDelay, 0, len(addrs))
	for _, a := range addrs {
		var delay time.Duration
		if _, err := a.ValueForProtocol(ma.P_TCP); err != nil {
			delay = quicFallbackDelay
		}
		out = append(out, network.AddrDelay{Addr: a, Delay: delay})
	}
	return out
}

// Libp2p returns the underlying libp2p host, to attach protocols such as
// transport.NewP2PNetwork. Closing it directly bypasses Host.Close.
func (h *Host) Libp2p() host.Host { return h.h }

// ID is this node's peer ID, derived from its persisted key.
func (h *Host) ID() peer.ID { return h.h.ID() }

// AddrInfo is this node's peer ID and listen addresses, as other members
// need them in their address books.
func (h *Host) AddrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: h.h.ID(), Addrs: h.h.Addrs()}
}

// AddPeer records the addresses of a member peer, replacing earlier ones, and
// protects its connections from the connection manager's trimming. It does
// not dial; use Connect or ConnectAll. A peer that is not (yet) a member is
// kept — membership may arrive with the next block — but dials to it are
// refused until it is.
func (h *Host) AddPeer(info peer.AddrInfo) error {
	if err := info.ID.Validate(); err != nil {
		return fmt.Errorf("p2p: add peer: %w", err)
	}
	if info.ID == h.h.ID() {
		return errors.New("p2p: add peer: that is this node's own ID")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.New("p2p: add peer: host closed")
	}
	ps := h.h.Peerstore()
	ps.ClearAddrs(info.ID)
	ps.AddAddrs(info.ID, info.Addrs, peerstore.PermanentAddrTTL)
	h.h.ConnManager().Protect(info.ID, protectTag)
	h.book[info.ID] = struct{}{}
	return nil
}

// RemovePeer forgets a peer's addresses and closes connections to it.
func (h *Host) RemovePeer(id peer.ID) {
	h.mu.Lock()
	delete(h.book, id)
	h.mu.Unlock()
	h.h.ConnManager().Unprotect(id, protectTag)
	h.h.Peerstore().ClearAddrs(id)
	_ = h.h.Network().ClosePeer(id)
}

// Peers lists the address book.
func (h *Host) Peers() []peer.AddrInfo {
	h.mu.Lock()
	ids := make([]peer.ID, 0, len(h.book))
	for id := range h.book {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	slices.Sort(ids)
	out := make([]peer.AddrInfo, len(ids))
	for i, id := range ids {
		out[i] = h.h.Peerstore().PeerInfo(id)
	}
	return out
}

// Connect dials a peer from the address book (or with addresses otherwise in
// the peerstore), retrying with jittered exponential backoff until it
// succeeds or ctx ends. Each attempt is bounded by Config.DialTimeout. A
// non-member is refused at once with ErrNotMember.
func (h *Host) Connect(ctx context.Context, id peer.ID) error {
	backoff := minRetryBackoff
	var lastErr error
	for attempt := 1; ; attempt++ {
		if h.h.Network().Connectedness(id) == network.Connected {
			return nil
		}
		if !h.gater.admit(id) {
			return fmt.Errorf("p2p: connect %s: %w", id, ErrNotMember)
		}
		actx, cancel := context.WithTimeout(ctx, h.dialTimeout)
		err := h.h.Connect(actx, peer.AddrInfo{ID: id})
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		// The swarm remembers failed addresses and refuses to redial them for
		// a while; our own backoff replaces its schedule.
		if sw, ok := h.h.Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(id)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		h.log.Debug("p2p: dial failed, retrying", "peer", id, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("p2p: connect %s: gave up after %d attempts (last: %v): %w", id, attempt, lastErr, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, maxRetryBackoff)
	}
}

// ConnectAll makes one attempt, concurrently and bounded by
// Config.DialTimeout, to connect every address-book member that has no
// connection, and returns when all attempts are done. The error joins the
// failures, one per peer. It does not retry, so a node may call it
// periodically (KeepConnected does); use Connect to wait for one peer.
func (h *Host) ConnectAll(ctx context.Context) error {
	infos := h.Peers()
	errs := make([]error, len(infos))
	var wg sync.WaitGroup
	for i, info := range infos {
		if h.h.Network().Connectedness(info.ID) == network.Connected {
			continue
		}
		if !h.gater.admit(info.ID) {
			errs[i] = fmt.Errorf("p2p: connect %s: %w", info.ID, ErrNotMember)
			continue
		}
		wg.Go(func() {
			actx, cancel := context.WithTimeout(ctx, h.dialTimeout)
			defer cancel()
			if err := h.h.Connect(actx, peer.AddrInfo{ID: info.ID}); err != nil {
				errs[i] = fmt.Errorf("p2p: connect %s: %w", info.ID, err)
				// The next pass should really dial, not hit the swarm's backoff.
				if sw, ok := h.h.Network().(*swarm.Swarm); ok {
					sw.Backoff().Clear(info.ID)
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// KeepConnected calls ConnectAll every interval until ctx ends (its return
// value is then ctx.Err()). It blocks; the node runs it in a goroutine it
// owns and stops it by cancelling ctx. Failures are only logged: the next
// pass tries again.
func (h *Host) KeepConnected(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("p2p: keep connected: interval %v must be positive", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := h.ConnectAll(ctx); err != nil && ctx.Err() == nil {
			h.log.Debug("p2p: some members unreachable", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// EnforceMembership closes connections to peers that are no longer members.
// The gater only judges new connections; the node calls this whenever the
// ledger's member set changes. It returns how many peers were disconnected.
func (h *Host) EnforceMembership() int {
	n := 0
	for _, p := range h.h.Network().Peers() {
		if !h.gater.admit(p) {
			if err := h.h.Network().ClosePeer(p); err == nil {
				n++
			}
			h.log.Info("p2p: disconnected peer no longer a member", "peer", p)
		}
	}
	return n
}

// Close stops listening and closes every connection.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	if err := h.h.Close(); err != nil {
		return fmt.Errorf("p2p: close host: %w", err)
	}
	return nil
}
