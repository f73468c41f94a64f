// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package accounting

// FuzzStream drives a Stream with arbitrary sequences of polls — time
// advances, buckets (in range, before the watermark, after the range,
// misaligned, of the wrong width, repeated), series, values (growing,
// shrinking, negative, near MaxInt64), seals, page-by-page seals and
// abandons — and checks it against a reference model kept here: per
// (bucket, series, counter) the value last read in sealed polls, buckets
// forgotten once final, totals and corrections in math/big. Invariants: no
// panic; totals and corrections never decrease and never overflow; after
// each seal the stream's totals and corrections per series and counter are
// the reference's sums exactly; a bucket before the watermark never changes
// anything; an abandoned poll changes nothing; the ledger holds exactly the
// (bucket, series) pairs of the window.
//
// The seed corpora under testdata/fuzz are written by `make fuzz-seeds`,
// that is `go test -run TestWriteFuzzSeeds ./internal/accounting -write-fuzz-seeds`.

import (
	"errors"
	"flag"
	"fmt"
	"iter"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/fuzzcorpus"
)

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the seed corpora under testdata/fuzz from the seeds in the fuzz tests")

// fzInput reads the fuzz bytes; past the end it reads zeros.
type fzInput struct {
	b []byte
	i int
}

func (r *fzInput) next() byte {
	if r.i >= len(r.b) {
		r.i++
		return 0
	}
	v := r.b[r.i]
	r.i++
	return v
}

func (r *fzInput) done() bool { return r.i >= len(r.b) }

var fzSeries = [4]string{"a", "b", "c", "d"}

// fzValue maps one byte to a counter value: mostly small, some negative,
// some near MaxInt64.
func fzValue(v byte) int64 {
	switch {
	case v == 0xff:
		return math.MaxInt64 - 1000
	case v == 0xfe:
		return math.MaxInt64 / 3
	case v >= 0xf0:
		return -int64(v - 0xef)
	}
	return int64(v)
}

// fzRef is the reference model.
type fzRef struct {
	width, revision time.Duration
	watermark       time.Time
	ledger          map[int64]map[string]Counters // bucket -> series -> value last read
	totals, down    map[string]*fzBig             // exact, whatever their size
	series          map[string]bool
}

// fzBig is a series' totals as the reference keeps them.
type fzBig [Width]*big.Int

func newFzBig() *fzBig {
	var b fzBig
	for i := range b {
		b[i] = new(big.Int)
	}
	return &b
}

func (b *fzBig) clone() *fzBig {
	c := newFzBig()
	for i := range b {
		c[i].Set(b[i])
	}
	return c
}

// toBig is a Total as a big.Int.
func toBig(t Total) *big.Int {
	v := new(big.Int).SetUint64(t.hi)
	v.Lsh(v, 64)
	return v.Add(v, new(big.Int).SetUint64(t.lo))
}

func bigTotals(m map[string]Totals) map[string]*fzBig {
	out := map[string]*fzBig{}
	for k, t := range m {
		b := newFzBig()
		for i := range t {
			b[i] = toBig(t[i])
		}
		out[k] = b
	}
	return out
}

func (r *fzRef) entries() int {
	n := 0
	for _, b := range r.ledger {
		n += len(b)
	}
	return n
}

// fzPoll is the reference's view of an open poll.
type fzPoll struct {
	from, to, final time.Time
	read            map[int64]map[string]Counters
	seen            map[string]bool // every series observed, even in a read replaced since
	totals, down    map[string]*fzBig
	series          map[string]bool
}

func (r *fzRef) begin(now time.Time) *fzPoll {
	now = now.UTC()
	to := now.Truncate(r.width).Add(r.width)
	final := now.Add(-r.revision).Truncate(r.width)
	if final.Before(r.watermark) {
		final = r.watermark
	}
	if final.After(to) {
		final = to
	}
	p := &fzPoll{from: r.watermark, to: to, final: final, read: map[int64]map[string]Counters{}, seen: map[string]bool{}}
	p.settle(r)
	return p
}

// observe applies a bucket the stream accepted: the later read of a bucket
// replaces the earlier.
func (r *fzRef) observe(p *fzPoll, start time.Time, rows map[string]Counters) {
	p.read[start.Unix()] = rows
	for k := range rows {
		p.seen[k] = true
	}
	p.settle(r)
}

