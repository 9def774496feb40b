package jobrun

import (
	"context"
	"os"
	"testing"
	"time"
)

// Secure-preset end-to-end runs (committee of 4, t = 3). Run with
//
//	go test ./node/jobrun -run - -bench RunLocal -benchtime 1x
//
// The metrics are seconds: one job end to end (input preparation included)
// and the committee's one-time setup.
func benchmarkRunLocal(b *testing.B, typ Type, size int) {
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		t, err := RunLocal(ctx, typ, size, os.Stderr)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(t.EndToEnd.Seconds(), "s/job")
		b.ReportMetric(t.Prepare.Seconds(), "s/prepare")
		b.ReportMetric(t.Setup.Seconds(), "s/setup")
	}
}

func BenchmarkRunLocalVickrey10(b *testing.B)  { benchmarkRunLocal(b, AuctionVickrey, 10) }
func BenchmarkRunLocalCredit1000(b *testing.B) { benchmarkRunLocal(b, CreditScore, 1000) }
func BenchmarkRunLocalAggregate(b *testing.B)  { benchmarkRunLocal(b, Aggregate, 1000) }
func BenchmarkRunLocalClearing(b *testing.B)   { benchmarkRunLocal(b, Clearing, 10) }
