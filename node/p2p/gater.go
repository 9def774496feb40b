package p2p

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// MemberSet says whether a peer is a registered member. The ledger implements
// it from on-chain state; the answer may change at runtime, and IsMember is
// called on every dial and every handshake, from many goroutines at once, so
// it must be safe for concurrent use and cheap (no I/O).
type MemberSet interface {
	IsMember(peer.ID) bool
}

// MemberSetFunc adapts a function to MemberSet.
type MemberSetFunc func(peer.ID) bool

// IsMember implements MemberSet.
func (f MemberSetFunc) IsMember(p peer.ID) bool { return f(p) }

// MemberList is a mutable, concurrency-safe MemberSet, for devnets, tests and
// nodes that mirror the ledger's member list into memory.
type MemberList struct {
	mu  sync.RWMutex
	ids map[peer.ID]struct{}
}

// NewMemberList returns a list holding ids.
func NewMemberList(ids ...peer.ID) *MemberList {
	l := &MemberList{ids: make(map[peer.ID]struct{}, len(ids))}
	for _, id := range ids {
		l.ids[id] = struct{}{}
	}
	return l
}

// Add registers ids as members.
func (l *MemberList) Add(ids ...peer.ID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		l.ids[id] = struct{}{}
	}
}

// Remove deregisters ids. Existing connections stay open until
// (*Host).EnforceMembership closes them.
func (l *MemberList) Remove(ids ...peer.ID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		delete(l.ids, id)
	}
}

// IsMember implements MemberSet.
func (l *MemberList) IsMember(p peer.ID) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.ids[p]
	return ok
}

// memberGater admits only connections to and from members (and never to
// ourselves). Inbound connections cannot be judged before the security
// handshake authenticates the remote key, so InterceptAccept admits and
// InterceptSecured decides; outbound dials are refused before any packet is
// sent. InterceptUpgraded checks again, so a peer removed during its
// handshake does not slip through.
type memberGater struct {
	self    peer.ID
	members MemberSet
	refused func(dir string, p peer.ID) // observability hook; may be nil
}

var _ connmgr.ConnectionGater = (*memberGater)(nil)

func (g *memberGater) admit(p peer.ID) bool {
	return p != g.self && g.members.IsMember(p)
}

func (g *memberGater) InterceptPeerDial(p peer.ID) bool {
	if g.admit(p) {
		return true
	}
	g.note("dial", p)
	return false
}

func (g *memberGater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }

func (g *memberGater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *memberGater) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	if g.admit(p) {
		return true
	}
	g.note(dir.String(), p)
	return false
}

func (g *memberGater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	if g.admit(c.RemotePeer()) {
		return true, 0
	}
	g.note("upgraded", c.RemotePeer())
	return false, 0
}

func (g *memberGater) note(stage string, p peer.ID) {
	if g.refused != nil {
		g.refused(stage, p)
	}
}
