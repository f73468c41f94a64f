// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// dataFormat names what the receiver turns into metrics, for the
// collector's receiver telemetry.
const dataFormat = "anthropic_admin_api"

// anthropicReceiver polls each report in its own loop and hands every batch
// to the pipeline through the collector's receiver obsreport. A batch is
// committed in one place, deliver, exactly when the next consumer accepted
// it; a refused batch is sent again, unchanged, on the next tick.
type anthropicReceiver struct {
	cfg      *Config
	settings receiver.Settings
	next     consumer.Metrics
	obs      *receiverhelper.ObsReport
	logger   *zap.Logger
	now      func() time.Time
	// elapsed is the time since the receiver was made, on the monotonic
	// clock: it schedules the polls, whatever the wall clock does.
	elapsed func() time.Duration

	client    *adminapi.Client
	names     *nameCache // nil when names are disabled
	reports   []*report
	limits    *limitsReport  // nil unless limits.enabled
	storage   storage.Client // nil without a storage extension
	telemetry *metadata.TelemetryBuilder

	// cancel ends the loops and cancels a poll in flight, with its retries
	// and rate-limit waits, so that shutdown never waits for the API.
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Metrics) (*anthropicReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	made := time.Now()
	return &anthropicReceiver{cfg: cfg, settings: set, next: next, obs: obs, logger: set.Logger, now: time.Now,
		elapsed: func() time.Duration { return time.Since(made) }}, nil
}

// Start builds the client and the reports, restores their checkpoints, and
// starts one loop per report.
func (r *anthropicReceiver) Start(ctx context.Context, host component.Host) error {
	if err := r.start(ctx, host); err != nil {
		return err
	}
	life, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if r.names != nil {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.names.run(life, r.client, r.cfg.Names.Interval, r.logger)
		}()
	}
	for _, rep := range r.reports {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.run(life, rep)
		}()
	}
	if r.limits != nil {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.runLimits(life)
		}()
	}
	return nil
}

// start does everything Start does but the loops: tests drive tick
// themselves.
func (r *anthropicReceiver) start(ctx context.Context, host component.Host) error {
	hc, err := r.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), r.settings.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("building the HTTP client: %w", err)
	}
	r.telemetry, err = metadata.NewTelemetryBuilder(r.settings.TelemetrySettings)
	if err != nil {
		return err
	}
	r.client, err = adminapi.New(hc, r.clientSettings())
	if err != nil {
		return err
	}
	if r.cfg.Storage != nil {
		if r.storage, err = storageClient(ctx, host, *r.cfg.Storage, r.settings.ID); err != nil {
			return err
		}
	}
	if r.cfg.Names.Enabled {
		r.names = newNameCache()
	}
	now := r.now().UTC()
	r.reports = nil
	for _, src := range r.sources() {
		rep, err := newReport(ctx, r, src, now)
		if err != nil {
			return err
		}
		r.reports = append(r.reports, rep)
	}
	if r.cfg.Limits.Enabled {
		r.limits = newLimitsReport(r)
	}
	if err := registerHealth(r.telemetry, r.reports, r.now); err != nil {
		return err
	}
	r.logStart()
	return nil
}

// sources are the enabled reports.
func (r *anthropicReceiver) sources() []source {
	var out []source
	switch u := r.cfg.Usage; {
	case u.Poll.Enabled && u.Source == sourceAnalytics:
		out = append(out, newAnalyticsUsageSource(u, newActorPolicy(u.ActorDetails, r.cfg.HashKey), r.names))
	case u.Poll.Enabled:
		out = append(out, newUsageSource(u, r.names))
	}
	switch c := r.cfg.Cost; {
	case c.Poll.Enabled && c.Source == sourceAnalytics:
		out = append(out, newAnalyticsCostSource(c, newActorPolicy(c.ActorDetails, r.cfg.HashKey), r.names))
	case c.Poll.Enabled:
		out = append(out, newCostSource(c, r.names))
	}
	if c := r.cfg.ClaudeCode; c.Poll.Enabled {
		out = append(out, newClaudeCodeSource(c, newActorPolicy(c.Actor, r.cfg.HashKey), r.names))
	}
	return out
}

