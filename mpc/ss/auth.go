package ss

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/transport"
)

// Security selects the adversary a Party withstands.
type Security int

const (
	// Malicious: security with abort against a malicious minority (SPDZ-wise
	// Shamir, see doc.go). The zero value, hence the default.
	Malicious Security = iota
	// SemiHonest: the committee follows the protocol; faster, for
	// benchmarks and trusted deployments.
	SemiHonest
)

func (s Security) String() string {
	switch s {
	case Malicious:
		return "malicious"
	case SemiHonest:
		return "semi-honest"
	}
	return fmt.Sprintf("Security(%d)", int(s))
}

func (p *Party) malicious() bool { return p.sec == Malicious }

// Security returns the party's mode.
func (p *Party) Security() Security { return p.sec }

// CheckError reports that a check of the malicious mode failed: a MAC check
// (some member deviated in a multiplication, a re-sharing or an input), an
// inconsistent opening (shares off one degree-t polynomial), a bitness check
// or an inconsistent dealing. The job aborts and nothing more is opened.
// When the engine can prove who deviated against any t colluders (only the
// dealer of a non-bit or of an out-of-range mask integer), the error is
// wrapped in a *transport.PartyError naming that member; a bare CheckError
// names no one.
type CheckError struct {
	Check string // what failed, e.g. "mac", "open mask:lt"
	// Culprit is the member identified (only ever the dealer of a non-bit or
	// of an out-of-range mask integer: what is sound against t colluders),
	// or −1.
	Culprit int
	// Group is the index of the dealt group (e.g. provider) whose shares
	// were inconsistent, or −1.
	Group  int
	Detail string
}

func (e *CheckError) Error() string {
	s := "ss: malicious-mode check failed: " + e.Check
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Culprit < 0 {
		s += " (culprit unidentified)"
	} else {
		s += fmt.Sprintf(" (party %d)", e.Culprit)
	}
	return s
}

// checkFailed returns the error of a failed check: a PartyError naming the
// culprit when there is one, the bare CheckError otherwise; and tells the
// peers (fail), so that their errors say the same.
func (p *Party) checkFailed(r transport.Round, ce *CheckError) error {
	var err error = ce
	if ce.Culprit >= 0 && ce.Culprit != p.self {
		err = &transport.PartyError{Party: transport.PartyID(ce.Culprit), Round: r, Err: ce}
	} else {
		ce.Culprit = -1
	}
	return p.fail(err)
}

// noticeUnidentified is the abort notice of a party that aborted on a failed
// check without a culprit: its peers then report an unidentified failure
// rather than blaming it for leaving.
const noticeUnidentified = ^uint32(0) - 1

// pending holds the authenticated products (z, α·z) not yet checked, one
// pair of vectors per operation. They are the engine's own result vectors,
// kept by reference: the engine never updates a product in place, and the
// Vec API returns fresh vectors from every operation, so a caller that
// modified a returned product in place (it has no reason to) would only make
// the check fail, never pass a wrong value.
type pending struct {
	z, m []fr.Vector
	n    int
}

// maxPending bounds the products kept for one check: beyond it the engine
// checks at once (α stays secret, so a job may check any number of times).
const maxPending = 1 << 20

func (p *Party) addPending(ctx context.Context, z, m fr.Vector) error {
	p.pend.z = append(p.pend.z, z)
	p.pend.m = append(p.pend.m, m)
	p.pend.n += len(z)
	p.dirty = true
	if p.pend.n >= maxPending {
		return p.Verify(ctx)
	}
	return nil
}

// mulVec multiplies element-wise. Malicious mode: z = x·y and α·z = (α·x)·y
// in one re-sharing round of 2m values; the pair is kept for the next check.
func (p *Party) mulVec(ctx context.Context, x, y Vec) (Vec, error) {
	m := x.Len()
	if y.Len() != m {
		return Vec{}, fmt.Errorf("ss: mul of vectors of length %d and %d", m, y.Len())
	}
	if err := p.checkMode("mul", x, y); err != nil {
		return Vec{}, err
	}
	return p.mulSrc(ctx, m, source{x: x.V, y: y.V, x2: x.M, y2: y.V}, nil)
}

