// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package accounting

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"
)

// fzKey is a series key of two fields, like the receiver's keys.
type fzKey struct{ a, b string }

var fzCodec = KeyCodec[fzKey]{
	Encode: func(k fzKey) []string { return []string{k.a, k.b} },
	Decode: func(f []string) (fzKey, error) {
		if len(f) != 2 {
			return fzKey{}, errors.New("a key has two fields")
		}
		return fzKey{f[0], f[1]}, nil
	},
}

var fzRestoreConfig = Config{BucketWidth: time.Minute, RevisionWindow: 5 * time.Minute, Start: fzStart}

// FuzzRestore: arbitrary bytes as a checkpoint either fail with ErrSnapshot
// or give a stream whose checkpoint restores to the same checkpoint, which
// polls on without a panic, and whose ledger empties once every bucket in it
// is final. (RestoreStream accepts ledger buckets that are misaligned or
// before the watermark and emission times in the future: reported in
// BENCHMARKS.md, not asserted here.)
func FuzzRestore(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := RestoreStream[fzKey](fzRestoreConfig, data, fzCodec)
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("not ErrSnapshot: %v", err)
			}
			return
		}
		m1 := s.MarshalBinary(fzCodec)
		s2, err := RestoreStream[fzKey](fzRestoreConfig, m1, fzCodec)
		if err != nil {
			t.Fatalf("a stream's own checkpoint does not restore: %v", err)
		}
		if m2 := s2.MarshalBinary(fzCodec); !bytes.Equal(m1, m2) {
			t.Fatalf("the checkpoint does not round-trip:\n%q\n%q", m1, m2)
		}
		if !s2.Start().Equal(s.Start()) || !s2.Watermark().Equal(s.Watermark()) || !s2.LastEmit().Equal(s.LastEmit()) ||
			s2.Series() != s.Series() || s2.LedgerEntries() != s.LedgerEntries() {
			t.Fatalf("the restored stream differs")
		}
		for id := range s.Series() {
			if s.Total(SeriesID(id)) != s2.Total(SeriesID(id)) || s.Key(SeriesID(id)) != s2.Key(SeriesID(id)) {
				t.Fatalf("series %d differs", id)
			}
		}
		// The restored stream polls on: a bucket at its watermark, then a
		// poll after every bucket of its ledger, which makes them final.
		p := s.Begin(s.Watermark().Add(90 * time.Second))
		if err := p.Observe(p.From(), p.From().Add(time.Minute), map[fzKey]Counters{{"x", "y"}: {1, 2, 3}, {"a", "b"}: {5}}); err != nil {
			t.Fatalf("observing the bucket at the watermark: %v", err)
		}
		p.Seal()
		last := s.Watermark()
		for b := range s.ledger {
			if bt := time.Unix(b, 0); bt.After(last) {
				last = bt
			}
		}
		if last.Year() > 9999 {
			return // beyond what time.Time arithmetic is meant for
		}
		s.Begin(last.Add(time.Hour)).Seal()
		if s.LedgerEntries() != 0 {
			t.Fatalf("%d ledger entries after every bucket became final", s.LedgerEntries())
		}
	})
}

