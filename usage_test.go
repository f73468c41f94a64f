// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

func sp(s string) *string { return &s }

// usageRows is one bucket of usage rows mapped with groupBy.
func usageRows(groupBy []string, rows ...adminapi.UsageResult) (map[seriesKey]accounting.Counters, skipCounts) {
	cfg := NewDefaultUsageConfig()
	cfg.GroupBy = groupBy
	p := newUsageSource(cfg, nil).mapPage(&adminapi.UsagePage{Data: []adminapi.UsageBucket{{
		StartingAt: fixedNow, EndingAt: fixedNow.Add(time.Minute), Results: rows,
	}}})
	buckets := collectBuckets(p)
	return buckets[0].rows, p.skipped
}

// collectBuckets maps every bucket of a page, each rows map its own.
func collectBuckets(p page) []bucket {
	var out []bucket
	for b := range p.buckets {
		b.rows = maps.Clone(b.rows)
		out = append(out, b)
	}
	return out
}

func usageKey(workspace, model, apiKey, tier, window, geo string) seriesKey {
	return seriesKey{workspace, model, apiKey, tier, window, geo}
}

// Rows to series, without HTTP: nulls of grouped dimensions become the
// documented stand-ins, ungrouped dimensions are left out, rows of one
// series are summed, a row sent twice is counted once, a negative count is
// skipped.
func TestUsageRowsToSeries(t *testing.T) {
	out := func(n int64) accounting.Counters { return accounting.Counters{usageOutput: n} }
	tests := []struct {
		name    string
		groupBy []string
		rows    []adminapi.UsageResult
		want    map[seriesKey]accounting.Counters
		skipped skipCounts
	}{
		{
			name:    "nulls of grouped dimensions",
			groupBy: []string{groupWorkspace, groupModel, groupAPIKey, groupServiceTier, groupContextWindow, groupInferenceGeo},
			rows:    []adminapi.UsageResult{{OutputTokens: 5}},
			want:    map[seriesKey]accounting.Counters{usageKey(defaultWorkspace, unknownValue, consoleAPIKey, unknownValue, unknownValue, unknownValue): out(5)},
		},
		{
			name:    "ungrouped dimensions are not emitted",
			groupBy: []string{groupModel},
			rows:    []adminapi.UsageResult{{OutputTokens: 5, Model: sp("sonnet"), WorkspaceID: sp("wrkspc_a"), APIKeyID: sp("apikey_a")}},
			want:    map[seriesKey]accounting.Counters{usageKey("", "sonnet", "", "", "", ""): out(5)},
		},
		{
			name:    "rows differing in an ungrouped dimension are summed",
			groupBy: []string{groupModel},
			rows: []adminapi.UsageResult{
				{OutputTokens: 5, Model: sp("sonnet"), WorkspaceID: sp("wrkspc_a")},
				{OutputTokens: 7, Model: sp("sonnet"), WorkspaceID: sp("wrkspc_b")},
			},
			want: map[seriesKey]accounting.Counters{usageKey("", "sonnet", "", "", "", ""): out(12)},
		},
		{
			name:    "a row sent twice is counted once",
			groupBy: []string{groupModel},
			rows:    []adminapi.UsageResult{{OutputTokens: 5, Model: sp("sonnet")}, {OutputTokens: 5, Model: sp("sonnet")}},
			want:    map[seriesKey]accounting.Counters{usageKey("", "sonnet", "", "", "", ""): out(5)},
			skipped: skipCounts{"row repeated within a bucket": 1},
		},
		{
			name:    "summed rows, then one of them again",
			groupBy: []string{groupModel},
			rows: []adminapi.UsageResult{
				{OutputTokens: 5, Model: sp("sonnet"), WorkspaceID: sp("wrkspc_a")},
				{OutputTokens: 1, Model: sp("haiku")},
				{OutputTokens: 7, Model: sp("sonnet"), WorkspaceID: sp("wrkspc_b")},
				{OutputTokens: 5, Model: sp("sonnet"), WorkspaceID: sp("wrkspc_a")},
			},
			want: map[seriesKey]accounting.Counters{
				usageKey("", "sonnet", "", "", "", ""): out(12),
				usageKey("", "haiku", "", "", "", ""):  out(1),
			},
			skipped: skipCounts{"row repeated within a bucket": 1},
		},
		{
			name:    "a negative count is skipped",
			groupBy: []string{groupModel},
			rows:    []adminapi.UsageResult{{OutputTokens: 5, Model: sp("sonnet")}, {OutputTokens: -1, Model: sp("haiku")}},
			want:    map[seriesKey]accounting.Counters{usageKey("", "sonnet", "", "", "", ""): out(5)},
			skipped: skipCounts{"negative count": 1},
		},
		{
			name:    "rows whose sum would overflow",
			groupBy: []string{groupModel},
			rows: []adminapi.UsageResult{
				{OutputTokens: 5e18, Model: sp("sonnet"), WorkspaceID: sp("wrkspc_a")},
				{OutputTokens: 5e18, Model: sp("sonnet"), WorkspaceID: sp("wrkspc_b")},
				{OutputTokens: 3, Model: sp("haiku")},
			},
			want: map[seriesKey]accounting.Counters{
				usageKey("", "sonnet", "", "", "", ""): out(5e18),
				usageKey("", "haiku", "", "", "", ""):  out(3),
			},
			skipped: skipCounts{"sum of the series' rows would overflow": 1},
		},
		{
			name:    "account, service account and speed",
			groupBy: []string{groupModel, groupAccount, groupServiceAccount, groupSpeed},
			rows: []adminapi.UsageResult{
				{OutputTokens: 5, Model: sp("opus"), AccountID: sp("user_a"), Speed: sp("fast")},
				{OutputTokens: 7, Model: sp("opus"), ServiceAccountID: sp("svac_a"), Speed: sp("standard")},
				{OutputTokens: 1, Model: sp("opus")},
			},
			want: map[seriesKey]accounting.Counters{
				{"", "opus", "", "", "", "", "user_a", unknownValue, "fast"}:           out(5),
				{"", "opus", "", "", "", "", unknownValue, "svac_a", "standard"}:       out(7),
				{"", "opus", "", "", "", "", unknownValue, unknownValue, unknownValue}: out(1),
			},
		},
		{
			name:    "every counter",
			groupBy: nil,
			rows: []adminapi.UsageResult{{UncachedInputTokens: 1, CacheReadInputTokens: 2, OutputTokens: 5,
				CacheCreation: adminapi.CacheCreation{Ephemeral5mInputTokens: 3, Ephemeral1hInputTokens: 4}, ServerToolUse: adminapi.ServerToolUse{WebSearchRequests: 6}}},
			want: map[seriesKey]accounting.Counters{{}: {1, 2, 3, 4, 5, 6}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped := usageRows(tt.groupBy, tt.rows...)
			assert.Equal(t, tt.want, got)
			assertSkipped(t, tt.skipped, skipped)
		})
	}
}

