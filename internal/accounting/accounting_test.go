// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package accounting

import (
	"fmt"
	"iter"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)

func newStream(t *testing.T, width, revision time.Duration) *Stream[string] {
	t.Helper()
	s, err := NewStream[string](Config{BucketWidth: width, RevisionWindow: revision, Start: t0})
	require.NoError(t, err)
	return s
}

func c(vals ...int64) Counters {
	var out Counters
	copy(out[:], vals)
	return out
}

// observe feeds one bucket of rows to a poll.
func observe(t *testing.T, p *Poll[string], start time.Time, width time.Duration, rows map[string]Counters) {
	t.Helper()
	require.NoError(t, p.Observe(start, start.Add(width), rows))
}

// asCounters is small totals, for comparisons.
func asCounters(t Totals) Counters {
	var c Counters
	for i := range t {
		c[i], _ = t[i].Int64()
	}
	return c
}

func totals(p *Poll[string]) map[string]Counters {
	out := map[string]Counters{}
	for k, t := range p.Totals() {
		out[k] = asCounters(t)
	}
	return out
}

func increases(p *Poll[string]) map[string]Counters {
	out := map[string]Counters{}
	for k, t := range p.Increases() {
		out[k] = asCounters(t)
	}
	return out
}

// byKey is what an iterator yields, by key.
func byKey(seq iter.Seq2[string, Totals]) map[string]Counters {
	out := map[string]Counters{}
	for k, t := range seq {
		out[k] = asCounters(t)
	}
	return out
}

func decreases(p *Poll[string]) map[string]Counters {
	out := map[string]Counters{}
	for k, t := range p.Decreases() {
		out[k] = asCounters(t)
	}
	return out
}

func TestPollRange(t *testing.T) {
	s := newStream(t, time.Minute, time.Hour)
	p := s.Begin(t0.Add(90*time.Second + 5*time.Millisecond))
	assert.Equal(t, t0, p.From(), "the first poll reads from the start of the lookback")
	assert.Equal(t, t0.Add(2*time.Minute), p.To(), "the open bucket is read too")
	p.Seal()
	assert.Equal(t, t0, s.Watermark(), "nothing is an hour old yet")

	p = s.Begin(t0.Add(3 * time.Hour))
	assert.Equal(t, t0, p.From())
	p.Seal()
	assert.Equal(t, t0.Add(2*time.Hour), s.Watermark(), "buckets older than the revision window are final after they were read")
	assert.Equal(t, t0.Add(2*time.Hour), s.Begin(t0.Add(3*time.Hour+time.Minute)).From())
}

// The same buckets read again and again with growing values: every poll
// counts only the increase, and the total is the final value exactly.
func TestLateDataCountedOnce(t *testing.T) {
	s := newStream(t, time.Minute, time.Hour)
	reads := []Counters{c(5, 0, 1), c(9, 2, 1), c(9, 2, 1), c(20, 7, 3)}
	var sumDeltas Counters
	for i, v := range reads {
		p := s.Begin(t0.Add(time.Duration(i+1) * time.Minute))
		observe(t, p, t0, time.Minute, map[string]Counters{"a": v})
		for k, d := range increases(p) {
			require.Equal(t, "a", k)
			for j := range d {
				sumDeltas[j] += d[j]
			}
		}
		assert.Equal(t, v, totals(p)["a"], "cumulative total after read %d", i)
		p.Seal()
	}
	assert.Equal(t, c(20, 7, 3), sumDeltas, "deltas add up to the final value")
	assert.Equal(t, c(20, 7, 3), asCounters(s.Total(0)))
}

func TestUnchangedReadEmitsNoDelta(t *testing.T) {
	s := newStream(t, time.Minute, time.Hour)
	p := s.Begin(t0.Add(time.Minute))
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(3)})
	p.Seal()
	p = s.Begin(t0.Add(2 * time.Minute))
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(3)})
	assert.Empty(t, increases(p))
	assert.Equal(t, 0, p.Stats().RevisedBuckets)
	assert.Equal(t, c(3), totals(p)["a"])
}

