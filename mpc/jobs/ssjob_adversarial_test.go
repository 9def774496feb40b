package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// adversarialCommittee runs a job with one member following plan (nil:
// everyone honest) and records what the honest members open.
func adversarialCommittee[T any](t testing.TB, nw transport.Network, n, cheater int, plan *cheat.Plan, fn func(ctx context.Context, p *ss.Party) (T, error)) ([]T, []error, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	job := fmt.Sprintf("ssjob-adv-%d", jobSeq.Add(1))
	res := make([]T, n)
	errs := make([]error, n)
	var mu sync.Mutex
	var opened []string
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cctx := ctx
			cfg := ss.Config{Rand: newSeeded(uint64(300*n + i))}
			if i == cheater && plan != nil {
				cctx = cheat.With(ctx, plan)
			} else {
				cfg.OnOpen = func(label string, _ fr.Vector) {
					if !strings.HasPrefix(label, "mask:") && !strings.HasPrefix(label, "check:") {
						mu.Lock()
						opened = append(opened, fmt.Sprintf("%d/%s", i, label))
						mu.Unlock()
					}
				}
			}
			errs[i] = RunSSParty(cctx, nw, job, i, n, cfg, func(ctx context.Context, p *ss.Party) error {
				var err error
				res[i], err = fn(ctx, p)
				return err
			})
		}(i)
	}
	wg.Wait()
	return res, errs, opened
}

// ssJobCase is one SS job type with its inputs, for n parties.
type ssJobCase struct {
	name string
	// run is the job of party p; its result is what the recipient would get.
	run func(ctx context.Context, p *ss.Party) (any, error)
	// corruptInput makes the provider of input 0 deal party `to` an
	// inconsistent share.
	corruptInput func(to int)
	// dealHuge makes the provider of input 0 deal consistent shares of v in
	// its first field instead of what it committed to.
	dealHuge func(v fr.Element)
}

// redeal replaces field k of provider j's input by consistent shares of v.
func redeal(t *testing.T, inputs [][]Input, j, k int, v fr.Element) {
	prm, err := ss.NewParams(len(inputs))
	if err != nil {
		t.Fatal(err)
	}
	sh, err := ss.Share(prm, fr.Vector{v}, newSeeded(991))
	if err != nil {
		t.Fatal(err)
	}
	for i := range inputs {
		f := append(fr.Vector(nil), inputs[i][j].Share.Fields...)
		f[k] = sh[i][0]
		inputs[i][j].Share.Fields = f
	}
}

func ssJobCases(t *testing.T, n int) []ssJobCase {
	r := rand.New(rand.NewPCG(uint64(n), 31))
	bidFields := make([][]uint64, 6)
	for i := range bidFields {
		bidFields[i] = []uint64{r.Uint64() >> 8}
	}
	var cases []ssJobCase
	for _, kind := range []AuctionKind{FirstPrice, SecondPrice} {
		inputs := provide(t, n, bidFields, uint64(kind))
		cases = append(cases, ssJobCase{
			name: kind.String(),
			run: func(ctx context.Context, p *ss.Party) (any, error) {
				return RunAuction(ctx, p, kind, inputs[p.Self()])
			},
			corruptInput: func(to int) {
				one := fr.One()
				f := append(fr.Vector(nil), inputs[to][0].Share.Fields...)
				f[0].Add(&f[0], &one)
				inputs[to][0].Share.Fields = f
			},
			dealHuge: func(v fr.Element) { redeal(t, inputs, 0, 0, v) },
		})
	}
	const L = 12
	prices := make([]uint64, L)
	for l := range prices {
		prices[l] = uint64(10 + l)
	}
	curves := make([][]uint64, 4)
	sides := []Side{Buyer, Seller, Buyer, Seller}
	for i := range curves {
		curves[i] = make([]uint64, L)
		for l := range curves[i] {
			curves[i][l] = uint64(r.IntN(50))
		}
	}
	cin := provide(t, n, curves, 77)
	cases = append(cases, ssJobCase{
		name: "clearing",
		run: func(ctx context.Context, p *ss.Party) (any, error) {
			bs := make([]ClearingBid, len(curves))
			for i := range bs {
				bs[i] = ClearingBid{Input: cin[p.Self()][i], Side: sides[i]}
			}
			return RunClearing(ctx, p, ClearingSpec{Prices: prices}, bs)
		},
		corruptInput: func(to int) {
			one := fr.One()
			f := append(fr.Vector(nil), cin[to][0].Share.Fields...)
			f[3].Add(&f[3], &one)
			cin[to][0].Share.Fields = f
		},
		dealHuge: func(v fr.Element) { redeal(t, cin, 0, 3, v) },
	})
	return cases
}

