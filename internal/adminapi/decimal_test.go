// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNanoCents(t *testing.T) {
	ok := map[string]int64{
		"123.45":          123_450_000_000,
		"1046.123450":     1_046_123_450_000,
		"0.1":             100_000_000,
		"1500":            1_500_000_000_000,
		"100":             100_000_000_000,
		"25.0":            25_000_000_000,
		"0.000015":        15_000,
		"0.0000015":       1_500,
		"0.000000001":     1,
		"0.0000000014":    1,
		"0.0000000015":    2,
		"7.":              7_000_000_000,
		".5":              500_000_000,
		"-3.5":            -3_500_000_000,
		"+2":              2_000_000_000,
		"9000000000":      9_000_000_000 * nanoCentsPerCent,
		"0000.1000000000": 100_000_000,
	}
	for in, want := range ok {
		got, err := Decimal(in).NanoCents()
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-", ".", "1e5", "NaN", "Infinity", "1,5", "1.2.3", " 1", "0x10", "99999999999"} {
		_, err := Decimal(bad).NanoCents()
		assert.ErrorIs(t, err, errDecimal, bad)
	}
}

// Adding many amounts as floats of cents drifts; nano-cent integers do not.
func TestNanoCentsSumIsExact(t *testing.T) {
	var exact int64
	var float float64
	for range 100_000 {
		n, err := Decimal("0.1").NanoCents()
		require.NoError(t, err)
		exact += n
		float += 0.1
	}
	assert.Equal(t, int64(10_000*nanoCentsPerCent), exact)
	assert.InDelta(t, 100.0, NanoCentsToDollars(exact), 0)
	assert.NotEqual(t, 10_000.0, float, "float accumulation is not exact: the reason for nano-cents")
}
