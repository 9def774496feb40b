package policies

import (
	_ "embed"
	"fmt"
	"io"
	"os"
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

// Load reads and parses a policy file, reading at most MaxPolicyBytes+1
// bytes. Parse errors are returned as an ErrorList (wrapped with the path;
// use errors.As).
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