// clientSettings are the Admin API client's settings from the configuration.
func (r *anthropicReceiver) clientSettings() adminapi.Settings {
	return adminapi.Settings{
		Endpoint:          r.cfg.ClientConfig.Endpoint,
		AdminKey:          string(r.cfg.AdminAPIKey),
		UserAgent:         userAgent(r.settings),
		MaxResponseBytes:  r.cfg.MaxResponseBytes,
		MaxPages:          r.cfg.MaxPages,
		RequestsPerMinute: r.cfg.RateLimit.RequestsPerMinute,
		Burst:             r.cfg.RateLimit.Burst,
		Retry:             r.cfg.RetryOnFailure,
		Logger:            r.logger,
		Observer:          newRequestObserver(r.telemetry),
	}
}

// run ticks one report every collection_interval until ctx ends.
func (r *anthropicReceiver) run(ctx context.Context, rep *report) {
	if !sleep(ctx, r.cfg.InitialDelay) {
		return
	}
	if r.names != nil {
		// The first poll gives the first lookup a moment, so that series
		// do not appear without names and then again with them; it is done
		// long before unless the API is unreachable.
		r.names.awaitFirst(ctx, namesFirstLookup)
	}
	ticker := time.NewTicker(r.cfg.CollectionInterval)
	defer ticker.Stop()
	for {
		if err := r.tick(ctx, rep); err != nil && ctx.Err() == nil {
			r.logger.Warn("Poll failed; the next tick reads the same range again", zap.String("report", rep.name), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// tick is one turn of a report's loop: a batch the pipeline refused is sent
// again first, and nothing new is read until it is accepted; then the report
// is polled if it is due, each sealed batch delivered as it comes; when it
// is not, cumulative totals are repeated.
func (r *anthropicReceiver) tick(ctx context.Context, rep *report) error {
	now, elapsed := r.now().UTC(), r.elapsed()
	if md, ok := rep.pendingBatch(); ok && !r.deliver(ctx, rep, md) {
		return nil
	}
	polled := false
	var pollErr error
	if rep.due(elapsed) {
		for md, err := range rep.poll(ctx, r.client, now, elapsed) {
			if err != nil {
				pollErr = fmt.Errorf("%s report: %w", rep.name, err)
				break
			}
			polled = true
			if !r.deliver(ctx, rep, md) {
				return nil
			}
		}
	}
	if pollErr == nil && rep.auditDue(now) {
		md, ok, err := rep.audit(ctx, r.client, now)
		switch {
		case err != nil:
			pollErr = fmt.Errorf("%s report's audit: %w", rep.name, err)
		case ok:
			polled = true
			if !r.deliver(ctx, rep, md) {
				return nil
			}
		}
	}
	if !polled && r.cfg.Temporality == TemporalityCumulative {
		// A repeat of totals already delivered: not a commit, and nothing to
		// send again if the pipeline refuses it.
		_ = r.send(ctx, rep.totals(now))
	}
	return pollErr
}

// deliver sends a sealed batch and commits it when the pipeline accepted it.
// This is the receiver's one commit.
func (r *anthropicReceiver) deliver(ctx context.Context, rep *report, md pmetric.Metrics) bool {
	if !rep.save(ctx) {
		return false
	}
	points := md.DataPointCount() // md belongs to the pipeline once sent
	err := r.send(ctx, md)
	if err != nil && !permanent(err) {
		rep.refused(err)
		return false
	}
	if err != nil {
		r.logger.Error("The pipeline refused a batch for good; its points are dropped", zap.String("report", rep.name),
			zap.Int("points", points), zap.Error(err))
	}
	rep.commit(ctx)
	return true
}

// permanent reports whether the pipeline will never accept the batch. A
// fan-out joins its branches' errors: one branch refusing for good while
// another only failed for now is not permanent, or that other branch would
// lose the batch.
func permanent(err error) bool {
	for consumererror.IsPermanent(err) {
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if !permanent(e) {
					return false
				}
			}
			return true
		case interface{ Unwrap() error }:
			if !consumererror.IsPermanent(u.Unwrap()) {
				return true // err is the permanent error itself
			}
			err = u.Unwrap()
		default:
			return true
		}
	}
	return false
}

// send hands md to the next consumer through the collector's receiver
// obsreport (otelcol_receiver_accepted/refused_metric_points).
func (r *anthropicReceiver) send(ctx context.Context, md pmetric.Metrics) error {
	n := md.DataPointCount()
	if n == 0 {
		return nil
	}
	ctx = r.obs.StartMetricsOp(ctx)
	err := r.next.ConsumeMetrics(ctx, md)
	r.obs.EndMetricsOp(ctx, dataFormat, n, err)
	return err
}

// Shutdown stops the loops, cancelling a poll in flight, and closes the
// storage client. It is safe without Start.
func (r *anthropicReceiver) Shutdown(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	var err error
	if r.storage != nil {
		err = r.storage.Close(context.Background())
	}
	if r.telemetry != nil {
		r.telemetry.Shutdown()
		r.logger.Info("Anthropic usage receiver stopped")
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func userAgent(set receiver.Settings) string {
	ua := "anthropic_usage-receiver/" + adminapi.Version
	if set.BuildInfo.Command != "" {
		ua += fmt.Sprintf(" (%s/%s)", set.BuildInfo.Command, set.BuildInfo.Version)
	}
	return ua
}

func (r *anthropicReceiver) logStart() {
	fields := []zap.Field{
		zap.String("endpoint", adminapi.RedactedEndpoint(r.cfg.ClientConfig.Endpoint)),
		zap.String("temporality", string(r.cfg.Temporality)),
	}
	for _, rep := range r.reports {
		fields = append(fields, zap.String(rep.name, describe(rep.src)))
	}
	if r.limits != nil {
		fields = append(fields, zap.String("limits", fmt.Sprintf("gauges, every %s", r.cfg.Limits.Interval)))
	}
	r.logger.Info("Anthropic usage receiver started", fields...)
	if !strings.HasPrefix(string(r.cfg.AdminAPIKey), "sk-ant-admin") {
		r.logger.Warn(`"admin_api_key" does not start with sk-ant-admin: Anthropic answers 403 to keys that are not Admin API keys`)
	}
	for _, src := range r.reports {
		a, ok := src.src.(*analyticsSource)
		if !ok {
			continue
		}
		for _, d := range adminapi.NonAdditiveDims {
			if slices.Contains(a.groupBy, d) {
				r.logger.Warn("This dimension's rows overlap or cover part of the usage only: do not add its series up", zap.String("report", a.report), zap.String("group_by", d))
			}
		}
		if p := a.cfg; p.Audit.Interval <= 0 || p.Audit.Window < 30*24*time.Hour {
			r.logger.Warn("The analytics API is assumed to revise values for up to 30 days; an audit window shorter than 720h misses the older revisions",
				zap.String("report", a.report), zap.Duration("audit_window", p.Audit.Window))
		}
	}
	if r.cfg.ClientConfig.TLS.InsecureSkipVerify {
		r.logger.Warn(`"tls.insecure_skip_verify" is set: the admin key is sent to a server whose certificate is not checked`)
	}
	switch {
	case r.storage != nil:
	case r.cfg.Temporality == TemporalityCumulative:
		r.logger.Info(`No "storage" extension: after a restart the counters start again from the lookback with a new start time (a counter reset downstream)`)
	case r.cfg.Temporality == TemporalityDelta:
		r.logger.Info(`No "storage" extension: after a restart the lookback is read and emitted again, so deltas from that window are counted twice downstream`)
	}
}
