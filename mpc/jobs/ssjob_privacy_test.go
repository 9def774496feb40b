package jobs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// Privacy tests. The adversary corrupts t parties (semi-honest). Its view is
// its parties' randomness (Config.Rand, fixed here), their input shares,
// every message they receive and every value opened to them. A test runs the
// same job many times on inputs X and on inputs X' with the same outputs
// opened to the committee (an auction opens none but its commitment),
// with the corrupted parties' coins fixed and everybody else's fresh, and
// checks coordinate by coordinate that the two view distributions agree:
// a coordinate that is fixed (a function of the corrupted coins and the
// outputs) must be the same fixed value under X and X', and the frequencies
// of a few bits of random coordinates must match. A direct leak — an input,
// or anything computed from it without a fresh mask, reaching the adversary —
// makes a coordinate differ between X and X' and fails the test (see
// TestPrivacyCheckerCatchesALeak).

// viewKey locates one field element of a view.
type viewKey struct {
	kind  string // "msg" or an OnOpen label
	from  int
	round uint64
	idx   int
}

type view map[viewKey]fr.Element

// recordingNetwork records what the corrupted parties receive.
type recordingNetwork struct {
	transport.Network
	corrupt map[transport.PartyID]*viewRecorder
}

type viewRecorder struct {
	mu sync.Mutex
	v  view
}

func (r *viewRecorder) add(k viewKey, e fr.Element) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.v[k] = e
}

func (n recordingNetwork) Open(ctx context.Context, job string, self transport.PartyID, parties int) (transport.Conn, error) {
	c, err := n.Network.Open(ctx, job, self, parties)
	if err != nil {
		return nil, err
	}
	if rec, ok := n.corrupt[self]; ok {
		return &recordingConn{Conn: c, rec: rec}, nil
	}
	return c, nil
}

type recordingConn struct {
	transport.Conn
	rec *viewRecorder
}

func (c *recordingConn) Recv(ctx context.Context, from transport.PartyID, r transport.Round) ([]byte, error) {
	b, err := c.Conn.Recv(ctx, from, r)
	if err != nil {
		return b, err
	}
	// Every engine message is a field vector, except the 32-byte pairwise seeds.
	if v, rest, err := field.DecodeVector(b, 1<<24); err == nil && len(rest) == 0 {
		for i := range v {
			c.rec.add(viewKey{"msg", int(from), uint64(r), i}, v[i])
		}
		return b, nil
	}
	var e fr.Element
	e.SetBytes(b)
	c.rec.add(viewKey{"raw", int(from), uint64(r), 0}, e)
	return b, nil
}

// corruptView runs job once and returns the merged view of the corrupted
// parties. Corrupted parties' coins come from fixed seeds; honest parties'
// (and, through mkInputs, the providers') from run.
func corruptView(t *testing.T, n int, corrupt []int, run uint64, job func(ctx context.Context, p *ss.Party) error) view {
	t.Helper()
	recs := map[transport.PartyID]*viewRecorder{}
	for _, c := range corrupt {
		recs[transport.PartyID(c)] = &viewRecorder{v: view{}}
	}
	isCorrupt := func(i int) bool { _, ok := recs[transport.PartyID(i)]; return ok }
	cfg := func(i int) ss.Config {
		seed := uint64(7_000 + i) // the adversary's coins: the same in every run
		if !isCorrupt(i) {
			seed = run*1_000 + uint64(i) + 1<<40
		}
		c := ss.Config{Rand: newSeeded(seed)}
		if rec, ok := recs[transport.PartyID(i)]; ok {
			c.OnOpen = func(label string, v fr.Vector) {
				for k := range v {
					rec.add(viewKey{label, i, 0, k}, v[k])
				}
			}
		}
		return c
	}
	_, errs := committee(t, recordingNetwork{Network: transport.NewMemoryNetwork(), corrupt: recs}, n, cfg, func(ctx context.Context, p *ss.Party) (struct{}, error) {
		return struct{}{}, job(ctx, p)
	})
	mustAll(t, errs)
	out := view{}
	for _, r := range recs {
		for k, e := range r.v {
			out[k] = e
		}
	}
	return out
}

