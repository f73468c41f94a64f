// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"errors"
	"fmt"
	"iter"
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

// report is one report of the Admin API: its accounting stream, the batch it
// sealed and the pipeline has not accepted yet, and when it is next due. A
// report is only used by its own loop; its health is read by the telemetry.
type report struct {
	name        string
	src         source
	interval    time.Duration
	tolerance   time.Duration // a tick this early still counts as due
	temporality Temporality
	stream      *accounting.Stream[seriesKey]
	codec       accounting.KeyCodec[seriesKey]
	mb          *metadata.MetricsBuilder
	rb          *metadata.ResourceBuilder
	store       *checkpointStore // nil without a storage extension
	logger      *zap.Logger
	telemetry   *metadata.TelemetryBuilder

	// pending is the sealed batch the pipeline has not accepted, as OTLP
	// protobuf: it is sent again, unchanged, until it is.
	pending  []byte
	refusals int // of the pending batch
	// unsaved: the stream and the pending batch are not written to the
	// checkpoint yet; the batch is not sent until they are.
	unsaved       bool
	writeFailures int // in a row
	// nextPoll is when the report is next due, on the receiver's monotonic
	// clock (time since it started): a step of the wall clock does not
	// hold polls back.
	nextPoll time.Duration
	// nextAudit: an audit that failed or found nothing to audit is tried
	// again no earlier than this.
	nextAudit time.Time
	// skewWarned: the API's clock and the collector's differ; said once.
	skewWarned bool
	// overflowWarned: series beyond max_series were seen; said once.
	overflowWarned bool
	// lastExport is the analytics export the last complete read saw.
	lastExport *time.Time
	// lastStamp is the latest timestamp this report's points carried,
	// repeated totals included: a page of a later read comes after it, and
	// after the stream's last emission.
	lastStamp time.Time
	health    reportHealth
}

// reportHealth is what the receiver's telemetry says about a report.
type reportHealth struct {
	watermark   atomic.Int64 // unix nanoseconds of the stream's watermark
	lastSuccess atomic.Int64 // unix nanoseconds of the last accepted poll; 0 = none yet
}

func newReport(ctx context.Context, r *anthropicReceiver, src source, now time.Time) (*report, error) {
	cfg := streamConfig(src, now)
	stream, err := accounting.NewStream[seriesKey](cfg)
	if err != nil {
		return nil, err
	}
	stream.SetOverflow(src.overflow)
	mb := metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.settings)
	rep := &report{
		name:        src.name(),
		src:         src,
		interval:    src.poll().Interval,
		tolerance:   r.cfg.CollectionInterval / 2,
		temporality: r.cfg.Temporality,
		stream:      stream,
		codec:       keyCodec(src.keyFields()),
		mb:          mb,
		rb:          mb.NewResourceBuilder(),
		logger:      r.logger.With(zap.String("report", src.name())),
		telemetry:   r.telemetry,
	}
	if rep.temporality == TemporalityCumulative {
		// An earlier process repeated its totals up to its last tick, which
		// its checkpoint does not record; it was before this one started:
		// pages of this process's first read come after that. Every delta
		// batch is sealed, so the stream's last emission bounds them.
		rep.lastStamp = now
	}
	if r.storage != nil {
		rep.store = &checkpointStore{client: r.storage, extension: *r.cfg.Storage, report: src.name(), key: checkpointKey(src.name(), src.shape()...)}
		if err := rep.restore(ctx, cfg, now); err != nil {
			return nil, fmt.Errorf("%s report: %w", rep.name, err)
		}
		if ps, ok := src.(personalSource); ok {
			if err := rep.forgetOtherOptions(ctx, ps); err != nil {
				return nil, fmt.Errorf("%s report: deleting the checkpoints of the other actor options: %w", rep.name, err)
			}
		}
	}
	rep.health.watermark.Store(rep.stream.Watermark().UnixNano())
	return rep, nil
}

// streamConfig is the accounting of a source's configuration.
func streamConfig(src source, now time.Time) accounting.Config {
	p := src.poll()
	cfg := accounting.Config{BucketWidth: src.width(), RevisionWindow: p.RevisionWindow, Start: now.Add(-p.Lookback),
		SeriesExpiry: p.SeriesExpiry, MaxSeries: p.MaxSeries}
	if p.Audit.Interval > 0 {
		cfg.AuditWidth, cfg.AuditWindow = adminapi.WidthDuration(p.Audit.BucketWidth), p.Audit.Window
	}
	return cfg
}

