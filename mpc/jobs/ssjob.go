package jobs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// Secret-sharing jobs: shared plumbing.
//
// A data provider (not necessarily a committee member) commits to its input
// fields f1..fk with a fresh salt, Commit(f1..fk, salt) = Poseidon2-MD, in
// tree mode for more than 8 fields (see ss.NativeCommit), posts the commitment on the ledger, and sends each
// committee party its shares (ShareInput). The committee recomputes the
// commitment on shares and tests it against the public one without revealing
// it (VerifyInputs); every job ends by committing to its outputs inside the
// MPC, so the result can be anchored without anyone seeing it.

// inputShareVersion tags the wire format of an InputShare.
const inputShareVersion = 1

// MaxInputFields bounds the fields of one provider's input accepted from the
// wire (a clearing curve has up to 4,000 levels).
const MaxInputFields = 1 << 16

// InputShare is what a committee party receives from one data provider: its
// shares of the provider's fields and of the commitment salt.
type InputShare struct {
	Fields fr.Vector
	Salt   fr.Element
}

// Input is a committee party's view of one provider's input in a job.
type Input struct {
	// Provider names the provider in errors (e.g. its node ID).
	Provider string
	// Commitment is the provider's public Poseidon2 commitment, from the ledger.
	Commitment fr.Element
	Share      InputShare
}

