package jobs

import (
	"context"
	"fmt"
	"math"
	"math/big"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/utils/bignum"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

// CreditModel is a public logistic-regression model:
// score = sigmoid(Σ_j Weights[j]·x_j + Bias).
type CreditModel struct {
	Weights []float64
	Bias    float64
	// Domain is the half-width A of the interval [-A, A] on which the
	// sigmoid is approximated; the model owner guarantees w·x + b stays in
	// it for valid inputs. Outside it the approximation diverges.
	Domain float64
	// Degree of the Chebyshev approximation (default 31, five levels).
	// On [-8, 8] degree 31 is accurate to about 3e-6.
	Degree int
}

// DefaultCreditDomain and DefaultCreditDegree are the stated approximation:
// sigmoid on [-8, 8] by a degree-31 Chebyshev interpolant.
const (
	DefaultCreditDomain = 8.0
	DefaultCreditDegree = 31
)

func (m CreditModel) withDefaults() CreditModel {
	if m.Domain == 0 {
		m.Domain = DefaultCreditDomain
	}
	if m.Degree == 0 {
		m.Degree = DefaultCreditDegree
	}
	return m
}

// Validate checks the model against the preset's depth.
func (m CreditModel) Validate(preset *he.Preset) error {
	m = m.withDefaults()
	if len(m.Weights) == 0 {
		return fmt.Errorf("jobs: credit model has no weights")
	}
	if !(m.Domain > 0) || math.IsInf(m.Domain, 0) {
		return fmt.Errorf("jobs: credit model domain %v must be positive", m.Domain)
	}
	for _, w := range append([]float64{m.Bias}, m.Weights...) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("jobs: credit model has a non-finite coefficient")
		}
	}
	depth := 1 + bits(m.Degree)
	if depth > preset.CKKS.MaxLevel() {
		return fmt.Errorf("jobs: credit model needs depth %d (degree %d), preset %s has %d levels", depth, m.Degree, preset.Name, preset.CKKS.MaxLevel())
	}
	return nil
}

// bits returns ceil(log2(d+1)), the depth of a degree-d polynomial.
func bits(d int) int {
	b := 0
	for (1 << b) < d+1 {
		b++
	}
	return b
}

// Sigmoid is the plaintext reference model.
func Sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// PlainCreditScores evaluates the model in the clear (for tests and for a
// model owner's own checks). features[j][i] is feature j of subject i.
func PlainCreditScores(m CreditModel, features [][]float64) []float64 {
	if len(features) == 0 {
		return nil
	}
	out := make([]float64, len(features[0]))
	for i := range out {
		s := m.Bias
		for j, w := range m.Weights {
			s += w * features[j][i]
		}
		out[i] = Sigmoid(s)
	}
	return out
}

// EncryptFeatureColumns is a data provider's step: each column (one feature
// for every subject, subjects in slots) becomes one ciphertext under the
// committee key. Subjects must be in the same order at every provider.
func EncryptFeatureColumns(preset *he.Preset, pk *rlwe.PublicKey, columns [][]float64) ([][]byte, []he.CiphertextID, error) {
	out := make([][]byte, len(columns))
	ids := make([]he.CiphertextID, len(columns))
	for j, col := range columns {
		b, id, err := preset.EncryptFloats(pk, col)
		if err != nil {
			return nil, nil, fmt.Errorf("jobs: encrypt feature column %d: %w", j, err)
		}
		out[j], ids[j] = b, id
	}
	return out, ids, nil
}

// CreditJob is a credit-scoring request: the model and the encrypted
// feature columns, in model order (Features[j] holds feature j of every
// subject; vertically partitioned data means different providers supplied
// different j).
type CreditJob struct {
	Model    CreditModel
	Features [][]byte
}

// CreditCircuit returns the deterministic scoring circuit over the
// committee's evaluation keys. It folds the change of variable into the
// linear layer, u = (w·x + b)/A ∈ [-1, 1] (one level), then evaluates the
// Chebyshev interpolant of sigmoid(A·u) on [-1, 1].
func CreditCircuit(m *he.Member, job CreditJob) he.Circuit {
	return func(ctx context.Context) ([]*rlwe.Ciphertext, error) {
		preset := m.Preset()
		model := job.Model.withDefaults()
		if err := model.Validate(preset); err != nil {
			return nil, err
		}
		if len(job.Features) != len(model.Weights) {
			return nil, fmt.Errorf("jobs: credit job has %d feature columns for %d weights", len(job.Features), len(model.Weights))
		}
		cts, err := decodeInputs(preset, he.CKKS, "feature column", job.Features)
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		params := preset.CKKS
		eval := hefloat.NewEvaluator(params, m.EvaluationKeys())
		level := cts[0].Level()

		// Linear layer: the constants are encoded at scale q_level so that
		// the single rescale brings the result back to the default scale.
		acc := hefloat.NewCiphertext(params, 1, level)
		acc.Scale = cts[0].Scale.Mul(rlwe.NewScale(params.Q()[level]))
		for j, ct := range cts {
			if err := eval.MulThenAdd(ct, model.Weights[j]/model.Domain, acc); err != nil {
				return nil, fmt.Errorf("jobs: weight feature %d: %w", j, err)
			}
		}
		if err := eval.Add(acc, model.Bias/model.Domain, acc); err != nil {
			return nil, fmt.Errorf("jobs: add bias: %w", err)
		}
		if err := eval.Rescale(acc, acc); err != nil {
			return nil, fmt.Errorf("jobs: rescale: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}

		a := model.Domain
		poly := bignum.ChebyshevApproximation(func(u float64) float64 { return Sigmoid(a * u) },
			bignum.Interval{Nodes: model.Degree, A: *big.NewFloat(-1), B: *big.NewFloat(1)})
		out, err := hefloat.NewPolynomialEvaluator(params, eval).Evaluate(acc, hefloat.NewPolynomial(poly), params.DefaultScale())
		if err != nil {
			return nil, fmt.Errorf("jobs: sigmoid polynomial: %w", err)
		}
		return []*rlwe.Ciphertext{out}, nil
	}
}

// RunCredit runs a credit job's committee side as member m over conn and
// re-encrypts the scores to recipient. Each member of the committee calls it
// with its own Conn; see he.Member.Run for the threshold behaviour.
func RunCredit(ctx context.Context, m *he.Member, conn transport.Conn, job CreditJob, recipient *rlwe.PublicKey, opts he.RunConfig) (*he.Result, error) {
	opts.Scheme = he.CKKS
	opts.Recipient = recipient
	opts.OutputMaxLog2 = 1 // scores lie in [0, 1]
	return m.Run(ctx, conn, opts, CreditCircuit(m, job))
}

// DecryptCreditScores is the recipient's step: the scores of the first
// subjects subjects.
func DecryptCreditScores(r *he.Recipient, res *he.Result, subjects int) ([]float64, error) {
	if len(res.Outputs) != 1 {
		return nil, fmt.Errorf("jobs: credit result has %d outputs, want 1", len(res.Outputs))
	}
	v, err := r.DecryptFloats(res.Outputs[0])
	if err != nil {
		return nil, err
	}
	if subjects > len(v) {
		return nil, fmt.Errorf("jobs: %d subjects exceed %d slots", subjects, len(v))
	}
	return v[:subjects], nil
}
