package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newZKCmd is replaced when the zk layer lands.
func newZKCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "zk",
		Short: "Prove and verify zk-SNARKs (not implemented yet)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("zk: not implemented")
		},
	}
}
