package jobrun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

// An HE result is checked by the recipient before the committee signs it:
// every online member sends the recipient its key-switched result (every
// t-subset's key switch, kindHECandidate), the recipient decrypts and
// compares them (he.Recipient.DecryptFloatsChecked) and answers every member
// with a verdict (kindHEVerdict). The committee signs the output commitment
// only on an accepting verdict, then sends the signature (kindOutput: output
// commitment, signature). A rejected result is never signed: the members
// abort the job (bad-output) and nothing reaches the ledger but the abort.
//
// Re-forms: a member that joined the key-switching family and then dropped
// (after sending its shares, so the others finished with it in the family,
// or after reaching only some of them) never sends its candidate. Once the
// other members answered (or heCandidateGrace passed), the recipient asks
// the members it heard from to key-switch again without the silent ones: a
// re-form verdict listing every member it leaves out. A member that could
// not finish the epoch (the others finished an attempt it could not) sends
// a standby instead of a candidate, so that it is counted as present. Each
// epoch e uses its own rounds (epochRound) and he.RunConfig.Epoch e. See
// the package doc, "HE re-forms", for the bound and the privacy cost.
const (
	kindHECandidate byte = 0x21 // member → recipient: key switches of the result (or kindHEStandby)
	kindHEVerdict   byte = 0x22 // recipient → every member: accept, reject or re-form
	kindHEStandby   byte = 0x23 // member → recipient, on the candidate's round: present, no result this epoch
)

// Verdicts.
const (
	verdictAccept byte = 1
	verdictReject byte = 2
	verdictReform byte = 3
)

// epochRound is the transport round of an HE message kind in re-form epoch
// e (epoch 0: kindRound(kind), as before re-forms existed).
func epochRound(kind byte, e int) transport.Round {
	return kindRound(kind) | transport.Round(e)<<8
}

// maxReforms is the most re-forms a job allows: every re-form leaves out at
// least one more member and keeps more than t, so a committee of n has at
// most n−t−1.
func maxReforms(n, t int) int {
	if n-t-1 < 0 {
		return 0
	}
	return n - t - 1
}

// maxVerdictReason bounds the reason of a rejecting verdict.
const maxVerdictReason = 512

// encodeHECandidate is a member's key-switched result:
//
//	output commitment | family: u32 subsets, u32 t, u32 member × t per subset |
//	evaluated ciphertext IDs (32 bytes each) | one chunk per subset and output
func encodeHECandidate(oc []byte, res *he.Result) []byte {
	switches := res.KeySwitches()
	fam := binary.BigEndian.AppendUint32(nil, uint32(len(switches)))
	fam = binary.BigEndian.AppendUint32(fam, uint32(len(res.Subset)))
	for _, ks := range switches {
		for _, p := range ks.Subset {
			fam = binary.BigEndian.AppendUint32(fam, uint32(p))
		}
	}
	var evals []byte
	for _, id := range res.EvalIDs {
		evals = append(evals, id[:]...)
	}
	chunks := [][]byte{oc, fam, evals}
	for _, ks := range switches {
		chunks = append(chunks, ks.Outputs...)
	}
	return encodeChunks(kindHECandidate, chunks...)
}

// decodeHECandidate parses a member's candidate from untrusted bytes and
// checks it against its output commitment.
func decodeHECandidate(spec *Spec, preset *he.Preset, b []byte) ([]byte, *he.Result, error) {
	n := len(spec.Committee)
	ch, err := decodeChunks(b, kindHECandidate, 4, 3+n*maxHEOutputs)
	if err != nil {
		return nil, nil, err
	}
	oc, fam, evals := ch[0], ch[1], ch[2]
	if len(fam) < 8 {
		return nil, nil, fmt.Errorf("%w: short family", errMalformed)
	}
	count, t := binary.BigEndian.Uint32(fam), binary.BigEndian.Uint32(fam[4:])
	if count < 1 || count > uint32(n) || int(t) != spec.Threshold {
		return nil, nil, fmt.Errorf("%w: %d subsets of %d members, committee of %d with threshold %d", errMalformed, count, t, n, spec.Threshold)
	}
	if uint64(len(fam)) != 8+4*uint64(count)*uint64(t) {
		return nil, nil, fmt.Errorf("%w: family of %d bytes", errMalformed, len(fam))
	}
	nOut := len(evals) / 32
	if len(evals)%32 != 0 || nOut < 1 || nOut > maxHEOutputs || len(ch) != 3+int(count)*nOut {
		return nil, nil, fmt.Errorf("%w: %d outputs in %d chunks", errMalformed, nOut, len(ch))
	}
	evalIDs := make([]he.CiphertextID, nOut)
	for i := range evalIDs {
		copy(evalIDs[i][:], evals[32*i:])
	}
	scheme := heScheme(spec)
	switches := make([]he.KeySwitched, count)
	off := 8
	for s := range switches {
		for i := 0; i < int(t); i++ {
			p := binary.BigEndian.Uint32(fam[off:])
			off += 4
			if p >= uint32(n) {
				return nil, nil, fmt.Errorf("%w: member %d in a key-switching subset", errMalformed, p)
			}
			switches[s].Subset = append(switches[s].Subset, transport.PartyID(p))
		}
		for i := 0; i < nOut; i++ {
			o := ch[3+s*nOut+i]
			_, id, err := preset.UnmarshalCiphertext(scheme, o)
			if err != nil {
				return nil, nil, err
			}
			switches[s].Outputs = append(switches[s].Outputs, o)
			switches[s].OutputIDs = append(switches[s].OutputIDs, id)
		}
	}
	res := he.NewResult(evalIDs, switches)
	if !bytes.Equal(HEOutputCommitment(spec.ID, res), oc) {
		return nil, nil, errors.New("ciphertexts do not match the output commitment")
	}
	return oc, res, nil
}

