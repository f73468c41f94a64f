// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadConfig(t *testing.T) {
	cfg := loadConfig(t, "")
	require.NoError(t, confmap.Validate(cfg))
	want := NewFactory().CreateDefaultConfig().(*Config)
	want.AdminAPIKey = "sk-ant-admin01-example"
	assert.Equal(t, want, cfg)
	assert.Equal(t, "https://api.anthropic.com", cfg.ClientConfig.Endpoint)
	assert.Equal(t, time.Minute, cfg.CollectionInterval)
	assert.Equal(t, time.Second, cfg.InitialDelay)
	assert.Equal(t, time.Minute, cfg.ClientConfig.Timeout, "the HTTP client's timeout: the receiver's tick has none")
	assert.Equal(t, TemporalityCumulative, cfg.Temporality)
	assert.Equal(t, []string{"workspace_id", "model", "api_key_id", "service_tier", "context_window"}, cfg.Usage.GroupBy)
	assert.Equal(t, 24*time.Hour, cfg.Usage.Poll.Lookback)
	assert.Equal(t, time.Hour, cfg.Usage.Poll.RevisionWindow)
	assert.Equal(t, CostConfig{
		Poll:         PollConfig{Enabled: true, Interval: time.Hour, Lookback: 168 * time.Hour, RevisionWindow: 48 * time.Hour}.withLifecycle(),
		Source:       "legacy",
		BucketWidth:  "1d",
		GroupBy:      []string{"workspace_id", "description"},
		ActorDetails: "drop",
	}, cfg.Cost)
	assert.False(t, cfg.ClaudeCode.Poll.Enabled, "Claude Code analytics are per person: opt-in")
	assert.Equal(t, "keep", cfg.ClaudeCode.Actor)
	assert.Equal(t, NamesConfig{Enabled: true, Interval: time.Hour}, cfg.Names)

	cfg = loadConfig(t, "custom")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "http://127.0.0.1:8089", cfg.ClientConfig.Endpoint)
	assert.Equal(t, 30*time.Second, cfg.CollectionInterval)
	assert.Equal(t, 20*time.Second, cfg.ClientConfig.Timeout, "timeout is the HTTP client's")
	assert.Equal(t, 5*time.Second, cfg.InitialDelay)
	assert.Equal(t, TemporalityDelta, cfg.Temporality)
	assert.Equal(t, RateLimitConfig{RequestsPerMinute: 10, Burst: 2}, cfg.RateLimit)
	assert.Equal(t, 20, cfg.MaxPages)
	assert.Equal(t, int64(1<<20), cfg.MaxResponseBytes)
	assert.Equal(t, 2*time.Second, cfg.RetryOnFailure.InitialInterval)
	assert.Equal(t, UsageConfig{
		Poll: PollConfig{Enabled: true, Interval: 5 * time.Minute, Lookback: 168 * time.Hour, RevisionWindow: 6 * time.Hour,
			Audit: AuditConfig{Interval: 12 * time.Hour, Window: 72 * time.Hour, BucketWidth: "1h"}, SeriesExpiry: 72 * time.Hour, MaxSeries: 1000},
		Source:         "legacy",
		BucketWidth:    "1h",
		GroupBy:        []string{"workspace_id", "model", "inference_geo"},
		ActorDetails:   "drop",
		Models:         []string{"claude-sonnet-4-6"},
		ContextWindows: []string{"0-200k"},
		InferenceGeos:  []string{"us", "global"},
	}, cfg.Usage)
	assert.Equal(t, map[string][]string{
		"models": {"claude-sonnet-4-6"}, "context_window": {"0-200k"}, "inference_geos": {"us", "global"},
	}, cfg.Usage.filters())
	assert.False(t, cfg.Cost.Poll.Enabled)
	assert.Equal(t, ClaudeCodeConfig{
		Poll:  PollConfig{Enabled: true, Interval: 2 * time.Hour, Lookback: 72 * time.Hour, RevisionWindow: 26 * time.Hour}.withLifecycle(),
		Actor: "hash",
	}, cfg.ClaudeCode)
	assert.False(t, cfg.Names.Enabled)
}

// The legacy usage report's remaining dimensions are accepted.
func TestUsageIdentityAndSpeedConfig(t *testing.T) {
	cfg := loadConfig(t, "identity_and_speed")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, []string{"workspace_id", "model", "account_id", "service_account_id", "speed"}, cfg.Usage.GroupBy)
}

