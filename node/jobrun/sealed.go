package jobrun

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"go.dedis.ch/kyber/v3"

	"github.com/cohortnet/cohort/internal/sealbox"
)

// Sealed inputs. A provider without a node (a member registered with no
// peer ID) cannot send its shares over libp2p: it posts them on the ledger
// with its commitment, each committee member's share message sealed to that
// member's sealing key (internal/sealbox), bound by the AAD to the chain, the
// job, the input slot and the member. The ledger bounds and keeps them; a
// committee member opens its own (CommitteeJob.Sealed) when the job runs.
// Fewer than t+1 members learn nothing from their shares, as for shares
// sent over libp2p; nobody else can open any — while the members' sealing
// keys stay secret: the ciphertexts stay in the chain's history and the
// keys are long-term, so t+1 leaked key files open every share ever sealed
// to the committee (no forward secrecy; ledger/sealed.go).

// SealedShareAAD is the associated data that binds the sealed share of
// input slot to committee member of job on chain: a ciphertext moved to
// another chain, job, slot or member does not open.
func SealedShareAAD(chainID, jobID, slot, member string) []byte {
	h := sha256.New()
	h.Write([]byte("cohort/jobrun/sealed-input/v1\x00"))
	for _, s := range []string{chainID, jobID, slot, member} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// SealShares seals an SS input's share messages, one per committee member
// (in committee order), to the members' sealing keys: what
// JobInput.sealed_shares carries.
func (p *PreparedInput) SealShares(spec *Spec, chainID string, memberKeys []kyber.Point) ([][]byte, error) {
	if spec.Type.IsHE() {
		return nil, errors.New("jobrun: HE inputs are not sealed shares")
	}
	if len(memberKeys) != len(spec.Committee) || len(p.messages) != len(spec.Committee) {
		return nil, fmt.Errorf("jobrun: %d sealing keys and %d shares for a committee of %d", len(memberKeys), len(p.messages), len(spec.Committee))
	}
	slot := spec.Providers[p.Index]
	out := make([][]byte, len(spec.Committee))
	for j, m := range spec.Committee {
		c, err := sealbox.Seal(memberKeys[j], SealedShareAAD(chainID, spec.ID, slot, m), p.messages[j])
		if err != nil {
			return nil, fmt.Errorf("jobrun: seal share for %s: %w", m, err)
		}
		out[j] = c
	}
	return out, nil
}

// openSealedInput opens this member's sealed share of slot i.
func openSealedInput(sess *Session, job CommitteeJob, i int) ([]byte, error) {
	spec := sess.spec
	if job.SealingKey == nil {
		return nil, fmt.Errorf("%w: slot %s is sealed, this member has no sealing key", errMalformed, spec.Providers[i])
	}
	aad := SealedShareAAD(job.ChainID, spec.ID, spec.Providers[i], sess.self)
	b, err := sealbox.Open(job.SealingKey, aad, job.Sealed[i])
	if err != nil {
		return nil, fmt.Errorf("sealed share of %s: %w", spec.Providers[i], err)
	}
	return b, nil
}

// Rebind makes an input prepared for a draft of a job (PrepareInput on a
// spec that has the slot, the committee's size and the slot's range, but
// not yet the job's ID or other providers) the input of slot p.Provider of
// spec, the job as it appeared on the ledger. A provider without a node
// uses it to commit, prove and share before the job exists, which does not
// depend on the job (sealing does: SealShares binds the job's ID). It
// refuses a job whose committee size, slot or range differ from the
// draft's. Use a prepared input for one job only: the same commitment and
// shares in two jobs would link them and hand two committees shares of the
// same value.
func (p *PreparedInput) Rebind(spec *Spec) error {
	if err := spec.EnsureValid(); err != nil {
		return err
	}
	idx := spec.ProviderIndex(p.Provider)
	switch {
	case idx < 0:
		return fmt.Errorf("jobrun: %s is not a provider of job %s", p.Provider, spec.ID)
	case spec.Type.IsHE():
		return errors.New("jobrun: HE inputs are encrypted for their job")
	case len(p.messages) != len(spec.Committee):
		return fmt.Errorf("jobrun: input prepared for a committee of %d, job %s has %d", len(p.messages), spec.ID, len(spec.Committee))
	}
	lo, hi, bounded := spec.SlotRange(idx)
	if bounded != p.hasRange || bounded && (lo != p.lo || hi != p.hi) {
		return fmt.Errorf("jobrun: input prepared for the range [%d, %d], slot %s of job %s has [%d, %d]", p.lo, p.hi, p.Provider, spec.ID, lo, hi)
	}
	p.Index = idx
	return nil
}
