// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

// Package accounting turns re-read, still-changing report buckets into exact
// running totals.
//
// The Admin API keeps revising a bucket after it closes, up and down. A
// Stream remembers, for every bucket still inside the revision window, the
// values it last read per series. When a bucket is read again, a value that
// grew adds its increase to the series' total, and a value that went down
// (or a series missing from the bucket now) adds its decrease to the series'
// corrections. Both only grow, so both are counters; for every series, total
// minus corrections is the API's current sum of its buckets, exactly.
//
// A bucket older than the revision window is final: read one last time, then
// folded, when an audit is configured, into the settled past at the audit's
// coarser width. An audit re-reads that past at the coarse width and
// compares: differences are increases and corrections as above. The settled
// past is kept for the audit window only.
//
// A poll is a transaction. Begin opens it against the sealed state; nothing
// changes until Seal. A poll that is abandoned (a failed request, a page that
// cannot be read) leaves the Stream as it was, and the next poll reads the
// same buckets again and finds the same differences. The receiver seals a
// poll together with the batch of points built from it, and from then on
// that batch is the only carrier of the poll's differences: it is sent,
// unchanged, until the pipeline accepts it.
package accounting // import "github.com/anthropicusage/anthropicusagereceiver/internal/accounting"

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"time"
)

// Width is the number of counters a series carries.
const Width = 6

// Counters are the values of one series in one bucket, as the API sent
// them. Each report decides what each position means; unused positions stay
// 0.
type Counters [Width]int64

// IsZero reports whether every counter is 0.
func (c *Counters) IsZero() bool { return *c == Counters{} }

// Total is a running total of one counter, or its increase over a poll, in
// 128 bits: int64 nano-cents end at about $92 million, which a series' total
// over a receiver's life, or a first read of a large organization, can pass.
// Only increases are added: it is never negative.
type Total struct{ hi, lo uint64 }

// Add returns t + v, for v >= 0.
func (t Total) Add(v int64) Total {
	lo, carry := bits.Add64(t.lo, uint64(v), 0)
	return Total{t.hi + carry, lo}
}

func (t Total) plus(u Total) Total {
	lo, carry := bits.Add64(t.lo, u.lo, 0)
	return Total{t.hi + u.hi + carry, lo}
}

// Int64 is the total, or math.MaxInt64 and false when it does not fit.
func (t Total) Int64() (int64, bool) {
	if t.hi != 0 || t.lo > math.MaxInt64 {
		return math.MaxInt64, false
	}
	return int64(t.lo), true
}

// Float64 is the total, rounded to the nearest float64.
func (t Total) Float64() float64 { return float64(t.hi)*0x1p64 + float64(t.lo) }

// IsZero reports whether the total is 0.
func (t Total) IsZero() bool { return t == Total{} }

// Totals are the running totals of one series, or its increases over a
// poll, position by position as in Counters.
type Totals [Width]Total

// IsZero reports whether every total is 0.
func (t *Totals) IsZero() bool { return *t == Totals{} }

func (t *Totals) add(u *Totals) {
	for i := range t {
		t[i] = t[i].plus(u[i])
	}
}

// SeriesID is a stream's dense id for a series key.
type SeriesID uint32

// Config shapes a Stream.
type Config struct {
	BucketWidth    time.Duration // 1m, 1h or 1d
	RevisionWindow time.Duration // closed buckets younger than this are re-read
	Start          time.Time     // start of the first lookback; aligned down to BucketWidth

	// AuditWidth is the width of an audit's re-read (a multiple of
	// BucketWidth); 0 keeps no settled past and allows no audit.
	AuditWidth time.Duration
	// AuditWindow is how far back an audit re-reads.
	AuditWindow time.Duration
	// SeriesExpiry: a series unchanged this long, and in no bucket the
	// stream still holds, is forgotten; 0 keeps every series.
	SeriesExpiry time.Duration
	// MaxSeries caps the series a stream keeps: a new series beyond it is
	// counted in the overflow series. 0 is no cap.
	MaxSeries int
}

// series is what a stream keeps of one series.
type series struct {
	up   Totals
	down *Totals // nil until a value went down
	// changed is the last sealed poll that changed it (unix ns).
	changed int64
}

