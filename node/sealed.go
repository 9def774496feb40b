package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
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
// member's own account key.
//
// The node it talks to is not trusted with the shares: the committee
// members' sealing keys and the chain ID come from the genesis the member
// holds (Genesis), never from a node's answer, so a node that returned keys
// of its own would be caught, not handed the shares. What the genesis does
// not hold, the job and its committee (who the shares go to, how many), is
// taken only when every one of Client and Witnesses returns the same: a
// node that lies about them must collude with all the witnesses. With no
// witness the supplier refuses unless TrustAPI says the member accepts the
// one node's word (that node, if it lies about the committee, could have
// the shares sealed to members it colludes with and read the quote). The
// nodes see the inputs' commitments, proofs and sealed shares: what the
// ledger shows everyone.
type SealedSupplier struct {
	Client  *client.Client
	Name    string
	Account ed25519.PrivateKey
	// InputKeys are the input circuit's keys from the ceremony (`cohort
	// setup`, the node's jobs.zk_keys): a job that bounds its inputs needs
	// a range proof with each.
	InputKeys *zk.Keys
	// Genesis is the chain's genesis as the member holds it
	// (LoadSealingGenesis): the only source of the sealing keys and the
	// chain ID. Nothing is sealed without it.
	Genesis *SealingGenesis
	// Witnesses are other member nodes' APIs: each must return the same
	// job and committee as Client, and none may report a committee member's
	// sealing key other than the genesis's.
	Witnesses []*client.Client
	// TrustAPI accepts Client's word alone on the job and its committee
	// when there is no witness.
	TrustAPI bool
}

// SealingGenesis is what sealing takes from the genesis a member without a
// node holds: the chain ID and each member's sealing key. `cohort testnet`
// and the genesis build write the genesis into every member's home; on a
// real network the operator hands it over out of band, as to a node.
type SealingGenesis struct {
	ChainID string
	keys    map[string]kyber.Point
}

// LoadSealingGenesis reads the genesis in a member's home
// (GenesisPath(home)).
func LoadSealingGenesis(home string) (*SealingGenesis, error) {
	raw, err := os.ReadFile(GenesisPath(home))
	if err != nil {
		return nil, fmt.Errorf("genesis of member home %s (copy the network's genesis.json there): %w", home, err)
	}
	return ParseSealingGenesis(raw)
}

// ParseSealingGenesis reads a CometBFT genesis document (genesis.json)
// whose app state is the ledger's genesis.
func ParseSealingGenesis(raw []byte) (*SealingGenesis, error) {
	doc, err := cmttypes.GenesisDocFromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	g, err := ledger.ParseGenesis(doc.AppState)
	if err != nil {
		return nil, err
	}
	sg := &SealingGenesis{ChainID: doc.ChainID, keys: map[string]kyber.Point{}}
	for _, m := range g.Members {
		if len(m.SealingKey) == 0 {
			continue
		}
		if sg.keys[m.Name], err = supervision.ParsePublicKey(m.SealingKey); err != nil {
			return nil, fmt.Errorf("genesis member %s: %w", m.Name, err)
		}
	}
	return sg, nil
}

// SealingKey is member's sealing key in the genesis.
func (g *SealingGenesis) SealingKey(member string) (kyber.Point, error) {
	k, ok := g.keys[member]
	if !ok {
		return nil, fmt.Errorf("member %s has no sealing key in the genesis", member)
	}
	return k, nil
}

// nodes are the APIs whose answers must agree: Client first.
func (s *SealedSupplier) nodes() ([]*client.Client, error) {
	if s.Genesis == nil {
		return nil, errors.New("no genesis: the sealing keys and the chain ID come from the genesis the member holds, never from a node")
	}
	if len(s.Witnesses) == 0 && !s.TrustAPI {
		return nil, fmt.Errorf("only one node (%s) to learn the job and its committee from: give witness nodes, or accept trusting that node explicitly", s.Client.Addr())
	}
	return append([]*client.Client{s.Client}, s.Witnesses...), nil
}

// Committee reads committee id from Client and every witness and returns
// it if they all agree on its members and threshold.
func (s *SealedSupplier) Committee(ctx context.Context, id string) (*client.Committee, error) {
	nodes, err := s.nodes()
	if err != nil {
		return nil, err
	}
	return agreedCommittee(ctx, nodes, id)
}

func agreedCommittee(ctx context.Context, nodes []*client.Client, id string) (*client.Committee, error) {
	var first *client.Committee
	for _, c := range nodes {
		com, err := c.Committee(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("committee %s at %s: %w", id, c.Addr(), err)
		}
		if first == nil {
			first = com
			continue
		}
		if com.ID != first.ID || com.Threshold != first.Threshold || !slices.Equal(com.Members, first.Members) {
			return nil, fmt.Errorf("committee %s: %s says members %v threshold %d, %s says %v threshold %d: refusing to seal",
				id, nodes[0].Addr(), first.Members, first.Threshold, c.Addr(), com.Members, com.Threshold)
		}
	}
	return first, nil
}

// sameJob reports whether two nodes' answers describe the same job: what
// sealing and the spec depend on (its status and inputs move on).
func sameJob(a, b *client.Job) bool {
	var pa, pb bytes.Buffer
	if json.Compact(&pa, a.Params) != nil || json.Compact(&pb, b.Params) != nil {
		return false
	}
	return a.ID == b.ID && a.Type == b.Type && bytes.Equal(pa.Bytes(), pb.Bytes()) && slices.Equal(a.Providers, b.Providers) &&
		a.Committee == b.Committee && a.Recipient == b.Recipient && a.Requester == b.Requester && a.DeadlineHeight == b.DeadlineHeight
}

