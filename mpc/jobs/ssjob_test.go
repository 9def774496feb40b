package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

type seededReader struct{ r *rand.ChaCha8 }

func newSeeded(seed uint64) *seededReader {
	var s [32]byte
	for i := 0; i < 8; i++ {
		s[i] = byte(seed >> (8 * i))
	}
	return &seededReader{rand.NewChaCha8(s)}
}

func (s *seededReader) Read(b []byte) (int, error) { return s.r.Read(b) }

var jobSeq atomic.Int64

// committee runs fn for each of n parties over nw and returns results and
// errors. cfg gives each party's engine configuration.
func committee[T any](t testing.TB, nw transport.Network, n int, cfg func(i int) ss.Config, fn func(ctx context.Context, p *ss.Party) (T, error)) ([]T, []error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	job := fmt.Sprintf("ssjob-%d", jobSeq.Add(1))
	res := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = RunSSParty(ctx, nw, job, i, n, cfg(i), func(ctx context.Context, p *ss.Party) error {
				var err error
				res[i], err = fn(ctx, p)
				return err
			})
		}(i)
	}
	wg.Wait()
	return res, errs
}

func defaultCfg(n int) func(int) ss.Config {
	return func(i int) ss.Config { return ss.Config{Rand: newSeeded(uint64(100*n + i))} }
}

func mustAll(t testing.TB, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
}

// provide shares each provider's fields for a committee of n; inputs[i][j] is
// party i's view of provider j.
func provide(t testing.TB, n int, fields [][]uint64, seed uint64) [][]Input {
	t.Helper()
	inputs := make([][]Input, n)
	for i := range inputs {
		inputs[i] = make([]Input, len(fields))
	}
	for j, f := range fields {
		vals := make([]fr.Element, len(f))
		for k, x := range f {
			vals[k].SetUint64(x)
		}
		rnd := newSeeded(seed*1_000_003 + uint64(j))
		salt, err := NewSalt(rnd)
		if err != nil {
			t.Fatal(err)
		}
		msgs, c, err := ShareInput(n, vals, salt, rnd)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			sh, err := DecodeInputShare(msgs[i], len(f))
			if err != nil {
				t.Fatal(err)
			}
			inputs[i][j] = Input{Provider: fmt.Sprintf("provider-%d", j), Commitment: c, Share: sh}
		}
	}
	return inputs
}

func TestProviderSharesRoundTrip(t *testing.T) {
	vals := []fr.Element{fr.NewElement(1), fr.NewElement(2)}
	salt := fr.NewElement(99)
	msgs, c, err := ShareInput(3, vals, salt, newSeeded(1))
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]*OutputShare, 3)
	for i := range msgs {
		sh, err := DecodeInputShare(msgs[i], 2)
		if err != nil {
			t.Fatal(err)
		}
		parts[i] = &OutputShare{Values: sh.Fields, Salt: sh.Salt}
		back, err := DecodeOutputShare(EncodeOutputShare(*parts[i]), 2)
		if err != nil || !back.Values.Equal(sh.Fields) || !back.Salt.Equal(&sh.Salt) {
			t.Fatalf("output share round trip: %v", err)
		}
	}
	if _, err := DecodeInputShare(msgs[0], 1); err == nil {
		t.Fatal("decoder accepted more fields than allowed")
	}
	parts[1] = nil // any t+1 = 2 shares suffice
	got, gotSalt, err := ReconstructOutput(3, parts, c)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(fr.Vector(vals)) || !gotSalt.Equal(&salt) {
		t.Fatal("reconstructed values differ")
	}
	if _, _, err := ReconstructOutput(3, parts, fr.NewElement(5)); err == nil {
		t.Fatal("a wrong commitment was accepted")
	}
}

func plainAuction(kind AuctionKind, bids []uint64) (int, uint64) {
	w := 0
	for i, b := range bids {
		if b > bids[w] {
			w = i
		}
	}
	if kind == FirstPrice {
		return w, bids[w]
	}
	var second uint64
	for i, b := range bids {
		if i != w && b > second {
			second = b
		}
	}
	return w, second
}