// mulGen is mulVec of m products whose operands gen computes chunk by
// chunk (source.gen), in the party's mode.
func (p *Party) mulGen(ctx context.Context, m int, gen func(h int, x, y fr.Vector, off, end int)) (Vec, error) {
	return p.mulSrc(ctx, m, source{gen: gen, genN: m, genMAC: p.malicious()}, nil)
}

// mulSrc runs the multiplication round of m products given by src (value
// half x∘y, and in malicious mode the MAC half x2∘y2 = (α·x)∘y); fix, if
// set, transforms the result in place before it is kept for the next check
// (see xorProduct).
func (p *Party) mulSrc(ctx context.Context, m int, src source, fix func(Vec)) (Vec, error) {
	p.Stats.Mults += m
	if c := p.cheat; c != nil && (c.MulOffset || c.HiddenOffset || c.MacOffset) && (c.MulOp == "" || c.MulOp == p.op) && (!c.MulOnce || p.cheatedOnce.CompareAndSwap(false, true)) {
		p.cheating = true
		defer func() { p.cheating = false }()
	}
	if !p.malicious() {
		src.x2, src.y2, src.genMAC = nil, nil, false
		z, err := p.reshareSrc(ctx, src, true)
		if err != nil {
			return Vec{}, err
		}
		v := Vec{V: z}
		if fix != nil {
			fix(v)
		}
		return v, nil
	}
	r, err := p.reshareSrc(ctx, src, true)
	if err != nil {
		return Vec{}, err
	}
	if src.len() != 2*m {
		return Vec{}, fmt.Errorf("ss: mul source of %d elements for %d products with MACs", src.len(), m)
	}
	z := Vec{V: r[:m:m], M: r[m:]}
	if fix != nil {
		fix(z)
	}
	if err := p.addPending(ctx, z.V, z.M); err != nil {
		return Vec{}, err
	}
	return z, nil
}

// macOf authenticates shared values: [α·x] = [α]·[x] (one re-sharing round),
// kept for the next check. The result's value half is x itself: x must be the
// engine's own vector (AuthenticateChecked copies a caller's).
func (p *Party) macOf(ctx context.Context, x fr.Vector) (Vec, error) {
	p.Stats.Mults += len(x)
	m, err := p.reshareSrc(ctx, source{x: x, scale: &p.alpha}, true)
	if err != nil {
		return Vec{}, err
	}
	v := Vec{V: x, M: m}
	if err := p.addPending(ctx, v.V, v.M); err != nil {
		return Vec{}, err
	}
	return v, nil
}

// masked reports whether an opening's label declares a value hidden by fresh
// randomness uniform over the whole field (S-box masks, coins, the dealt-input
// check), which the engine may open before the check: whatever a cheater did
// to the value, the opening is uniform. Bounded masks are not (boundedMask).
func masked(label string) bool { return strings.HasPrefix(label, "mask:") && !boundedMask(label) }

// boundedMask reports the openings under a bounded (statistical) mask, r′ +
// 2^m·r″ of about 2^106 (comparisons, equality, truncation): it hides only
// values below about 2^65, so a cheater that made the masked value large and
// known-offset (e.g. a comparison result w+δ feeding the next level) would
// read honest inputs from it. They are opened only after a successful check
// of everything computed before them, like outputs.
func boundedMask(label string) bool {
	switch label {
	case "mask:lt", "mask:eq", "mask:trunc":
		return true
	}
	return false
}

// openAll opens v with all n shares (to everyone, or to party `to` only):
// every party sends its share to every receiver, which checks that the n
// shares lie on one polynomial of degree t, so that all honest parties learn
// the same value or abort. An inconsistency aborts with a CheckError naming
// no one: decoding finds the deviator only if a single member deviated (two
// colluders, within t, can make an honest share the odd one out), so the
// member it points to (identify; after a successful check, nothing dealt
// since) goes into the error's text as a suspect, never as a culprit that
// costs credit.
func (p *Party) openAll(ctx context.Context, label string, v fr.Vector, to int) (fr.Vector, error) {
	res, shares, bad, r, err := p.openRaw(ctx, label, v, to)
	if err != nil || res == nil {
		return nil, err
	}
	if bad {
		detail := "shares are not on one polynomial of degree t"
		if !p.dirty {
			detail += suspect(p.params.identify(shares))
		}
		return nil, p.checkFailed(r, &CheckError{Check: "open " + label, Culprit: -1, Group: -1, Detail: detail})
	}
	p.observe(label, res)
	return res, nil
}

