package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// NewFactory creates a factory for the anthropic_usage receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithMetrics(createMetricsReceiver, metadata.MetricsStability))
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = defaultEndpoint
	client.Timeout = time.Minute
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = time.Second
	retry.MaxElapsedTime = 2 * time.Minute
	return &Config{
		ControllerConfig:     scraperhelper.NewDefaultControllerConfig(),
		ClientConfig:         client,
		MetricsBuilderConfig: metadata.NewDefaultMetricsBuilderConfig(),
		Temporality:          TemporalityCumulative,
		Usage:                NewDefaultUsageConfig(),
		RateLimit:            RateLimitConfig{RequestsPerMinute: 30, Burst: 5},
		RetryOnFailure:       retry,
		MaxPages:             100,
		MaxResponseBytes:     128 << 20,
	}
}

// NewDefaultUsageConfig returns the usage report defaults: every minute,
// 1m buckets, a day of lookback and an hour of revisions.
func NewDefaultUsageConfig() UsageConfig {
	return UsageConfig{
		Poll: PollConfig{
			Enabled:        true,
			Interval:       time.Minute,
			Lookback:       24 * time.Hour,
			RevisionWindow: time.Hour,
		},
		BucketWidth: "1m",
		GroupBy:     []string{groupWorkspace, groupModel, groupAPIKey, groupServiceTier, groupContextWindow},
	}
}

func createMetricsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	return newReceiver(cfg.(*Config), set, next)
}
