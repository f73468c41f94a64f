package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// collector is one report of the Admin API, polled on its own interval.
type collector interface {
	name() string
	// collect polls the report when it is due and returns the metrics to
	// emit and the commit to run once the next consumer accepted them.
	collect(ctx context.Context, api reportAPI, now time.Time) (pmetric.Metrics, func(), error)
	// health is read by the receiver's own telemetry, from another
	// goroutine.
	health() *reportHealth
}

// reportHealth is what the receiver's telemetry says about a report.
type reportHealth struct {
	watermark   atomic.Int64 // unix nanoseconds of the stream's watermark
	lastSuccess atomic.Int64 // unix nanoseconds of the last committed poll; 0 = none yet
}

// reportAPI is the reports the sources read: the Admin API client, or in
// benchmarks pages decoded straight from their bytes.
type reportAPI interface {
	UsageReport(ctx context.Context, q adminapi.ReportQuery, fn func(*adminapi.UsageBucket) error, onPage adminapi.PageFunc) error
	CostReport(ctx context.Context, q adminapi.ReportQuery, fn func(*adminapi.CostBucket) error, onPage adminapi.PageFunc) error
	ClaudeCodeReport(ctx context.Context, day time.Time, fn func(*adminapi.ClaudeCodeRecord) error) error
}

// observeFunc takes the rows of one bucket, summed per series.
type observeFunc[K comparable] func(start, end time.Time, rows map[K]accounting.Counters) error

// source is what differs between the bucketed reports: the query and the
// mapping of rows to series, and of series to data points.
type source[K comparable, R comparable] interface {
	// read reads every bucket of [from, to) and hands each one to obs,
	// calling onPage after each page; rows it cannot use are counted in
	// skip.
	read(ctx context.Context, api reportAPI, from, to time.Time, obs observeFunc[K], onPage adminapi.PageFunc, skip *rowSkips) error
	// resource is the resource a series belongs to.
	resource(key K) R
	// setResource sets a resource's attributes.
	setResource(rb *metadata.ResourceBuilder, r R)
	// record adds the points of one series; with skipZero, zero counters
	// are left out (a delta emission sends only what grew).
	record(w *points, key K, c accounting.Counters, skipZero bool)
	// codec writes series keys into checkpoints.
	codec() accounting.KeyCodec[K]
	// shape is everything that shapes the series (report, width,
	// grouping, filters): a checkpoint is only resumed by the same shape.
	shape() []string
}

// streamReport polls one bucketed report into an accounting stream.
type streamReport[K comparable, R comparable] struct {
	reportName  string
	interval    time.Duration
	tolerance   time.Duration // a tick this early still counts as due
	temporality Temporality
	stream      *accounting.Stream[K]
	points      points // reused by every emission
	groups      resourceGroups[K, R]
	src         source[K, R]
	logger      *zap.Logger
	telemetry   *metadata.TelemetryBuilder
	checkpoint  *checkpoint // nil without a storage extension
	// push hands a page's metrics straight to the next consumer during a
	// long read; nil when there is none (then the read is one poll).
	push     func(context.Context, pmetric.Metrics) error
	nextPoll time.Time
	// lastStamp is the latest timestamp this report's points carried,
	// repeated totals included: a page of a later read must come after it.
	lastStamp time.Time
	state     reportHealth
}

func (r *streamReport[K, R]) name() string { return r.reportName }

func (r *streamReport[K, R]) health() *reportHealth { return &r.state }

func (r *streamReport[K, R]) collect(ctx context.Context, api reportAPI, now time.Time) (pmetric.Metrics, func(), error) {
	if now.Before(r.nextPoll.Add(-r.tolerance)) {
		return r.current(now), nil, nil
	}
	p := r.stream.Begin(now)
	from, to := p.From(), p.To()
	lastPage := time.Time{}
	outside := 0
	skip := rowSkips{}
	var readTo time.Time // end of the last bucket read
	observe := func(start, end time.Time, rows map[K]accounting.Counters) error {
		if err := p.Observe(start, end, rows); err != nil {
			if errors.Is(err, accounting.ErrBucket) {
				outside++
				return nil
			}
			return err
		}
		readTo = end
		return nil
	}
	// A read that spans several pages (a catch-up after a long stop) is
	// emitted and committed page by page: it holds one page in memory, and
	// a failure on a late page keeps the progress made before it.
	onPage := func(more bool) error {
		if !more || r.push == nil || readTo.IsZero() {
			return nil
		}
		ts, ok := r.pageStamp(now, from, to, readTo, lastPage)
		if !ok {
			return nil // read on; the rest goes with the next page
		}
		if err := r.push(ctx, r.build(p, ts)); err != nil {
			return fmt.Errorf("a catch-up page was refused downstream: %w", err)
		}
		lastPage = ts
		p.CommitThrough(readTo, ts)
		r.committed(p)
		p = r.stream.Begin(now)
		return nil
	}
	err := r.src.read(ctx, api, p.From(), p.To(), observe, onPage, &skip)
	if errors.Is(err, errNotYet) {
		// Not an outage: the data is not there yet. Read it next interval.
		r.logger.Debug("Report not available yet for this window", zap.String("report", r.reportName), zap.Error(err))
		r.nextPoll = now.Add(r.interval)
		return r.current(now), nil, nil
	}
	if err != nil {
		return pmetric.NewMetrics(), nil, err
	}
	for reason, n := range skip {
		r.logger.Warn("Skipped rows the receiver cannot count", zap.String("report", r.reportName), zap.String("reason", reason), zap.Int("rows", n))
	}
	if outside > 0 {
		r.logger.Warn("Skipped buckets outside the requested range", zap.String("report", r.reportName), zap.Int("buckets", outside),
			zap.Time("from", p.From()), zap.Time("to", p.To()))
	}
	if p.Stats.Corrections > 0 {
		r.logger.Warn("Values went down in buckets already counted; counters are kept at the highest value seen",
			zap.String("report", r.reportName), zap.Int("values", p.Stats.Corrections))
	}
	if p.Stats.OverflowedValues > 0 {
		r.logger.Error("Increases dropped: a running total would overflow int64", zap.String("report", r.reportName),
			zap.Int("values", p.Stats.OverflowedValues))
	}
	commit := func() {
		p.Commit()
		r.nextPoll = now.Add(r.interval)
		r.committed(p)
	}
	r.lastStamp = now
	return r.build(p, now), commit, nil
}