// ShareInput is the provider side: it computes the commitment to fields under
// salt and splits (fields, salt) into one message per committee party
// (msgs[i] goes to party i over an authenticated, confidential channel).
// rnd is the provider's randomness (nil: crypto/rand).
func ShareInput(committee int, fields []fr.Element, salt fr.Element, rnd io.Reader) (msgs [][]byte, commitment fr.Element, err error) {
	params, err := ss.NewParams(committee)
	if err != nil {
		return nil, fr.Element{}, err
	}
	if len(fields) > MaxInputFields {
		return nil, fr.Element{}, fmt.Errorf("jobs: input of %d fields exceeds %d", len(fields), MaxInputFields)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	secrets := append(append(fr.Vector(nil), fields...), salt)
	shares, err := ss.Share(params, secrets, rnd)
	if err != nil {
		return nil, fr.Element{}, fmt.Errorf("jobs: share input: %w", err)
	}
	msgs = make([][]byte, committee)
	for i, s := range shares {
		msgs[i] = field.AppendVector([]byte{inputShareVersion}, s)
	}
	return msgs, ss.NativeCommit(fields, salt), nil
}

// NewSalt draws a uniformly random commitment salt.
func NewSalt(rnd io.Reader) (fr.Element, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	prg, err := field.NewPRGFrom(rnd, "cohort/jobs/salt")
	if err != nil {
		return fr.Element{}, err
	}
	var s fr.Element
	prg.Element(&s)
	return s, nil
}

// DecodeInputShare parses a provider's message, accepting at most maxFields
// fields (plus the salt). It bounds lengths before allocating.
func DecodeInputShare(b []byte, maxFields int) (InputShare, error) {
	if len(b) < 1 || b[0] != inputShareVersion {
		return InputShare{}, errors.New("jobs: input share: unknown version")
	}
	if maxFields > MaxInputFields {
		maxFields = MaxInputFields
	}
	v, rest, err := field.DecodeVector(b[1:], maxFields+1)
	if err != nil {
		return InputShare{}, fmt.Errorf("jobs: input share: %w", err)
	}
	if len(rest) != 0 {
		return InputShare{}, errors.New("jobs: input share: trailing bytes")
	}
	if len(v) == 0 {
		return InputShare{}, errors.New("jobs: input share: missing salt")
	}
	return InputShare{Fields: v[:len(v)-1], Salt: v[len(v)-1]}, nil
}

// CommitmentMismatchError reports the providers whose shared input does not
// open their public commitment. The job aborts; nothing else is revealed.
type CommitmentMismatchError struct {
	Providers []string
}

func (e *CommitmentMismatchError) Error() string {
	return "jobs: input does not match its commitment: provider(s) " + strings.Join(e.Providers, ", ")
}

// InputCheckError reports a provider whose shares are not on one polynomial
// of degree t (malicious mode's consistency check of dealt inputs). Over
// point-to-point channels the committee cannot tell whether the provider
// dealt a bad share or a member relayed a wrong one, so it names the provider
// as the input concerned, not as the culprit; the job aborts.
type InputCheckError struct {
	Provider string
	Err      error
}

func (e *InputCheckError) Error() string {
	return fmt.Sprintf("jobs: inconsistent input shares of %s (the provider or a member deviated): %v", e.Provider, e.Err)
}

func (e *InputCheckError) Unwrap() error { return e.Err }

// authInputs turns the providers' shares (fields, then the salt) into the
// engine's vectors: in malicious mode after one batched consistency check of
// every dealt share and with their MACs (ss.AuthenticateDealt).
func authInputs(ctx context.Context, p *ss.Party, inputs []Input) ([]ss.Vec, error) {
	groups := make([]fr.Vector, len(inputs))
	for j, in := range inputs {
		groups[j] = append(append(fr.Vector(nil), in.Share.Fields...), in.Share.Salt)
	}
	v, err := p.AuthenticateDealt(ctx, groups)
	if err != nil {
		var ce *ss.CheckError
		if errors.As(err, &ce) && ce.Group >= 0 && ce.Group < len(inputs) {
			return nil, &InputCheckError{Provider: inputs[ce.Group].Provider, Err: err}
		}
		return nil, fmt.Errorf("jobs: input shares: %w", err)
	}
	return v, nil
}

// VerifyInputs recomputes every input's commitment on shares and checks it
// against the public one. What is opened is ρ·(Commit − C) for a fresh joint
// random ρ: zero when the input matches, a uniform field element otherwise —
// so the committee learns one bit per provider and not the commitment of what
// a mismatching provider actually sent. All inputs must have the same number
// of fields; they are hashed side by side (k+1 permutations in sequence for
// up to ss.CommitChainFields fields, ⌈log2 k⌉ batched tree levels and 2
// permutations beyond). In malicious mode the shares are first checked for
// consistency and authenticated, and the opening follows a MAC check.
func VerifyInputs(ctx context.Context, p *ss.Party, inputs []Input) error {
	auth, err := authInputs(ctx, p, inputs)
	if err != nil {
		return err
	}
	return verifyAuth(ctx, p, inputs, auth)
}

// verifyAuth is VerifyInputs on authenticated inputs (auth[j]: provider j's
// fields then salt).
func verifyAuth(ctx context.Context, p *ss.Party, inputs []Input, auth []ss.Vec) error {
	m := len(inputs)
	if m == 0 {
		return nil
	}
	k := len(inputs[0].Share.Fields)
	fields := make([]ss.Vec, k)
	for i := range fields {
		fields[i] = p.NewVec(m)
	}
	salt := p.NewVec(m)
	public := field.New(m)
	for j, in := range inputs {
		if len(in.Share.Fields) != k {
			return fmt.Errorf("jobs: input of %s has %d fields, others %d", in.Provider, len(in.Share.Fields), k)
		}
		for i := 0; i < k; i++ {
			fields[i].Set(j, auth[j], i)
		}
		salt.Set(j, auth[j], k)
		public[j].Neg(&in.Commitment)
	}
	d, err := p.CommitVec(ctx, fields, salt)
	if err != nil {
		return fmt.Errorf("jobs: verify inputs: %w", err)
	}
	d = p.AddConsts(d, public) // public value: subtracting it is exact
	rho, err := p.RandomVec(ctx, m)
	if err != nil {
		return fmt.Errorf("jobs: verify inputs: %w", err)
	}
	z, err := p.MulVec(ctx, rho, d)
	if err != nil {
		return fmt.Errorf("jobs: verify inputs: %w", err)
	}
	opened, err := p.OpenVec(ctx, "check:input-commitment", z)
	if err != nil {
		return fmt.Errorf("jobs: verify inputs: %w", err)
	}
	var bad []string
	for j := range opened {
		if !opened[j].IsZero() {
			bad = append(bad, inputs[j].Provider)
		}
	}
	if len(bad) > 0 {
		return &CommitmentMismatchError{Providers: bad}
	}
	return nil
}

// OutputShare is what a committee party sends the recipient of a private
// output: its shares of the values and of the salt of their commitment.
type OutputShare struct {
	Values fr.Vector
	Salt   fr.Element
}

const outputShareVersion = 1

// EncodeOutputShare serialises an output share for the recipient.
func EncodeOutputShare(o OutputShare) []byte {
	v := append(append(fr.Vector(nil), o.Values...), o.Salt)
	return field.AppendVector([]byte{outputShareVersion}, v)
}

// DecodeOutputShare parses an output share of at most maxValues values.
func DecodeOutputShare(b []byte, maxValues int) (OutputShare, error) {
	if len(b) < 1 || b[0] != outputShareVersion {
		return OutputShare{}, errors.New("jobs: output share: unknown version")
	}
	v, rest, err := field.DecodeVector(b[1:], maxValues+1)
	if err != nil {
		return OutputShare{}, fmt.Errorf("jobs: output share: %w", err)
	}
	if len(rest) != 0 || len(v) == 0 {
		return OutputShare{}, errors.New("jobs: output share: malformed")
	}
	return OutputShare{Values: v[:len(v)-1], Salt: v[len(v)-1]}, nil
}

// commitOutputs commits, inside the MPC, to m outputs of k fields each
// (fields[i][j] is field i of output j) under fresh joint random salts, and
// opens only the commitments (in malicious mode after a MAC check of the
// whole computation). It returns the commitments and this party's salt
// shares (for the outputs' recipients).
func commitOutputs(ctx context.Context, p *ss.Party, label string, fields []ss.Vec) (fr.Vector, fr.Vector, error) {
	m := fields[0].Len()
	salt, err := p.RandomVec(ctx, m)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: output salt: %w", err)
	}
	c, err := p.CommitVec(ctx, fields, salt)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: output commitment: %w", err)
	}
	opened, err := p.OpenVec(ctx, label, c)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: output commitment: %w", err)
	}
	return opened, salt.V, nil
}