// Stream is the exact accounting of one report with one query shape. It is
// not safe for concurrent use: a report is polled by its own loop only.
type Stream[K comparable] struct {
	cfg Config
	// overflow maps a key beyond MaxSeries to the series that counts it.
	overflow func(K) K
	start    time.Time
	// watermark: every bucket that starts before it is final.
	watermark time.Time
	lastEmit  time.Time
	// lastAudit is the time of the last sealed audit; zero: none yet.
	lastAudit time.Time
	// auditFrom: the settled past holds every final bucket from here on.
	auditFrom time.Time

	ids    map[K]SeriesID
	keys   []K
	series []series
	// ledger holds the values last read per bucket (unix seconds of its
	// start) for buckets at or after the watermark only.
	ledger map[int64]map[SeriesID]Counters
	// settled holds, per audit-width bucket before the watermark and inside
	// the audit window, the values counted, summed over its final buckets.
	settled map[int64]map[SeriesID]Counters
}

// NewStream starts an empty stream.
func NewStream[K comparable](cfg Config) (*Stream[K], error) {
	if cfg.BucketWidth <= 0 || cfg.RevisionWindow < 0 || cfg.AuditWidth < 0 || cfg.AuditWindow < 0 || cfg.SeriesExpiry < 0 || cfg.MaxSeries < 0 {
		return nil, errors.New("accounting: bucket width must be positive, and durations and limits not negative")
	}
	if cfg.AuditWidth > 0 && cfg.AuditWidth%cfg.BucketWidth != 0 {
		return nil, fmt.Errorf("accounting: the audit width %s is not a multiple of the bucket width %s", cfg.AuditWidth, cfg.BucketWidth)
	}
	start := cfg.Start.UTC().Truncate(cfg.BucketWidth)
	s := &Stream[K]{
		cfg:       cfg,
		start:     start,
		watermark: start,
		lastEmit:  start,
		auditFrom: start,
		ids:       map[K]SeriesID{},
		ledger:    map[int64]map[SeriesID]Counters{},
	}
	if cfg.AuditWidth > 0 {
		s.settled = map[int64]map[SeriesID]Counters{}
	}
	return s, nil
}

// SetOverflow sets how a key beyond MaxSeries maps to the series that
// counts it (an overflow key maps to itself); without it there is no cap.
func (s *Stream[K]) SetOverflow(f func(K) K) { s.overflow = f }

// Start is the start of the stream: the start timestamp of cumulative points.
func (s *Stream[K]) Start() time.Time { return s.start }

// Watermark is the start of the oldest bucket that is not final yet.
func (s *Stream[K]) Watermark() time.Time { return s.watermark }

// LastEmit is the time of the last sealed poll: the start timestamp of
// the next delta points.
func (s *Stream[K]) LastEmit() time.Time { return s.lastEmit }

// LastAudit is the time of the last sealed audit, zero before the first.
func (s *Stream[K]) LastAudit() time.Time { return s.lastAudit }

// Series is the number of series the stream keeps.
func (s *Stream[K]) Series() int { return len(s.keys) }

// LedgerEntries is the number of (bucket, series) values remembered: the
// state the revision window and the audit window cost.
func (s *Stream[K]) LedgerEntries() int {
	n := 0
	for _, b := range s.ledger {
		n += len(b)
	}
	for _, b := range s.settled {
		n += len(b)
	}
	return n
}

// Key returns the key of a series id.
func (s *Stream[K]) Key(id SeriesID) K { return s.keys[id] }

// Total returns the sealed cumulative total of a series.
func (s *Stream[K]) Total(id SeriesID) Totals { return s.series[id].up }

// Corrections returns the sealed cumulative corrections of a series.
func (s *Stream[K]) Corrections(id SeriesID) Totals {
	if d := s.series[id].down; d != nil {
		return *d
	}
	return Totals{}
}

// Poll is one read of a stream's open range, or one audit of its settled
// past, not yet sealed.
type Poll[K comparable] struct {
	s     *Stream[K]
	audit bool
	width time.Duration
	now   time.Time
	from  time.Time
	to    time.Time
	final time.Time // the watermark once sealed

	newKeys []K // series first seen in this poll, ids continue s.keys
	newIDs  map[K]SeriesID
	// read holds the values read per bucket, replacing what the stream
	// holds for it when sealed.
	read map[int64]map[SeriesID]Counters
	// differences, computed from read once asked for
	settled bool
	up      map[SeriesID]*Totals
	down    map[SeriesID]*Totals
	touched []SeriesID // series that changed, in first-change order
	stats   PollStats
}

