package jobrun_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
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

// BenchmarkCredit1000OverLibp2p is RunLocal's credit job with the four
// members on their own libp2p hosts on loopback (TCP, TLS), secure preset.
func BenchmarkCredit1000OverLibp2p(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	preset, err := he.SecurePreset()
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCluster(ctx, preset, 4, SampleThreshold(CreditScore, 4)) // 2: HE jobs need t = ⌈n/2⌉
	if err != nil {
		b.Fatal(err)
	}
	nets, register := p2pNetworks(ctx, b, c.Members)
	c.NetworkOf = func(party string) transport.Network { return nets[party] }
	c.OnSpec = register
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := c.RunSample(ctx, CreditScore, 1000, os.Stderr)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(t.EndToEnd.Seconds(), "s/job")
	}
}

// BenchmarkVickrey10OverLibp2p is RunLocal's Vickrey auction (10 bidders)
// with the four members and every bidder on its own libp2p host on loopback.
func BenchmarkVickrey10OverLibp2p(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	preset, err := he.SecurePreset()
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCluster(ctx, preset, 4, 3)
	if err != nil {
		b.Fatal(err)
	}
	// SampleJob's bidders: even ones on their own node, odd ones clients of
	// a broker node (slots "broker/bid<i>").
	parties := append([]string(nil), c.Members...)
	for i := 0; i < 10; i += 2 {
		parties = append(parties, fmt.Sprintf("bidder%d", i))
	}
	parties = append(parties, "broker")
	nets, register := p2pNetworks(ctx, b, parties)
	c.NetworkOf = func(party string) transport.Network { return nets[party] }
	c.OnSpec = register
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := c.RunSample(ctx, AuctionVickrey, 10, os.Stderr)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(t.EndToEnd.Seconds(), "s/job")
	}
}

// BenchmarkTender20OverLibp2p is a 20-quote tender with the four members,
// the 20 quoting members and the demander each on its own libp2p host on
// loopback: input delivery, the checks, the ranking, the commitments,
// signing and delivery of the award and of every assignment (no ledger;
// the e2e suite's network has 4 members, hence at most 4 quotes). The HE
// preset is the test one: a tender does not use it.
func BenchmarkTender20OverLibp2p(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	preset, err := he.InsecureTestPreset()
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCluster(ctx, preset, 4, 3)
	if err != nil {
		b.Fatal(err)
	}
	parties := append([]string(nil), c.Members...)
	for k := 0; k < 20; k++ {
		parties = append(parties, fmt.Sprintf("q%d", k))
	}
	parties = append(parties, "demander")
	nets, register := p2pNetworks(ctx, b, parties)
	c.NetworkOf = func(party string) transport.Network { return nets[party] }
	c.OnSpec = register
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := c.RunSample(ctx, Tender, 20, os.Stderr)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(t.EndToEnd.Seconds(), "s/job")
	}
}
