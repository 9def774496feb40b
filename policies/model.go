package policies

import (
	"math/big"

	"github.com/cohortnet/cohort/mpc/jobspec"
)

// Format is the value of the required top-level `format` key.
const Format = "cohort-policy/1"

// Roles a member can have. They match the ledger's role names; the ledger
// cross-checks each policy member's role against its own record
// (CheckMembership).
const (
	RoleEnterprise = "enterprise"
	RolePlatform   = "platform"
	RoleSupervisor = "supervisor"
)

// Roles lists the known roles, sorted.
func Roles() []string { return []string{RoleEnterprise, RolePlatform, RoleSupervisor} }

// JobTypes lists the job types a policy can grant, sorted: the types of
// mpc/jobspec, the one definition of a job.
func JobTypes() []string { return jobspec.TypeNames() }

// Credit ratings are integers in [0, MaxRating].
const MaxRating = 1000

// Bounds on untrusted policy files, checked before the content is processed.
const (
	MaxPolicyBytes = 256 << 10
	MaxMembers     = 256
	MaxChannels    = 64
	MaxRuleSets    = 32
	MaxGrades      = 16
	// MaxRuleSetFields and MaxRuleSetConstraints bound what a rule set may
	// declare. They are larger than the circuit's 8 slots so that an
	// oversized rule set is reported with the count it needs instead of a
	// bare parse error; Compile enforces the circuit's limits.
	MaxRuleSetFields      = 64
	MaxRuleSetConstraints = 64
	maxNameLen            = 64
	maxDescriptionLen     = 1024
	maxUnitLen            = 32
)

// Policy is a parsed, validated and compiled policy. Build one with Parse (or
// Default); treat it as immutable: lookups use indexes built by Parse.
// Slices of named things are sorted by name.
type Policy struct {
	Name        string
	Revision    uint64
	Description string
	Members     []Member
	Governance  Governance
	Committees  Committees
	Credit      Credit
	Jobs        []JobRule
	RuleSets    []RuleSet
	Channels    []Channel

	members  map[string]int
	jobs     map[string]int
	ruleSets map[string]int
	channels map[string]int
	grades   map[string]int
}

// Member is a named alliance member and its role. Names are the members'
// ledger names (node monikers).
type Member struct {
	Name string
	Role string
	at   pos
}

// Governance says who may change the policy.
type Governance struct {
	// SupervisorsQuorum is how many distinct supervisors of the current
	// policy must sign a policy update.
	SupervisorsQuorum int
	at                pos
}

// Committees says who may compose job committees.
type Committees struct {
	// Creators are the roles whose members may create a committee
	// (committee.create on the ledger), sorted. Empty (or the section
	// absent): any member, as before the key existed. A committee's
	// creator chooses its members, so these roles' members are trusted to
	// compose committees with an honest majority, the assumption quorum
	// charging (Credit.ChargeAttestedFaults) rests on.
	Creators  []string
	at        pos
	creatorAt []pos // as written, before sorting
}

// Credit is the grade table and the thresholds that use it.
type Credit struct {
	// Grades are ordered from best to worst; Min thresholds are strictly
	// decreasing and the last is 0, so every rating in [0, MaxRating] has
	// exactly one grade: the first whose Min it reaches.
	Grades []Grade
	// CommitteeMinGrade is the minimum grade to sit on a job committee.
	CommitteeMinGrade string
	// ValidatorMinGrade is the minimum grade to keep validator power.
	ValidatorMinGrade string
	// TenderPenaltyBp is the weight of a low rating in a tender: a quote's
	// price is ranked multiplied by TenderPriceFactor(rating), which is
	// 10000 (1.0 in basis points) at MaxRating and 10000 + TenderPenaltyBp
	// at rating 0. Optional in the file (DefaultTenderPenaltyBp).
	TenderPenaltyBp uint64
	// Orders is the table of rating moves of the contract life cycle.
	// Optional in the file (DefaultOrderCredit).
	Orders OrderCredit
	// ChargeAttestedFaults lets the ledger charge the culprit a quorum of a
	// job committee's attestations names (ledger/attest.go). Optional in
	// the file (default false: attestations are recorded, never charged).
	// The quorum is a majority of the committee, so turning it on rests on
	// every committee having an honest majority, which the ledger cannot
	// check: a colluding majority of a committee can charge any member it
	// names. Validation therefore refuses it unless Committees.Creators
	// names the roles that compose committees; the alliance's trust in
	// those roles' members is what the quorum then rests on.
	ChargeAttestedFaults bool
	at                   pos
	chargeAt             pos
	committeeAt          pos
	validatorAt          pos
}

