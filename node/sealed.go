package node

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
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

// PreparedSlot is one of the member's input slots committed, proven and
// shared, not yet sealed to its job: what does not depend on the job.
type PreparedSlot struct {
	in    *jobrun.PreparedInput
	vkID  string
	proof []byte
}

// Prepare commits, proves (when spec bounds the slot) and shares one of the
// member's slots from its input file (the format a node reads, jobrun
// doc.go). spec is the job, or a draft of it with the slot, the committee
// and the slot's range (TenderDraft): a quoter prepares before the tender
// job exists and seals when it appears (Seal).
func (s *SealedSupplier) Prepare(ctx context.Context, spec *jobrun.Spec, slot string, inputFile []byte) (*PreparedSlot, error) {
	if jobspec.SlotMember(slot) != s.Name {
		return nil, fmt.Errorf("slot %s is not %s's", slot, s.Name)
	}
	in, err := jobrun.PrepareInput(spec, slot, inputFile, jobrun.ProviderKeys{})
	if err != nil {
		return nil, err
	}
	ps := &PreparedSlot{in: in}
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
		if ps.proof, err = pf.ProofBytes(); err != nil {
			return nil, err
		}
		ps.vkID = s.InputKeys.Info.VKID
	}
	return ps, nil
}

// Seal makes a prepared slot the job input of job spec: the commitment,
// the proof and one share per committee member sealed to its key
// (jobrun.PreparedInput.Rebind checks the job fits what was prepared).
func (s *SealedSupplier) Seal(spec *jobrun.Spec, memberKeys []kyber.Point, chainID string, ps *PreparedSlot) (*ledgerpb.JobInput, error) {
	if err := ps.in.Rebind(spec); err != nil {
		return nil, err
	}
	msg := &ledgerpb.JobInput{JobId: spec.ID, Commitment: ps.in.Commitment, VkId: ps.vkID, Proof: ps.proof}
	if ps.in.Provider != s.Name {
		msg.Provider = ps.in.Provider
	}
	var err error
	if msg.SealedShares, err = ps.in.SealShares(spec, chainID, memberKeys); err != nil {
		return nil, err
	}
	return msg, nil
}

// TenderDraft is the draft of a tender job that a quoter prepares its
// slots on (Prepare) before the job exists: its quote alone, for order
// orderID of quantity units at most maxPrice each, on committee members.
// The slots' ranges, [0, maxPrice] and [0, quantity], are the job's.
func TenderDraft(orderID string, quantity, maxPrice uint64, member string, committee []string, threshold int) (*jobrun.Spec, error) {
	// A tender has two quotes at least: the draft's second one, "draft",
	// stands for the others; factors and partners do not touch the slots.
	other := "draft"
	if member == other {
		other = "draft-other"
	}
	price, capacity := jobspec.TenderSlots(member)
	otherPrice, otherCapacity := jobspec.TenderSlots(other)
	params, err := json.Marshal(jobrun.TenderParams{Order: orderID, Quantity: quantity, MaxPartners: 1, MaxPrice: maxPrice,
		PriceFactors: []uint64{10_000, 10_000}})
	if err != nil {
		return nil, err
	}
	spec := &jobrun.Spec{ID: "draft", Type: jobrun.Tender, Params: params, Providers: []string{price, capacity, otherPrice, otherCapacity},
		Committee: committee, Threshold: threshold, Recipient: "draft"}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("tender draft: %w", err)
	}
	return spec, nil
}

// SupplyPrepared posts the member's prepared slots (by slot name) as its
// sealed inputs to job jobID, waiting until each is committed.
func (s *SealedSupplier) SupplyPrepared(ctx context.Context, jobID string, prepared map[string]*PreparedSlot) error {
	spec, keys, chainID, err := s.JobSpec(ctx, jobID)
	if err != nil {
		return err
	}
	return s.supply(ctx, spec, keys, chainID, prepared)
}

func (s *SealedSupplier) supply(ctx context.Context, spec *jobrun.Spec, keys []kyber.Point, chainID string, prepared map[string]*PreparedSlot) error {
	slots := spec.SlotsOf(s.Name)
	if len(slots) == 0 {
		return fmt.Errorf("%s supplies no slot of job %s", s.Name, spec.ID)
	}
	errs := make([]error, len(slots))
	var wg sync.WaitGroup
	for k, i := range slots {
		slot := spec.Providers[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps, ok := prepared[slot]
			if !ok {
				errs[k] = fmt.Errorf("no prepared input for slot %s", slot)
				return
			}
			msg, err := s.Seal(spec, keys, chainID, ps)
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

// Supply builds and posts the sealed input of each of the member's slots
// of a job that is on the ledger, inputs[slot] being the slot's input file,
// and waits until each is committed.
func (s *SealedSupplier) Supply(ctx context.Context, jobID string, inputs map[string][]byte) error {
	spec, keys, chainID, err := s.JobSpec(ctx, jobID)
	if err != nil {
		return err
	}
	prepared := map[string]*PreparedSlot{}
	for _, i := range spec.SlotsOf(s.Name) {
		slot := spec.Providers[i]
		raw, ok := inputs[slot]
		if !ok {
			return fmt.Errorf("no input for slot %s", slot)
		}
		if prepared[slot], err = s.Prepare(ctx, spec, slot, raw); err != nil {
			return fmt.Errorf("slot %s: %w", slot, err)
		}
	}
	return s.supply(ctx, spec, keys, chainID, prepared)
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
