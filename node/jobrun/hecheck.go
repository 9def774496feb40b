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
const (
	kindHECandidate byte = 0x21 // member → recipient: key switches of the result
	kindHEVerdict   byte = 0x22 // recipient → every member: accept or reject
)

// Verdicts.
const (
	verdictAccept byte = 1
	verdictReject byte = 2
)

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

// decodeVerdict parses the recipient's verdict on the output commitment oc.
func decodeVerdict(b, oc []byte) (accept bool, reason string, err error) {
	ch, err := decodeChunks(b, kindHEVerdict, 3, 3)
	if err != nil {
		return false, "", err
	}
	if !bytes.Equal(ch[0], oc) {
		return false, "", errors.New("verdict on another output commitment")
	}
	if len(ch[1]) != 1 || (ch[1][0] != verdictAccept && ch[1][0] != verdictReject) || len(ch[2]) > maxVerdictReason {
		return false, "", fmt.Errorf("%w: verdict", errMalformed)
	}
	return ch[1][0] == verdictAccept, string(ch[2]), nil
}
