// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

var nanoCentsSeeds = []string{
	"1046.123450", "312.5", "100", "0.1", "0.000000001", "0.0000000005", "0.0000000004999999",
	"-3.5", "+2", "7.", ".5", "-.5", "0", "-0", "0000.1000000000",
	"9223372036.854775807", "9223372036.854775808", "9223372036.999999999", "9223372036.9999999995",
	"-9223372036.854775807", "-9223372036.854775808", "-9223372036.999999999", "9223372037",
	"99999999999999999999", "92233720368547758070",
	"", "-", "+", ".", "-.", "1e5", "1E-3", "NaN", "nan", "Infinity", "-Inf", "0x10", "1_000",
	"1,5", "1.2.3", " 1", "1 ", "--1", "+-1", "\uff11", "1\x00",
	"0." + strings.Repeat("9", 40), strings.Repeat("0", 60) + "1",
}

// plainDecimal is an optional sign, then digits with at most one dot.
var plainDecimal = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// exactNanoCents computes the amount in nano-cents with math/big, rounding
// the tenth fractional digit and beyond half up (away from zero), as
// NanoCents documents.
func exactNanoCents(s string) *big.Int {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	}
	s = strings.TrimSuffix(s, ".")
	r, valid := new(big.Rat).SetString(s)
	if !valid {
		panic("not a decimal: " + s)
	}
	r.Mul(r, big.NewRat(nanoCentsPerCent, 1))
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom()) // floor, r is positive
	if neg {
		q.Neg(q)
	}
	return q
}

func FuzzNanoCents(f *testing.F) {
	maxInt64 := big.NewInt(math.MaxInt64)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Decimal(s).NanoCents()
		if err != nil && !errors.Is(err, errDecimal) {
			t.Fatalf("NanoCents(%q): %v is not errDecimal", s, err)
		}
		if !plainDecimal.MatchString(s) {
			if err == nil {
				t.Fatalf("NanoCents(%q) = %d: not a plain decimal, must be rejected", s, got)
			}
			return
		}
		want := exactNanoCents(s)
		// |want| <= MaxInt64 must be accepted (unless the whole part alone
		// is too large); MinInt64 itself may go either way; anything
		// larger must be rejected.
		inRange := new(big.Int).Abs(want).Cmp(maxInt64) <= 0
		switch {
		case err == nil && want.IsInt64() && got != want.Int64():
			t.Fatalf("NanoCents(%q) = %d, exact is %s", s, got, want)
		case err == nil && !want.IsInt64():
			t.Fatalf("NanoCents(%q) = %d, but %s nano-cents do not fit an int64", s, got, want)
		case err != nil && inRange && !tooManyWholeDigits(s):
			t.Fatalf("NanoCents(%q) rejected %s nano-cents, which fit: %v", s, want, err)
		}
	})
}

// tooManyWholeDigits: NanoCents rejects whole parts above MaxInt64/1e9
// cents before it reads the fraction (documented: "values over about 92
// million dollars are errors"), even when rounding would bring the result
// back in range.
func tooManyWholeDigits(s string) bool {
	whole, _, _ := strings.Cut(strings.TrimLeft(s, "+-"), ".")
	w, ok := new(big.Int).SetString("0"+whole, 10)
	return !ok || w.Cmp(big.NewInt(math.MaxInt64/nanoCentsPerCent)) > 0
}
