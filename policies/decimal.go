package policies

import (
	"fmt"
	"math/big"
	"strings"
)

// maxDecimalDigits bounds decimal literals so that a hostile file cannot make
// the parser build huge rationals.
const maxDecimalDigits = 40

// parseDecimal parses an exact non-negative decimal literal: digits with an
// optional fraction ("5", "0.05", "1000000.00"). No sign, exponent, hex,
// underscores or floating point: the value is an exact rational.
func parseDecimal(s string) (*big.Rat, error) {
	if s == "" {
		return nil, fmt.Errorf("empty number")
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return nil, fmt.Errorf("%q is not a decimal number (write e.g. 0.05 or 12.50)", clip(s))
	}
	if len(intPart)+len(frac) > maxDecimalDigits {
		return nil, fmt.Errorf("number %q has more than %d digits", clip(s), maxDecimalDigits)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return nil, fmt.Errorf("%q is not a decimal number (digits and one '.' only)", clip(s))
			}
		}
	}
	num, _ := new(big.Int).SetString(intPart+frac, 10)
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	return new(big.Rat).SetFrac(num, den), nil
}

// parseSignedDecimal is parseDecimal with an optional leading '-'.
func parseSignedDecimal(s string) (*big.Rat, error) {
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		v, err := parseDecimal(rest)
		if err != nil {
			return nil, err
		}
		return v.Neg(v), nil
	}
	return parseDecimal(s)
}

// formatDecimal writes a rational whose denominator divides a power of ten
// (every value parsed by parseDecimal, times integers) as its shortest exact
// decimal: "0.05", "12.5", "7". Other rationals are written as "p/q".
func formatDecimal(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	den := new(big.Int).Set(r.Denom())
	digits := 0
	ten, two, five := big.NewInt(10), big.NewInt(2), big.NewInt(5)
	var m big.Int
	for _, p := range []*big.Int{two, five} {
		for {
			m.Mod(den, p)
			if m.Sign() != 0 {
				break
			}
			den.Div(den, p)
		}
	}
	if den.Cmp(big.NewInt(1)) != 0 {
		return r.String()
	}
	// The smallest n with 10^n divisible by the denominator.
	pow := big.NewInt(1)
	for {
		m.Mod(pow, r.Denom())
		if m.Sign() == 0 {
			break
		}
		pow.Mul(pow, ten)
		digits++
	}
	return r.FloatString(digits)
}

// clip shortens user text quoted back in error messages.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
