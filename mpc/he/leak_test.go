package he

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

// colluderConn is a member colluding with the recipient (after the review
// of the re-form, TestRevViewMismatchLeaksFamilies). For attempts < k it
// makes the honest members redo the attempt without suspecting it: with
// viewTrick, by sending a wrong family digest in its view (the trick that
// used to work on the digest of the key-switching message, which then was
// checked only after every share had left); otherwise by flipping the
// digest of its key-switching message (and of those it receives, so that
// its own runner does not finish). Either way it records every
// key-switching message it receives in those attempts, to aggregate the
// honest members' shares into key switches of its own.
type colluderConn struct {
	transport.Conn
	k         int
	viewTrick bool
	nOut      int
	mu        sync.Mutex
	sent      map[int][]byte
	got       map[int]map[transport.PartyID][]byte
}

func (c *colluderConn) attemptOf(r, step transport.Round) int {
	for a := 0; a < c.k; a++ {
		if r == jobRound(a, step) {
			return a
		}
	}
	return -1
}

func (c *colluderConn) Send(ctx context.Context, to transport.PartyID, r transport.Round, p []byte) error {
	step := stepPCKS
	if c.viewTrick {
		step = stepView
	}
	if a := c.attemptOf(r, step); a >= 0 && len(p) > 32*c.nOut {
		q := append([]byte(nil), p...)
		q[32*c.nOut] ^= 1
		if !c.viewTrick {
			c.mu.Lock()
			c.sent[a] = append([]byte(nil), p...)
			c.mu.Unlock()
		}
		return c.Conn.Send(ctx, to, r, q)
	}
	return c.Conn.Send(ctx, to, r, p)
}

func (c *colluderConn) Recv(ctx context.Context, from transport.PartyID, r transport.Round) ([]byte, error) {
	a := c.attemptOf(r, stepPCKS)
	if a < 0 {
		return c.Conn.Recv(ctx, from, r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got[a] == nil {
		// Collect every peer's message at the first read, whatever its
		// own runner then does with them.
		c.got[a] = map[transport.PartyID][]byte{}
		for p := 0; p < c.Parties(); p++ {
			if transport.PartyID(p) == c.Self() {
				continue
			}
			b, err := c.Conn.Recv(ctx, transport.PartyID(p), r)
			if err != nil {
				return nil, err
			}
			c.got[a][transport.PartyID(p)] = b
		}
	}
	b := c.got[a][from]
	if !c.viewTrick && len(b) > 32*c.nOut {
		// Its own runner must not finish the attempt either (it would
		// announce a result the others cannot check).
		b = append([]byte(nil), b...)
		b[32*c.nOut] ^= 1
	}
	return b, nil
}

// TestNoSharesBeforeViewsAgree: members agree on the attempt's family
// before any key-switching share leaves. A colluder that makes the views
// disagree in attempts 0 and 1 receives no share at all (only withheld
// markers), so it assembles no key switch beyond the accepted family's;
// the job finishes in attempt 2 with every member.
func TestNoSharesBeforeViewsAgree(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
	cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 5 * time.Second}
	const C = 3
	cc := &colluderConn{k: 2, viewTrick: true, nOut: 1, sent: map[int][]byte{}, got: map[int]map[transport.PartyID][]byte{}}
	res, errs := runAll(ctx, members, []int{0, 1, 2, 3}, cfg, circuit, func(i int, c transport.Conn) transport.Conn {
		if i == C {
			cc.Conn = c
			return cc
		}
		return c
	})
	for i, e := range errs {
		if e != nil {
			t.Fatalf("member %d: %v", i, e)
		}
		if res[i].Attempts != 3 || len(res[i].KeySwitches()) != 2 {
			t.Fatalf("member %d: %d attempts, %d key switches; want 3 and 2", i, res[i].Attempts, len(res[i].KeySwitches()))
		}
	}
	for a, msgs := range cc.got {
		for p, b := range msgs {
			if !(len(b) == 1 && b[0] == pcksWithheld) {
				t.Fatalf("attempt %d: member %d released a %d-byte key-switching message to the colluder while views disagreed", a, p, len(b))
			}
		}
	}
	if _, err := rcpt.DecryptFloatsChecked(res[0], 2, 4); err != nil {
		t.Fatal(err)
	}
}

// TestColluderGetsOneFamilyAndIsSuspected: the reviewer's exact attack
// (a wrong family digest in the key-switching message, after the views
// agreed) now marks the colluder as the member at fault: the others retry
// without it, once. What it can aggregate from the one attempt whose
// shares it received is that attempt's family; a subset the accepted
// family repeats yields the very same key switch (shares are made once per
// subset and job), so the recipient's distinct key switches number at most
// C(4, 2) = 6 and here 4 (the accepted 3 plus attempt 0's {2, 3}).
func TestColluderGetsOneFamilyAndIsSuspected(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
	cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 5 * time.Second}
	const C = 3
	cc := &colluderConn{k: 2, nOut: 1, sent: map[int][]byte{}, got: map[int]map[transport.PartyID][]byte{}}
	res, errs := runAll(ctx, members, []int{0, 1, 2, 3}, cfg, circuit, func(i int, c transport.Conn) transport.Conn {
		if i == C {
			cc.Conn = c
			return cc
		}
		return c
	})
	for _, i := range []int{0, 1, 2} {
		if errs[i] != nil {
			t.Fatalf("member %d: %v", i, errs[i])
		}
		if inFamily(keySwitchSubsets(res[i]), C) {
			t.Fatalf("member %d: the colluder is in the accepted family %v", i, keySwitchSubsets(res[i]))
		}
	}
	if len(cc.got[1]) != 0 {
		t.Fatalf("the colluder received key-switching messages in attempt 1: %d", len(cc.got[1]))
	}
	// The colluder aggregates every subset of attempt 0 from the shares it
	// received and its own.
	params := preset.RLWE()
	N := params.N()
	ct, _, _ := preset.UnmarshalCiphertext(CKKS, input)
	pcks, err := mhe.NewPublicKeySwitchProtocol(params, preset.Smudging)
	if err != nil {
		t.Fatal(err)
	}
	final := map[string][]byte{}
	for _, ks := range res[0].KeySwitches() {
		final[shareKey(ks.Subset, CiphertextID{})] = ks.Outputs[0]
	}
	family := KeySwitchFamily(ids(0, 1, 2, 3), 2, 0)
	msgs := map[transport.PartyID][]byte{C: cc.sent[0]}
	for p, b := range cc.got[0] {
		msgs[p] = b
	}
	distinct := len(final)
	for s, subset := range family {
		agg := pcks.AllocateShare(ct.Level())
		for _, p := range subset {
			off := 32 + 32
			for s2, sub2 := range family {
				if !contains(sub2, p) {
					continue
				}
				shape := newShape(params).polyQ(agg.Value[0]).polyQ(agg.Value[1])
				size := shape.size(N)
				if s2 == s {
					if _, err := shape.decodeAdd(kindPCKS, msgs[p][off:off+size], N); err != nil {
						t.Fatal(err)
					}
				}
				off += size
			}
		}
		out := rlwe.NewCiphertext(params, 1, ct.Level())
		pcks.KeySwitch(ct, agg, out)
		ob, err := preset.MarshalCiphertext(CKKS, out)
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := final[shareKey(subset, CiphertextID{})]; ok {
			if !bytes.Equal(f, ob) {
				t.Fatalf("subset %v: the colluder's key switch of attempt 0 differs from the accepted one (shares not reused)", subset)
			}
			continue
		}
		distinct++
	}
	t.Logf("recipient + colluder: %d distinct key switches (accepted family %d)", distinct, len(final))
	if distinct > 4 {
		t.Fatalf("%d distinct key switches, want at most 4", distinct)
	}
}