// A poll that is never sealed (a request failed, a page unreadable) changes
// nothing: the next poll finds the same increase.
func TestAbandonedPollIsCountedByTheNext(t *testing.T) {
	s := newStream(t, time.Minute, time.Hour)
	p := s.Begin(t0.Add(time.Minute))
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(10)})
	p.Seal()

	lost := s.Begin(t0.Add(2 * time.Minute))
	observe(t, lost, t0, time.Minute, map[string]Counters{"a": c(15), "b": c(4)})
	observe(t, lost, t0.Add(time.Minute), time.Minute, map[string]Counters{"a": c(1)})
	assert.Equal(t, map[string]Counters{"a": c(6), "b": c(4)}, increases(lost))
	// not sealed

	p = s.Begin(t0.Add(3 * time.Minute))
	assert.Equal(t, t0, p.From())
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(16), "b": c(4)})
	observe(t, p, t0.Add(time.Minute), time.Minute, map[string]Counters{"a": c(2)})
	assert.Equal(t, map[string]Counters{"a": c(8), "b": c(4)}, increases(p))
	assert.Equal(t, t0.Add(time.Minute), s.LastEmit(), "the last emission is the last sealed poll")
	p.Seal()
	assert.Equal(t, map[string]Counters{"a": c(18), "b": c(4)}, map[string]Counters{"a": asCounters(s.Total(0)), "b": asCounters(s.Total(1))})
	assert.Equal(t, 2, s.Series())
}

// A value that goes down is a correction: the totals never go backwards,
// the decrease is counted in the corrections, and total minus corrections
// is the API's current value. A series missing from a bucket read again is
// 0 there now.
func TestDecreasesAreCorrections(t *testing.T) {
	s := newStream(t, time.Minute, time.Hour)
	p := s.Begin(t0.Add(time.Minute))
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(10, 10), "b": c(4)})
	p.Seal()

	p = s.Begin(t0.Add(2 * time.Minute))
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(7, 12)})
	assert.Equal(t, 2, p.Stats().Corrections, "a went down, b is gone")
	assert.Equal(t, map[string]Counters{"a": c(0, 2)}, increases(p))
	assert.Equal(t, map[string]Counters{"a": c(3), "b": c(4)}, decreases(p))
	p.Seal()

	p = s.Begin(t0.Add(3 * time.Minute))
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(8, 12), "b": c(1)})
	assert.Equal(t, 0, p.Stats().Corrections)
	assert.Equal(t, map[string]Counters{"a": c(1), "b": c(1)}, increases(p), "growth after a decrease is counted")
	observe(t, p, t0.Add(time.Minute), time.Minute, map[string]Counters{"a": c(1)})
	p.Seal()
	up := map[string]Counters{}
	for k, v := range s.Totals() {
		up[k] = asCounters(v)
	}
	assert.Equal(t, map[string]Counters{"a": c(12, 12), "b": c(5)}, up)
	corr := map[string]Counters{}
	for k, v := range s.CorrectionTotals() {
		corr[k] = asCounters(v)
	}
	assert.Equal(t, map[string]Counters{"a": c(3), "b": c(4)}, corr)
	// total - corrections = what the API says now: a 8+1, 12; b 1
	now := map[string]Counters{"a": c(9, 12), "b": c(1)}
	for k, want := range now {
		for i := range want {
			assert.Equal(t, want[i], up[k][i]-corr[k][i], "%s[%d]", k, i)
		}
	}
}

// Buckets that left the window are final: never re-counted, and the ledger
// only holds buckets inside the window.
func TestFinalBucketsAreForgotten(t *testing.T) {
	s := newStream(t, time.Minute, 10*time.Minute)
	for m := 1; m <= 120; m++ {
		now := t0.Add(time.Duration(m) * time.Minute)
		p := s.Begin(now)
		for b := p.From(); b.Before(p.To()); b = b.Add(time.Minute) {
			observe(t, p, b, time.Minute, map[string]Counters{"x": c(1), "y": c(2)})
		}
		p.Seal()
		assert.LessOrEqual(t, s.LedgerEntries(), 2*(10+2), "state is bounded by the revision window")
	}
	assert.Equal(t, t0.Add(110*time.Minute), s.Watermark())

	p := s.Begin(t0.Add(121 * time.Minute))
	require.NoError(t, p.Observe(t0, t0.Add(time.Minute), map[string]Counters{"x": c(100)}))
	assert.Equal(t, 1, p.Stats().SkippedFinal)
	assert.Empty(t, increases(p), "a final bucket sent again is ignored")
	// 121 one-minute buckets [t0, t0+121m) each 1 and 2
	assert.Equal(t, c(121), totals(p)["x"])
	assert.Equal(t, c(242), totals(p)["y"])
}

