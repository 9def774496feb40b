package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/zk"
)

// Exit codes of `cohort zk verify`.
const (
	exitInvalidProof = 1
	exitMalformed    = 2
)

func newZKCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zk",
		Short: "Prove and verify zk-SNARKs (Groth16 over BN254)",
		Long: `Prove and verify cohort's zk-SNARKs: compliance (committed fields satisfy a
policy's linear constraints), input (a committed value lies in a range) and
completion (a counterparty-signed delivery reaches the task's threshold).
Input, statement and proof formats are described in zk/README.md.`,
	}
	cmd.AddCommand(newZKProveCmd(), newZKVerifyCmd(), newZKKeysCmd(), newZKExampleCmd())
	return cmd
}

// readInputFile reads a bounded file ("-" for stdin).
func readInputFile(path string, limit int64) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func writeOutputFile(cmd *cobra.Command, path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	if path == "" || path == "-" {
		_, err = cmd.OutOrStdout().Write(raw)
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}

func newZKProveCmd() *cobra.Command {
	var circuit, keysDir, input, out string
	cmd := &cobra.Command{
		Use:   "prove --circuit C --keys DIR --input FILE --out FILE",
		Short: "Prove a statement from a prover input file and write a proof file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := readInputFile(input, zk.MaxWitnessJSON)
			if err != nil {
				return err
			}
			w, err := zk.ParseWitness(circuit, raw)
			if err != nil {
				return err
			}
			keys, err := zk.LoadKeys(keysDir, circuit)
			if err != nil {
				return fmt.Errorf("load %s keys from %s: %w", circuit, keysDir, err)
			}
			if keys.Info.Setup == zk.SetupDev {
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: proving with DEVELOPMENT keys (single-party setup): proofs are forgeable by whoever made the keys")
			}
			pf, err := keys.Prove(cmd.Context(), w)
			if err != nil {
				return err
			}
			if err := writeOutputFile(cmd, out, pf); err != nil {
				return fmt.Errorf("write proof: %w", err)
			}
			if out != "" && out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "proof for %s (vk %s) written to %s\n", circuit, pf.VKID, out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&circuit, "circuit", "", "circuit: compliance, input or completion")
	cmd.Flags().StringVar(&keysDir, "keys", "", "keys directory (from cohort setup)")
	cmd.Flags().StringVar(&input, "input", "", "prover input JSON file (- for stdin)")
	cmd.Flags().StringVar(&out, "out", "-", "proof file to write (- for stdout)")
	for _, f := range []string{"circuit", "keys", "input"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func newZKVerifyCmd() *cobra.Command {
	var keysDir, proofPath string
	cmd := &cobra.Command{
		Use:   "verify --keys DIR --proof FILE",
		Short: "Verify a proof file; exit 0 valid, 1 invalid, 2 malformed input",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := verifyProofFile(keysDir, proofPath)
			switch {
			case err == nil:
				_, werr := fmt.Fprintln(cmd.OutOrStdout(), "valid")
				return werr
			case errors.Is(err, zk.ErrInvalidProof):
				fmt.Fprintln(cmd.OutOrStdout(), "invalid")
				return withExitCode(exitInvalidProof, err)
			default:
				fmt.Fprintln(cmd.OutOrStdout(), "malformed")
				return withExitCode(exitMalformed, err)
			}
		},
	}
	cmd.Flags().StringVar(&keysDir, "keys", "", "keys directory holding the verifying keys")
	cmd.Flags().StringVar(&proofPath, "proof", "", "proof file (- for stdin)")
	_ = cmd.MarkFlagRequired("keys")
	_ = cmd.MarkFlagRequired("proof")
	return cmd
}

func verifyProofFile(keysDir, proofPath string) error {
	raw, err := readInputFile(proofPath, zk.MaxProofFileJSON)
	if err != nil {
		return fmt.Errorf("%w: %v", zk.ErrMalformed, err)
	}
	return zk.VerifyProofFileWithKeys(keysDir, raw)
}

func newZKKeysCmd() *cobra.Command {
	var keysDir string
	cmd := &cobra.Command{
		Use:   "keys --keys DIR",
		Short: "List the verifying keys in a keys directory with their vk IDs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := zk.NewRegistry()
			infos, err := reg.RegisterDir(keysDir)
			if err != nil {
				return err
			}
			for _, in := range infos {
				fmt.Fprintf(cmd.OutOrStdout(), "%-11s v%s setup=%-8s constraints=%-6d proof=%dB vk_id=%s\n",
					in.Circuit, in.Version, in.Setup, in.Constraints, in.ProofBytes, in.VKID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keysDir, "keys", "", "keys directory")
	_ = cmd.MarkFlagRequired("keys")
	return cmd
}

// newZKExampleCmd prints a valid sample prover input with fresh salts (and,
// for completion, a fresh counterparty key that signs the delivery).
func newZKExampleCmd() *cobra.Command {
	var circuit string
	cmd := &cobra.Command{
		Use:   "example-input --circuit C",
		Short: "Print a valid sample prover input (fresh random salts) for a circuit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := exampleWitness(cmd.Context(), circuit)
			if err != nil {
				return err
			}
			return writeOutputFile(cmd, "-", w)
		},
	}
	cmd.Flags().StringVar(&circuit, "circuit", "", "circuit: compliance, input or completion")
	_ = cmd.MarkFlagRequired("circuit")
	return cmd
}

func exampleWitness(_ context.Context, circuit string) (zk.Witness, error) {
	salt := func() (zk.Felt, error) {
		s, err := zk.NewSalt(rand.Reader)
		return zk.FeltOf(s), err
	}
	s1, err := salt()
	if err != nil {
		return nil, err
	}
	s2, err := salt()
	if err != nil {
		return nil, err
	}
	switch circuit {
	case zk.CircuitInput:
		return zk.InputWitness{Value: 4200, Salt: s1, Lo: 1000, Hi: 10000}, nil
	case zk.CircuitCompliance:
		// Fields (price, fee, quantity): 90 ≤ price ≤ 110, fee ≤ 2.5 % of
		// price, quantity ≥ 1.
		return zk.ComplianceWitness{
			Fields: []zk.Uint64{100, 2, 5},
			Salt:   s1,
			Constraints: []zk.LinearConstraint{
				{Coefficients: []zk.Int64{1, 0, 0}, Constant: zk.IntOf(-90)},
				{Coefficients: []zk.Int64{-1, 0, 0}, Constant: zk.IntOf(110)},
				{Coefficients: []zk.Int64{250, -10000, 0}, Constant: zk.IntOf(0)},
				{Coefficients: []zk.Int64{0, 0, 1}, Constant: zk.IntOf(-1)},
			},
		}, nil
	case zk.CircuitCompletion:
		task, err := salt()
		if err != nil {
			return nil, err
		}
		key, err := zk.GenerateSigningKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		w := zk.CompletionWitness{
			TaskID: task, OrderQuantity: 1000, OrderSalt: s1,
			DeliveredQuantity: 990, QualityBps: 9800, DeliverySalt: s2,
			ThresholdBps: 9500, CounterpartyKey: key.PublicKey.Bytes(),
		}
		sig, err := zk.SignDelivery(key, zk.DeliveryCommitment(task.Fr(), 990, 9800, s2.Fr()))
		if err != nil {
			return nil, err
		}
		w.Signature = sig
		return w, nil
	default:
		return nil, fmt.Errorf("unknown circuit %q (have compliance, input, completion)", circuit)
	}
}
