// Package policies owns cohort's alliance policy model: the members and their
// roles, which roles may submit which job types, the credit grade table and
// the minimum grades to submit jobs, to sit on a committee and to keep
// validator power, the rating moves of an order's life cycle and the rating
// weight of a tender quote's price (TenderPriceFactor), compliance rule sets (named fields, ranges and linear
// constraints, compiled exactly to the public coefficients of the zk
// compliance circuit), supervision channels, and the governance rule that a
// policy update needs signatures from a quorum of the current policy's
// supervisors.
//
// A policy is a YAML file (the schema is in README.md; default.yaml is the default). Parse
// reads, validates and compiles it, reporting every error with its YAML path
// and line. Everything the ledger calls (Parse, Canonical, Hash, grade and
// access checks, CheckUpdate) is deterministic: no floating point, no map
// iteration order in outputs, no clock. The package never imports the ledger
// or node; member existence is cross-checked by the ledger through
// CheckMembership.
package policies
