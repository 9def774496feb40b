package he

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

// committee runs a setup of n members with threshold t on a memory network
// and returns the members and their stores.
func committee(t testing.TB, preset *Preset, n, thr int, galEls []uint64) ([]*Member, []*MemoryStore) {
	t.Helper()
	stores := make([]*MemoryStore, n)
	for i := range stores {
		stores[i] = NewMemoryStore()
	}
	members := mpctest.MustRun(t, n, func(ctx context.Context, conn transport.Conn) (*Member, error) {
		m, _, err := Setup(ctx, conn, preset, SetupConfig{CommitteeID: "test-committee", Threshold: thr, GaloisElements: galEls}, stores[conn.Self()])
		return m, err
	}, mpctest.Timeout(5*time.Minute)) // share checks included; generous under CI load
	return members, stores
}

var (
	presetOnce sync.Once
	testPreset *Preset
	presetErr  error
)

func insecurePreset(t testing.TB) *Preset {
	presetOnce.Do(func() { testPreset, presetErr = InsecureTestPreset() })
	if presetErr != nil {
		t.Fatal(presetErr)
	}
	return testPreset
}

// runAll runs a job on the given online members; offline ones never join.
// wrap, if set, replaces a member's connection (see mpctest.Wrap).
func runAll(ctx context.Context, members []*Member, online []int, cfg RunConfig, circuit func(m *Member) Circuit, wrap func(i int, c transport.Conn) transport.Conn) ([]*Result, []error) {
	opts := []mpctest.Option{mpctest.Online(online...)}
	if wrap != nil {
		opts = append(opts, mpctest.Wrap(wrap))
	}
	return mpctest.RunContext(ctx, len(members), func(ctx context.Context, conn transport.Conn) (*Result, error) {
		m := members[conn.Self()]
		return m.Run(ctx, conn, cfg, circuit(m))
	}, opts...)
}

func TestSetupKeySwitchThreshold(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, stores := committee(t, preset, 4, 3, preset.RLWE().GaloisElements([]int{1, 2}))
	for i := 1; i < 4; i++ {
		if members[i].KeyDigest() != members[0].KeyDigest() {
			t.Fatalf("member %d has different keys", i)
		}
	}
	for i, m := range members {
		if m.SharesChecked() { // 3 of 4 > ⌈4/2⌉: unchecked (TestSetupShareCheckGate)
			t.Fatalf("member %d: a 3-of-4 setup says its shares were checked", i)
		}
	}
	// Keys persist and reload identically.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	loaded, err := LoadMember(ctx, stores[2], preset, "test-committee", 2)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.KeyDigest() != members[2].KeyDigest() || loaded.SharesChecked() {
		t.Fatal("reloaded keys differ")
	}
	// The CRP halves the record leaves out are re-derived exactly.
	if !loaded.PublicKey().Equal(members[2].PublicKey()) || !loaded.rlk.Equal(members[2].rlk) || len(loaded.gks) != 2 {
		t.Fatal("reloaded public or relinearisation key differs")
	}
	for i := range loaded.gks {
		if !loaded.gks[i].Equal(members[2].gks[i]) {
			t.Fatalf("reloaded Galois key %d differs", i)
		}
	}
	members[2] = loaded

	values := make([]float64, preset.CKKS.MaxSlots())
	for i := range values {
		values[i] = math.Sin(float64(i))
	}
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), values, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	identity := func(m *Member) Circuit {
		return func(context.Context) ([]*rlwe.Ciphertext, error) {
			ct, _, err := preset.UnmarshalCiphertext(CKKS, input)
			return []*rlwe.Ciphertext{ct}, err
		}
	}
	cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 3 * time.Second, IdleTimeout: 20 * time.Second}

	// Member 3 offline: members 0,1,2 finish.
	res, errs := runAll(ctx, members, []int{0, 1, 2}, cfg, identity, nil)
	for _, i := range []int{0, 1, 2} {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if res[i].OutputIDs[0] != res[0].OutputIDs[0] {
			t.Fatalf("members disagree on the output")
		}
	}
	got, err := rcpt.DecryptFloats(res[0].Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range values {
		if math.Abs(got[i]-values[i]) > 1e-3 {
			t.Fatalf("slot %d: got %v want %v", i, got[i], values[i])
		}
	}
	// Two members offline: clear error naming them.
	_, errs = runAll(ctx, members, []int{0, 1}, cfg, identity, nil)
	for _, i := range []int{0, 1} {
		if !errors.Is(errs[i], ErrNotEnoughMembers) {
			t.Fatalf("member %d: expected ErrNotEnoughMembers, got %v", i, errs[i])
		}
		for _, name := range []string{"member 2", "member 3"} {
			if !strings.Contains(errs[i].Error(), name) {
				t.Fatalf("error %q does not name %s", errs[i], name)
			}
		}
	}
}