// openRaw sends v's shares to the receivers and, at a receiver, collects all
// n shares and interpolates them; bad reports an inconsistency.
func (p *Party) openRaw(ctx context.Context, label string, v fr.Vector, to int) (res fr.Vector, shares []fr.Vector, bad bool, r transport.Round, err error) {
	m := len(v)
	if err := checkBatch(m); err != nil {
		return nil, nil, false, 0, err
	}
	r = p.nextRound()
	prm := p.params
	if c := p.cheat; c != nil && c.LeaveAt != "" && c.LeaveAt == label {
		return nil, nil, false, r, p.cheatLeave(ctx)
	}
	var payload []byte
	for j := 0; j < prm.N; j++ {
		if j == p.self || (to >= 0 && j != to) {
			continue
		}
		out := v
		if c := p.cheat; c != nil && c.FrameLabel != "" && c.FrameLabel == label && m > 0 {
			out := append(fr.Vector(nil), v...)
			p.cheatFrame(out)
			if err := p.send(ctx, j, msgRound(r, 0), field.EncodeVector(out)); err != nil {
				return nil, nil, false, r, fmt.Errorf("ss: open %s: %w", label, err)
			}
			continue
		}
		if c := p.cheat; c != nil && c.ShiftOpen && m > 0 && (c.ShiftTo < 0 || c.ShiftTo == j) && (c.ShiftLabel == "" || c.ShiftLabel == label) {
			out = append(fr.Vector(nil), v...)
			one := fr.One()
			for _, k := range c.ShiftAt {
				xs, xk := point(p.self), point(k)
				var f fr.Element
				f.Sub(&xs, &xk)
				one.Mul(&one, &f)
			}
			out[0].Add(&out[0], &one)
			if err := p.send(ctx, j, msgRound(r, 0), field.EncodeVector(out)); err != nil {
				return nil, nil, false, r, fmt.Errorf("ss: open %s: %w", label, err)
			}
			continue
		}
		if payload == nil {
			payload = field.EncodeVector(v)
		}
		if err := p.send(ctx, j, msgRound(r, 0), payload); err != nil {
			return nil, nil, false, r, fmt.Errorf("ss: open %s: %w", label, err)
		}
	}
	if to >= 0 && to != p.self {
		return nil, nil, false, r, nil
	}
	shares = make([]fr.Vector, prm.N)
	for j := 0; j < prm.N; j++ {
		if j == p.self {
			shares[j] = v
			continue
		}
		shares[j] = field.New(m)
		if err := p.recvInto(ctx, j, msgRound(r, 0), shares[j]); err != nil {
			return nil, nil, false, r, fmt.Errorf("ss: open %s: %w", label, err)
		}
	}
	res, bad = p.params.interpolateChecked(shares, nil)
	return res, shares, bad, r, nil
}

// cheatLeave is the test adversary's lying abort notice and departure (see
// cheat.Plan.LeaveAt).
func (p *Party) cheatLeave(ctx context.Context) error {
	x := uint32(p.cheat.NoticeBlames)
	if p.cheat.NoticeBlames < 0 {
		x = noticeUnidentified
	}
	var msg [4]byte
	binary.BigEndian.PutUint32(msg[:], x)
	p.failure.aborted.Store(true)
	for j := 0; j < p.params.N; j++ {
		if j != p.self {
			_ = p.conn.Send(ctx, transport.PartyID(j), abortRound, msg[:])
		}
	}
	_ = p.conn.Close()
	return errors.New("ss: test adversary left with a notice")
}

// consistency tables: the Lagrange coefficients over the first t+1 present
// parties at 0 and at the other parties' points.
type interp struct {
	base  []int
	at0   []fr.Element
	rest  []int
	atRst [][]fr.Element
}

