package main

import (
	"context"
	"fmt"
	"io"
)

// runSSSuite is replaced when its layer lands.
func runSSSuite(_ context.Context, _ io.Writer) (Results, error) {
	return nil, fmt.Errorf("suite ss: %w", errNotImplemented)
}
