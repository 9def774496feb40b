package ledger

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/policies"
)

// TestGrades: without a policy the ledger names ratings with the default
// policy's table (policies owns the one grade table).
func TestGrades(t *testing.T) {
	defaults, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	v := &committedView{defaults: defaults}
	for score, want := range map[int64]string{1000: "AAA", 900: "AAA", 899: "AA", 600: "BBB", 450: "B", 399: "C", 0: "C", -5: "C", 5000: "AAA"} {
		if got := v.grade(score); got != want {
			t.Errorf("grade(%d) = %s, want %s", score, got, want)
		}
	}
}

func TestVotingPowersCapBelowAThird(t *testing.T) {
	idx := newMemberIndex()
	credits := map[string]*ledgerpb.Credit{}
	for i, score := range []int64{1000, 1000, 600, 500, 450} {
		name := fmt.Sprintf("v%d", i)
		idx.add(&ledgerpb.Member{Name: name, ValidatorKey: make([]byte, 32)})
		credits[name] = &ledgerpb.Credit{Member: name, Score: score, Output: int64(100 * (1 - i%2))}
	}
	p := DefaultParams()
	eligible := func(s int64) bool { return s >= p.ValidatorMinCredit }
	powers := votingPowers(idx, credits, eligible)
	var total int64
	for _, n := range idx.names {
		total += powers[n]
	}
	for _, n := range idx.names {
		if 3*powers[n] >= total {
			t.Errorf("%s holds %d of %d: not below a third", n, powers[n], total)
		}
		if powers[n] <= 0 {
			t.Errorf("%s has no power", n)
		}
	}
	// Below the threshold: no power; the others keep theirs.
	credits["v4"].Score = p.ValidatorMinCredit - 1
	if got := votingPowers(idx, credits, eligible)["v4"]; got != 0 {
		t.Errorf("a validator below the credit threshold keeps power %d", got)
	}
	// Everyone below the threshold: the chain keeps its current validators.
	for _, c := range credits {
		c.Score, c.Power = 0, 7
	}
	for n, got := range votingPowers(idx, credits, eligible) {
		if got != 7 {
			t.Errorf("%s: power %d; the set must not empty itself", n, got)
		}
	}
}

// TestValidatorFallsAndRises drives a validator under the credit threshold
// with a timed-out task and back over it by decay, through FinalizeBlock.
func TestValidatorFallsAndRises(t *testing.T) {
	var g Genesis
	var ms []testMember
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("v%d", i)
		k := deterministicKey("account/" + name)
		ms = append(ms, testMember{name: name, key: k})
		g.Members = append(g.Members, GenesisMember{
			Name: name, Roles: []string{RoleEnterprise}, AccountKey: k.Public().(ed25519.PublicKey),
			PeerID: "peer-" + name, ValidatorKey: deterministicKey("val/" + name).Public().(ed25519.PublicKey), Power: 10,
		})
	}
	p := DefaultParams()
	p.EpochLength, p.InitialCredit, p.ValidatorMinCredit, p.CreditDecayDivisor = 4, 420, 400, 16
	g.Params = &p
	gen, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	// run returns, per epoch, every validator's power after the epoch.
	run := func() []map[string]int64 {
		app := newTestApp(t, gen)
		o := newOrder(t, "T-late", 5)
		finalize(t, app, 1, assignTx(t, ms[0], 1, o, "v3", 5000, 2))
		powers := map[string]int64{}
		for _, m := range g.Members {
			powers[string(m.ValidatorKey)] = m.Power
		}
		var epochs []map[string]int64
		for h := int64(2); h <= 12; h++ {
			r := finalize(t, app, h)
			for _, u := range r.ValidatorUpdates {
				powers[string(u.PubKey.GetEd25519())] = u.Power
			}
			if h%p.EpochLength == 0 {
				snapshot := map[string]int64{}
				for k, v := range powers {
					snapshot[fmt.Sprintf("%x", k[:4])] = v
				}
				epochs = append(epochs, snapshot)
			}
		}
		return epochs
	}
	epochs := run()
	v3 := fmt.Sprintf("%x", deterministicKey("val/v3").Public().(ed25519.PublicKey)[:4])
	// v3's task timed out: 420 − 50 = 370, decay +14 → 384 < 400: no power.
	// Epoch 8: 384 + 13 = 397, still none. Epoch 12: 397 + 12 = 409: power back.
	if got := []int64{epochs[0][v3], epochs[1][v3]}; got[0] != 0 || got[1] != 0 {
		t.Fatalf("v3 power after epochs 4 and 8: %v, want 0 and 0", got)
	}
	if epochs[2][v3] <= 0 {
		t.Fatalf("v3 did not regain power at epoch 12: %v", epochs[2])
	}
	for i, e := range epochs {
		for k, v := range e {
			if k != v3 && v <= 0 {
				t.Fatalf("epoch %d: validator %s lost power %d", i, k, v)
			}
		}
	}
	// Same blocks, same powers: voting power evolves identically on every node.
	if again := run(); fmt.Sprint(again) != fmt.Sprint(epochs) {
		t.Fatalf("powers differ between two runs of the same blocks:\n%v\n%v", epochs, again)
	}
}
