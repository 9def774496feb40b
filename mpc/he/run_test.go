package he

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/mhe"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

// dropConn closes its connection instead of sending the message of one
// round, as a member that crashes mid-protocol.
type dropConn struct {
	transport.Conn
	round transport.Round
}

func (c *dropConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	if r == c.round {
		c.Conn.Close()
		return transport.ErrClosed
	}
	return c.Conn.Send(ctx, to, r, p)
}

func TestRunRetriesWhenMemberDrops(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	values := make([]float64, 16)
	for i := range values {
		values[i] = float64(i) / 16
	}
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), values, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	circuit := func(*Member) Circuit {
		return func(context.Context) ([]*rlwe.Ciphertext, error) {
			ct, _, err := preset.UnmarshalCiphertext(CKKS, input)
			return []*rlwe.Ciphertext{ct}, err
		}
	}
	cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	// Member 1 is in the first subset {0,1,2} and crashes when it should
	// send its key-switching share; {0,2,3} must finish.
	res, errs := runAll(ctx, members, []int{0, 1, 2, 3}, cfg, circuit, func(i int, c transport.Conn) transport.Conn {
		if i == 1 {
			return &dropConn{Conn: c, round: jobRound(0, stepPCKS)}
		}
		return c
	})
	for i, e := range errs {
		t.Logf("member %d returned: %v", i, e)
	}
	if errs[1] == nil {
		t.Fatal("the crashed member reported success")
	}
	for _, i := range []int{0, 2, 3} {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if got := res[i].Subset; len(got) != 3 || got[0] != 0 || got[1] != 2 || got[2] != 3 {
			t.Fatalf("member %d: subset %v, want [0 2 3]", i, got)
		}
		if res[i].OutputIDs[0] != res[0].OutputIDs[0] {
			t.Fatalf("member %d disagrees on the output", i)
		}
	}
	if res[0].Attempts != 2 {
		t.Fatalf("attempts = %d, want 2", res[0].Attempts)
	}
	got, err := rcpt.DecryptFloats(res[0].Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		if math.Abs(got[i]-v) > 1e-4 {
			t.Fatalf("slot %d: got %v want %v", i, got[i], v)
		}
	}
}

func TestRunRejectsDivergentEvaluation(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 3, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rcpt := NewRecipient(preset)
	a, _, _ := preset.EncryptFloatsAtScale(members[0].PublicKey(), []float64{1}, preset.OutputScale())
	b, _, _ := preset.EncryptFloatsAtScale(members[0].PublicKey(), []float64{2}, preset.OutputScale())
	// Member 1 evaluates on a different input than member 0.
	circuit := func(m *Member) Circuit {
		return func(context.Context) ([]*rlwe.Ciphertext, error) {
			in := a
			if m.Self() == 1 {
				in = b
			}
			ct, _, err := preset.UnmarshalCiphertext(CKKS, in)
			return []*rlwe.Ciphertext{ct}, err
		}
	}
	_, errs := runAll(ctx, members, []int{0, 1, 2}, RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 5 * time.Second, IdleTimeout: 10 * time.Second}, circuit, nil)
	for _, i := range []int{0, 1} {
		if !errors.Is(errs[i], ErrEvaluationMismatch) {
			t.Fatalf("member %d: want ErrEvaluationMismatch, got %v", i, errs[i])
		}
	}
}

func TestSetupNamesMissingMember(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := mpctest.Open(t, 2, mpctest.Online(0))[0]
	_, _, err := Setup(ctx, conn, preset, SetupConfig{CommitteeID: "c", Threshold: 2, StepTimeout: 200 * time.Millisecond}, NewMemoryStore())
	var pe *transport.PartyError
	if !errors.As(err, &pe) || pe.Party != 1 || !strings.Contains(err.Error(), "party 1") {
		t.Fatalf("want an error naming party 1, got %v", err)
	}
}

// muteConn silently drops the messages of one round, as a member whose
// link stalls without closing: peers only notice through their deadline.
// It also keeps the connection open after the member is done until
// othersDone returns (the other members have finished), so that the close
// does not give the stall away however slow the machine.
type muteConn struct {
	transport.Conn
	round      transport.Round
	othersDone func()
}

func (c *muteConn) Close() error {
	c.othersDone()
	return c.Conn.Close()
}

// doneConn calls done once it is closed: its member has finished.
type doneConn struct {
	transport.Conn
	done func()
}

func (c *doneConn) Close() error {
	defer c.done()
	return c.Conn.Close()
}