// restore resumes the report's stream, and the batch it had not delivered,
// from its checkpoint. A checkpoint that cannot be read is an error: the
// report does not start rather than start fresh and overwrite it. One that
// is read but cannot be decoded is set aside, and the report starts fresh.
// A configuration that changed the report's shape starts where the previous
// shape stopped.
func (rep *report) restore(ctx context.Context, cfg accounting.Config, now time.Time) error {
	snapshot, pending, current, err := rep.store.load(ctx)
	switch {
	case err != nil:
		return err
	case snapshot == nil && current != "" && current != rep.store.key:
		return rep.follow(ctx, cfg, current)
	case snapshot == nil:
		rep.logger.Info("No checkpoint for this report and configuration; starting from the lookback", zap.Time("start", rep.stream.Start()))
		return nil
	}
	restored, err := accounting.RestoreStream(cfg, snapshot, rep.codec)
	if err == nil && restored.LastEmit().After(now.Add(time.Hour)) {
		err = fmt.Errorf("its last emission, %s, is in the future", restored.LastEmit())
	}
	if err != nil {
		aside, werr := rep.store.setAside(ctx, snapshot, pending, now)
		if werr != nil {
			return fmt.Errorf("the checkpoint cannot be decoded (%w), nor set aside: %w", err, werr)
		}
		rep.logger.Error("Checkpoint cannot be decoded; it is kept under another key, and the report starts from the lookback",
			zap.String("kept_as", aside), zap.Error(err))
		return nil
	}
	restored.SetOverflow(rep.src.overflow)
	rep.stream = restored
	rep.keepPending(pending)
	rep.logger.Info("Resuming from checkpoint", zap.Time("start", restored.Start()), zap.Time("watermark", restored.Watermark()),
		zap.Int("series", restored.Series()), zap.Bool("undelivered_batch", rep.pending != nil))
	return nil
}

// follow starts a new shape of the report where the previous one stopped:
// at its watermark, not at the lookback, which a delta backend would count
// again. What the previous shape counted in the buckets of its revision
// window is counted again in the new shape's series: the new series cannot
// tell it apart. The previous shape's undelivered batch is delivered first.
func (rep *report) follow(ctx context.Context, cfg accounting.Config, previous string) error {
	snapshot, pending, err := rep.store.previous(ctx, previous)
	if err != nil {
		return err
	}
	watermark, err := accounting.Watermark(snapshot)
	if snapshot == nil || err != nil {
		rep.logger.Warn("The previous configuration's checkpoint cannot be read; starting from the lookback", zap.String("previous", previous), zap.Error(err))
		return nil
	}
	cfg.Start = watermark
	if rep.stream, err = accounting.NewStream[seriesKey](cfg); err != nil {
		return err
	}
	rep.stream.SetOverflow(rep.src.overflow)
	rep.keepPending(pending)
	rep.store.replaces = previous
	rep.unsaved = true // the new shape replaces the previous one with its first write
	rep.logger.Info("A new configuration of the report: it starts where the previous one stopped", zap.Time("start", rep.stream.Start()),
		zap.Bool("undelivered_batch", rep.pending != nil))
	return nil
}

// keepPending takes a checkpoint's undelivered batch as the pending one.
func (rep *report) keepPending(pending []byte) {
	if pending == nil {
		return
	}
	if _, err := unmarshaler.UnmarshalMetrics(pending); err != nil {
		rep.logger.Error("The undelivered batch in the checkpoint is unreadable; its increases are lost", zap.Error(err))
		return
	}
	rep.pending = pending
}

var (
	marshaler   pmetric.ProtoMarshaler
	unmarshaler pmetric.ProtoUnmarshaler
)

// due reports whether the report is to be read, elapsed after the
// receiver started.
func (rep *report) due(elapsed time.Duration) bool {
	return elapsed >= rep.nextPoll-rep.tolerance
}