func TestAuctionMatchesPlaintext(t *testing.T) {
	for _, n := range []int{3, 5} {
		for _, kind := range []AuctionKind{FirstPrice, SecondPrice} {
			for trial, B := range []int{2, 7, 16} {
				r := rand.New(rand.NewPCG(uint64(n*100+trial), uint64(kind)))
				bids := make([]uint64, B)
				fields := make([][]uint64, B)
				for i := range bids {
					switch r.IntN(4) {
					case 0:
						bids[i] = r.Uint64() // full 64-bit range
					case 1:
						bids[i] = uint64(r.IntN(4)) // ties likely
					default:
						bids[i] = r.Uint64() >> 40
					}
					fields[i] = []uint64{bids[i]}
				}
				if trial == 2 {
					bids[3], bids[11] = ^uint64(0), ^uint64(0) // tie at the top
					fields[3][0], fields[11][0] = bids[3], bids[11]
				}
				inputs := provide(t, n, fields, uint64(trial))
				res, errs := committee(t, transport.NewMemoryNetwork(), n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (*AuctionResult, error) {
					return RunAuction(ctx, p, kind, inputs[p.Self()])
				})
				mustAll(t, errs)
				w, price := plainAuction(kind, bids)
				checkAuctionOutput(t, n, B, res, w, price)
			}
		}
	}
}

// checkAuctionOutput plays the recipient: the parties agree on the opened
// commitment, and their output shares open it to the plaintext winner and
// price — from all shares, from any t+1, and never from tampered ones.
func checkAuctionOutput(t *testing.T, n, bids int, res []*AuctionResult, w int, price uint64) {
	t.Helper()
	parts := make([]*OutputShare, n)
	for i, got := range res {
		if !got.Commitment.Equal(&res[0].Commitment) {
			t.Fatal("parties disagree on the output commitment")
		}
		o := got.Output
		parts[i] = &o
	}
	gw, gp, salt, err := OpenAuction(n, bids, parts, res[0].Commitment)
	if err != nil {
		t.Fatalf("recipient: %v", err)
	}
	if gw != w || gp != price {
		t.Fatalf("recipient opened winner %d price %d, want %d %d", gw, gp, w, price)
	}
	if c := ss.NativeCommit(fr.Vector{fr.NewElement(uint64(w)), fr.NewElement(price)}, salt); !c.Equal(&res[0].Commitment) {
		t.Fatal("output commitment is not Poseidon2(winner, price, salt)")
	}
	prm, err := ss.NewParams(n)
	if err != nil {
		t.Fatal(err)
	}
	last := append([]*OutputShare(nil), parts...)
	for i := 0; i < n-(prm.T+1); i++ {
		last[i] = nil // only the last t+1 parties' shares
	}
	if gw, gp, _, err := OpenAuction(n, bids, last, res[0].Commitment); err != nil || gw != w || gp != price {
		t.Fatalf("from t+1 shares: winner %d price %d err %v, want %d %d", gw, gp, err, w, price)
	}
	bad := *parts[n-1]
	bad.Values = append(fr.Vector(nil), bad.Values...)
	one := fr.One()
	bad.Values[0].Add(&bad.Values[0], &one)
	last[n-1] = &bad
	if _, _, _, err := OpenAuction(n, bids, last, res[0].Commitment); err == nil {
		t.Fatal("a tampered output share opened the commitment")
	}
}

