package main

import (
	"context"
	"fmt"
	"io"
)

func runLedgerSuite(_ context.Context, _ io.Writer) (Results, error) {
	return nil, fmt.Errorf("suite ledger: %w", errNotImplemented)
}
