package committee

import (
	"math/big"
	"testing"
)

// fp2 is a + b·i over the BN256 base field, i² = −1 (kyber's representation).
type fp2 struct{ a, b *big.Int } // a real, b imaginary

func (x fp2) mul(y fp2) fp2 {
	p := fieldModulus
	re := new(big.Int).Sub(new(big.Int).Mul(x.a, y.a), new(big.Int).Mul(x.b, y.b))
	im := new(big.Int).Add(new(big.Int).Mul(x.a, y.b), new(big.Int).Mul(x.b, y.a))
	return fp2{re.Mod(re, p), im.Mod(im, p)}
}

func (x fp2) sub(y fp2) fp2 {
	p := fieldModulus
	re := new(big.Int).Sub(x.a, y.a)
	im := new(big.Int).Sub(x.b, y.b)
	return fp2{re.Mod(re, p), im.Mod(im, p)}
}

func (x fp2) add(y fp2) fp2 {
	p := fieldModulus
	re := new(big.Int).Add(x.a, y.a)
	im := new(big.Int).Add(x.b, y.b)
	return fp2{re.Mod(re, p), im.Mod(im, p)}
}

func (x fp2) pow(e *big.Int) fp2 {
	r := fp2{big.NewInt(1), big.NewInt(0)}
	for i := e.BitLen() - 1; i >= 0; i-- {
		r = r.mul(r)
		if e.Bit(i) == 1 {
			r = r.mul(x)
		}
	}
	return r
}

func (x fp2) equal(y fp2) bool { return x.a.Cmp(y.a) == 0 && x.b.Cmp(y.b) == 0 }

// sqrt returns a square root of x when one exists (p ≡ 3 mod 4; Adj and
// Rodríguez-Henríquez, "Square root computation over even extension fields",
// Algorithm 9), checked by squaring.
func (x fp2) sqrt() (fp2, bool) {
	p := fieldModulus
	one := fp2{big.NewInt(1), big.NewInt(0)}
	e := new(big.Int).Rsh(new(big.Int).Sub(p, big.NewInt(3)), 2)
	a1 := x.pow(e)
	alpha := a1.mul(a1).mul(x)
	x0 := a1.mul(x)
	var r fp2
	if alpha.equal(fp2{new(big.Int).Sub(p, big.NewInt(1)), big.NewInt(0)}) {
		r = fp2{new(big.Int).Neg(x0.b), x0.a}.add(fp2{big.NewInt(0), big.NewInt(0)}) // i·x0
	} else {
		b := one.add(alpha).pow(new(big.Int).Rsh(new(big.Int).Sub(p, big.NewInt(1)), 1))
		r = b.mul(x0)
	}
	return r, r.mul(r).equal(x)
}

// encodeTwist lays out (x, y) as kyber marshals G2 points: x.imag, x.real,
// y.imag, y.real, 32 bytes each.
func encodeTwist(x, y fp2) []byte {
	out := make([]byte, 0, G2Size)
	for _, c := range []*big.Int{x.b, x.a, y.b, y.a} {
		out = append(out, c.FillBytes(make([]byte, 32))...)
	}
	return out
}

func decodeTwist(b []byte) (x, y fp2) {
	c := func(i int) *big.Int { return new(big.Int).SetBytes(b[32*i : 32*i+32]) }
	return fp2{c(1), c(0)}, fp2{c(3), c(2)}
}

// TestG2DecoderRejectsPointsOutsideSubgroup builds a point on the G2 twist
// that is not in the order-r subgroup (the twist has a large cofactor) and
// checks that kyber's own decoder accepts it while ours does not.
func TestG2DecoderRejectsPointsOutsideSubgroup(t *testing.T) {
	g2 := pairingSuite().G2()
	gx, gy := decodeTwist(mustMarshal(g2.Point().Base()))
	twistB := gy.mul(gy).sub(gx.mul(gx).mul(gx)) // b' = y² − x³ from the generator

	var bad []byte
	for k := int64(1); k < 200 && bad == nil; k++ {
		x := fp2{big.NewInt(k), big.NewInt(1)}
		if y, ok := x.mul(x).mul(x).add(twistB).sqrt(); ok {
			bad = encodeTwist(x, y)
		}
	}
	if bad == nil {
		t.Fatal("found no twist point")
	}
	raw := g2.Point()
	if err := raw.UnmarshalBinary(bad); err != nil {
		t.Fatalf("kyber rejects the twist point itself (%v); the test built a wrong point", err)
	}
	if inPrimeOrderSubgroup(g2, raw) {
		t.Fatal("the constructed point happens to lie in the subgroup")
	}
	if _, err := decodeG2(bad); err == nil {
		t.Fatal("decodeG2 accepted a point outside the prime-order subgroup")
	}
	if _, err := ParseLongTermPublicKey(bad); err == nil {
		t.Fatal("accepted a long-term public key outside the subgroup")
	}
	// A committee key whose group key lies outside the subgroup.
	kb, _ := sharedCommittee().shares[0].Key.MarshalBinary()
	kb = append([]byte(nil), kb...)
	copy(kb[5+32:], bad)
	if _, err := ParseCommitteeKey(kb); err == nil {
		t.Fatal("accepted a committee key with a commitment outside the subgroup")
	}
	// And the real generator multiples pass.
	if _, err := decodeG2(mustMarshal(g2.Point().Pick(pairingSuite().RandomStream()))); err != nil {
		t.Fatal(err)
	}
}
