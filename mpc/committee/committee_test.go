package committee

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/transport"
)

// testCommittee holds the outcome of one DKG run among in-process members.
type testCommittee struct {
	keys   []*LongTermKey
	pubs   []LongTermPublicKey
	shares []*Share
	errs   []error
}

func newLongTermKeys(n int) ([]*LongTermKey, []LongTermPublicKey) {
	keys := make([]*LongTermKey, n)
	pubs := make([]LongTermPublicKey, n)
	for i := range keys {
		keys[i] = GenerateLongTermKey()
		pubs[i] = keys[i].Public()
	}
	return keys, pubs
}

// runDKG runs RunDKG for every member in `online` (all members if nil) over an
// in-memory network; the others never join.
func runDKG(tb testing.TB, n, t int, timeout time.Duration, online []int) *testCommittee {
	tb.Helper()
	keys, pubs := newLongTermKeys(n)
	return runDKGWithKeys(tb, keys, pubs, t, timeout, online, nil)
}

// runDKGWithKeys is runDKG with given keys; wrap, if set, wraps member i's Conn.
func runDKGWithKeys(tb testing.TB, keys []*LongTermKey, pubs []LongTermPublicKey, t int, timeout time.Duration, online []int,
	wrap func(i int, c transport.Conn) transport.Conn) *testCommittee {
	tb.Helper()
	n := len(keys)
	if online == nil {
		for i := 0; i < n; i++ {
			online = append(online, i)
		}
	}
	nw := transport.NewMemoryNetwork()
	tc := &testCommittee{keys: keys, pubs: pubs, shares: make([]*Share, n), errs: make([]error, n)}
	var wg sync.WaitGroup
	for _, i := range online {
		conn, err := nw.Open(context.Background(), "dkg", transport.PartyID(i), n)
		if err != nil {
			tb.Fatal(err)
		}
		if wrap != nil {
			conn = wrap(i, conn)
		}
		wg.Add(1)
		go func(i int, conn transport.Conn) {
			defer wg.Done()
			defer conn.Close()
			tc.shares[i], tc.errs[i] = RunDKG(context.Background(), conn, keys[i], pubs, DKGConfig{Threshold: t, RoundTimeout: timeout})
		}(i, conn)
	}
	wg.Wait()
	return tc
}

// sharedCommittee is one 4-member, threshold-3 committee reused by the tests
// that only need a key (a DKG costs ~100 ms).
var sharedCommittee = sync.OnceValue(func() *testCommittee {
	tc := runDKG(nopTB{}, 4, 3, 10*time.Second, nil)
	for i, err := range tc.errs {
		if err != nil {
			panic(fmt.Sprintf("member %d: %v", i, err))
		}
	}
	return tc
})

type nopTB struct{ testing.TB }

func (nopTB) Helper() {}

