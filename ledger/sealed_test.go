package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/group/edwards25519"
	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/internal/recent"
	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/policies"
)

// testSealingKey is a valid sealing public key derived from a label.
func testSealingKey(label string) []byte {
	suite := edwards25519.NewBlakeSHA256Ed25519()
	h := sha256.Sum256([]byte("sealing/" + label))
	x := suite.Scalar().SetBytes(h[:])
	b, _ := suite.Point().Mul(x, nil).MarshalBinary()
	return b
}

// sealedShares stands for what a member without a node seals to each of
// the 4 committee members: garbage of the right size, publicly invalid (no
// sender's PoK), which the ledger refuses.
func sealedShares(n, size int) [][]byte {
	out := make([][]byte, n)
	for k := range out {
		out[k] = bytes.Repeat([]byte{byte(k + 1)}, size)
	}
	return out
}

// scalarSealedLen is the size of every sealed share of a scalar input (an
// auction bid, a tender quote): the only size the ledger takes for them.
var scalarSealedLen = sealedinput.SealedLen(1)

// shareSizedMsg is a share message of a scalar input's size that is no
// share: what a provider seals when the ledger should take the ciphertext
// (it cannot open it) and the test does not open it.
func shareSizedMsg() []byte { return bytes.Repeat([]byte("m"), sealedinput.MessageLen(1)) }

