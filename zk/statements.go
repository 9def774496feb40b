package zk

import (
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/consensys/gnark/frontend"
)

// Circuit names, as they appear in key files, proof files and vk IDs.
const (
	CircuitCompliance = "compliance"
	CircuitInput      = "input"
	CircuitCompletion = "completion"
)

// Statement is the public part of a proof: what a verifier checks.
type Statement interface {
	// CircuitName names the circuit the statement belongs to.
	CircuitName() string
	// Validate checks the public values against the circuit's bounds.
	Validate() error
	// publicAssignment returns the public-only circuit assignment.
	publicAssignment() (frontend.Circuit, error)
}

// Witness is a prover's input: private values and the public statement
// they satisfy.
type Witness interface {
	CircuitName() string
	// Statement derives the public statement (computing commitments).
	Statement() (Statement, error)
	// Check evaluates the relation natively, so that a prover learns why a
	// witness is rejected before it spends time proving. The circuit itself
	// enforces the same relation; Check is not relied upon for soundness.
	Check() error
	fullAssignment() (frontend.Circuit, error)
}

// isNegPowerOfTwo reports whether k = −2^bits.
func isNegPowerOfTwo(k *big.Int, bits int) bool {
	return new(big.Int).Neg(k).Cmp(new(big.Int).Lsh(big.NewInt(1), uint(bits))) == 0
}

// toField maps a signed integer to the field (negative v ↦ r − |v|).
func toField(v *big.Int) *big.Int {
	return new(big.Int).Mod(v, fr.Modulus())
}

func feltBig(f Felt) *big.Int {
	e := f.Fr()
	return e.BigInt(new(big.Int))
}

// --- compliance ---

// LinearConstraint is Σⱼ Coefficients[j]·xⱼ + Constant ≥ 0.
type LinearConstraint struct {
	Coefficients []Int64 `json:"coefficients"`
	Constant     Int     `json:"constant"`
}

// ComplianceStatement is the public statement of the compliance circuit: the
// committed fields satisfy every constraint. Each constraint lists exactly
// NumFields coefficients; missing constraint slots are all-zero. Binding
// names the record the proof is for (see ComplianceCircuit).
type ComplianceStatement struct {
	Commitment  Felt               `json:"commitment"`
	NumFields   int                `json:"num_fields"`
	Constraints []LinearConstraint `json:"constraints"`
	Binding     Felt               `json:"binding"`
}

// CircuitName implements Statement.
func (ComplianceStatement) CircuitName() string { return CircuitCompliance }

// Validate implements Statement.
func (s ComplianceStatement) Validate() error {
	return validatePolicy(s.NumFields, s.Constraints)
}

func validatePolicy(numFields int, cs []LinearConstraint) error {
	if numFields < 1 || numFields > MaxPolicyFields {
		return fmt.Errorf("compliance: num_fields %d outside [1, %d]", numFields, MaxPolicyFields)
	}
	if len(cs) > MaxPolicyConstraints {
		return fmt.Errorf("compliance: %d constraints, at most %d", len(cs), MaxPolicyConstraints)
	}
	for i, c := range cs {
		if len(c.Coefficients) != numFields {
			return fmt.Errorf("compliance: constraint %d has %d coefficients, want %d", i, len(c.Coefficients), numFields)
		}
		if k := c.Constant.Big(); k.BitLen() > ConstantBits-1 && !(k.Sign() < 0 && isNegPowerOfTwo(k, ConstantBits-1)) {
			return fmt.Errorf("compliance: constraint %d constant outside [-2^%d, 2^%d)", i, ConstantBits-1, ConstantBits-1)
		}
	}
	return nil
}

func (s ComplianceStatement) publicAssignment() (frontend.Circuit, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	a := &ComplianceCircuit{Commitment: feltBig(s.Commitment), NumFields: s.NumFields, Binding: feltBig(s.Binding)}
	fillPolicy(a, s.Constraints)
	return a, nil
}

func fillPolicy(a *ComplianceCircuit, cs []LinearConstraint) {
	for i := 0; i < MaxPolicyConstraints; i++ {
		a.Constants[i] = 0
		for j := 0; j < MaxPolicyFields; j++ {
			a.Coefficients[i][j] = 0
		}
		if i >= len(cs) {
			continue
		}
		a.Constants[i] = toField(cs[i].Constant.Big())
		for j, c := range cs[i].Coefficients {
			a.Coefficients[i][j] = toField(big.NewInt(int64(c)))
		}
	}
}