// outputPrep is what commitOutputs prepares before the outputs exist: the
// salts and the commitment's S-box masks (ss.PrepareCommit), so that a job
// prepares them while it waits for something else and its last steps are
// only the commitment's openings.
type outputPrep struct {
	salt  ss.Vec
	masks *ss.CommitMasks
}

// prepareOutputs prepares the commitment of m outputs of k fields each
// (1 ≤ k ≤ ss.CommitChainFields).
func prepareOutputs(ctx context.Context, p *ss.Party, m, k int) (*outputPrep, error) {
	salt, err := p.RandomVec(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("jobs: output salt: %w", err)
	}
	masks, err := p.PrepareCommit(ctx, m, k)
	if err != nil {
		return nil, fmt.Errorf("jobs: output commitment: %w", err)
	}
	return &outputPrep{salt: salt, masks: masks}, nil
}

// commit is commitOutputs with the prepared salts and masks (used once).
func (o *outputPrep) commit(ctx context.Context, p *ss.Party, label string, fields []ss.Vec) (fr.Vector, fr.Vector, error) {
	c, err := p.CommitVecPrepared(ctx, fields, o.salt, o.masks)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: output commitment: %w", err)
	}
	opened, err := p.OpenVec(ctx, label, c)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: output commitment: %w", err)
	}
	return opened, o.salt.V, nil
}

// RunSSParty joins job jobID of a committee of n as party self over nw,
// sets up the engine (one round of pairwise seeds), runs fn and closes the
// connection — also on failure, so that peers waiting on this party learn at
// once that it left. An error caused by a peer wraps a *transport.PartyError
// naming it.
func RunSSParty(ctx context.Context, nw transport.Network, jobID string, self, n int, cfg ss.Config, fn func(ctx context.Context, p *ss.Party) error) error {
	conn, err := nw.Open(ctx, jobID, transport.PartyID(self), n)
	if err != nil {
		return fmt.Errorf("jobs: join %s: %w", jobID, err)
	}
	defer conn.Close()
	p, err := ss.NewParty(ctx, conn, cfg)
	if err != nil {
		return fmt.Errorf("jobs: %s: %w", jobID, err)
	}
	if err := fn(ctx, p); err != nil {
		// Tell the peers before leaving, whatever the reason (an error the
		// engine raised has sent its notice already): a peer still waiting
		// on this party reports an abort rather than naming it for leaving.
		p.Abort(err)
		return fmt.Errorf("jobs: %s: %w", jobID, err)
	}
	return nil
}
