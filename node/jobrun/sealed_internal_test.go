package jobrun

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
)

// libp2pDecode is how runSS decodes a share message that came over libp2p.
func libp2pDecode(b []byte, fields int) error {
	ch, err := decodeChunks(b, kindInput, 1, jobspec.MaxFeatures)
	if err != nil {
		return err
	}
	if len(ch) != 1 {
		return errMalformed
	}
	s, err := jobs.DecodeInputShare(ch[0], fields)
	if err == nil && len(s.Fields) != fields {
		return errMalformed
	}
	return err
}

// sealedViaLibp2p decodes a sealed share message with jobrun's own
// decoders: its frame (two chunks), the input share as a libp2p input
// share, the blinding shares as a field vector of fields+1 elements.
func sealedViaLibp2p(b []byte, fields int) error {
	ch, err := decodeChunks(b, kindInput, 2, 2)
	if err != nil {
		return err
	}
	if err := libp2pDecode(encodeChunks(kindInput, ch[0]), fields); err != nil {
		return err
	}
	v, rest, err := field.DecodeVector(ch[1], fields+1)
	if err == nil && (len(rest) != 0 || len(v) != fields+1) {
		err = errMalformed
	}
	return err
}

// FuzzSealedDecoderAgrees: a share message decodes through
// sealedinput.DecodeShare (sealed shares: the member, the other members
// checking its claim, the ledger) exactly when jobrun's own decoders take
// it: its input share means the same as over libp2p, and the framing in
// sealedinput is jobrun's wire format (with the blinding shares as a
// second chunk).
func FuzzSealedDecoderAgrees(f *testing.F) {
	for _, fields := range []int{1, 3} {
		v := make([]fr.Element, fields)
		msgs, _, err := jobs.ShareInput(4, v, fr.Element{}, nil)
		if err != nil {
			f.Fatal(err)
		}
		_, sealed, err := sealedinput.Messages(msgs, fields, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(encodeChunks(kindInput, msgs[0]), uint8(fields))
		f.Add(encodeChunks(kindInput, msgs[0], msgs[1]), uint8(fields))
		f.Add(sealed[0], uint8(fields-1))
		f.Add(sealed[1], uint8(fields))
	}
	f.Fuzz(func(t *testing.T, b []byte, fields uint8) {
		n := int(fields%8) + 1
		_, _, errS := sealedinput.DecodeShare(b, n)
		errL := sealedViaLibp2p(b, n)
		if (errS == nil) != (errL == nil) {
			t.Fatalf("fields %d, %x: sealed decoder %v, jobrun's decoders %v", n, b, errS, errL)
		}
	})
}
