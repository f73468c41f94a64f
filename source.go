// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// reportAPI is what the sources read: the Admin API client's reports, as
// typed pages.
type reportAPI interface {
	UsageReport(ctx context.Context, q adminapi.ReportQuery) iter.Seq2[*adminapi.UsagePage, error]
	CostReport(ctx context.Context, q adminapi.ReportQuery) iter.Seq2[*adminapi.CostPage, error]
	ClaudeCodeReport(ctx context.Context, day time.Time) iter.Seq2[*adminapi.ClaudeCodePage, error]
	analyticsAPI
	// ServerNow is the API's clock, from the Date of its answers.
	ServerNow() (time.Time, bool)
}

var _ reportAPI = (*adminapi.Client)(nil)

// source is what differs between the reports: what to read and how its rows
// map to series (usage.go, cost.go, claudecode.go), and how a series becomes
// points.
type source interface {
	name() string
	poll() PollConfig
	width() time.Duration
	// shape is everything that shapes the series (width, grouping,
	// filters): a checkpoint is resumed only by the same shape.
	shape() []string
	// keyFields is how many fields of a seriesKey the report uses.
	keyFields() int
	// read reads [from, to) in buckets of width (the report's, or an
	// audit's coarser one) page by page, each page's rows summed per series
	// and bucket.
	read(ctx context.Context, api reportAPI, from, to time.Time, width time.Duration) iter.Seq2[page, error]
	// overflow is the series that counts k when the report keeps too
	// many series: every dimension empty, but what decides which metrics
	// the counters are.
	overflow(k seriesKey) seriesKey
	// resourceOf is the resource a series belongs to.
	resourceOf(k seriesKey) resourceKey
	// resource sets a resource's attributes.
	resource(rb *metadata.ResourceBuilder, res resourceKey)
	// record records the points of one series through the generated
	// builder, in the `.corrections` metrics with corrections; with
	// skipZero, zero counters are left out (a delta batch carries only what
	// changed).
	record(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k seriesKey, v accounting.Totals, skipZero, corrections bool)
}

// exportSource is a source served from exports (the analytics API): what
// it serves changes only when a new export is published.
type exportSource interface {
	// refreshed is the export [from, to) is served from; nil: none.
	refreshed(ctx context.Context, api reportAPI, from, to time.Time) (*time.Time, error)
}

// seriesKey identifies a series by the values of its grouped dimensions; each
// report gives the positions their meaning, "" for a dimension it does not
// group by. Checkpoints store the first keyFields positions, and the
// overflow mark when set.
type seriesKey [10]string

// keyOverflow is the position of the overflow mark: "true" on the series
// that counts what passes max_series.
const keyOverflow = len(seriesKey{}) - 1

// overflowAttribute marks the overflow series' points.
func overflowAttribute(k seriesKey, attrs []metadata.MetricAttributeOption) []metadata.MetricAttributeOption {
	if k[keyOverflow] != "" {
		return append(attrs, metadata.WithOtelMetricOverflowMetricAttribute(true))
	}
	return attrs
}

// resourceKey is the resource of a series: workspace and model, "" when not
// grouped (the Claude Code report has neither), and the organization the
// usage belongs to when the analytics source groups by it.
type resourceKey struct{ workspace, model, organization string }

// page is a page of a report: its buckets, mapped to series one at a time
// as they are ranged over, and whether another page follows. A bucket's rows
// are valid until the next bucket is mapped; skipped is complete once the
// buckets were ranged over.
type page struct {
	buckets iter.Seq[bucket]
	more    bool
	skipped skipCounts
}

// bucket is one time bucket's rows, summed per series.
type bucket struct {
	start, end time.Time
	rows       map[seriesKey]accounting.Counters
}

// skipCounts counts rows the receiver cannot count, by reason, for one
// warning per reason and poll instead of one per row.
type skipCounts map[string]int

func (s skipCounts) add(reason string) { s[reason]++ }

// errNotYet marks a report window the API does not serve yet.
var errNotYet = errors.New("not available yet")

// notYetIfRecent turns the 400 the API answers for a window that is too
// recent into errNotYet; a 400 for an older window is a real error.
func notYetIfRecent(err error, from, to time.Time) error {
	if err != nil && adminapi.IsStatus(err, 400) && !from.Before(to.Add(-48*time.Hour)) {
		return fmt.Errorf("%w: %w", errNotYet, err)
	}
	return err
}

// mapPages maps each typed page of a report to series, each bucket whole.
func mapPages[R any](pages iter.Seq2[*adminapi.Page[R], error], mapPage func(*adminapi.Page[R]) page) iter.Seq2[page, error] {
	return func(yield func(page, error) bool) {
		for p, err := range wholeBuckets(pages) {
			if err != nil {
				yield(page{}, err)
				return
			}
			if !yield(mapPage(p), nil) {
				return
			}
		}
	}
}

