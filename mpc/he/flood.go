package he

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// maxFloodBits bounds flood's noise (4 words per coefficient).
const maxFloodBits = 4*64 - 2

// flood adds to the polynomial p uniform noise over [−2^bits, 2^bits) per
// coefficient (in the coefficient domain): each coefficient is
// one big integer, drawn from crypto/rand, reduced consistently modulo
// every RNS modulus of p's level. lattigo's discrete Gaussian sampler works
// in float64 and cannot draw noise this large (its bound must stay below
// the smallest modulus), hence our own sampler. isNTT says which domain p
// is in: lattigo's key-switching share of a ciphertext is in the NTT domain
// when the ciphertext is (ct.IsNTT, the default of both schemes) and in the
// coefficient domain otherwise, so the caller passes the ciphertext's flag.
func flood(params rlwe.Parameters, nbits int, p ring.Poly, isNTT bool) error {
	if nbits < 1 || nbits > maxFloodBits {
		return fmt.Errorf("he: flooding of 2^%d out of range", nbits)
	}
	level := p.Level()
	ringQ := params.RingQ().AtLevel(level)
	moduli := ringQ.ModuliChain()[:level+1]
	N := ringQ.N()
	// v is uniform over [0, 2^(nbits+1)), little-endian in `words` words
	// whose top one is masked; the noise is v − 2^nbits.
	words := (nbits + 1 + 63) / 64
	buf := make([]byte, 8*words*N)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("he: flooding randomness: %w", err)
	}
	topMask := ^uint64(0)
	if r := (nbits + 1) % 64; r != 0 {
		topMask = 1<<uint(r) - 1
	}
	noise := ringQ.NewPoly()
	for i, q := range moduli {
		off := new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), uint(nbits)), new(big.Int).SetUint64(q)).Uint64()
		for j := 0; j < N; j++ {
			// v mod q by Horner over the words, most significant first:
			// (acc·2^64 + w) mod q, with acc < q as bits.Div64 needs.
			var acc uint64
			for k := words - 1; k >= 0; k-- {
				w := binary.LittleEndian.Uint64(buf[8*(words*j+k):])
				if k == words-1 {
					w &= topMask
				}
				_, acc = bits.Div64(acc, w, q)
			}
			// (v − 2^nbits) mod q.
			if acc >= off {
				acc -= off
			} else {
				acc = acc + q - off
			}
			noise.Coeffs[i][j] = acc
		}
	}
	if isNTT {
		ringQ.NTT(noise, noise)
	}
	ringQ.Add(p, noise, p)
	return nil
}