func TestAuctionRejectsInputNotMatchingCommitment(t *testing.T) {
	n := 3
	inputs := provide(t, n, [][]uint64{{10}, {20}, {30}, {40}}, 9)
	// Provider 2 sends shares of 31 while its commitment is to 30.
	bad := provide(t, n, [][]uint64{{31}}, 10)
	for i := 0; i < n; i++ {
		inputs[i][2].Share = bad[i][0].Share
	}
	var opened sync.Map
	cfg := func(i int) ss.Config {
		return ss.Config{Rand: newSeeded(uint64(i)), OnOpen: func(label string, v fr.Vector) {
			opened.Store(fmt.Sprintf("%d/%s", i, label), true)
		}}
	}
	_, errs := committee(t, transport.NewMemoryNetwork(), n, cfg, func(ctx context.Context, p *ss.Party) (*AuctionResult, error) {
		return RunAuction(ctx, p, SecondPrice, inputs[p.Self()])
	})
	for i, err := range errs {
		var mm *CommitmentMismatchError
		if !errors.As(err, &mm) || len(mm.Providers) != 1 || mm.Providers[0] != "provider-2" {
			t.Fatalf("party %d: want a mismatch naming provider-2, got %v", i, err)
		}
	}
	opened.Range(func(k, _ any) bool {
		if l := k.(string)[2:]; !strings.HasPrefix(l, "check:") && !strings.HasPrefix(l, "mask:") {
			t.Errorf("aborted job opened %s", k)
		}
		return true
	})
}

func plainClearing(prices []uint64, curves [][]uint64, sides []Side) (int, []uint64) {
	L := len(prices)
	D, S := make([]uint64, L), make([]uint64, L)
	for i, c := range curves {
		for l := range c {
			if sides[i] == Buyer {
				for k := 0; k <= l; k++ {
					D[k] += c[l]
				}
			} else {
				for k := l; k < L; k++ {
					S[k] += c[l]
				}
			}
		}
	}
	level := -1
	for l := 0; l < L; l++ {
		if D[l] >= S[l] {
			level = l
		}
	}
	alloc := make([]uint64, len(curves))
	if level >= 0 {
		for i, c := range curves {
			for l := range c {
				if (sides[i] == Buyer && l >= level) || (sides[i] == Seller && l <= level) {
					alloc[i] += c[l]
				}
			}
		}
		alloc = PlainRation(sides, alloc)
	}
	return level, alloc
}

func TestClearingMatchesPlaintext(t *testing.T) {
	for _, n := range []int{3, 5} {
		for trial := 0; trial < 3; trial++ {
			r := rand.New(rand.NewPCG(uint64(n), uint64(trial)))
			L := []int{1, 24, 40}[trial]
			B := []int{2, 5, 6}[trial]
			prices := make([]uint64, L)
			for l := range prices {
				prices[l] = 1000 + 7*uint64(l)
			}
			curves := make([][]uint64, B)
			sides := make([]Side, B)
			for i := range curves {
				sides[i] = Side(1 + i%2)
				curves[i] = make([]uint64, L)
				for l := range curves[i] {
					if r.IntN(3) == 0 {
						curves[i][l] = uint64(r.IntN(1 << 20))
					}
				}
			}
			if trial == 2 {
				for i := range curves { // no seller: demand covers supply everywhere
					if sides[i] == Seller {
						clear(curves[i])
					}
				}
			}
			inputs := provide(t, n, curves, uint64(trial+50))
			check := trial != 2 // the commitment check is exercised on the other trials
			res, errs := committee(t, transport.NewMemoryNetwork(), n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (*ClearingResult, error) {
				bids := make([]ClearingBid, B)
				for i := range bids {
					bids[i] = ClearingBid{Input: inputs[p.Self()][i], Side: sides[i]}
				}
				if check {
					return RunClearing(ctx, p, ClearingSpec{Prices: prices}, bids)
				}
				return Clear(ctx, p, ClearingSpec{Prices: prices}, bids)
			})
			mustAll(t, errs)
			level, alloc := plainClearing(prices, curves, sides)
			var traded [3]uint64
			for b, a := range alloc {
				traded[sides[b]] += a
			}
			if traded[Buyer] != traded[Seller] {
				t.Fatalf("n=%d trial %d: buyers get %d, sellers %d", n, trial, traded[Buyer], traded[Seller])
			}
			for i, got := range res {
				if got.Level != level {
					t.Fatalf("n=%d trial %d party %d: level %d, want %d", n, trial, i, got.Level, level)
				}
			}
			for b := range curves {
				parts := make([]*OutputShare, n)
				for i := range res {
					parts[i] = &res[i].Allocations[b]
				}
				vals, _, err := ReconstructOutput(n, parts, res[0].Commitments[1+b])
				if err != nil {
					t.Fatalf("bidder %d: %v", b, err)
				}
				if got := vals[0].Uint64(); got != alloc[b] || !vals[0].IsUint64() {
					t.Fatalf("n=%d trial %d bidder %d: allocation %d, want %d", n, trial, b, got, alloc[b])
				}
			}
		}
	}
}