func newInterp(present []int, t int) interp {
	in := interp{base: present[:t+1], rest: present[t+1:]}
	in.at0 = lagrange(in.base, 0)
	for _, j := range in.rest {
		in.atRst = append(in.atRst, lagrangeAtPoint(in.base, point(j)))
	}
	return in
}

// interpolateChecked returns the secrets of the sharings given by the
// present shares (shares[i] nil: absent; skip lists parties to leave out)
// and whether any present share is off the degree-t polynomial through the
// first t+1 present ones.
func (prm *Params) interpolateChecked(shares []fr.Vector, skip []bool) (fr.Vector, bool) {
	var present []int
	for i, s := range shares {
		if s != nil && (skip == nil || !skip[i]) {
			present = append(present, i)
		}
	}
	m := len(shares[present[0]])
	in := newInterp(present, prm.T)
	res := field.New(m)
	tmp := field.New(m)
	for k, i := range in.base {
		field.AddScaled(res, shares[i], &in.at0[k], tmp)
	}
	bad := false
	for q, j := range in.rest {
		pred := field.New(m)
		for k, i := range in.base {
			field.AddScaled(pred, shares[i], &in.atRst[q][k], tmp)
		}
		if !pred.Equal(shares[j]) {
			bad = true
		}
	}
	return res, bad
}

// suspect is the error text naming the member decoding points to (j ≥ 0),
// with the bound that makes it unsound as an accusation.
func suspect(j int) string {
	if j < 0 {
		return ""
	}
	return fmt.Sprintf("; suspect: member %d — sound only if a single member deviated, so nobody is charged", j)
}

// identify returns the one party whose shares are off the polynomial that
// all other shares agree on, or −1. It needs n−1 ≥ t+2 and n = 2t+1 (so
// n = 5, 7, 9; for n = 3 any two shares are consistent). The answer is the
// deviator whenever a single member sent wrong shares in this opening of
// sharings that were of degree t: with its share removed the rest are
// consistent, and with any honest member's share removed the deviator's share
// is still off. For even n (n ≥ 2t+2) the premise fails: GRR re-sharing
// interpolates over all n points, so a member can add a hidden offset
// X·Π(X − x_p) of degree t+1 that no MAC check sees, and then frame an
// honest member (TestHiddenInconsistencyFramesNobody). A coalition of several
// deviators can make an honest member's share look like the odd one out;
// the shares of one opening cannot tell the two cases apart.
func (prm *Params) identify(shares []fr.Vector) int {
	if prm.N != 2*prm.T+1 || prm.N-1 < prm.T+2 {
		return -1
	}
	found := -1
	skip := make([]bool, prm.N)
	for j := 0; j < prm.N; j++ {
		skip[j] = true
		_, bad := prm.interpolateChecked(shares, skip)
		skip[j] = false
		if !bad {
			if found >= 0 {
				return -1
			}
			found = j
		}
	}
	return found
}

// ReconstructChecked is the recipient side of an output in malicious mode:
// from the shares of all n members (shares[i] nil: missing) it recovers the
// secrets and checks that the shares lie on one polynomial of degree t. If
// they do not, it returns a *CheckError naming no one (the member decoding
// points to, n = 2t+1, is only a suspect in its text: see openAll); a
// missing or malformed share is a *transport.PartyError naming its member
// (the recipient saw that itself).
func ReconstructChecked(params *Params, shares []fr.Vector) (fr.Vector, error) {
	if len(shares) != params.N {
		return nil, fmt.Errorf("ss: reconstruct needs %d share slots, got %d", params.N, len(shares))
	}
	m := -1
	for i, s := range shares {
		if s == nil {
			return nil, &transport.PartyError{Party: transport.PartyID(i), Err: errors.New("ss: output share missing (malicious mode needs all n)")}
		}
		if m >= 0 && len(s) != m {
			return nil, &transport.PartyError{Party: transport.PartyID(i), Err: fmt.Errorf("ss: party %d sent %d shares, others %d", i, len(s), m)}
		}
		m = len(s)
	}
	res, bad := params.interpolateChecked(shares, nil)
	if !bad {
		return res, nil
	}
	return nil, &CheckError{Check: "output shares", Culprit: -1, Group: -1,
		Detail: "shares are not on one polynomial of degree t" + suspect(params.identify(shares))}
}