// WaitJob waits until Client and every witness hold job id.
func (s *SealedSupplier) WaitJob(ctx context.Context, id string, timeout time.Duration) error {
	nodes, err := s.nodes()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, c := range nodes {
		for {
			_, err := c.Job(ctx, id)
			if err == nil {
				break
			}
			if !client.IsNotFound(err) {
				return fmt.Errorf("job %s at %s: %w", id, c.Addr(), err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for job %s at %s: %w", id, c.Addr(), ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// JobSpec returns a job's spec, its committee's members' sealing keys and
// the chain ID: what sealing an input needs. The keys and the chain ID are
// the genesis's; the job and the committee are what Client and every
// witness agree on, each of them on the genesis's chain and reporting no
// other sealing key for a committee member than the genesis's.
func (s *SealedSupplier) JobSpec(ctx context.Context, jobID string) (*jobrun.Spec, []kyber.Point, string, error) {
	nodes, err := s.nodes()
	if err != nil {
		return nil, nil, "", err
	}
	var j *client.Job
	for _, c := range nodes {
		st, err := c.Status(ctx)
		if err != nil {
			return nil, nil, "", fmt.Errorf("status of %s: %w", c.Addr(), err)
		}
		if st.ChainID != s.Genesis.ChainID {
			return nil, nil, "", fmt.Errorf("node %s is on chain %q, the genesis is %q's", c.Addr(), st.ChainID, s.Genesis.ChainID)
		}
		cj, err := c.Job(ctx, jobID)
		if err != nil {
			return nil, nil, "", fmt.Errorf("job %s at %s: %w", jobID, c.Addr(), err)
		}
		if j == nil {
			j = cj
		} else if !sameJob(j, cj) {
			return nil, nil, "", fmt.Errorf("job %s: %s and %s disagree on it: refusing to seal", jobID, nodes[0].Addr(), c.Addr())
		}
	}
	com, err := agreedCommittee(ctx, nodes, j.Committee)
	if err != nil {
		return nil, nil, "", err
	}
	spec := &jobrun.Spec{ID: j.ID, Type: jobspec.Type(j.Type), Params: j.Params, Requester: j.Requester, Providers: j.Providers,
		Committee: com.Members, Threshold: int(com.Threshold), Recipient: j.Recipient}
	if err := spec.Validate(); err != nil {
		return nil, nil, "", fmt.Errorf("job %s: %w", jobID, err)
	}
	keys := make([]kyber.Point, len(com.Members))
	for k, m := range com.Members {
		if keys[k], err = s.Genesis.SealingKey(m); err != nil {
			return nil, nil, "", fmt.Errorf("committee member: %w", err)
		}
	}
	// A node that reports another sealing key for a committee member than
	// the genesis lies or serves another network: it is not sealed to
	// anyway, but the member should not trust its other answers either.
	for _, c := range nodes {
		members, err := c.Members(ctx)
		if err != nil {
			return nil, nil, "", fmt.Errorf("members at %s: %w", c.Addr(), err)
		}
		for _, m := range members {
			k := slices.Index(com.Members, m.Name)
			if k < 0 {
				continue
			}
			want, err := keys[k].MarshalBinary()
			if err != nil {
				return nil, nil, "", err
			}
			if m.SealingKey != hex.EncodeToString(want) {
				return nil, nil, "", fmt.Errorf("node %s reports a sealing key for %s that is not the genesis's: refusing to seal", c.Addr(), m.Name)
			}
		}
	}
	return spec, keys, s.Genesis.ChainID, nil
}

// PreparedSlot is one of the member's input slots committed, proven and
// shared, not yet sealed to its job: what does not depend on the job. It
// keeps the slot's input file (in memory only) so that a job that does not
// fit the draft it was prepared on can be supplied afresh (supply).
type PreparedSlot struct {
	in    *jobrun.PreparedInput
	vkID  string
	proof []byte
	input []byte
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
	ps := &PreparedSlot{in: in, input: inputFile}
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
// the proof, one share per committee member sealed to its key and the
// Pedersen commitments to the sharing
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
	if msg.SealedShares, msg.ShareCommitments, err = ps.in.SealShares(spec, chainID, memberKeys); err != nil {
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
// sealed inputs to job jobID, waiting until each is committed. A slot
// prepared on terms the job does not have is prepared afresh (sealSlot).
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
			msg, err := s.sealSlot(ctx, spec, keys, chainID, slot, ps)
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

// sealSlot seals a prepared slot to the job. A slot prepared on a draft the
// job does not fit (another committee size, another range: the demander
// chose other terms than the quoter expected) is prepared afresh from its
// input file rather than the quote lost; the draft's commitment and shares,
// never posted, are dropped.
func (s *SealedSupplier) sealSlot(ctx context.Context, spec *jobrun.Spec, keys []kyber.Point, chainID, slot string, ps *PreparedSlot) (*ledgerpb.JobInput, error) {
	if err := ps.in.Rebind(spec); err != nil {
		if ps.input == nil {
			return nil, err
		}
		if ps, err = s.Prepare(ctx, spec, slot, ps.input); err != nil {
			return nil, fmt.Errorf("prepare afresh for job %s: %w", spec.ID, err)
		}
	}
	return s.Seal(spec, keys, chainID, ps)
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

// SealedCommitments is the scheduler's read of the share commitments kept
// with a job's sealed inputs (ledger App.SealedCommitments).
func (l *nodeLedger) SealedCommitments(j *ledgerpb.Job) ([][]byte, error) {
	return l.n.app.SealedCommitments(j)
}
