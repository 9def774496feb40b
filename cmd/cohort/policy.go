package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/policies"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check, compile and print alliance policy files",
		Long: `Alliance policies say who may submit which private jobs, the credit grades
that gate jobs, committees and validator power, the compliance rule sets that
supervised records must prove, and the supervision channels. The schema is
described in policies/README.md; the default policy is printed by
'cohort policy default'.`,
	}
	cmd.AddCommand(newPolicyCheckCmd(), newPolicyCompileCmd(), newPolicyDefaultCmd(), newPolicyCanonicalCmd())
	return cmd
}

// loadPolicyFile reads and parses a policy file ("-" for stdin). A parse
// failure is returned as policies.ErrorList.
func loadPolicyFile(path string) (*policies.Policy, error) {
	data, err := readInputFile(path, policies.MaxPolicyBytes)
	if err != nil {
		return nil, err
	}
	return policies.Parse(data)
}

// reportPolicyErrors prints every error as FILE:LINE:COL: PATH: MESSAGE and
// returns an exit-code-1 error.
func reportPolicyErrors(w io.Writer, file string, err error) error {
	var list policies.ErrorList
	if !errors.As(err, &list) {
		return withExitCode(1, err)
	}
	for _, e := range list {
		loc := file
		if e.Line > 0 {
			loc = fmt.Sprintf("%s:%d:%d", file, e.Line, e.Column)
		}
		if e.Path != "" {
			fmt.Fprintf(w, "%s: %s: %s\n", loc, e.Path, e.Msg)
		} else {
			fmt.Fprintf(w, "%s: %s\n", loc, e.Msg)
		}
	}
	noun := "errors"
	if len(list) == 1 {
		noun = "error"
	}
	return withExitCode(1, fmt.Errorf("%s: %d %s", file, len(list), noun))
}

func newPolicyCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a policy file and explain every error",
		Long: `Validate a policy file: schema, names, roles, job types, the grade table,
rule-set compilation to the compliance circuit (at most 8 fields and 8
constraints, coefficients within the circuit's bounds), channels and
governance. Prints "ok: <summary>" and exits 0, or prints every error with
its line and YAML path and exits 1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPolicyFile(args[0])
			if err != nil {
				return reportPolicyErrors(cmd.OutOrStdout(), args[0], err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ok: %s\n", policySummary(p))
			return err
		},
	}
}

func policySummary(p *policies.Policy) string {
	roles := map[string]int{}
	for _, m := range p.Members {
		roles[m.Role]++
	}
	var rc []string
	for _, r := range policies.Roles() {
		if roles[r] > 0 {
			rc = append(rc, fmt.Sprintf("%d %s", roles[r], r))
		}
	}
	var rs []string
	for _, r := range p.RuleSets {
		rs = append(rs, fmt.Sprintf("%s: %d fields, %d constraints", r.Name, len(r.Compiled.Fields), len(r.Compiled.Constraints)))
	}
	h := p.Hash()
	return fmt.Sprintf("policy %s revision %d: %d members (%s); %d job types; %d rule sets (%s); %d channels; quorum %d of %d supervisors; hash %s",
		p.Name, p.Revision, len(p.Members), strings.Join(rc, ", "), len(p.Jobs), len(p.RuleSets), strings.Join(rs, "; "),
		len(p.Channels), p.Governance.SupervisorsQuorum, len(p.Supervisors()), hex.EncodeToString(h[:]))
}

func newPolicyCompileCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compile FILE",
		Short: "Show each rule set as the compliance circuit's integer constraints",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPolicyFile(args[0])
			if err != nil {
				return reportPolicyErrors(cmd.OutOrStdout(), args[0], err)
			}
			w := cmd.OutOrStdout()
			for _, rs := range p.RuleSets {
				fmt.Fprintf(w, "%s", rs.Compiled)
				fmt.Fprintf(w, "  circuit fields (64-bit unsigned integers, in commitment order):\n")
				for i, f := range rs.Fields {
					fmt.Fprintf(w, "    x%d = %s: value in %s × %d\n", i, f.Name, f.Unit, f.Scale)
				}
			}
			return nil
		},
	}
}

func newPolicyDefaultCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "default",
		Short: "Print the default policy file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(policies.DefaultYAML())
			return err
		},
	}
}

func newPolicyCanonicalCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "canonical FILE",
		Short: "Print a policy's canonical JSON (what its hash covers) and its hash on stderr",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPolicyFile(args[0])
			if err != nil {
				return reportPolicyErrors(cmd.ErrOrStderr(), args[0], err)
			}
			b, err := p.Canonical()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
			h := p.Hash()
			fmt.Fprintf(cmd.ErrOrStderr(), "hash %s\n", hex.EncodeToString(h[:]))
			return nil
		},
	}
}
