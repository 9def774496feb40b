package ledger

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// Sealed job inputs. A member without a node (HasNode false) supplies an
// SS job's input slot by posting, with its commitment and range proof, the
// committee's Shamir shares sealed to each member's sealing key
// (JobInput.sealed_shares, node/sealbox, AAD from jobrun.SealedShareAAD).
// The ledger cannot open them: it checks their count and sizes (bounded
// before anything is kept), that the signer owns the slot and the proof (as
// for any input), and keeps them in state under sealedin/<job>/<slot> until
// the job ends, when finishJob prunes them in slot order. Committee nodes
// read their ciphertext of each sealed slot from their own committed state
// once the job is running (App.SealedInput); a ciphertext that does not open
// or shares that fail the engine's checks blame the provider as a bad
// libp2p share does.
//
// Why state rather than the block's txs: a committee node reads one key of
// its own state (a restarted node too), with no tx index or block-store
// scan, and the state stays bounded by the open jobs (the txs stay in the
// chain's history as every tx does; the ciphertexts open only to the
// committee).

// Bounds of sealed shares. A scalar input's share message is about 80 bytes
// sealed into about 130; 16 KiB holds a clearing curve of some 400 levels
// (inputs larger than that come from a node, over libp2p).
const (
	MaxSealedShareBytes = 16 << 10
	// minSealedShareBytes: sealbox's overhead (32-byte ephemeral key,
	// 16-byte tag) plus a non-empty message.
	minSealedShareBytes = 32 + 16 + 1
)

// HasNode reports whether a member runs a node (registered a libp2p peer
// ID). A nil member has none.
func HasNode(m *ledgerpb.Member) bool { return m != nil && m.PeerId != "" }

func keySealedInput(jobID string, slot int) []byte {
	k := append([]byte("sealedin/"), jobID...)
	k = append(k, 0) // job IDs hold no NUL (jobspec.CheckID)
	return binary.BigEndian.AppendUint32(k, uint32(slot))
}

// checkSealedShares checks a job input's sealed shares: none for a member
// with a node that sends its shares over libp2p, exactly one per committee
// member, each of bounded size, for an SS job; a member without a node must
// seal (it has no other way to reach the committee).
func checkSealedShares(signer string, j *ledgerpb.Job, m *ledgerpb.JobInput, v *committedView, st stateReader) *TxError {
	sealed := len(m.SealedShares) > 0
	if !sealed {
		if !HasNode(v.members.byName[signer]) {
			return txErr(CodeInvalid, "%s runs no node: its input to job %q must carry the committee's sealed shares", signer, j.Id)
		}
		return nil
	}
	if jobspec.Type(j.Type).Engine() != jobspec.EngineSS {
		return txErr(CodeInvalid, "job %q is not an SS job: its inputs cannot be sealed shares", j.Id)
	}
	var c ledgerpb.Committee
	if _, err := loadProto(st, keyCommittee(j.CommitteeId), &c); err != nil {
		return txErr(CodeInvalid, "read state: %v", err)
	}
	if len(m.SealedShares) != len(c.Members) {
		return txErr(CodeInvalid, "job %q: %d sealed shares, committee %s has %d members", j.Id, len(m.SealedShares), c.Id, len(c.Members))
	}
	for k, s := range m.SealedShares {
		if len(s) < minSealedShareBytes || len(s) > MaxSealedShareBytes {
			return txErr(CodeInvalid, "job %q: sealed share %d has %d bytes, want %d to %d", j.Id, k, len(s), minSealedShareBytes, MaxSealedShareBytes)
		}
	}
	return nil
}

// pruneSealedInputs deletes a finished job's sealed shares, slot by slot.
func pruneSealedInputs(b *blockState, j *ledgerpb.Job) error {
	for i := range j.Providers {
		key := keySealedInput(j.Id, i)
		v, err := b.get(key)
		if err != nil {
			return err
		}
		if v != nil {
			b.delete(key)
		}
	}
	return nil
}

// SealedInput returns the sealed shares of a job's input slot i (one per
// committee member, in committee order), or nil if the slot's input was not
// sealed or the job ended (they are pruned then).
func (a *App) SealedInput(jobID string, i int) ([][]byte, error) {
	var s ledgerpb.SealedShares
	found, err := loadProto(committedReader{a.store}, keySealedInput(jobID, i), &s)
	if err != nil || !found {
		return nil, err
	}
	return slices.Clip(s.Shares), nil
}

// SealedInputs returns, for each provider slot of a job, member's sealed
// share (nil for a slot not sealed): what a committee member opens.
func (a *App) SealedInputs(j *ledgerpb.Job, member int) ([][]byte, error) {
	out := make([][]byte, len(j.Providers))
	for i := range j.Providers {
		shares, err := a.SealedInput(j.Id, i)
		if err != nil {
			return nil, fmt.Errorf("job %s slot %d: %w", j.Id, i, err)
		}
		if shares == nil {
			continue
		}
		if member < 0 || member >= len(shares) {
			return nil, fmt.Errorf("job %s slot %d: %d sealed shares, no share for member %d", j.Id, i, len(shares), member)
		}
		out[i] = shares[member]
	}
	return out, nil
}
