package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSetupCmd is replaced when the zk layer lands.
func newSetupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Make zk proving and verifying keys (not implemented yet)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("setup: not implemented")
		},
	}
}