func keySwitchSubsets(res *Result) [][]transport.PartyID {
	var out [][]transport.PartyID
	for _, ks := range res.KeySwitches() {
		out = append(out, ks.Subset)
	}
	return out
}

// TestReleasesCappedPerJob: a member that already released its shares in
// MaxReleases(n, t) attempts of the job (JobState, carried across epochs)
// releases no more: it gives up (ErrGaveUp) once the views agree, before
// any share leaves, and tells the others, who abort.
func TestReleasesCappedPerJob(t *testing.T) {
	t.Parallel()
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	input, _, err := preset.EncryptFloatsAtScale(members[0].PublicKey(), []float64{0.5}, preset.OutputScale())
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
	var got [4][]byte
	var mu sync.Mutex
	res, errs := mpctest.RunContext(ctx, len(members), func(ctx context.Context, conn transport.Conn) (*Result, error) {
		i := int(conn.Self())
		cfg := RunConfig{Scheme: CKKS, Recipient: rcpt.PublicKey(), StepTimeout: 5 * time.Second}
		if i == 0 {
			cfg.State = &JobState{released: MaxReleases(4, 2)}
		}
		return members[i].Run(ctx, conn, cfg, circuit(members[i]))
	}, mpctest.Wrap(func(i int, c transport.Conn) transport.Conn {
		return &recordConn{Conn: c, round: jobRound(0, stepPCKS), record: func(from transport.PartyID, b []byte) {
			if from == 0 {
				mu.Lock()
				got[i] = b
				mu.Unlock()
			}
		}}
	}))
	if !errors.Is(errs[0], ErrGaveUp) {
		t.Fatalf("member 0: want ErrGaveUp, got %v (result %v)", errs[0], res[0])
	}
	for i := 1; i < 4; i++ {
		if !errors.Is(errs[i], ErrJobAborted) {
			t.Fatalf("member %d: want ErrJobAborted, got %v", i, errs[i])
		}
		if b := got[i]; b != nil && !(len(b) == 1 && b[0] == pcksWithheld) {
			t.Fatalf("member %d received a %d-byte key-switching message from member 0", i, len(b))
		}
	}
}

// recordConn reports every message received on one round.
type recordConn struct {
	transport.Conn
	round  transport.Round
	record func(from transport.PartyID, b []byte)
}

func (c *recordConn) Recv(ctx context.Context, from transport.PartyID, r transport.Round) ([]byte, error) {
	b, err := c.Conn.Recv(ctx, from, r)
	if r == c.round && err == nil {
		c.record(from, b)
	}
	return b, err
}