// AuthenticateDealt turns sharings dealt by parties outside the committee
// (groups[g]: this party's shares of group g, e.g. one provider's fields)
// into authenticated vectors. Malicious mode: one batched consistency check
// first — for each group, Σρ_k[x_k] + [r_g] with ρ drawn after the shares
// are fixed and r_g a fresh joint random mask, opened with all n shares — then
// one multiplication round for the MACs. An inconsistency is reported as a
// *CheckError with Group set and no culprit: over point-to-point channels
// the committee cannot tell a dealer that sent one member a bad share from a
// member that relays a wrong one. Semi-honest mode: no communication.
func (p *Party) AuthenticateDealt(ctx context.Context, groups []fr.Vector) ([]Vec, error) {
	out := make([]Vec, len(groups))
	if !p.malicious() {
		for g, x := range groups {
			out[g] = Vec{V: x}
		}
		return out, nil
	}
	if err := p.CheckDealt(ctx, groups); err != nil {
		return nil, err
	}
	v, err := p.AuthenticateChecked(ctx, concat(groups))
	if err != nil {
		return nil, fmt.Errorf("ss: dealt inputs: %w", err)
	}
	off := 0
	for g, x := range groups {
		out[g] = v.Slice(off, off+len(x))
		off += len(x)
	}
	return out, nil
}

// AuthenticateChecked returns x with its MACs (one multiplication round in
// malicious mode, none in semi-honest mode). x must be a linear combination
// of sharings known to be consistent — dealt shares that passed CheckDealt,
// or the value half of Vecs — e.g. the aggregates of a clearing job, so that
// a job authenticates only the combinations it computes on rather than every
// dealt share.
func (p *Party) AuthenticateChecked(ctx context.Context, x fr.Vector) (Vec, error) {
	if !p.malicious() {
		return Vec{V: x}, nil
	}
	if len(x) == 0 {
		return p.NewVec(0), nil
	}
	return p.macOf(ctx, append(fr.Vector(nil), x...))
}

// CheckDealt is the consistency check of AuthenticateDealt alone (malicious
// mode; semi-honest: no-op).
func (p *Party) CheckDealt(ctx context.Context, groups []fr.Vector) error {
	G := len(groups)
	if !p.malicious() || G == 0 {
		return nil
	}
	own := field.New(G + 1)
	p.own.FillVector(own)
	rnd, err := p.reshare(ctx, own, nil, false) // G masks and a coin
	if err != nil {
		return fmt.Errorf("ss: dealt inputs: %w", err)
	}
	seed, err := p.openAll(ctx, "mask:coin", rnd[G:], -1)
	if err != nil {
		return fmt.Errorf("ss: dealt inputs: %w", err)
	}
	var s [field.SeedBytes]byte
	b := seed[0].Bytes()
	copy(s[:], b[:])
	prg := field.NewPRG(s, "cohort/ss/dealt")
	comb := append(fr.Vector(nil), rnd[:G]...)
	for g, x := range groups {
		rho := field.New(len(x))
		prg.FillVector(rho)
		if len(x) > 0 {
			d := rho.InnerProduct(x)
			comb[g].Add(&comb[g], &d)
		}
	}
	opened, shares, bad, r, err := p.openRaw(ctx, "mask:dealt", comb, -1)
	if err != nil {
		return fmt.Errorf("ss: dealt inputs: %w", err)
	}
	if bad {
		ce := &CheckError{Check: "dealt inputs", Culprit: -1, Group: -1,
			Detail: "the shares of a dealt input are not on one polynomial of degree t (its dealer, or a member relaying them, deviated)"}
		one := make([]fr.Vector, len(shares))
		for g := 0; g < G && ce.Group < 0; g++ {
			for i := range shares {
				one[i] = shares[i][g : g+1]
			}
			if _, b := p.params.interpolateChecked(one, nil); b {
				ce.Group = g
			}
		}
		return p.checkFailed(r, ce)
	}
	p.observe("mask:dealt", opened)
	return nil
}
