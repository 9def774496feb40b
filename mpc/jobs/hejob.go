package jobs

import (
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"

	"github.com/cohortnet/cohort/mpc/he"
)

// HEGaloisElements lists the Galois keys the homomorphic job circuits need;
// pass it as he.SetupConfig.GaloisElements. Credit scoring needs none (one
// ciphertext per feature column, no slot movement); aggregates need the
// power-of-two column rotations of BGV's InnerSum over a full row, which also
// cover every power-of-two histogram block.
func HEGaloisElements(preset *he.Preset) []uint64 {
	var out []uint64
	for _, g := range preset.BGV.GaloisElementsForInnerSum(1, bgvRowSize(preset)) {
		// lattigo lists the identity (rotation by the full row) for
		// power-of-two sums but never uses it; a key for it would be waste.
		if g != 1 {
			out = append(out, g)
		}
	}
	return out
}

func bgvRowSize(preset *he.Preset) int { return preset.BGV.MaxSlots() / 2 }

// decodeInputs validates and decodes provider ciphertexts. It is the only
// way a circuit reads untrusted bytes. Fresh inputs are at the top level and
// at the given scale.
func decodeInputs(preset *he.Preset, scheme he.Scheme, what string, inputs [][]byte, scale rlwe.Scale) ([]*rlwe.Ciphertext, error) {
	cts := make([]*rlwe.Ciphertext, len(inputs))
	for i, b := range inputs {
		ct, _, err := preset.UnmarshalCiphertext(scheme, b)
		if err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, i, err)
		}
		if ct.Level() != preset.RLWE().MaxLevel() {
			return nil, fmt.Errorf("%s %d: %w: fresh inputs must be at the top level %d, got %d", what, i, he.ErrBadCiphertext, preset.RLWE().MaxLevel(), ct.Level())
		}
		if ct.Scale.Cmp(scale) != 0 {
			return nil, fmt.Errorf("%s %d: %w: scale 2^%.2f, expected 2^%.2f", what, i, he.ErrBadCiphertext, ct.LogScale(), math.Log2(scale.Float64()))
		}
		cts[i] = ct
	}
	return cts, nil
}
