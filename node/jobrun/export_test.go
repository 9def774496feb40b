package jobrun

import (
	"context"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/cohortnet/cohort/internal/sealedinput"
	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/transport"
)

// Internals that the external tests (package jobrun_test, which run whole
// jobs with the jobruntest kit) need.

// ParseElement is parseElement.
var ParseElement = parseElement

// TruncateMessages cuts the last byte off every message of a prepared input
// (a provider sending malformed shares or ciphertexts).
func TruncateMessages(in *PreparedInput) {
	for j := range in.messages {
		m := append([]byte(nil), in.messages[j]...)
		in.messages[j] = m[:len(m)-1]
	}
}

// ShiftSealedShare adds one to the first field share of a sealed share
// message (sealedinput format) of an input of fields elements and
// re-encodes it: well formed, off the provider's commitments.
func ShiftSealedShare(t testing.TB, msg []byte, fields int) []byte {
	t.Helper()
	s, g, err := sealedinput.DecodeShare(msg, fields)
	if err != nil {
		t.Fatal(err)
	}
	var one fr.Element
	one.SetOne()
	s.Fields[0].Add(&s.Fields[0], &one)
	v := append(append(fr.Vector(nil), s.Fields...), s.Salt)
	return sealedinput.Encode(field.AppendVector([]byte{1}, v), g)
}

// OutputRound is the transport round of the committee's outputs.
const OutputRound = transport.Round(kindOutput)

// ShiftOutputSalt adds 1 to the salt share of a member's auction output
// message (its last chunk): a well-formed share that disagrees with the
// others', whatever the share's value.
func ShiftOutputSalt(msg []byte) ([]byte, error) {
	return editAuctionShare(msg, func(enc []byte, o *jobs.OutputShare) []byte {
		var one fr.Element
		one.SetOne()
		o.Salt.Add(&o.Salt, &one)
		return jobs.EncodeOutputShare(*o)
	})
}

// UnreducedOutputSalt replaces the salt share of a member's auction output
// message by the field modulus, which the share decoder refuses as not
// reduced: a malformed share, whatever the share's value.
func UnreducedOutputSalt(msg []byte) ([]byte, error) {
	return editAuctionShare(msg, func(enc []byte, _ *jobs.OutputShare) []byte {
		// The codec writes an element as its four 64-bit limbs, little
		// endian: the 32 bytes of the modulus, least significant first.
		var be [field.Bytes]byte
		fr.Modulus().FillBytes(be[:])
		salt := enc[len(enc)-field.Bytes:]
		for i := range salt {
			salt[i] = be[field.Bytes-1-i]
		}
		return enc
	})
}

func editAuctionShare(msg []byte, edit func(enc []byte, o *jobs.OutputShare) []byte) ([]byte, error) {
	ch, err := decodeChunks(msg, kindOutput, 3, 3)
	if err != nil {
		return nil, err
	}
	o, err := jobs.DecodeOutputShare(ch[2], 2)
	if err != nil {
		return nil, err
	}
	ch[2] = edit(append([]byte(nil), ch[2]...), &o)
	return encodeChunks(kindOutput, ch...), nil
}

// IsAllocationRound reports whether r is the round of a provider slot's
// allocation shares (a member's message to a clearing bidder).
func IsAllocationRound(r transport.Round) bool {
	return r&0xff == transport.Round(kindAllocation) && r>>8 != 0
}

// ShiftAllocationCommitment adds 1 to the commitment in a member's
// allocation message: a well-formed commitment other than the committee's.
func ShiftAllocationCommitment(msg []byte) ([]byte, error) {
	ch, err := decodeChunks(msg, kindAllocation, 2, 2)
	if err != nil {
		return nil, err
	}
	c, err := parseElement(ch[0])
	if err != nil {
		return nil, err
	}
	var one fr.Element
	one.SetOne()
	c.Add(&c, &one)
	return encodeChunks(kindAllocation, elementBytes(c), ch[1]), nil
}

// ShiftOutputShare returns a tamper that adds 1 to the salt share in a
// member's output message of a job of type typ (auctions and tenders: the
// salt of its output share; clearing: its share of the level salt): a
// well-formed share off the polynomial of the others', whatever its value.
func ShiftOutputShare(typ Type) func([]byte) ([]byte, error) {
	var one fr.Element
	one.SetOne()
	return func(msg []byte) ([]byte, error) {
		ch, err := decodeChunks(msg, kindOutput, 3, 1<<16)
		if err != nil {
			return nil, err
		}
		switch typ {
		case Clearing:
			s, err := parseElement(ch[4])
			if err != nil {
				return nil, err
			}
			s.Add(&s, &one)
			ch[4] = elementBytes(s)
		default:
			o, err := jobs.DecodeOutputShare(ch[2], 2*jobs.MaxTenderQuotes)
			if err != nil {
				return nil, err
			}
			o.Salt.Add(&o.Salt, &one)
			ch[2] = jobs.EncodeOutputShare(o)
		}
		return encodeChunks(kindOutput, ch...), nil
	}
}

// ShiftAllocationSalt adds 1 to the salt share in a member's allocation
// message: a well-formed share off the polynomial of the others'.
func ShiftAllocationSalt(msg []byte) ([]byte, error) {
	ch, err := decodeChunks(msg, kindAllocation, 2, 2)
	if err != nil {
		return nil, err
	}
	o, err := jobs.DecodeOutputShare(ch[1], 2)
	if err != nil {
		return nil, err
	}
	var one fr.Element
	one.SetOne()
	o.Salt.Add(&o.Salt, &one)
	return encodeChunks(kindAllocation, ch[0], jobs.EncodeOutputShare(o)), nil
}

// WithSubstitutedShare makes committee member feed the engine its sealed
// share of slot plus one in its first field, after judging the share good
// (a member substituting the share it was dealt).
func WithSubstitutedShare(ctx context.Context, member string, slot int) context.Context {
	return context.WithValue(ctx, substituteHookKey{}, &substituteHook{Member: member, Slot: slot})
}

// WithFalseClaim makes committee member claim, in the input-status round,
// that its sealed shares of slots are bad although they are fine, sending
// an honest proof of its opening (which then shows them fine), or with
// bogus a made-up shared point (a proof that does not verify).
func WithFalseClaim(ctx context.Context, member string, slots []int, bogus bool) context.Context {
	return context.WithValue(ctx, claimHookKey{}, &claimHook{Member: member, Claim: slots, Bogus: bogus})
}
