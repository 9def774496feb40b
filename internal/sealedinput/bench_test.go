package sealedinput

import (
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

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