// OrderCredit is how much an order's life cycle moves its parties'
// ratings. The ledger applies these moves on top of the task machinery's
// own (a timed-out task already costs its assignee).
type OrderCredit struct {
	Activated    int64 // every party of an order that passed its checks and became active
	Breach       int64 // the party at fault of a breach that suspends (or re-suspends) an order
	Terminated   int64 // the party whose breach suspended an order its parties then terminated
	Delivered    int64 // a partner whose task met its threshold, at settlement
	DemanderPaid int64 // the demander, at settlement
}

// Defaults of the optional credit keys: the values the ledger used before
// they were policy fields, so a policy that omits them keeps its meaning
// (and its canonical form and hash: see Canonical).
const DefaultTenderPenaltyBp = 5000

// DefaultOrderCredit is the order credit table of a policy that has none.
var DefaultOrderCredit = OrderCredit{Activated: 2, Breach: -20, Terminated: -10, Delivered: 10, DemanderPaid: 5}

// Bounds of the optional credit keys. A factor stays below
// jobspec.MaxPriceFactor (10000 + MaxTenderPenaltyBp < 2^20); a single
// order move is at most a tenth of the rating scale.
const (
	MaxTenderPenaltyBp = 1_000_000
	MaxOrderCreditMove = MaxRating / 10
)

// Grade is a public credit grade: ratings ≥ Min (and below the previous
// grade's Min) have this grade.
type Grade struct {
	Name string
	Min  uint32
	at   pos
}

// JobRule says which roles may submit a job type and the minimum grade.
type JobRule struct {
	Type     string
	Roles    []string // sorted
	MinGrade string
	at       pos
	gradeAt  pos
}

// RuleSet is a compliance rule set: named fields with units and ranges, and
// linear rules over them, compiled to the compliance circuit's constraints.
type RuleSet struct {
	Name        string
	Description string
	// Fields in circuit slot order: a record's fields are committed and
	// proven in this order.
	Fields      []Field
	Constraints []Constraint
	Compiled    *CompiledRuleSet
	at          pos
}

// Field is one private field of a record: a 64-bit unsigned integer in the
// circuit, holding the value in the declared unit times Scale (e.g. a price
// in CNY with scale 100 is stored in cents). Min and Max are in the declared
// unit; nil means unbounded (0 and the largest representable value).
type Field struct {
	Name        string
	Unit        string
	Scale       uint64
	Min, Max    *big.Rat
	Description string
	at          pos
	minAt       pos
	maxAt       pos
}

// Constraint is one rule of a rule set over fields in their declared units,
// either written as a comparison (Rule, e.g. "fee <= 5% * price") or in
// structured form (Terms and Constant: Σ coef·field + Constant ≥ 0, e.g.
// terms {price: 5, fee: -100} for the same fee cap). Exactly one form is set.
type Constraint struct {
	Name     string
	Rule     string
	Terms    []Term   // sorted by field name
	Constant *big.Rat // structured form only; nil means 0
	r        rule
	at       pos
}

// Term is coef·field in a structured constraint.
type Term struct {
	Field string
	Coef  *big.Rat
}

// Channel is a supervision channel: an ordered set of members that can read
// private supervision info of the channel's records, and the rule set those
// records must satisfy.
type Channel struct {
	Name        string
	Description string
	Members     []string // in declared order
	RuleSet     string
	at          pos
	memberAt    []pos
	ruleSetAt   pos
}
