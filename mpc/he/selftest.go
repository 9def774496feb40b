package he

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/heint"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"

	"github.com/cohortnet/cohort/mpc/transport"
)

// ErrKeyTest is returned by Setup when the committee's keys fail the
// known-answer test: some member's share of the public, relinearisation or
// Galois keys, or its dealing of the threshold secret, was wrong.
var ErrKeyTest = errors.New("he: committee keys fail the known-answer test")

// keyTestNoiseBits bounds the part of the key test's output noise that
// depends on the honest members' secrets, which the members see. Honest
// setups (TestKeyTestNoiseBound, per coefficient, N = 2^12 / 2^14, n = 3):
// fresh encryption 2^11 / 2^12, Galois images 2^12 / 2^13, relinearised
// square 2^77 / 2^80 (BGV's tensoring gives T·E·E with T = 2^50 and E the
// fresh noise). A checked setup bounds a malicious member's errors only by
// |e| < 32, not the protocol's Gaussian (σ = 3.2), so the bound is derived
// for that. E = v·e_pk + e0 + e1·s with v, e0, e1 the test's public
// randomness, e_pk = Σ e_i and s = Σ s_i. Split E = E_p + E_h: E_p from the
// at most ⌊(n−1)/2⌋ ≤ 4 deviants' e_i, s_i (n ≤ 9, ss.MaxParties; a checked
// setup tolerates no more), which they know, and E_h from the honest
// members'. The square's noise T·(E_p² + 2·E_p·E_h + E_h²) depends on the
// honest secrets through T·(2·E_p·E_h + E_h²). E_h is honest-distributed
// with at most 9 members: T·E_h² < 2^(80 + log2(9/3)) = 2^81.6. Per
// coefficient, E_p's e_pk part is at most 4·32 = 128 against the honest
// n = 3 baseline's σ√3 ≈ 5.5 (a factor < 2^4.6), and its s part at most 4
// against √2 (< 2^1.5): E_p < 2^4.6 times the baseline's E, so
// 2·T·E_p·E_h < 2^(1 + 4.6 + 81.6) = 2^87.2, and the honest-dependent part
// is < 2^87.3. Measured with 4 of 9 deviants sending the constant error 31
// or −32 (TestKeyTestNoiseBoundAdversarialErrors): 2^82 at N = 2^12, 2^84
// at N = 2^14 (the security review's figure). With 4 bits to spare as
// before: 92 (84 when only honest noise was assumed). The deviants' own
// part T·E_p² (2^93 measured at N = 2^14) needs no hiding: they know it; it
// and the flood still decode (below). keyTestFloodBits floods it: every member
// adds to each of its test key-switching shares uniform noise over
// [−B, B) per coefficient with B = 2^(keyTestNoiseBits + 40 + logN + 10).
// One honest member's flood hides a shift of at most 2^keyTestNoiseBits at
// statistical distance ≤ 2^keyTestNoiseBits/(2B) per coefficient; over N
// coefficients, 3 outputs and at most maxSubsets key switches (< 2^10
// key-switched outputs), ≤ 2^-41 in all. A subset's t floods sum to below
// t·B ≤ 2^(8+156) at N = 2^14, and BGV decodes exactly while
// T·noise < Q/2: 2^(50+164) ≪ 2^329 at the top level, where the test runs.
const keyTestNoiseBits = 92

// keyTestFloodBits returns log2 B for ring degree 2^logN (see above).
func keyTestFloodBits(logN int) int { return keyTestNoiseBits + 40 + logN + 10 }

// keyTestMagnitude bounds the test plaintext's slots, so that their squares
// stay far below the BGV plaintext modulus.
const keyTestMagnitude = 1 << 15