// pendingBatch is the sealed batch the pipeline has not accepted yet.
func (rep *report) pendingBatch() (pmetric.Metrics, bool) {
	if rep.pending == nil {
		return pmetric.Metrics{}, false
	}
	md, err := unmarshaler.UnmarshalMetrics(rep.pending)
	if err != nil { // it was marshalled by this process or checked at restore
		rep.logger.Error("The undelivered batch cannot be read back; it is dropped", zap.Error(err))
		rep.pending = nil
		return pmetric.Metrics{}, false
	}
	return md, true
}

// poll reads the report from its watermark through the open bucket and
// yields its changes as sealed batches: one for a short read, one per page
// of a long one (a first lookback, a catch-up after a stop), so that a long
// read holds one page in memory and a failure on a late page keeps what the
// earlier pages delivered. The caller delivers each batch before the next
// page is read, and stops ranging when one is refused. api's clock, with
// now, decides which buckets are final.
func (rep *report) poll(ctx context.Context, api reportAPI, now time.Time, elapsed time.Duration) iter.Seq2[pmetric.Metrics, error] {
	return func(yield func(pmetric.Metrics, error) bool) {
		p := rep.stream.Begin(now)
		from, to := p.From(), p.To()
		var export *time.Time
		if src, ok := rep.src.(exportSource); ok {
			var err error
			if export, err = src.refreshed(ctx, api, from, to); err != nil {
				yield(pmetric.Metrics{}, err)
				return
			}
			if export != nil && rep.lastExport != nil && export.Equal(*rep.lastExport) {
				rep.logger.Debug("No new export since the last read", zap.Time("data_refreshed_at", *export))
				rep.nextPoll = elapsed + rep.interval
				return
			}
		}
		var readTo, lastPage time.Time // the end of the last bucket read; the last page's stamp
		stats := pollStats{skipped: skipCounts{}}
		for pg, err := range rep.src.read(ctx, api, from, to, rep.src.width()) {
			if errors.Is(err, errNotYet) {
				// Not an outage: the data is not there yet. Read it next interval.
				rep.logger.Debug("Report not available yet for this window", zap.Error(err))
				rep.nextPoll = elapsed + rep.interval
				return
			}
			if err != nil {
				yield(pmetric.Metrics{}, err)
				return
			}
			end, err := observe(p, pg)
			if err != nil {
				yield(pmetric.Metrics{}, err)
				return
			}
			if !end.IsZero() {
				readTo = end
			}
			stats.add(pg.skipped)
			if !pg.more || readTo.IsZero() {
				continue
			}
			ts, ok := rep.pageStamp(now, from, to, readTo, lastPage)
			if !ok {
				continue // read on; the rest goes with the next page
			}
			stats.addPoll(p.Stats())
			p.Final(rep.finality(api, now))
			if !yield(rep.seal(ctx, p, ts, readTo), nil) {
				return
			}
			lastPage = ts
			p = rep.stream.Begin(now)
		}
		stats.addPoll(p.Stats())
		rep.logStats(stats, from, to)
		rep.nextPoll = elapsed + rep.interval
		rep.lastExport = export
		p.Final(rep.finality(api, now))
		yield(rep.seal(ctx, p, rep.stamp(now), time.Time{}), nil)
	}
}

// observe hands a page's buckets to p and returns the end of the last one
// it took (zero when none). A bucket the API should not have sent is counted
// in p's stats and logged once the read is done, not an error.
func observe(p *accounting.Poll[seriesKey], pg page) (readTo time.Time, err error) {
	for b := range pg.buckets {
		switch err := p.Observe(b.start, b.end, b.rows); {
		case errors.Is(err, accounting.ErrBucket):
		case err != nil:
			return readTo, err
		default:
			readTo = b.end
		}
	}
	return readTo, nil
}

// stamp is the timestamp of a batch sealed at now: stampStep after the last
// one at least, even when the clock did not move (a restart within the same
// second) or stepped back.
func (rep *report) stamp(now time.Time) time.Time {
	at := now
	if least := rep.stream.LastEmit().Truncate(rep.stampStep()).Add(rep.stampStep()); at.Before(least) {
		at = least
	}
	rep.lastStamp = at
	return at
}

