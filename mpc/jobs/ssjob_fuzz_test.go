package jobs

import (
	"bytes"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/mpc/field"
)

func FuzzDecodeInputShare(f *testing.F) {
	msgs, _, err := ShareInput(3, []fr.Element{fr.NewElement(7), fr.NewElement(8)}, fr.NewElement(9), newSeeded(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msgs[0], 2)
	f.Add([]byte{inputShareVersion, 0xff, 0xff, 0xff, 0xff}, 100)
	f.Add([]byte{inputShareVersion, 0, 0, 0, 0}, 1)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 0 || max > MaxInputFields {
			return
		}
		sh, err := DecodeInputShare(b, max)
		if err != nil {
			return
		}
		if len(sh.Fields) > max {
			t.Fatalf("%d fields accepted, limit %d", len(sh.Fields), max)
		}
		enc := field.AppendVector([]byte{inputShareVersion}, append(append(fr.Vector(nil), sh.Fields...), sh.Salt))
		if !bytes.Equal(enc, b) {
			t.Fatal("accepted input share does not re-encode to itself")
		}
	})
}

func FuzzDecodeOutputShare(f *testing.F) {
	f.Add(EncodeOutputShare(OutputShare{Values: fr.Vector{fr.NewElement(1)}, Salt: fr.NewElement(2)}), 1)
	f.Add([]byte{outputShareVersion, 0, 0, 0, 1}, 4)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		o, err := DecodeOutputShare(b, max)
		if err != nil {
			return
		}
		if len(o.Values) > max || !bytes.Equal(EncodeOutputShare(o), b) {
			t.Fatal("accepted output share is out of bounds or not canonical")
		}
	})
}
