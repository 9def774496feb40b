package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/zk"
)

func newSetupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Make zk proving and verifying keys (dev keys or a multi-party ceremony)",
		Long: `Make Groth16 keys for cohort's circuits.

  cohort setup dev        single-party keys, FOR DEVELOPMENT ONLY
  cohort setup ceremony   multi-party setup (gnark mpcsetup, phase 1 and 2):
                          init → contribute… → close-phase1 → contribute… → finalize

Keys are written to a keys directory as <circuit>.pk, <circuit>.vk and
<circuit>.json (with the vk ID).`,
	}
	cmd.AddCommand(newSetupDevCmd(), newCeremonyCmd())
	return cmd
}

func circuitsFlag(c string) ([]string, error) {
	if c == "" || c == "all" {
		return zk.CircuitNames(), nil
	}
	for _, n := range zk.CircuitNames() {
		if n == c {
			return []string{c}, nil
		}
	}
	return nil, fmt.Errorf("unknown circuit %q (have all, compliance, input, completion)", c)
}

const devWarning = `
************************************************************************
*  DEVELOPMENT KEYS ONLY. These keys come from a single-party setup:   *
*  this process knew the toxic waste and anyone who had it can forge   *
*  proofs. Never register them on a production ledger; run             *
*  "cohort setup ceremony" among the members instead.                  *
************************************************************************
`

func newSetupDevCmd() *cobra.Command {
	var keysDir, circuit string
	cmd := &cobra.Command{
		Use:   "dev --keys DIR [--circuit C|all]",
		Short: "Make single-party development keys (INSECURE, for development only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, err := circuitsFlag(circuit)
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			fmt.Fprint(errw, devWarning)
			for _, c := range names {
				start := time.Now()
				fmt.Fprintf(errw, "setup dev %s …\n", c)
				keys, err := zk.DevSetup(cmd.Context(), c)
				if err != nil {
					return err
				}
				if err := keys.Save(keysDir); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-11s constraints=%-6d vk_id=%s (%.1fs, DEV ONLY)\n",
					c, keys.Info.Constraints, keys.Info.VKID, time.Since(start).Seconds())
			}
			fmt.Fprint(errw, devWarning)
			return nil
		},
	}
	cmd.Flags().StringVar(&keysDir, "keys", "", "directory to write the keys to")
	cmd.Flags().StringVar(&circuit, "circuit", "all", "circuit: all, compliance, input or completion")
	_ = cmd.MarkFlagRequired("keys")
	return cmd
}

func newCeremonyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ceremony",
		Short: "Multi-party Groth16 setup: contributors pass a ceremony directory along",
		Long: `A ceremony directory is handed from contributor to contributor (any machine).
Each "contribute" first verifies every earlier contribution of the current
phase, then adds its own; its randomness never leaves the process. The keys
are sound if at least one contributor was honest and the beacons were chosen
after the last contribution of their phase (e.g. a drand round or a future
ledger block hash).

  cohort setup ceremony init         --dir D --circuit C|all  (all: one sub-directory per circuit;
                                                            every later step then applies to each)
  cohort setup ceremony contribute   --dir D --name NAME     (phase 1, repeat per member)
  cohort setup ceremony close-phase1 --dir D --beacon HEX
  cohort setup ceremony contribute   --dir D --name NAME     (phase 2, repeat per member)
  cohort setup ceremony finalize     --dir D --beacon HEX --keys KEYS
  cohort setup ceremony verify       --dir D                 (anyone, any time)
  cohort setup ceremony local        --contributors N --keys KEYS   (all steps on this machine)`,
	}
	cmd.AddCommand(newCeremonyInitCmd(), newCeremonyContributeCmd(), newCeremonyClosePhase1Cmd(),
		newCeremonyFinalizeCmd(), newCeremonyVerifyCmd(), newCeremonyLocalCmd())
	return cmd
}

// ceremonyDirs resolves --dir: a ceremony directory, or a directory made by
// "init --circuit all" that holds one ceremony per circuit (every step then
// applies to each, in CircuitNames order).
func ceremonyDirs(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "ceremony.json")); err == nil {
		return []string{dir}, nil
	}
	var dirs []string
	for _, c := range zk.CircuitNames() {
		sub := filepath.Join(dir, c)
		if _, err := os.Stat(filepath.Join(sub, "ceremony.json")); err == nil {
			dirs = append(dirs, sub)
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s holds no ceremony (run cohort setup ceremony init)", dir)
	}
	return dirs, nil
}

