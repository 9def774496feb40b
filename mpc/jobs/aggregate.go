package jobs

import (
	"context"
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/heint"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

// AggregateSpec describes an aggregate-statistics request over integer
// values held by many providers: count, sum, mean, variance and a histogram
// of Bins equal-width bins over [Lo, Hi) (values outside are clamped into
// the first or last bin).
type AggregateSpec struct {
	Bins   int // a power of two, at most the BGV row size
	Lo, Hi int64
}

// Validate checks the spec against the preset.
func (s AggregateSpec) Validate(preset *he.Preset) error {
	row := bgvRowSize(preset)
	if s.Bins < 1 || s.Bins > row || s.Bins&(s.Bins-1) != 0 {
		return fmt.Errorf("jobs: histogram bins %d must be a power of two in [1, %d]", s.Bins, row)
	}
	if s.Hi <= s.Lo {
		return fmt.Errorf("jobs: histogram range [%d, %d) is empty", s.Lo, s.Hi)
	}
	if s.Lo < -(1<<62) || s.Hi > 1<<62 {
		return fmt.Errorf("jobs: histogram range [%d, %d) exceeds ±2^62", s.Lo, s.Hi)
	}
	return nil
}

// bin maps a value to its histogram bin.
func (s AggregateSpec) bin(v int64) int {
	if v < s.Lo {
		return 0
	}
	if v >= s.Hi {
		return s.Bins - 1
	}
	b := int((float64(v-s.Lo) / float64(s.Hi-s.Lo)) * float64(s.Bins))
	if b >= s.Bins { // float rounding just below Hi
		b = s.Bins - 1
	}
	return b
}

// AggregateInput is one provider's encrypted contribution.
//
// Values packs the provider's values in the first row of BGV slots and a 1
// for each value in the second row, so that one ciphertext yields the sum
// (row 0) and the count (row 1), and its square yields the sum of squares.
// Histogram packs one-hot indicators: the value at position i adds 1 to
// slot bin·(row/Bins) + i mod (row/Bins); the committee sums each block.
type AggregateInput struct {
	Values    []byte
	Histogram []byte
}

// MaxAggregateMagnitude bounds |value| so that sums of squares of up to
// 2^16 values per committee stay below t/2 for the 50-bit plaintext modulus.
const MaxAggregateMagnitude = 1 << 16

// EncryptAggregateInput is a data provider's step.
func EncryptAggregateInput(preset *he.Preset, pk *rlwe.PublicKey, spec AggregateSpec, values []int64) (AggregateInput, error) {
	if err := spec.Validate(preset); err != nil {
		return AggregateInput{}, err
	}
	row := bgvRowSize(preset)
	if len(values) > row {
		return AggregateInput{}, fmt.Errorf("jobs: %d values exceed the row of %d slots; split them over several inputs", len(values), row)
	}
	slots := make([]int64, 2*row)
	hist := make([]int64, 2*row)
	block := row / spec.Bins
	for i, v := range values {
		if v > MaxAggregateMagnitude || v < -MaxAggregateMagnitude {
			return AggregateInput{}, fmt.Errorf("jobs: value %d exceeds ±%d", i, MaxAggregateMagnitude)
		}
		slots[i] = v
		slots[row+i] = 1
		hist[spec.bin(v)*block+i%block]++
	}
	vb, _, err := preset.EncryptInts(pk, slots)
	if err != nil {
		return AggregateInput{}, fmt.Errorf("jobs: encrypt values: %w", err)
	}
	hb, _, err := preset.EncryptInts(pk, hist)
	if err != nil {
		return AggregateInput{}, fmt.Errorf("jobs: encrypt histogram: %w", err)
	}
	return AggregateInput{Values: vb, Histogram: hb}, nil
}

// aggregateOutputLevel is the level the aggregate outputs are key-switched
// at. BGV decryption multiplies the key switch's noise by the plaintext
// modulus: t members' smudging, at most t·6σ = t·6·2^30 per coefficient,
// times 2^50 is 2^(82.6 + log2 t), against q0·q1/2 ≈ 2^104 — a margin of
// 2^(21.4 − log2 t) (2^19.8 for t = 3); q0 alone (2^60) is too small.
const aggregateOutputLevel = 1

// AggregateCircuit returns the deterministic aggregation circuit. Its three
// outputs are masked so that the recipient learns only the statistics, not
// the partial sums the rotations leave in the other slots:
//
//	0: slot 0 = Σx, slot row = count
//	1: slot 0 = Σx²
//	2: slot b·(row/Bins) = count of bin b
func AggregateCircuit(m *he.Member, spec AggregateSpec, inputs []AggregateInput) he.Circuit {
	return func(ctx context.Context) ([]*rlwe.Ciphertext, error) {
		preset := m.Preset()
		if err := spec.Validate(preset); err != nil {
			return nil, err
		}
		if len(inputs) == 0 {
			return nil, fmt.Errorf("jobs: aggregate job has no inputs")
		}
		vals := make([][]byte, len(inputs))
		hists := make([][]byte, len(inputs))
		for i, in := range inputs {
			vals[i], hists[i] = in.Values, in.Histogram
		}
		vcts, err := decodeInputs(preset, he.BGV, "values of provider", vals, preset.BGV.DefaultScale())
		if err != nil {
			return nil, err
		}
		hcts, err := decodeInputs(preset, he.BGV, "histogram of provider", hists, preset.BGV.DefaultScale())
		if err != nil {
			return nil, err
		}
		params := preset.BGV
		eval := heint.NewEvaluator(params, m.EvaluationKeys())
		row := bgvRowSize(preset)
		block := row / spec.Bins

		sum := vcts[0].CopyNew()
		hist := hcts[0].CopyNew()
		sq, err := eval.MulRelinNew(vcts[0], vcts[0])
		if err != nil {
			return nil, fmt.Errorf("jobs: square: %w", err)
		}
		for i := 1; i < len(inputs); i++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := eval.Add(sum, vcts[i], sum); err != nil {
				return nil, fmt.Errorf("jobs: add values: %w", err)
			}
			if err := eval.Add(hist, hcts[i], hist); err != nil {
				return nil, fmt.Errorf("jobs: add histogram: %w", err)
			}
			if err := eval.MulRelinThenAdd(vcts[i], vcts[i], sq); err != nil {
				return nil, fmt.Errorf("jobs: square: %w", err)
			}
		}
		for _, step := range []struct {
			ct *rlwe.Ciphertext
			n  int
		}{{sum, row}, {sq, row}, {hist, block}} {
			if err := eval.InnerSum(step.ct, 1, step.n, step.ct); err != nil {
				return nil, fmt.Errorf("jobs: inner sum: %w", err)
			}
		}
		masks := [3][]uint64{make([]uint64, 2*row), make([]uint64, 2*row), make([]uint64, 2*row)}
		masks[0][0], masks[0][row], masks[1][0] = 1, 1, 1
		for b := 0; b < spec.Bins; b++ {
			masks[2][b*block] = 1
		}
		outs := []*rlwe.Ciphertext{sum, sq, hist}
		for i, ct := range outs {
			if err := eval.Mul(ct, masks[i], ct); err != nil {
				return nil, fmt.Errorf("jobs: mask output %d: %w", i, err)
			}
			// Modulus-switch down to aggregateOutputLevel: every key
			// switch (one per t-subset) and the recipient's message then
			// carry 2 moduli instead of all of them.
			for ct.Level() > aggregateOutputLevel {
				if err := eval.Rescale(ct, ct); err != nil {
					return nil, fmt.Errorf("jobs: rescale output %d: %w", i, err)
				}
			}
		}
		return outs, nil
	}
}

