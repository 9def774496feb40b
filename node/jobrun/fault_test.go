package jobrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"

	. "github.com/cohortnet/cohort/node/jobrun"
	. "github.com/cohortnet/cohort/node/jobrun/jobruntest"
	. "github.com/cohortnet/cohort/node/jobrun/plainref"
)

// wantFault checks that err is a *FaultError of kind naming exactly parties.
func wantFault(t *testing.T, who string, err error, kind FaultKind, parties ...string) {
	t.Helper()
	var fe *FaultError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: want a %s fault naming %v, got %v", who, kind, parties, err)
	}
	if fe.Kind != kind || !slices.Equal(fe.Parties, parties) {
		t.Fatalf("%s: want a %s fault naming %v, got %s naming %v (%v)", who, kind, parties, fe.Kind, fe.Parties, err)
	}
	if !strings.Contains(fe.Reason(), parties[0]) {
		t.Fatalf("%s: reason %q does not name %s", who, fe.Reason(), parties[0])
	}
}

// otherCommitment is a valid commitment to another input of the provider.
func otherCommitment(t *testing.T, c *Cluster, spec *Spec, provider string, file []byte) []byte {
	t.Helper()
	in, err := PrepareInput(spec, provider, file, ProviderKeys{Preset: c.Preset, CommitteeHEKey: c.Record.HEPublicKey})
	if err != nil {
		t.Fatal(err)
	}
	return in.Commitment
}

func TestInputNotMatchingCommitmentNamesProvider(t *testing.T) {
	for _, typ := range []Type{AuctionVickrey, CreditScore} {
		t.Run(string(typ), func(t *testing.T) {
			c := clusterFor(t, typ)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			spec, inputs, _, err := SampleJob(typ, sizeFor(typ), c.Members, rand.New(rand.NewPCG(2, 2)))
			if err != nil {
				t.Fatal(err)
			}
			cheat := spec.Providers[2]
			// The provider posts a commitment to one input and sends another.
			var other []byte
			if typ == AuctionVickrey {
				bid := uint64(1)
				other, _ = json.Marshal(AuctionInput{Bid: &bid})
			} else {
				var in CreditInput
				if err := json.Unmarshal(inputs[cheat], &in); err != nil {
					t.Fatal(err)
				}
				in.Features[0][0] += 0.5
				other, _ = json.Marshal(in)
			}
			rep, err := c.Run(ctx, spec, inputs, RunOptions{Commitments: map[string][]byte{cheat: otherCommitment(t, c, spec, cheat, other)}})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range c.Members {
				wantFault(t, "member "+m, rep.MemberErrs[m], FaultCommitmentMismatch, cheat)
			}
			if rep.Result != nil {
				t.Fatal("the recipient got a result of an aborted job")
			}
		})
	}
}

func TestSilentProviderNamedAtDeadline(t *testing.T) {
	for _, typ := range []Type{AuctionFirst, Aggregate} {
		t.Run(string(typ), func(t *testing.T) {
			c := clusterFor(t, typ)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			spec, inputs, _, err := SampleJob(typ, sizeFor(typ), c.Members, rand.New(rand.NewPCG(3, 3)))
			if err != nil {
				t.Fatal(err)
			}
			silent := spec.Providers[1]
			const deadline = 2 * time.Second
			start := time.Now()
			rep, err := c.Run(ctx, spec, inputs, RunOptions{Silent: []string{silent}, InputTimeout: deadline})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range c.Members {
				wantFault(t, "member "+m, rep.MemberErrs[m], FaultMissingInput, silent)
			}
			// Members give up at the input deadline, not at the context's.
			if took := time.Since(start); took > 40*time.Second {
				t.Fatalf("members waited %v", took)
			}
		})
	}
}