// ComplianceWitness is the prover input of the compliance circuit.
type ComplianceWitness struct {
	Fields      []Uint64           `json:"fields"`
	Salt        Felt               `json:"salt"`
	Constraints []LinearConstraint `json:"constraints"`
	Binding     Felt               `json:"binding"`
}

// CircuitName implements Witness.
func (ComplianceWitness) CircuitName() string { return CircuitCompliance }

func (w ComplianceWitness) fieldElements() []fr.Element {
	out := make([]fr.Element, len(w.Fields))
	for i, f := range w.Fields {
		out[i].SetUint64(uint64(f))
	}
	return out
}

// Statement implements Witness.
func (w ComplianceWitness) Statement() (Statement, error) {
	if err := validatePolicy(len(w.Fields), w.Constraints); err != nil {
		return nil, err
	}
	return ComplianceStatement{
		Commitment:  FeltOf(Commit(w.Salt.Fr(), w.fieldElements()...)),
		NumFields:   len(w.Fields),
		Constraints: w.Constraints,
		Binding:     w.Binding,
	}, nil
}

// Check implements Witness.
func (w ComplianceWitness) Check() error {
	if err := validatePolicy(len(w.Fields), w.Constraints); err != nil {
		return err
	}
	for i, c := range w.Constraints {
		v := c.Constant.Big()
		for j, a := range c.Coefficients {
			v.Add(v, new(big.Int).Mul(big.NewInt(int64(a)), new(big.Int).SetUint64(uint64(w.Fields[j]))))
		}
		if v.Sign() < 0 {
			return fmt.Errorf("compliance: constraint %d violated", i)
		}
	}
	return nil
}

func (w ComplianceWitness) fullAssignment() (frontend.Circuit, error) {
	if err := validatePolicy(len(w.Fields), w.Constraints); err != nil {
		return nil, err
	}
	a := &ComplianceCircuit{
		Commitment: feltBig(FeltOf(Commit(w.Salt.Fr(), w.fieldElements()...))),
		NumFields:  len(w.Fields),
		Salt:       feltBig(w.Salt),
		Binding:    feltBig(w.Binding),
	}
	fillPolicy(a, w.Constraints)
	for j := 0; j < MaxPolicyFields; j++ {
		a.Fields[j] = 0
		if j < len(w.Fields) {
			a.Fields[j] = uint64(w.Fields[j])
		}
	}
	return a, nil
}

// --- input validity ---

// InputStatement is the public statement of the input circuit: the value
// committed to in Commitment = Commit(value, salt) lies in [Lo, Hi].
type InputStatement struct {
	Commitment Felt   `json:"commitment"`
	Lo         Uint64 `json:"lo"`
	Hi         Uint64 `json:"hi"`
}

// CircuitName implements Statement.
func (InputStatement) CircuitName() string { return CircuitInput }

// Validate implements Statement. Lo > Hi is a valid but unsatisfiable
// statement; it is rejected here to give a clear error.
func (s InputStatement) Validate() error {
	if s.Lo > s.Hi {
		return fmt.Errorf("input: empty range [%d, %d]", s.Lo, s.Hi)
	}
	return nil
}

func (s InputStatement) publicAssignment() (frontend.Circuit, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &InputCircuit{Commitment: feltBig(s.Commitment), Lo: uint64(s.Lo), Hi: uint64(s.Hi)}, nil
}

// InputWitness is the prover input of the input circuit.
type InputWitness struct {
	Value Uint64 `json:"value"`
	Salt  Felt   `json:"salt"`
	Lo    Uint64 `json:"lo"`
	Hi    Uint64 `json:"hi"`
}

// CircuitName implements Witness.
func (InputWitness) CircuitName() string { return CircuitInput }

// InputCommitment is Commit(salt, value): the on-ledger commitment to one
// MPC input.
func InputCommitment(value uint64, salt fr.Element) fr.Element {
	var v fr.Element
	v.SetUint64(value)
	return Commit(salt, v)
}

// Statement implements Witness.
func (w InputWitness) Statement() (Statement, error) {
	s := InputStatement{Commitment: FeltOf(InputCommitment(uint64(w.Value), w.Salt.Fr())), Lo: w.Lo, Hi: w.Hi}
	return s, s.Validate()
}

// Check implements Witness.
func (w InputWitness) Check() error {
	if w.Value < w.Lo || w.Value > w.Hi {
		return fmt.Errorf("input: value outside [%d, %d]", w.Lo, w.Hi)
	}
	return nil
}

