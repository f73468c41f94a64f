package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

type anthropicScraper struct {
	cfg      *Config
	settings receiver.Settings
	logger   *zap.Logger
	now      func() time.Time

	client    *adminapi.Client
	limiter   *adminapi.Limiter
	reports   []collector
	names     *nameCache // nil when names are disabled
	wg        sync.WaitGroup
	telemetry *metadata.TelemetryBuilder
	storage   storage.Client // nil without a storage extension
	// next is the pipeline's next consumer, for pages of a long read that
	// are delivered before the scrape ends; nil in tests of the scraper.
	next consumer.Metrics

	// life ends at shutdown and cancels a scrape in flight (the controller
	// does not): retries and rate-limit waits stop at once.
	life   context.Context
	cancel context.CancelFunc
	lifeMu sync.Mutex

	mu      sync.Mutex
	pending []func() // commits of the last scrape, run once it was accepted
}

func newScraper(cfg *Config, set receiver.Settings) *anthropicScraper {
	return &anthropicScraper{cfg: cfg, settings: set, logger: set.Logger, now: time.Now}
}

func (s *anthropicScraper) start(ctx context.Context, host component.Host) error {
	hc, err := s.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), s.settings.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("building the HTTP client: %w", err)
	}
	s.telemetry, err = metadata.NewTelemetryBuilder(s.settings.TelemetrySettings)
	if err != nil {
		return err
	}
	if s.cfg.Storage != nil {
		s.storage, err = storageClient(ctx, host, *s.cfg.Storage, s.settings.ID)
		if err != nil {
			return err
		}
	}
	s.limiter = adminapi.NewLimiter(s.cfg.RateLimit.RequestsPerMinute, s.cfg.RateLimit.Burst)
	s.client, err = adminapi.New(hc, s.clientSettings())
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if s.cfg.Names.Enabled {
		s.names = newNameCache()
	}
	s.reports = nil
	if u := s.cfg.Usage; u.Poll.Enabled {
		r, err := newStreamReport(ctx, s, "usage", u.Poll, adminapi.WidthDuration(u.BucketWidth), newUsageSource(u, s.names), now)
		if err != nil {
			return err
		}
		s.reports = append(s.reports, r)
	}
	if c := s.cfg.Cost; c.Poll.Enabled {
		r, err := newStreamReport(ctx, s, "cost", c.Poll, 24*time.Hour, newCostSource(c, s.names), now)
		if err != nil {
			return err
		}
		s.reports = append(s.reports, r)
	}
	if c := s.cfg.ClaudeCode; c.Poll.Enabled {
		r, err := newStreamReport(ctx, s, "claude_code", c.Poll, 24*time.Hour, &claudeCodeSource{actor: c.Actor, names: s.names}, now)
		if err != nil {
			return err
		}
		s.reports = append(s.reports, r)
	}
	if err := registerHealth(s.telemetry, s.reports, s.now); err != nil {
		return err
	}
	s.lifeMu.Lock()
	s.life, s.cancel = context.WithCancel(context.Background())
	s.lifeMu.Unlock()
	if s.names != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.names.run(s.life, s.client, s.cfg.Names.Interval, s.logger)
		}()
	}
	s.logStart()
	return nil
}

// clientSettings are the Admin API client's settings from the configuration.
func (s *anthropicScraper) clientSettings() adminapi.Settings {
	retry := s.cfg.RetryOnFailure
	return adminapi.Settings{
		Endpoint:         s.cfg.ClientConfig.Endpoint,
		AdminKey:         string(s.cfg.AdminAPIKey),
		UserAgent:        userAgent(s.settings),
		MaxResponseBytes: s.cfg.MaxResponseBytes,
		MaxPages:         s.cfg.MaxPages,
		Limiter:          s.limiter,
		Logger:           s.logger,
		Observer:         newRequestObserver(s.telemetry),
		Retry: adminapi.RetryPolicy{
			Enabled:             retry.Enabled,
			InitialInterval:     retry.InitialInterval,
			MaxInterval:         retry.MaxInterval,
			Multiplier:          retry.Multiplier,
			RandomizationFactor: retry.RandomizationFactor,
			MaxElapsedTime:      retry.MaxElapsedTime,
		},
	}
}

