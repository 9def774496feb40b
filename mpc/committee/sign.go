package committee

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/share"
	//lint:ignore SA1019 the deprecation concerns aggregating signatures under different keys (rogue-key attack); this package verifies single-key BLS signatures under a DKG group key, exactly as kyber's own sign/tbls does.
	"go.dedis.ch/kyber/v3/sign/bls"
	"go.dedis.ch/kyber/v3/sign/tbls"
)

// Bounds on what a job result message may contain, so that ResultMessage and
// the ledger never hash unbounded input.
const (
	MaxJobIDBytes         = 256
	MaxInputCommitments   = 4096
	MaxCommitmentBytes    = 128
	resultMessageDomain   = "cohort/committee/result/v1"
	maxSignedMessageBytes = 1 << 20
)

// ResultMessage is the canonical byte string a job's result signature covers:
// a domain tag, then the job ID, the number of input commitments, each input
// commitment and the output commitment, every variable-length field prefixed
// by its 4-byte big-endian length. Different tuples never encode to the same
// bytes, and the tag keeps the signature from being valid for any other
// purpose. Oversized fields are an error.
func ResultMessage(jobID string, inputCommitments [][]byte, outputCommitment []byte) ([]byte, error) {
	if len(jobID) == 0 || len(jobID) > MaxJobIDBytes {
		return nil, fmt.Errorf("result message: job ID of %d bytes outside [1, %d]", len(jobID), MaxJobIDBytes)
	}
	if len(inputCommitments) > MaxInputCommitments {
		return nil, fmt.Errorf("result message: %d input commitments exceed %d", len(inputCommitments), MaxInputCommitments)
	}
	for i, c := range inputCommitments {
		if len(c) == 0 || len(c) > MaxCommitmentBytes {
			return nil, fmt.Errorf("result message: input commitment %d has %d bytes, want [1, %d]", i, len(c), MaxCommitmentBytes)
		}
	}
	if len(outputCommitment) == 0 || len(outputCommitment) > MaxCommitmentBytes {
		return nil, fmt.Errorf("result message: output commitment has %d bytes, want [1, %d]", len(outputCommitment), MaxCommitmentBytes)
	}
	w := writer{}
	w.bytes([]byte(resultMessageDomain))
	w.bytes([]byte(jobID))
	w.u32(uint32(len(inputCommitments)))
	for _, c := range inputCommitments {
		w.bytes(c)
	}
	w.bytes(outputCommitment)
	return w.buf, nil
}

// InvalidPartialError names the committee member whose partial signature was
// rejected.
type InvalidPartialError struct {
	// Index is the signer's member index (as claimed by the partial or, when
	// the partial arrived over a Conn, the sender).
	Index int
	Err   error
}

func (e *InvalidPartialError) Error() string {
	return fmt.Sprintf("invalid partial signature from member %d: %v", e.Index, e.Err)
}

func (e *InvalidPartialError) Unwrap() error { return e.Err }

// SignPartial signs msg with the member's key share. The result is PartialSize
// bytes: the member index and x_i·H(msg).
func SignPartial(s *Share, msg []byte) ([]byte, error) {
	if s == nil || s.secret == nil || s.Key == nil {
		return nil, errors.New("sign partial: empty share")
	}
	if len(msg) > maxSignedMessageBytes {
		return nil, fmt.Errorf("sign partial: message of %d bytes exceeds %d", len(msg), maxSignedMessageBytes)
	}
	sig, err := tbls.Sign(pairingSuite(), s.priShare(), msg)
	if err != nil {
		return nil, fmt.Errorf("sign partial: %w", err)
	}
	return sig, nil
}

// PartialIndex returns the signer index a partial signature claims, after
// checking its length.
func PartialIndex(partial []byte) (int, error) {
	if len(partial) != PartialSize {
		return -1, fmt.Errorf("partial signature: %d bytes, want %d", len(partial), PartialSize)
	}
	return int(binary.BigEndian.Uint16(partial)), nil
}

// parsePartial decodes a partial signature against key: length, index range,
// canonical G1 point.
func parsePartial(key *CommitteeKey, partial []byte) (int, kyber.Point, error) {
	idx, err := PartialIndex(partial)
	if err != nil {
		return -1, nil, err
	}
	if idx >= key.N {
		return idx, nil, fmt.Errorf("signer index %d outside committee of %d", idx, key.N)
	}
	p, err := decodeG1(partial[2:])
	if err != nil {
		return idx, nil, err
	}
	return idx, p, nil
}

