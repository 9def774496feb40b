package jobspec

import (
	"encoding/json"
	"fmt"
	"strings"
)

// checkCoef bounds a decimal literal without floating point: at most
// MaxCoefBytes bytes and |c| < 10^MaxCoefExp10. The JSON decoder has already
// checked its syntax (a json.Number field only accepts a JSON number).
func checkCoef(n json.Number) error {
	s := string(n)
	if len(s) == 0 || len(s) > MaxCoefBytes {
		return fmt.Errorf("coefficient of %d bytes, want 1..%d", len(s), MaxCoefBytes)
	}
	e, zero, err := decimalExp10(s)
	if err != nil {
		return fmt.Errorf("coefficient %q: %w", s, err)
	}
	if !zero && e >= MaxCoefExp10 {
		return fmt.Errorf("coefficient %s: magnitude must be below 1e%d", s, MaxCoefExp10)
	}
	return nil
}

// decimalSign reports whether a decimal literal has a minus sign.
func decimalSign(s string) (neg bool, rest string) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		return true, rest
	}
	return false, s
}

// decimalExp10 returns the power of ten of a decimal literal's most
// significant digit (⌊log10 |c|⌋), or zero = true if the value is 0. Its
// exponent part is capped so that the arithmetic cannot overflow: the
// literal is at most MaxCoefBytes long.
func decimalExp10(s string) (exp int, zero bool, err error) {
	_, s = decimalSign(s)
	mant, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, false, fmt.Errorf("not a decimal number")
	}
	msd, found := 0, false
	for i := 0; i < len(intPart); i++ {
		if intPart[i] != '0' {
			msd, found = len(intPart)-1-i, true
			break
		}
	}
	if !found {
		for i := 0; i < len(frac); i++ {
			if frac[i] != '0' {
				msd, found = -(i + 1), true
				break
			}
		}
	}
	if !found {
		return 0, true, nil
	}
	e := 0
	if hasExp {
		neg := false
		if expPart != "" && (expPart[0] == '+' || expPart[0] == '-') {
			neg = expPart[0] == '-'
			expPart = expPart[1:]
		}
		if expPart == "" || !allDigits(expPart) {
			return 0, false, fmt.Errorf("not a decimal number")
		}
		for i := 0; i < len(expPart); i++ {
			e = min(e*10+int(expPart[i]-'0'), 1<<20)
		}
		if neg {
			e = -e
		}
	}
	return msd + e, false, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
