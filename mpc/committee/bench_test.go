package committee

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/transport"
)

// BenchmarkDKG runs a whole n=4, t=3 DKG over the in-memory transport; all
// four members share the process (and its cores), so ns/op is the committee's
// total CPU spread over the available cores, not one member's cost.
func BenchmarkDKG(b *testing.B) {
	for _, c := range []struct{ n, t int }{{4, 3}, {7, 5}} {
		b.Run(map[int]string{4: "n=4,t=3", 7: "n=7,t=5"}[c.n], func(b *testing.B) {
			keys, pubs := newLongTermKeys(c.n)
			defer reportCPU(b)()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tc := runDKGWithKeys(b, keys, pubs, c.t, time.Minute, nil, nil)
				for j, err := range tc.errs {
					if err != nil {
						b.Fatalf("member %d: %v", j, err)
					}
				}
			}
		})
	}
}

func BenchmarkSignPartial(b *testing.B) {
	s := sharedCommittee().shares[0]
	msg := mustMessage(b, "bench")
	for i := 0; i < b.N; i++ {
		if _, err := SignPartial(s, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPartial(b *testing.B) {
	s := sharedCommittee().shares[0]
	msg := mustMessage(b, "bench")
	p, _ := SignPartial(s, msg)
	for i := 0; i < b.N; i++ {
		if err := VerifyPartial(s.Key, msg, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCombine includes the final check of the combined signature.
func BenchmarkCombine(b *testing.B) {
	shares := sharedCommittee().shares
	msg := mustMessage(b, "bench")
	var ps [][]byte
	for _, s := range shares[:3] {
		p, _ := SignPartial(s, msg)
		ps = append(ps, p)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Combine(shares[0].Key, msg, ps); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	shares := sharedCommittee().shares
	msg := mustMessage(b, "bench")
	sig := signWith(b, shares[:3], msg)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := VerifySignature(shares[0].Key, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignRound is one signing round of all four members in process.
func BenchmarkSignRound(b *testing.B) {
	shares := sharedCommittee().shares
	msg := mustMessage(b, "bench")
	nw := transport.NewMemoryNetwork()
	conns := make([]transport.Conn, len(shares))
	for i := range shares {
		c, err := nw.Open(context.Background(), "bench-sign", transport.PartyID(i), len(shares))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	defer reportCPU(b)()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		var wg sync.WaitGroup
		errs := make([]error, len(shares))
		for i := range shares {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = SignRound(context.Background(), conns[i], transport.Round(it), shares[i], msg)
			}(i)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				b.Fatalf("member %d: %v", i, err)
			}
		}
	}
}

// reportCPU adds the process CPU time per operation (cpu-ms/op) to a
// benchmark. On the shared 2-core machine wall time for the multi-member
// benchmarks mostly measures the other tenants; CPU time is what a committee
// spends in total.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