// VerifyPartial checks a partial signature on msg against the public key
// share of the member it names. A failure is an *InvalidPartialError naming
// that member when the index is readable.
func VerifyPartial(key *CommitteeKey, msg, partial []byte) (err error) {
	if key == nil || key.pub == nil {
		return errors.New("verify partial: empty committee key")
	}
	if len(msg) > maxSignedMessageBytes {
		return fmt.Errorf("verify partial: message of %d bytes exceeds %d", len(msg), maxSignedMessageBytes)
	}
	idx, _, err := parsePartial(key, partial)
	if err != nil {
		return &InvalidPartialError{Index: idx, Err: err}
	}
	defer func() {
		if r := recover(); r != nil {
			err = &InvalidPartialError{Index: idx, Err: fmt.Errorf("verifier panicked: %v", r)}
		}
	}()
	if err := bls.Verify(pairingSuite(), key.pub.Eval(idx).V, msg, partial[2:]); err != nil {
		return &InvalidPartialError{Index: idx, Err: err}
	}
	return nil
}

// Combine recovers the committee's signature on msg from at least key.T
// partial signatures by Lagrange interpolation in the exponent. Partials are
// taken in signer-index order; once T distinct signers are found the rest are
// ignored. The combined signature is verified against the group key (one
// pairing check instead of T); only if that fails are the used partials
// checked one by one, and the error then names every invalid signer. A
// malformed partial or a signer listed twice with different bytes is an
// error naming it.
func Combine(key *CommitteeKey, msg []byte, partials [][]byte) ([]byte, error) {
	if key == nil || key.pub == nil {
		return nil, errors.New("combine: empty committee key")
	}
	if len(msg) > maxSignedMessageBytes {
		return nil, fmt.Errorf("combine: message of %d bytes exceeds %d", len(msg), maxSignedMessageBytes)
	}
	if len(partials) > 4*MaxMembers {
		return nil, fmt.Errorf("combine: %d partials is more than any committee produces", len(partials))
	}
	type parsed struct {
		idx int
		raw []byte
		pt  kyber.Point
	}
	byIndex := make(map[int]parsed, len(partials))
	for _, p := range partials {
		idx, pt, err := parsePartial(key, p)
		if err != nil {
			return nil, fmt.Errorf("combine: %w", &InvalidPartialError{Index: idx, Err: err})
		}
		if prev, ok := byIndex[idx]; ok {
			if string(prev.raw) != string(p) {
				return nil, fmt.Errorf("combine: %w", &InvalidPartialError{Index: idx, Err: errors.New("two different partials for one signer")})
			}
			continue
		}
		byIndex[idx] = parsed{idx: idx, raw: p, pt: pt}
	}
	if len(byIndex) < key.T {
		return nil, fmt.Errorf("combine: %d distinct signers, need %d", len(byIndex), key.T)
	}
	used := make([]parsed, 0, len(byIndex))
	for _, p := range byIndex {
		used = append(used, p)
	}
	sort.Slice(used, func(i, j int) bool { return used[i].idx < used[j].idx })
	used = used[:key.T]

	shares := make([]*share.PubShare, len(used))
	for i, p := range used {
		shares[i] = &share.PubShare{I: p.idx, V: p.pt}
	}
	sig, err := interpolate(key, shares)
	if err != nil {
		return nil, fmt.Errorf("combine: %w", err)
	}
	if err := VerifySignature(key, msg, sig); err == nil {
		return sig, nil
	}
	// Find the culprits so that the caller can act on them.
	var bad []string
	var first error
	for _, p := range used {
		if err := VerifyPartial(key, msg, p.raw); err != nil {
			bad = append(bad, fmt.Sprint(p.idx))
			if first == nil {
				first = err
			}
		}
	}
	if first == nil {
		return nil, errors.New("combine: recovered signature does not verify although every partial does")
	}
	return nil, fmt.Errorf("combine: invalid partials from members [%s]: %w", strings.Join(bad, " "), first)
}

// interpolate recovers x·H(m) from T partials x_i·H(m) by Lagrange
// interpolation at 0.
func interpolate(key *CommitteeKey, shares []*share.PubShare) ([]byte, error) {
	p, err := share.RecoverCommit(pairingSuite().G1(), shares, key.T, key.N)
	if err != nil {
		return nil, err
	}
	return mustMarshal(p), nil
}

// VerifySignature checks a committee signature on msg. It is what the ledger
// calls before it accepts a result: deterministic, and safe on arbitrary
// bytes (exact length, canonical encoding, identity rejected, panics in the
// curve code turned into errors).
func VerifySignature(key *CommitteeKey, msg, sig []byte) (err error) {
	if key == nil || key.pub == nil || len(key.Commits) == 0 {
		return errors.New("verify signature: empty committee key")
	}
	if len(msg) > maxSignedMessageBytes {
		return fmt.Errorf("verify signature: message of %d bytes exceeds %d", len(msg), maxSignedMessageBytes)
	}
	if len(sig) != SignatureSize {
		return fmt.Errorf("verify signature: %d bytes, want %d", len(sig), SignatureSize)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("verify signature: verifier panicked: %v", r)
		}
	}()
	if _, err := decodeG1(sig); err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	if err := bls.Verify(pairingSuite(), key.Commits[0], msg, sig); err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	return nil
}