// wholeBuckets holds back the last bucket of every page that another page
// follows, and puts it in front of the next page, merged with that page's
// first bucket when the API continued it there. The reference has seen
// has_more on a single-day grouped cost query [U]: a bucket may be split
// across pages, and a long read seals page by page through the last bucket
// it read, so a bucket is counted only once all of it was read.
func wholeBuckets[R any](pages iter.Seq2[*adminapi.Page[R], error]) iter.Seq2[*adminapi.Page[R], error] {
	return func(yield func(*adminapi.Page[R], error) bool) {
		var held *adminapi.Bucket[R]
		for p, err := range pages {
			if err != nil {
				yield(nil, err)
				return
			}
			if held != nil {
				if len(p.Data) > 0 && p.Data[0].StartingAt.Equal(held.StartingAt) && p.Data[0].EndingAt.Equal(held.EndingAt) {
					p.Data[0].Results = append(held.Results, p.Data[0].Results...)
				} else {
					p.Data = append([]adminapi.Bucket[R]{*held}, p.Data...)
				}
				held = nil
			}
			if p.HasMore && len(p.Data) > 0 {
				last := p.Data[len(p.Data)-1]
				held = &last
				p.Data = p.Data[:len(p.Data)-1]
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// mapBuckets maps a page one bucket at a time, summing its rows per series:
// row maps a row to its series and values, or gives the reason it cannot be
// counted. Rows that map to the same series but differ in a dimension the
// receiver does not group by are summed; a row whose every dimension (dims)
// repeats an earlier row of the bucket is the same group sent twice, and is
// counted once.
//
// Mapping one bucket at a time into one map, and letting each typed bucket
// go once it is mapped, keeps a long read's peak heap near one typed page:
// mapping a whole page first held the page and its mapping at once, 1.7
// times the typed page (BENCHMARKS.md). The set of dimensions is built only
// when two rows of a bucket map to one series: building it for every row
// was a tenth of a steady poll's time.
func mapBuckets[R any, D comparable](p *adminapi.Page[R], dims func(*R) D, row func(*R) (seriesKey, accounting.Counters, string)) page {
	skipped := skipCounts{}
	return page{more: p.HasMore, skipped: skipped, buckets: func(yield func(bucket) bool) {
		rows := map[seriesKey]accounting.Counters{}
		seen := map[D]struct{}{}
		for i := range p.Data {
			b := &p.Data[i]
			clear(rows)
			clear(seen)
			inSeen := 0 // the rows of b before it are in seen
			for j := range b.Results {
				r := &b.Results[j]
				k, c, skip := row(r)
				if skip != "" {
					skipped.add(skip)
					continue
				}
				sum, again := rows[k]
				if again {
					for ; inSeen < j; inSeen++ {
						seen[dims(&b.Results[inSeen])] = struct{}{}
					}
					d := dims(r)
					if _, dup := seen[d]; dup {
						skipped.add("row repeated within a bucket")
						continue
					}
					seen[d] = struct{}{}
					inSeen = j + 1
				}
				if !addCounters(&sum, c) {
					skipped.add("sum of the series' rows would overflow")
					continue
				}
				rows[k] = sum
			}
			start, end := b.StartingAt, b.EndingAt
			*b = adminapi.Bucket[R]{} // mapped: its rows may go
			if !yield(bucket{start: start, end: end, rows: rows}) {
				return
			}
		}
	}}
}

// addCounters adds c to sum, unless a counter would pass int64: then sum
// is left as it was and addCounters reports false.
func addCounters(sum *accounting.Counters, c accounting.Counters) bool {
	for x := range c {
		if c[x] > 0 && sum[x] > math.MaxInt64-c[x] {
			return false
		}
	}
	for x := range c {
		sum[x] += c[x]
	}
	return true
}

// count is a total as an int point: only a count beyond 9.2 quintillion does
// not fit, and is emitted as the largest int64.
func count(t accounting.Total) int64 {
	n, _ := t.Int64()
	return n
}

// keyCodec writes the first n fields of series keys into checkpoints.
func keyCodec(n int) accounting.KeyCodec[seriesKey] {
	return accounting.KeyCodec[seriesKey]{
		Encode: func(k seriesKey) []string {
			if k[keyOverflow] != "" {
				return append(k[:n:n], k[keyOverflow])
			}
			return k[:n]
		},
		Decode: func(f []string) (seriesKey, error) {
			var k seriesKey
			switch len(f) {
			case n + 1:
				k[keyOverflow] = f[n]
			case n:
			default:
				return k, errKeyFields
			}
			copy(k[:n], f)
			return k, nil
		},
	}
}

// errKeyFields reports a checkpointed series key of the wrong shape.
var errKeyFields = errors.New("series key has the wrong fields")

// dimension is the value of a grouped dimension: "" when it is not grouped
// (so it is not emitted), the documented stand-in when the API sent null.
func dimension(grouped bool, v *string, null string) string {
	switch {
	case !grouped:
		return ""
	case v == nil || *v == "":
		return null
	}
	return *v
}

// orNil keeps a null dimension apart from an empty string, for telling
// rows apart.
func orNil(v *string) string {
	if v == nil {
		return "\x00null"
	}
	return *v
}

// Stand-ins for nulls of grouped dimensions.
const (
	defaultWorkspace = "default" // a null workspace_id is the default workspace
	consoleAPIKey    = "console" // a null api_key_id is Console/Workbench use
	unknownValue     = "unknown" // any other grouped dimension sent as null
)
