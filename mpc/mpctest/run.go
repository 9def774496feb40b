package mpctest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/transport"
)

// DefaultTimeout bounds a Run unless Timeout says otherwise: generous, so
// that a loaded CI machine never fails a correct test, yet a hung party ends
// the run with an error naming it rather than the test binary's timeout.
const DefaultTimeout = 60 * time.Second

// Option configures Run and Open.
type Option func(*config)

type config struct {
	nw      transport.Network
	job     string
	timeout time.Duration
	online  []int
	wrap    func(i int, c transport.Conn) transport.Conn
}

// Network runs the parties over nw instead of a fresh in-memory network
// (e.g. a network that records or drops messages, or libp2p).
func Network(nw transport.Network) Option { return func(c *config) { c.nw = nw } }

// PerParty is a Network on which party i opens its Conn on nws[i]: a
// committee whose members each run their own network, e.g. one
// transport.P2PNetwork per libp2p host.
func PerParty(nws ...transport.Network) transport.Network { return perParty(nws) }

type perParty []transport.Network

func (p perParty) Open(ctx context.Context, job string, self transport.PartyID, n int) (transport.Conn, error) {
	if self < 0 || int(self) >= len(p) {
		return nil, fmt.Errorf("mpctest: party %d has no network (%d networks)", self, len(p))
	}
	return p[self].Open(ctx, job, self, n)
}

// Job names the job; by default every Run and Open gets a job ID of its own,
// so that runs sharing a network never collide.
func Job(id string) Option { return func(c *config) { c.job = id } }

// Timeout bounds the run's context (Run: DefaultTimeout by default).
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// Online runs only the listed parties; the others never open the job, as
// members that are offline. Their results are zero and their errors nil.
func Online(parties ...int) Option { return func(c *config) { c.online = slices.Clone(parties) } }

// Wrap replaces party i's Conn by wrap(i, conn) before the party runs, e.g.
// to make it drop or withhold messages. The wrapped Conn is the one closed
// when the party returns, so a wrapper may delay or observe Close.
func Wrap(wrap func(i int, c transport.Conn) transport.Conn) Option {
	return func(c *config) { c.wrap = wrap }
}

var jobSeq atomic.Uint64

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.nw == nil {
		c.nw = transport.NewMemoryNetwork()
	}
	if c.job == "" {
		c.job = fmt.Sprintf("mpctest-job-%d", jobSeq.Add(1))
	}
	return c
}

// parties lists the parties that take part: Online's, or all n.
func (c *config) parties(n int) []int {
	if c.online != nil {
		return c.online
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return all
}

// Run runs fn as each of n parties of one job, concurrently, and returns
// their results and errors indexed by party. Each party opens its Conn on
// the network (a fresh in-memory one by default), runs fn with it and
// closes it; fn learns its index from conn.Self(). Every fn shares one
// context that ends after the timeout (DefaultTimeout unless Timeout says
// otherwise) or when the test ends. Run returns once every party's
// goroutine has returned: it owns them, so fn must honour its context.
func Run[T any](t testing.TB, n int, fn func(ctx context.Context, conn transport.Conn) (T, error), opts ...Option) ([]T, []error) {
	t.Helper()
	return RunContext(t.Context(), n, fn, append([]Option{Timeout(DefaultTimeout)}, opts...)...)
}

// RunContext is Run under the caller's context, for harnesses that have a
// context and no test at hand: the run ends when ctx does, or after
// Timeout if given.
func RunContext[T any](ctx context.Context, n int, fn func(ctx context.Context, conn transport.Conn) (T, error), opts ...Option) ([]T, []error) {
	cfg := newConfig(opts)
	online := cfg.parties(n)
	for _, i := range online {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("mpctest: online party %d out of range for %d parties", i, n))
		}
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	res := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for _, i := range online {
		wg.Go(func() {
			conn, err := cfg.nw.Open(ctx, cfg.job, transport.PartyID(i), n)
			if err != nil {
				errs[i] = fmt.Errorf("open job %q as party %d: %w", cfg.job, i, err)
				return
			}
			if cfg.wrap != nil {
				conn = cfg.wrap(i, conn)
			}
			defer conn.Close()
			res[i], errs[i] = fn(ctx, conn)
		})
	}
	wg.Wait()
	return res, errs
}

// Each runs fn on every Conn of conns (nil entries skipped) concurrently,
// under ctx, and returns their results and errors by index once all have
// returned. It neither opens nor closes the Conns: for rounds run on Conns a
// test keeps using afterwards (see Open).
func Each[T any](ctx context.Context, conns []transport.Conn, fn func(ctx context.Context, conn transport.Conn) (T, error)) ([]T, []error) {
	res := make([]T, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Go(func() { res[i], errs[i] = fn(ctx, c) })
	}
	wg.Wait()
	return res, errs
}

// MustRun is Run for runs in which every party must succeed: any party's
// error fails the test, naming the party.
func MustRun[T any](t testing.TB, n int, fn func(ctx context.Context, conn transport.Conn) (T, error), opts ...Option) []T {
	t.Helper()
	res, errs := Run(t, n, fn, opts...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	return res
}

// Open opens the Conns of n parties of one job (all parties, or those of
// Online), for a test that drives them by hand; entries of offline parties
// are nil. The Conns close when the test ends. Timeout does not apply.
func Open(t testing.TB, n int, opts ...Option) []transport.Conn {
	t.Helper()
	cfg := newConfig(opts)
	online := cfg.parties(n)
	conns := make([]transport.Conn, n)
	for _, i := range online {
		c, err := cfg.nw.Open(t.Context(), cfg.job, transport.PartyID(i), n)
		if err != nil {
			t.Fatalf("mpctest: open job %q as party %d: %v", cfg.job, i, err)
		}
		if cfg.wrap != nil {
			c = cfg.wrap(i, c)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}
