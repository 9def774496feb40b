package sharecheck

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// BenchmarkCheck times one share check of a 4-member committee at the secure
// preset's ring (N = 2^14, QP = 60+6×45 | 2×54 bits), in-process: every
// member's engine and public computation share this machine's cores. One
// op is the whole check as a setup runs it (witness extraction, both input
// phases, the public linear forms, products, MAC check and opening); the
// seconds/op figure is the setup's added time.
//
//	go test ./mpc/he/sharecheck -run '^$' -bench Check -benchtime 1x
func BenchmarkCheck(b *testing.B) {
	params := testParams(b, 14)
	// pk: the public-key share alone; pk+rkg1: the setup's first check;
	// rkg2: its second (round two, re-proving pk and one round-one row).
	// galois: one Galois element's check. A setup runs pk+rkg1, rkg2 and
	// one galois check per element.
	for _, name := range []string{"pk", "pk+rkg1", "rkg2", "galois"} {
		b.Run(fmt.Sprintf("n=4/%s", name), func(b *testing.B) {
			const n = 4
			f := newFixture(b, params, n, name == "pk+rkg1" || name == "rkg2")
			if name == "rkg2" {
				f.withRoundTwo(b, params, -1, nil)
			}
			sys := f.system(b)
			var gks []mhe.GaloisKeyGenShare
			if name == "galois" {
				// One Galois element (a setup checks one per element).
				prng, err := sampling.NewKeyedPRNG([]byte("bench galois crs"))
				if err != nil {
					b.Fatal(err)
				}
				gkg := mhe.NewGaloisKeyGenProtocol(params)
				crp := gkg.SampleCRP(prng)
				galEl := params.GaloisElement(1)
				if sys, err = f.su.SystemGalois(galEl, crp, 7); err != nil {
					b.Fatal(err)
				}
				for _, m := range f.members {
					share := gkg.AllocateShare()
					if err := gkg.GenShare(m.sk, galEl, crp, &share); err != nil {
						b.Fatal(err)
					}
					gks = append(gks, share)
				}
			}
			statements := func() []Statement {
				if gks == nil {
					return f.statements(b)
				}
				out := make([]Statement, n)
				for d, m := range f.members {
					st, err := f.su.StatementGalois(m.pk, gks[d])
					if err != nil {
						b.Fatal(err)
					}
					out[d] = st
				}
				return out
			}
			var inputs int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				stmts := statements()
				res, errs := mpctest.Run(b, n, func(ctx context.Context, conn transport.Conn) (Stats, error) {
					d := int(conn.Self())
					p, err := ss.NewParty(ctx, conn, ss.Config{Security: ss.Malicious})
					if err != nil {
						return Stats{}, err
					}
					w, _, err := f.su.Witness(sys, stmts[d], f.members[d].sk, f.members[d].u)
					if err != nil {
						return Stats{}, err
					}
					return Check(ctx, p, sys, stmts, w)
				}, mpctest.Timeout(10*time.Minute))
				for d, err := range errs {
					if err != nil {
						b.Fatalf("member %d: %v", d, err)
					}
				}
				inputs = res[0].Inputs
			}
			b.ReportMetric(float64(inputs)/n, "inputs/member")
		})
	}
}