// PollStats describe what a poll saw, for logs and telemetry.
type PollStats struct {
	Buckets        int // buckets observed
	Rows           int // series values observed
	RevisedBuckets int // buckets that had been counted before and grew
	Corrections    int // series values that went down in a bucket already counted
	Overflowed     int // rows of series beyond MaxSeries, counted in the overflow series
	Changed        int // series values that changed, up or down
	SkippedFinal   int // buckets before the watermark, ignored
	SkippedOutside int // buckets outside the requested range or misaligned
}

// Begin opens a poll at now: the poll must read [From, To), every bucket not
// final yet plus the open one. The buckets older than the revision window at
// now become final when it is sealed; Final can hold that back.
func (s *Stream[K]) Begin(now time.Time) *Poll[K] {
	now = now.UTC()
	to := now.Truncate(s.cfg.BucketWidth).Add(s.cfg.BucketWidth) // the open bucket is read too
	if !to.After(s.watermark) {
		// A clock behind the watermark (it stepped back): the bucket at the
		// watermark is the one to read.
		to = s.watermark.Add(s.cfg.BucketWidth)
	}
	p := s.newPoll(now, s.watermark, to)
	p.Final(now)
	return p
}

// BeginAudit opens an audit at now: a re-read of the settled past, final
// buckets [From, To) at the audit width, inside the audit window and since
// the settled past was kept. ok is false when there is nothing to audit.
func (s *Stream[K]) BeginAudit(now time.Time) (p *Poll[K], ok bool) {
	w := s.cfg.AuditWidth
	if w <= 0 {
		return nil, false
	}
	now = now.UTC()
	from := now.Add(-s.cfg.AuditWindow).Truncate(w)
	if floor := ceil(s.auditFrom, w); from.Before(floor) {
		from = floor
	}
	to := s.watermark.Truncate(w)
	if !from.Before(to) {
		return nil, false
	}
	p = s.newPoll(now, from, to)
	p.audit, p.width, p.final = true, w, s.watermark
	return p, true
}

func ceil(t time.Time, w time.Duration) time.Time {
	if c := t.Truncate(w); c.Before(t) {
		return c.Add(w)
	}
	return t
}

func (s *Stream[K]) newPoll(now, from, to time.Time) *Poll[K] {
	return &Poll[K]{s: s, width: s.cfg.BucketWidth, now: now, from: from, to: to, final: s.watermark,
		read: map[int64]map[SeriesID]Counters{}}
}

// Final makes the buckets older than the revision window at now final when
// the poll is sealed, and no more: the receiver passes the earlier of its
// own clock and the API's, so that a clock that runs ahead does not end a
// bucket's revisions early.
func (p *Poll[K]) Final(now time.Time) {
	final := now.UTC().Add(-p.s.cfg.RevisionWindow).Truncate(p.width)
	if final.Before(p.s.watermark) {
		final = p.s.watermark
	}
	if final.After(p.to) {
		final = p.to
	}
	p.final = final
}

// From is the start of the range the poll must read (inclusive).
func (p *Poll[K]) From() time.Time { return p.from }

// To is the end of the range the poll must read (exclusive).
func (p *Poll[K]) To() time.Time { return p.to }

// Width is the width of the buckets the poll reads.
func (p *Poll[K]) Width() time.Duration { return p.width }

// Now is the poll's time: the timestamp of the points built from it.
func (p *Poll[K]) Now() time.Time { return p.now }

// ErrBucket reports a bucket the API should not have sent.
var ErrBucket = errors.New("unexpected bucket")

