package node

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/node/client"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/supervision"
	"github.com/cohortnet/cohort/zk"
)

// fakeAPI is a member node's API as a node that lies may answer it: the
// job, its committee, the member list (with the sealing keys it chooses)
// and the chain ID.
type fakeAPI struct {
	job       client.Job
	committee client.Committee
	members   []client.Member
	chainID   string
}

func (f *fakeAPI) serve(t *testing.T) *client.Client {
	mux := http.NewServeMux()
	reply := func(v func() any) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(v()) }
	}
	mux.HandleFunc("/v1/job/"+f.job.ID, reply(func() any { return f.job }))
	mux.HandleFunc("/v1/committee/"+f.committee.ID, reply(func() any { return f.committee }))
	mux.HandleFunc("/v1/members", reply(func() any { return f.members }))
	mux.HandleFunc("/v1/status", reply(func() any { return client.Status{ChainID: f.chainID} }))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return client.New(srv.URL)
}

// sealingNet is a genesis (node0 … node3 and firm0, each with a sealing
// key) and an honest API's answers for tender job T1 on committee c1.
type sealingNet struct {
	genesis *SealingGenesis
	keys    map[string]supervision.KeyPair
	honest  fakeAPI
}

func newSealingNet(t *testing.T) *sealingNet {
	t.Helper()
	n := &sealingNet{keys: map[string]supervision.KeyPair{}}
	committee := []string{"node0", "node1", "node2", "node3"}
	var g ledger.Genesis
	var members []client.Member
	for i, name := range append(append([]string{}, committee...), "firm0") {
		kp := supervision.GenerateKey()
		n.keys[name] = kp
		pub, err := kp.Public.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		account, _, _ := ed25519.GenerateKey(nil)
		m := ledger.GenesisMember{Name: name, Roles: []string{ledger.RoleEnterprise}, AccountKey: account, SealingKey: pub}
		if strings.HasPrefix(name, "node") {
			m.PeerID = fmt.Sprintf("peer%d", i)
		}
		g.Members = append(g.Members, m)
		members = append(members, client.Member{Name: name, SealingKey: hex.EncodeToString(pub)})
	}
	app, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	// As `cohort testnet` leaves it in a member's home.
	home := t.TempDir()
	doc := &cmttypes.GenesisDoc{ChainID: "cohort-testnet", InitialHeight: 1, AppState: app}
	if err := doc.ValidateAndComplete(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(GenesisPath(home)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := doc.SaveAs(GenesisPath(home)); err != nil {
		t.Fatal(err)
	}
	if n.genesis, err = LoadSealingGenesis(home); err != nil {
		t.Fatal(err)
	}
	fp, fc := jobspec.TenderSlots("firm0")
	np, nc := jobspec.TenderSlots("node0")
	params, _ := json.Marshal(jobrun.TenderParams{Order: "O1", Quantity: 100, MaxPartners: 1, MaxPrice: 10000, PriceFactors: []uint64{10000, 10000}})
	n.honest = fakeAPI{
		job: client.Job{ID: "T1", Type: "tender", Params: params, Providers: []string{fp, fc, np, nc},
			Committee: "c1", Recipient: "node2", Requester: "node2", Status: "open"},
		committee: client.Committee{ID: "c1", Members: committee, Threshold: 3, Status: "active"},
		members:   members,
		chainID:   "cohort-testnet",
	}
	return n
}

// TestSealingKeysFromGenesis turns the security review's proof of concept
// (the API node answers /v1/members with sealing keys of its own and opens
// every share) into the supplier's refusals: keys that are not the
// genesis's, a committee member absent from the genesis, nodes that
// disagree on the committee or the job, another chain, no genesis, and one
// node without TrustAPI. With an honest set of nodes the keys are the
// genesis's, so what a node's substituted key would open does not open.
func TestSealingKeysFromGenesis(t *testing.T) {
	ctx := context.Background()
	n := newSealingNet(t)
	supplier := func(g *SealingGenesis, trust bool, apis ...fakeAPI) *SealedSupplier {
		s := &SealedSupplier{Name: "firm0", Genesis: g, TrustAPI: trust}
		for k := range apis {
			c := apis[k].serve(t)
			if k == 0 {
				s.Client = c
			} else {
				s.Witnesses = append(s.Witnesses, c)
			}
		}
		return s
	}
	// The reviewer's node: the committee's sealing keys are its own.
	evil := n.honest
	evil.members = append([]client.Member(nil), n.honest.members...)
	evilKeys := map[string]supervision.KeyPair{}
	for k := range evil.members[:4] {
		kp := supervision.GenerateKey()
		pub, _ := kp.Public.MarshalBinary()
		evilKeys[evil.members[k].Name] = kp
		evil.members[k].SealingKey = hex.EncodeToString(pub)
	}
	// A node naming a committee of members it made up.
	stranger := n.honest
	stranger.committee.Members = []string{"node0", "node1", "node2", "evil0"}
	// A node that names a committee of two: the threshold it would need.
	small := n.honest
	small.committee.Members, small.committee.Threshold = []string{"node0", "node3"}, 2
	otherJob := n.honest
	otherJob.job.Recipient = "node3"
	otherChain := n.honest
	otherChain.chainID = "elsewhere"

	for name, tc := range map[string]struct {
		s    *SealedSupplier
		want string
	}{
		"substituted keys, trusted node":         {supplier(n.genesis, true, evil), "not the genesis's"},
		"substituted keys at a witness":          {supplier(n.genesis, false, n.honest, evil), "not the genesis's"},
		"committee member not in genesis":        {supplier(n.genesis, true, stranger), "evil0 has no sealing key in the genesis"},
		"witness disagrees on the committee":     {supplier(n.genesis, false, n.honest, n.honest, small), "refusing to seal"},
		"witness disagrees on the job":           {supplier(n.genesis, false, otherJob, n.honest), "disagree"},
		"node on another chain":                  {supplier(n.genesis, false, n.honest, otherChain), "on chain"},
		"no genesis":                             {supplier(nil, true, n.honest), "no genesis"},
		"one node, not trusted":                  {supplier(n.genesis, false, n.honest), "accept trusting that node"},
		"the reviewer's node alone, not trusted": {supplier(n.genesis, false, evil), "accept trusting that node"},
	} {
		_, _, _, err := tc.s.JobSpec(ctx, "T1")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}

	// Honest nodes: the keys are the genesis's; a share sealed to them does
	// not open with the reviewer's substitute key.
	s := supplier(n.genesis, false, n.honest, n.honest)
	spec, keys, chainID, err := s.JobSpec(ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	if chainID != "cohort-testnet" || len(keys) != 4 {
		t.Fatalf("chain %q, %d keys", chainID, len(keys))
	}
	for k, m := range spec.Committee {
		if !keys[k].Equal(n.keys[m].Public) {
			t.Errorf("%s's key is not the genesis's", m)
		}
	}
	price := uint64(4321)
	fp, _ := jobspec.TenderSlots("firm0")
	raw, _ := json.Marshal(jobrun.TenderInput{Price: &price})
	in, err := jobrun.PrepareInput(spec, fp, raw, jobrun.ProviderKeys{})
	if err != nil {
		t.Fatal(err)
	}
	sealed, com, err := in.SealShares(spec, chainID, keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sealedinput.ParseCommitments(com, len(spec.Committee), 1); err != nil {
		t.Fatalf("share commitments: %v", err)
	}
	for j, c := range sealed {
		m := spec.Committee[j]
		aad := jobrun.SealedShareAAD(chainID, "T1", fp, m)
		if _, err := sealbox.Open(evilKeys[m].Private, aad, c); err == nil {
			t.Errorf("share %d opens with the substituted key", j)
		}
		if _, err := sealbox.Open(n.keys[m].Private, aad, c); err != nil {
			t.Errorf("share %d does not open for %s: %v", j, m, err)
		}
	}
	// The committee a quoter prepares on is confirmed the same way.
	if _, err := supplier(n.genesis, false, n.honest, small).Committee(ctx, "c1"); err == nil {
		t.Error("Committee accepted two nodes that disagree")
	}
}

// TestPreparedSlotFallsBack: a quote prepared on a draft the job does not
// fit (a committee of 3 where the job's has 4; another max price, so
// another range) is not lost: the supplier prepares it afresh for the job,
// and every committee member opens its share with its genesis key. Seal
// alone refuses the stale preparation, and one without its input file
// cannot fall back.
func TestPreparedSlotFallsBack(t *testing.T) {
	ctx := context.Background()
	n := newSealingNet(t)
	keys, err := zk.DevSetup(ctx, zk.CircuitInput)
	if err != nil {
		t.Fatal(err)
	}
	s := &SealedSupplier{Name: "firm0", Genesis: n.genesis, InputKeys: keys, Client: n.honest.serve(t), Witnesses: []*client.Client{n.honest.serve(t)}}
	spec, memberKeys, chainID, err := s.JobSpec(ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := jobspec.TenderSlots("firm0")
	price := uint64(4321)
	raw, _ := json.Marshal(jobrun.TenderInput{Price: &price})
	for name, draft := range map[string]func() (*jobrun.Spec, error){
		"committee of 3": func() (*jobrun.Spec, error) {
			return TenderDraft("O1", 100, 10000, "firm0", []string{"node0", "node1", "node2"}, 2)
		},
		"other max price": func() (*jobrun.Spec, error) { return TenderDraft("O1", 100, 20000, "firm0", spec.Committee, 3) },
	} {
		d, err := draft()
		if err != nil {
			t.Fatal(err)
		}
		ps, err := s.Prepare(ctx, d, fp, raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Seal(spec, memberKeys, chainID, ps); err == nil {
			t.Fatalf("%s: Seal took a preparation the job does not fit", name)
		}
		msg, err := s.sealSlot(ctx, spec, memberKeys, chainID, fp, ps)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(msg.SealedShares) != len(spec.Committee) || len(msg.Proof) == 0 {
			t.Fatalf("%s: %d sealed shares, proof of %d bytes", name, len(msg.SealedShares), len(msg.Proof))
		}
		if _, err := sealedinput.ParseCommitments(msg.ShareCommitments, len(spec.Committee), 1); err != nil {
			t.Fatalf("%s: share commitments: %v", name, err)
		}
		for j, c := range msg.SealedShares {
			m := spec.Committee[j]
			if _, err := sealbox.Open(n.keys[m].Private, jobrun.SealedShareAAD(chainID, "T1", fp, m), c); err != nil {
				t.Errorf("%s: %s cannot open its share: %v", name, m, err)
			}
		}
		ps.input = nil
		if _, err := s.sealSlot(ctx, spec, memberKeys, chainID, fp, ps); err == nil {
			t.Errorf("%s: fell back without the input file", name)
		}
	}
}