// settle computes the poll's totals from the sealed ones and what it read.
func (p *fzPoll) settle(r *fzRef) {
	p.totals, p.down, p.series = map[string]*fzBig{}, map[string]*fzBig{}, map[string]bool{}
	for k, v := range r.totals {
		p.totals[k] = v.clone()
	}
	for k, v := range r.down {
		p.down[k] = v.clone()
	}
	for k := range r.series {
		p.series[k] = true
	}
	for k := range p.seen {
		p.series[k] = true
		if p.totals[k] == nil {
			p.totals[k] = newFzBig()
		}
	}
	add := func(m map[string]*fzBig, k string, i int, d int64) {
		if m[k] == nil {
			m[k] = newFzBig()
		}
		m[k][i].Add(m[k][i], big.NewInt(d))
	}
	for b, rows := range p.read {
		keys := map[string]bool{}
		for k := range rows {
			keys[k] = true
			p.series[k] = true
			if p.totals[k] == nil {
				p.totals[k] = newFzBig()
			}
		}
		for k := range r.ledger[b] {
			keys[k] = true
		}
		for k := range keys {
			old, now := r.ledger[b][k], rows[k]
			for i := range now {
				switch {
				case now[i] > old[i]:
					add(p.totals, k, i, now[i]-old[i])
				case now[i] < old[i]:
					add(p.down, k, i, old[i]-now[i])
				}
			}
		}
	}
}

func (r *fzRef) seal(p *fzPoll, final time.Time) {
	for b, rows := range p.read {
		r.ledger[b] = rows
	}
	r.totals, r.down, r.series = p.totals, p.down, p.series
	r.watermark = final
	for b := range r.ledger {
		if b < final.Unix() {
			delete(r.ledger, b)
		}
	}
}

func fzTotals[K comparable](each func() iter.Seq2[K, Totals]) map[K]Totals {
	out := map[K]Totals{}
	for k, c := range each() {
		out[k] = c
	}
	return out
}

// fzCheck compares totals with the reference's, counter by counter, and
// checks that nothing went down since before.
func fzCheck(t *testing.T, when string, got, before map[string]Totals, want map[string]*fzBig) {
	t.Helper()
	for k, w := range want { // corrections: the reference keeps zeros
		if _, ok := got[k]; !ok && isZeroBig(w) {
			delete(want, k)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d series, the reference has %d", when, len(got), len(want))
	}
	for k, g := range got {
		w := want[k]
		if w == nil {
			t.Fatalf("%s: series %q unknown to the reference", when, k)
		}
		for i := range g {
			gi := toBig(g[i])
			if b := toBig(before[k][i]); gi.Cmp(b) < 0 {
				t.Fatalf("%s: total %q[%d] went down from %s to %s", when, k, i, b, gi)
			}
			if gi.Cmp(w[i]) != 0 {
				t.Fatalf("%s: total %q[%d] = %s, the reference has %s", when, k, i, gi, w[i])
			}
		}
	}
}

func isZeroBig(b *fzBig) bool {
	for _, v := range b {
		if v.Sign() != 0 {
			return false
		}
	}
	return true
}

var fzStart = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)