func (c *muteConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	if r == c.round {
		return nil
	}
	return c.Conn.Send(ctx, to, r, p)
}

func TestRunSurvivesStalledMember(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), []float64{0.5, -0.25}, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	circuit := func(*Member) Circuit {
		return func(context.Context) ([]*rlwe.Ciphertext, error) {
			ct, _, err := preset.UnmarshalCiphertext(CKKS, input)
			return []*rlwe.Ciphertext{ct}, err
		}
	}
	cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 2 * time.Second, IdleTimeout: 30 * time.Second}
	// Member 2 receives the others' key-switching shares but its own never
	// arrive: it finishes attempt 0 and announces it; members 0, 1 and 3
	// hit their 2 s deadline on it and suspect it. They cannot check what
	// member 2 announces (review C1: a member must never adopt a result of
	// an attempt it took part in), and they must not finish a second,
	// different result without it (3 of 4, one subset, which a recipient
	// would see differ from member 2's and reject): they stop with
	// ErrFinishedWithout (node/jobrun: they stand by, and since every
	// member answered the recipient, nobody is re-formed out and the job
	// is rejected).
	var others sync.WaitGroup
	others.Add(3)
	res, errs := runAll(ctx, members, []int{0, 1, 2, 3}, cfg, circuit, func(i int, c transport.Conn) transport.Conn {
		if i == 2 {
			return &muteConn{Conn: c, round: jobRound(0, stepPCKS), othersDone: others.Wait}
		}
		return &doneConn{Conn: c, done: others.Done}
	})
	for _, i := range []int{0, 1, 3} {
		if !errors.Is(errs[i], ErrFinishedWithout) {
			t.Fatalf("member %d: want ErrFinishedWithout, got %v (result %+v)", i, errs[i], res[i])
		}
	}
	if errs[2] != nil {
		t.Fatalf("member 2: %v", errs[2])
	}
	if res[2].Adopted || !slices.Equal(res[2].Subset, ids(0, 1, 2)) || len(res[2].Checks) != 3 {
		t.Fatalf("member 2: subset %v, %d checks; want [0 1 2] and 3", res[2].Subset, len(res[2].Checks))
	}
	got, err := rcpt.DecryptFloatsChecked(res[2], 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0][0]-0.5) > 1e-4 || math.Abs(got[0][1]+0.25) > 1e-4 {
		t.Fatalf("member 2: wrong result %v", got[0][:2])
	}
}

// TestOutputUnreadableByCommittee reconstructs, in the test only, the
// collective secret key from a full subset: it decrypts the evaluated
// ciphertext but not the key-switched output, which only the recipient can.
func TestOutputUnreadableByCommittee(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 3, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	values := []float64{0.75, 0.125, -0.5}
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), values, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	circuit := func(*Member) Circuit {
		return func(context.Context) ([]*rlwe.Ciphertext, error) {
			ct, _, err := preset.UnmarshalCiphertext(CKKS, input)
			return []*rlwe.Ciphertext{ct}, err
		}
	}
	res, errs := runAll(ctx, members, []int{0, 1, 2}, RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 5 * time.Second}, circuit, nil)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
	}
	// Collective secret = sum of the additive shares of subset {0, 1}.
	params := preset.RLWE()
	points := []mhe.ShamirPublicPoint{shamirPoint(0), shamirPoint(1), shamirPoint(2)}
	collective := rlwe.NewSecretKey(params)
	for _, i := range []int{0, 1} {
		sk := rlwe.NewSecretKey(params)
		cmb := mhe.NewCombiner(params, points[i], points, 2)
		if err := cmb.GenAdditiveShare(points[:2], points[i], members[i].tsk, sk); err != nil {
			t.Fatal(err)
		}
		params.RingQP().Add(collective.Value, sk.Value, collective.Value)
	}
	decrypt := func(sk *rlwe.SecretKey, b []byte) []float64 {
		ct, _, err := preset.UnmarshalCiphertext(CKKS, b)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float64, preset.CKKS.MaxSlots())
		if err := hefloat.NewEncoder(preset.CKKS).Decode(rlwe.NewDecryptor(params, sk).DecryptNew(ct), out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := decrypt(collective, input); math.Abs(got[0]-values[0]) > 1e-3 {
		t.Fatalf("sanity: collective key does not decrypt the input (%v)", got[0])
	}
	if got := decrypt(collective, res[0].Outputs[0]); math.Abs(got[0]-values[0]) < 0.1 {
		t.Fatalf("the collective key decrypts the output: %v", got[0])
	}
	got, err := rcpt.DecryptFloats(res[0].Outputs[0])
	if err != nil || math.Abs(got[0]-values[0]) > 1e-4 {
		t.Fatalf("recipient: %v %v", got[0], err)
	}
}

