package jobrun

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

// testCluster is a 3-of-4 committee on the INSECURE test preset, set up once
// per test binary (the HE key generation dominates).
var (
	clusterOnce sync.Once
	clusterVal  *Cluster
	clusterErr  error
)

func testCluster(t *testing.T) *Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		preset, err := he.InsecureTestPreset()
		if err != nil {
			clusterErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		clusterVal, clusterErr = NewCluster(ctx, preset, 4, 3)
	})
	if clusterErr != nil {
		t.Fatalf("cluster setup: %v", clusterErr)
	}
	// A fresh network per test: session IDs are per job anyway, and a test's
	// leftovers must not reach the next.
	return &Cluster{Preset: clusterVal.Preset, Members: clusterVal.Members, Keys: clusterVal.Keys,
		Record: clusterVal.Record, Network: transport.NewMemoryNetwork()}
}

func sizeFor(typ Type) int {
	switch typ {
	case CreditScore:
		return 100
	case Aggregate:
		return 50
	case Clearing:
		return 4
	}
	return 5
}

func TestEveryJobTypeEndToEnd(t *testing.T) {
	c := testCluster(t)
	for _, typ := range Types() {
		t.Run(string(typ), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			spec, inputs, check, err := SampleJob(typ, sizeFor(typ), c.Members, rand.New(rand.NewPCG(1, uint64(len(typ)))))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := c.Run(ctx, spec, inputs, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.Err(); err != nil {
				t.Fatal(err)
			}
			if err := check(rep); err != nil {
				t.Fatal(err)
			}
			// Every member produced the same, valid result record.
			var first *Outcome
			for _, m := range c.Members {
				o := rep.Outcomes[m]
				if o == nil {
					t.Fatalf("member %s: no outcome", m)
				}
				if first == nil {
					first = o
				}
				if string(o.OutputCommitment) != string(first.OutputCommitment) || string(o.Signature) != string(first.Signature) {
					t.Fatalf("member %s signed a different record", m)
				}
			}
			if err := committee.VerifySignature(c.Record.Key, first.Message, first.Signature); err != nil {
				t.Fatalf("result signature: %v", err)
			}
			if typ.IsHE() && first.Public != nil {
				t.Fatal("an HE job revealed something to the committee")
			}
		})
	}
}