// TestSetupKeyTestCatchesWrongShares: a member deals one member a Shamir
// share off its polynomial (covered neither by the digest nor by the share
// check). The known-answer
// test at the end of setup fails for every member: nobody keeps keys that
// would make results garbage. (Public-key and first relinearisation shares
// are named by the share check: TestSetupShareCheckNamesDeviant.)
func TestSetupKeyTestCatchesWrongShares(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	galEls := preset.RLWE().GaloisElements([]int{1, 4})
	for name, d := range map[string]SetupDeviation{
		"shamir": {ShamirShare: true},
	} {
		const n, thr, dev = 4, 3, 2
		_, errs := mpctest.Run(t, n, func(ctx context.Context, conn transport.Conn) (*Member, error) {
			cfg := SetupConfig{CommitteeID: "deviant-" + name, Threshold: thr, GaloisElements: galEls, StepTimeout: 20 * time.Second}
			if conn.Self() == dev {
				cfg.deviation = &d
			}
			m, _, err := Setup(ctx, conn, preset, cfg, NewMemoryStore())
			return m, err
		}, mpctest.Timeout(3*time.Minute))
		for i, err := range errs {
			if !errors.Is(err, ErrKeyTest) {
				t.Fatalf("%s: member %d: want ErrKeyTest, got %v", name, i, err)
			}
		}
		t.Logf("%s: %v", name, errs[0])
	}
}

// TestSetupShareCheckNamesDeviant: a member whose public-key share is right
// but for a large error (which decodes, so the key test alone would pass it
// and leak the key, see doc.go), or whose public-key, first or second
// relinearisation or Galois share is wrong outright, is named by every member's setup
// in that share's round, and no member stores a key record.
func TestSetupShareCheckNamesDeviant(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	for _, tc := range []struct {
		name  string
		d     SetupDeviation
		round transport.Round
	}{
		{"inflated public-key error 2^40", SetupDeviation{InflatedPublicKeyError: 1 << 40}, roundCKG},
		{"public-key", SetupDeviation{PublicKeyShare: true}, roundCKG},
		{"relin-key round 1", SetupDeviation{RelinShareRoundOne: true}, roundRKG1},
		{"relin-key round 2", SetupDeviation{RelinShare: true}, roundRKG2},
		{"galois-key", SetupDeviation{GaloisShare: true}, roundGKG},
		// One check of both Galois keys names the second key's round.
		{"second galois-key", SetupDeviation{GaloisShare: true, GaloisShareOf: 1}, roundGKG + 1},
	} {
		const n, thr, dev = 4, 2, 1 // t = ⌈n/2⌉: the check runs
		stores := make([]*MemoryStore, n)
		for i := range stores {
			stores[i] = NewMemoryStore()
		}
		_, errs := mpctest.Run(t, n, func(ctx context.Context, conn transport.Conn) (*Member, error) {
			cfg := SetupConfig{CommitteeID: "sharecheck", Threshold: thr, StepTimeout: 30 * time.Second}
			switch tc.round {
			case roundGKG:
				cfg.GaloisElements = preset.RLWE().GaloisElements([]int{1})
			case roundGKG + 1:
				cfg.GaloisElements = preset.RLWE().GaloisElements([]int{1, 4})
			}
			if conn.Self() == dev {
				cfg.deviation = &tc.d
			}
			m, _, err := Setup(ctx, conn, preset, cfg, stores[conn.Self()])
			return m, err
		}, mpctest.Timeout(3*time.Minute))
		for i, err := range errs {
			var pe *transport.PartyError
			if !errors.As(err, &pe) || pe.Party != dev || pe.Round != tc.round {
				t.Fatalf("%s: member %d: want member %d named in round %d, got %v", tc.name, i, dev, tc.round, err)
			}
			if _, err := LoadMember(context.Background(), stores[i], preset, "sharecheck", transport.PartyID(i)); err == nil {
				t.Fatalf("%s: member %d stored a key record", tc.name, i)
			}
		}
		t.Logf("%s: %v", tc.name, errs[0])
	}
}

