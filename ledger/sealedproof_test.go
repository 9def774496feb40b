package ledger

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/group/edwards25519"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/policies"
)

// testSealingPriv is the private key of testSealingKey(label).
func testSealingPriv(label string) kyber.Scalar {
	h := sha256.Sum256([]byte("sealing/" + label))
	return edwards25519.NewBlakeSHA256Ed25519().Scalar().SetBytes(h[:])
}

// sealedJob submits a Vickrey job with inputs from node0 (over libp2p) and
// firm0 (sealed, chain member 4), and posts firm0's input with its four
// sealed shares, each changed by tamper (member index, share message) →
// what to seal (nil: seal it as is); for each k in flip, member k's
// ciphertext is a dishonest sender's (sealbox.SealCorrupt: publicly valid,
// opens for nobody). It returns the sealed shares as the ledger keeps them.
func (c *jobChain) sealedJob(t *testing.T, id string, tamper func(k int, msg []byte) []byte, flip ...int) [][]byte {
	t.Helper()
	c.mustOK(t, c.tx(t, 2, &ledgerpb.JobSubmit{JobId: id, Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`),
		Providers: []string{"node0", "firm0"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}))
	c.mustOK(t, c.tx(t, 0, c.bid(t, id, 700, 0, 1000000)))
	msgs, com := dealtShares(t, 4, 800)
	in := c.bid(t, id, 800, 0, 1000000)
	in.ShareCommitments = com
	for k := range 4 {
		member := fmt.Sprintf("node%d", k)
		msg := msgs[k]
		if tamper != nil {
			if m := tamper(k, msg); m != nil {
				msg = m
			}
		}
		pub, err := sealbox.ParsePublicKey(testSealingKey(member))
		if err != nil {
			t.Fatal(err)
		}
		seal := sealbox.Seal
		if slices.Contains(flip, k) {
			seal = sealbox.SealCorrupt
		}
		sc, err := seal(pub, sealedinput.AAD(testChain, id, "firm0", member), msg)
		if err != nil {
			t.Fatal(err)
		}
		in.SealedShares = append(in.SealedShares, sc)
	}
	c.mustOK(t, c.tx(t, 4, in))
	if j := c.job(t, id); j.Status != JobRunning {
		t.Fatalf("job %s: %s", id, j.Status)
	}
	return in.SealedShares
}

// dealtShares is an honest sealed provider's sharing of value to a
// committee of n: each member's share message and the share commitments.
func dealtShares(t testing.TB, n int, value uint64) (msgs [][]byte, commitments []byte) {
	t.Helper()
	var v fr.Element
	v.SetUint64(value)
	shares, _, err := jobs.ShareInput(n, []fr.Element{v}, fr.NewElement(5), nil)
	if err != nil {
		t.Fatal(err)
	}
	commitments, msgs, err = sealedinput.Messages(shares, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	return msgs, commitments
}

// offPolynomial re-encodes a share message with its value share moved by
// one: well formed, off the provider's commitments (what a provider that
// deals member k a share off its polynomial seals).
func offPolynomial(t testing.TB, msg []byte) []byte {
	t.Helper()
	s, g, err := sealedinput.DecodeShare(msg, 1)
	if err != nil {
		t.Fatal(err)
	}
	var one fr.Element
	one.SetOne()
	s.Fields[0].Add(&s.Fields[0], &one)
	v := append(append(fr.Vector(nil), s.Fields...), s.Salt)
	return sealedinput.Encode(field.AppendVector([]byte{1}, v), g)
}

// opening is member k's proven opening of its sealed share of job id's
// slot 1 (firm0's), as the committee's abort carries it.
func opening(t *testing.T, id string, k int, sealed []byte) *ledgerpb.SealedOpening {
	t.Helper()
	member := fmt.Sprintf("node%d", k)
	S, proof, err := sealbox.ProveOpening(testSealingPriv(member), sealedinput.AAD(testChain, id, "firm0", member), sealed)
	if err != nil || S == nil {
		t.Fatalf("prove: %v", err)
	}
	return &ledgerpb.SealedOpening{Slot: 1, Claimant: member, Point: S, Proof: proof}
}

// TestSealedAbortProof: a job.abort carrying a committee member's proven
// opening of its sealed share is checked against the ciphertext on the
// ledger and the member's genesis sealing key; it convicts and charges the
// provider when the share does not open or is malformed, the claimant when
// it opens well formed; an abort whose proof does not verify (a made-up
// point, another member's or job's proof, a slot not sealed, oversized
// fields) is refused and changes nothing. A replica agrees on every
// AppHash.
func TestSealedAbortProof(t *testing.T) {
	c := newJobChainNodeless(t, 1, policies.DefaultYAML(), "firm0")
	const firm = 4

	// Member 1's ciphertext does not open; member 2's opens to garbage.
	shares := c.sealedJob(t, "J-bad", func(k int, msg []byte) []byte {
		if k == 2 {
			return bytes.Repeat([]byte("x"), len(msg)) // no share message, of the right size
		}
		return nil
	}, 1)
	good := opening(t, "J-bad", 1, shares[1])
	other := opening(t, "J-bad", 0, shares[0])
	madeUp := proto.Clone(good).(*ledgerpb.SealedOpening)
	madeUp.Point = testSealingKey("someone")
	abort := func(o *ledgerpb.SealedOpening) *ledgerpb.JobAbort {
		return &ledgerpb.JobAbort{JobId: "J-bad", Reason: "bad-input: firm0", Culprit: "firm0", SealedOpening: o}
	}
	swapped := proto.Clone(other).(*ledgerpb.SealedOpening)
	swapped.Claimant = "node1" // node0's proof presented as node1's
	notSealed := proto.Clone(good).(*ledgerpb.SealedOpening)
	notSealed.Slot = 0
	outOfRange := proto.Clone(good).(*ledgerpb.SealedOpening)
	outOfRange.Slot = 2
	longPoint := proto.Clone(good).(*ledgerpb.SealedOpening)
	longPoint.Point = append(bytes.Clone(good.Point), 0)
	noProof := proto.Clone(good).(*ledgerpb.SealedOpening)
	noProof.Proof = nil
	outsider := proto.Clone(good).(*ledgerpb.SealedOpening)
	outsider.Claimant = "firm0"
	for name, tc := range map[string]struct {
		o    *ledgerpb.SealedOpening
		want string
	}{
		"a made-up point":          {madeUp, "does not verify"},
		"another member's proof":   {swapped, "does not verify"},
		"a slot not sealed":        {notSealed, "is not sealed"},
		"a slot out of range":      {outOfRange, "slot 2 of a job with 2 providers"},
		"a point of 33 bytes":      {longPoint, "a point of 33 bytes"},
		"no proof":                 {noProof, "a proof of 0"},
		"a claimant off committee": {outsider, "not on committee"},
	} {
		t.Run(name, func(t *testing.T) { c.refused(t, 1, abort(tc.o), CodeInvalid, tc.want) })
	}
	// The proof of J-bad does not carry over to another job.
	shares2 := c.sealedJob(t, "J-bad2", nil, 1)
	moved := abort(good)
	moved.JobId = "J-bad2"
	c.refused(t, 1, moved, CodeInvalid, "does not verify")

	before := c.scores(t)
	c.mustOK(t, c.tx(t, 3, abort(good))) // any committee member may post the claimant's proof
	j := c.job(t, "J-bad")
	if j.Status != JobAborted || j.Culprit != "firm0" || !strings.Contains(j.AbortReason, "proven not to open") {
		t.Fatalf("J-bad: %s, culprit %q, %q", j.Status, j.Culprit, j.AbortReason)
	}
	after := c.scores(t)
	for i := range before {
		want := before[i]
		if i == firm {
			want += ratingBadSealedInput
		}
		if after[i] != want {
			t.Errorf("%s: rating %d → %d, want %d", c.ms[i].name, before[i], after[i], want)
		}
	}

	// A malformed plaintext convicts the provider too.
	c.mustOK(t, c.tx(t, 0, &ledgerpb.JobAbort{JobId: "J-bad2", Reason: "bad-input: firm0", SealedOpening: opening(t, "J-bad2", 1, shares2[1])}))
	shares3 := c.sealedJob(t, "J-garbage", func(k int, msg []byte) []byte {
		if k == 2 {
			m := bytes.Clone(msg) // of the right size (the ledger takes no other), with an unknown frame version
			m[0] = 0xff
			return m
		}
		return nil
	})
	before = c.scores(t)
	c.mustOK(t, c.tx(t, 0, &ledgerpb.JobAbort{JobId: "J-garbage", Reason: "bad-input: firm0", SealedOpening: opening(t, "J-garbage", 2, shares3[2])}))
	if j := c.job(t, "J-garbage"); j.Culprit != "firm0" || !strings.Contains(j.AbortReason, "proven malformed") {
		t.Fatalf("J-garbage: culprit %q, %q", j.Culprit, j.AbortReason)
	}
	if got := c.scores(t)[firm]; got != before[firm]+ratingBadSealedInput {
		t.Fatalf("firm0 rating %d, want %d", got, before[firm]+ratingBadSealedInput)
	}

	// A share well formed but off the provider's commitments convicts the
	// provider: it signed both.
	shares5 := c.sealedJob(t, "J-off", func(k int, msg []byte) []byte {
		if k == 3 {
			return offPolynomial(t, msg)
		}
		return nil
	})
	before = c.scores(t)
	// node3's claim on its share (off) convicts firm0; node0's claim on
	// its share (on) would convict node0: one abort lands, the first.
	c.mustOK(t, c.tx(t, 0, &ledgerpb.JobAbort{JobId: "J-off", Reason: "bad-input: firm0", SealedOpening: opening(t, "J-off", 3, shares5[3])}))
	if j := c.job(t, "J-off"); j.Culprit != "firm0" || !strings.Contains(j.AbortReason, "off its committed polynomials") {
		t.Fatalf("J-off: culprit %q, %q", j.Culprit, j.AbortReason)
	}
	if got := c.scores(t)[firm]; got != before[firm]+ratingBadSealedInput {
		t.Fatalf("firm0 rating %d, want %d", got, before[firm]+ratingBadSealedInput)
	}

	// A claim on a share that opens well formed and on the commitments
	// convicts the claimant, whatever culprit the abort names.
	shares4 := c.sealedJob(t, "J-fine", nil)
	before = c.scores(t)
	c.mustOK(t, c.tx(t, 1, &ledgerpb.JobAbort{JobId: "J-fine", Reason: "false-input-claim: node0", Culprit: "firm0", SealedOpening: opening(t, "J-fine", 0, shares4[0])}))
	if j := c.job(t, "J-fine"); j.Culprit != "node0" || !strings.Contains(j.AbortReason, "proven false") || !strings.Contains(j.AbortReason, "on the provider's commitments") {
		t.Fatalf("J-fine: culprit %q, %q", j.Culprit, j.AbortReason)
	}
	after = c.scores(t)
	if after[0] != before[0]+ratingFalseSealedClaim || after[firm] != before[firm] {
		t.Fatalf("ratings %v → %v: want node0 charged, firm0 not", before, after)
	}
}

// FuzzSealedOpening decodes arbitrary bytes as a job.abort and checks its
// sealed opening against a job whose slot 1 is sealed to a 4-member
// committee (member 1's share does not open, member 2's is garbage,
// member 3's is well formed but off the commitments, member 0's is good):
// never a panic, and what is accepted is true — the provider is convicted
// only if the claimant's key cannot open its share to a well-formed share
// on the commitments, the claimant only if it can.
func FuzzSealedOpening(f *testing.F) {
	members := []string{"node0", "node1", "node2", "node3"}
	j := &ledgerpb.Job{Id: "J", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`), CommitteeId: "c1", Providers: []string{"node0", "firm0"}}
	com := &ledgerpb.Committee{Id: "c1", Members: members, Threshold: 3, Status: CommitteeActive}
	msgs, commitments := dealtShares(f, 4, 800)
	idx := newMemberIndex()
	shares := make([][]byte, 4)
	for k, m := range members {
		idx.add(&ledgerpb.Member{Name: m, PeerId: "peer-" + m, SealingKey: testSealingKey(m)})
		pub, _ := sealbox.ParsePublicKey(testSealingKey(m))
		msg := msgs[k]
		switch k {
		case 2:
			msg = []byte("garbage")
		case 3:
			msg = offPolynomial(f, msg)
		}
		seal := sealbox.Seal
		if k == 1 {
			seal = sealbox.SealCorrupt
		}
		shares[k], _ = seal(pub, sealedinput.AAD(testChain, "J", "firm0", m), msg)
	}
	idx.add(&ledgerpb.Member{Name: "firm0", SealingKey: testSealingKey("firm0")})
	comB, _ := proto.Marshal(com)
	sealedB, _ := proto.Marshal(&ledgerpb.SealedShares{Shares: shares, Commitments: commitments})
	parsed, err := sealedinput.ParseCommitments(commitments, 4, 1)
	if err != nil {
		f.Fatal(err)
	}
	st := mapState{string(keyCommittee("c1")): comB, string(keySealedInput("J", 1)): sealedB}
	v := &committedView{chainID: testChain, members: idx}
	for k, m := range members {
		S, proof, _ := sealbox.ProveOpening(testSealingPriv(m), sealedinput.AAD(testChain, "J", "firm0", m), shares[k])
		raw, _ := proto.Marshal(&ledgerpb.JobAbort{JobId: "J", Reason: "r", SealedOpening: &ledgerpb.SealedOpening{Slot: 1, Claimant: m, Point: S, Proof: proof}})
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > MaxTxBytes {
			return
		}
		var m ledgerpb.JobAbort
		if proto.Unmarshal(raw, &m) != nil || m.SealedOpening == nil {
			return
		}
		verdict, terr := checkSealedOpening(j, com, m.SealedOpening, v, st)
		if terr != nil {
			return
		}
		o := m.SealedOpening
		k := slices.Index(members, o.Claimant)
		msg, err := sealbox.Open(testSealingPriv(o.Claimant), sealedinput.AAD(testChain, "J", "firm0", o.Claimant), shares[k])
		if err == nil {
			_, err = sealedinput.Judge(msg, 1, k, parsed)
		}
		if (verdict.culprit == "firm0") != (err != nil) || verdict.culprit != "firm0" && verdict.culprit != o.Claimant {
			t.Fatalf("claim by %s: verdict %+v, the key says %v", o.Claimant, verdict, err)
		}
	})
}
