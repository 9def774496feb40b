package he

import (
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// Deviation is a protocol deviation of a corrupted committee member, for
// adversarial tests only. It lives in the engine so that the tests of the
// layers above (mpc/jobs, node/jobrun) can corrupt a member as well; no
// configuration reaches it: LoadMember and Setup never set one, and the only
// way to obtain a deviating member is Deviant, which nothing but tests calls.
type Deviation struct {
	// Shift is added to every NTT coefficient of the first polynomial of
	// the member's key-switching shares, that is the constant polynomial
	// Shift is added to what the recipient decrypts: a CKKS result moves by
	// Shift/scale in every slot, as a member trying to bias a result
	// without making it look like garbage would do.
	Shift uint64
	// Random adds a fresh uniformly random polynomial instead (garbage).
	Random bool
	// Subsets restricts the deviation to these indices into the family of
	// key-switching subsets (KeySwitchFamily); nil: every subset the member
	// is in, with the same shift, the adversary's best try at making all
	// subsets agree.
	Subsets []int
}

// Deviant returns a copy of m that sends the wrong key-switching shares d
// describes, for adversarial tests. m itself is unchanged.
func Deviant(m *Member, d Deviation) *Member {
	cp := *m
	cp.deviation = &d
	return &cp
}

// apply corrupts share, subset s's key-switching share of an NTT-domain
// ciphertext.
func (d *Deviation) apply(params rlwe.Parameters, s int, share *mhe.PublicKeySwitchShare) {
	if d.Subsets != nil {
		hit := false
		for _, x := range d.Subsets {
			hit = hit || x == s
		}
		if !hit {
			return
		}
	}
	p := share.Value[0]
	ringQ := params.RingQ().AtLevel(p.Level())
	if d.Random {
		prng, err := sampling.NewPRNG()
		if err != nil {
			return // no randomness: the test sees an honest member
		}
		ring.NewUniformSampler(prng, ringQ).ReadAndAdd(p)
		return
	}
	for i, q := range ringQ.ModuliChain()[:p.Level()+1] {
		c := d.Shift % q
		for j, v := range p.Coeffs[i] {
			p.Coeffs[i][j] = (v%q + c) % q
		}
	}
}