// The analytics source: its vocabulary, the fan-out dimensions beside the
// five, the actor's details.
func TestAnalyticsConfig(t *testing.T) {
	cfg := loadConfig(t, "analytics")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "analytics", cfg.Usage.Source)
	assert.Equal(t, "hash", cfg.Usage.ActorDetails)
	assert.Equal(t, 720*time.Hour, cfg.Usage.Poll.Audit.Window)
	assert.Equal(t, "1h", cfg.Cost.BucketWidth)
	src := newAnalyticsCostSource(cfg.Cost, nil)
	assert.Equal(t, []string{"api_key_id", "actor", "product"}, src.dims, "workspace and model are the resource's, the fan-out is the kind")
}

func TestConfigValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		errs []error
		msgs []string
	}{
		{name: "missing_key", errs: []error{errMissingAdminKey}},
		{name: "plain_http", errs: []error{errEndpoint}, msgs: []string{"http://api.anthropic.com"}},
		{name: "bad_temporality", errs: []error{errTemporality}, msgs: []string{`"gauge"`}},
		{name: "bad_group_by", errs: []error{errGroupBy}, msgs: []string{`"usage.group_by"`, `"description"`, `"model" is listed twice`}},
		{name: "bad_bucket_width", errs: []error{errBucketWidth}, msgs: []string{`"usage.bucket_width"`, `"5m"`}},
		{name: "negative_windows", errs: []error{errNegative}, msgs: []string{`"usage.lookback"`, `"usage.revision_window"`}},
		{name: "interval_below_collection", errs: []error{errInterval}, msgs: []string{`"usage.interval"`}},
		{name: "huge_revision_window", errs: []error{errRevisionWindow}, msgs: []string{`"usage.revision_window"`, "1440"}},
		{name: "huge_lookback", errs: []error{errLookback}, msgs: []string{`"usage.lookback"`, "max_pages 3"}},
		{name: "empty_filter", errs: []error{errFilter}, msgs: []string{`"usage.models"`}},
		{name: "nothing_enabled", errs: []error{errNoReport}},
		{name: "bad_cost", errs: []error{errInterval, errGroupBy, errRevisionWindow}, msgs: []string{`"cost.interval"`, `"cost.group_by"`, `"model"`, `"cost.revision_window"`}},
		{name: "bad_claude_code", errs: []error{errActor, errLookback}, msgs: []string{`"email"`, `"claude_code.lookback"`}},
		{name: "bad_names", errs: []error{errNamesInterval}},
		{name: "bad_limits", errs: []error{errMaxPages, errMaxResponse, errRateLimit}},
		{name: "bad_retry", errs: []error{errRetry}, msgs: []string{`"retry_on_failure"`}},
		{name: "bad_collection", errs: []error{errCollection}, msgs: []string{`"collection_interval"`, `"initial_delay"`}},
		{name: "many_errors", errs: []error{errMissingAdminKey, errEndpoint, errTemporality, errBucketWidth}},
		{name: "bad_source", errs: []error{errSource, errGroupBy}, msgs: []string{`"usage.source"`, `"new"`, `"cost.group_by"`, `"description"`}},
		{name: "bad_analytics", errs: []error{errGroupBy, errActorDetails, errAnalyticsRange, errAuditWindow},
			msgs: []string{`"usage.group_by"`, "8 dimensions", "rbac_group_id and claude_tag_user_id", `"usage.actor_details"`, `"email"`,
				`"usage.lookback"`, `"usage.revision_window"`, `"usage.audit.window"`, `"cost.bucket_width" must be 1d with the legacy source`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := confmap.Validate(loadConfig(t, tt.name))
			require.Error(t, err)
			for _, want := range tt.errs {
				assert.ErrorIs(t, err, want)
			}
			for _, msg := range tt.msgs {
				assert.Contains(t, err.Error(), msg)
			}
		})
	}
}

func TestLoopbackEndpoints(t *testing.T) {
	for _, ok := range []string{"https://api.anthropic.com", "http://localhost:8089", "http://127.0.0.1:1", "http://[::1]:8089", "https://proxy.internal/anthropic"} {
		assert.NoError(t, validateEndpoint(ok), ok)
	}
	for _, bad := range []string{"", "api.anthropic.com", "http://10.0.0.1", "http://api.anthropic.com", "ws://localhost"} {
		assert.ErrorIs(t, validateEndpoint(bad), errEndpoint, bad)
	}
}
