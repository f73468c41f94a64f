// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// NewFactory creates a factory for the anthropic_usage receiver. Every
// default of the receiver and of its Admin API client is set here.
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
		ClientConfig:         client,
		CollectionInterval:   time.Minute,
		InitialDelay:         time.Second,
		MetricsBuilderConfig: metadata.NewDefaultMetricsBuilderConfig(),
		Temporality:          TemporalityCumulative,
		Usage:                NewDefaultUsageConfig(),
		Cost:                 NewDefaultCostConfig(),
		ClaudeCode:           NewDefaultClaudeCodeConfig(),
		Names:                NamesConfig{Enabled: true, Interval: time.Hour},
		Limits:               NewDefaultLimitsConfig(),
		RateLimit:            RateLimitConfig{RequestsPerMinute: 60, Burst: 15},
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
		}.withLifecycle(),
		Source:       sourceLegacy,
		BucketWidth:  "1m",
		GroupBy:      []string{groupWorkspace, groupModel, groupAPIKey, groupServiceTier, groupContextWindow},
		ActorDetails: actorDrop,
	}
}

// NewDefaultCostConfig returns the cost report defaults: hourly, a week of
// lookback, and two days of revisions (a day's cost settles the next day).
func NewDefaultCostConfig() CostConfig {
	return CostConfig{
		Poll: PollConfig{
			Enabled:        true,
			Interval:       time.Hour,
			Lookback:       7 * 24 * time.Hour,
			RevisionWindow: 48 * time.Hour,
		}.withLifecycle(),
		Source:       sourceLegacy,
		BucketWidth:  "1d",
		GroupBy:      []string{groupWorkspace, groupDescription},
		ActorDetails: actorDrop,
	}
}

// NewDefaultClaudeCodeConfig returns the Claude Code report defaults. It is
// disabled: the report is per person.
func NewDefaultClaudeCodeConfig() ClaudeCodeConfig {
	return ClaudeCodeConfig{
		Poll: PollConfig{
			Enabled:        false,
			Interval:       time.Hour,
			Lookback:       7 * 24 * time.Hour,
			RevisionWindow: 48 * time.Hour,
		}.withLifecycle(),
		Actor: actorDrop,
	}
}

// withLifecycle adds what every report has by default: a daily audit of the
// past week at 1d, series kept a week after their last change, and at most
// 50,000 series.
func (p PollConfig) withLifecycle() PollConfig {
	p.Audit = AuditConfig{Interval: 24 * time.Hour, Window: 7 * 24 * time.Hour, BucketWidth: "1d"}
	p.SeriesExpiry = 7 * 24 * time.Hour
	p.MaxSeries = 50000
	return p
}

func createMetricsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	return newReceiver(cfg.(*Config), set, next)
}