// realSealedShares seals msg to each of n committee members node0… (their
// testSealingKey) for slot of job id on chain: publicly valid shares (the
// sealedInputFixture is the state and view a job-input check of a sealed
// slot reads: committee c1 of node0…node3 in state, those members and
// firm0 (no node) with their sealing keys, the memo of passed checks, and
// the Vickrey job J whose slot firm0 supplies sealed.
func sealedInputFixture() (mapState, *committedView, *ledgerpb.Job) {
	com, _ := proto.Marshal(&ledgerpb.Committee{Id: "c1", Members: []string{"node0", "node1", "node2", "node3"}, Threshold: 3, Status: CommitteeActive})
	idx := newMemberIndex()
	idx.add(&ledgerpb.Member{Name: "firm0", SealingKey: testSealingKey("firm0")})
	for k := range 4 {
		name := fmt.Sprintf("node%d", k)
		idx.add(&ledgerpb.Member{Name: name, PeerId: "peer-" + name, SealingKey: testSealingKey(name)})
	}
	v := &committedView{chainID: "chain", members: idx, sealedChecks: recent.New(64)}
	j := &ledgerpb.Job{Id: "J", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`), CommitteeId: "c1", Providers: []string{"n0", "firm0"}, Recipient: "node0"}
	return mapState{string(keyCommittee("c1")): com}, v, j
}

// ledger cannot open them; it bounds and checks them).
func realSealedShares(t testing.TB, chain, id, slot string, n int, msg []byte) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for k := range out {
		member := fmt.Sprintf("node%d", k)
		pub, err := sealbox.ParsePublicKey(testSealingKey(member))
		if err != nil {
			t.Fatal(err)
		}
		if out[k], err = sealbox.Seal(pub, sealedinput.AAD(chain, id, slot, member), msg); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSealedInputs: a member without a node (firm0) must post its input
// with one sealed share per committee member, each within the bounds and
// publicly valid for its member (sealbox.Check: a canonical prime-order R
// and the sender's proof of knowledge of r, bound to this job, slot and
// member); the
// ledger keeps them for the committee until the job ends, then prunes
// them; two replicas agree on every AppHash.
func TestSealedInputs(t *testing.T) {
	c := newJobChainNodeless(t, 2, policies.DefaultYAML(), "firm0")
	const firm = 4
	submit := &ledgerpb.JobSubmit{JobId: "J-sealed", Type: "auction-vickrey", Params: []byte(`{"max_bid":1000000}`),
		Providers: []string{"node0", "firm0"}, CommitteeId: "c1", Recipient: "node2", DeadlineHeight: c.height + 50}

	t.Run("a member without a node is no recipient and sits on no committee", func(t *testing.T) {
		s := proto.Clone(submit).(*ledgerpb.JobSubmit)
		s.JobId, s.Recipient = "J-to-firm", "firm0"
		if r := c.block(t, c.tx(t, 2, s))[0]; r.Code != CodeInvalid || !strings.Contains(r.Log, "runs no node") {
			t.Fatalf("job for a recipient without a node: %d %s", r.Code, r.Log)
		}
		s = proto.Clone(submit).(*ledgerpb.JobSubmit)
		s.JobId, s.Type, s.Params = "J-clear-firm", "clearing", []byte(`{"prices":[10,11],"sides":["buyer","seller"]}`)
		if r := c.block(t, c.tx(t, 2, s))[0]; r.Code != CodeInvalid || !strings.Contains(r.Log, "runs no node") {
			t.Fatalf("clearing with a bidder without a node: %d %s", r.Code, r.Log)
		}
		r := c.block(t, c.tx(t, 2, &ledgerpb.CommitteeCreate{CommitteeId: "c-firm", Members: []string{"node0", "node1", "firm0"}, Threshold: 2}))[0]
		if r.Code == CodeOK {
			t.Fatalf("committee with a member without a node accepted")
		}
	})

	c.mustOK(t, c.tx(t, 2, submit))
	_, com := dealtShares(t, 4, 800)
	// Commitments with an input over libp2p mean nothing: refused.
	libp2p := c.bid(t, "J-sealed", 700, 0, 1000000)
	libp2p.ShareCommitments = com
	if r := c.block(t, c.tx(t, 0, libp2p))[0]; r.Code != CodeInvalid || !strings.Contains(r.Log, "share commitments without sealed shares") {
		t.Errorf("commitments without sealed shares: %d %s", r.Code, r.Log)
	}
	c.mustOK(t, c.tx(t, 0, c.bid(t, "J-sealed", 700, 0, 1000000)))
	good := realSealedShares(t, testChain, "J-sealed", "firm0", 4, shareSizedMsg())
	otherJob := realSealedShares(t, testChain, "J-other", "firm0", 4, shareSizedMsg())
	otherSlot := realSealedShares(t, testChain, "J-sealed", "node0", 4, shareSizedMsg())
	// Publicly valid, but no share message of a scalar input has 15 bytes
	// (review M1: such junk was taken).
	shortMsg := realSealedShares(t, testChain, "J-sealed", "firm0", 4, []byte("a share message"))
	// The opening oracle's bait (review C1): R of an honest ciphertext to
	// node3, then bytes of the attacker's own.
	copiedR := append(bytes.Clone(good[3][:sealbox.PointBytes]), bytes.Repeat([]byte{9}, scalarSealedLen-sealbox.PointBytes)...)
	swapped := [][]byte{good[1], good[0], good[2], good[3]}
	_, com5 := dealtShares(t, 5, 800) // t = 2: 6 points, not 4
	offCurve := bytes.Clone(com)
	copy(offCurve[32:64], append([]byte{0x80}, make([]byte, 30)...)) // x = 0: y² = 3 has no root
	offCurve[63] = 0
	unreduced := bytes.Clone(com)
	copy(unreduced[:32], bytes.Repeat([]byte{0xff}, 32))
	for name, tc := range map[string]struct {
		shares [][]byte
		want   string
		com    []byte
	}{
		"no commitments":              {good, "sealed shares without share commitments", nil},
		"commitments for n = 5":       {good, "malformed share commitments: 192 bytes, want 128", com5},
		"a point off the curve":       {good, "malformed share commitments: point 1", offCurve},
		"an unreduced coordinate":     {good, "malformed share commitments: point 0", unreduced},
		"a point short":               {good, "malformed share commitments: 127 bytes", com[:len(com)-1]},
		"garbage":                     {sealedShares(4, scalarSealedLen), "sealed share 0 (for node0): sealbox: the ciphertext is publicly invalid", nil},
		"a copied ephemeral key":      {append(slices.Clone(good[:3]), copiedR), "sealed share 3 (for node3): sealbox: the ciphertext is publicly invalid", nil},
		"sealed for another job":      {otherJob, "publicly invalid", nil},
		"sealed for another slot":     {otherSlot, "publicly invalid", nil},
		"two members' shares swapped": {swapped, "sealed share 0 (for node0): sealbox: the ciphertext is publicly invalid", nil},
		"no shares":                   {nil, "must carry the committee's sealed shares", nil},
		"3 for 4":                     {sealedShares(3, scalarSealedLen), "3 sealed shares, committee c1 has 4", nil},
		"5 for 4":                     {sealedShares(5, scalarSealedLen), "5 sealed shares, committee c1 has 4", nil},
		"oversized":                   {append(sealedShares(3, scalarSealedLen), make([]byte, MaxSealedShareBytes+1)), "sealed share 3 has", nil},
		"too short":                   {append(sealedShares(3, scalarSealedLen), make([]byte, minSealedShareBytes-1)), "sealed share 3 has", nil},
		"an empty one":                {append(sealedShares(3, scalarSealedLen), nil), "sealed share 3 has", nil},
		"shares of another size":      {shortMsg, "sealed share 0 has 127 bytes, a sealed share message of this job's input has 263", nil},
		"one share a byte long":       {append(slices.Clone(good[:3]), append(bytes.Clone(good[3]), 0)), "sealed share 3 has 264 bytes", nil},
	} {
		in := c.bid(t, "J-sealed", 800, 0, 1000000)
		in.SealedShares, in.ShareCommitments = tc.shares, tc.com
		if tc.com == nil && tc.shares != nil && !strings.Contains(name, "commitments") {
			in.ShareCommitments = com
		}
		if r := c.block(t, c.tx(t, firm, in))[0]; r.Code != CodeInvalid || !strings.Contains(r.Log, tc.want) {
			t.Errorf("%s: %d %s, want %q", name, r.Code, r.Log, tc.want)
		}
	}
	if got, _ := c.app.SealedInput("J-sealed", 1); got != nil {
		t.Fatalf("refused inputs left sealed shares: %d", len(got))
	}

	in := c.bid(t, "J-sealed", 800, 0, 1000000)
	in.SealedShares, in.ShareCommitments = good, com
	c.mustOK(t, c.tx(t, firm, in))
	j := c.job(t, "J-sealed")
	if j.Status != JobRunning {
		t.Fatalf("after both inputs: %s", j.Status)
	}
	for m := range 4 {
		got, err := c.app.SealedInputs(j, m)
		if err != nil || got[0] != nil || !bytes.Equal(got[1], in.SealedShares[m]) {
			t.Fatalf("member %d's sealed inputs: %x, %v", m, got, err)
		}
	}
	if got, err := c.app.SealedCommitments(j); err != nil || got[0] != nil || !bytes.Equal(got[1], com) {
		t.Fatalf("share commitments kept: %x, %v", got, err)
	}
	output := []byte("output commitment of J-sealed")
	c.mustOK(t, c.tx(t, 3, &ledgerpb.JobResult{JobId: "J-sealed", OutputCommitment: output, Signature: c.sign(t, j, output, 0, 1, 2)}))
	if got, err := c.app.SealedInput("J-sealed", 1); got != nil || err != nil {
		t.Fatalf("sealed shares of a completed job: %d, %v; want pruned", len(got), err)
	}
	if got, err := c.app.SealedCommitments(j); err != nil || got[1] != nil {
		t.Fatalf("share commitments of a completed job: %x, %v; want pruned", got, err)
	}
}

// FuzzSealedShares decodes arbitrary bytes as a job input and runs the
// sealed-share checks of a member without a node on a 4-member committee:
// never a panic, and an accepted input has exactly one share per member,
// each of a scalar input's sealed size and publicly valid for its member (sealbox.Check).
func FuzzSealedShares(f *testing.F) {
	valid := realSealedShares(f, "chain", "J", "firm0", 4, shareSizedMsg())
	_, shareCom := dealtShares(f, 4, 800)
	ok, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: valid, ShareCommitments: shareCom})
	noCom, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: valid})
	badCom, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: valid, ShareCommitments: shareCom[:96]})
	garbage, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: sealedShares(4, scalarSealedLen)})
	copiedR, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: append(slices.Clone(valid[:3]),
		append(bytes.Clone(valid[3][:sealbox.PointBytes]), bytes.Repeat([]byte{9}, scalarSealedLen-sealbox.PointBytes)...))})
	short, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: sealedShares(3, scalarSealedLen)})
	big, _ := proto.Marshal(&ledgerpb.JobInput{JobId: "J", SealedShares: append(sealedShares(3, scalarSealedLen), make([]byte, MaxSealedShareBytes+1))})
	f.Add(ok)
	f.Add(noCom)
	f.Add(badCom)
	f.Add(garbage)
	f.Add(copiedR)
	f.Add(short)
	f.Add(big)
	f.Add([]byte{})
	keys := make([]kyber.Point, 4)
	for k := range 4 {
		keys[k], _ = sealbox.ParsePublicKey(testSealingKey(fmt.Sprintf("node%d", k)))
	}
	// With the App's memo of passed checks, as in a node: whatever it
	// remembers, nothing publicly invalid is accepted.
	st, v, j := sealedInputFixture()
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > MaxTxBytes {
			return
		}
		var m ledgerpb.JobInput
		if proto.Unmarshal(raw, &m) != nil {
			return
		}
		if checkSealedShares("firm0", j, &m, v, st) != nil {
			return
		}
		if len(m.SealedShares) != 4 {
			t.Fatalf("accepted %d sealed shares for 4 members", len(m.SealedShares))
		}
		if _, err := sealedinput.ParseCommitments(m.ShareCommitments, 4, 1); err != nil {
			t.Fatalf("accepted malformed share commitments: %v", err)
		}
		for k, s := range m.SealedShares {
			if len(s) != scalarSealedLen {
				t.Fatalf("accepted a sealed share of %d bytes, want %d", len(s), scalarSealedLen)
			}
			if err := sealbox.Check(keys[k], sealedinput.AAD("chain", "J", "firm0", fmt.Sprintf("node%d", k)), s); err != nil {
				t.Fatalf("accepted a publicly invalid share %d: %v", k, err)
			}
		}
	})
}

// TestGenesisRefusesSmallOrderSealingKey: a genesis member whose sealing
// key is the order-2 point (0, −1) is refused (shares sealed to it would
// open for anyone); the same member with a prime-order key is taken.
func TestGenesisRefusesSmallOrderSealingKey(t *testing.T) {
	order2, _ := hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	g := Genesis{Members: []GenesisMember{{Name: "firm0", Roles: []string{RoleEnterprise},
		AccountKey: deterministicKey("account/firm0").Public().(ed25519.PublicKey), SealingKey: order2}}}
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "prime order") {
		t.Fatalf("order-2 sealing key: %v", err)
	}
	g.Members[0].SealingKey = testSealingKey("firm0")
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestSealedCheckMemo: a sealed share that passed sealbox.Check is taken
// from the memo the second time (CheckTx, then FinalizeBlock), and the memo
// never lets a different share, key or context through: a share flipped in
// one bit after the valid one was remembered is still refused.
func TestSealedCheckMemo(t *testing.T) {
	valid := realSealedShares(t, "chain", "J", "firm0", 4, shareSizedMsg())
	st, v, j := sealedInputFixture()
	_, shareCom := dealtShares(t, 4, 800)
	m := &ledgerpb.JobInput{JobId: "J", SealedShares: valid, ShareCommitments: shareCom}
	for pass := range 2 {
		if terr := checkSealedShares("firm0", j, m, v, st); terr != nil {
			t.Fatalf("pass %d: %v", pass, terr)
		}
	}
	for k := range 4 {
		aad := sealedinput.AAD("chain", "J", "firm0", fmt.Sprintf("node%d", k))
		if !v.sealedChecks.Has(sealedCheckKey(testSealingKey(fmt.Sprintf("node%d", k)), aad, valid[k])) {
			t.Fatalf("share %d not remembered after it passed", k)
		}
	}
	comMemo := memoKey("cohort/ledger/sealed-commitments/v2\x00", []byte{0, 0, 0, 4}, []byte{0, 0, 0, 1}, shareCom)
	if !v.sealedChecks.Has(comMemo) {
		t.Fatal("share commitments not remembered after they passed")
	}
	// Commitments one bit off the remembered ones are parsed again and
	// refused (the flipped bit is in the top, flag, bits: an uncompressed
	// encoding, which a 32-byte point cannot be).
	badCom := bytes.Clone(shareCom)
	badCom[0] ^= 0x80
	if terr := checkSealedShares("firm0", j, &ledgerpb.JobInput{JobId: "J", SealedShares: valid, ShareCommitments: badCom}, v, st); terr == nil {
		t.Fatal("commitments flipped after their valid twin was remembered were accepted")
	}
	flipped := slices.Clone(valid)
	flipped[2] = bytes.Clone(valid[2])
	flipped[2][len(flipped[2])-1] ^= 1
	if terr := checkSealedShares("firm0", j, &ledgerpb.JobInput{JobId: "J", SealedShares: flipped, ShareCommitments: shareCom}, v, st); terr == nil {
		t.Fatal("a share flipped after its valid twin was remembered was accepted")
	}
	// The same shares in another job's context are not the remembered ones.
	j2 := &ledgerpb.Job{Id: "J2", Type: "auction-vickrey", Params: j.Params, CommitteeId: "c1", Providers: []string{"n0", "firm0"}, Recipient: "node0"}
	if terr := checkSealedShares("firm0", j2, &ledgerpb.JobInput{JobId: "J2", SealedShares: valid, ShareCommitments: shareCom}, v, st); terr == nil {
		t.Fatal("shares sealed for job J accepted for job J2 from the memo")
	}
}

// BenchmarkCheckShareCommitments: the ledger's well-formedness check of a
// sealed input's share commitments without the memo (a cold node), for a
// tender slot (1 field, committee of 4: 4 points) and a 100-level clearing
// curve (a committee of 9: 505 points); the memo's hit is a hash.
func BenchmarkCheckShareCommitments(b *testing.B) {
	for _, tc := range []struct {
		name, typ, params string
		n, fields         int
	}{
		{"auction/n=4", "auction-vickrey", `{"max_bid":1000000}`, 4, 1},
		{"clearing100/n=9", "clearing", clearingParams(100), 9, 100},
	} {
		members := make([]string, tc.n)
		for k := range members {
			members[k] = fmt.Sprintf("node%d", k)
		}
		c := &ledgerpb.Committee{Id: "c1", Members: members, Threshold: uint32(tc.n/2 + 1), Status: CommitteeActive}
		providers := []string{"node0", "node1"}
		j := &ledgerpb.Job{Id: "J", Type: tc.typ, Params: []byte(tc.params), CommitteeId: "c1", Providers: providers, Recipient: "node0"}
		shares, _, err := jobs.ShareInput(tc.n, make([]fr.Element, tc.fields), fr.NewElement(1), nil)
		if err != nil {
			b.Fatal(err)
		}
		com, _, err := sealedinput.Messages(shares, tc.fields, nil)
		if err != nil {
			b.Fatal(err)
		}
		v := &committedView{chainID: "chain"}
		if terr := checkShareCommitments(j, len(c.Members), tc.fields, com, v); terr != nil {
			b.Fatal(terr)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if terr := checkShareCommitments(j, len(c.Members), tc.fields, com, v); terr != nil {
					b.Fatal(terr)
				}
			}
		})
	}
}

// clearingParams is a clearing job's parameters with levels price levels
// and two bidders (a buyer, a seller).
func clearingParams(levels int) string {
	p := make([]string, levels)
	for i := range p {
		p[i] = fmt.Sprint(10 + i)
	}
	return `{"prices":[` + strings.Join(p, ",") + `],"sides":["buyer","seller"]}`
}