// RunAggregate runs an aggregate job's committee side as member m.
func RunAggregate(ctx context.Context, m *he.Member, conn transport.Conn, spec AggregateSpec, inputs []AggregateInput, recipient *rlwe.PublicKey, opts he.RunConfig) (*he.Result, error) {
	opts.Scheme = he.BGV
	opts.Recipient = recipient
	return m.Run(ctx, conn, opts, AggregateCircuit(m, spec, inputs))
}

// AggregateStats is what the recipient learns.
type AggregateStats struct {
	Count     int64
	Sum       int64
	SumSq     int64
	Mean      float64
	Variance  float64 // population variance
	Histogram []int64
}

// DecryptAggregate is the recipient's step. It decrypts every key switch of
// the result and returns he.ErrKeySwitchMismatch, and no statistics, if any
// two differ (BGV decryption is exact; see he.Recipient.DecryptIntsChecked).
// t and n are the committee's threshold and size as the recipient knows
// them; a result key-switched by one subset is rejected when n > t.
func DecryptAggregate(r *he.Recipient, preset *he.Preset, spec AggregateSpec, res *he.Result, t, n int) (AggregateStats, error) {
	if len(res.Outputs) != 3 {
		return AggregateStats{}, fmt.Errorf("jobs: aggregate result has %d outputs, want 3", len(res.Outputs))
	}
	dec, err := r.DecryptIntsChecked(res, t, n)
	if err != nil {
		return AggregateStats{}, fmt.Errorf("jobs: decrypt aggregate: %w", err)
	}
	return aggregateStats(preset, spec, dec), nil
}

// aggregateStats reads the statistics from the decrypted outputs.
func aggregateStats(preset *he.Preset, spec AggregateSpec, dec [][]int64) AggregateStats {
	row := bgvRowSize(preset)
	block := row / spec.Bins
	st := AggregateStats{Sum: dec[0][0], Count: dec[0][row], SumSq: dec[1][0], Histogram: make([]int64, spec.Bins)}
	for b := range st.Histogram {
		st.Histogram[b] = dec[2][b*block]
	}
	if st.Count > 0 {
		st.Mean = float64(st.Sum) / float64(st.Count)
		st.Variance = math.Max(0, float64(st.SumSq)/float64(st.Count)-st.Mean*st.Mean)
	}
	return st
}

// PlainAggregate computes the same statistics in the clear.
func PlainAggregate(spec AggregateSpec, values [][]int64) AggregateStats {
	st := AggregateStats{Histogram: make([]int64, spec.Bins)}
	for _, vs := range values {
		for _, v := range vs {
			st.Count++
			st.Sum += v
			st.SumSq += v * v
			st.Histogram[spec.bin(v)]++
		}
	}
	if st.Count > 0 {
		st.Mean = float64(st.Sum) / float64(st.Count)
		st.Variance = math.Max(0, float64(st.SumSq)/float64(st.Count)-st.Mean*st.Mean)
	}
	return st
}
