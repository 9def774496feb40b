package ledger

import (
	"encoding/binary"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// MaxCredit is the top of the rating scale; ratings run from 0 to MaxCredit.
const MaxCredit = 1000

// Rating moves. Each is applied in FinalizeBlock, in tx order.
const (
	creditTaskFull          = 20  // task completed at ≥ 100% of the order
	creditTaskHigh          = 10  // ≥ 90%
	creditTaskMet           = 5   // ≥ the task's threshold
	creditTaskTimeout       = -50 // deadline passed without a completion proof
	creditInvalidProof      = -30 // a proof that does not verify
	creditRejectedRecord    = -20 // a record that breaks its channel's rule set
	creditJobParticipation  = 2   // a job completed with the member on its committee
	creditJobTimeout        = -25 // a job aborted because the member did not deliver
	maxCreditHistoryInQuery = 50
	// powerOutputCap bounds how much verified output adds to voting power, so
	// that volume cannot buy control of consensus.
	powerOutputCap = 50
)

// Grade is a public rating band.
type Grade struct {
	Name string
	Min  int64
}

// Grades, best first; the last band starts at 0.
var grades = []Grade{{"AAA", 900}, {"AA", 800}, {"A", 700}, {"BBB", 600}, {"BB", 500}, {"B", 400}, {"C", 0}}

// GradeOf returns the grade of a rating.
func GradeOf(score int64) string {
	for _, g := range grades {
		if score >= g.Min {
			return g.Name
		}
	}
	return grades[len(grades)-1].Name
}

func keyCredit(name string) []byte { return append([]byte("cred/"), name...) }

func prefixCreditEvents(name string) []byte {
	k := append([]byte("credev/"), name...)
	return append(k, '/')
}

func keyCreditEvent(name string, height int64, seq uint32) []byte {
	k := binary.BigEndian.AppendUint64(prefixCreditEvents(name), uint64(height))
	return binary.BigEndian.AppendUint32(k, seq)
}

func loadCredit(st stateReader, name string) (*ledgerpb.Credit, error) {
	raw, err := st.get(keyCredit(name))
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("no credit record for %q", name)
	}
	var c ledgerpb.Credit
	if err := proto.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("corrupt credit record of %q: %w", name, err)
	}
	return &c, nil
}

func putCredit(b *blockState, c *ledgerpb.Credit) error {
	raw, err := marshal(c)
	if err != nil {
		return err
	}
	b.set(keyCredit(c.Member), raw)
	return nil
}

// adjustCredit moves a member's rating by delta (clamped to 0…MaxCredit) and
// records why in its history.
func adjustCredit(b *blockState, name string, delta int64, reason string, height int64) error {
	c, err := loadCredit(b, name)
	if err != nil {
		return err
	}
	old := c.Score
	c.Score = min(max(old+delta, 0), MaxCredit)
	if err := putCredit(b, c); err != nil {
		return err
	}
	ev, err := marshal(&ledgerpb.CreditEvent{Height: height, Reason: reason, Delta: c.Score - old, Score: c.Score})
	if err != nil {
		return err
	}
	b.set(keyCreditEvent(name, height, b.nextSeq()), ev)
	return nil
}

func addOutput(b *blockState, name string, n int64) error {
	c, err := loadCredit(b, name)
	if err != nil {
		return err
	}
	c.Output += n
	return putCredit(b, c)
}

// endEpoch decays every rating toward the baseline and recomputes validator
// power. It returns the validator updates for CometBFT.
func endEpoch(b *blockState, height int64, v *committedView) ([]abci.ValidatorUpdate, error) {
	members, p := v.members, v.params
	credits := make(map[string]*ledgerpb.Credit, len(members.names))
	for _, name := range members.names {
		c, err := loadCredit(b, name)
		if err != nil {
			return nil, err
		}
		if d := (p.CreditBaseline - c.Score) / p.CreditDecayDivisor; d != 0 {
			if err := adjustCredit(b, name, d, "decay", height); err != nil {
				return nil, err
			}
			if c, err = loadCredit(b, name); err != nil {
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
		if err := putCredit(b, c); err != nil {
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

// grade names a rating's grade under the policy's table, or the built-in one.
func (v *committedView) grade(score int64) string {
	if v.policy != nil {
		if g, err := v.policy.GradeOf(uint32(score)); err == nil {
			return g
		}
	}
	return GradeOf(score)
}

// creditReport assembles the query answer for a member.
func (a *App) creditReport(v *committedView, name string) (*ledgerpb.CreditReport, error) {
	c, err := loadCredit(committedReader{a.store}, name)
	if err != nil {
		return nil, ErrNotFound
	}
	var events []*ledgerpb.CreditEvent
	err = a.store.scan(prefixCreditEvents(name), func(_, val []byte) error {
		var ev ledgerpb.CreditEvent
		if err := proto.Unmarshal(val, &ev); err != nil {
			return fmt.Errorf("corrupt credit event: %w", err)
		}
		events = append(events, &ev)
		if len(events) > maxCreditHistoryInQuery {
			events = events[1:]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ledgerpb.CreditReport{Credit: c, Grade: v.grade(c.Score), History: events}, nil
}
