// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"math/bits"
	"strings"
)

// mix64 is the SplitMix64 finaliser: a cheap, well-distributed 64-bit mix.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash4 deterministically combines four values. All synthetic data is a pure
// function of such hashes, so nothing per minute is ever stored.
func hash4(a, b, c, d uint64) uint64 {
	h := mix64(a + 0x9e3779b97f4a7c15)
	h = mix64(h ^ (b + 0x632be59bd9b4e019))
	h = mix64(h ^ (c + 0x85ebca77c2b2ae63))
	h = mix64(h ^ (d + 0xc2b2ae3d27d4eb4f))
	return h
}

// hashString folds a string into a 64-bit value (FNV-1a, then mixed).
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// pick returns a value in [lo, hi] from h.
func pick(h uint64, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(h%uint64(hi-lo+1))
}

const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58ID returns n base58 characters derived from h.
func base58ID(h uint64, n int) string {
	var sb strings.Builder
	x := h
	for i := 0; i < n; i++ {
		if i%8 == 0 {
			x = mix64(h + uint64(i)*0x9e3779b97f4a7c15)
		}
		sb.WriteByte(base58[x%58])
		x /= 58
	}
	return sb.String()
}

// mulDiv returns floor(a*b/c) for non-negative a, b and positive c, without
// overflow as long as the quotient fits in int64.
func mulDiv(a, b, c int64) int64 {
	if a <= 0 || b <= 0 || c <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		// Quotient would not fit; cannot happen with the bounded values used here.
		return a
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// floorDiv is integer division rounding towards negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ceilDiv is integer division rounding towards positive infinity.
func ceilDiv(a, b int64) int64 {
	return -floorDiv(-a, b)
}
