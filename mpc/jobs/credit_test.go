package jobs

import (
	"context"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

// creditData builds a vertically partitioned data set whose scores cover
// the whole approximation domain.
func creditData(subjects, features int, seed int64) (CreditModel, [][]float64) {
	rng := rand.New(rand.NewSource(seed))
	model := CreditModel{Weights: make([]float64, features), Bias: 0.25}
	// Σ|w_j|·3.5 + |b| ≤ 7.6: every logit stays inside the domain [-8, 8]
	// and the extreme subjects come close to its edges.
	l1 := 0.0
	for j := range model.Weights {
		model.Weights[j] = rng.Float64()*2 - 1
		l1 += math.Abs(model.Weights[j])
	}
	for j := range model.Weights {
		model.Weights[j] *= 2.1 / l1
	}
	cols := make([][]float64, features)
	for j := range cols {
		cols[j] = make([]float64, subjects)
		for i := range cols[j] {
			cols[j][i] = (rng.Float64()*2 - 1) * 3.5
		}
	}
	// Subject 0 sits at the top of the domain, subject 1 at the bottom.
	for j, w := range model.Weights {
		cols[j][0] = math.Copysign(3.5, w)
		cols[j][1] = -math.Copysign(3.5, w)
	}
	return model, cols
}

func TestCreditScoresMatchPlaintext(t *testing.T) {
	c := testCommittee(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	subjects := c.preset.CKKS.MaxSlots()
	model, cols := creditData(subjects, 8, 1)
	// Four providers each hold two feature columns of every subject.
	var features [][]byte
	for p := 0; p < 4; p++ {
		enc, _, err := EncryptFeatureColumns(c.preset, c.members[0].PublicKey(), cols[2*p:2*p+2])
		if err != nil {
			t.Fatal(err)
		}
		features = append(features, enc...)
	}
	rcpt := he.NewRecipient(c.preset)
	job := CreditJob{Model: model, Features: features}
	res, errs := runJob(ctx, c, []int{0, 1, 2, 3}, func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error) {
		return RunCredit(ctx, m, conn, job, rcpt.PublicKey(), he.RunConfig{StepTimeout: 10 * time.Second})
	}, nil)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		if res[i].OutputIDs[0] != res[0].OutputIDs[0] || res[i].EvalIDs[0] != res[0].EvalIDs[0] {
			t.Fatalf("member %d disagrees on the result", i)
		}
	}
	got, err := DecryptCreditScores(rcpt, res[0], subjects, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := PlainCreditScores(model, cols)
	maxErr, minS, maxS := 0.0, 1.0, 0.0
	for i := range want {
		maxErr = math.Max(maxErr, math.Abs(got[i]-want[i]))
		minS, maxS = math.Min(minS, want[i]), math.Max(maxS, want[i])
	}
	t.Logf("%d subjects, max |score - plaintext| = %.2e, plaintext scores in [%.3f, %.3f]", subjects, maxErr, minS, maxS)
	if maxErr > 1e-3 {
		t.Fatalf("max error %.2e exceeds 1e-3", maxErr)
	}
}

func TestCreditEncryptedModel(t *testing.T) {
	c := testCommittee(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	subjects := c.preset.CKKS.MaxSlots()
	model, cols := creditData(subjects, 6, 5)
	features, _, err := EncryptFeatureColumns(c.preset, c.members[0].PublicKey(), cols)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := EncryptCreditModel(c.preset, c.members[0].PublicKey(), model)
	if err != nil {
		t.Fatal(err)
	}
	rcpt := he.NewRecipient(c.preset)
	// The committee sees only the public activation (domain, degree).
	job := CreditJob{Model: CreditModel{Domain: model.Domain, Degree: model.Degree}, Features: features, Encrypted: enc}
	res, errs := runJob(ctx, c, []int{0, 1, 2, 3}, func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error) {
		return RunCredit(ctx, m, conn, job, rcpt.PublicKey(), he.RunConfig{StepTimeout: 10 * time.Second})
	}, nil)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
	}
	got, err := DecryptCreditScores(rcpt, res[0], subjects, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := PlainCreditScores(model, cols)
	maxErr := 0.0
	for i := range want {
		maxErr = math.Max(maxErr, math.Abs(got[i]-want[i]))
	}
	t.Logf("encrypted model: max |score - plaintext| = %.2e", maxErr)
	if maxErr > 1e-3 {
		t.Fatalf("max error %.2e exceeds 1e-3", maxErr)
	}
}

func TestCreditRejectsBadCiphertexts(t *testing.T) {
	c := testCommittee(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	model, cols := creditData(16, 4, 3)
	features, _, err := EncryptFeatureColumns(c.preset, c.members[0].PublicKey(), cols)
	if err != nil {
		t.Fatal(err)
	}
	agg, err := EncryptAggregateInput(c.preset, c.members[0].PublicKey(), AggregateSpec{Bins: 2, Lo: 0, Hi: 10}, []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	rcpt := he.NewRecipient(c.preset)
	for _, tc := range []struct {
		name, want string
		column     []byte
	}{
		{"truncated", "feature column 2: he: bad ciphertext", features[2][:len(features[2])-1]},
		{"wrong scheme", "feature column 2: he: bad ciphertext: scheme BGV", agg.Values},
	} {
		bad := append([][]byte(nil), features...)
		bad[2] = tc.column
		job := CreditJob{Model: model, Features: bad}
		_, errs := runJob(ctx, c, []int{0, 1, 2, 3}, func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error) {
			return RunCredit(ctx, m, conn, job, rcpt.PublicKey(), he.RunConfig{StepTimeout: 5 * time.Second})
		}, nil)
		for i, err := range errs {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: member %d: want error containing %q, got %v", tc.name, i, tc.want, err)
			}
		}
	}
}

// TestCreditCircuitDeterministic re-runs the circuit on two members: the
// evaluated ciphertexts are byte-identical, so their content addresses are
// too.
func TestCreditCircuitDeterministic(t *testing.T) {
	c := testCommittee(t)
	model, cols := creditData(64, 3, 11)
	features, _, err := EncryptFeatureColumns(c.preset, c.members[0].PublicKey(), cols)
	if err != nil {
		t.Fatal(err)
	}
	job := CreditJob{Model: model, Features: features}
	var ids []he.CiphertextID
	for _, m := range []*he.Member{c.members[1], c.members[3], c.members[1]} {
		out, err := CreditCircuit(m, job)(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.preset.MarshalCiphertext(he.CKKS, out[0])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, he.HashCiphertext(b))
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("evaluations differ: %v", ids)
	}
}