func TestUnexpectedBuckets(t *testing.T) {
	s := newStream(t, time.Hour, time.Hour)
	p := s.Begin(t0.Add(30 * time.Minute))
	err := p.Observe(t0.Add(time.Minute), t0.Add(61*time.Minute), map[string]Counters{"a": c(1)})
	require.ErrorIs(t, err, ErrBucket, "misaligned")
	err = p.Observe(t0, t0.Add(2*time.Hour), map[string]Counters{"a": c(1)})
	require.ErrorIs(t, err, ErrBucket, "wrong width")
	err = p.Observe(t0.Add(time.Hour), t0.Add(2*time.Hour), map[string]Counters{"a": c(1)})
	require.ErrorIs(t, err, ErrBucket, "after the open bucket")
	assert.Empty(t, increases(p))
	assert.Equal(t, 3, p.Stats().SkippedOutside)
}

// A bucket sent twice in one read is the same bucket: counted once.
func TestDuplicatedBucketInOneRead(t *testing.T) {
	s := newStream(t, time.Minute, time.Hour)
	p := s.Begin(t0.Add(2 * time.Minute))
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(5)})
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(7)})
	assert.Equal(t, map[string]Counters{"a": c(7)}, increases(p))
	p.Seal()
	assert.Equal(t, c(7), asCounters(s.Total(0)))
}

// Totals do not overflow: a series passing int64 (about $92 million in
// nano-cents) keeps counting, exactly, and a single poll's increase too;
// the total survives a checkpoint.
func TestTotalsDoNotOverflow(t *testing.T) {
	s := newStream(t, time.Minute, time.Hour)
	const big = math.MaxInt64 - 1
	p := s.Begin(t0.Add(2 * time.Minute))
	observe(t, p, t0, time.Minute, map[string]Counters{"a": c(big)})
	observe(t, p, t0.Add(time.Minute), time.Minute, map[string]Counters{"a": c(big)})
	for _, inc := range p.Increases() {
		_, fits := inc[0].Int64()
		assert.False(t, fits, "one poll's increase beyond int64")
		assert.Equal(t, 2*float64(big), inc[0].Float64())
	}
	p.Seal()
	p = s.Begin(t0.Add(3 * time.Minute))
	observe(t, p, t0.Add(2*time.Minute), time.Minute, map[string]Counters{"a": c(5)})
	p.Seal()
	want := Total{}.Add(big).Add(big).Add(5)
	assert.Equal(t, want, s.Total(0)[0])
	assert.Equal(t, Total{hi: 1, lo: 1}, want, "2(2^63 - 2) + 5 = 2^64 + 1")

	restored, err := RestoreStream(Config{BucketWidth: time.Minute, RevisionWindow: time.Hour}, s.MarshalBinary(stringCodec), stringCodec)
	require.NoError(t, err)
	assert.Equal(t, want, restored.Total(0)[0])
}

func TestTotal(t *testing.T) {
	x := Total{}.Add(math.MaxInt64).Add(math.MaxInt64).Add(2)
	assert.Equal(t, Total{hi: 1}, x, "2^64")
	n, ok := x.Int64()
	assert.False(t, ok)
	assert.Equal(t, int64(math.MaxInt64), n)
	assert.Equal(t, 0x1p64, x.Float64())
	n, ok = Total{}.Add(42).Int64()
	assert.True(t, ok)
	assert.Equal(t, int64(42), n)
	assert.True(t, Total{}.IsZero())
	assert.Equal(t, Total{hi: 2, lo: 2}, x.plus(x).plus(Total{lo: 2}))
}

