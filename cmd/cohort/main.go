package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// gnark logs every proof and verification to stdout at debug level; the
	// CLI's stdout is for results, and nodes log through slog.
	logger.Disable()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ec *exitCodeError
		if errors.As(err, &ec) {
			fmt.Fprintln(os.Stderr, "cohort:", ec.err)
			os.Exit(ec.code)
		}
		fmt.Fprintln(os.Stderr, "cohort:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "cohort",
		Short:         "cohort: a privacy-computing network for enterprise alliances",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCmd(),
		newInitCmd(),
		newGenesisCmd(),
		newTestnetCmd(),
		newNodeCmd(),
		newDevnetCmd(),
		newLedgerCmd(),
		newRecordCmd(),
		newDemoCmd(),
		newTraceCmd(),
		newTaskCmd(),
		newCreditCmd(),
		newOrderCmd(),
		newVerifyCmd(),
		newConsoleCmd(),
		newPolicyCmdWithGovernance(),
		newCommitteeCmd(),
		newJobCmd(),
		newZKCmd(),
		newSetupCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the cohort version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "cohort", version)
			return err
		},
	}
}

// exitCodeError makes the process exit with a specific code (e.g. `zk verify`:
// 1 invalid, 2 malformed input).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

func withExitCode(code int, err error) error { return &exitCodeError{code: code, err: err} }

// newPolicyCmdWithGovernance adds the ledger-facing policy commands (approve,
// update) to the offline ones (check, compile, canonical, default).
func newPolicyCmdWithGovernance() *cobra.Command {
	cmd := newPolicyCmd()
	cmd.AddCommand(newPolicyApproveCmd(), newPolicyUpdateCmd())
	return cmd
}
