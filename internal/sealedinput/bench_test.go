package sealedinput

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
)

// Costs of the commitments, per input: the provider's Messages (interpolate,
// blind, commit: 2·(t+1)·(fields+1) fixed-base multiplications), one
// member's Judge (one multi-scalar multiplication of (t+1)·(fields+1)+2
// points) and the ledger's ParseCommitments (a square root per point).
// Committees of 4 (t = 1) and 9 (t = 4); 1 field (an auction bid, a tender
// slot) and 100 (a clearing curve of 100 levels).
func BenchmarkPedersen(b *testing.B) {
	for _, n := range []int{4, 9} {
		for _, fields := range []int{1, 100} {
			values := make([]fr.Element, fields)
			shares, _, err := jobs.ShareInput(n, values, fr.NewElement(3), nil)
			if err != nil {
				b.Fatal(err)
			}
			com, msgs, err := Messages(shares, fields, nil)
			if err != nil {
				b.Fatal(err)
			}
			name := fmt.Sprintf("n=%d/fields=%d", n, fields)
			b.Run("deal/"+name, func(b *testing.B) {
				for b.Loop() {
					if _, _, err := Messages(shares, fields, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
			c, err := ParseCommitments(com, n, fields)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("judge/"+name, func(b *testing.B) {
				for b.Loop() {
					if _, err := Judge(msgs[1], fields, 1, c); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parse/"+name, func(b *testing.B) {
				for b.Loop() {
					if _, err := ParseCommitments(com, n, fields); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkBlinding (review L3): drawing the blinding coefficients
// directly from crypto/rand (randomVector, what Deal does) against
// expanding a crypto/rand seed with the field PRG (what it did), for a
// scalar input on a committee of 4 ((t+1)·W = 4 elements) and a 100-field
// input on a committee of 9 (505 elements).
func BenchmarkBlinding(b *testing.B) {
	for _, n := range []int{4, 505} {
		v := make(fr.Vector, n)
		b.Run(fmt.Sprintf("direct/elements=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := randomVector(rand.Reader, v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("prg/elements=%d", n), func(b *testing.B) {
			for b.Loop() {
				prg, err := field.NewPRGFrom(rand.Reader, "cohort/sealedinput/pedersen-blinding")
				if err != nil {
					b.Fatal(err)
				}
				prg.FillVector(v)
			}
		})
	}
}
