package committee

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/transport"
	"go.dedis.ch/kyber/v3/sign/schnorr"
)

// tamperConn lets a test rewrite what one member sends.
type tamperConn struct {
	transport.Conn
	tamper func(to transport.PartyID, r transport.Round, payload []byte) []byte
}

func (c *tamperConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, payload []byte) error {
	return c.Conn.Send(ctx, to, r, c.tamper(to, r, append([]byte(nil), payload...)))
}

// dkgWithTamperedMember runs a 4-member, t=3 DKG in which member `bad`'s
// outgoing messages pass through tamper.
func dkgWithTamperedMember(t *testing.T, bad int, tamper func(keys []*LongTermKey, to transport.PartyID, r transport.Round, p []byte) []byte) *testCommittee {
	t.Helper()
	keys, pubs := newLongTermKeys(4)
	return runDKGWithKeys(t, keys, pubs, 3, 5*time.Second, nil, func(i int, c transport.Conn) transport.Conn {
		if i != bad {
			return c
		}
		return &tamperConn{Conn: c, tamper: func(to transport.PartyID, r transport.Round, p []byte) []byte {
			return tamper(keys, to, r, p)
		}}
	})
}

// blamed returns the members that member i's error blames.
func blamed(t *testing.T, tc *testCommittee, i int) []int {
	t.Helper()
	var fe *FaultError
	if !errors.As(tc.errs[i], &fe) {
		t.Fatalf("member %d: want a FaultError, got %v", i, tc.errs[i])
	}
	return fe.Members()
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDKGUndecryptableDealBlamesDealer(t *testing.T) {
	tc := dkgWithTamperedMember(t, 2, func(_ []*LongTermKey, to transport.PartyID, r transport.Round, p []byte) []byte {
		if r == roundDeals && to == 0 {
			p[len(p)-1] ^= 1 // inside the AEAD ciphertext
		}
		return p
	})
	for i := 0; i < 4; i++ {
		if i == 2 {
			continue // the culprit's own view is not specified
		}
		if m := blamed(t, tc, i); !equalInts(m, []int{2}) {
			t.Fatalf("member %d blames %v, want [2]: %v", i, m, tc.errs[i])
		}
	}
	// Member 0 saw it; the others learnt it from member 0's abort.
	var fe *FaultError
	if errors.As(tc.errs[0], &fe); fe.Remote {
		t.Fatal("member 0's own observation is marked remote")
	}
	if errors.As(tc.errs[1], &fe); !fe.Remote {
		t.Fatal("member 1's error should be a remote report")
	}
}

func TestDKGFalseComplaintIsJustifiedAndBlamed(t *testing.T) {
	// Member 1 turns its approval of dealer 2's deal into a (validly signed)
	// complaint. Dealer 2 justifies publicly; the run aborts.
	tc := dkgWithTamperedMember(t, 1, func(keys []*LongTermKey, _ transport.PartyID, r transport.Round, p []byte) []byte {
		if r != roundResponses || p[0] != frameData {
			return p
		}
		rs, err := decodeResponses(p[1:], 4)
		if err != nil {
			panic(err)
		}
		for _, x := range rs {
			if x.Index == 2 {
				x.Response.Approved = false
				sig, err := schnorr.Sign(g2Suite(), keys[1].secret, x.Response.Hash(g2Suite()))
				if err != nil {
					panic(err)
				}
				x.Response.Signature = sig
			}
		}
		return frame(frameData, encodeResponses(rs))
	})
	if m := blamed(t, tc, 2); !equalInts(m, []int{1}) {
		t.Fatalf("dealer 2 blames %v, want [1]: %v", m, tc.errs[2])
	}
	for _, i := range []int{0, 3} {
		// Outsiders cannot tell a false complaint from a dealer that sent a bad
		// encrypted deal and then revealed a good one.
		if m := blamed(t, tc, i); !equalInts(m, []int{1, 2}) {
			t.Fatalf("member %d blames %v, want [1 2]: %v", i, m, tc.errs[i])
		}
	}
}

func TestDKGMalformedMessageIsNamed(t *testing.T) {
	tc := dkgWithTamperedMember(t, 1, func(_ []*LongTermKey, _ transport.PartyID, r transport.Round, p []byte) []byte {
		if r == roundSecretCommits {
			return append(p[:len(p)/2], bytes.Repeat([]byte{0xff}, 100)...)
		}
		return p
	})
	for _, i := range []int{0, 2, 3} {
		if m := blamed(t, tc, i); !equalInts(m, []int{1}) {
			t.Fatalf("member %d blames %v, want [1]: %v", i, m, tc.errs[i])
		}
	}
}

func TestDKGEquivocationIsDetected(t *testing.T) {
	tc := dkgWithTamperedMember(t, 3, func(_ []*LongTermKey, to transport.PartyID, r transport.Round, p []byte) []byte {
		if r == roundConfirm && to == 0 {
			p[5] ^= 1
		}
		return p
	})
	if m := blamed(t, tc, 0); !equalInts(m, []int{3}) {
		t.Fatalf("member 0 blames %v, want [3]: %v", m, tc.errs[0])
	}
	for _, i := range []int{1, 2} {
		if tc.errs[i] != nil {
			t.Fatalf("member %d saw a consistent run but failed: %v", i, tc.errs[i])
		}
	}
}

func TestDKGRejectsBadConfig(t *testing.T) {
	keys, pubs := newLongTermKeys(4)
	nw := transport.NewMemoryNetwork()
	conn, err := nw.Open(context.Background(), "cfg", 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	for name, tc := range map[string]struct {
		self *LongTermKey
		pubs []LongTermPublicKey
		t    int
	}{
		"threshold 1":      {keys[0], pubs, 1},
		"threshold > n":    {keys[0], pubs, 5},
		"wrong self key":   {keys[1], pubs, 3},
		"too few members":  {keys[0], pubs[:3], 3},
		"duplicate member": {keys[0], []LongTermPublicKey{pubs[0], pubs[1], pubs[1], pubs[3]}, 3},
	} {
		if _, err := RunDKG(ctx, conn, tc.self, tc.pubs, DKGConfig{Threshold: tc.t, RoundTimeout: time.Second}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// signRoundMembers runs SignRound for the members in `run`; members in
// `garbage` send a corrupted partial instead; the rest stay silent.
// late[i] reports whether member i's deadline had passed when SignRound
// returned.
func signRoundMembers(t *testing.T, shares []*Share, msg []byte, run, garbage []int, timeout time.Duration) (res []*SignResult, errs []error, late []bool) {
	t.Helper()
	n := len(shares)
	nw := transport.NewMemoryNetwork()
	res = make([]*SignResult, n)
	errs = make([]error, n)
	late = make([]bool, n)
	var wg sync.WaitGroup
	for _, i := range garbage {
		conn, err := nw.Open(context.Background(), "sign", transport.PartyID(i), n)
		if err != nil {
			t.Fatal(err)
		}
		p, err := SignPartial(shares[i], append([]byte("not the message"), msg...))
		if err != nil {
			t.Fatal(err)
		}
		if err := transport.Broadcast(context.Background(), conn, 7, p); err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	for _, i := range run {
		conn, err := nw.Open(context.Background(), "sign", transport.PartyID(i), n)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer conn.Close()
			res[i], errs[i] = SignRound(ctx, conn, 7, shares[i], msg)
			late[i] = ctx.Err() != nil
		}(i)
	}
	wg.Wait()
	return res, errs, late
}

func TestSignRoundAllOnline(t *testing.T) {
	tc := sharedCommittee()
	msg := mustMessage(t, "job-sr-1")
	res, errs, _ := signRoundMembers(t, tc.shares, msg, []int{0, 1, 2, 3}, nil, 10*time.Second)
	for i := range tc.shares {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if err := VerifySignature(tc.shares[0].Key, msg, res[i].Signature); err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		if len(res[i].Signers) != 3 {
			t.Fatalf("member %d combined %v", i, res[i].Signers)
		}
	}
}

func TestSignRoundDoesNotWaitForStragglers(t *testing.T) {
	tc := sharedCommittee()
	msg := mustMessage(t, "job-sr-2")
	// Member 3 never answers; the round must finish long before the deadline.
	res, errs, late := signRoundMembers(t, tc.shares, msg, []int{0, 1, 2}, nil, time.Minute)
	for _, i := range []int{0, 1, 2} {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if late[i] {
			t.Fatalf("member %d waited for its deadline", i)
		}
		if err := VerifySignature(tc.shares[0].Key, msg, res[i].Signature); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSignRoundNamesBadAndSilentMembers(t *testing.T) {
	tc := sharedCommittee()
	msg := mustMessage(t, "job-sr-3")
	// Member 1 sends an invalid partial, member 3 is silent: only 2 valid.
	_, errs, _ := signRoundMembers(t, tc.shares, msg, []int{0, 2}, []int{1}, 2*time.Second)
	for _, i := range []int{0, 2} {
		var fe *FaultError
		if !errors.As(errs[i], &fe) || !equalInts(fe.Members(), []int{1, 3}) {
			t.Fatalf("member %d: want members [1 3] named, got %v", i, errs[i])
		}
		var ip *InvalidPartialError
		if !errors.As(errs[i], &ip) || ip.Index != 1 {
			t.Fatalf("member %d: want member 1's partial reported invalid, got %v", i, errs[i])
		}
	}
	// With member 3 back, the round succeeds despite member 1.
	res, errs, _ := signRoundMembers(t, tc.shares, msg, []int{0, 2, 3}, []int{1}, 10*time.Second)
	for _, i := range []int{0, 2, 3} {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if !equalInts(res[i].Signers, []int{0, 2, 3}) {
			t.Fatalf("member %d combined %v", i, res[i].Signers)
		}
	}
}