func TestPlainRation(t *testing.T) {
	// Buyers want 10+5+3 = 18 at the clearing price, sellers offer 4+7 = 11:
	// sellers trade everything, buyers are filled in order.
	sides := []Side{Buyer, Seller, Buyer, Seller, Buyer}
	got := PlainRation(sides, []uint64{10, 4, 5, 7, 3})
	if want := []uint64{10, 4, 1, 7, 0}; !slices.Equal(got, want) {
		t.Fatalf("rationed %v, want %v", got, want)
	}
}

// quittingNetwork hands party `who` a connection that closes itself after
// `after` sends, as if the node crashed mid-job.
type quittingNetwork struct {
	transport.Network
	who   transport.PartyID
	after int
}

func (q quittingNetwork) Open(ctx context.Context, job string, self transport.PartyID, n int) (transport.Conn, error) {
	c, err := q.Network.Open(ctx, job, self, n)
	if err != nil || self != q.who {
		return c, err
	}
	return &quittingConn{Conn: c, left: q.after}, nil
}

type quittingConn struct {
	transport.Conn
	mu   sync.Mutex
	left int
}

func (c *quittingConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, b []byte) error {
	c.mu.Lock()
	c.left--
	quit := c.left < 0
	c.mu.Unlock()
	if quit {
		c.Conn.Close()
		return transport.ErrClosed
	}
	return c.Conn.Send(ctx, to, r, b)
}

// TestDisconnectNamesParty makes one party vanish mid-job, at several points
// of an auction (setup, input check, tournament, output): every other party
// must fail promptly with an error naming it.
func TestDisconnectNamesParty(t *testing.T) {
	n := 3
	fields := make([][]uint64, 16)
	for i := range fields {
		fields[i] = []uint64{uint64(i * 3)}
	}
	inputs := provide(t, n, fields, 77)
	const quitter = 1
	// Count the quitter's sends in a complete run, then cut it at points
	// spread over the job.
	sent, errs := committee(t, transport.NewMemoryNetwork(), n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (int, error) {
		_, err := RunAuction(ctx, p, SecondPrice, inputs[p.Self()])
		return p.Stats.MessagesSent, err
	})
	mustAll(t, errs)
	total := sent[quitter] + 1 // + the pairwise seed of setup
	for _, after := range []int{0, 1, 2, total / 4, total / 2, 3 * total / 4} {
		start := time.Now()
		nw := quittingNetwork{Network: transport.NewMemoryNetwork(), who: quitter, after: after}
		_, errs := committee(t, nw, n, defaultCfg(n), func(ctx context.Context, p *ss.Party) (*AuctionResult, error) {
			return RunAuction(ctx, p, SecondPrice, inputs[p.Self()])
		})
		if errs[quitter] == nil {
			t.Fatalf("after %d sends: the quitting party finished the job", after)
		}
		for i, err := range errs {
			if i == quitter {
				continue
			}
			var pe *transport.PartyError
			if !errors.As(err, &pe) || pe.Party != quitter {
				t.Fatalf("after %d sends: party %d: want an error naming party %d, got %v", after, i, quitter, err)
			}
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("parties took %v to notice the disconnect", d)
		}
	}
}
