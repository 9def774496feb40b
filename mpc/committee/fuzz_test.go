package committee

import (
	"bytes"
	"sync"
	"testing"

	"go.dedis.ch/kyber/v3/share"
)

// dealtCommittee is a 4-member, threshold-3 committee whose shares a trusted
// dealer derived from a fixed seed, so that fuzz seeds can hold signatures
// that verify. (Production keys only come from RunDKG.)
var dealtCommittee = sync.OnceValue(func() []*Share {
	const n, t = 4, 3
	g2 := g2Suite()
	stream := g2.XOF([]byte("cohort committee fuzz seed"))
	poly := share.NewPriPoly(g2, t, nil, stream)
	commits := poly.Commit(g2.Point().Base())
	_, coeffs := commits.Info()
	key, err := newCommitteeKey(t, n, [32]byte{1}, coeffs)
	if err != nil {
		panic(err)
	}
	shares := make([]*Share, n)
	for i, s := range poly.Shares(n) {
		shares[i] = &Share{Index: s.I, Key: key, secret: s.V}
	}
	return shares
})

func FuzzVerifySignature(f *testing.F) {
	shares := dealtCommittee()
	key := shares[0].Key
	msg := []byte("fuzz message")
	sig := signWith(f, shares[:3], msg)
	f.Add(msg, sig)
	f.Add(msg, make([]byte, SignatureSize))
	f.Add([]byte{}, bytes.Repeat([]byte{0xff}, SignatureSize))
	f.Add(msg, sig[:SignatureSize-1])
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		err := VerifySignature(key, msg, sig)
		if err2 := VerifySignature(key, msg, sig); (err == nil) != (err2 == nil) {
			t.Fatal("VerifySignature is not deterministic")
		}
		if err != nil {
			return
		}
		// BLS signatures are unique: an accepted one must be the one the
		// committee would produce.
		if want := signWith(t, shares[1:], msg); !bytes.Equal(sig, want) {
			t.Fatalf("accepted %x, the committee signs %x", sig, want)
		}
	})
}

func FuzzVerifyPartial(f *testing.F) {
	shares := dealtCommittee()
	key := shares[0].Key
	msg := []byte("fuzz message")
	p, err := SignPartial(shares[2], msg)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg, p)
	f.Add(msg, p[:10])
	f.Fuzz(func(t *testing.T, msg, partial []byte) {
		if VerifyPartial(key, msg, partial) != nil {
			return
		}
		idx, _ := PartialIndex(partial)
		want, err := SignPartial(shares[idx], msg)
		if err != nil || !bytes.Equal(want, partial) {
			t.Fatalf("accepted a partial member %d would not produce", idx)
		}
	})
}

func FuzzParseCommitteeKey(f *testing.F) {
	kb, _ := dealtCommittee()[0].Key.MarshalBinary()
	f.Add(kb)
	f.Add(kb[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseCommitteeKey(b)
		if err != nil {
			return
		}
		again, _ := k.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatal("accepted a non-canonical committee key")
		}
	})
}

func FuzzParseShare(f *testing.F) {
	sb, _ := dealtCommittee()[1].MarshalBinary()
	f.Add(sb)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseShare(b)
		if err != nil {
			return
		}
		again, _ := s.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatal("accepted a non-canonical share")
		}
	})
}

// FuzzDKGMessages feeds arbitrary bytes to every DKG message decoder.
func FuzzDKGMessages(f *testing.F) {
	f.Add(byte(0), []byte{0, 0, 0, 0})
	f.Add(byte(5), []byte{0, 0, 0, 1, 0, 2, 0, 0, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		switch kind % 6 {
		case 0:
			d, err := decodeDeal(b)
			if err == nil && !bytes.Equal(encodeDeal(d), b) {
				t.Fatal("deal does not re-encode")
			}
		case 1:
			rs, err := decodeResponses(b, 4)
			if err == nil && !bytes.Equal(encodeResponses(rs), b) {
				t.Fatal("responses do not re-encode")
			}
		case 2:
			js, err := decodeJustifications(b, 4)
			if err == nil && !bytes.Equal(encodeJustifications(js), b) {
				t.Fatal("justifications do not re-encode")
			}
		case 3:
			sc, err := decodeSecretCommits(b, 3)
			if err == nil && !bytes.Equal(encodeSecretCommits(sc), b) {
				t.Fatal("commitments do not re-encode")
			}
		case 4:
			cs, err := decodeComplaints(b, 4)
			if err == nil && !bytes.Equal(encodeComplaints(cs), b) {
				t.Fatal("complaints do not re-encode")
			}
		case 5:
			var f faults
			decodeAbort(b, 1, 4, 0, &f)
		}
	})
}
