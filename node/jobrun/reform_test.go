package jobrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
	. "github.com/cohortnet/cohort/node/jobrun/plainref"
)

// A 2-of-4 committee (t = ⌈n/2⌉: its HE setup checks every member's key
// shares, so it runs HE jobs; every HE test uses it): with one member gone,
// 3 > t remain, so a re-formed family still has several subsets to compare.
var (
	cluster24Once sync.Once
	cluster24Val  *Cluster
	cluster24Err  error
)

func testCluster24(t *testing.T) *Cluster {
	t.Helper()
	cluster24Once.Do(func() {
		preset, err := he.InsecureTestPreset()
		if err != nil {
			cluster24Err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cluster24Val, cluster24Err = NewCluster(ctx, preset, 4, 2)
	})
	if cluster24Err != nil {
		t.Fatalf("cluster setup: %v", cluster24Err)
	}
	return &Cluster{Preset: cluster24Val.Preset, Members: cluster24Val.Members, Keys: cluster24Val.Keys,
		Record: cluster24Val.Record, Network: transport.NewMemoryNetwork(), SealingKeys: cluster24Val.SealingKeys, ChainID: cluster24Val.ChainID}
}

// firstPCKSRound is the round of the key-switching shares of the HE output
// protocol's first attempt (mpc/he: 2^32 + 2^8·attempt + step, step 1).
const firstPCKSRound = transport.Round(1<<32 + 1)

// vanishingNetwork makes a member vanish right after it sent its
// key-switching shares of the first attempt (to the peers in reach only):
// from then on every message it sends, on any session, is silently lost,
// as from a node killed without its peers' transport noticing (QUIC notices
// only at its idle timeout). It has joined the key-switching family, so the
// others finish the attempt with it (or, those it did not reach, cannot).
type vanishingNetwork struct {
	transport.Network
	// round is the key-switching round after which the member vanishes
	// (0: firstPCKSRound).
	round transport.Round
	// after is the number of sends in that round before it vanishes (0:
	// one per other member).
	after int32
	reach func(to transport.PartyID) bool
	gone  *atomic.Bool
	// onGone, if set, runs once when the member vanishes (e.g. closes its
	// transport, as a process that dies).
	onGone func()
}

func (v vanishingNetwork) Open(ctx context.Context, id string, self transport.PartyID, n int) (transport.Conn, error) {
	conn, err := v.Network.Open(ctx, id, self, n)
	if err != nil {
		return nil, err
	}
	return &vanishingConn{Conn: conn, mpc: strings.HasSuffix(id, "/"+SessionMPC), v: v}, nil
}

type vanishingConn struct {
	transport.Conn
	mpc  bool
	v    vanishingNetwork
	sent atomic.Int32
}

func (c *vanishingConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, b []byte) error {
	if c.v.gone.Load() {
		return nil // lost
	}
	at := c.v.round
	if at == 0 {
		at = firstPCKSRound
	}
	if c.mpc && r == at {
		var err error
		if c.v.reach(to) {
			err = c.Conn.Send(ctx, to, r, b)
		}
		after := c.v.after
		if after == 0 {
			after = int32(c.Conn.Parties() - 1)
		}
		if c.sent.Add(1) == after && !c.v.gone.Swap(true) && c.v.onGone != nil {
			go c.v.onGone() // after this send returned
		}
		return err
	}
	return c.Conn.Send(ctx, to, r, b)
}

// TestHEJobReformsWithoutVanishedMember: member n3 joins the key-switching
// family (its hello reaches everyone) and vanishes after sending its
// key-switching shares, before its candidate reaches the recipient. The
// recipient re-forms the family with the three members it heard from; they
// key-switch again and the one submission completes with the plaintext
// result, signed by members other than n3.
//   - all: n3's shares reached every member, who all finish the first
//     attempt with n3 in the family and send their candidates;
//   - partial: n3's shares reached n0 and n1 only; n2 cannot finish the
//     attempt they finished and stands by, so the re-form counts it.
func TestHEJobReformsWithoutVanishedMember(t *testing.T) {
	t.Parallel() // mostly waits (grace periods); a cluster copy and network of its own
	c := testCluster24(t)
	for _, tc := range []struct {
		name  string
		typ   Type
		reach func(transport.PartyID) bool
	}{
		{"all", CreditScore, func(transport.PartyID) bool { return true }},
		{"partial", Aggregate, func(p transport.PartyID) bool { return p < 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			spec, inputs, check, err := SampleJob(tc.typ, sizeFor(tc.typ), c.Members, rand.New(rand.NewPCG(11, 11)))
			if err != nil {
				t.Fatal(err)
			}
			spec.ID += "-reform-" + tc.name
			spec.Threshold = 2
			if spec.Recipient == "n3" {
				t.Fatal("the vanishing member is the recipient")
			}
			var gone atomic.Bool
			healthy := c.Network
			c.NetworkOf = func(party string) transport.Network {
				if party == "n3" {
					return vanishingNetwork{Network: healthy, reach: tc.reach, gone: &gone}
				}
				return healthy
			}
			defer func() { c.NetworkOf = nil }()
			rep, err := c.Run(ctx, spec, inputs, RunOptions{StepTimeout: 3 * time.Second, CandidateGrace: 15 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if !gone.Load() {
				t.Fatal("n3 never sent its key-switching shares: the test did not exercise a drop inside the family")
			}
			// n3 hears the re-form without it: no outcome, no fault naming
			// itself (node/sched posts nothing for it, so the others'
			// result completes the job).
			var fe *FaultError
			if err := rep.MemberErrs["n3"]; !errors.Is(err, ErrExcluded) || errors.As(err, &fe) {
				t.Fatalf("n3 (vanished): want ErrExcluded and no fault, got %v", err)
			}
			if rep.RecipientErr != nil {
				t.Fatalf("recipient: %v", rep.RecipientErr)
			}
			for _, m := range []string{"n0", "n1", "n2"} {
				if err := rep.MemberErrs[m]; err != nil {
					t.Fatalf("member %s: %v", m, err)
				}
				if out := rep.Outcomes[m]; out == nil || out.Signature == nil || slices.Contains(out.Signers, 3) {
					t.Fatalf("member %s: outcome %+v", m, out)
				}
			}
			delete(rep.MemberErrs, "n3")
			if err := check(rep); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestHEReformStillDetectsDeviant: as above, n3 vanishes inside the family,
// and n1 sends wrong key-switching shares in every epoch. The re-formed
// family of n0, n1, n2 has a subset without n1, so the recipient still
// rejects; nothing is signed.
func TestHEReformStillDetectsDeviant(t *testing.T) {
	t.Parallel() // mostly waits (grace periods); a cluster copy and network of its own
	c := testCluster24(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := AggregateParams{Bins: 4, Lo: 0, Hi: 100}
	params, _ := json.Marshal(p)
	spec := &Spec{ID: "reform-deviant", Type: Aggregate, Params: params, Providers: []string{"p0", "p1"},
		Committee: c.Members, Threshold: 2, Recipient: "r"}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{}
	for i, pr := range spec.Providers {
		inputs[pr], _ = json.Marshal(AggregateInput{Values: []int64{int64(10 * i), 42}})
	}
	dc := withDeviant(c, 1, he.Deviation{Random: true})
	var gone atomic.Bool
	healthy := dc.Network
	dc.NetworkOf = func(party string) transport.Network {
		if party == "n3" {
			return vanishingNetwork{Network: healthy, reach: func(transport.PartyID) bool { return true }, gone: &gone}
		}
		return healthy
	}
	rep, err := dc.Run(ctx, spec, inputs, RunOptions{StepTimeout: 3 * time.Second, CandidateGrace: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !gone.Load() {
		t.Fatal("n3 never sent its key-switching shares")
	}
	if !errors.Is(rep.RecipientErr, he.ErrKeySwitchMismatch) || rep.Result != nil {
		t.Fatalf("recipient: want he.ErrKeySwitchMismatch and no result, got %v", rep.RecipientErr)
	}
	for _, m := range []string{"n0", "n1", "n2"} {
		wantUnnamedBadOutput(t, "member "+m, rep.MemberErrs[m])
		if out := rep.Outcomes[m]; out != nil && out.Signature != nil {
			t.Fatalf("member %s signed a rejected result", m)
		}
	}
}

// TestHEJobReformsOverLibp2p: the same over the libp2p transport, n3's
// whole network closing as it vanishes (its peers see its streams reset,
// as when its process dies).
func TestHEJobReformsOverLibp2p(t *testing.T) {
	t.Parallel() // mostly waits (grace periods); a cluster copy and network of its own
	c := testCluster24(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	parties := append(slices.Clone(c.Members), "p0", "p1", "r")
	nets, register := p2pNetworks(ctx, t, parties)
	p := AggregateParams{Bins: 4, Lo: 0, Hi: 100}
	params, _ := json.Marshal(p)
	spec := &Spec{ID: "p2p-reform", Type: Aggregate, Params: params, Providers: []string{"p0", "p1"},
		Committee: c.Members, Threshold: 2, Recipient: "r"}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	register(spec)
	values := [][]int64{{3, 50, 99}, {7, 7}}
	inputs := map[string][]byte{}
	for i, pr := range spec.Providers {
		inputs[pr], _ = json.Marshal(AggregateInput{Values: values[i]})
	}
	var gone atomic.Bool
	c.NetworkOf = func(party string) transport.Network {
		if party == "n3" {
			return vanishingNetwork{Network: nets[party], reach: func(transport.PartyID) bool { return true }, gone: &gone,
				onGone: func() { nets["n3"].(*transport.P2PNetwork).Close() }}
		}
		return nets[party]
	}
	rep, err := c.Run(ctx, spec, inputs, RunOptions{StepTimeout: 3 * time.Second, CandidateGrace: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !gone.Load() {
		t.Fatal("n3 never sent its key-switching shares")
	}
	t.Logf("n3 (vanished) returned: %v", rep.MemberErrs["n3"])
	if rep.RecipientErr != nil {
		t.Fatalf("recipient: %v", rep.RecipientErr)
	}
	for _, m := range []string{"n0", "n1", "n2"} {
		if err := rep.MemberErrs[m]; err != nil {
			t.Fatalf("member %s: %v", m, err)
		}
	}
	want := PlainAggregate(p, values)
	if got := rep.Result.Aggregate; got == nil || got.Count != want.Count || got.Sum != want.Sum || got.SumSq != want.SumSq || !slices.Equal(got.Histogram, want.Histogram) {
		t.Fatalf("aggregate %+v, plaintext %+v", got, want)
	}
}

// TestHEReformBound: n3 vanishes inside the first epoch's family and n2
// inside the re-formed one's. A 2-of-4 committee allows one re-form (n−t−1):
// the recipient rejects the second epoch naming n2, nothing is signed.
func TestHEReformBound(t *testing.T) {
	t.Parallel() // mostly waits (grace periods); a cluster copy and network of its own
	c := testCluster24(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := AggregateParams{Bins: 4, Lo: 0, Hi: 100}
	params, _ := json.Marshal(p)
	spec := &Spec{ID: "reform-bound", Type: Aggregate, Params: params, Providers: []string{"p0", "p1"},
		Committee: c.Members, Threshold: 2, Recipient: "r"}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{}
	for i, pr := range spec.Providers {
		inputs[pr], _ = json.Marshal(AggregateInput{Values: []int64{int64(10 * i), 42}})
	}
	// mpc/he numbers epoch e's attempts from e·2^12: epoch 1's first
	// key-switching round.
	const epoch1PCKS = transport.Round(1<<32 + (1<<12)<<8 + 1)
	all := func(transport.PartyID) bool { return true }
	var gone3, gone2 atomic.Bool
	healthy := c.Network
	c.NetworkOf = func(party string) transport.Network {
		switch party {
		case "n3":
			return vanishingNetwork{Network: healthy, reach: all, gone: &gone3}
		case "n2":
			return vanishingNetwork{Network: healthy, round: epoch1PCKS, after: 2, reach: all, gone: &gone2} // to n0, n1
		}
		return healthy
	}
	rep, err := c.Run(ctx, spec, inputs, RunOptions{StepTimeout: 3 * time.Second, CandidateGrace: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !gone3.Load() || !gone2.Load() {
		t.Fatalf("n3 vanished: %v, n2 vanished in the re-formed epoch: %v", gone3.Load(), gone2.Load())
	}
	wantFault(t, "recipient", rep.RecipientErr, FaultMemberDropped, "n2")
	for _, m := range []string{"n0", "n1"} {
		wantUnnamedBadOutput(t, "member "+m, rep.MemberErrs[m])
	}
	for m, out := range rep.Outcomes {
		if out != nil && out.Signature != nil {
			t.Fatalf("member %s signed", m)
		}
	}
}

// TestHEDeviantThatVanishesIsCompared (review m2): n1 sends wrong
// key-switching shares and then vanishes, so that its candidate never
// comes. The recipient compares the key switches the epoch delivered before
// it would re-form: they disagree, and it rejects (a re-form without n1
// would have produced a right result and left the deviant unseen).
func TestHEDeviantThatVanishesIsCompared(t *testing.T) {
	t.Parallel() // mostly waits (grace periods); a cluster copy and network of its own
	c := testCluster24(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := AggregateParams{Bins: 4, Lo: 0, Hi: 100}
	params, _ := json.Marshal(p)
	spec := &Spec{ID: "deviant-vanishes", Type: Aggregate, Params: params, Providers: []string{"p0", "p1"},
		Committee: c.Members, Threshold: 2, Recipient: "r"}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{}
	for i, pr := range spec.Providers {
		inputs[pr], _ = json.Marshal(AggregateInput{Values: []int64{int64(10 * i), 42}})
	}
	dc := withDeviant(c, 1, he.Deviation{Random: true})
	var gone atomic.Bool
	healthy := dc.Network
	dc.NetworkOf = func(party string) transport.Network {
		if party == "n1" {
			return vanishingNetwork{Network: healthy, reach: func(transport.PartyID) bool { return true }, gone: &gone}
		}
		return healthy
	}
	rep, err := dc.Run(ctx, spec, inputs, RunOptions{StepTimeout: 3 * time.Second, CandidateGrace: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !gone.Load() {
		t.Fatal("n1 never sent its key-switching shares")
	}
	if !errors.Is(rep.RecipientErr, he.ErrKeySwitchMismatch) || rep.Result != nil {
		t.Fatalf("recipient: want he.ErrKeySwitchMismatch and no result, got %v", rep.RecipientErr)
	}
	for _, m := range []string{"n0", "n2", "n3"} {
		wantUnnamedBadOutput(t, "member "+m, rep.MemberErrs[m])
	}
	for m, out := range rep.Outcomes {
		if out != nil && out.Signature != nil {
			t.Fatalf("member %s signed a rejected result", m)
		}
	}
}

// partialNetwork has a member send its key-switching shares of the first
// attempt to some members only, and behave otherwise.
type partialNetwork struct {
	transport.Network
	reach func(to transport.PartyID) bool
}

func (v partialNetwork) Open(ctx context.Context, id string, self transport.PartyID, n int) (transport.Conn, error) {
	conn, err := v.Network.Open(ctx, id, self, n)
	if err != nil {
		return nil, err
	}
	return &partialConn{Conn: conn, mpc: strings.HasSuffix(id, "/"+SessionMPC), reach: v.reach}, nil
}

type partialConn struct {
	transport.Conn
	mpc   bool
	reach func(to transport.PartyID) bool
}

func (c *partialConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, b []byte) error {
	if c.mpc && r == firstPCKSRound && !c.reach(to) {
		return nil
	}
	return c.Conn.Send(ctx, to, r, b)
}

// TestHEPartialSharesNameNobody (review m1): n3 sends its key-switching
// shares to n0 and n1 only. They and n3 finish; n2 cannot and stands by.
// Everyone answered the recipient, so no re-form can help and it rejects,
// naming nobody: the honest member on standby is not blamed for the
// deviant's withheld shares.
func TestHEPartialSharesNameNobody(t *testing.T) {
	t.Parallel() // mostly waits (grace periods); a cluster copy and network of its own
	c := testCluster24(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := AggregateParams{Bins: 4, Lo: 0, Hi: 100}
	params, _ := json.Marshal(p)
	spec := &Spec{ID: "partial-shares", Type: Aggregate, Params: params, Providers: []string{"p0", "p1"},
		Committee: c.Members, Threshold: 2, Recipient: "r"}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{}
	for i, pr := range spec.Providers {
		inputs[pr], _ = json.Marshal(AggregateInput{Values: []int64{int64(10 * i), 42}})
	}
	healthy := c.Network
	c.NetworkOf = func(party string) transport.Network {
		if party == "n3" {
			return partialNetwork{Network: healthy, reach: func(p transport.PartyID) bool { return p < 2 }}
		}
		return healthy
	}
	rep, err := c.Run(ctx, spec, inputs, RunOptions{StepTimeout: 3 * time.Second, CandidateGrace: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var fe *FaultError
	if !errors.As(rep.RecipientErr, &fe) || fe.Kind != FaultMemberDropped || len(fe.Parties) != 0 || rep.Result != nil {
		t.Fatalf("recipient: want a member-dropped fault naming nobody and no result, got %v", rep.RecipientErr)
	}
	for m, out := range rep.Outcomes {
		if out != nil && out.Signature != nil {
			t.Fatalf("member %s signed a rejected result", m)
		}
	}
	for _, m := range c.Members {
		var me *FaultError
		if errors.As(rep.MemberErrs[m], &me) && slices.Contains(me.Parties, "n2") {
			t.Fatalf("member %s names n2: %v", m, rep.MemberErrs[m])
		}
	}
}
