// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

// Package accounting turns re-read, still-changing report buckets into exact
// running totals.
//
// The Admin API keeps revising a bucket after it closes. A Stream remembers,
// for every bucket still inside the revision window, what it has already
// counted per series, and counts only the increase when the bucket is read
// again. A bucket older than the window is final: it is read one last time,
// then forgotten, and never read again. Values that go down are corrections:
// they are reported, and never make a counter go backwards.
//
// A poll is a transaction. Begin computes what the poll adds against the
// sealed state; nothing changes until Seal. A poll that is abandoned (a
// failed request, a page that cannot be read) leaves the Stream as it was,
// and the next poll reads the same buckets again and finds the same
// increase. The receiver seals a poll together with the batch of points
// built from it, and from then on that batch is the only carrier of the
// poll's increases: it is sent, unchanged, until the pipeline accepts it.
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

// SeriesID is a stream's dense id for a series key.
type SeriesID uint32

// Config shapes a Stream.
type Config struct {
	BucketWidth    time.Duration // 1m, 1h or 1d
	RevisionWindow time.Duration // closed buckets younger than this are re-read
	Start          time.Time     // start of the first lookback; aligned down to BucketWidth
}

type entry struct {
	counted   Counters
	corrected bool // a decrease was already reported for this entry
}

// Stream is the exact accounting of one report with one query shape. It is
// not safe for concurrent use; the scraper polls one report at a time.
type Stream[K comparable] struct {
	width    time.Duration
	revision time.Duration
	start    time.Time
	// watermark: every bucket that starts before it is final.
	watermark time.Time
	lastEmit  time.Time

	ids    map[K]SeriesID
	keys   []K
	totals []Totals // cumulative totals by SeriesID, since start
	// ledger holds what was counted per bucket (unix seconds of its start)
	// for buckets at or after the watermark only.
	ledger map[int64]map[SeriesID]*entry
}

// NewStream starts an empty stream.
func NewStream[K comparable](cfg Config) (*Stream[K], error) {
	if cfg.BucketWidth <= 0 || cfg.RevisionWindow < 0 {
		return nil, errors.New("accounting: bucket width must be positive and revision window not negative")
	}
	start := cfg.Start.UTC().Truncate(cfg.BucketWidth)
	return &Stream[K]{
		width:     cfg.BucketWidth,
		revision:  cfg.RevisionWindow,
		start:     start,
		watermark: start,
		lastEmit:  start,
		ids:       map[K]SeriesID{},
		ledger:    map[int64]map[SeriesID]*entry{},
	}, nil
}

// Start is the start of the stream: the start timestamp of cumulative points.
func (s *Stream[K]) Start() time.Time { return s.start }

// Watermark is the start of the oldest bucket that is not final yet.
func (s *Stream[K]) Watermark() time.Time { return s.watermark }

// LastEmit is the time of the last sealed poll: the start timestamp of
// the next delta points.
func (s *Stream[K]) LastEmit() time.Time { return s.lastEmit }

// Series is the number of series the stream has seen.
func (s *Stream[K]) Series() int { return len(s.keys) }

// LedgerEntries is the number of (bucket, series) values remembered: the
// state the revision window costs.
func (s *Stream[K]) LedgerEntries() int {
	n := 0
	for _, b := range s.ledger {
		n += len(b)
	}
	return n
}

// Key returns the key of a series id.
func (s *Stream[K]) Key(id SeriesID) K { return s.keys[id] }

// Total returns the sealed cumulative total of a series.
func (s *Stream[K]) Total(id SeriesID) Totals { return s.totals[id] }

// Poll is one read of a stream's open range, not yet sealed.
type Poll[K comparable] struct {
	s     *Stream[K]
	now   time.Time
	from  time.Time
	to    time.Time
	final time.Time // the watermark once sealed

	newKeys []K // series first seen in this poll, ids continue s.keys
	newIDs  map[K]SeriesID
	// pending ledger values for buckets this poll read
	pending map[int64]map[SeriesID]*entry
	inc     map[SeriesID]*Totals
	touched []SeriesID // series with an increase, in first-increase order

	Stats PollStats
}

