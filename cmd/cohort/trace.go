package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/cohortnet/cohort/ledger/trace"
	"github.com/cohortnet/cohort/node"
)

// maxTraceFileBytes bounds the off-chain record read for a trace.
const maxTraceFileBytes = 256 << 20

func newTraceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "trace", Short: "Check off-chain records against the ledger with a light client"}
	var home, file string
	var trustHeight int64
	var trustHash string
	var asJSON bool
	record := &cobra.Command{
		Use:   "record ID",
		Short: "Re-hash an off-chain record and check it against its on-chain anchor (exit 0 pass, 1 fail)",
		Long: `Re-hash the off-chain record (--file) and check it against the hash anchored on
the ledger: a CometBFT light client verifies the anchoring block's header from a
trusted header, cross-checked with the witnesses of config.toml [trace]; the
block's txs must match the header and contain the anchoring tx; the next
header's results hash shows the ledger accepted it.

The trusted header comes from --trust-height/--trust-hash (a header hash you
obtained out of band), or by default from the genesis file in HOME: the chain's
first header, accepted only if it carries the genesis's chain ID, time,
validators and consensus parameters and is signed by more than 2/3 of the
genesis validators. Nothing is trusted because a node said so. A node that
serves a forged header fails the trace (exit 2).

Without --file, the record is read from the members' off-chain store (channel
records: fetched from the member that holds it).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var content []byte
			var err error
			if file != "" {
				content, err = readInputFile(file, maxTraceFileBytes)
			} else {
				content, err = offChainRecord(cmd.Context(), home, args[0])
			}
			if err != nil {
				return withExitCode(2, err)
			}
			res, err := traceRecord(cmd.Context(), cmd.ErrOrStderr(), home, args[0], content, trace.TrustedHeader{Height: trustHeight, Hash: trustHash})
			if err != nil {
				return withExitCode(2, err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else if res.Pass {
				fmt.Fprintf(out, "pass: record %s matches its anchor at height %d (header %s)\n", res.RecordID, res.Height, res.HeaderHash)
			} else {
				fmt.Fprintf(out, "fail: record %s at height %d: %s\n  anchored %s\n  content  %s\n",
					res.RecordID, res.Height, res.Reason, res.AnchoredHex, res.ContentHex)
			}
			if !res.Pass {
				return withExitCode(1, fmt.Errorf("trace failed: %s", res.Reason))
			}
			return nil
		},
	}
	record.Flags().StringVar(&home, "home", "", "node home directory (required)")
	record.Flags().StringVar(&file, "file", "", "the off-chain record to check")
	record.Flags().Int64Var(&trustHeight, "trust-height", 0, "height of a header you trust")
	record.Flags().StringVar(&trustHash, "trust-hash", "", "hash (hex) of the header at --trust-height")
	record.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	_ = record.MarkFlagRequired("home")
	cmd.AddCommand(record)
	return cmd
}

func traceRecord(ctx context.Context, warn io.Writer, home, id string, content []byte, trusted trace.TrustedHeader) (*trace.Result, error) {
	cfg, err := node.LoadConfig(home)
	if err != nil {
		return nil, err
	}
	c, err := apiClient(home)
	if err != nil {
		return nil, err
	}
	rec, err := c.Record(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", id, err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case trusted.Hash != "" && trusted.Height <= 0:
		return nil, errors.New("--trust-hash needs --trust-height")
	case trusted.Hash == "" && trusted.Height != 0:
		return nil, errors.New("--trust-height needs --trust-hash")
	case trusted.Hash == "":
		gen, err := cmttypes.GenesisDocFromFile(node.GenesisPath(home))
		if err != nil {
			return nil, fmt.Errorf("trust anchor: %w", err)
		}
		if gen.ChainID != st.ChainID {
			return nil, fmt.Errorf("trust anchor: the genesis file is for chain %q, the node serves %q", gen.ChainID, st.ChainID)
		}
		if trusted, err = trace.GenesisAnchor(ctx, gen, cfg.Consensus.RPCListen); err != nil {
			return nil, err
		}
	}
	v, err := trace.NewVerifier(ctx, trace.Config{
		ChainID: st.ChainID, Primary: cfg.Consensus.RPCListen, Witnesses: cfg.Trace.Witnesses,
		Trusted: trusted, StoreDir: filepath.Join(home, "data", "light"),
	})
	if err != nil {
		return nil, err
	}
	defer v.Close()
	txHash, err := hex.DecodeString(rec.TxHash)
	if err != nil {
		return nil, fmt.Errorf("record %s: bad tx hash from the node", id)
	}
	return v.VerifyRecord(ctx, rec.ID, rec.Height, txHash, content)
}

// offChainRecord reads a channel record's sealed bytes from the store.
func offChainRecord(ctx context.Context, home, id string) ([]byte, error) {
	c, err := apiClient(home)
	if err != nil {
		return nil, err
	}
	rec, err := c.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.Channel == "" {
		return nil, fmt.Errorf("record %s has no off-chain copy in the store (not a channel record): pass --file", id)
	}
	return fetchSealed(ctx, c, rec)
}
