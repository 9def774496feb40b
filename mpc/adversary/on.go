//go:build cohort_adversary

package adversary

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/internal/cheat"
	"github.com/cohortnet/cohort/mpc/jobs"
)

// Built reports whether this binary was built with the cohort_adversary tag.
const Built = true

// FromEnv parses EnvVar; it returns nil when the variable is empty or unset.
func FromEnv() (*Adversary, error) { return Parse(os.Getenv(EnvVar)) }

// Parse parses a comma-separated list of deviations (see the package doc).
func Parse(s string) (*Adversary, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	a := &Adversary{name: s}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		var plan *cheat.Plan
		var dev *he.Deviation
		switch name {
		case "ss-mul-offset":
			plan = &cheat.Plan{MulOffset: true, Offset: 1}
		case "ss-flip-bit":
			plan = &cheat.Plan{MulOffset: true, MulOp: "lt", Offset: 1}
		case "ss-bad-bit":
			// Deals 2 as its first random bit: the bitness check, opened
			// with all n shares, names it (and the ledger charges it on the
			// committee's attestations).
			plan = &cheat.Plan{BadBit: true}
		case "ss-shift-open":
			// The auction's output commitment: the first unmasked opening
			// after a check, where a shifted share is identifiable (n ≥ 4).
			plan = &cheat.Plan{ShiftOpen: true, ShiftTo: -1, ShiftLabel: jobs.LabelAuctionCommitment}
		case "he-keyswitch-shift":
			dev = &he.Deviation{}
		case "he-keyswitch-random":
			dev = &he.Deviation{Random: true}
		default:
			return nil, fmt.Errorf("adversary: %s: unknown deviation %q", EnvVar, name)
		}
		if plan != nil {
			if a.ss != nil {
				return nil, fmt.Errorf("adversary: %s: more than one SS deviation", EnvVar)
			}
			a.ss = func(ctx context.Context) context.Context { return cheat.With(ctx, plan) }
		}
		if dev != nil {
			if a.he != nil {
				return nil, fmt.Errorf("adversary: %s: more than one HE deviation", EnvVar)
			}
			a.he = func(m *he.Member) *he.Member {
				d := *dev
				if !d.Random {
					d.Shift = shift(m.Preset())
				}
				return he.Deviant(m, d)
			}
		}
	}
	return a, nil
}

// shift is the key-switching shift that moves a decrypted CKKS output by
// 0.01 (the deviation of mpc/jobrun's adversarial test), and at least 1.
func shift(p *he.Preset) uint64 {
	if s := uint64(0.01 * p.OutputScale().Float64()); s > 0 {
		return s
	}
	return 1
}
