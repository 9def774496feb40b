package jobrun

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/internal/sealedinput"
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

// FuzzSealedDecoderAgrees: a share message decodes through
// sealedinput.DecodeShare (sealed shares: the member, the other members
// checking its claim, the ledger) exactly when it decodes as a libp2p
// share: a provider's message means the same on both paths, and the
// framing in sealedinput is jobrun's wire format.
func FuzzSealedDecoderAgrees(f *testing.F) {
	for _, fields := range []int{1, 3} {
		v := make([]fr.Element, fields)
		msgs, _, err := jobs.ShareInput(4, v, fr.Element{}, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(encodeChunks(kindInput, msgs[0]), uint8(fields))
		f.Add(encodeChunks(kindInput, msgs[0], msgs[1]), uint8(fields))
		f.Add(sealedinput.Encode(msgs[0]), uint8(fields+1))
	}
	f.Fuzz(func(t *testing.T, b []byte, fields uint8) {
		n := int(fields%8) + 1
		_, errS := sealedinput.DecodeShare(b, n)
		errL := libp2pDecode(b, n)
		if (errS == nil) != (errL == nil) {
			t.Fatalf("fields %d, %x: sealed decoder %v, libp2p decoder %v", n, b, errS, errL)
		}
	})
}
