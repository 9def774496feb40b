package he

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"

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
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 4, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	values := make([]float64, 16)
	for i := range values {
		values[i] = float64(i) / 16
	}
	input, _, err := preset.EncryptFloats(members[0].PublicKey(), values)
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
	preset := insecurePreset(t)
	members, _ := committee(t, preset, 3, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rcpt := NewRecipient(preset)
	a, _, _ := preset.EncryptFloats(members[0].PublicKey(), []float64{1})
	b, _, _ := preset.EncryptFloats(members[0].PublicKey(), []float64{2})
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
	preset := insecurePreset(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nw := transport.NewMemoryNetwork()
	conn, err := nw.Open(ctx, "setup", 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _, err = Setup(ctx, conn, preset, SetupConfig{CommitteeID: "c", Threshold: 2, StepTimeout: 200 * time.Millisecond}, NewMemoryStore())
	var pe *transport.PartyError
	if !errors.As(err, &pe) || pe.Party != 1 || !strings.Contains(err.Error(), "party 1") {
		t.Fatalf("want an error naming party 1, got %v", err)
	}
}
