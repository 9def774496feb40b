package sharecheck

import (
	"context"
	"fmt"
	"testing"
	"time"

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
	// A setup runs the last two.
	for _, name := range []string{"pk", "pk+rkg1", "rkg2"} {
		b.Run(fmt.Sprintf("n=4/%s", name), func(b *testing.B) {
			const n = 4
			f := newFixture(b, params, n, name != "pk")
			if name == "rkg2" {
				f.withRoundTwo(b, params, -1, nil)
			}
			sys := f.system(b)
			var inputs int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				stmts := f.statements(b)
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
