// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package accounting

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var stringCodec = KeyCodec[string]{
	Encode: func(k string) []string { return strings.Split(k, "|") },
	Decode: func(f []string) (string, error) {
		if len(f) == 0 {
			return "", errors.New("no fields")
		}
		return strings.Join(f, "|"), nil
	},
}

// play runs polls for minutes [from, to) of a growing workload and returns
// the sum of the increases it counted.
func play(t *testing.T, s *Stream[string], from, to int) Counters {
	t.Helper()
	var sum Counters
	for m := from; m < to; m++ {
		now := t0.Add(time.Duration(m) * time.Minute)
		p := s.Begin(now)
		for b := p.From(); b.Before(p.To()); b = b.Add(time.Minute) {
			age := int64(now.Sub(b) / time.Minute)
			v := min(age+1, 4) // each bucket grows for four minutes
			require.NoError(t, p.Observe(b, b.Add(time.Minute), map[string]Counters{"ws|a": c(v, 2*v), "ws|b": c(v)}))
		}
		for _, inc := range p.Increases() {
			for i, v := range asCounters(inc) {
				sum[i] += v
			}
		}
		p.Seal()
	}
	return sum
}

func TestSnapshotRoundTripContinuesExactly(t *testing.T) {
	straight := newStream(t, time.Minute, 5*time.Minute)
	want := play(t, straight, 1, 40)

	s := newStream(t, time.Minute, 5*time.Minute)
	got := play(t, s, 1, 17)
	data := s.MarshalBinary(stringCodec)
	restored, err := RestoreStream[string](Config{BucketWidth: time.Minute, RevisionWindow: 5 * time.Minute, Start: t0.Add(time.Hour)}, data, stringCodec)
	require.NoError(t, err)
	assert.Equal(t, s.Start(), restored.Start(), "the checkpoint's start wins over the configured one")
	assert.Equal(t, s.Watermark(), restored.Watermark())
	assert.Equal(t, s.LastEmit(), restored.LastEmit())
	assert.Equal(t, s.LedgerEntries(), restored.LedgerEntries())
	rest := play(t, restored, 17, 40)
	for i := range got {
		got[i] += rest[i]
	}
	assert.Equal(t, want, got, "a restored stream counts exactly what an uninterrupted one does")
	byKey := func(s *Stream[string]) map[string]Totals {
		out := map[string]Totals{}
		for k, c := range s.Totals() {
			out[k] = c
		}
		return out
	}
	assert.Equal(t, byKey(straight), byKey(restored), "series ids follow map order; totals by key are the same")
	assert.Equal(t, data, s.MarshalBinary(stringCodec), "encoding is deterministic")
}

func TestSnapshotCorruptIsRejected(t *testing.T) {
	s := newStream(t, time.Minute, 5*time.Minute)
	play(t, s, 1, 9)
	data := s.MarshalBinary(stringCodec)
	cfg := Config{BucketWidth: time.Minute, RevisionWindow: 5 * time.Minute, Start: t0}
	for cut := range len(data) {
		_, err := RestoreStream[string](cfg, data[:cut], stringCodec)
		require.ErrorIs(t, err, ErrSnapshot, "truncated at %d", cut)
	}
	_, err := RestoreStream[string](cfg, append(append([]byte{}, data...), 0), stringCodec)
	require.ErrorIs(t, err, ErrSnapshot, "trailing bytes")
	_, err = RestoreStream[string](cfg, []byte("garbage that is no checkpoint"), stringCodec)
	require.ErrorIs(t, err, ErrSnapshot)
	flipped := append([]byte{}, data...)
	flipped[len(snapshotMagic)+3] ^= 0x10
	_, err = RestoreStream[string](cfg, flipped, stringCodec)
	require.ErrorIs(t, err, ErrSnapshot, "a flipped bit")
	_, err = RestoreStream[string](Config{BucketWidth: 7 * time.Minute, Start: t0}, data, stringCodec)
	require.ErrorIs(t, err, ErrSnapshot, "a checkpoint of another bucket width")
	bad := KeyCodec[string]{Encode: stringCodec.Encode, Decode: func([]string) (string, error) { return "", errors.New("no") }}
	_, err = RestoreStream[string](cfg, data, bad)
	require.ErrorIs(t, err, ErrSnapshot)
}

func TestSealThroughLeavesTheRestForTheNextPoll(t *testing.T) {
	s := newStream(t, time.Minute, 5*time.Minute)
	now := t0.Add(30 * time.Minute)
	p := s.Begin(now)
	for b := t0; b.Before(t0.Add(10 * time.Minute)); b = b.Add(time.Minute) {
		require.NoError(t, p.Observe(b, b.Add(time.Minute), map[string]Counters{"x": c(1)}))
	}
	p.SealThrough(t0.Add(10*time.Minute), t0.Add(10*time.Minute))
	assert.Equal(t, t0.Add(10*time.Minute), s.Watermark(), "only what was read becomes final")
	assert.Equal(t, t0.Add(10*time.Minute), s.LastEmit())
	p = s.Begin(now)
	assert.Equal(t, t0.Add(10*time.Minute), p.From())
	for b := p.From(); b.Before(p.To()); b = b.Add(time.Minute) {
		require.NoError(t, p.Observe(b, b.Add(time.Minute), map[string]Counters{"x": c(1)}))
	}
	p.Seal()
	assert.Equal(t, c(31), asCounters(s.Total(0)))
	assert.Equal(t, t0.Add(25*time.Minute), s.Watermark())
}

// A checkpoint of version 02 (totals as one signed varint each) is still
// read, so that an upgrade resumes where the previous receiver stopped; a
// negative total in it is refused.
func TestRestoreReadsVersion02(t *testing.T) {
	build := func(total int64) []byte {
		b := []byte(snapshotMagicV2)
		for range 3 { // start, watermark, last emission
			b = binary.AppendVarint(b, t0.UnixNano())
		}
		b = binary.AppendUvarint(b, 1)                                       // one series
		b = append(binary.AppendUvarint(binary.AppendUvarint(b, 1), 1), 'a') // one field: "a"
		for range Width {
			b = binary.AppendVarint(b, total)
		}
		b = binary.AppendUvarint(b, 0) // no ledger
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	}
	s, err := RestoreStream(Config{BucketWidth: time.Minute, RevisionWindow: time.Hour}, build(1<<62), stringCodec)
	require.NoError(t, err)
	n, ok := s.Total(0)[3].Int64()
	assert.True(t, ok)
	assert.Equal(t, int64(1<<62), n)
	assert.Equal(t, snapshotMagic, string(s.MarshalBinary(stringCodec)[:len(snapshotMagic)]), "written back as version 03")

	_, err = RestoreStream(Config{BucketWidth: time.Minute, RevisionWindow: time.Hour}, build(-3), stringCodec)
	require.ErrorIs(t, err, ErrSnapshot)
}
