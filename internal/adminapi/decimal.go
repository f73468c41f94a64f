// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"errors"
	"fmt"
	"math"
)

// nanoCentsPerCent is the resolution cost amounts are kept at: 1e-9 cent.
// Prices per token are fractions of a cent (a batch cache read of a small
// model is a few millionths of a cent), so micro-cents would not be exact.
const nanoCentsPerCent = 1_000_000_000

// errDecimal reports an amount that is not a plain decimal number.
var errDecimal = errors.New("not a decimal amount")

// NanoCents converts an amount in cents, written as a plain decimal
// ("1046.123450", "0.1", "1500"), to an exact integer number of nano-cents.
// It never goes through a float. Digits past the ninth decimal are rounded
// half up. Exponents, signs other than a leading minus, NaN, empty strings
// and values over about 92 million dollars are errors.
func (d Decimal) NanoCents() (int64, error) {
	s := string(d)
	if s == "" {
		return 0, fmt.Errorf("%w: empty", errDecimal)
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	var whole, frac uint64
	digits, fracDigits := 0, 0
	roundUp := false
	seenDot := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '.' && !seenDot:
			seenDot = true
		case ch >= '0' && ch <= '9':
			digits++
			v := uint64(ch - '0')
			if !seenDot {
				if whole > (math.MaxInt64/nanoCentsPerCent-v)/10 {
					return 0, fmt.Errorf("%w: %q is too large", errDecimal, string(d))
				}
				whole = whole*10 + v
				continue
			}
			switch {
			case fracDigits < 9:
				frac = frac*10 + v
				fracDigits++
			case fracDigits == 9:
				roundUp = v >= 5
				fracDigits++
			}
		default:
			return 0, fmt.Errorf("%w: %q", errDecimal, string(d))
		}
	}
	if digits == 0 {
		return 0, fmt.Errorf("%w: %q", errDecimal, string(d))
	}
	for i := min(fracDigits, 9); i < 9; i++ {
		frac *= 10
	}
	if roundUp {
		frac++
	}
	if whole > (math.MaxInt64-frac)/nanoCentsPerCent {
		return 0, fmt.Errorf("%w: %q is too large", errDecimal, string(d))
	}
	n := int64(whole)*nanoCentsPerCent + int64(frac)
	if neg {
		n = -n
	}
	return n, nil
}

// NanoCentsToDollars converts for emission: the only float in the path.
// Running totals pass int64 and arrive as float64.
func NanoCentsToDollars[N int64 | float64](n N) float64 {
	return float64(n) / (100 * nanoCentsPerCent)
}