func FuzzStream(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fzInput{b: data}
		h := in.next()
		width := time.Minute
		if h&0x80 != 0 {
			width = time.Hour
		}
		ref := &fzRef{width: width, revision: time.Duration(h%8) * width,
			ledger: map[int64]map[string]Counters{}, totals: map[string]*fzBig{}, down: map[string]*fzBig{}, series: map[string]bool{}}
		now := fzStart.Add(time.Duration(in.next()%60) * time.Second)
		s, err := NewStream[string](Config{BucketWidth: width, RevisionWindow: ref.revision, Start: now})
		if err != nil {
			t.Fatal(err)
		}
		ref.watermark = s.Watermark()
		if !ref.watermark.Equal(now.Truncate(width)) {
			t.Fatalf("the stream starts at %s, not at the start of %s's bucket", ref.watermark, now)
		}
		for poll := 0; !in.done() && poll < 200; poll++ {
			adv := in.next()
			if adv >= 0xc0 {
				now = now.Add(time.Duration(adv&0x3f) * 10 * width) // a long gap: a catch-up
			} else {
				now = now.Add(time.Duration(adv%64) * width / 4)
			}
			before := fzTotals[string](s.Totals)
			beforeDown := fzTotals[string](s.CorrectionTotals)
			wm, entries, nseries, lastEmit := s.Watermark(), s.LedgerEntries(), s.Series(), s.LastEmit()
			p := s.Begin(now)
			rp := ref.begin(now)
			if !p.From().Equal(rp.from) || !p.To().Equal(rp.to) {
				t.Fatalf("poll %d at %s reads [%s, %s), the reference [%s, %s)", poll, now, p.From(), p.To(), rp.from, rp.to)
			}
			var readTo time.Time
			for range in.next() % 5 {
				o := in.next()
				start := rp.from.Add(time.Duration(int(int8(o)>>2)%10) * width)
				if o&1 != 0 {
					start = start.Add(width / 3)
				}
				end := start.Add(width)
				if o&2 != 0 {
					end = start.Add(width / 2)
				}
				rows := map[string]Counters{}
				for range in.next() % 4 {
					k := fzSeries[in.next()%4]
					var c Counters
					for i := range c {
						c[i] = fzValue(in.next())
					}
					rows[k] = c
				}
				pollBefore := fzTotals[string](p.Totals)
				err := p.Observe(start, end, rows)
				aligned := start.Truncate(width).Equal(start) && end.Equal(start.Add(width))
				negative := false
				for _, c := range rows {
					for _, v := range c {
						negative = negative || v < 0
					}
				}
				switch {
				case !aligned || !start.Before(rp.to) || negative && !start.Before(rp.from):
					if !errors.Is(err, ErrBucket) {
						t.Fatalf("poll %d: bucket [%s, %s) outside [%s, %s) or misaligned: got %v, want ErrBucket", poll, start, end, rp.from, rp.to, err)
					}
				case err != nil:
					t.Fatalf("poll %d: bucket [%s, %s): %v", poll, start, end, err)
				case start.Before(rp.from):
					readTo = end
				default:
					readTo = end
					ref.observe(rp, start, rows)
				}
				if err != nil || start.Before(rp.from) {
					fzCheck(t, fmt.Sprintf("poll %d, after a bucket before the watermark or rejected", poll),
						fzTotals[string](p.Totals), pollBefore, bigTotals(pollBefore))
				}
			}
			// Before the seal: what the poll would emit.
			pt := fzTotals[string](p.Totals)
			fzCheck(t, fmt.Sprintf("poll %d before seal", poll), pt, before, rp.totals)
			fzCheck(t, fmt.Sprintf("poll %d corrections before seal", poll), fzTotals[string](p.CorrectionTotals), beforeDown, rp.down)
			inc := fzTotals[string](p.Increases)
			for k, total := range pt {
				for i := range total {
					sum := new(big.Int).Add(toBig(before[k][i]), toBig(inc[k][i]))
					if toBig(total[i]).Cmp(sum) != 0 {
						t.Fatalf("poll %d: %q[%d]: total %s is not the sealed %s plus the increase %s", poll, k, i, toBig(total[i]), toBig(before[k][i]), toBig(inc[k][i]))
					}
				}
			}
			switch mode := in.next() % 4; {
			case mode == 0: // a read that failed: abandoned
				if !s.Watermark().Equal(wm) || s.LedgerEntries() != entries || s.Series() != nseries || !s.LastEmit().Equal(lastEmit) {
					t.Fatalf("poll %d: an unsealed poll changed the stream", poll)
				}
				fzCheck(t, fmt.Sprintf("poll %d abandoned", poll), fzTotals[string](s.Totals), before, ref.totals)
				continue
			case mode == 3 && !readTo.IsZero(): // a page of a long read
				emitted := readTo
				if !emitted.After(s.LastEmit()) {
					emitted = s.LastEmit().Add(time.Millisecond)
				}
				final := rp.final
				if readTo.Before(final) {
					final = readTo
				}
				if final.Before(ref.watermark) {
					final = ref.watermark
				}
				p.SealThrough(readTo, emitted)
				ref.seal(rp, final)
				lastEmit = emitted
			default:
				p.Seal()
				ref.seal(rp, rp.final)
				lastEmit = now.UTC()
			}
			if !s.Watermark().Equal(ref.watermark) || !s.LastEmit().Equal(lastEmit) {
				t.Fatalf("poll %d: watermark %s, last emission %s; the reference says %s, %s", poll, s.Watermark(), s.LastEmit(), ref.watermark, lastEmit)
			}
			if s.LedgerEntries() != ref.entries() || s.Series() != len(ref.series) {
				t.Fatalf("poll %d: %d ledger entries and %d series; the reference has %d and %d", poll, s.LedgerEntries(), s.Series(), ref.entries(), len(ref.series))
			}
			fzCheck(t, fmt.Sprintf("poll %d sealed", poll), fzTotals[string](s.Totals), before, ref.totals)
			fzCheck(t, fmt.Sprintf("poll %d corrections sealed", poll), fzTotals[string](s.CorrectionTotals), beforeDown, ref.down)
		}
	})
}

// Seeds.

type fzSeedRow struct {
	series byte
	vals   [Width]byte
}

type fzSeedObs struct {
	bucket          int // relative to the poll's From, -9..9
	misaligned, odd bool
	rows            []fzSeedRow
}

type fzSeedPoll struct {
	adv  byte // as read: < 0xc0 quarter widths, >= 0xc0 a long gap
	obs  []fzSeedObs
	mode byte // 0 abandon, 1 seal, 3 seal through the last bucket read
}