func heScheme(spec *Spec) he.Scheme {
	if spec.Type == Aggregate {
		return he.BGV
	}
	return he.CKKS
}

// encodeStandby is a member's word that it is present but has no result in
// this epoch.
func encodeStandby() []byte { return encodeChunks(kindHEStandby) }

// isStandby tells a standby from a candidate (anything else on the
// candidate's round is decoded as a candidate).
func isStandby(b []byte) bool {
	_, err := decodeChunks(b, kindHEStandby, 0, 0)
	return err == nil
}

// encodeReform asks the members to key-switch again in the next epoch
// without the members in exclude (sorted; every member left out so far).
func encodeReform(exclude []transport.PartyID, reason string) []byte {
	if len(reason) > maxVerdictReason {
		reason = reason[:maxVerdictReason]
	}
	var ex []byte
	for _, p := range exclude {
		ex = binary.BigEndian.AppendUint32(ex, uint32(p))
	}
	return encodeChunks(kindHEVerdict, nil, []byte{verdictReform}, []byte(reason), ex)
}

func encodeVerdict(oc []byte, accept bool, reason string) []byte {
	status := verdictAccept
	if !accept {
		status = verdictReject
	}
	if len(reason) > maxVerdictReason {
		reason = reason[:maxVerdictReason]
	}
	return encodeChunks(kindHEVerdict, oc, []byte{status}, []byte(reason))
}

// verdict is the recipient's answer to one epoch's candidates.
type verdict struct {
	status byte
	reason string
	// exclude: re-form only, the members left out of the next epoch
	// (strictly increasing, each < n).
	exclude []transport.PartyID
}

// decodeVerdict parses the recipient's verdict of a committee of n. An
// accepting verdict must be on the output commitment oc (nil: this member
// has none, and cannot accept); a rejection ends the job whatever it names,
// and a re-form names no commitment.
func decodeVerdict(b, oc []byte, n int) (verdict, error) {
	ch, err := decodeChunks(b, kindHEVerdict, 3, 4)
	if err != nil {
		return verdict{}, err
	}
	if len(ch[1]) != 1 || len(ch[2]) > maxVerdictReason {
		return verdict{}, fmt.Errorf("%w: verdict", errMalformed)
	}
	v := verdict{status: ch[1][0], reason: string(ch[2])}
	switch {
	case v.status == verdictAccept && len(ch) == 3:
		if oc == nil || !bytes.Equal(ch[0], oc) {
			return verdict{}, errors.New("verdict on another output commitment")
		}
	case v.status == verdictReject && len(ch) == 3:
	case v.status == verdictReform && len(ch) == 4 && len(ch[0]) == 0:
		ex := ch[3]
		if len(ex)%4 != 0 || len(ex)/4 > n {
			return verdict{}, fmt.Errorf("%w: re-form of %d bytes", errMalformed, len(ex))
		}
		for i := 0; i < len(ex); i += 4 {
			p := binary.BigEndian.Uint32(ex[i:])
			if p >= uint32(n) || (i > 0 && p <= uint32(v.exclude[len(v.exclude)-1])) {
				return verdict{}, fmt.Errorf("%w: re-form excludes member %d", errMalformed, p)
			}
			v.exclude = append(v.exclude, transport.PartyID(p))
		}
	default:
		return verdict{}, fmt.Errorf("%w: verdict", errMalformed)
	}
	return v, nil
}