// compareViews checks that the view distributions under two inputs agree;
// it returns the first coordinates that differ.
func compareViews(a, b []view) []string {
	keys := func(v view) []viewKey {
		ks := make([]viewKey, 0, len(v))
		for k := range v {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool {
			a, b := ks[i], ks[j]
			if a.kind != b.kind {
				return a.kind < b.kind
			}
			if a.round != b.round {
				return a.round < b.round
			}
			if a.from != b.from {
				return a.from < b.from
			}
			return a.idx < b.idx
		})
		return ks
	}
	var problems []string
	ref := keys(a[0])
	for _, vs := range [][]view{a, b} {
		for _, v := range vs {
			if len(v) != len(ref) {
				return []string{fmt.Sprintf("view shapes differ: %d vs %d coordinates", len(v), len(ref))}
			}
		}
	}
	bitsToCheck := []int{0, 1, 100, 200, 252}
	for _, k := range ref {
		constant := func(vs []view) bool {
			for _, v := range vs[1:] {
				if x, y := v[k], vs[0][k]; !x.Equal(&y) {
					return false
				}
			}
			return true
		}
		ca, cb := constant(a), constant(b)
		va, vb := a[0][k], b[0][k]
		switch {
		case ca != cb:
			problems = append(problems, fmt.Sprintf("%v: fixed under one input only", k))
		case ca && !va.Equal(&vb):
			problems = append(problems, fmt.Sprintf("%v: fixed value depends on the input (%s vs %s)", k, va.String(), vb.String()))
		case !ca:
			limbs := func(vs []view) [][4]uint64 {
				out := make([][4]uint64, len(vs))
				for i, v := range vs {
					e := v[k]
					out[i] = e.Bits()
				}
				return out
			}
			la, lb := limbs(a), limbs(b)
			for _, bit := range bitsToCheck {
				freq := func(ls [][4]uint64) float64 {
					ones := 0
					for _, l := range ls {
						ones += int(l[bit/64] >> uint(bit%64) & 1)
					}
					return float64(ones) / float64(len(ls))
				}
				if d := freq(la) - freq(lb); d > bitFreqTolerance || d < -bitFreqTolerance {
					problems = append(problems, fmt.Sprintf("%v: bit %d frequency differs by %.2f", k, bit, d))
				}
			}
		}
		if len(problems) > 5 {
			break
		}
	}
	return problems
}

const privacyRuns = 40

// bitFreqTolerance bounds the difference of a bit's frequency between the two
// inputs. With 40 runs per input the standard deviation of the difference is
// at most 0.11, and tens of thousands of (coordinate, bit) pairs are tested:
// 0.6 (> 5σ) keeps chance failures negligible while a bit that depends on the
// input (difference near 1) is caught.
const bitFreqTolerance = 0.6

// privacyCase runs job under two inputs and compares the views.
func privacyCase(t *testing.T, n int, corrupt []int, jobX, jobY func(run uint64) func(ctx context.Context, p *ss.Party) error) {
	t.Helper()
	var va, vb []view
	for run := uint64(0); run < privacyRuns; run++ {
		va = append(va, corruptView(t, n, corrupt, 2*run, jobX(2*run)))
		vb = append(vb, corruptView(t, n, corrupt, 2*run+1, jobY(2*run+1)))
	}
	if p := compareViews(va, vb); len(p) > 0 {
		t.Fatalf("n=%d corrupt=%v: the adversary's view depends on the input:\n%s", n, corrupt, strings.Join(p, "\n"))
	}
}

// corruptSets are the t-subsets tested for each committee size.
var corruptSets = map[int][][]int{3: {{0}, {2}}, 5: {{0, 1}, {1, 3}}}

func TestPrivacyComparisons(t *testing.T) {
	// [a<b] and [a=b] are the same under X and X'; the inputs differ.
	X := [][2]uint64{{5, 9}, {1 << 63, 1<<63 + 1}, {42, 42}, {^uint64(0), 0}}
	Y := [][2]uint64{{1 << 40, 1<<62 + 3}, {0, 1}, {^uint64(0), ^uint64(0)}, {7, 6}}
	mk := func(in [][2]uint64) func(run uint64) func(ctx context.Context, p *ss.Party) error {
		return func(run uint64) func(ctx context.Context, p *ss.Party) error {
			return func(ctx context.Context, p *ss.Party) error {
				prm := p.Params()
				a, b := field.New(len(in)), field.New(len(in))
				for i, ab := range in {
					a[i].SetUint64(ab[0])
					b[i].SetUint64(ab[1])
				}
				// Provider-side sharing with fresh randomness per run (the
				// provider is honest); every party derives the same vectors.
				as, err := ss.Share(prm, a, newSeeded(run<<8|1))
				if err != nil {
					return err
				}
				bs, err := ss.Share(prm, b, newSeeded(run<<8|2))
				if err != nil {
					return err
				}
				v, err := p.AuthenticateDealt(ctx, []fr.Vector{as[p.Self()], bs[p.Self()]})
				if err != nil {
					return err
				}
				A, B := v[0], v[1]
				lt, err := p.LessThanVec(ctx, A, B)
				if err != nil {
					return err
				}
				eq, err := p.EqualVec(ctx, A, B)
				if err != nil {
					return err
				}
				// A truncation and a Poseidon2 permutation of the inputs, not
				// opened: only their masked openings and messages enter the
				// view.
				if _, err := p.TruncPrVec(ctx, A, ss.ValueBits+1, 16); err != nil {
					return err
				}
				if err := p.Poseidon2Vec(ctx, A.Clone(), B.Clone()); err != nil {
					return err
				}
				if _, err := p.OpenVec(ctx, "lt", lt); err != nil {
					return err
				}
				_, err = p.OpenVec(ctx, "eq", eq)
				return err
			}
		}
	}
	for _, n := range []int{3, 5} {
		for _, c := range corruptSets[n] {
			privacyCase(t, n, c, mk(X), mk(Y))
		}
	}
}

