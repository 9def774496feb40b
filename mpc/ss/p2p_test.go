package ss

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/transport"
)

// p2pCommittee starts n libp2p hosts on loopback TCP, each with its own
// P2PNetwork; Open dispatches to the network of the joining party.
type p2pCommittee struct {
	hosts []host.Host
	nets  []*transport.P2PNetwork
}

func newP2PCommittee(t testing.TB, n int) *p2pCommittee {
	t.Helper()
	c := &p2pCommittee{}
	for i := 0; i < n; i++ {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics(), libp2p.DisableRelay(),
			libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()))
		if err != nil {
			t.Fatalf("start host %d: %v", i, err)
		}
		t.Cleanup(func() { h.Close() })
		c.hosts = append(c.hosts, h)
	}
	ids := make([]peer.ID, n)
	for i, h := range c.hosts {
		ids[i] = h.ID()
		for _, o := range c.hosts {
			if o != h {
				h.Peerstore().AddAddrs(o.ID(), o.Addrs(), peerstore.PermanentAddrTTL)
			}
		}
	}
	resolver := transport.WithCommitteeResolver(func(context.Context, string) ([]peer.ID, error) { return ids, nil })
	for _, h := range c.hosts {
		nw := transport.NewP2PNetwork(h, resolver)
		t.Cleanup(func() { nw.Close() })
		c.nets = append(c.nets, nw)
	}
	return c
}

func (c *p2pCommittee) Open(ctx context.Context, job string, self transport.PartyID, n int) (transport.Conn, error) {
	return c.nets[self].Open(ctx, job, self, n)
}

// TestEngineOverLibp2p runs the engine's operations over the libp2p
// transport on loopback and checks them against plaintext.
func TestEngineOverLibp2p(t *testing.T) {
	for _, n := range committeeSizes {
		com := newP2PCommittee(t, n)
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 99))
		a, b := comparisonInputs(r, 80)
		m := len(a)
		av, bv := field.FromUint64s(a), field.FromUint64s(b)
		as, bs := shareAll(t, prm, av, 1), shareAll(t, prm, bv, 2)
		// A batch above one chunk exercises the parallel kernels and big frames.
		big := randField(r, 3*chunkSize+5)
		bigS := shareAll(t, prm, big, 3)
		fix := fr.Vector{EncodeFixed(1.5, 16), EncodeFixed(-2.25, 16)}
		fixS := shareAll(t, prm, fix, 4)
		type out struct{ lt, eq, sq, p0, p1, dot, in, fx, toOne fr.Vector }
		res, errs := runPartiesCfg(t, com, n, func(i int) Config { return Config{Security: SemiHonest, Rand: newSeeded(uint64(i))} },
			func(ctx context.Context, p *Party) (out, error) {
				var o out
				lt, err := p.LessThan(ctx, as[p.Self()], bs[p.Self()])
				if err != nil {
					return o, err
				}
				eq, err := p.Equal(ctx, as[p.Self()], bs[p.Self()])
				if err != nil {
					return o, err
				}
				sq, err := p.Mul(ctx, bigS[p.Self()], bigS[p.Self()])
				if err != nil {
					return o, err
				}
				// Input by the last party, dot product, fixed-point product,
				// opening to one party.
				in, err := p.Input(ctx, n-1, ifSelf(p, n-1, av[:3]), 3)
				if err != nil {
					return o, err
				}
				dot, err := p.Dot(ctx, []fr.Vector{as[p.Self()]}, []fr.Vector{bs[p.Self()]})
				if err != nil {
					return o, err
				}
				fx, err := p.FixMul(ctx, fixS[p.Self()], fixS[p.Self()], 16)
				if err != nil {
					return o, err
				}
				if o.toOne, err = p.OpenTo(ctx, "to-0", 0, in); err != nil {
					return o, err
				}
				if o.in, err = p.Open(ctx, "in", in); err != nil {
					return o, err
				}
				if o.dot, err = p.Open(ctx, "dot", dot); err != nil {
					return o, err
				}
				if o.fx, err = p.Open(ctx, "fx", fx); err != nil {
					return o, err
				}
				s0 := append(fr.Vector(nil), as[p.Self()][:2]...)
				s1 := append(fr.Vector(nil), bs[p.Self()][:2]...)
				if err := p.Poseidon2(ctx, s0, s1); err != nil {
					return o, err
				}
				for _, x := range []struct {
					dst *fr.Vector
					v   fr.Vector
				}{{&o.lt, lt}, {&o.eq, eq}, {&o.sq, sq}, {&o.p0, s0}, {&o.p1, s1}} {
					if *x.dst, err = p.Open(ctx, "out", x.v); err != nil {
						return o, err
					}
				}
				return o, nil
			})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("n=%d party %d: %v", n, i, err)
			}
		}
		o := res[0]
		for j := 0; j < m; j++ {
			wl, we := b2u(a[j] < b[j]), b2u(a[j] == b[j])
			if !o.lt[j].Equal(&wl) || !o.eq[j].Equal(&we) {
				t.Fatalf("n=%d: comparison %d wrong over libp2p", n, j)
			}
		}
		if !o.in.Equal(av[:3]) || !res[0].toOne.Equal(av[:3]) || res[1].toOne != nil {
			t.Fatalf("n=%d: input or open-to-one wrong over libp2p", n)
		}
		if d := av.InnerProduct(bv); !o.dot[0].Equal(&d) {
			t.Fatalf("n=%d: dot product wrong over libp2p", n)
		}
		if a, b := DecodeFixed(o.fx[0], 16), DecodeFixed(o.fx[1], 16); abs(a-2.25) > 1e-4 || abs(b-5.0625) > 1e-4 {
			t.Fatalf("n=%d: fixed-point products %g %g over libp2p", n, a, b)
		}
		if !o.sq.Equal(field.Mul(big, big)) {
			t.Fatalf("n=%d: products wrong over libp2p", n)
		}
		perm := poseidon2.NewDefaultPermutation()
		for j := 0; j < 2; j++ {
			st := []fr.Element{av[j], bv[j]}
			_ = perm.Permutation(st)
			if !st[0].Equal(&o.p0[j]) || !st[1].Equal(&o.p1[j]) {
				t.Fatalf("n=%d: Poseidon2 wrong over libp2p", n)
			}
		}
	}
}

// TestLibp2pHostLossNamesParty stops one party's host mid-job: the others
// fail with an error naming it.
func TestLibp2pHostLossNamesParty(t *testing.T) {
	n := 3
	com := newP2PCommittee(t, n)
	const lost = 2
	x := field.New(100)
	_, errs := runPartiesCfg(t, com, n, func(i int) Config { return Config{Security: SemiHonest, Rand: newSeeded(uint64(i))} },
		func(ctx context.Context, p *Party) (struct{}, error) {
			for k := 0; k < 1000; k++ {
				if p.Self() == lost && k == 5 {
					com.hosts[lost].Close()
					return struct{}{}, errors.New("host stopped")
				}
				y, err := p.Mul(ctx, x, x)
				if err != nil {
					return struct{}{}, err
				}
				if _, err := p.Open(ctx, "y", y); err != nil {
					return struct{}{}, err
				}
			}
			return struct{}{}, nil
		})
	for i, err := range errs {
		if i == lost {
			continue
		}
		var pe *transport.PartyError
		if !errors.As(err, &pe) || pe.Party != lost {
			t.Fatalf("party %d: want an error naming party %d, got %v", i, lost, err)
		}
	}
}
