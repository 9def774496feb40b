package ledger

import (
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// Voting power and epochs ("dynamic authorization"): at the end of every
// epoch ratings decay toward the baseline and each validator's power is
// recomputed from its rating and verified output.

// powerOutputCap bounds how much verified output adds to voting power, so
// that volume cannot buy control of consensus.
const powerOutputCap = 50

// endEpoch decays every rating toward the baseline and recomputes validator
// power. It returns the validator updates for CometBFT.
func endEpoch(b *blockState, height int64, v *committedView) ([]abci.ValidatorUpdate, error) {
	members, p := v.members, v.params
	credits := make(map[string]*ledgerpb.Credit, len(members.names))
	for _, name := range members.names {
		c, err := loadRating(b, name)
		if err != nil {
			return nil, err
		}
		if d := (p.CreditBaseline - c.Score) / p.CreditDecayDivisor; d != 0 {
			if err := adjustRating(b, name, d, "decay", height); err != nil {
				return nil, err
			}
			if c, err = loadRating(b, name); err != nil {
				return nil, err
			}
		}
		credits[name] = c
	}
	powers := votingPowers(members, credits, v.keepsValidatorPower)
	var updates []abci.ValidatorUpdate
	for _, name := range members.names {
		c := credits[name]
		if powers[name] == c.Power {
			continue
		}
		m := members.byName[name]
		updates = append(updates, abci.Ed25519ValidatorUpdate(m.ValidatorKey, powers[name]))
		c.Power = powers[name]
		if err := putRating(b, c); err != nil {
			return nil, err
		}
	}
	return updates, nil
}

// votingPowers is the "rise and fall" rule: a validator's power grows with
// its rating and verified output; a validator rated below the threshold has
// none; with four or more validators nobody holds a third of the total.
// Members without a validator key never have power. If the rule would leave
// no validator at all, the current powers stay (the chain must not halt).
func votingPowers(members *memberIndex, credits map[string]*ledgerpb.Credit, eligible func(score int64) bool) map[string]int64 {
	powers := make(map[string]int64, len(members.names))
	active := 0
	for _, name := range members.names {
		m, c := members.byName[name], credits[name]
		if len(m.ValidatorKey) == 0 || !eligible(c.Score) {
			powers[name] = 0
			continue
		}
		powers[name] = 1 + c.Score/10 + 2*min(c.Output, powerOutputCap)
		active++
	}
	if active == 0 {
		for _, name := range members.names {
			powers[name] = credits[name].Power
		}
		return powers
	}
	if active >= 4 {
		capBelowThird(members.names, powers)
	}
	return powers
}

// capBelowThird lowers powers until every p_i < total/3, i.e. 2·p_i < the
// others' sum. Lowering one power can only tighten the others' bounds, so the
// loop reaches a fixed point; names are visited in order for determinism.
func capBelowThird(names []string, powers map[string]int64) {
	for changed := true; changed; {
		changed = false
		var total int64
		for _, n := range names {
			total += powers[n]
		}
		for _, n := range names {
			others := total - powers[n]
			if limit := (others - 1) / 2; powers[n] > limit && powers[n] > 0 {
				total -= powers[n] - max(limit, 1)
				powers[n] = max(limit, 1)
				changed = true
			}
		}
	}
}

// keepsValidatorPower applies the policy's validator grade, or the params'
// threshold on a chain without a policy.
func (v *committedView) keepsValidatorPower(score int64) bool {
	if v.policy != nil {
		return v.policy.KeepsValidatorPower(uint32(score))
	}
	return score >= v.params.ValidatorMinCredit
}