func TestPrivacyVickreyAuction(t *testing.T) {
	// The committee opens only the commitment to (winner, price): X and Y
	// differ in every bid, in the winner (bidder 2, bidder 0) and in the
	// price (700, 899), and the corrupted parties' views must not tell them
	// apart.
	X := []uint64{500, 700, 900, 10}
	Y := []uint64{900, 3, 1 << 5, 899}
	mk := func(bids []uint64, n int) func(run uint64) func(ctx context.Context, p *ss.Party) error {
		return func(run uint64) func(ctx context.Context, p *ss.Party) error {
			fields := make([][]uint64, len(bids))
			for i, b := range bids {
				fields[i] = []uint64{b}
			}
			inputs := provide(t, n, fields, run+1000)
			return func(ctx context.Context, p *ss.Party) error {
				res, err := RunAuction(ctx, p, SecondPrice, inputs[p.Self()])
				if err == nil && len(res.Output.Values) != 2 {
					err = fmt.Errorf("output share of %d values, want 2", len(res.Output.Values))
				}
				return err
			}
		}
	}
	for _, n := range []int{3, 5} {
		privacyCase(t, n, corruptSets[n][0], mk(X, n), mk(Y, n))
	}
}

// TestPrivacyCheckerCatchesALeak is the negative control: a protocol that
// opens (to everybody) a value derived from the input without a mask must be
// reported.
func TestPrivacyCheckerCatchesALeak(t *testing.T) {
	mk := func(x uint64) func(run uint64) func(ctx context.Context, p *ss.Party) error {
		return func(run uint64) func(ctx context.Context, p *ss.Party) error {
			return func(ctx context.Context, p *ss.Party) error {
				xs, err := ss.Share(p.Params(), field.FromUint64s([]uint64{x}), newSeeded(run))
				if err != nil {
					return err
				}
				v, err := p.AuthenticateDealt(ctx, []fr.Vector{xs[p.Self()]})
				if err != nil {
					return err
				}
				sq, err := p.MulVec(ctx, v[0], v[0])
				if err != nil {
					return err
				}
				_, err = p.OpenVec(ctx, "oops", sq) // x² is not an output
				return err
			}
		}
	}
	var va, vb []view
	for run := uint64(0); run < 8; run++ {
		va = append(va, corruptView(t, 3, []int{0}, 2*run, mk(3)(2*run)))
		vb = append(vb, corruptView(t, 3, []int{0}, 2*run+1, mk(4)(2*run+1)))
	}
	if p := compareViews(va, vb); len(p) == 0 {
		t.Fatal("the checker missed an unmasked opening of an input-dependent value")
	}
}