func (w InputWitness) fullAssignment() (frontend.Circuit, error) {
	return &InputCircuit{
		Commitment: feltBig(FeltOf(InputCommitment(uint64(w.Value), w.Salt.Fr()))),
		Lo:         uint64(w.Lo),
		Hi:         uint64(w.Hi),
		Value:      uint64(w.Value),
		Salt:       feltBig(w.Salt),
	}, nil
}

// --- task completion ---

// OrderCommitment is Commit(salt, taskID, orderQuantity).
func OrderCommitment(taskID fr.Element, orderQuantity uint64, salt fr.Element) fr.Element {
	var q fr.Element
	q.SetUint64(orderQuantity)
	return Commit(salt, taskID, q)
}

// DeliveryCommitment is Commit(salt, taskID, deliveredQuantity, qualityBps):
// the message the counterparty signs.
func DeliveryCommitment(taskID fr.Element, delivered, qualityBps uint64, salt fr.Element) fr.Element {
	var d, q fr.Element
	d.SetUint64(delivered)
	q.SetUint64(qualityBps)
	return Commit(salt, taskID, d, q)
}

// GenerateSigningKey makes an EdDSA key pair on BN254's twisted Edwards
// curve for a counterparty that signs deliveries.
func GenerateSigningKey(rand io.Reader) (*eddsa.PrivateKey, error) {
	if rand == nil {
		return nil, errors.New("zk: nil randomness source")
	}
	k, err := eddsa.GenerateKey(readFull{rand})
	if err != nil {
		return nil, fmt.Errorf("zk: generate eddsa key: %w", err)
	}
	return k, nil
}

type readFull struct{ r io.Reader }

func (f readFull) Read(p []byte) (int, error) { return io.ReadFull(f.r, p) }

