package jobrun_test

import (
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
)

// testCluster is a 3-of-4 committee on the INSECURE test preset, set up once
// per test binary. With t > ⌈n/2⌉ it has no HE keys (its HE setup could not
// check the members' key shares) and runs SS jobs only; HE tests run on
// testCluster24 (2-of-4), clusterFor picks the one a job type needs.
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
		Record: clusterVal.Record, Network: transport.NewMemoryNetwork(), SealingKeys: clusterVal.SealingKeys, ChainID: clusterVal.ChainID}
}

// clusterFor is the test committee a sample job of type typ runs on (see
// SampleJob's thresholds): testCluster24 (2-of-4, HE setup checked) for HE
// jobs, testCluster (3-of-4, no HE keys) for SS jobs.
func clusterFor(t *testing.T, typ Type) *Cluster {
	t.Helper()
	if typ.IsHE() {
		return testCluster24(t)
	}
	return testCluster(t)
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
	for _, typ := range jobspec.Types() {
		t.Run(string(typ), func(t *testing.T) {
			c := clusterFor(t, typ)
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
			for _, m := range c.Members {
				if o := rep.Outcomes[m]; (typ.IsHE() || typ == AuctionFirst || typ == AuctionVickrey || typ == Tender) && o.Public != nil {
					t.Fatalf("member %s learnt %+v: only the recipient may learn an HE or auction result", m, o.Public)
				}
			}
			if a := rep.Result.Auction; a != nil {
				// The recipient's opening of the record's commitment.
				salt, err1 := hex.DecodeString(rep.Result.OpeningSalt)
				oc, err2 := ParseElement(first.OutputCommitment)
				s, err3 := ParseElement(salt)
				if err := errors.Join(err1, err2, err3); err != nil {
					t.Fatal(err)
				}
				if got := ss.NativeCommit(fr.Vector{fr.NewElement(uint64(a.WinnerIndex)), fr.NewElement(a.Price)}, s); !got.Equal(&oc) {
					t.Fatal("the recipient's winner, price and salt do not open the signed output commitment")
				}
			}
			if tr := rep.Result.Tender; tr != nil {
				// What the demander posts to its order opens the signed
				// output commitment (the ledger's order.award check).
				checkTenderOpening(t, tr, first.OutputCommitment)
			}
		})
	}
}

// TestCommitteeKeysSurviveRestart reloads every member's keys from its store
// (as a restarted node does) and runs an HE job with them. A 3-of-4
// committee's keys reload without HE keys (it never had any).
func TestCommitteeKeysSurviveRestart(t *testing.T) {
	c := testCluster24(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	loaded := make([]*CommitteeKeys, len(c.Members))
	for i := range c.Members {
		k, err := LoadCommittee(ctx, cluster24Val.Stores[i], c.Preset, LocalCommitteeID, i)
		if err != nil {
			t.Fatal(err)
		}
		if k.BLS.Key.ID() != c.Keys[i].BLS.Key.ID() || k.HE.KeyDigest() != c.Keys[i].HE.KeyDigest() || !k.HE.SharesChecked() {
			t.Fatalf("member %d: reloaded keys differ", i)
		}
		loaded[i] = k
	}
	if _, err := LoadCommittee(ctx, cluster24Val.Stores[0], c.Preset, LocalCommitteeID, 1); err == nil {
		t.Fatal("member 1's keys loaded from member 0's store")
	}
	c34 := testCluster(t)
	for i := range c34.Members {
		k, err := LoadCommittee(ctx, clusterVal.Stores[i], c34.Preset, LocalCommitteeID, i)
		if err != nil || k.HE != nil || c34.Keys[i].HE != nil || k.BLS.Key.ID() != c34.Keys[i].BLS.Key.ID() {
			t.Fatalf("3-of-4 member %d reloaded: %+v, %v; want its BLS share and no HE keys", i, k, err)
		}
	}
	if c34.Record.HEPublicKey != nil {
		t.Fatal("a 3-of-4 committee published an HE public key")
	}
	c.Keys = loaded
	spec, inputs, want := heSpecWithOutsideProviders(t, c, "after-restart")
	rep, err := c.Run(ctx, spec, inputs, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if got := rep.Result.Aggregate; got.Sum != want.Sum || got.Count != want.Count {
		t.Fatalf("aggregate %+v, plaintext %+v", got, want)
	}
}

// TestSetupNamesAbsentMember: a member that never joins the setup is named.
func TestSetupNamesAbsentMember(t *testing.T) {
	preset, err := he.InsecureTestPreset()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 3
	nw := transport.NewMemoryNetwork()
	lts := make([]*committee.LongTermKey, n)
	pubs := make([]committee.LongTermPublicKey, n)
	for i := range lts {
		lts[i] = committee.GenerateLongTermKey()
		pubs[i] = lts[i].Public()
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n-1; i++ { // member 2 never shows up
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := nw.Open(ctx, "setup", transport.PartyID(i), n)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close()
			_, errs[i] = SetupCommittee(ctx, conn, CommitteeConfig{CommitteeID: "absent", Preset: preset, Threshold: 2,
				LongTerm: lts[i], Members: pubs, StepTimeout: time.Second, MemberIDs: []string{"a", "b", "c"}}, he.NewMemoryStore())
		}()
	}
	wg.Wait()
	for i := 0; i < n-1; i++ {
		var fe *FaultError
		if !errors.As(errs[i], &fe) || fe.Kind != FaultMemberDropped || !slices.Equal(fe.Parties, []string{"c"}) {
			t.Fatalf("member %d: want member-dropped naming c, got %v", i, errs[i])
		}
	}
}

// checkTenderOpening checks a tender result as the ledger checks an award:
// the commitments hash to the signed output commitment and the award with
// its salt opens the first.
func checkTenderOpening(t *testing.T, tr *TenderResult, outputCommitment []byte) {
	t.Helper()
	oc, err := ParseElement(outputCommitment)
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]fr.Element, len(tr.Commitments))
	for i, h := range tr.Commitments {
		b, err := hex.DecodeString(h)
		if err == nil {
			cs[i], err = ParseElement(b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := jobs.CombineCommitments(cs); !got.Equal(&oc) {
		t.Fatal("the tender's commitments do not hash to the signed output commitment")
	}
	saltB, err := hex.DecodeString(tr.AwardSalt)
	if err != nil {
		t.Fatal(err)
	}
	salt, err := ParseElement(saltB)
	if err != nil {
		t.Fatal(err)
	}
	award := make(fr.Vector, len(tr.Award))
	for i, a := range tr.Award {
		award[i].SetUint64(a)
	}
	if got := ss.NativeCommit(award, salt); !got.Equal(&cs[0]) {
		t.Fatal("the award and its salt do not open commitment 0")
	}
}