func TestNewStreamValidates(t *testing.T) {
	_, err := NewStream[string](Config{BucketWidth: 0, Start: t0})
	require.Error(t, err)
	_, err = NewStream[string](Config{BucketWidth: time.Minute, RevisionWindow: -time.Second, Start: t0})
	require.Error(t, err)
	s, err := NewStream[string](Config{BucketWidth: time.Hour, Start: t0.Add(17 * time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, t0, s.Start(), "the start is aligned down to the bucket width")
}

// pollAll reads [From, To) of a poll with rows for every bucket and seals.
func pollAll(t *testing.T, s *Stream[string], now time.Time, rows func(b time.Time) map[string]Counters) {
	t.Helper()
	p := s.Begin(now)
	for b := p.From(); b.Before(p.To()); b = b.Add(p.Width()) {
		observe(t, p, b, p.Width(), rows(b))
	}
	p.Seal()
}

// The audit re-reads the settled past at its width: a value raised or
// lowered there after the revision window is counted, up in the totals and
// down in the corrections; a series gone from a day is a correction too;
// and the settled past is kept for the audit window only.
func TestAuditFindsRevisionsAfterTheWindow(t *testing.T) {
	day := 24 * time.Hour
	s, err := NewStream[string](Config{BucketWidth: time.Hour, RevisionWindow: 2 * time.Hour, Start: t0.Truncate(day),
		AuditWidth: day, AuditWindow: 3 * day})
	require.NoError(t, err)
	rows := func(time.Time) map[string]Counters { return map[string]Counters{"a": c(2), "b": c(1)} }
	now := t0.Truncate(day)
	for range 2 * 24 { // two days, hourly
		now = now.Add(time.Hour)
		pollAll(t, s, now, rows)
	}
	assert.Equal(t, now, s.LastAudit().Add(47*time.Hour), "a first read counts as an audit")
	_, ok := s.BeginAudit(now.Add(-time.Hour))
	require.True(t, ok)

	// The first day, as the audit reads it: a grew by 10, b is gone.
	p, ok := s.BeginAudit(now)
	require.True(t, ok)
	assert.Equal(t, t0.Truncate(day), p.From())
	assert.Equal(t, t0.Truncate(day).Add(day), p.To(), "only days wholly before the watermark")
	observe(t, p, p.From(), day, map[string]Counters{"a": c(48 + 10)})
	assert.Equal(t, map[string]Counters{"a": c(10)}, increases(p))
	assert.Equal(t, map[string]Counters{"b": c(24)}, decreases(p))
	assert.Equal(t, 2, p.Stats().Changed)
	wm := s.Watermark()
	p.Seal()
	assert.Equal(t, wm, s.Watermark(), "an audit does not move the watermark")
	assert.Equal(t, now, s.LastAudit())
	assert.Equal(t, map[string]Counters{"a": c(2*49 + 10), "b": c(49)}, byKey(s.Totals()), "48 hours and the open one, and the audit's 10")
	assert.Equal(t, map[string]Counters{"b": c(24)}, byKey(s.CorrectionTotals()))

	// The same audit again finds nothing new.
	p, _ = s.BeginAudit(now.Add(time.Minute))
	observe(t, p, p.From(), day, map[string]Counters{"a": c(58)})
	assert.Empty(t, increases(p))
	assert.Empty(t, decreases(p))

	// The audit state survives a checkpoint.
	restored, err := RestoreStream(Config{BucketWidth: time.Hour, RevisionWindow: 2 * time.Hour, AuditWidth: day, AuditWindow: 3 * day},
		s.MarshalBinary(stringCodec), stringCodec)
	require.NoError(t, err)
	assert.Equal(t, s.LastAudit(), restored.LastAudit())
	assert.Equal(t, s.LedgerEntries(), restored.LedgerEntries())
	p, _ = restored.BeginAudit(now.Add(time.Minute))
	observe(t, p, p.From(), day, map[string]Counters{"a": c(57)})
	assert.Equal(t, map[string]Counters{"a": c(1)}, decreases(p))

	// A week later the first days are past the window: not kept, not read.
	for range 7 * 24 {
		now = now.Add(time.Hour)
		pollAll(t, s, now, rows)
	}
	p, ok = s.BeginAudit(now)
	require.True(t, ok)
	assert.Equal(t, now.Add(-3*day).Truncate(day), p.From())
	assert.LessOrEqual(t, s.LedgerEntries(), 2*(3+1)+2*(2+1), "the settled past is the audit window's")
}

// A checkpoint that kept no settled past at this width (an earlier format,
// or the audit newly enabled) audits only what becomes final from then on:
// never the days it did not keep, which would count them again.
func TestAuditStartsWhereTheSettledPastWasKept(t *testing.T) {
	day := 24 * time.Hour
	plain, err := NewStream[string](Config{BucketWidth: time.Hour, RevisionWindow: time.Hour, Start: t0.Truncate(day)})
	require.NoError(t, err)
	now := t0.Truncate(day)
	for range 3 * 24 {
		now = now.Add(time.Hour)
		pollAll(t, plain, now, func(time.Time) map[string]Counters { return map[string]Counters{"a": c(1)} })
	}
	s, err := RestoreStream(Config{BucketWidth: time.Hour, RevisionWindow: time.Hour, AuditWidth: day, AuditWindow: 7 * day},
		plain.MarshalBinary(stringCodec), stringCodec)
	require.NoError(t, err)
	_, ok := s.BeginAudit(now)
	assert.False(t, ok, "nothing kept to audit yet")
	for range 2 * 24 {
		now = now.Add(time.Hour)
		pollAll(t, s, now, func(time.Time) map[string]Counters { return map[string]Counters{"a": c(1)} })
	}
	p, ok := s.BeginAudit(now)
	require.True(t, ok)
	assert.Equal(t, t0.Truncate(day).Add(3*day), p.From(), "from the first whole day kept")
}

// Series unchanged for the expiry, and in no bucket still held, are
// forgotten, in memory and in the checkpoint; one that grows again comes
// back from zero.
func TestSeriesExpire(t *testing.T) {
	s, err := NewStream[string](Config{BucketWidth: time.Hour, RevisionWindow: time.Hour, Start: t0, SeriesExpiry: 6 * time.Hour})
	require.NoError(t, err)
	now := t0
	for h := range 24 {
		now = now.Add(time.Hour)
		// model-<h/4>: a series lives four hours, then is retired.
		pollAll(t, s, now, func(b time.Time) map[string]Counters {
			return map[string]Counters{fmt.Sprintf("m%d", int(b.Sub(t0)/time.Hour)/4): c(1)}
		})
		assert.LessOrEqual(t, s.Series(), 4, "hour %d: live series and those not expired yet", h)
	}
	before := len(s.MarshalBinary(stringCodec))
	// At 24:00, m4 (hours 16 to 19) changed less than 6 h ago, m5 is in
	// the revision window, m6 is the open hour's; m0 to m3 are gone.
	got := map[string]Counters{}
	for k, v := range s.Totals() {
		got[k] = asCounters(v)
	}
	assert.Equal(t, map[string]Counters{"m4": c(4), "m5": c(4), "m6": c(1)}, got)
	next := now.Add(time.Hour)
	pollAll(t, s, next, func(b time.Time) map[string]Counters {
		if b.Equal(now) {
			return map[string]Counters{"m0": c(7)}
		}
		return map[string]Counters{"m6": c(1)}
	})
	got = map[string]Counters{}
	for k, v := range s.Totals() {
		got[k] = asCounters(v)
	}
	assert.Equal(t, c(7), got["m0"], "a series that comes back starts from zero")
	assert.Less(t, len(s.MarshalBinary(stringCodec)), before+64)
}

// Beyond MaxSeries, new series are counted in the overflow series: not a
// count is lost, and the stream keeps MaxSeries series and the overflow.
func TestMaxSeriesOverflowKeepsEveryCount(t *testing.T) {
	s, err := NewStream[string](Config{BucketWidth: time.Minute, RevisionWindow: 5 * time.Minute, Start: t0, MaxSeries: 10})
	require.NoError(t, err)
	s.SetOverflow(func(string) string { return "overflow" })
	var want int64
	now := t0
	for i := range 20 {
		now = now.Add(time.Minute)
		p := s.Begin(now)
		rows := map[string]Counters{}
		for j := range 50 {
			rows[fmt.Sprintf("s%d-%d", i, j)] = c(int64(j + 1))
			want += int64(j + 1)
		}
		observe(t, p, now.Add(-time.Minute), time.Minute, rows)
		if i > 0 {
			assert.Equal(t, 50, p.Stats().Overflowed)
		}
		p.Seal()
	}
	assert.Equal(t, 11, s.Series())
	var total int64
	for _, v := range s.Totals() {
		total += asCounters(v)[0]
	}
	assert.Equal(t, want, total)
}