// checkJobAbort: every honest member aborted (so signs, anchors and delivers
// nothing), none opened an output, and errors name the cheater (when
// wantNamed) and never an honest member.
func checkJobAbort(t *testing.T, what string, n int, res []any, errs []error, opened []string, cheater int, wantNamed bool) {
	t.Helper()
	if len(opened) > 0 {
		t.Fatalf("%s: honest members opened %v", what, opened)
	}
	named := false
	for i, err := range errs {
		if i == cheater {
			continue
		}
		if err == nil {
			t.Fatalf("%s: honest member %d finished with %v", what, i, res[i])
		}
		if !isNilResult(res[i]) {
			t.Fatalf("%s: honest member %d has a result despite the abort", what, i)
		}
		var pe *transport.PartyError
		if errors.As(err, &pe) {
			if int(pe.Party) != cheater {
				t.Fatalf("%s: member %d blames honest member %d: %v", what, i, pe.Party, err)
			}
			named = true
			continue
		}
		var ce *ss.CheckError
		var ic *InputCheckError
		if !errors.As(err, &ce) && !errors.As(err, &ic) {
			t.Fatalf("%s: member %d: want a failed check, got %v", what, i, err)
		}
	}
	if wantNamed && !named {
		t.Fatalf("%s: nobody named the cheater %d: %v", what, cheater, errs)
	}
}

func isNilResult(v any) bool {
	switch r := v.(type) {
	case nil:
		return true
	case *AuctionResult:
		return r == nil
	case *ClearingResult:
		return r == nil
	}
	return false
}

// TestAdversarialSSJobs runs every SS job type against a corrupted member
// per deviation, for 3 and 5 members, in malicious mode: the job aborts, no
// output is opened or delivered, and where the deviation is identifiable
// soundly against t colluders (a dealt non-bit) the abort names the cheater;
// nobody else is ever named.
func TestAdversarialSSJobs(t *testing.T) {
	for _, n := range []int{3, 5} {
		identifiable := false // decoding names nobody, only a suspect in the text (review M3)
		for _, jc := range ssJobCases(t, n) {
			commitLabel := LabelAuctionCommitment
			if jc.name == "clearing" {
				commitLabel = LabelClearingCommitments
			}
			devs := []struct {
				name    string
				cheater int
				plan    cheat.Plan
				named   bool
			}{
				{"mul-offset", 1, cheat.Plan{MulOffset: true, Offset: 1}, false},
				{"flipped-comparison-bit", n - 1, cheat.Plan{MulOffset: true, MulOp: "lt", Offset: 1}, false},
				{"non-bit-dealt", 0, cheat.Plan{BadBit: true}, true},
				{"shifted-masked-share", 1, cheat.Plan{ShiftOpen: true, ShiftTo: -1, ShiftLabel: "mask:lt"}, false},
				{"shifted-output-share", 2, cheat.Plan{ShiftOpen: true, ShiftTo: -1, ShiftLabel: commitLabel}, identifiable},
			}
			for _, d := range devs {
				if testing.Short() && n == 5 && d.name != "shifted-output-share" {
					continue
				}
				plan := d.plan
				what := fmt.Sprintf("%s n=%d %s", jc.name, n, d.name)
				res, errs, opened := adversarialCommittee(t, transport.NewMemoryNetwork(), n, d.cheater, &plan, jc.run)
				if d.name == "shifted-output-share" {
					// The search steps before it were checked and are public.
					opened = without(opened, LabelClearingSearch)
				}
				checkJobAbort(t, what, n, res, errs, opened, d.cheater, d.named)
			}
		}
		// Inconsistent input shares from a provider: nobody is named.
		for _, jc := range ssJobCases(t, n) {
			jc.corruptInput(n - 1)
			res, errs, opened := adversarialCommittee(t, transport.NewMemoryNetwork(), n, -1, nil, jc.run)
			checkJobAbort(t, jc.name+fmt.Sprintf(" n=%d inconsistent-input", n), n, res, errs, opened, -1, false)
			for i, err := range errs {
				var ic *InputCheckError
				if !errors.As(err, &ic) && !strings.Contains(err.Error(), "reported by party") {
					t.Fatalf("%s n=%d member %d: want the provider's input reported, got %v", jc.name, n, i, err)
				}
			}
		}
	}
}

// TestAdversarialSSJobsOverLibp2p: a cheating multiplication in a Vickrey
// auction, and a shifted output share in a clearing, over libp2p.
func TestAdversarialSSJobsOverLibp2p(t *testing.T) {
	for _, n := range []int{3, 5} {
		nets := newSSP2P(t, n)
		cases := ssJobCases(t, n)
		vickrey, clearing := cases[1], cases[2]
		res, errs, opened := adversarialCommittee(t, nets, n, 1, &cheat.Plan{MulOffset: true, Offset: 3}, vickrey.run)
		checkJobAbort(t, fmt.Sprintf("p2p vickrey n=%d", n), n, res, errs, opened, 1, false)
		res, errs, opened = adversarialCommittee(t, nets, n, 2, &cheat.Plan{ShiftOpen: true, ShiftTo: -1, ShiftLabel: LabelClearingCommitments}, clearing.run)
		opened = without(opened, LabelClearingSearch)
		checkJobAbort(t, fmt.Sprintf("p2p clearing n=%d", n), n, res, errs, opened, 2, false)
	}
}

// without drops the openings of label from a list of "party/label".
func without(opened []string, label string) []string {
	var out []string
	for _, o := range opened {
		if !strings.HasSuffix(o, "/"+label) {
			out = append(out, o)
		}
	}
	return out
}