// pageStamp is the timestamp of a page delivered before the end of a read.
// Backends such as Prometheus refuse a point older than one they already
// have, and one much older than the newest of any series; so pages are not
// stamped with their data's (possibly days old) time, but spread, in the
// order of the data, over the moments just before now: after everything
// the report already sent, and within half a collection interval.
func (r *streamReport[K, R]) pageStamp(now, from, to, readTo, lastPage time.Time) (time.Time, bool) {
	base := now.Add(-r.tolerance)
	for _, t := range []time.Time{r.lastStamp, r.stream.LastEmit(), lastPage} {
		if t.After(base) {
			base = t
		}
	}
	frac := float64(readTo.Sub(from)) / float64(to.Sub(from))
	ts := base.Add(time.Duration(float64(now.Sub(base)) * frac)).Truncate(time.Millisecond)
	if min := base.Truncate(time.Millisecond).Add(time.Millisecond); ts.Before(min) {
		ts = min // whole milliseconds apart: what remote write keeps
	}
	return ts, ts.Before(now.Truncate(time.Millisecond))
}

// build is the emission of a poll at ts: increases (delta) or running
// totals (cumulative).
func (r *streamReport[K, R]) build(p *accounting.Poll[K], ts time.Time) pmetric.Metrics {
	if r.temporality == TemporalityDelta {
		return r.emit(ts, r.stream.LastEmit(), p.Increases, true)
	}
	return r.emit(ts, r.stream.Start(), p.Totals, false)
}

// committed runs after a poll (or a page of one) became part of the stream.
func (r *streamReport[K, R]) committed(p *accounting.Poll[K]) {
	r.state.watermark.Store(r.stream.Watermark().UnixNano())
	r.state.lastSuccess.Store(r.stream.LastEmit().UnixNano())
	if r.telemetry != nil && p.Stats.RevisedBuckets > 0 {
		r.telemetry.AnthropicUsageBucketsRevised.Add(context.Background(), int64(p.Stats.RevisedBuckets),
			metric.WithAttributes(attribute.String("report", r.reportName)))
	}
	if r.checkpoint != nil {
		r.checkpoint.save(r.stream.MarshalBinary(r.src.codec()))
	}
	r.logger.Debug("Poll committed", zap.String("report", r.reportName), zap.Int("buckets", p.Stats.Buckets),
		zap.Int("rows", p.Stats.Rows), zap.Int("revised_buckets", p.Stats.RevisedBuckets),
		zap.Time("watermark", r.stream.Watermark()))
}

// current is what a scrape emits when the report is not read: in cumulative
// mode the running totals are repeated, so that exporters that expire idle
// series (Prometheus) keep them; in delta mode nothing.
func (r *streamReport[K, R]) current(now time.Time) pmetric.Metrics {
	if r.temporality == TemporalityCumulative {
		r.lastStamp = now
		return r.emit(now, r.stream.Start(), r.stream.Totals, false)
	}
	return pmetric.NewMetrics()
}

// errKeyFields reports a checkpointed series key of the wrong shape.
var errKeyFields = errors.New("series key has the wrong fields")

// errNotYet marks a report window the API does not serve yet.
var errNotYet = errors.New("not available yet")

// notYetIfRecent turns the 400 the API answers for a window that is too
// recent into errNotYet; a 400 for an older window is a real error.
func notYetIfRecent(err error, from, to time.Time) error {
	if err != nil && adminapi.IsStatus(err, http.StatusBadRequest) && !from.Before(to.Add(-48*time.Hour)) {
		return fmt.Errorf("%w: %w", errNotYet, err)
	}
	return err
}