// Observe records the values of one whole bucket, one entry per series; a
// series the stream counted in the bucket and absent now is 0 now. Rows of
// the same series must be summed by the caller. A bucket read twice in one
// poll is the later read. A bucket before the watermark is final and
// ignored; a bucket outside [From, To), not aligned to the poll's width, or
// with a negative value is rejected with ErrBucket and changes nothing.
func (p *Poll[K]) Observe(start, end time.Time, rows map[K]Counters) error {
	start, end = start.UTC(), end.UTC()
	w := p.width
	switch {
	case !start.Truncate(w).Equal(start) || !end.Equal(start.Add(w)):
		p.stats.SkippedOutside++
		return fmt.Errorf("%w: [%s, %s) is not one aligned %s bucket", ErrBucket, start.Format(time.RFC3339), end.Format(time.RFC3339), w)
	case start.Before(p.from) && !p.audit:
		p.stats.SkippedFinal++
		return nil
	case start.Before(p.from) || !start.Before(p.to):
		p.stats.SkippedOutside++
		return fmt.Errorf("%w: [%s, %s) is outside the requested range", ErrBucket, start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	for _, v := range rows {
		for _, x := range v {
			if x < 0 {
				p.stats.SkippedOutside++
				return fmt.Errorf("%w: [%s, %s) has a negative value", ErrBucket, start.Format(time.RFC3339), end.Format(time.RFC3339))
			}
		}
	}
	p.stats.Buckets++
	p.settled = false
	if p.newIDs == nil {
		n := 0
		if len(p.s.keys) == 0 { // a first poll: every series is new
			n = len(rows)
		}
		p.newIDs = make(map[K]SeriesID, n)
		p.newKeys = make([]K, 0, n)
	}
	now := make(map[SeriesID]Counters, len(rows))
	for key, v := range rows {
		p.stats.Rows++
		id := p.id(key)
		if sum, ok := now[id]; ok { // the overflow series: rows of several keys
			for i := range v {
				sum[i] = satAdd(sum[i], v[i])
			}
			v = sum
		}
		now[id] = v
	}
	p.read[start.Unix()] = now
	return nil
}

// satAdd adds non-negative values, stopping at math.MaxInt64: only the
// overflow series and the settled past sum values, and a sum that large is
// no count the API can have meant.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func (p *Poll[K]) id(key K) SeriesID {
	if id, ok := p.s.ids[key]; ok {
		return id
	}
	if id, ok := p.newIDs[key]; ok {
		return id
	}
	if limit := p.s.cfg.MaxSeries; limit > 0 && p.s.overflow != nil && len(p.s.keys)+len(p.newKeys) >= limit {
		if o := p.s.overflow(key); o != key {
			p.stats.Overflowed++
			return p.id(o)
		}
	}
	id := SeriesID(len(p.s.keys) + len(p.newKeys))
	p.newIDs[key] = id
	p.newKeys = append(p.newKeys, key)
	return id
}

// before is what the stream holds for bucket b.
func (p *Poll[K]) before(b int64) map[SeriesID]Counters {
	if p.audit {
		return p.s.settled[b]
	}
	return p.s.ledger[b]
}

// settle computes the poll's differences from what it read.
func (p *Poll[K]) settle() {
	if p.settled {
		return
	}
	p.settled = true
	p.up, p.down, p.touched = map[SeriesID]*Totals{}, map[SeriesID]*Totals{}, nil
	p.stats.RevisedBuckets, p.stats.Corrections, p.stats.Changed = 0, 0, 0
	for b, now := range p.read {
		before := p.before(b)
		revised := false
		for id, v := range now {
			old := before[id]
			if p.diff(id, &old, &v) && !old.IsZero() {
				revised = true
			}
		}
		for id, old := range before {
			if _, ok := now[id]; !ok {
				p.diff(id, &old, &Counters{})
			}
		}
		if revised {
			p.stats.RevisedBuckets++
		}
	}
}

// diff adds the differences of one series in one bucket; it reports whether
// a value grew.
func (p *Poll[K]) diff(id SeriesID, old, now *Counters) (grew bool) {
	fell := false
	for i := range now {
		switch nv, ov := now[i], old[i]; {
		case nv > ov:
			t := p.totalsFor(p.up, id)
			t[i] = t[i].Add(nv - ov) // both >= 0: no overflow
			grew = true
		case nv < ov:
			t := p.totalsFor(p.down, id)
			t[i] = t[i].Add(ov - nv)
			fell = true
		}
	}
	if fell {
		p.stats.Corrections++
	}
	if grew || fell {
		p.stats.Changed++
	}
	return grew
}

func (p *Poll[K]) totalsFor(m map[SeriesID]*Totals, id SeriesID) *Totals {
	t := m[id]
	if t == nil {
		if p.up[id] == nil && p.down[id] == nil { // the first change of id
			p.touched = append(p.touched, id)
		}
		t = &Totals{}
		m[id] = t
	}
	return t
}

// Stats is what the poll saw.
func (p *Poll[K]) Stats() PollStats {
	p.settle()
	return p.stats
}

// Key returns the key of a series id, including series new in this poll.
func (p *Poll[K]) Key(id SeriesID) K {
	if int(id) < len(p.s.keys) {
		return p.s.keys[id]
	}
	return p.newKeys[int(id)-len(p.s.keys)]
}

// Increases yields every series whose counters grew in this poll, in a
// stable order (first change first), with the increase: the points of a
// delta emission.
func (p *Poll[K]) Increases() iter.Seq2[K, Totals] {
	return p.changes(func() map[SeriesID]*Totals { return p.up })
}

// Decreases yields every series whose counters went down in this poll, with
// the decrease: the corrections points of a delta emission.
func (p *Poll[K]) Decreases() iter.Seq2[K, Totals] {
	return p.changes(func() map[SeriesID]*Totals { return p.down })
}

func (p *Poll[K]) changes(m func() map[SeriesID]*Totals) iter.Seq2[K, Totals] {
	return func(yield func(K, Totals) bool) {
		p.settle()
		for _, id := range p.touched {
			if t := m()[id]; t != nil && !yield(p.Key(id), *t) {
				return
			}
		}
	}
}

// Totals yields every series the stream keeps, in the order they were
// first seen, with its cumulative total including this poll: the points of
// a cumulative emission.
func (p *Poll[K]) Totals() iter.Seq2[K, Totals] {
	return func(yield func(K, Totals) bool) {
		p.settle()
		for id := range SeriesID(len(p.s.keys) + len(p.newKeys)) {
			var t Totals
			if int(id) < len(p.s.series) {
				t = p.s.series[id].up
			}
			if inc := p.up[id]; inc != nil {
				t.add(inc)
			}
			if !yield(p.Key(id), t) {
				return
			}
		}
	}
}

// CorrectionTotals yields every series with corrections, with its
// cumulative corrections including this poll.
func (p *Poll[K]) CorrectionTotals() iter.Seq2[K, Totals] {
	return func(yield func(K, Totals) bool) {
		p.settle()
		for id := range SeriesID(len(p.s.keys) + len(p.newKeys)) {
			var t Totals
			if int(id) < len(p.s.series) && p.s.series[id].down != nil {
				t = *p.s.series[id].down
			}
			if dec := p.down[id]; dec != nil {
				t.add(dec)
			}
			if !t.IsZero() && !yield(p.Key(id), t) {
				return
			}
		}
	}
}

// Seal makes the poll part of the stream, for good: values read, totals,
// corrections, the watermark and the emission time. Call it once, when the
// batch built from the poll is handed over for delivery.
func (p *Poll[K]) Seal() {
	p.settle()
	s := p.s
	for _, k := range p.newKeys {
		s.ids[k] = SeriesID(len(s.keys))
		s.keys = append(s.keys, k)
		s.series = append(s.series, series{})
	}
	for _, id := range p.touched {
		sr := &s.series[id]
		if inc := p.up[id]; inc != nil {
			sr.up.add(inc)
		}
		if dec := p.down[id]; dec != nil {
			if sr.down == nil {
				sr.down = &Totals{}
			}
			sr.down.add(dec)
		}
		sr.changed = p.now.UnixNano()
	}
	if p.audit {
		for b, now := range p.read {
			s.settled[b] = now
		}
		s.lastAudit = p.now
	} else {
		for b, now := range p.read {
			s.ledger[b] = now
		}
		// Buckets before the new watermark were read in this poll while
		// older than the revision window: final, so they leave the ledger
		// for good, into the settled past.
		cut := p.final.Unix()
		for b, rows := range s.ledger {
			if b < cut {
				s.settle(b, rows)
				delete(s.ledger, b)
			}
		}
		s.watermark = p.final
	}
	if s.lastAudit.IsZero() && s.settled != nil {
		// A first read is as good as an audit: the next is due an audit
		// interval later.
		s.lastAudit = p.now
	}
	s.lastEmit = p.now
	s.forget(p.now)
}

// SealAt seals the poll as Seal does, with emitted as the emission time:
// the timestamp of the batch built from it.
func (p *Poll[K]) SealAt(emitted time.Time) {
	p.now = emitted.UTC()
	p.Seal()
}

// settle folds a final bucket into the settled past.
func (s *Stream[K]) settle(b int64, rows map[SeriesID]Counters) {
	if s.settled == nil {
		return
	}
	w := int64(s.cfg.AuditWidth / time.Second)
	c := b - (b%w+w)%w
	sum := s.settled[c]
	if sum == nil {
		sum = make(map[SeriesID]Counters, len(rows))
		s.settled[c] = sum
	}
	for id, v := range rows {
		t := sum[id]
		for i := range v {
			t[i] = satAdd(t[i], v[i])
		}
		sum[id] = t
	}
}

// forget drops what no audit reads any more, and the series that expired.
func (s *Stream[K]) forget(now time.Time) {
	if s.settled != nil {
		oldest := now.Add(-s.cfg.AuditWindow).Truncate(s.cfg.AuditWidth).Unix()
		for b := range s.settled {
			if b < oldest {
				delete(s.settled, b)
			}
		}
	}
	if s.cfg.SeriesExpiry <= 0 {
		return
	}
	cutoff := now.Add(-s.cfg.SeriesExpiry).UnixNano()
	expired := 0
	for i := range s.series {
		if s.series[i].changed < cutoff {
			expired++
		}
	}
	if expired == 0 {
		return
	}
	held := map[SeriesID]bool{}
	for _, m := range []map[int64]map[SeriesID]Counters{s.ledger, s.settled} {
		for _, rows := range m {
			for id := range rows {
				held[id] = true
			}
		}
	}
	s.compact(func(id SeriesID) bool { return s.series[id].changed >= cutoff || held[id] })
}

// compact keeps the series keep says to, with new dense ids.
func (s *Stream[K]) compact(keep func(SeriesID) bool) {
	remap := make([]SeriesID, len(s.keys))
	keys, ser := s.keys[:0:0], s.series[:0:0]
	for i := range s.keys {
		id := SeriesID(i)
		if !keep(id) {
			remap[id] = math.MaxUint32
			delete(s.ids, s.keys[id])
			continue
		}
		remap[id] = SeriesID(len(keys))
		s.ids[s.keys[id]] = remap[id]
		keys = append(keys, s.keys[id])
		ser = append(ser, s.series[id])
	}
	if len(keys) == len(s.keys) {
		return
	}
	for _, m := range []map[int64]map[SeriesID]Counters{s.ledger, s.settled} {
		for b, rows := range m {
			moved := make(map[SeriesID]Counters, len(rows))
			for id, v := range rows {
				moved[remap[id]] = v
			}
			m[b] = moved
		}
	}
	s.keys, s.series = keys, ser
}

// Totals yields every series the stream keeps, with its sealed cumulative
// total: what a cumulative emission repeats between polls.
func (s *Stream[K]) Totals() iter.Seq2[K, Totals] {
	return func(yield func(K, Totals) bool) {
		for i, k := range s.keys {
			if !yield(k, s.series[i].up) {
				return
			}
		}
	}
}

// CorrectionTotals yields every series with corrections, with its sealed
// cumulative corrections.
func (s *Stream[K]) CorrectionTotals() iter.Seq2[K, Totals] {
	return func(yield func(K, Totals) bool) {
		for i, k := range s.keys {
			if d := s.series[i].down; d != nil && !yield(k, *d) {
				return
			}
		}
	}
}

// SealThrough seals what the poll observed so far, as Seal does, but moves
// the watermark no further than through (the end of the last bucket read),
// and records emitted as the emission time. It is for a long read that is
// emitted page by page: the rest of the range is read by the next poll,
// which Begin starts at the new watermark.
func (p *Poll[K]) SealThrough(through, emitted time.Time) {
	if through.Before(p.final) {
		p.final = through
	}
	if p.final.Before(p.s.watermark) {
		p.final = p.s.watermark
	}
	p.now = emitted
	p.Seal()
}