// A checkpoint keeps the six key fields of a grouping without the later
// dimensions, so checkpoints written before them still resume.
func TestUsageKeyFields(t *testing.T) {
	for groupBy, want := range map[string]int{
		"":                         usageKeyFields,
		"workspace_id,model":       6,
		"model,account_id":         9,
		"service_account_id":       9,
		"workspace_id,speed,model": 9,
	} {
		cfg := NewDefaultUsageConfig()
		cfg.GroupBy = strings.Split(groupBy, ",")
		if groupBy == "" {
			cfg.GroupBy = nil
		}
		assert.Equal(t, want, newUsageSource(cfg, nil).keyFields(), groupBy)
	}
}

// The legacy report's account, service account and speed dimensions: the
// speed needs the fast-mode beta header, which a server that enforces it
// checks.
func TestUsageIdentityAndSpeedGolden(t *testing.T) {
	body, err := testdataFile("usage_report_identity_speed.json")
	require.NoError(t, err)
	var betas []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		betas = append(betas, r.Header.Get("anthropic-beta"))
		if r.URL.Path != adminapi.PathUsageMessages || r.Header.Get("anthropic-beta") != adminapi.BetaFastMode {
			http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"speed requires the fast-mode beta"}}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Cost.Poll.Enabled = false
	cfg.Usage.GroupBy = []string{groupModel, groupAccount, groupServiceAccount, groupSpeed}
	r := startReceiver(t, cfg, func() time.Time { return fixedNow })
	md, err := r.poll()
	require.NoError(t, err)
	require.NotEmpty(t, betas)
	compareGolden(t, "usage_identity_speed.yaml", md)
}

// The reference's example page, polled and emitted: one golden file per
// configuration.
func TestUsageGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		mod    func(*Config)
	}{
		{name: "cumulative", golden: "usage_cumulative.yaml"},
		{name: "delta", golden: "usage_delta.yaml", mod: func(c *Config) { c.Temporality = TemporalityDelta }},
		{name: "group by model only", golden: "usage_model_only.yaml", mod: func(c *Config) { c.Usage.GroupBy = []string{"model"} }},
		{name: "no grouping", golden: "usage_ungrouped.yaml", mod: func(c *Config) { c.Usage.GroupBy = nil }},
		{name: "web search disabled", golden: "usage_tokens_only.yaml", mod: func(c *Config) {
			c.MetricsBuilderConfig.Metrics.AnthropicUsageWebSearchRequests.Enabled = false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fixtureServer(t, map[string]string{adminapi.PathUsageMessages: "usage_report_1m.json"})
			cfg := testConfig(srv.URL)
			if tt.mod != nil {
				tt.mod(cfg)
			}
			r := startReceiver(t, cfg, func() time.Time { return fixedNow })
			md, err := r.poll()
			require.NoError(t, err)
			compareGolden(t, tt.golden, md)
		})
	}
}