func restoreSeeds(t *testing.T) map[string][]byte {
	// Real checkpoints, from a stream polled with growing, late values.
	s, err := NewStream[fzKey](fzRestoreConfig)
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{
		"empty_stream": s.MarshalBinary(fzCodec),
	}
	for m := 1; m <= 12; m++ {
		now := fzStart.Add(time.Duration(m)*time.Minute + 30*time.Second)
		p := s.Begin(now)
		for b := p.From(); b.Before(p.To()); b = b.Add(time.Minute) {
			v := int64(m) * 10
			// One series per call: ids, and so the checkpoint's bytes, do
			// not depend on map order.
			for _, row := range []map[fzKey]Counters{{{"ws", "sonnet"}: {v, 2 * v}}, {{"ws", "haiku"}: {v / 2}}, {{"", "x"}: {}}} {
				if err := p.Observe(b, b.Add(time.Minute), row); err != nil {
					t.Fatal(err)
				}
			}
		}
		if m == 7 {
			continue // a refused poll
		}
		p.Seal()
	}
	good := s.MarshalBinary(fzCodec)
	seeds["polled"] = good
	seeds["truncated"] = good[:len(good)/2]
	seeds["trailing_byte"] = append(append([]byte{}, good...), 0)
	seeds["bad_magic"] = append([]byte("AUACCT99"), good[8:]...)
	seeds["not_a_checkpoint"] = []byte("garbage that is no checkpoint")
	seeds["magic_only"] = []byte(snapshotMagic)

	// Hand-made checkpoints with hostile counts and references.
	hdrOf := func(magic string, start, wm, last int64) []byte {
		b := []byte(magic)
		b = binary.AppendVarint(b, start)
		b = binary.AppendVarint(b, wm)
		return binary.AppendVarint(b, last)
	}
	hdr := func(start, wm, last int64) []byte { return hdrOf(snapshotMagic, start, wm, last) }
	t0 := fzStart.UnixNano()
	key := func(b []byte, fields ...string) []byte {
		b = binary.AppendUvarint(b, uint64(len(fields)))
		for _, f := range fields {
			b = binary.AppendUvarint(b, uint64(len(f)))
			b = append(b, f...)
		}
		for range Width { // version 03: a total is two unsigned varints
			b = binary.AppendUvarint(binary.AppendUvarint(b, 0), 7)
		}
		return b
	}
	one := key(binary.AppendUvarint(hdr(t0, t0, t0), 1), "ws", "m")
	seeds["huge_series_count"] = binary.AppendUvarint(hdr(t0, t0, t0), 1<<26)
	seeds["too_many_series"] = binary.AppendUvarint(hdr(t0, t0, t0), 1<<40)
	seeds["huge_field_length"] = binary.AppendUvarint(binary.AppendUvarint(binary.AppendUvarint(hdr(t0, t0, t0), 1), 2), 1<<26)
	seeds["duplicate_series"] = binary.AppendUvarint(key(key(binary.AppendUvarint(hdr(t0, t0, t0), 2), "ws", "m"), "ws", "m"), 0)
	seeds["wrong_field_count"] = binary.AppendUvarint(key(binary.AppendUvarint(hdr(t0, t0, t0), 1), "ws"), 0)
	ledger := func(b []byte, bucket int64, id uint64, flag byte) []byte {
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendVarint(b, bucket)
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, id)
		for range Width {
			b = binary.AppendVarint(b, 3)
		}
		return append(b, flag)
	}
	seeds["ledger_unknown_series"] = ledger(one, fzStart.Unix(), 5, 0)
	seeds["ledger_ok"] = ledger(one, fzStart.Unix(), 0, 1)
	seeds["ledger_misaligned_bucket"] = ledger(one, fzStart.Unix()+7, 0, 0)
	seeds["ledger_before_watermark"] = ledger(one, fzStart.Unix()-3600, 0, 2)
	seeds["misaligned_watermark"] = binary.AppendUvarint(hdr(t0, t0+int64(time.Second), t0), 0)
	seeds["watermark_before_start"] = binary.AppendUvarint(hdr(t0, t0-int64(time.Minute), t0), 0)
	seeds["extreme_times"] = binary.AppendUvarint(binary.AppendUvarint(hdr(-(1<<62)/int64(time.Minute)*int64(time.Minute), 1<<62/int64(time.Minute)*int64(time.Minute), -1), 0), 0)
	maxTotals := binary.AppendUvarint(hdr(t0, t0, t0), 1)
	maxTotals = binary.AppendUvarint(maxTotals, 2)
	maxTotals = append(binary.AppendUvarint(maxTotals, 1), 'w')
	maxTotals = append(binary.AppendUvarint(maxTotals, 1), 'm')
	for range Width {
		maxTotals = binary.AppendUvarint(binary.AppendUvarint(maxTotals, 1<<64-1), 1<<64-1)
	}
	seeds["max_totals"] = binary.AppendUvarint(maxTotals, 0)
	// Version 02, which wrote a total as one signed varint: still read.
	v2 := binary.AppendUvarint(hdrOf(snapshotMagicV2, t0, t0, t0), 1)
	v2 = append(binary.AppendUvarint(binary.AppendUvarint(v2, 2), 1), 'w')
	v2 = append(binary.AppendUvarint(v2, 1), 'm')
	for range Width {
		v2 = binary.AppendVarint(v2, 1<<63-1)
	}
	seeds["version_02"] = binary.AppendUvarint(v2, 0)
	v2neg := binary.AppendUvarint(hdrOf(snapshotMagicV2, t0, t0, t0), 1)
	v2neg = append(binary.AppendUvarint(binary.AppendUvarint(v2neg, 2), 1), 'w')
	v2neg = append(binary.AppendUvarint(v2neg, 1), 'm')
	for range Width {
		v2neg = binary.AppendVarint(v2neg, -3)
	}
	seeds["version_02_negative_total"] = binary.AppendUvarint(v2neg, 0)
	// The hand-made ones carry a valid checksum, so that they reach the
	// checks behind it.
	for _, name := range []string{"huge_series_count", "too_many_series", "huge_field_length", "duplicate_series", "wrong_field_count",
		"ledger_unknown_series", "ledger_ok", "ledger_misaligned_bucket", "ledger_before_watermark", "misaligned_watermark",
		"watermark_before_start", "extreme_times", "max_totals", "version_02", "version_02_negative_total"} {
		seeds[name] = binary.BigEndian.AppendUint32(seeds[name], crc32.ChecksumIEEE(seeds[name]))
	}
	return seeds
}