// repeats finds rows sent twice within one bucket. Rows that map to the
// same series but differ in a dimension the receiver does not group by are
// summed; a row whose every dimension repeats an earlier row of the bucket
// is the same group sent twice, and is counted once. It costs nothing until
// two rows of a bucket map to the same series.
type repeats[R any, D comparable] struct {
	dims func(*R) D
	seen map[D]struct{}
	upTo int // rows before upTo are in seen
}

func newRepeats[R any, D comparable](dims func(*R) D) *repeats[R, D] {
	return &repeats[R, D]{dims: dims, seen: map[D]struct{}{}}
}

func (d *repeats[R, D]) reset() {
	clear(d.seen)
	d.upTo = 0
}

// repeated reports whether rows[i] repeats an earlier row of the bucket;
// call it when rows[i]'s series already has a row in this bucket.
func (d *repeats[R, D]) repeated(rows []R, i int) bool {
	for ; d.upTo < i; d.upTo++ {
		d.seen[d.dims(&rows[d.upTo])] = struct{}{}
	}
	key := d.dims(&rows[i])
	_, dup := d.seen[key]
	d.seen[key] = struct{}{}
	d.upTo = i + 1
	return dup
}

// orNil keeps a null dimension apart from an empty string.
func orNil(v *string) string {
	if v == nil {
		return "\x00null"
	}
	return *v
}

// rowSkips counts rows that were skipped, by reason, for one warning per
// reason and poll instead of one per row.
type rowSkips map[string]int

func (s rowSkips) add(reason string) { s[reason]++ }

type seriesPoint[K comparable] struct {
	key K
	c   accounting.Counters
}

// resourceGroups is the series of an emission by resource, in the order
// the resources were first seen; reused from one emission to the next.
type resourceGroups[K comparable, R comparable] struct {
	index  map[R]int
	order  []R
	points [][]seriesPoint[K]
}

func (g *resourceGroups[K, R]) reset() {
	if g.index == nil {
		g.index = map[R]int{}
	}
	clear(g.index)
	clear(g.order) // drop the keys' strings
	g.order = g.order[:0]
	for i := range g.points {
		clear(g.points[i])
		g.points[i] = g.points[i][:0]
	}
}

func (g *resourceGroups[K, R]) add(res R, p seriesPoint[K]) {
	i, ok := g.index[res]
	if !ok {
		i = len(g.order)
		g.index[res] = i
		g.order = append(g.order, res)
		if i == len(g.points) {
			g.points = append(g.points, nil)
		}
	}
	g.points[i] = append(g.points[i], p)
}

// emit builds the points of every series each yields, one ResourceMetrics
// per resource, in the order the series were first seen.
func (r *streamReport[K, R]) emit(now, start time.Time, each func(func(accounting.SeriesID, K, accounting.Counters)), delta bool) pmetric.Metrics {
	g := &r.groups
	g.reset()
	each(func(_ accounting.SeriesID, key K, c accounting.Counters) {
		g.add(r.src.resource(key), seriesPoint[K]{key, c})
	})
	md := pmetric.NewMetrics()
	rms := md.ResourceMetrics()
	rms.EnsureCapacity(len(g.order))
	w := &r.points
	w.start, w.ts = pcommon.NewTimestampFromTime(start), pcommon.NewTimestampFromTime(now)
	w.kit.mb.Reset(metadata.WithStartTime(w.start))
	empty := false
	for i, res := range g.order {
		r.src.setResource(w.kit.rb, res)
		resource := w.kit.rb.Emit()
		if !w.kit.keeps(resource) {
			continue
		}
		rm := rms.AppendEmpty()
		resource.MoveTo(rm.Resource())
		w.resource(rm, len(g.points[i]))
		for _, p := range g.points[i] {
			r.src.record(w, p.key, p.c, delta)
		}
		w.endResource(rm.Resource())
		empty = empty || w.metrics.Len() == 0
	}
	if empty { // every point was zero in a delta, or its metric is disabled
		rms.RemoveIf(func(rm pmetric.ResourceMetrics) bool { return rm.ScopeMetrics().At(0).Metrics().Len() == 0 })
	}
	if delta {
		setDelta(md)
	}
	return md
}

// setDelta turns every sum into a delta sum: the `temporality` setting
// overrides the cumulative temporality declared in metadata.yaml.
func setDelta(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				if m := ms.At(k); m.Type() == pmetric.MetricTypeSum {
					m.Sum().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
				}
			}
		}
	}
}

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

// Stand-ins for nulls of grouped dimensions.
const (
	defaultWorkspace = "default" // a null workspace_id is the default workspace
	consoleAPIKey    = "console" // a null api_key_id is Console/Workbench use
	unknownValue     = "unknown" // any other grouped dimension sent as null
)

func describePoll(p PollConfig) string {
	return fmt.Sprintf("every %s, lookback %s, revision window %s", p.Interval, p.Lookback, p.RevisionWindow)
}
