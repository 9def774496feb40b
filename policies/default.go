package policies

import (
	_ "embed"
	"fmt"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns a copy of the default policy file (default.yaml), the
// policy genesis uses unless another is given.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Default parses the default policy.
func Default() (*Policy, error) {
	p, err := Parse(defaultYAML)
	if err != nil {
		return nil, fmt.Errorf("default policy: %w", err)
	}
	return p, nil
}