// finality is the time that decides which buckets are final: the earlier
// of the collector's clock and the API's (from the Date of its answers). A
// collector clock that runs ahead would end buckets' revisions before their
// late data arrived; one that runs behind only delays finality.
func (rep *report) finality(api reportAPI, now time.Time) time.Time {
	server, ok := api.ServerNow()
	if !ok {
		return now
	}
	if skew := now.Sub(server); (skew > time.Minute || skew < -time.Minute) && !rep.skewWarned {
		rep.skewWarned = true
		rep.logger.Warn("The collector's clock and the Admin API's differ; buckets become final by the earlier of the two",
			zap.Duration("collector_ahead_by", skew.Round(time.Second)))
	}
	if server.Before(now) {
		return server
	}
	return now
}

// auditDue reports whether the report's audit is due at now.
func (rep *report) auditDue(now time.Time) bool {
	a := rep.src.poll().Audit
	if a.Interval <= 0 || now.Before(rep.nextAudit) {
		return false
	}
	last := rep.stream.LastAudit()
	return last.IsZero() || !now.Before(last.Add(a.Interval))
}

// audit re-reads the report's settled past at the audit width and yields
// what changed there as one sealed batch; ok is false when there is nothing
// to audit yet.
func (rep *report) audit(ctx context.Context, api reportAPI, now time.Time) (md pmetric.Metrics, ok bool, err error) {
	rep.nextAudit = now.Add(rep.interval) // after a failure, or with nothing to audit
	p, ok := rep.stream.BeginAudit(now)
	if !ok {
		return md, false, nil
	}
	stats := pollStats{skipped: skipCounts{}}
	for pg, err := range rep.src.read(ctx, api, p.From(), p.To(), p.Width()) {
		if err == nil {
			_, err = observe(p, pg)
		}
		if err != nil {
			return md, false, err
		}
		stats.add(pg.skipped)
	}
	st := p.Stats()
	stats.addPoll(st)
	rep.logStats(stats, p.From(), p.To())
	if st.Changed > 0 {
		rep.logger.Warn("The audit found values that changed after the revision window; increases are exported as late data, decreases in the .corrections metrics",
			zap.Int("values", st.Changed), zap.Int("decreased", st.Corrections), zap.Time("from", p.From()), zap.Time("to", p.To()))
		if rep.telemetry != nil {
			rep.telemetry.AnthropicUsageAuditDifference.Add(ctx, int64(st.Changed), metric.WithAttributes(attribute.String("report", rep.name)))
		}
	}
	return rep.seal(ctx, p, rep.stamp(now), time.Time{}), true, nil
}

// seal builds the batch of p at ts, makes p part of the stream (through
// `through` when it is not zero: a page of a long read) and keeps the batch
// as the pending one, to be written ahead to the checkpoint: from now on the
// batch is the only carrier of p's increases, sent until the pipeline
// accepts it.
func (rep *report) seal(ctx context.Context, p *accounting.Poll[seriesKey], ts, through time.Time) pmetric.Metrics {
	var md pmetric.Metrics
	if rep.temporality == TemporalityDelta {
		md = rep.build(p.Increases(), p.Decreases(), rep.stream.LastEmit(), ts, true)
	} else {
		md = rep.build(p.Totals(), p.CorrectionTotals(), rep.stream.Start(), ts, false)
	}
	stats := p.Stats()
	if through.IsZero() {
		p.SealAt(ts)
	} else {
		p.SealThrough(through, ts)
	}
	rep.pending = nil
	if md.DataPointCount() > 0 {
		b, err := marshaler.MarshalMetrics(md)
		if err != nil { // pdata built here always marshals; never lose the batch over it
			rep.logger.Error("The batch cannot be kept for a resend", zap.Error(err))
		}
		rep.pending = b
	}
	rep.unsaved = rep.store != nil // written by deliver, before it is sent
	rep.health.watermark.Store(rep.stream.Watermark().UnixNano())
	if rep.telemetry != nil && stats.RevisedBuckets > 0 {
		rep.telemetry.AnthropicUsageBucketsRevised.Add(ctx, int64(stats.RevisedBuckets),
			metric.WithAttributes(attribute.String("report", rep.name)))
	}
	rep.logger.Debug("Poll sealed", zap.Int("buckets", stats.Buckets), zap.Int("rows", stats.Rows),
		zap.Int("revised_buckets", stats.RevisedBuckets), zap.Int("points", md.DataPointCount()),
		zap.Time("watermark", rep.stream.Watermark()))
	return md
}