// keyTest is the end-of-setup known-answer test. Every member derives the
// same BGV test ciphertext from the key digest: a public plaintext
// encrypted under the collective public key with public randomness. The
// committee evaluates it with the evaluation keys (the ciphertext itself, a
// relinearised square, the sum of its images under every Galois key) and
// key-switches the three outputs to the zero key (a public decryption: the
// plaintexts are public) by the key-switching family of all N members, then
// every member decrypts every subset's key switch and checks it against the
// plaintext computation.
//
// What it catches: a public-key share inconsistent with the secret its
// owner dealt in Shamir shares (the public key's secret is then not the one
// the threshold shares reconstruct: every decryption is garbage, and a
// rushing member could even have made the public key one whose secret only
// it knows), wrong relinearisation or Galois key shares (wrong square or
// rotations), and a dealing that is not a degree t−1 polynomial (subsets
// reconstruct different secrets). A deviant that also corrects its key
// switch in the test cannot correct the subset that leaves it out, which
// needs N > t: with t = N (one subset) an adaptive deviant is not caught.
func (m *Member) keyTest(ctx context.Context, conn transport.Conn, timeout time.Duration) error {
	params := m.preset.BGV
	ct, want, err := m.keyTestCase()
	if err != nil {
		return err
	}
	circuit := func(context.Context) ([]*rlwe.Ciphertext, error) { return m.keyTestOutputs(ct) }
	// The test ciphertext's encryption randomness is public, so the noise
	// of its decryptions (which depends on the secret key) is hidden by the
	// key switch's noise alone, and every member sees them: flood it (see
	// keyTestNoiseBits).
	res, err := m.Run(ctx, conn, RunConfig{Scheme: BGV, Recipient: rlwe.NewPublicKey(params), StepTimeout: timeout, MaxAttempts: 1, floodBits: keyTestFloodBits(params.LogN())}, circuit)
	if err != nil {
		return fmt.Errorf("he: key test: %w", err)
	}
	if res.Adopted {
		// This member did not aggregate the key switches: it would only be
		// checking what a peer announced (a forger can make zero-key
		// ciphertexts of the public expected values).
		return fmt.Errorf("%w: this member did not key-switch the test itself (it adopted a peer's announced result)", ErrKeyTest)
	}
	switches := res.KeySwitches()
	if m.n > m.t && len(switches) < 2 {
		return fmt.Errorf("%w: key-switched by one subset of %d members, not by a family covering all %d", ErrKeyTest, m.t, m.n)
	}
	dec := rlwe.NewDecryptor(params, rlwe.NewSecretKey(params)) // the zero key
	enc := heint.NewEncoder(params)
	names := []string{"public key", "relinearisation key", "Galois keys"}
	got := make([]int64, params.MaxSlots())
	for _, ks := range switches {
		for i, o := range ks.Outputs {
			out, _, err := m.preset.UnmarshalCiphertext(BGV, o)
			if err != nil {
				return fmt.Errorf("he: key test: %w", err)
			}
			if err := enc.Decode(dec.DecryptNew(out), got); err != nil {
				return fmt.Errorf("he: key test: decode: %w", err)
			}
			for j := range got {
				if got[j] != want[i][j] {
					return fmt.Errorf("%w: the %s check decrypts wrong with subset %v (slot %d)", ErrKeyTest, names[i], ks.Subset, j)
				}
			}
		}
	}
	return nil
}

// keyTestOutputs evaluates the key test's circuit on ct with the
// committee's evaluation keys: ct itself, its relinearised square and the
// sum of its images under every Galois key.
func (m *Member) keyTestOutputs(ct *rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	params := m.preset.BGV
	eval := heint.NewEvaluator(params, m.evk)
	sq, err := eval.MulRelinNew(ct, ct)
	if err != nil {
		return nil, fmt.Errorf("he: key test: square: %w", err)
	}
	outs := []*rlwe.Ciphertext{ct, sq}
	if len(m.galEls) > 0 {
		sum := rlwe.NewCiphertext(params, 1, ct.Level())
		rot := rlwe.NewCiphertext(params, 1, ct.Level())
		// Hoisted: c1's gadget decomposition is made once for all the
		// Galois keys rather than once per key (the same key switch,
		// TestKeyTestHoistedAutomorphisms).
		decomp := eval.GetBuffDecompQP()
		eval.DecomposeNTT(ct.Level(), params.MaxLevelP(), params.PCount(), ct.Value[1], ct.IsNTT, decomp)
		for i, g := range m.galEls {
			if err := eval.AutomorphismHoisted(ct.Level(), ct, decomp, g, rot); err != nil {
				return nil, fmt.Errorf("he: key test: automorphism %d: %w", g, err)
			}
			if i == 0 {
				sum.Copy(rot)
			} else if err := eval.Add(sum, rot, sum); err != nil {
				return nil, fmt.Errorf("he: key test: %w", err)
			}
		}
		outs = append(outs, sum)
	}
	return outs, nil
}