func mustMessage(t testing.TB, job string) []byte {
	t.Helper()
	m, err := ResultMessage(job, [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}, bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDKGAllMembersAgree(t *testing.T) {
	tc := sharedCommittee()
	key := tc.shares[0].Key
	for i, s := range tc.shares {
		if s.Index != i {
			t.Fatalf("member %d got index %d", i, s.Index)
		}
		if !s.Key.Equal(key) {
			t.Fatalf("member %d derived a different committee key", i)
		}
	}
	if key.T != 3 || key.N != 4 || len(key.Commits) != 3 {
		t.Fatalf("key shape t=%d n=%d commits=%d", key.T, key.N, len(key.Commits))
	}
	digest, err := MembersDigest(tc.pubs)
	if err != nil || digest != key.Members {
		t.Fatalf("members digest mismatch (err %v)", err)
	}
	// Shares are distinct and consistent with the public polynomial.
	for i := range tc.shares {
		if err := tc.shares[i].check(); err != nil {
			t.Fatal(err)
		}
		for j := i + 1; j < len(tc.shares); j++ {
			if tc.shares[i].secret.Equal(tc.shares[j].secret) {
				t.Fatalf("members %d and %d hold the same share", i, j)
			}
		}
	}
}

func TestSignAnyThresholdSubset(t *testing.T) {
	tc := sharedCommittee()
	key := tc.shares[0].Key
	msg := mustMessage(t, "job-1")
	partials := make([][]byte, 4)
	for i, s := range tc.shares {
		p, err := SignPartial(s, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyPartial(key, msg, p); err != nil {
			t.Fatalf("member %d's partial: %v", i, err)
		}
		partials[i] = p
	}
	var sigs [][]byte
	for _, subset := range [][]int{{0, 1, 2}, {0, 1, 3}, {0, 2, 3}, {1, 2, 3}, {3, 1, 2}} {
		var ps [][]byte
		for _, i := range subset {
			ps = append(ps, partials[i])
		}
		sig, err := Combine(key, msg, ps)
		if err != nil {
			t.Fatalf("subset %v: %v", subset, err)
		}
		if err := VerifySignature(key, msg, sig); err != nil {
			t.Fatalf("subset %v: %v", subset, err)
		}
		sigs = append(sigs, sig)
	}
	// BLS is unique: every subset yields the same signature.
	for _, s := range sigs[1:] {
		if !bytes.Equal(s, sigs[0]) {
			t.Fatal("different subsets produced different signatures")
		}
	}
	// Two partials are not enough, even repeated.
	if _, err := Combine(key, msg, [][]byte{partials[0], partials[1]}); err == nil {
		t.Fatal("combined 2 partials with threshold 3")
	}
	if _, err := Combine(key, msg, [][]byte{partials[0], partials[1], partials[1]}); err == nil {
		t.Fatal("combined a duplicated partial as a third signer")
	}
}

func TestCorruptedPartialIsNamed(t *testing.T) {
	tc := sharedCommittee()
	key := tc.shares[0].Key
	msg := mustMessage(t, "job-2")
	var partials [][]byte
	for _, s := range tc.shares[:3] {
		p, err := SignPartial(s, msg)
		if err != nil {
			t.Fatal(err)
		}
		partials = append(partials, p)
	}
	// Member 1 signs another message: a valid point, wrong signature.
	forged, err := SignPartial(tc.shares[1], mustMessage(t, "another job"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Combine(key, msg, [][]byte{partials[0], forged, partials[2]})
	var ip *InvalidPartialError
	if !errors.As(err, &ip) || ip.Index != 1 {
		t.Fatalf("want an InvalidPartialError naming member 1, got %v", err)
	}
	if err := VerifyPartial(key, msg, forged); !errors.As(err, &ip) || ip.Index != 1 {
		t.Fatalf("VerifyPartial: want member 1 named, got %v", err)
	}
	// Member 2's partial relabelled as member 3's.
	relabelled := append([]byte(nil), partials[2]...)
	relabelled[1] = 3
	if err := VerifyPartial(key, msg, relabelled); !errors.As(err, &ip) || ip.Index != 3 {
		t.Fatalf("relabelled partial: want member 3 named, got %v", err)
	}
	// Flipped bits: not on the curve, or not canonical.
	flipped := append([]byte(nil), partials[0]...)
	flipped[10] ^= 0x40
	if _, err := Combine(key, msg, [][]byte{flipped, partials[1], partials[2]}); !errors.As(err, &ip) || ip.Index != 0 {
		t.Fatalf("flipped partial: want member 0 named, got %v", err)
	}
	// Out-of-range index and wrong length.
	bad := append([]byte(nil), partials[0]...)
	bad[0], bad[1] = 0, 9
	if err := VerifyPartial(key, msg, bad); err == nil {
		t.Fatal("accepted a partial with index 9 in a committee of 4")
	}
	if err := VerifyPartial(key, msg, partials[0][:PartialSize-1]); err == nil {
		t.Fatal("accepted a short partial")
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	tc := sharedCommittee()
	key := tc.shares[0].Key
	msg := mustMessage(t, "job-3")
	sig := signWith(t, tc.shares[:3], msg)
	if err := VerifySignature(key, msg, sig); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(key, mustMessage(t, "job-4"), sig); err == nil {
		t.Fatal("accepted a signature over another message")
	}
	cases := map[string][]byte{
		"empty":        nil,
		"short":        sig[:SignatureSize-1],
		"long":         append(append([]byte(nil), sig...), 0),
		"garbage":      bytes.Repeat([]byte{0xab}, SignatureSize),
		"identity":     make([]byte, SignatureSize),
		"all ones":     bytes.Repeat([]byte{0xff}, SignatureSize),
		"partial-size": make([]byte, PartialSize),
	}
	for name, b := range cases {
		if err := VerifySignature(key, msg, b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Non-canonical encoding: x + p encodes the same point as x when it fits.
	// (Checked indirectly: a coordinate ≥ p must be rejected before decoding.)
	noncanon := append([]byte(nil), sig...)
	copy(noncanon[:32], fieldModulus.FillBytes(make([]byte, 32)))
	if err := VerifySignature(key, msg, noncanon); err == nil {
		t.Error("accepted a coordinate equal to p")
	}
	// A signature made by another committee.
	other := runDKG(t, 4, 3, 10*time.Second, nil)
	for i, err := range other.errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
	}
	otherSig := signWith(t, other.shares[1:], msg)
	if err := VerifySignature(key, msg, otherSig); err == nil {
		t.Fatal("accepted another committee's signature")
	}
	if err := VerifySignature(other.shares[0].Key, msg, otherSig); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(nil, msg, sig); err == nil {
		t.Fatal("accepted with a nil key")
	}
}

func signWith(t testing.TB, shares []*Share, msg []byte) []byte {
	t.Helper()
	var ps [][]byte
	for _, s := range shares {
		p, err := SignPartial(s, msg)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	sig, err := Combine(shares[0].Key, msg, ps)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestDKGSilentMemberIsNamed(t *testing.T) {
	tc := runDKG(t, 4, 3, 2*time.Second, []int{0, 1, 2})
	for i := 0; i < 3; i++ {
		var fe *FaultError
		if !errors.As(tc.errs[i], &fe) {
			t.Fatalf("member %d: want a FaultError, got %v", i, tc.errs[i])
		}
		if m := fe.Members(); len(m) != 1 || m[0] != 3 {
			t.Fatalf("member %d blames %v, want [3]: %v", i, m, fe)
		}
		var pe *transport.PartyError
		if !errors.As(tc.errs[i], &pe) || pe.Party != 3 {
			t.Fatalf("member %d: errors.As PartyError gives %v", i, pe)
		}
		if !errors.Is(tc.errs[i], context.DeadlineExceeded) {
			t.Fatalf("member %d: want a deadline error, got %v", i, tc.errs[i])
		}
	}
}

func TestShareAndKeyEncodingRoundTrip(t *testing.T) {
	tc := sharedCommittee()
	s := tc.shares[2]
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseShare(b)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Index != s.Index || !s2.secret.Equal(s.secret) || !s2.Key.Equal(s.Key) {
		t.Fatal("share did not round-trip")
	}
	kb, _ := s.Key.MarshalBinary()
	if len(kb) != 5+32+3*G2Size {
		t.Fatalf("committee key encoding is %d bytes", len(kb))
	}
	k2, err := ParseCommitteeKey(kb)
	if err != nil || k2.ID() != s.Key.ID() {
		t.Fatalf("committee key did not round-trip: %v", err)
	}
	// Tampered share secret no longer matches the key.
	bad := append([]byte(nil), b...)
	bad[3+31] ^= 1
	if _, err := ParseShare(bad); err == nil {
		t.Fatal("accepted a share that does not match the committee key")
	}
	// Truncated and extended encodings.
	if _, err := ParseCommitteeKey(kb[:len(kb)-1]); err == nil {
		t.Fatal("accepted a truncated committee key")
	}
	if _, err := ParseCommitteeKey(append(append([]byte(nil), kb...), 0)); err == nil {
		t.Fatal("accepted a committee key with trailing bytes")
	}
	// Long-term keys.
	lb, _ := tc.keys[0].MarshalBinary()
	lk, err := ParseLongTermKey(lb)
	if err != nil || !lk.Public().Equal(tc.pubs[0]) {
		t.Fatalf("long-term key did not round-trip: %v", err)
	}
	pk, err := ParseLongTermPublicKey(tc.pubs[1].Bytes())
	if err != nil || !pk.Equal(tc.pubs[1]) {
		t.Fatalf("long-term public key did not round-trip: %v", err)
	}
	if _, err := ParseLongTermPublicKey(make([]byte, G2Size)); err == nil {
		t.Fatal("accepted the identity as a long-term public key")
	}
}

func TestResultMessageIsInjective(t *testing.T) {
	a, _ := ResultMessage("job", [][]byte{{1, 2}, {3}}, []byte{4})
	b, _ := ResultMessage("job", [][]byte{{1}, {2, 3}}, []byte{4})
	c, _ := ResultMessage("job", [][]byte{{1, 2}}, []byte{3, 4})
	if bytes.Equal(a, b) || bytes.Equal(a, c) || bytes.Equal(b, c) {
		t.Fatal("different tuples encode to the same message")
	}
	if _, err := ResultMessage("", nil, []byte{1}); err == nil {
		t.Fatal("accepted an empty job ID")
	}
	if _, err := ResultMessage("job", nil, make([]byte, MaxCommitmentBytes+1)); err == nil {
		t.Fatal("accepted an oversized output commitment")
	}
}