func newCeremonyInitCmd() *cobra.Command {
	var dir, circuit string
	cmd := &cobra.Command{
		Use:   "init --dir D --circuit C",
		Short: "Start a ceremony for one circuit in a new directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, err := circuitsFlag(circuit)
			if err != nil {
				return err
			}
			for _, c := range names {
				d := dir
				if circuit == "all" {
					d = filepath.Join(dir, c)
				}
				m, err := zk.InitCeremony(d, c)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ceremony for %s (domain %d) initialised in %s\n", m.Circuit, m.DomainSize, d)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "next: contribute (phase 1)")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "ceremony directory")
	cmd.Flags().StringVar(&circuit, "circuit", "", "circuit: compliance, input, completion, or all (one sub-directory each)")
	_ = cmd.MarkFlagRequired("dir")
	_ = cmd.MarkFlagRequired("circuit")
	return cmd
}

func newCeremonyContributeCmd() *cobra.Command {
	var dir, name string
	cmd := &cobra.Command{
		Use:   "contribute --dir D --name NAME",
		Short: "Verify the current phase's contributions and add yours",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dirs, err := ceremonyDirs(dir)
			if err != nil {
				return err
			}
			prog := newProgress(cmd.ErrOrStderr())
			for i, d := range dirs {
				var rec zk.ContributionRecord
				err := prog.Run(cmd.Context(), fmt.Sprintf("[%d/%d] contributing to %s", i+1, len(dirs), d), func() (err error) {
					rec, err = zk.Contribute(cmd.Context(), d, name, prog)
					return err
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: contribution %s by %s, sha256 %s\n", d, rec.File, rec.Contributor, rec.SHA256)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pass %s on to the next contributor\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "ceremony directory")
	cmd.Flags().StringVar(&name, "name", "", "your name as a contributor (public)")
	_ = cmd.MarkFlagRequired("dir")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func parseBeacon(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) < 16 {
		return nil, errors.New("--beacon must be hex of at least 16 bytes (a public random value fixed after the last contribution)")
	}
	return b, nil
}

func newCeremonyClosePhase1Cmd() *cobra.Command {
	var dir, beacon string
	cmd := &cobra.Command{
		Use:   "close-phase1 --dir D --beacon HEX",
		Short: "Verify phase 1, seal it with a public random beacon and open phase 2",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := parseBeacon(beacon)
			if err != nil {
				return err
			}
			dirs, err := ceremonyDirs(dir)
			if err != nil {
				return err
			}
			for _, d := range dirs {
				if err := zk.ClosePhase1(cmd.Context(), d, b, cmd.ErrOrStderr()); err != nil {
					return err
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "phase 1 sealed; next: contribute (phase 2)")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "ceremony directory")
	cmd.Flags().StringVar(&beacon, "beacon", "", "public random beacon, hex")
	_ = cmd.MarkFlagRequired("dir")
	_ = cmd.MarkFlagRequired("beacon")
	return cmd
}

func newCeremonyFinalizeCmd() *cobra.Command {
	var dir, beacon, keysDir string
	cmd := &cobra.Command{
		Use:   "finalize --dir D --beacon HEX --keys KEYS",
		Short: "Verify the transcript, seal phase 2 with a public beacon and write the keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := parseBeacon(beacon)
			if err != nil {
				return err
			}
			dirs, err := ceremonyDirs(dir)
			if err != nil {
				return err
			}
			for _, d := range dirs {
				keys, err := zk.FinalizeCeremony(cmd.Context(), d, b, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				if err := keys.Save(keysDir); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s keys written to %s, vk_id=%s\n", keys.Info.Circuit, keysDir, keys.Info.VKID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "ceremony directory")
	cmd.Flags().StringVar(&beacon, "beacon", "", "public random beacon, hex")
	cmd.Flags().StringVar(&keysDir, "keys", "", "directory to write the keys to")
	for _, f := range []string{"dir", "beacon", "keys"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func newCeremonyVerifyCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "verify --dir D",
		Short: "Re-verify a ceremony transcript from scratch",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dirs, err := ceremonyDirs(dir)
			if err != nil {
				return err
			}
			for _, d := range dirs {
				m, err := zk.VerifyCeremony(cmd.Context(), d, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ceremony for %s verified: phase %s, %d phase-1 and %d phase-2 contributions",
					m.Circuit, m.Phase, len(m.Phase1), len(m.Phase2))
				if m.VKID != "" {
					fmt.Fprintf(cmd.OutOrStdout(), ", vk_id=%s", m.VKID)
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "ceremony directory")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

func newCeremonyLocalCmd() *cobra.Command {
	var keysDir, workDir, circuit string
	var n int
	cmd := &cobra.Command{
		Use:   "local --contributors N --keys KEYS [--circuit C|all] [--dir D]",
		Short: "Run a whole ceremony with N contributions per phase on this machine",
		Long: `Runs init, N phase-1 contributions, close-phase1, N phase-2 contributions and
finalize on this machine with fresh random beacons. Convenient for a
single-operator network or a demo; it is only as trustworthy as this machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, err := circuitsFlag(circuit)
			if err != nil {
				return err
			}
			if workDir == "" {
				if workDir, err = os.MkdirTemp("", "cohort-ceremony"); err != nil {
					return err
				}
				defer os.RemoveAll(workDir)
			}
			prog := newProgress(cmd.ErrOrStderr())
			for i, c := range names {
				start := time.Now()
				var keys *zk.Keys
				label := fmt.Sprintf("[%d/%d] %s ceremony, %d contributions per phase", i+1, len(names), c, n)
				err := prog.Run(cmd.Context(), label, func() (err error) {
					keys, err = zk.RunLocalCeremony(cmd.Context(), filepath.Join(workDir, c), c, n, prog)
					return err
				})
				if err != nil {
					return err
				}
				if err := keys.Save(keysDir); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-11s ceremony with %d contributors done in %.1fs, vk_id=%s\n",
					c, n, time.Since(start).Seconds(), keys.Info.VKID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keysDir, "keys", "", "directory to write the keys to")
	cmd.Flags().StringVar(&workDir, "dir", "", "keep the ceremony transcripts here (default: a temporary directory)")
	cmd.Flags().StringVar(&circuit, "circuit", "all", "circuit: all, compliance, input or completion")
	cmd.Flags().IntVar(&n, "contributors", 3, "contributions per phase")
	_ = cmd.MarkFlagRequired("keys")
	return cmd
}