// heSpecWithOutsideProviders is an aggregate job on c (a 2-of-4 committee,
// testCluster24) whose providers and recipient are not committee members,
// so a member can be offline without taking an input with it.
func heSpecWithOutsideProviders(t *testing.T, c *Cluster, id string) (*Spec, map[string][]byte, AggregateResult) {
	t.Helper()
	p := AggregateParams{Bins: 4, Lo: 0, Hi: 100}
	params, _ := json.Marshal(p)
	spec := &Spec{ID: id, Type: Aggregate, Params: params, Providers: []string{"p0", "p1", "p2"},
		Committee: c.Members, Threshold: 2, Recipient: "r"}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	values := [][]int64{{1, 5, 99, 42}, {7, 7, 7}, {0, 120, -3, 64, 50}}
	inputs := map[string][]byte{}
	for i, pr := range spec.Providers {
		inputs[pr], _ = json.Marshal(AggregateInput{Values: values[i]})
	}
	return spec, inputs, PlainAggregate(p, values)
}

// TestHEJobCompletesWithMemberOffline: with one of 4 members offline
// (t = 2) the other three key-switch the result with a family of 2-subsets
// that the recipient compares, and the job completes. With two offline the
// two left key-switch with their one subset, so nothing can be compared;
// since one deviant can force that case (review M1), the recipient rejects
// a single-subset result when the committee is larger than t: no result,
// nothing signed, and nobody named (the job can be retried with more
// members online).
func TestHEJobCompletesWithMemberOffline(t *testing.T) {
	c := testCluster24(t)
	for _, offline := range [][]string{{"n0"}, {"n0", "n3"}, {"n2", "n3"}} { // inside and outside the first t-subset
		name := strings.Join(offline, "+")
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			spec, inputs, want := heSpecWithOutsideProviders(t, c, "offline-"+strings.Join(offline, "-"))
			rep, err := c.Run(ctx, spec, inputs, RunOptions{Offline: offline, StepTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if len(offline) == 1 {
				if err := rep.Err(); err != nil {
					t.Fatal(err)
				}
				if got := rep.Result.Aggregate; got.Sum != want.Sum || got.Count != want.Count {
					t.Fatalf("aggregate %+v, plaintext %+v", got, want)
				}
				return
			}
			if !errors.Is(rep.RecipientErr, he.ErrSingleSubset) || rep.Result != nil {
				t.Fatalf("recipient: want he.ErrSingleSubset and no result, got %v", rep.RecipientErr)
			}
			wantUnnamedBadOutput(t, "recipient", rep.RecipientErr)
			for m, out := range rep.Outcomes {
				if out != nil && out.Signature != nil {
					t.Fatalf("member %s signed a single-subset result", m)
				}
			}
		})
	}
}

// killingNetwork closes party victim's committee session after it sent
// `after` messages, as if its node died mid-job.
type killingNetwork struct {
	transport.Network
	after int64
}

func (k killingNetwork) Open(ctx context.Context, id string, self transport.PartyID, n int) (transport.Conn, error) {
	conn, err := k.Network.Open(ctx, id, self, n)
	if err != nil || !strings.HasSuffix(id, "/"+SessionMPC) {
		return conn, err
	}
	return &killingConn{Conn: conn, left: k.after}, nil
}

type killingConn struct {
	transport.Conn
	left int64
	sent atomic.Int64
}

func (c *killingConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, b []byte) error {
	if c.sent.Add(1) > c.left {
		c.Conn.Close()
		return transport.ErrClosed
	}
	return c.Conn.Send(ctx, to, r, b)
}

