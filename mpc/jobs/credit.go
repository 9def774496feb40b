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

// Validate checks a public model's coefficients and its activation against
// the preset's depth.
func (m CreditModel) Validate(preset *he.Preset) error {
	m = m.withDefaults()
	if len(m.Weights) == 0 {
		return fmt.Errorf("jobs: credit model has no weights")
	}
	for _, w := range append([]float64{m.Bias}, m.Weights...) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("jobs: credit model has a non-finite coefficient")
		}
	}
	return m.validateActivation(preset)
}

// validateActivation checks the public part of a model: the approximation
// domain and degree.
func (m CreditModel) validateActivation(preset *he.Preset) error {
	m = m.withDefaults()
	if !(m.Domain > 0) || math.IsInf(m.Domain, 0) {
		return fmt.Errorf("jobs: credit model domain %v must be positive", m.Domain)
	}
	if m.Degree < 1 {
		return fmt.Errorf("jobs: credit model degree %d must be positive", m.Degree)
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
//
// With Encrypted set, Model.Weights and Model.Bias are ignored (only Domain
// and Degree, which define the public activation, are used) and the model
// owner's ciphertexts from EncryptCreditModel supply them.
type CreditJob struct {
	Model     CreditModel
	Features  [][]byte
	Encrypted *EncryptedCreditModel
}

// EncryptedCreditModel is a model whose coefficients only the model owner
// knows: Weights[j] encrypts w_j/A in every slot, Bias encrypts b/A at scale
// DefaultScale² so that it adds to the products without a rescale.
type EncryptedCreditModel struct {
	Weights [][]byte
	Bias    []byte
}

// EncryptCreditModel is the model owner's step: it folds the domain into
// the coefficients and encrypts them under the committee key.
func EncryptCreditModel(preset *he.Preset, pk *rlwe.PublicKey, model CreditModel) (*EncryptedCreditModel, error) {
	model = model.withDefaults()
	if err := model.Validate(preset); err != nil {
		return nil, err
	}
	slots := preset.CKKS.MaxSlots()
	fill := func(v float64) []float64 {
		out := make([]float64, slots)
		for i := range out {
			out[i] = v
		}
		return out
	}
	enc := &EncryptedCreditModel{}
	for j, w := range model.Weights {
		b, _, err := preset.EncryptFloats(pk, fill(w/model.Domain))
		if err != nil {
			return nil, fmt.Errorf("jobs: encrypt weight %d: %w", j, err)
		}
		enc.Weights = append(enc.Weights, b)
	}
	ds := preset.CKKS.DefaultScale()
	b, _, err := preset.EncryptFloatsAtScale(pk, fill(model.Bias/model.Domain), ds.Mul(ds))
	if err != nil {
		return nil, fmt.Errorf("jobs: encrypt bias: %w", err)
	}
	enc.Bias = b
	return enc, nil
}

// CreditCircuit returns the deterministic scoring circuit over the
// committee's evaluation keys. It folds the change of variable into the
// linear layer, u = (w·x + b)/A ∈ [-1, 1] (one level), then evaluates the
// Chebyshev interpolant of sigmoid(A·u) on [-1, 1].
func CreditCircuit(m *he.Member, job CreditJob) he.Circuit {
	return func(ctx context.Context) ([]*rlwe.Ciphertext, error) {
		preset := m.Preset()
		model := job.Model.withDefaults()
		validate := model.Validate
		if job.Encrypted != nil {
			validate = model.validateActivation
		}
		if err := validate(preset); err != nil {
			return nil, err
		}
		params := preset.CKKS
		ds := params.DefaultScale()
		cts, err := decodeInputs(preset, he.CKKS, "feature column", job.Features, ds)
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		eval := hefloat.NewEvaluator(params, m.EvaluationKeys())
		var acc *rlwe.Ciphertext
		if job.Encrypted == nil {
			if len(cts) != len(model.Weights) {
				return nil, fmt.Errorf("jobs: credit job has %d feature columns for %d weights", len(cts), len(model.Weights))
			}
			acc, err = creditLinearPublic(eval, params, model, cts)
		} else {
			acc, err = creditLinearEncrypted(eval, params, preset, job.Encrypted, cts)
		}
		if err != nil {
			return nil, err
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
		// The last rescale of the polynomial lands on the committee's output
		// scale; scores in [0, 1] fit under q_0 = 2^60 at 2^57.
		out, err := hefloat.NewPolynomialEvaluator(params, eval).Evaluate(acc, hefloat.NewPolynomial(poly), preset.OutputScale())
		if err != nil {
			return nil, fmt.Errorf("jobs: sigmoid polynomial: %w", err)
		}
		return []*rlwe.Ciphertext{out}, nil
	}
}

// creditLinearPublic computes (w·x + b)/A with public weights. The
// constants are encoded at scale q_level so that the single rescale brings
// the result back to the default scale.
func creditLinearPublic(eval *hefloat.Evaluator, params hefloat.Parameters, model CreditModel, cts []*rlwe.Ciphertext) (*rlwe.Ciphertext, error) {
	level := cts[0].Level()
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
	return acc, nil
}

// creditLinearEncrypted computes (w·x + b)/A with the model owner's
// encrypted coefficients: products accumulate in degree 2 and are
// relinearised once.
func creditLinearEncrypted(eval *hefloat.Evaluator, params hefloat.Parameters, preset *he.Preset, model *EncryptedCreditModel, cts []*rlwe.Ciphertext) (*rlwe.Ciphertext, error) {
	if len(model.Weights) != len(cts) {
		return nil, fmt.Errorf("jobs: credit job has %d feature columns for %d encrypted weights", len(cts), len(model.Weights))
	}
	ds := params.DefaultScale()
	ws, err := decodeInputs(preset, he.CKKS, "encrypted weight", model.Weights, ds)
	if err != nil {
		return nil, err
	}
	bias, err := decodeInputs(preset, he.CKKS, "encrypted bias", [][]byte{model.Bias}, ds.Mul(ds))
	if err != nil {
		return nil, err
	}
	level := cts[0].Level()
	acc := hefloat.NewCiphertext(params, 2, level)
	acc.Scale = ds.Mul(ds)
	for j := range cts {
		if err := eval.MulThenAdd(cts[j], ws[j], acc); err != nil {
			return nil, fmt.Errorf("jobs: weight feature %d: %w", j, err)
		}
	}
	out := hefloat.NewCiphertext(params, 1, level)
	if err := eval.Relinearize(acc, out); err != nil {
		return nil, fmt.Errorf("jobs: relinearise: %w", err)
	}
	if err := eval.Add(out, bias[0], out); err != nil {
		return nil, fmt.Errorf("jobs: add bias: %w", err)
	}
	return out, nil
}

// RunCredit runs a credit job's committee side as member m over conn and
// re-encrypts the scores to recipient. Each member of the committee calls it
// with its own Conn; see he.Member.Run for the threshold behaviour.
func RunCredit(ctx context.Context, m *he.Member, conn transport.Conn, job CreditJob, recipient *rlwe.PublicKey, opts he.RunConfig) (*he.Result, error) {
	opts.Scheme = he.CKKS
	opts.Recipient = recipient
	return m.Run(ctx, conn, opts, CreditCircuit(m, job))
}

// DecryptCreditScores is the recipient's step: the scores of the first
// subjects subjects. It decrypts every key switch of the result and returns
// he.ErrKeySwitchMismatch, and no scores, if they disagree beyond the CKKS
// tolerance (see he.Recipient.DecryptFloatsChecked). t and n are the
// committee's threshold and size as the recipient knows them; a result
// key-switched by one subset is rejected when n > t (he.ErrSingleSubset).
func DecryptCreditScores(r *he.Recipient, res *he.Result, subjects, t, n int) ([]float64, error) {
	if len(res.Outputs) != 1 {
		return nil, fmt.Errorf("jobs: credit result has %d outputs, want 1", len(res.Outputs))
	}
	vs, err := r.DecryptFloatsChecked(res, t, n)
	if err != nil {
		return nil, err
	}
	v := vs[0]
	if subjects > len(v) {
		return nil, fmt.Errorf("jobs: %d subjects exceed %d slots", subjects, len(v))
	}
	return v[:subjects], nil
}