// TestSetupEquivocationFailsBeforeTheCheck: a member that sends one peer a
// public-key share other than everyone else's makes the members' digests of
// the received shares differ, so the setup stops with ErrKeysDiffer (naming
// nobody: from one member's view the deviant may be anyone) before the
// share check and before any round-two share is made.
func TestSetupEquivocationFailsBeforeTheCheck(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	const n, thr, dev = 3, 2, 0
	_, errs := mpctest.Run(t, n, func(ctx context.Context, conn transport.Conn) (*Member, error) {
		cfg := SetupConfig{CommitteeID: "equivocate", Threshold: thr, StepTimeout: 30 * time.Second}
		if conn.Self() == dev {
			cfg.deviation = &SetupDeviation{EquivocatePublicKeyShare: true}
		}
		m, _, err := Setup(ctx, conn, preset, cfg, NewMemoryStore())
		return m, err
	}, mpctest.Timeout(2*time.Minute))
	for i, err := range errs {
		if !errors.Is(err, ErrKeysDiffer) || !strings.Contains(err.Error(), "other setup shares") {
			t.Fatalf("member %d: want ErrKeysDiffer over the received shares, got %v", i, err)
		}
	}
}

// shareCheckSpy counts the messages a member sends in the share check's
// round space (the SS engine's rounds, roundSpace).
type shareCheckSpy struct {
	transport.Conn
	sent *atomic.Int64
}

func (c shareCheckSpy) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	if r&shareCheckRounds != 0 || r == ^shareCheckRounds { // the engine's rounds; its abort round

		c.sent.Add(1)
	}
	return c.Conn.Send(ctx, to, r, p)
}

// TestSetupShareCheckGate: the share check deals every member's secret into
// the SS engine, whose sharings any ⌊(n−1)/2⌋+1 members open
// (sharecheck.TestSecretOpensToHonestMajority), so it runs iff t ≤ ⌈n/2⌉.
// A 3-of-4 setup sends nothing in the SS engine's rounds (no secret is
// dealt) and records its shares as unchecked; a 2-of-4 setup runs the check
// (TestSetupShareCheckNamesDeviant shows it names deviants) and records it.
func TestSetupShareCheckGate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, t int }{{3, 2}, {4, 2}, {5, 3}, {9, 5}, {10, 5}} {
		if !ShareCheckRuns(tc.n, tc.t) || !ShareCheckRuns(tc.n, 1) {
			t.Fatalf("%d of %d: the check does not run", tc.t, tc.n)
		}
		if ShareCheckRuns(tc.n, tc.t+1) {
			t.Fatalf("%d of %d: the check runs", tc.t+1, tc.n)
		}
	}
	if ShareCheckRuns(2, 1) || ShareCheckRuns(2, 2) {
		t.Fatal("the check runs for 2 members")
	}
	preset := insecurePreset(t)
	const n, thr = 4, 3
	var sent atomic.Int64
	members := mpctest.MustRun(t, n, func(ctx context.Context, conn transport.Conn) (*Member, error) {
		m, _, err := Setup(ctx, conn, preset, SetupConfig{CommitteeID: "gate", Threshold: thr}, NewMemoryStore())
		return m, err
	}, mpctest.Wrap(func(_ int, c transport.Conn) transport.Conn { return shareCheckSpy{Conn: c, sent: &sent} }), mpctest.Timeout(3*time.Minute))
	if got := sent.Load(); got != 0 {
		t.Fatalf("3-of-4 setup sent %d messages in the share check's rounds", got)
	}
	for i, m := range members {
		if m.SharesChecked() {
			t.Fatalf("member %d: 3-of-4 setup recorded as checked", i)
		}
	}
	p, err := NewSetupProtocol(preset, 0, n, SetupConfig{CommitteeID: "gate", Threshold: thr})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckShares(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "no share check") {
		t.Fatalf("CheckShares of a 3-of-4 setup: %v", err)
	}
	if p, err = NewSetupProtocol(preset, 0, n, SetupConfig{CommitteeID: "gate", Threshold: 2}); err != nil || !p.SharesChecked() {
		t.Fatalf("2-of-4 setup: checked %v, %v", p != nil && p.SharesChecked(), err)
	}
}
