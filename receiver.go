package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Metrics) (receiver.Metrics, error) {
	return newReceiverWithScraper(cfg, set, next, newScraper(cfg, set))
}

func newReceiverWithScraper(cfg *Config, set receiver.Settings, next consumer.Metrics, s *anthropicScraper, opts ...scraperhelper.ControllerOption) (receiver.Metrics, error) {
	s.next = next
	sc, err := scraper.NewMetrics(s.scrape, scraper.WithStart(s.start), scraper.WithShutdown(s.shutdown))
	if err != nil {
		return nil, err
	}
	opts = append(opts, scraperhelper.AddMetricsScraper(metadata.Type, sc))
	ctrl, err := scraperhelper.NewMetricsController(&cfg.ControllerConfig, set, &commitOnAccept{next: next, s: s}, opts...)
	if err != nil {
		return nil, err
	}
	return &anthropicReceiver{Metrics: ctrl, s: s}, nil
}

// anthropicReceiver stops a scrape in flight before the controller's
// Shutdown, which waits for it: retries and rate-limit waits end at once
// instead of delaying the collector's exit.
type anthropicReceiver struct {
	receiver.Metrics
	s *anthropicScraper
}

func (r *anthropicReceiver) Shutdown(ctx context.Context) error {
	r.s.stopScrapes()
	return r.Metrics.Shutdown(ctx)
}

// commitOnAccept sits between the scraper controller and the next consumer.
// The controller hands the scrape's metrics to ConsumeMetrics right after
// the scrape, on the same goroutine; only when the next consumer accepts
// them is what they carry marked as counted. A refused batch is counted
// again by the next poll, so nothing is lost and nothing is sent twice.
type commitOnAccept struct {
	next consumer.Metrics
	s    *anthropicScraper
}

func (c *commitOnAccept) Capabilities() consumer.Capabilities { return c.next.Capabilities() }

func (c *commitOnAccept) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	err := c.next.ConsumeMetrics(ctx, md)
	c.s.settle(err == nil)
	return err
}