// save writes the stream and the pending batch when they are not written
// yet, and reports whether they are: a sealed batch is sent only once its
// checkpoint is written, so that a restart after failed writes reads again
// what was never sent rather than resending what was.
func (rep *report) save(ctx context.Context) bool {
	if !rep.unsaved {
		return true
	}
	if err := rep.store.seal(ctx, rep.stream.MarshalBinary(rep.codec), rep.pending); err != nil {
		rep.writeFailed(err)
		return false
	}
	rep.unsaved = false
	if rep.writeFailures > 0 {
		rep.logger.Info("Checkpoint written again", zap.Int("failed_writes", rep.writeFailures))
		rep.writeFailures = 0
	}
	return true
}

func (rep *report) writeFailed(err error) {
	rep.writeFailures++
	if rep.telemetry != nil {
		rep.telemetry.AnthropicUsageCheckpointWriteFailures.Add(context.Background(), 1,
			metric.WithAttributes(attribute.String("report", rep.name)))
	}
	if rep.writeFailures == 1 {
		rep.logger.Warn("Checkpoint not written; the report sends nothing new until it is, and tries again every collection_interval", zap.Error(err))
	}
}

// commit: the pipeline accepted the pending batch.
func (rep *report) commit(ctx context.Context) {
	if rep.pending != nil && rep.store != nil {
		if err := rep.store.delivered(ctx); err != nil {
			// The batch would be sent again after a restart, unchanged:
			// written again on the next tick.
			rep.writeFailed(err)
			rep.unsaved = true
		}
	}
	rep.pending = nil
	if rep.refusals > 0 {
		rep.logger.Info("The refused batch was accepted", zap.Int("refusals", rep.refusals))
		rep.refusals = 0
	}
	rep.health.lastSuccess.Store(rep.stream.LastEmit().UnixNano())
}

// refused: the pipeline refused the pending batch.
func (rep *report) refused(err error) {
	rep.refusals++
	if rep.refusals == 1 {
		rep.logger.Warn("The pipeline refused a batch; it is sent again, unchanged, every collection_interval until accepted, and the report is not read meanwhile",
			zap.Error(err))
	}
}

// totals is what a tick emits in cumulative mode when the report is not
// read: the running totals repeated, so that exporters that expire idle
// series (Prometheus) keep them.
func (rep *report) totals(now time.Time) pmetric.Metrics {
	rep.lastStamp = now
	return rep.build(rep.stream.Totals(), rep.stream.CorrectionTotals(), rep.stream.Start(), now, false)
}

// stampStep is how far apart two batches of a report are stamped at least:
// backends keep one value per series and timestamp. Delta batches are
// stamped in distinct seconds: Datadog's intake takes timestamps in whole
// seconds and keeps the last value written for a series and second, so two
// delta batches within one second would be taken there for one sent twice.
// Cumulative batches are whole milliseconds apart, what remote write keeps;
// a later one carries the earlier one's totals anyway.
func (rep *report) stampStep() time.Duration {
	if rep.temporality == TemporalityDelta {
		return time.Second
	}
	return time.Millisecond
}

// pageStamp is the timestamp of a page delivered before the end of a read.
// Backends such as Prometheus refuse a point older than one they already
// have, and one much older than the newest of any series; so pages are not
// stamped with their data's (possibly days old) time, but spread, in the
// order of the data, over the moments just before now, stampStep apart:
// after everything the report already sent, and within half a collection
// interval. When no moment is left, the page is read on with the next.
func (rep *report) pageStamp(now, from, to, readTo, lastPage time.Time) (time.Time, bool) {
	base := now.Add(-rep.tolerance)
	for _, t := range []time.Time{rep.lastStamp, rep.stream.LastEmit(), lastPage} {
		if t.After(base) {
			base = t
		}
	}
	frac := float64(readTo.Sub(from)) / float64(to.Sub(from))
	step := rep.stampStep()
	ts := base.Add(time.Duration(float64(now.Sub(base)) * frac)).Truncate(step)
	if least := base.Truncate(step).Add(step); ts.Before(least) {
		ts = least
	}
	return ts, ts.Before(now.Truncate(step))
}