func fzEncode(header, start byte, polls ...fzSeedPoll) []byte {
	b := []byte{header, start}
	for _, p := range polls {
		b = append(b, p.adv, byte(len(p.obs)))
		for _, o := range p.obs {
			v := byte(int8(o.bucket << 2))
			if o.misaligned {
				v |= 1
			}
			if o.odd {
				v |= 2
			}
			b = append(b, v, byte(len(o.rows)))
			for _, r := range o.rows {
				b = append(b, r.series)
				b = append(b, r.vals[:]...)
			}
		}
		b = append(b, p.mode)
	}
	return b
}

func fzRow(series byte, vals ...byte) fzSeedRow {
	r := fzSeedRow{series: series}
	copy(r.vals[:], vals)
	return r
}

// fzEveryMinute reads the buckets [From, From+n) of series a and b with the
// value v each, once a minute, sealed.
func fzEveryMinute(polls int, v func(poll, bucket int) byte) []fzSeedPoll {
	var out []fzSeedPoll
	for i := range polls {
		p := fzSeedPoll{adv: 4, mode: 1}
		for bk := 0; bk < 4; bk++ {
			p.obs = append(p.obs, fzSeedObs{bucket: bk, rows: []fzSeedRow{fzRow(0, v(i, bk)), fzRow(1, 0, v(i, bk))}})
		}
		out = append(out, p)
	}
	return out
}

func streamSeeds() map[string][]byte {
	grow := fzEveryMinute(6, func(poll, bucket int) byte { return byte(10 + 3*poll + bucket) })
	one := func(bucket int, rows ...fzSeedRow) fzSeedObs { return fzSeedObs{bucket: bucket, rows: rows} }
	return map[string][]byte{
		"empty":        {},
		"late_data":    fzEncode(5, 0, grow...),
		"late_data_1h": fzEncode(0x80|2, 30, fzEveryMinute(8, func(poll, bucket int) byte { return byte(poll*bucket + 1) })...),
		"abandon_then_commit": fzEncode(5, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 10))}, mode: 1},
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 15))}, mode: 0},
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 18))}, mode: 1}),
		"correction": fzEncode(5, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 20, 20))}, mode: 1},
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 12, 25))}, mode: 1},
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 22, 5))}, mode: 1}),
		"bucket_repeated": fzEncode(5, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(1, fzRow(0, 10)), one(1, fzRow(0, 7), fzRow(1, 3)), one(1, fzRow(0, 12))}, mode: 1}),
		"misaligned_and_wrong_width": fzEncode(5, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{{bucket: 0, misaligned: true, rows: []fzSeedRow{fzRow(0, 50)}}, {bucket: 1, odd: true, rows: []fzSeedRow{fzRow(0, 60)}}, one(0, fzRow(0, 1))}, mode: 1}),
		"before_watermark": fzEncode(1, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 10))}, mode: 1},
			fzSeedPoll{adv: 40, obs: []fzSeedObs{one(-1, fzRow(0, 99)), one(-9, fzRow(2, 99)), one(0, fzRow(0, 5))}, mode: 1},
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(-2, fzRow(0, 200))}, mode: 1}),
		"after_range": fzEncode(5, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(9, fzRow(0, 10)), one(2, fzRow(0, 10))}, mode: 1}),
		"negative_values": fzEncode(5, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 0xf5, 3, 0xf0))}, mode: 1},
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 4, 0xf1, 1))}, mode: 1}),
		"overflow": fzEncode(7, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 0xff, 0xfe)), one(1, fzRow(0, 0xff, 0xfe))}, mode: 1},
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(2, fzRow(0, 0xfe, 0xfe)), one(0, fzRow(0, 0xff, 0xff))}, mode: 1}),
		"catch_up_page_by_page": fzEncode(2, 0,
			fzSeedPoll{adv: 4, obs: []fzSeedObs{one(0, fzRow(0, 1))}, mode: 1},
			fzSeedPoll{adv: 0xc0 | 12, obs: []fzSeedObs{one(0, fzRow(0, 5)), one(1, fzRow(1, 5)), one(2, fzRow(0, 5))}, mode: 3},
			fzSeedPoll{adv: 0, obs: []fzSeedObs{one(0, fzRow(0, 7)), one(1, fzRow(3, 5))}, mode: 3},
			fzSeedPoll{adv: 0, obs: []fzSeedObs{one(0, fzRow(0, 9))}, mode: 1}),
		"no_revision_window": fzEncode(0, 17, fzEveryMinute(4, func(poll, bucket int) byte { return byte(poll + bucket) })...),
		"unaligned_start":    fzEncode(3, 59, grow[:3]...),
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeFuzzSeeds {
		t.Skip("run with -write-fuzz-seeds to rewrite testdata/fuzz")
	}
	fuzzcorpus.Write(t, "FuzzStream", fuzzcorpus.Bytes(streamSeeds()))
	fuzzcorpus.Write(t, "FuzzRestore", fuzzcorpus.Bytes(restoreSeeds(t)))
}
