package ss

import (
	"math/rand/v2"
	"testing"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/transport"
)

// TestXorOffDegreeDealEvenN: with an even number of parties a dealer that
// deals its XOR bit off degree t (a hidden offset of degree t+1) may not
// cause a MAC error — re-sharing over all n points can multiply such an
// offset exactly (found by review) — but it gains nothing: every party
// either aborts or outputs exactly what the honest run does (the dealt value
// acts as a well-formed sharing of a value the dealer knows; see
// xorProduct).
func TestXorOffDegreeDealEvenN(t *testing.T) {
	for _, n := range []int{4, 6} {
		prm := mustParams(t, n)
		r := rand.New(rand.NewPCG(uint64(n), 91))
		a, b := comparisonInputs(r, 12)
		as, bs := shareAll(t, prm, field.FromUint64s(a), 1), shareAll(t, prm, field.FromUint64s(b), 2)
		honest, herrs, _ := runMal(t, transport.NewMemoryNetwork(), n, nil, adversarialJob(as, bs))
		if herrs[0] != nil {
			t.Fatal(herrs[0])
		}
		for _, cheater := range []int{0, 1} { // the left and a right operand's dealer
			plan := cheat.Plan{HiddenOffset: true, MulOp: "deal", Offset: 1}
			res, errs, _ := runMal(t, transport.NewMemoryNetwork(), n, map[int]*cheat.Plan{cheater: &plan}, adversarialJob(as, bs))
			for i, err := range errs {
				if err != nil || i == cheater {
					continue
				}
				if len(res[i]) != len(honest[0]) {
					t.Fatalf("n=%d dealer %d off degree: party %d output of %d values, honest %d", n, cheater, i, len(res[i]), len(honest[0]))
				}
				for j := range res[i] {
					if !res[i][j].Equal(&honest[0][j]) {
						t.Fatalf("n=%d dealer %d off degree: party %d accepted a wrong output at %d", n, cheater, i, j)
					}
				}
			}
		}
	}
}