// PollStats describe what a poll saw, for logs and telemetry.
type PollStats struct {
	Buckets        int // buckets observed
	Rows           int // series values observed
	RevisedBuckets int // buckets that had been counted before and grew
	Corrections    int // values that went down, first seen in this poll
	SkippedFinal   int // buckets before the watermark, ignored
	SkippedOutside int // buckets outside the requested range or misaligned
}

// Begin opens a poll at now. The poll must read [From, To): every bucket not
// final yet plus the open one.
func (s *Stream[K]) Begin(now time.Time) *Poll[K] {
	now = now.UTC()
	to := now.Truncate(s.width).Add(s.width) // the open bucket is read too
	final := now.Add(-s.revision).Truncate(s.width)
	if final.Before(s.watermark) {
		final = s.watermark
	}
	if final.After(to) {
		final = to
	}
	return &Poll[K]{
		s:       s,
		now:     now,
		from:    s.watermark,
		to:      to,
		final:   final,
		pending: map[int64]map[SeriesID]*entry{},
		inc:     map[SeriesID]*Totals{},
	}
}

// From is the start of the range the poll must read (inclusive).
func (p *Poll[K]) From() time.Time { return p.from }

// To is the end of the range the poll must read (exclusive).
func (p *Poll[K]) To() time.Time { return p.to }

// Now is the poll's time: the timestamp of the points built from it.
func (p *Poll[K]) Now() time.Time { return p.now }

// ErrBucket reports a bucket the API should not have sent.
var ErrBucket = errors.New("unexpected bucket")

