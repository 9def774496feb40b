package ledger

import (
	"context"
	"crypto/ed25519"
	"slices"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// FuzzCheckTx feeds arbitrary bytes to CheckTx: it must answer with a code,
// never panic, and accept only txs that decode and verify.
func FuzzCheckTx(f *testing.F) {
	ms, gen := testGenesis(f, "alice")
	f.Add(anchorTx(f, ms[0], testChain, txID(1), 1))
	f.Add([]byte{})
	f.Add([]byte("\x0a\x05hello\x12\x40"))
	app := newTestApp(f, gen)
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp, err := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code == CodeOK {
			tx, terr := decodeTx(raw, testChain)
			// crypto/ed25519 is the reference for the signature rule.
			if terr != nil || !ed25519.Verify(ms[0].key.Public().(ed25519.PublicKey), signingBytes(tx.body), tx.sig) {
				t.Fatalf("accepted a tx that does not verify: %x", raw)
			}
		}
	})
}

// FuzzJobAttest decodes arbitrary bytes as a job.abort of job J, aborted at
// height 10 with node0's attestation, and checks it as signer at height:
// never a panic, and what is accepted is an attestation the rules allow —
// a committee member that has not attested, within the window, a known
// fault, an attestable one naming a culprit of its sort, and a sealed
// opening only if it verifies (J's slot 1 is sealed, FuzzSealedOpening's
// shares).
func FuzzJobAttest(f *testing.F) {
	members := []string{"node0", "node1", "node2", "node3"}
	j := &ledgerpb.Job{Id: "J", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`), CommitteeId: "c1",
		Providers: []string{"node0", "firm0"}, Requester: "node2", Status: JobAborted, FinishedHeight: 10,
		Attestations: []*ledgerpb.JobAttestation{{Member: "node0", First: true, Height: 10}}}
	com := &ledgerpb.Committee{Id: "c1", Members: members, Threshold: 3, Status: CommitteeActive}
	idx := newMemberIndex()
	shares := make([][]byte, 4)
	for k, m := range members {
		idx.add(&ledgerpb.Member{Name: m, PeerId: "peer-" + m, SealingKey: testSealingKey(m)})
		pub, _ := sealbox.ParsePublicKey(testSealingKey(m))
		shares[k], _ = sealbox.SealCorrupt(pub, sealedinput.AAD(testChain, "J", "firm0", m), []byte("x"))
	}
	idx.add(&ledgerpb.Member{Name: "firm0", SealingKey: testSealingKey("firm0")})
	jobB, _ := proto.Marshal(j)
	comB, _ := proto.Marshal(com)
	sealedB, _ := proto.Marshal(&ledgerpb.SealedShares{Shares: shares})
	st := mapState{string(keyJob("J")): jobB, string(keyCommittee("c1")): comB, string(keySealedInput("J", 1)): sealedB}
	v := &committedView{chainID: testChain, members: idx}
	add := func(signer uint8, height uint16, m *ledgerpb.JobAbort) {
		raw, _ := proto.Marshal(m)
		f.Add(signer, height, raw)
	}
	add(1, 5, faultAbort("J", FaultMemberDropped, "node3"))
	add(2, 100, faultAbort("J", FaultCommitmentMismatch, "firm0"))
	add(3, 111, faultAbort("J", FaultCheckFailed, "node1"))
	add(0, 5, faultAbort("J", FaultBadOutput, "anyone"))
	S, proof, _ := sealbox.ProveOpening(testSealingPriv("node1"), sealedinput.AAD(testChain, "J", "firm0", "node1"), shares[1])
	add(1, 1, &ledgerpb.JobAbort{JobId: "J", Reason: "r", Fault: FaultBadInput, Culprit: "firm0",
		SealedOpening: &ledgerpb.SealedOpening{Slot: 1, Claimant: "node1", Point: S, Proof: proof}})
	f.Fuzz(func(t *testing.T, signer uint8, height uint16, raw []byte) {
		if len(raw) > MaxTxBytes {
			return
		}
		var m ledgerpb.JobAbort
		if proto.Unmarshal(raw, &m) != nil {
			return
		}
		names := append(slices.Clone(members), "firm0")
		who := names[int(signer)%len(names)]
		ca, terr := checkJobAbort(who, &m, v, st, 10+int64(height))
		if terr != nil {
			return
		}
		rule, known := faultRuleOf(m.Fault)
		switch {
		case !ca.attestation:
			t.Fatal("an abort of an aborted job taken as a first abort")
		case who == "node0" || who == "firm0":
			t.Fatalf("attestation by %s taken", who)
		case int64(height) > attestWindowBlocks:
			t.Fatalf("attestation %d blocks after the abort taken", height)
		case m.Fault != "" && !known:
			t.Fatalf("unknown fault %q taken", m.Fault)
		case rule.names == namesMember && !slices.Contains(members, m.Culprit),
			rule.names == namesSlot && !slices.Contains(j.Providers, m.Culprit):
			t.Fatalf("%s naming %q taken", m.Fault, m.Culprit)
		case m.SealedOpening != nil && ca.verdict == nil:
			t.Fatal("a sealed opening taken without a verdict")
		}
	})
}
