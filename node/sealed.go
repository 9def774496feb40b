package node

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"go.dedis.ch/kyber/v3"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/supervision"
	"github.com/cohortnet/cohort/zk"
)

// SealedSupplier supplies the job inputs of a member without a node: it
// does what a provider's node does for its slots (read the input, commit,
// prove the slot's range, share to the committee) but, having no libp2p
// peer, posts the committee's shares sealed to each member on the ledger
// (JobInput.sealed_shares), through a member node's API, signed with the
// member's own account key. The node it talks to learns nothing it could
// not read on the ledger.
type SealedSupplier struct {
	Client  *client.Client
	Name    string
	Account ed25519.PrivateKey
	// InputKeys are the input circuit's keys from the ceremony (`cohort
	// setup`, the node's jobs.zk_keys): a job that bounds its inputs needs
	// a range proof with each.
	InputKeys *zk.Keys
}

// JobSpec reads a job's spec, its committee's members' sealing keys and the
// chain ID from the node: what sealing an input needs.
func (s *SealedSupplier) JobSpec(ctx context.Context, jobID string) (*jobrun.Spec, []kyber.Point, string, error) {
	j, err := s.Client.Job(ctx, jobID)
	if err != nil {
		return nil, nil, "", err
	}
	com, err := s.Client.Committee(ctx, j.Committee)
	if err != nil {
		return nil, nil, "", err
	}
	spec := &jobrun.Spec{ID: j.ID, Type: jobspec.Type(j.Type), Params: j.Params, Requester: j.Requester, Providers: j.Providers,
		Committee: com.Members, Threshold: int(com.Threshold), Recipient: j.Recipient}
	if err := spec.Validate(); err != nil {
		return nil, nil, "", fmt.Errorf("job %s: %w", jobID, err)
	}
	members, err := s.Client.Members(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	keyOf := make(map[string]string, len(members))
	for _, m := range members {
		keyOf[m.Name] = m.SealingKey
	}
	keys := make([]kyber.Point, len(com.Members))
	for k, m := range com.Members {
		raw, err := hex.DecodeString(keyOf[m])
		if err != nil || len(raw) == 0 {
			return nil, nil, "", fmt.Errorf("committee member %s has no sealing key on the ledger", m)
		}
		if keys[k], err = supervision.ParsePublicKey(raw); err != nil {
			return nil, nil, "", fmt.Errorf("committee member %s: %w", m, err)
		}
	}
	st, err := s.Client.Status(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	return spec, keys, st.ChainID, nil
}

// SealedInput prepares the input of one of the member's slots from its
// input file (the format a node reads, jobrun doc.go) and builds its job
// input: commitment, range proof when the job bounds the slot, and one
// sealed share per committee member.
func (s *SealedSupplier) SealedInput(ctx context.Context, spec *jobrun.Spec, memberKeys []kyber.Point, chainID, slot string, inputFile []byte) (*ledgerpb.JobInput, error) {
	if jobspec.SlotMember(slot) != s.Name {
		return nil, fmt.Errorf("slot %s is not %s's", slot, s.Name)
	}
	in, err := jobrun.PrepareInput(spec, slot, inputFile, jobrun.ProviderKeys{})
	if err != nil {
		return nil, err
	}
	msg := &ledgerpb.JobInput{JobId: spec.ID, Commitment: in.Commitment}
	if slot != s.Name {
		msg.Provider = slot
	}
	if _, _, bounded := spec.SlotRange(spec.ProviderIndex(slot)); bounded {
		if s.InputKeys == nil {
			return nil, errors.New("the job bounds its inputs: the input circuit's proving key is needed")
		}
		w, err := in.InputWitness()
		if err != nil {
			return nil, err
		}
		pf, err := s.InputKeys.Prove(ctx, *w)
		if err != nil {
			return nil, fmt.Errorf("prove %s: %w", slot, err)
		}
		if msg.Proof, err = pf.ProofBytes(); err != nil {
			return nil, err
		}
		msg.VkId = s.InputKeys.Info.VKID
	}
	if msg.SealedShares, err = in.SealShares(spec, chainID, memberKeys); err != nil {
		return nil, err
	}
	return msg, nil
}

// Supply builds and posts the sealed input of each of the member's slots
// of a job, inputs[slot] being the slot's input file, and waits until each
// is committed. The slots go concurrently (a quote's price and capacity).
func (s *SealedSupplier) Supply(ctx context.Context, jobID string, inputs map[string][]byte) error {
	spec, keys, chainID, err := s.JobSpec(ctx, jobID)
	if err != nil {
		return err
	}
	slots := spec.SlotsOf(s.Name)
	if len(slots) == 0 {
		return fmt.Errorf("%s supplies no slot of job %s", s.Name, jobID)
	}
	errs := make([]error, len(slots))
	var wg sync.WaitGroup
	for k, i := range slots {
		slot := spec.Providers[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, ok := inputs[slot]
			if !ok {
				errs[k] = fmt.Errorf("no input for slot %s", slot)
				return
			}
			msg, err := s.SealedInput(ctx, spec, keys, chainID, slot, raw)
			if err == nil {
				err = s.submit(ctx, chainID, msg)
			}
			if err != nil {
				errs[k] = fmt.Errorf("slot %s: %w", slot, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *SealedSupplier) submit(ctx context.Context, chainID string, msg *ledgerpb.JobInput) error {
	id, err := ledger.NewTxID()
	if err != nil {
		return err
	}
	p := &ledgerpb.TxPayload{ChainId: chainID, TxId: id, Signer: s.Name, Msg: &ledgerpb.TxPayload_JobInput{JobInput: msg}}
	tx, err := ledger.SignTx(s.Account, p)
	if err != nil {
		return err
	}
	_, err = s.Client.Submit(ctx, tx)
	return err
}