// Observe records the values of one bucket, one entry per series. Rows of
// the same series must be summed by the caller. A bucket before the
// watermark is final and ignored; a bucket outside [From, To) or not aligned
// to the bucket width is rejected with ErrBucket and changes nothing.
func (p *Poll[K]) Observe(start, end time.Time, rows map[K]Counters) error {
	start, end = start.UTC(), end.UTC()
	switch {
	case !start.Truncate(p.s.width).Equal(start) || !end.Equal(start.Add(p.s.width)):
		p.Stats.SkippedOutside++
		return fmt.Errorf("%w: [%s, %s) is not one aligned %s bucket", ErrBucket, start.Format(time.RFC3339), end.Format(time.RFC3339), p.s.width)
	case start.Before(p.from):
		p.Stats.SkippedFinal++
		return nil
	case !start.Before(p.to):
		p.Stats.SkippedOutside++
		return fmt.Errorf("%w: [%s, %s) is after the requested range", ErrBucket, start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	p.Stats.Buckets++
	b := start.Unix()
	sealed := p.s.ledger[b]
	pend := p.pending[b]
	if pend == nil {
		pend = make(map[SeriesID]*entry, len(rows))
		p.pending[b] = pend
	}
	if p.newIDs == nil {
		n := 0
		if len(p.s.keys) == 0 { // a first poll: every series is new
			n = len(rows)
		}
		p.newIDs = make(map[K]SeriesID, n)
		p.newKeys = make([]K, 0, n)
	}
	// The entries of a bucket live and die with it: one allocation for all.
	slab := make([]entry, 0, len(rows))
	revised := false
	for key, v := range rows {
		p.Stats.Rows++
		id := p.id(key)
		e := pend[id]
		if e == nil {
			slab = append(slab, entry{})
			e = &slab[len(slab)-1]
			if c := sealed[id]; c != nil {
				*e = *c
			}
			pend[id] = e
		}
		var inc *Totals
		wasCounted := !e.counted.IsZero()
		for i, nv := range v {
			ov := e.counted[i]
			switch {
			case nv > ov:
				if inc == nil {
					inc = p.incFor(id)
				}
				inc[i] = inc[i].Add(nv - ov) // both >= 0: no overflow
				e.counted[i] = nv
			case nv < ov && !e.corrected:
				e.corrected = true
				p.Stats.Corrections++
			}
		}
		if inc != nil && wasCounted {
			revised = true
		}
	}
	if revised {
		p.Stats.RevisedBuckets++
	}
	return nil
}

func (p *Poll[K]) id(key K) SeriesID {
	if id, ok := p.s.ids[key]; ok {
		return id
	}
	if id, ok := p.newIDs[key]; ok {
		return id
	}
	id := SeriesID(len(p.s.keys) + len(p.newKeys))
	p.newIDs[key] = id
	p.newKeys = append(p.newKeys, key)
	return id
}

func (p *Poll[K]) incFor(id SeriesID) *Totals {
	c := p.inc[id]
	if c == nil {
		c = &Totals{}
		p.inc[id] = c
		p.touched = append(p.touched, id)
	}
	return c
}

func (s *Stream[K]) totalOf(id SeriesID) Totals {
	if int(id) < len(s.totals) {
		return s.totals[id]
	}
	return Totals{}
}

// Key returns the key of a series id, including series new in this poll.
func (p *Poll[K]) Key(id SeriesID) K {
	if int(id) < len(p.s.keys) {
		return p.s.keys[id]
	}
	return p.newKeys[int(id)-len(p.s.keys)]
}

// Increases yields every series whose counters grew in this poll, in a
// stable order (first increase first), with the increase: the points of a
// delta emission.
func (p *Poll[K]) Increases() iter.Seq2[K, Totals] {
	return func(yield func(K, Totals) bool) {
		for _, id := range p.touched {
			if !yield(p.Key(id), *p.inc[id]) {
				return
			}
		}
	}
}

// Totals yields every series the stream knows, in the order they were first
// seen, with its cumulative total including this poll: the points of a
// cumulative emission.
func (p *Poll[K]) Totals() iter.Seq2[K, Totals] {
	return func(yield func(K, Totals) bool) {
		n := len(p.s.keys) + len(p.newKeys)
		for i := range n {
			id := SeriesID(i)
			t := p.s.totalOf(id)
			if inc := p.inc[id]; inc != nil {
				for j := range t {
					t[j] = t[j].plus(inc[j])
				}
			}
			if !yield(p.Key(id), t) {
				return
			}
		}
	}
}

// Seal makes the poll part of the stream, for good: counted values, totals,
// the watermark and the emission time. Call it once, when the batch built
// from the poll is handed over for delivery.
func (p *Poll[K]) Seal() {
	s := p.s
	for _, k := range p.newKeys {
		s.ids[k] = SeriesID(len(s.keys))
		s.keys = append(s.keys, k)
	}
	for len(s.totals) < len(s.keys) {
		s.totals = append(s.totals, Totals{})
	}
	for id, inc := range p.inc {
		for i := range inc {
			s.totals[id][i] = s.totals[id][i].plus(inc[i])
		}
	}
	for b, pend := range p.pending {
		sealed := s.ledger[b]
		if sealed == nil {
			s.ledger[b] = pend
			continue
		}
		for id, e := range pend {
			sealed[id] = e
		}
	}
	// Buckets before the new watermark were read in this poll while older
	// than the revision window: final, so they leave the ledger for good.
	cut := p.final.Unix()
	for b := range s.ledger {
		if b < cut {
			delete(s.ledger, b)
		}
	}
	s.watermark = p.final
	s.lastEmit = p.now
}

// Totals yields every series the stream knows, with its sealed cumulative
// total: what a cumulative emission repeats between polls.
func (s *Stream[K]) Totals() iter.Seq2[K, Totals] {
	return func(yield func(K, Totals) bool) {
		for i, k := range s.keys {
			if !yield(k, s.totals[i]) {
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