// SignDelivery signs a delivery commitment (EdDSA, Poseidon2 challenge hash,
// as verified inside the completion circuit).
func SignDelivery(key *eddsa.PrivateKey, delivery fr.Element) ([]byte, error) {
	msg := delivery.Bytes()
	sig, err := key.Sign(msg[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil {
		return nil, fmt.Errorf("zk: sign delivery: %w", err)
	}
	return sig, nil
}

// VerifyDeliverySignature checks a delivery signature natively.
func VerifyDeliverySignature(publicKey []byte, delivery fr.Element, sig []byte) error {
	var pk eddsa.PublicKey
	if len(publicKey) != fr.Bytes {
		return fmt.Errorf("zk: public key is %d bytes, want %d", len(publicKey), fr.Bytes)
	}
	if _, err := pk.SetBytes(publicKey); err != nil {
		return fmt.Errorf("zk: public key: %w", err)
	}
	msg := delivery.Bytes()
	ok, err := pk.Verify(sig, msg[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil {
		return fmt.Errorf("zk: delivery signature: %w", err)
	}
	if !ok {
		return errors.New("zk: delivery signature invalid")
	}
	return nil
}

// CompletionStatement is the public statement of the completion circuit. See
// CompletionCircuit for the relation.
type CompletionStatement struct {
	TaskID             Felt   `json:"task_id"`
	OrderCommitment    Felt   `json:"order_commitment"`
	DeliveryCommitment Felt   `json:"delivery_commitment"`
	ThresholdBps       Uint64 `json:"threshold_bps"`
	// CounterpartyKey is the counterparty's 32-byte compressed EdDSA public key.
	CounterpartyKey Bytes `json:"counterparty_key"`
}

// CircuitName implements Statement.
func (CompletionStatement) CircuitName() string { return CircuitCompletion }

// Validate implements Statement.
func (s CompletionStatement) Validate() error {
	_, err := s.key()
	if err != nil {
		return err
	}
	if s.ThresholdBps > BasisPoints {
		return fmt.Errorf("completion: threshold %d bps above %d", s.ThresholdBps, BasisPoints)
	}
	return nil
}

func (s CompletionStatement) key() (eddsa.PublicKey, error) {
	var pk eddsa.PublicKey
	if len(s.CounterpartyKey) != fr.Bytes {
		return pk, fmt.Errorf("completion: counterparty key is %d bytes, want %d", len(s.CounterpartyKey), fr.Bytes)
	}
	if _, err := pk.SetBytes(s.CounterpartyKey); err != nil {
		return pk, fmt.Errorf("completion: counterparty key: %w", err)
	}
	return pk, nil
}

func (s CompletionStatement) publicAssignment() (frontend.Circuit, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	pk, _ := s.key()
	a := &CompletionCircuit{
		TaskID:             feltBig(s.TaskID),
		OrderCommitment:    feltBig(s.OrderCommitment),
		DeliveryCommitment: feltBig(s.DeliveryCommitment),
		ThresholdBps:       uint64(s.ThresholdBps),
	}
	a.CounterpartyKey.A.X = pk.A.X.BigInt(new(big.Int))
	a.CounterpartyKey.A.Y = pk.A.Y.BigInt(new(big.Int))
	return a, nil
}

// CompletionWitness is the prover input of the completion circuit.
type CompletionWitness struct {
	TaskID            Felt   `json:"task_id"`
	OrderQuantity     Uint64 `json:"order_quantity"`
	OrderSalt         Felt   `json:"order_salt"`
	DeliveredQuantity Uint64 `json:"delivered_quantity"`
	QualityBps        Uint64 `json:"quality_bps"`
	DeliverySalt      Felt   `json:"delivery_salt"`
	ThresholdBps      Uint64 `json:"threshold_bps"`
	CounterpartyKey   Bytes  `json:"counterparty_key"`
	// Signature is the counterparty's 64-byte EdDSA signature over the
	// delivery commitment (SignDelivery).
	Signature Bytes `json:"signature"`
}

// CircuitName implements Witness.
func (CompletionWitness) CircuitName() string { return CircuitCompletion }

func (w CompletionWitness) commitments() (order, delivery fr.Element) {
	return OrderCommitment(w.TaskID.Fr(), uint64(w.OrderQuantity), w.OrderSalt.Fr()),
		DeliveryCommitment(w.TaskID.Fr(), uint64(w.DeliveredQuantity), uint64(w.QualityBps), w.DeliverySalt.Fr())
}

// Statement implements Witness.
func (w CompletionWitness) Statement() (Statement, error) {
	order, delivery := w.commitments()
	s := CompletionStatement{
		TaskID:             w.TaskID,
		OrderCommitment:    FeltOf(order),
		DeliveryCommitment: FeltOf(delivery),
		ThresholdBps:       w.ThresholdBps,
		CounterpartyKey:    w.CounterpartyKey,
	}
	return s, s.Validate()
}

// Check implements Witness.
func (w CompletionWitness) Check() error {
	st, err := w.Statement()
	if err != nil {
		return err
	}
	if w.OrderQuantity == 0 {
		return errors.New("completion: order quantity is zero")
	}
	if w.QualityBps > BasisPoints {
		return fmt.Errorf("completion: quality %d bps above %d", w.QualityBps, BasisPoints)
	}
	_, delivery := w.commitments()
	if err := VerifyDeliverySignature(w.CounterpartyKey, delivery, w.Signature); err != nil {
		return fmt.Errorf("completion: %w", err)
	}
	lhs := new(big.Int).Mul(new(big.Int).SetUint64(uint64(w.DeliveredQuantity)), big.NewInt(int64(w.QualityBps)))
	rhs := new(big.Int).Mul(new(big.Int).SetUint64(uint64(st.(CompletionStatement).ThresholdBps)), new(big.Int).SetUint64(uint64(w.OrderQuantity)))
	if lhs.Cmp(rhs) < 0 {
		return errors.New("completion: delivery below the completion threshold")
	}
	return nil
}

func (w CompletionWitness) fullAssignment() (frontend.Circuit, error) {
	st, err := w.Statement()
	if err != nil {
		return nil, err
	}
	pub, err := st.publicAssignment()
	if err != nil {
		return nil, err
	}
	a := pub.(*CompletionCircuit)
	var sig eddsa.Signature
	if _, err := sig.SetBytes(w.Signature); err != nil {
		return nil, fmt.Errorf("completion: signature: %w", err)
	}
	a.OrderQuantity = uint64(w.OrderQuantity)
	a.OrderSalt = feltBig(w.OrderSalt)
	a.DeliveredQuantity = uint64(w.DeliveredQuantity)
	a.QualityBps = uint64(w.QualityBps)
	a.DeliverySalt = feltBig(w.DeliverySalt)
	a.Signature.R.X = sig.R.X.BigInt(new(big.Int))
	a.Signature.R.Y = sig.R.Y.BigInt(new(big.Int))
	a.Signature.S = new(big.Int).SetBytes(sig.S[:])
	return a, nil
}