func TestRunRejectsLowScaleCKKSOutput(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 3, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A fresh ciphertext at the default 2^45 scale: the smudging noise
	// would swamp it, so the committee refuses to key-switch it.
	input, _, err := preset.EncryptFloats(members[0].PublicKey(), []float64{1})
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	circuit := func(*Member) Circuit {
		return func(context.Context) ([]*rlwe.Ciphertext, error) {
			ct, _, err := preset.UnmarshalCiphertext(CKKS, input)
			return []*rlwe.Ciphertext{ct}, err
		}
	}
	_, errs := runAll(ctx, members, []int{0, 1, 2}, RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 5 * time.Second}, circuit, nil)
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "OutputScale") {
			t.Fatalf("member %d: want a scale error, got %v", i, err)
		}
	}
}

// vanishConn silently loses every message after its key-switching shares
// of the first attempt, as a member killed once it joined the family whose
// peers' transport does not notice.
type vanishConn struct {
	transport.Conn
	mu   sync.Mutex
	sent int
}

func (c *vanishConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	c.mu.Lock()
	gone := c.sent >= c.Parties()-1
	if r == jobRound(0, stepPCKS) {
		c.sent++
	}
	c.mu.Unlock()
	if gone {
		return nil
	}
	return c.Conn.Send(ctx, to, r, p)
}

// TestRunReformExcludesVanishedMember: member 3 joins the first epoch's
// family and vanishes after its shares; the others finish that epoch with
// it in the family (its candidate would never reach a recipient). A second
// epoch with member 3 excluded runs on rounds of its own, forms the family
// of {0,1,2} (three subsets, every member left out of one), and every key
// switch decrypts to the input.
func TestRunReformExcludesVanishedMember(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 2, nil)
	for i, m := range members {
		if !m.SharesChecked() { // 2 of 4 = ⌈4/2⌉: checked
			t.Fatalf("member %d: a 2-of-4 setup says its shares were not checked", i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	values := []float64{0.25, -0.5, 0.125}
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), values, preset.OutputScale())
	if err != nil {
		t.Fatal(err)
	}
	rcpt := NewRecipient(preset)
	circuit := func(context.Context) ([]*rlwe.Ciphertext, error) {
		ct, _, err := preset.UnmarshalCiphertext(CKKS, input)
		return []*rlwe.Ciphertext{ct}, err
	}
	cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	type epochs struct{ first, second *Result }
	res, errs := mpctest.RunContext(ctx, len(members), func(ctx context.Context, conn transport.Conn) (epochs, error) {
		m := members[conn.Self()]
		first, err := m.Run(ctx, conn, cfg, circuit)
		if err != nil || conn.Self() == 3 {
			return epochs{first: first}, err
		}
		again := cfg
		again.Epoch, again.Exclude = 1, []transport.PartyID{3}
		second, err := m.Run(ctx, conn, again, circuit)
		return epochs{first, second}, err
	}, mpctest.Wrap(func(i int, c transport.Conn) transport.Conn {
		if i == 3 {
			return &vanishConn{Conn: c}
		}
		return c
	}))
	for i := 0; i < 3; i++ {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if !inFamily(familyOf(res[i].first), 3) {
			t.Fatalf("member %d: first epoch's family %v leaves out the vanished member", i, familyOf(res[i].first))
		}
		fam := familyOf(res[i].second)
		if want := KeySwitchFamily(ids(0, 1, 2), 2, 0); !slices.EqualFunc(fam, want, slices.Equal) {
			t.Fatalf("member %d: re-formed family %v, want %v", i, fam, want)
		}
		if res[i].second.OutputIDs[0] != res[0].second.OutputIDs[0] {
			t.Fatalf("member %d disagrees on the re-formed output", i)
		}
	}
	got, err := rcpt.DecryptFloatsChecked(res[0].second, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		if math.Abs(got[0][i]-v) > 1e-4 {
			t.Fatalf("slot %d: got %v want %v", i, got[0][i], v)
		}
	}
	t.Logf("member 3 (vanished) returned: %v", errs[3])
}

// familyOf lists the subsets of a result's key switches.
func familyOf(res *Result) [][]transport.PartyID {
	var fam [][]transport.PartyID
	for _, ks := range res.KeySwitches() {
		fam = append(fam, ks.Subset)
	}
	return fam
}
