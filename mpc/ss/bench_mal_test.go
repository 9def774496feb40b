package ss_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// The BenchmarkMal… benchmarks are the four malicious-mode figures of
// bench/suite_ss.go (3 parties, in memory here, so that they measure the
// engine's CPU and round cost without the libp2p stack), both modes side by
// side: go test ./mpc/ss -run XXX -bench 'Mal' -benchtime 3x.

var malJob atomic.Int64

// malRun runs fn for the 3 parties of one job in mode sec and reports party
// 0's communication rounds.
func malRun(b *testing.B, sec ss.Security, fn func(ctx context.Context, p *ss.Party) error) {
	b.Helper()
	nw := transport.NewMemoryNetwork()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	job := fmt.Sprintf("malbench-%d", malJob.Add(1))
	errs := make([]error, 3)
	var rounds atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = jobs.RunSSParty(ctx, nw, job, i, 3, ss.Config{Security: sec}, func(ctx context.Context, p *ss.Party) error {
				err := fn(ctx, p)
				if i == 0 {
					rounds.Store(int64(p.Stats.Rounds))
				}
				return err
			})
			if errs[i] != nil {
				cancel()
			}
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("party %d: %v", i, err)
		}
	}
	b.ReportMetric(float64(rounds.Load()), "rounds")
}

func malModes(b *testing.B, fn func(b *testing.B, sec ss.Security)) {
	for _, sec := range []ss.Security{ss.SemiHonest, ss.Malicious} {
		b.Run(sec.String(), func(b *testing.B) { fn(b, sec) })
	}
}

func malRandom(m int, seed uint64) fr.Vector {
	prg := field.NewPRG([32]byte{byte(seed)}, "malbench")
	v := field.New(m)
	prg.FillVector(v)
	return v
}

// BenchmarkMalMul3M: 3 batches of 2^20 multiplications and the check.
func BenchmarkMalMul3M(b *testing.B) {
	const m, reps = 1 << 20, 3
	x, y := malRandom(m, 1), malRandom(m, 2)
	malModes(b, func(b *testing.B, sec ss.Security) {
		for i := 0; i < b.N; i++ {
			var d, cpu atomic.Int64
			malRun(b, sec, func(ctx context.Context, p *ss.Party) error {
				v, err := p.AuthenticateDealt(ctx, []fr.Vector{x, y})
				if err != nil {
					return err
				}
				t0, c0 := time.Now(), processCPU()
				for k := 0; k < reps; k++ {
					if _, err := p.MulVec(ctx, v[0], v[1]); err != nil {
						return err
					}
				}
				if err := p.Verify(ctx); err != nil {
					return err
				}
				if p.Self() == 0 {
					d.Store(int64(time.Since(t0)))
					cpu.Store(int64((processCPU() - c0) * 1e6))
				}
				return nil
			})
			b.ReportMetric(float64(m*reps)/time.Duration(d.Load()).Seconds(), "mul/s")
			b.ReportMetric(float64(cpu.Load())/1e6, "cpu-s")
		}
	})
}

// BenchmarkMalCmp10k: 10,000 64-bit comparisons with their preprocessing and
// the final check.
func BenchmarkMalCmp10k(b *testing.B) {
	const m = 10000
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := field.New(m), field.New(m)
	for i := range x {
		x[i].SetUint64(rng.Uint64())
		y[i].SetUint64(rng.Uint64())
	}
	malModes(b, func(b *testing.B, sec ss.Security) {
		for i := 0; i < b.N; i++ {
			var d, cpu atomic.Int64
			malRun(b, sec, func(ctx context.Context, p *ss.Party) error {
				v, err := p.AuthenticateDealt(ctx, []fr.Vector{x, y})
				if err != nil {
					return err
				}
				t0, c0 := time.Now(), processCPU()
				if err := p.PrepareComparisons(ctx, m, 0); err != nil {
					return err
				}
				if _, err := p.LessThanVec(ctx, v[0], v[1]); err != nil {
					return err
				}
				if err := p.Verify(ctx); err != nil {
					return err
				}
				if p.Self() == 0 {
					d.Store(int64(time.Since(t0)))
					cpu.Store(int64((processCPU() - c0) * 1e6))
				}
				return nil
			})
			b.ReportMetric(float64(m)/time.Duration(d.Load()).Seconds(), "cmp/s")
			b.ReportMetric(float64(cpu.Load())/1e6, "cpu-s")
		}
	})
}

// malProvide shares each provider's fields among 3 parties.
func malProvide(b *testing.B, fields [][]uint64) [][]jobs.Input {
	out := make([][]jobs.Input, 3)
	for i := range out {
		out[i] = make([]jobs.Input, len(fields))
	}
	for j, f := range fields {
		salt, err := jobs.NewSalt(nil)
		if err != nil {
			b.Fatal(err)
		}
		msgs, c, err := jobs.ShareInput(3, field.FromUint64s(f), salt, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := range msgs {
			sh, err := jobs.DecodeInputShare(msgs[i], len(f))
			if err != nil {
				b.Fatal(err)
			}
			out[i][j] = jobs.Input{Provider: fmt.Sprintf("provider-%d", j), Commitment: c, Share: sh}
		}
	}
	return out
}

// BenchmarkMalVickrey1024: the full second-price job over 1,024 bids.
func BenchmarkMalVickrey1024(b *testing.B) {
	const bidders = 1024
	rng := rand.New(rand.NewPCG(5, 6))
	fields := make([][]uint64, bidders)
	for i := range fields {
		fields[i] = []uint64{rng.Uint64() >> 1}
	}
	in := malProvide(b, fields)
	malModes(b, func(b *testing.B, sec ss.Security) {
		for i := 0; i < b.N; i++ {
			c0 := processCPU()
			malRun(b, sec, func(ctx context.Context, p *ss.Party) error {
				_, err := jobs.RunAuction(ctx, p, jobs.SecondPrice, in[p.Self()])
				return err
			})
			b.ReportMetric(processCPU()-c0, "cpu-s")
		}
	})
}

// BenchmarkMalClearing4000x100: clearing over 4,000 levels and 100 bidders
// (no input commitment check, as the suite's figure).
func BenchmarkMalClearing4000x100(b *testing.B) {
	const levels, bidders = 4000, 100
	rng := rand.New(rand.NewPCG(7, 8))
	prices := make([]uint64, levels)
	for l := range prices {
		prices[l] = 10000 + uint64(l)
	}
	curves := make([][]uint64, bidders)
	for i := range curves {
		curves[i] = make([]uint64, levels)
		for l := range curves[i] {
			if rng.Uint64()%8 == 0 {
				curves[i][l] = rng.Uint64() % (1 << 24)
			}
		}
	}
	in := malProvide(b, curves)
	malModes(b, func(b *testing.B, sec ss.Security) {
		for i := 0; i < b.N; i++ {
			c0 := processCPU()
			malRun(b, sec, func(ctx context.Context, p *ss.Party) error {
				bids := make([]jobs.ClearingBid, bidders)
				for k := range bids {
					bids[k] = jobs.ClearingBid{Input: in[p.Self()][k], Side: jobs.Side(1 + k%2)}
				}
				_, err := jobs.Clear(ctx, p, jobs.ClearingSpec{Prices: prices}, bids)
				return err
			})
			b.ReportMetric(processCPU()-c0, "cpu-s")
		}
	})
}
