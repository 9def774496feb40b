//go:build !cohort_adversary

package adversary

// Built reports whether this binary was built with the cohort_adversary tag.
const Built = false

// FromEnv returns nil: without the cohort_adversary build tag a node is
// always honest, whatever EnvVar says.
func FromEnv() (*Adversary, error) { return nil, nil }