func newStreamReport[K comparable, R comparable](ctx context.Context, s *anthropicScraper, name string, p PollConfig, width time.Duration, src source[K, R], now time.Time) (*streamReport[K, R], error) {
	cfg := accounting.Config{BucketWidth: width, RevisionWindow: p.RevisionWindow, Start: now.Add(-p.Lookback)}
	stream, err := accounting.NewStream[K](cfg)
	if err != nil {
		return nil, err
	}
	r := &streamReport[K, R]{
		reportName:  name,
		interval:    p.Interval,
		tolerance:   s.cfg.ControllerConfig.CollectionInterval / 2,
		temporality: s.cfg.Temporality,
		stream:      stream,
		points:      points{kit: newPointKit(s.cfg.MetricsBuilderConfig, s.settings)},
		src:         src,
		logger:      s.logger,
		telemetry:   s.telemetry,
		// Whatever an earlier process sent, it sent before this one
		// started: pages of this process's first read come after that.
		lastStamp: now,
	}
	if s.next != nil {
		r.push = s.next.ConsumeMetrics
	}
	if s.storage != nil {
		r.checkpoint = &checkpoint{client: s.storage, key: checkpointKey(name, src.shape()...), logger: s.logger}
		data, err := r.checkpoint.load(ctx)
		switch {
		case err != nil:
			s.logger.Error("Checkpoint unreadable; starting from the lookback", zap.String("report", name), zap.Error(err))
		case data == nil:
			s.logger.Info("No checkpoint for this report and configuration; starting from the lookback",
				zap.String("report", name), zap.Time("start", stream.Start()))
		default:
			restored, err := accounting.RestoreStream[K](cfg, data, src.codec())
			if err == nil && restored.LastEmit().After(now.Add(time.Hour)) {
				err = fmt.Errorf("its last emission, %s, is in the future", restored.LastEmit())
			}
			if err != nil {
				s.logger.Error("Checkpoint corrupt; starting from the lookback", zap.String("report", name), zap.Error(err))
				break
			}
			r.stream = restored
			s.logger.Info("Resuming from checkpoint", zap.String("report", name), zap.Time("start", restored.Start()),
				zap.Time("watermark", restored.Watermark()), zap.Int("series", restored.Series()))
		}
	}
	r.state.watermark.Store(r.stream.Watermark().UnixNano())
	return r, nil
}

func userAgent(set receiver.Settings) string {
	ua := "anthropic_usage-receiver/" + adminapi.Version
	if set.BuildInfo.Command != "" {
		ua += fmt.Sprintf(" (%s/%s)", set.BuildInfo.Command, set.BuildInfo.Version)
	}
	return ua
}

func (s *anthropicScraper) logStart() {
	fields := []zap.Field{
		zap.String("endpoint", s.cfg.ClientConfig.Endpoint),
		zap.String("temporality", string(s.cfg.Temporality)),
	}
	if u := s.cfg.Usage; u.Poll.Enabled {
		fields = append(fields, zap.String("usage", fmt.Sprintf("%s buckets, %s", u.BucketWidth, describePoll(u.Poll))))
	}
	if c := s.cfg.Cost; c.Poll.Enabled {
		fields = append(fields, zap.String("cost", "1d buckets, "+describePoll(c.Poll)))
	}
	if c := s.cfg.ClaudeCode; c.Poll.Enabled {
		fields = append(fields, zap.String("claude_code", fmt.Sprintf("daily, actor %s, %s", c.Actor, describePoll(c.Poll))))
	}
	s.logger.Info("Anthropic usage receiver started", fields...)
	if !strings.HasPrefix(string(s.cfg.AdminAPIKey), "sk-ant-admin") {
		s.logger.Warn(`"admin_api_key" does not start with sk-ant-admin: Anthropic answers 403 to keys that are not Admin API keys`)
	}
	if s.cfg.ClientConfig.TLS.InsecureSkipVerify {
		s.logger.Warn(`"tls.insecure_skip_verify" is set: the admin key is sent to a server whose certificate is not checked`)
	}
	switch {
	case s.storage != nil:
	case s.cfg.Temporality == TemporalityCumulative:
		s.logger.Info(`No "storage" extension: after a restart the counters start again from the lookback with a new start time (a counter reset downstream)`)
	case s.cfg.Temporality == TemporalityDelta:
		s.logger.Info(`No "storage" extension: after a restart the lookback is read and emitted again, so deltas from that window are counted twice downstream`)
	}
}

// stopScrapes cancels a scrape in flight and every background lookup.
func (s *anthropicScraper) stopScrapes() {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
}

func (s *anthropicScraper) shutdown(context.Context) error {
	s.stopScrapes()
	s.wg.Wait()
	var err error
	if s.storage != nil {
		err = s.storage.Close(context.Background())
	}
	if s.telemetry != nil {
		s.telemetry.Shutdown()
	}
	s.logger.Info("Anthropic usage receiver stopped")
	return err
}

func (s *anthropicScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.lifeMu.Lock()
	life := s.life
	s.lifeMu.Unlock()
	if life != nil {
		defer context.AfterFunc(life, cancel)()
	}
	if s.names != nil {
		// The first scrape gives the first lookup a moment, so that series
		// do not appear without names and then again with them; it is done
		// long before the first scrape unless the API is unreachable.
		s.names.awaitFirst(ctx, namesFirstLookup)
	}
	now := s.now().UTC()
	md := pmetric.NewMetrics()
	var errs scrapererror.ScrapeErrors
	var pending []func()
	for _, r := range s.reports {
		m, commit, err := r.collect(ctx, s.client, now)
		if err != nil {
			errs.AddPartial(1, fmt.Errorf("%s report: %w", r.name(), err))
			continue
		}
		m.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
		if commit != nil {
			pending = append(pending, commit)
		}
	}
	s.mu.Lock()
	s.pending = pending
	s.mu.Unlock()
	return md, errs.Combine()
}

// settle runs the last scrape's commits when its metrics were accepted and
// drops them otherwise, so that the next poll counts the same data again.
func (s *anthropicScraper) settle(accepted bool) {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	if !accepted {
		if len(pending) > 0 {
			s.logger.Debug("Metrics refused downstream; the next poll counts them again")
		}
		return
	}
	for _, commit := range pending {
		commit()
	}
}