// TestOnlyDeclaredOutputsAreOpened lists every value the engine opens during
// the jobs: besides masked values and the input-check bits, only the
// declared outputs, with their expected values.
func TestOnlyDeclaredOutputsAreOpened(t *testing.T) {
	n := 3
	type opening struct {
		label string
		v     fr.Vector
	}
	collect := func(job func(ctx context.Context, p *ss.Party) error) [][]opening {
		var mu sync.Mutex
		seen := make([][]opening, n)
		cfg := func(i int) ss.Config {
			return ss.Config{Rand: newSeeded(uint64(i + 5)), OnOpen: func(label string, v fr.Vector) {
				mu.Lock()
				defer mu.Unlock()
				seen[i] = append(seen[i], opening{label, append(fr.Vector(nil), v...)})
			}}
		}
		_, errs := committee(t, transport.NewMemoryNetwork(), n, cfg, func(ctx context.Context, p *ss.Party) (struct{}, error) {
			return struct{}{}, job(ctx, p)
		})
		mustAll(t, errs)
		return seen
	}
	// Auction: only the commitment; winner and price stay shared.
	bids := [][]uint64{{10}, {70}, {30}, {50}}
	inputs := provide(t, n, bids, 3)
	seen := collect(func(ctx context.Context, p *ss.Party) error {
		_, err := RunAuction(ctx, p, SecondPrice, inputs[p.Self()])
		return err
	})
	for i, s := range seen {
		outputs := map[string]bool{}
		for _, o := range s {
			switch {
			case strings.HasPrefix(o.label, "mask:"):
			case o.label == "check:input-commitment", o.label == "check:mac", o.label == "check:bits":
				for _, e := range o.v {
					if !e.IsZero() {
						t.Fatalf("party %d: input check opened a non-zero value for matching inputs", i)
					}
				}
			case o.label == LabelAuctionCommitment:
				outputs[o.label] = true
			default:
				t.Fatalf("party %d: auction opened undeclared value %q", i, o.label)
			}
		}
		if len(outputs) != 1 {
			t.Fatalf("party %d: outputs opened: %v", i, outputs)
		}
	}
	// Clearing: search steps (a function of the level), commitments; the
	// allocations are never opened inside the committee.
	prices := []uint64{10, 20, 30, 40, 50}
	curves := [][]uint64{{0, 0, 5, 0, 3}, {1, 2, 0, 0, 0}, {0, 4, 0, 0, 2}, {2, 0, 1, 0, 0}}
	sides := []Side{Buyer, Seller, Buyer, Seller}
	level, _ := plainClearing(prices, curves, sides)
	cin := provide(t, n, curves, 4)
	seen = collect(func(ctx context.Context, p *ss.Party) error {
		bs := make([]ClearingBid, len(curves))
		for i := range bs {
			bs[i] = ClearingBid{Input: cin[p.Self()][i], Side: sides[i]}
		}
		_, err := RunClearing(ctx, p, ClearingSpec{Prices: prices}, bs)
		return err
	})
	for i, s := range seen {
		lo, hi := 0, len(prices)
		for _, o := range s {
			switch {
			case strings.HasPrefix(o.label, "mask:"), o.label == "check:input-commitment", o.label == "check:mac", o.label == "check:bits":
			case o.label == LabelClearingSearch:
				// The step outcome must be what the clearing level alone implies.
				mid := (lo + hi) / 2
				wantLT := mid > level // D(mid) < S(mid) exactly above the level
				if (o.v[0].Uint64() == 1) != wantLT {
					t.Fatalf("party %d: search step at %d opened %s, not implied by level %d", i, mid, o.v[0].String(), level)
				}
				if wantLT {
					hi = mid
				} else {
					lo = mid + 1
				}
			case o.label == LabelClearingCommitments:
				if len(o.v) != 1+len(curves) {
					t.Fatalf("party %d: %d commitments opened", i, len(o.v))
				}
			default:
				t.Fatalf("party %d: clearing opened undeclared value %q", i, o.label)
			}
		}
	}
}

func TestPrivacyClearing(t *testing.T) {
	prices := []uint64{10, 20, 30, 40, 50, 60}
	sides := []Side{Buyer, Seller, Buyer, Seller}
	// Both inputs clear at level 2; curves and allocations differ.
	X := [][]uint64{{0, 0, 5, 0, 3, 0}, {1, 2, 0, 0, 0, 9}, {0, 4, 0, 0, 2, 0}, {2, 0, 1, 0, 0, 0}}
	Y := [][]uint64{{0, 1, 2, 3, 4, 5}, {0, 1, 1, 14, 0, 0}, {7, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 6, 0}}
	for _, in := range [][][]uint64{X, Y} {
		if level, _ := plainClearing(prices, in, sides); level != 2 {
			t.Fatalf("test inputs clear at level %d, want 2", level)
		}
	}
	n := 3
	mk := func(curves [][]uint64) func(run uint64) func(ctx context.Context, p *ss.Party) error {
		return func(run uint64) func(ctx context.Context, p *ss.Party) error {
			inputs := provide(t, n, curves, run+5000)
			return func(ctx context.Context, p *ss.Party) error {
				bids := make([]ClearingBid, len(curves))
				for i := range bids {
					bids[i] = ClearingBid{Input: inputs[p.Self()][i], Side: sides[i]}
				}
				res, err := RunClearing(ctx, p, ClearingSpec{Prices: prices}, bids)
				if err == nil && res.Level != 2 {
					err = fmt.Errorf("level %d", res.Level)
				}
				return err
			}
		}
	}
	privacyCase(t, n, []int{1}, mk(X), mk(Y))
}