func TestSSMemberKilledMidJobThenRerun(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec, inputs, check, err := SampleJob(AuctionVickrey, 6, c.Members, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	const victim = "n2"
	healthy := c.Network
	c.NetworkOf = func(party string) transport.Network {
		if party == victim {
			return killingNetwork{Network: healthy, after: 40} // well inside the comparisons
		}
		return healthy
	}
	rep, err := c.Run(ctx, spec, inputs, RunOptions{StepTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		if m == victim {
			continue
		}
		wantFault(t, "member "+m, rep.MemberErrs[m], FaultMemberDropped, victim)
	}
	if rep.Result != nil {
		t.Fatal("the recipient got a result of a failed attempt")
	}

	// The node posts job.abort naming n2; the rerun (next attempt, fresh
	// sessions) succeeds once the member is back.
	c.NetworkOf = nil
	rep, err = c.Run(ctx, spec, inputs, RunOptions{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if err := check(rep); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedInputNamesProvider(t *testing.T) {
	for _, typ := range []Type{Clearing, Aggregate} {
		t.Run(string(typ), func(t *testing.T) {
			c := clusterFor(t, typ)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			spec, inputs, _, err := SampleJob(typ, sizeFor(typ), c.Members, rand.New(rand.NewPCG(6, 6)))
			if err != nil {
				t.Fatal(err)
			}
			bad := spec.Providers[1]
			rep, err := c.Run(ctx, spec, inputs, RunOptions{Tamper: func(in *PreparedInput) {
				if in.Provider == bad {
					TruncateMessages(in)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range c.Members {
				wantFault(t, "member "+m, rep.MemberErrs[m], FaultBadInput, bad)
			}
		})
	}
}

// forgingNetwork alters the signature in every output message party sends to
// the recipient, as a faulty member would.
type forgingNetwork struct{ transport.Network }

func (f forgingNetwork) Open(ctx context.Context, id string, self transport.PartyID, n int) (transport.Conn, error) {
	conn, err := f.Network.Open(ctx, id, self, n)
	if err != nil || !strings.HasSuffix(id, "/"+SessionIO) {
		return conn, err
	}
	return forgingConn{conn}, nil
}

type forgingConn struct{ transport.Conn }

func (c forgingConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, b []byte) error {
	if r == OutputRound {
		b = append([]byte(nil), b...)
		b[6+4+32+4] ^= 1 // first byte of the signature chunk
	}
	return c.Conn.Send(ctx, to, r, b)
}

// shareTamperingNetwork rewrites every output message party sends to the
// recipient with tamper, as a faulty member would.
type shareTamperingNetwork struct {
	transport.Network
	tamper func([]byte) ([]byte, error)
}

func (f shareTamperingNetwork) Open(ctx context.Context, id string, self transport.PartyID, n int) (transport.Conn, error) {
	conn, err := f.Network.Open(ctx, id, self, n)
	if err != nil || !strings.HasSuffix(id, "/"+SessionIO) {
		return conn, err
	}
	return shareTamperingConn{conn, f.tamper}, nil
}

type shareTamperingConn struct {
	transport.Conn
	tamper func([]byte) ([]byte, error)
}

func (c shareTamperingConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, b []byte) error {
	if r == OutputRound {
		var err error
		if b, err = c.tamper(b); err != nil {
			return fmt.Errorf("test: tamper with the output message: %w", err)
		}
	}
	return c.Conn.Send(ctx, to, r, b)
}

// runWithTamperedShares runs an auction in which member bad rewrites its
// output message to the recipient with tamper, and checks that the
// recipient names bad and returns no result.
func runWithTamperedShares(t *testing.T, c *Cluster, spec *Spec, inputs map[string][]byte, attempt int, bad string, tamper func([]byte) ([]byte, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	healthy := c.Network
	c.NetworkOf = func(party string) transport.Network {
		if party == bad {
			return shareTamperingNetwork{healthy, tamper}
		}
		return healthy
	}
	defer func() { c.NetworkOf = nil }()
	rep, err := c.Run(ctx, spec, inputs, RunOptions{Attempt: attempt}) // fresh sessions
	if err != nil {
		t.Fatal(err)
	}
	if rep.RecipientErr == nil {
		t.Logf("attempt %d, bad %s: recipient accepted; member errors %v", attempt, bad, rep.MemberErrs)
	}
	wantFault(t, "recipient", rep.RecipientErr, FaultBadOutput, bad)
	if rep.Result != nil {
		t.Fatal("the recipient accepted a result with a wrong share")
	}
}

// TestRecipientNamesWrongAuctionShare: the auction's winner and price reach
// the recipient only as shares; a member whose well-formed share does not
// agree with the others' (first of the t+1 tried, or not among them) is
// named.
//
// The share is shifted by one in the field (ShiftOutputSalt), so it is
// wrong and well-formed on every run. The test used to flip the low bit of
// the share encoding's last byte instead: the top byte of a uniformly random
// element's top limb is that of the modulus, 0x30, with probability about
// 0.8 %, and the flip then made the element non-reduced, a malformed share
// the recipient left out unnamed because t+1 others sufficed; that was the
// failure seen once in CI (about 1 run in 100 locally, under load or not).
func TestRecipientNamesWrongAuctionShare(t *testing.T) {
	c := testCluster(t)
	spec, inputs, _, err := SampleJob(AuctionVickrey, 4, c.Members, rand.New(rand.NewPCG(8, 8)))
	if err != nil {
		t.Fatal(err)
	}
	for attempt, bad := range []string{c.Members[0], c.Members[len(c.Members)-1]} {
		runWithTamperedShares(t, c, spec, inputs, attempt, bad, ShiftOutputSalt)
	}
}

// TestRecipientNamesMalformedAuctionShare: a member whose output share does
// not even decode (a non-reduced field element) is named too, although the
// t+1 other members' shares would open the result; it is never used.
func TestRecipientNamesMalformedAuctionShare(t *testing.T) {
	c := testCluster(t)
	spec, inputs, _, err := SampleJob(AuctionVickrey, 4, c.Members, rand.New(rand.NewPCG(8, 8)))
	if err != nil {
		t.Fatal(err)
	}
	for attempt, bad := range []string{c.Members[0], c.Members[len(c.Members)-1]} {
		runWithTamperedShares(t, c, spec, inputs, attempt, bad, UnreducedOutputSalt)
	}
}

// TestRecipientNamesWrongClearingAndTenderShare: the rule the auctions
// follow (TestRecipientNamesWrongAuctionShare) holds for a clearing's level
// salt and a tender's award: a member whose well-formed share is off the
// polynomial of the others' is named and the result refused, whether its
// share is among the first t+1 in committee order (n0; a clearing used to
// reconstruct from those and fail naming nobody) or after them (n3; it used
// to go unchecked).
func TestRecipientNamesWrongClearingAndTenderShare(t *testing.T) {
	c := testCluster(t)
	for _, typ := range []Type{Clearing, Tender} {
		t.Run(string(typ), func(t *testing.T) {
			spec, inputs, _, err := SampleJob(typ, 4, c.Members, rand.New(rand.NewPCG(10, 10)))
			if err != nil {
				t.Fatal(err)
			}
			if spec.MemberIndex(spec.Recipient) >= 0 {
				// A member's message to itself does not cross the
				// network the test tampers with: have a bidder receive
				// the clearing's result instead of n0.
				spec.ID += "-bidder-recipient"
				spec.Recipient = spec.Providers[0]
				if err := spec.Validate(); err != nil {
					t.Fatal(err)
				}
			}
			for attempt, bad := range []string{c.Members[0], c.Members[len(c.Members)-1]} {
				runWithTamperedShares(t, c, spec, inputs, attempt, bad, ShiftOutputShare(typ))
			}
		})
	}
}

// TestPartnerNamesWrongAssignment: a tender quote's price slot opens its
// assignment by the same rule: a member whose well-formed share is off the
// others' polynomial, first in committee order or last, is named and the
// assignment refused; the demander's award is unaffected.
func TestPartnerNamesWrongAssignment(t *testing.T) {
	c := testCluster(t)
	spec, inputs, _, err := SampleJob(Tender, 4, c.Members, rand.New(rand.NewPCG(11, 11)))
	if err != nil {
		t.Fatal(err)
	}
	for attempt, bad := range []string{c.Members[0], c.Members[len(c.Members)-1]} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		healthy := c.Network
		c.NetworkOf = func(party string) transport.Network {
			if party == bad {
				return allocationTamperingNetwork{healthy, ShiftAllocationSalt}
			}
			return healthy
		}
		rep, err := c.Run(ctx, spec, inputs, RunOptions{Attempt: attempt})
		c.NetworkOf = nil
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.RecipientErr; err != nil {
			t.Fatalf("demander: %v", err)
		}
		for k := 0; k < len(spec.Providers)/2; k++ {
			p := spec.Providers[2*k]
			wantFault(t, "price slot "+p, rep.ProviderErrs[p], FaultBadOutput, bad)
			if pr := rep.ProviderResult[p]; pr != nil && pr.Tender != nil {
				t.Fatalf("price slot %s got an assignment from a wrong share", p)
			}
		}
	}
}

// allocationTamperingNetwork rewrites every allocation message party sends
// to a clearing bidder with tamper, as a faulty member would.
type allocationTamperingNetwork struct {
	transport.Network
	tamper func([]byte) ([]byte, error)
}

func (f allocationTamperingNetwork) Open(ctx context.Context, id string, self transport.PartyID, n int) (transport.Conn, error) {
	conn, err := f.Network.Open(ctx, id, self, n)
	if err != nil || !strings.HasSuffix(id, "/"+SessionIO) {
		return conn, err
	}
	return allocationTamperingConn{conn, f.tamper}, nil
}

type allocationTamperingConn struct {
	transport.Conn
	tamper func([]byte) ([]byte, error)
}

func (c allocationTamperingConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, b []byte) error {
	if IsAllocationRound(r) {
		var err error
		if b, err = c.tamper(b); err != nil {
			return fmt.Errorf("test: tamper with the allocation message: %w", err)
		}
	}
	return c.Conn.Send(ctx, to, r, b)
}

// TestBidderNamesWrongAllocation: a clearing bidder names the member whose
// allocation message is malformed, carries another commitment than the one
// t+1 members agree on, or carries a well-formed share off the polynomial
// of the others' (jobs.OpenOutput's rule), first in committee order or
// not, and gets no allocation; the committee and the recipient are
// unaffected.
func TestBidderNamesWrongAllocation(t *testing.T) {
	c := testCluster(t)
	spec, inputs, _, err := SampleJob(Clearing, sizeFor(Clearing), c.Members, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	truncate := func(b []byte) ([]byte, error) { return b[:len(b)-1], nil }
	cases := []struct {
		name, bad string
		tamper    func([]byte) ([]byte, error)
	}{
		{"other-commitment-first", c.Members[0], ShiftAllocationCommitment},
		{"other-commitment-last", c.Members[len(c.Members)-1], ShiftAllocationCommitment},
		{"malformed", c.Members[1], truncate},
		{"wrong-share-first", c.Members[0], ShiftAllocationSalt},
		{"wrong-share-last", c.Members[len(c.Members)-1], ShiftAllocationSalt},
	}
	for attempt, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			healthy := c.Network
			c.NetworkOf = func(party string) transport.Network {
				if party == tc.bad {
					return allocationTamperingNetwork{healthy, tc.tamper}
				}
				return healthy
			}
			defer func() { c.NetworkOf = nil }()
			rep, err := c.Run(ctx, spec, inputs, RunOptions{Attempt: attempt})
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.RecipientErr; err != nil {
				t.Fatalf("recipient: %v", err)
			}
			for _, m := range c.Members {
				if err := rep.MemberErrs[m]; err != nil {
					t.Fatalf("member %s: %v", m, err)
				}
			}
			for _, p := range spec.Providers {
				wantFault(t, "bidder "+p, rep.ProviderErrs[p], FaultBadOutput, tc.bad)
				if rep.ProviderResult[p] != nil {
					t.Fatalf("bidder %s got an allocation from tampered messages", p)
				}
			}
		})
	}
}

func TestRecipientChecksEachMembersOutput(t *testing.T) {
	c := testCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	forge := func(bad string) func(string) transport.Network {
		healthy := c.Network
		return func(party string) transport.Network {
			if party == bad {
				return forgingNetwork{healthy}
			}
			return healthy
		}
	}

	// SS: every member's message is checked, so a forged output is named,
	// first in committee order or not (the recipient takes the public part
	// t+1 members agree on, not the first it reads).
	spec, inputs, _, err := SampleJob(AuctionFirst, 4, c.Members, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	for attempt, bad := range []string{"n0", "n3"} {
		c.NetworkOf = forge(bad)
		rep, err := c.Run(ctx, spec, inputs, RunOptions{Attempt: attempt})
		if err != nil {
			t.Fatal(err)
		}
		wantFault(t, "recipient", rep.RecipientErr, FaultBadOutput, bad)
		if rep.Result != nil {
			t.Fatal("the recipient accepted a result with a forged signature")
		}
	}

	// HE (on the 2-of-4 committee): one verified copy suffices; the forged
	// one is skipped.
	c = testCluster24(t)
	hspec, hinputs, want := heSpecWithOutsideProviders(t, c, "forged-output")
	c.NetworkOf = forge("n0")
	rep, err := c.Run(ctx, hspec, hinputs, RunOptions{})
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