// build makes the points of every series yields, and of every series'
// corrections, at ts with start as their start time, one resource at a
// time, through the generated builder (which sums the points of series
// that differ only by a disabled attribute, within a resource).
func (rep *report) build(series, corrections iter.Seq2[seriesKey, accounting.Totals], start, ts time.Time, delta bool) pmetric.Metrics {
	type point struct {
		key         seriesKey
		v           accounting.Totals
		corrections bool
	}
	var order []resourceKey
	byResource := map[resourceKey][]point{}
	add := func(k seriesKey, v accounting.Totals, corr bool) {
		res := rep.src.resourceOf(k)
		if _, ok := byResource[res]; !ok {
			order = append(order, res)
		}
		byResource[res] = append(byResource[res], point{k, v, corr})
	}
	for k, v := range series {
		add(k, v, false)
	}
	for k, v := range corrections {
		add(k, v, true)
	}
	rep.mb.Reset(metadata.WithStartTime(pcommon.NewTimestampFromTime(start)))
	pts := pcommon.NewTimestampFromTime(ts)
	for _, res := range order {
		for _, p := range byResource[res] {
			// Corrections are emitted once there are some.
			rep.src.record(rep.mb, pts, p.key, p.v, delta || p.corrections, p.corrections)
		}
		rep.src.resource(rep.rb, res)
		rep.mb.EmitForResource(metadata.WithResource(rep.rb.Emit()))
	}
	md := rep.mb.Emit()
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

// pollStats is what a read found that deserves a word in the log.
type pollStats struct {
	skipped                                 skipCounts
	outside, final, corrections, overflowed int
}

func (s *pollStats) add(skipped skipCounts) {
	for reason, n := range skipped {
		s.skipped[reason] += n
	}
}

func (s *pollStats) addPoll(p accounting.PollStats) {
	s.corrections += p.Corrections
	s.overflowed += p.Overflowed
	s.outside += p.SkippedOutside
	s.final += p.SkippedFinal
}

func (rep *report) logStats(s pollStats, from, to time.Time) {
	for reason, n := range s.skipped {
		rep.logger.Warn("Skipped rows the receiver cannot count", zap.String("reason", reason), zap.Int("rows", n))
		rep.countSkipped(reason, n)
	}
	if s.outside > 0 {
		rep.logger.Warn("Skipped buckets outside the requested range", zap.Int("buckets", s.outside), zap.Time("from", from), zap.Time("to", to))
		rep.countSkipped("bucket outside the requested range", s.outside)
	}
	if s.final > 0 {
		// The query starts at the watermark: only an API that answers
		// more than was asked sends these.
		rep.logger.Warn("Skipped buckets already final", zap.Int("buckets", s.final), zap.Time("watermark", from))
		rep.countSkipped("bucket already final", s.final)
	}
	if s.corrections > 0 {
		rep.logger.Warn("Values went down in buckets already counted; the decreases are exported in the .corrections metrics", zap.Int("values", s.corrections))
	}
	if s.overflowed > 0 {
		if !rep.overflowWarned {
			rep.overflowWarned = true
			rep.logger.Warn("The report keeps max_series series; new series are counted in one overflow series (otel.metric.overflow=true)",
				zap.Int("max_series", rep.src.poll().MaxSeries), zap.Int("rows", s.overflowed))
		}
		if rep.telemetry != nil {
			rep.telemetry.AnthropicUsageSeriesOverflow.Add(context.Background(), int64(s.overflowed),
				metric.WithAttributes(attribute.String("report", rep.name)))
		}
	}
}

func (rep *report) countSkipped(reason string, n int) {
	if rep.telemetry != nil {
		rep.telemetry.AnthropicUsageSkipped.Add(context.Background(), int64(n),
			metric.WithAttributes(attribute.String("report", rep.name), attribute.String("reason", reason)))
	}
}

// describe is the report's line in the startup log.
func describe(src source) string {
	p := src.poll()
	return fmt.Sprintf("%s buckets, every %s, lookback %s, revision window %s", widthName(src.width()), p.Interval, p.Lookback, p.RevisionWindow)
}

func widthName(w time.Duration) string {
	switch w {
	case time.Minute:
		return "1m"
	case time.Hour:
		return "1h"
	}
	return "1d"
}
