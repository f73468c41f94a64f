// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
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
	assert.Equal(t, "drop", cfg.ClaudeCode.Actor, "personal data is off unless turned on")
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
	assert.Equal(t, configopaque.String("0123456789abcdef0123456789abcdef"), cfg.HashKey)
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
	src := newAnalyticsCostSource(cfg.Cost, newActorPolicy(cfg.Cost.ActorDetails, cfg.HashKey), nil)
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
		{name: "key_with_newline", errs: []error{errKeyCharacters}, msgs: []string{`"admin_api_key"`}},
		{name: "hash_without_key", errs: []error{errHashKey}, msgs: []string{`"hash_key"`}},
		{name: "hash_key_short", errs: []error{errHashKey}, msgs: []string{`"hash_key"`}},
		{name: "hash_key_with_newline", errs: []error{errKeyCharacters}, msgs: []string{`"hash_key"`}},
		{name: "timeout_zero", errs: []error{errTimeout}, msgs: []string{`"timeout"`}},
		{name: "proxy_in_clear", errs: []error{errProxy}, msgs: []string{`"proxy_url"`, "http://10.0.0.5:3128"}},
		{name: "endpoint_query", errs: []error{errEndpoint}, msgs: []string{"query"}},
		{name: "endpoint_fragment", errs: []error{errEndpoint}, msgs: []string{"fragment"}},
		{name: "endpoint_password", errs: []error{errEndpoint}, msgs: []string{"user information", "https://api.anthropic.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := confmap.Validate(loadConfig(t, tt.name))
			require.Error(t, err)
			for _, secret := range []string{"sk-ant-admin01-example", "s3cret", "0123456789abcdef", "p4ssw0rd", "pr0xyp4ss"} {
				assert.NotContains(t, err.Error(), secret, "a secret is named, never shown")
			}
			for _, want := range tt.errs {
				assert.ErrorIs(t, err, want)
			}
			for _, msg := range tt.msgs {
				assert.Contains(t, err.Error(), msg)
			}
		})
	}
}

// A proxy carries the key in clear text only for a plain http:// endpoint:
// an https:// one goes through a CONNECT tunnel.
func TestProxyRule(t *testing.T) {
	for _, tt := range []struct {
		endpoint, proxy string
		ok              bool
	}{
		{"https://api.anthropic.com", "http://proxy.corp:3128", true},
		{"https://api.anthropic.com", "", true},
		{"http://127.0.0.1:8089", "", true},
		{"http://127.0.0.1:8089", "http://localhost:3128", true},
		{"http://127.0.0.1:8089", "http://10.0.0.5:3128", false},
		{"http://localhost:8089", "socks5://proxy.corp:1080", false},
		{"HTTP://localhost:8089", "https://proxy.corp", false},
	} {
		err := validateProxy(tt.endpoint, tt.proxy)
		if tt.ok {
			assert.NoError(t, err, "%s via %s", tt.endpoint, tt.proxy)
		} else {
			assert.ErrorIs(t, err, errProxy, "%s via %s", tt.endpoint, tt.proxy)
		}
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

// Item 12: an unknown key fails, with its name and its section, in every
// section of the configuration; a known key of the same section passes.
func TestUnknownKeysAreRefused(t *testing.T) {
	tests := []struct {
		section []string // where the key goes; nil: the top level
		known   map[string]any
	}{
		{nil, map[string]any{"initial_delay": "5s"}},
		{[]string{"usage"}, map[string]any{"revision_window": "5m"}},
		{[]string{"cost"}, map[string]any{"lookback": "24h"}},
		{[]string{"claude_code"}, map[string]any{"actor": "drop"}},
		{[]string{"names"}, map[string]any{"interval": "2h"}},
		{[]string{"rate_limit"}, map[string]any{"burst": 3}},
		{[]string{"retry_on_failure"}, map[string]any{"max_interval": "10s"}},
		{[]string{"tls"}, map[string]any{"insecure_skip_verify": false}},
		{[]string{"keepalive"}, map[string]any{"idle_conn_timeout": "30s"}},
		{[]string{"metrics"}, map[string]any{"anthropic.cost": map[string]any{"enabled": true}}},
		{[]string{"metrics", "anthropic.usage.tokens"}, map[string]any{"enabled": true}},
		{[]string{"resource_attributes"}, map[string]any{"anthropic.workspace.name": map[string]any{"enabled": true}}},
		{[]string{"resource_attributes", "anthropic.workspace.id"}, map[string]any{"enabled": true}},
	}
	conf := func(section []string, keys map[string]any) *confmap.Conf {
		top := map[string]any{"admin_api_key": "sk-ant-admin01-example"}
		m := top
		for _, s := range section {
			next := map[string]any{}
			m[s] = next
			m = next
		}
		for k, v := range keys {
			m[k] = v
		}
		return confmap.NewFromStringMap(top)
	}
	for _, tt := range tests {
		name := strings.Join(tt.section, "::")
		t.Run("section="+name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			require.NoError(t, conf(tt.section, tt.known).Unmarshal(cfg), "a known key")
			require.NoError(t, confmap.Validate(cfg))

			cfg = NewFactory().CreateDefaultConfig().(*Config)
			err := conf(tt.section, map[string]any{"misspelt_key": "5m"}).Unmarshal(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "misspelt_key")
			assert.Contains(t, err.Error(), "has invalid keys")
			assert.Contains(t, err.Error(), "'"+strings.Join(tt.section, "."), "the section is named")
		})
	}
	// Headers are a map of any names.
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, conf([]string{"headers"}, map[string]any{"X-Anything": "v"}).Unmarshal(cfg))
}
