package ss

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/transport"
)

// BenchmarkCommitPlans commits to 1,024 single-field inputs side by side (the
// input check of a 1,024-bidder auction) with each S-box plan, in both modes,
// over memory and libp2p, the MAC check included:
// go test ./mpc/ss -run '^$' -bench CommitPlans -benchtime 3x.
func BenchmarkCommitPlans(b *testing.B) {
	const m = 1024
	f, salt := randomVec(m), randomVec(m)
	for _, net := range []string{"mem", "p2p"} {
		for _, sec := range []Security{SemiHonest, Malicious} {
			for _, plan := range []struct {
				name string
				plan sboxPlan
			}{{"direct", planDirect}, {"masked", planMasked}} {
				b.Run(net+"/"+sec.String()+"/"+plan.name, func(b *testing.B) {
					var nw transport.Network = transport.NewMemoryNetwork()
					if net == "p2p" {
						nw = newP2PCommittee(b, 3)
					}
					benchCommitPlan(b, nw, sec, plan.plan, []fr.Vector{f, salt})
				})
			}
		}
	}
}

func benchCommitPlan(b *testing.B, nw transport.Network, sec Security, plan sboxPlan, vs []fr.Vector) {
	var rounds int
	var cpu0 float64
	_, errs := runPartiesCfg(b, nw, 3, func(i int) Config { return Config{Security: sec} }, func(ctx context.Context, p *Party) (struct{}, error) {
		in, err := p.AuthenticateDealt(ctx, vs)
		if err != nil {
			return struct{}{}, err
		}
		if p.Self() == 0 {
			b.ResetTimer()
			cpu0 = cpuSeconds()
		}
		r0 := p.Stats.Rounds
		for i := 0; i < b.N; i++ {
			if _, err := p.commitPlan(ctx, in[:1], in[1], plan); err != nil {
				return struct{}{}, err
			}
			if err := p.Verify(ctx); err != nil {
				return struct{}{}, err
			}
		}
		if p.Self() == 0 {
			rounds = (p.Stats.Rounds - r0) / b.N
		}
		return struct{}{}, nil
	})
	cpu := cpuSeconds() - cpu0
	for i, err := range errs {
		if err != nil {
			b.Fatalf("party %d: %v", i, err)
		}
	}
	b.ReportMetric(float64(rounds), "rounds")
	// The process's CPU time per commitment, all 3 parties (a steadier
	// measure than wall time on a shared machine; the other parties' work
	// after party 0 started the clock is included).
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
}

// BenchmarkCommitLanes: the malicious commit of 1,024 inputs on one engine
// or split over 2 lanes running concurrently.
func BenchmarkCommitLanes(b *testing.B) {
	const m = 1024
	f, salt := randomVec(m), randomVec(m)
	for _, net := range []string{"mem", "p2p"} {
		for _, nl := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("%s/lanes%d", net, nl), func(b *testing.B) {
				var nw transport.Network = transport.NewMemoryNetwork()
				if net == "p2p" {
					nw = newP2PCommittee(b, 3)
				}
				_, errs := runPartiesCfg(b, nw, 3, func(i int) Config { return Config{Security: Malicious} }, func(ctx context.Context, p *Party) (struct{}, error) {
					in, err := p.AuthenticateDealt(ctx, []fr.Vector{f, salt})
					if err != nil {
						return struct{}{}, err
					}
					lanes := make([]*Party, nl)
					for i := range lanes {
						if lanes[i], err = p.Lane(i + 1); err != nil {
							return struct{}{}, err
						}
					}
					if p.Self() == 0 {
						b.ResetTimer()
					}
					for it := 0; it < b.N; it++ {
						var wg sync.WaitGroup
						errs := make([]error, nl)
						for i, l := range lanes {
							from, to := i*m/nl, (i+1)*m/nl
							wg.Add(1)
							go func() {
								defer wg.Done()
								if _, err := l.CommitVec(ctx, []Vec{in[0].Slice(from, to)}, in[1].Slice(from, to)); err != nil {
									errs[i] = err
									return
								}
								errs[i] = l.Verify(ctx)
							}()
						}
						wg.Wait()
						if err := errors.Join(errs...); err != nil {
							return struct{}{}, err
						}
					}
					return struct{}{}, nil
				})
				for i, err := range errs {
					if err != nil {
						b.Fatalf("party %d: %v", i, err)
					}
				}
			})
		}
	}
}

// BenchmarkCommitSmall: a job's output commitment (m instances of 2 fields)
// with its masks prepared ahead, partial rounds in pairs or single; the
// time is the commitment's alone (what follows the computation in a job):
// go test ./mpc/ss -run '^$' -bench CommitSmall -benchtime 20x.
func BenchmarkCommitSmall(b *testing.B) {
	for _, m := range []int{1, 4} {
		vs := []fr.Vector{randomVec(m), randomVec(m), randomVec(m)}
		for _, net := range []string{"mem", "p2p"} {
			for _, sec := range []Security{SemiHonest, Malicious} {
				for _, paired := range []bool{false, true} {
					b.Run(fmt.Sprintf("m%d/%s/%s/paired=%v", m, net, sec, paired), func(b *testing.B) {
						var nw transport.Network = transport.NewMemoryNetwork()
						if net == "p2p" {
							nw = newP2PCommittee(b, 3)
						}
						var rounds int
						var d time.Duration
						_, errs := runPartiesCfg(b, nw, 3, func(i int) Config { return Config{Security: sec} }, func(ctx context.Context, p *Party) (struct{}, error) {
							in, err := p.AuthenticateDealt(ctx, vs)
							if err != nil {
								return struct{}{}, err
							}
							for it := 0; it < b.N; it++ {
								masks, err := p.prepareCommitPaired(ctx, m, 3, paired)
								if err != nil {
									return struct{}{}, err
								}
								r0, t0 := p.Stats.Rounds, time.Now()
								if _, err := p.CommitVecPrepared(ctx, in[:2], in[2], masks); err != nil {
									return struct{}{}, err
								}
								if p.Self() == 0 {
									rounds, d = p.Stats.Rounds-r0, d+time.Since(t0)
								}
							}
							return struct{}{}, p.Verify(ctx)
						})
						for i, err := range errs {
							if err != nil {
								b.Fatalf("party %d: %v", i, err)
							}
						}
						b.ReportMetric(float64(rounds), "rounds")
						b.ReportMetric(float64(d.Microseconds())/1e3/float64(b.N), "commit-ms")
					})
				}
			}
		}
	}
}