// keyTestCase derives the key test's public ciphertext from the key digest
// (a public plaintext encrypted under the collective public key with
// public randomness) and the expected plaintexts of the test circuit.
func (m *Member) keyTestCase() (*rlwe.Ciphertext, [][]int64, error) {
	params := m.preset.BGV
	seed := sha256.Sum256(append([]byte("cohort/he/key-test/v1\x00"), m.digest[:]...))
	prng, err := sampling.NewKeyedPRNG(seed[:])
	if err != nil {
		return nil, nil, fmt.Errorf("he: key test: %w", err)
	}
	slots := params.MaxSlots()
	values := make([]int64, slots)
	var buf [8]byte
	for i := range values {
		if _, err := prng.Read(buf[:]); err != nil {
			return nil, nil, fmt.Errorf("he: key test: %w", err)
		}
		values[i] = int64(binary.LittleEndian.Uint64(buf[:])%(2*keyTestMagnitude)) - keyTestMagnitude
	}
	pt := heint.NewPlaintext(params, params.MaxLevel())
	if err := heint.NewEncoder(params).Encode(values, pt); err != nil {
		return nil, nil, fmt.Errorf("he: key test: encode: %w", err)
	}
	ct, err := publicEncrypt(*params.GetRLWEParameters(), m.pk, pt, prng)
	if err != nil {
		return nil, nil, err
	}
	want, err := m.keyTestExpected(values)
	if err != nil {
		return nil, nil, err
	}
	return ct, want, nil
}

// keyTestExpected computes the test circuit's outputs in the clear: the
// values, their squares (mod the plaintext modulus, centred), and the sum
// of their images under the Galois elements (column rotations and the row
// swap of BGV's 2 × N/2 slot matrix).
func (m *Member) keyTestExpected(values []int64) ([][]int64, error) {
	params := m.preset.BGV
	tm := int64(params.PlaintextModulus())
	centre := func(v int64) int64 {
		v %= tm
		if v > tm/2 {
			v -= tm
		} else if v < -tm/2 {
			v += tm
		}
		return v
	}
	n := len(values)
	half := n / 2
	sq := make([]int64, n)
	for i, v := range values {
		sq[i] = centre(v * v)
	}
	out := [][]int64{values, sq}
	if len(m.galEls) == 0 {
		return out, nil
	}
	// Column rotation k has Galois element 5^k mod 2N.
	rotOf := map[uint64]int{}
	for k := 0; k < half; k++ {
		rotOf[params.GaloisElement(k)] = k
	}
	swap := params.GaloisElementOrderTwoOrthogonalSubgroup()
	sum := make([]int64, n)
	for _, g := range m.galEls {
		k, ok := rotOf[g]
		if !ok && g != swap {
			return nil, fmt.Errorf("he: key test: Galois element %d is neither a column rotation nor the row swap", g)
		}
		for i := range sum {
			row, col := i/half, i%half
			src := row*half + (col+k)%half
			if !ok {
				src = (1-row)*half + col
			}
			sum[i] = centre(sum[i] + values[src])
		}
	}
	return append(out, sum), nil
}

// publicEncrypt encrypts pt under pk with randomness drawn from prng (the
// test's randomness is public), as lattigo's public-key encryption over Q.
func publicEncrypt(params rlwe.Parameters, pk *rlwe.PublicKey, pt *rlwe.Plaintext, prng sampling.PRNG) (*rlwe.Ciphertext, error) {
	if !pt.IsNTT {
		return nil, errors.New("he: key test: plaintext not in the NTT domain")
	}
	level := pt.Level()
	ringQ := params.RingQ().AtLevel(level)
	xs, err := ring.NewSampler(prng, params.RingQ(), params.Xs(), false)
	if err != nil {
		return nil, fmt.Errorf("he: key test: %w", err)
	}
	xe, err := ring.NewSampler(prng, params.RingQ(), params.Xe(), false)
	if err != nil {
		return nil, fmt.Errorf("he: key test: %w", err)
	}
	ct := rlwe.NewCiphertext(params, 1, level)
	*ct.MetaData = *pt.MetaData
	u := ringQ.NewPoly()
	xs.AtLevel(level).Read(u)
	ringQ.NTT(u, u)
	ringQ.MulCoeffsMontgomery(u, pk.Value[0].Q, ct.Value[0])
	ringQ.MulCoeffsMontgomery(u, pk.Value[1].Q, ct.Value[1])
	e := ringQ.NewPoly()
	for _, c := range ct.Value {
		xe.AtLevel(level).Read(e)
		ringQ.NTT(e, e)
		ringQ.Add(c, e, c)
	}
	ringQ.Add(ct.Value[0], pt.Value, ct.Value[0])
	return ct, nil
}
