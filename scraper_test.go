package anthropicusagereceiver

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/scraper/scrapererror"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/scraper from the current output")

// fixedNow is the scrape time of the golden tests: within the open bucket
// after the fixture's last one.
var fixedNow = time.Date(2026, 9, 1, 10, 2, 30, 0, time.UTC)

func testConfig(endpoint string) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.AdminAPIKey = "sk-ant-admin01-test-key"
	cfg.RateLimit = RateLimitConfig{RequestsPerMinute: 60000, Burst: 1000}
	cfg.RetryOnFailure.InitialInterval = time.Millisecond
	cfg.RetryOnFailure.MaxInterval = time.Millisecond
	cfg.RetryOnFailure.MaxElapsedTime = 100 * time.Millisecond
	// Tests enable the reports and lookups they are about.
	cfg.Cost.Poll.Enabled = false
	cfg.Names.Enabled = false
	return cfg
}

func startScraper(t *testing.T, cfg *Config, now func() time.Time) *anthropicScraper {
	t.Helper()
	require.NoError(t, cfg.Validate())
	s := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	s.now = now
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, s.shutdown(context.Background())) })
	return s
}

func testdataFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "apiresponses", name))
}

// fixtureServer serves recorded responses: API path -> file under
// testdata/apiresponses.
func fixtureServer(t *testing.T, files map[string]string) *httptest.Server {
	t.Helper()
	bodies := map[string][]byte{}
	for path, file := range files {
		b, err := testdataFile(file)
		require.NoError(t, err)
		bodies[path] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("request-id", "req_fixture")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func compareGolden(t *testing.T, name string, actual pmetric.Metrics) {
	t.Helper()
	path := filepath.Join("testdata", "scraper", name)
	if *updateGolden {
		require.NoError(t, golden.WriteMetrics(t, path, actual))
	}
	expected, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	// The golden writer normalizes timestamps and sorts resources; the
	// timestamps are asserted by TestScrapeTimestamps.
	require.NoError(t, pmetrictest.CompareMetrics(expected, actual,
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		pmetrictest.IgnoreResourceMetricsOrder(), pmetrictest.IgnoreMetricDataPointsOrder()))
}

func TestScrapeUsageGolden(t *testing.T) {
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
			s := startScraper(t, cfg, func() time.Time { return fixedNow })
			md, err := s.scrape(context.Background())
			require.NoError(t, err)
			compareGolden(t, tt.golden, md)
		})
	}
}

func TestScrapeReportsFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("request-id", "req_denied")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"permission_error","message":"Permission denied"},"request_id":"req_denied"}`))
	}))
	defer srv.Close()
	s := startScraper(t, testConfig(srv.URL), func() time.Time { return fixedNow })
	md, err := s.scrape(context.Background())
	require.Error(t, err)
	assert.True(t, scrapererror.IsPartialScrapeError(err))
	assert.Contains(t, err.Error(), "usage report")
	assert.Contains(t, err.Error(), "permission_error")
	assert.Contains(t, err.Error(), "req_denied")
	assert.NotContains(t, err.Error(), "sk-ant-admin01-test-key")
	assert.Equal(t, 0, md.DataPointCount())
	s.settle(true)
	assert.Equal(t, fixedNow.Add(-24*time.Hour).Truncate(time.Minute), s.reports[0].(*streamReport[usageKey, modelResource]).stream.Watermark(),
		"a failed poll commits nothing")
}

// The reference's example bodies: one cost day and one Claude Code day.
func TestScrapeCostAndClaudeCodeGolden(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		golden string
		mod    func(*Config)
	}{
		{name: "cost", golden: "cost_cumulative.yaml", mod: func(c *Config) { c.Cost.Poll.Enabled = true }},
		{name: "cost with description", golden: "cost_description.yaml", mod: func(c *Config) {
			c.Cost.Poll.Enabled = true
			c.MetricsBuilderConfig.Metrics.AnthropicCost.EnabledAttributes = append(c.MetricsBuilderConfig.Metrics.AnthropicCost.EnabledAttributes,
				metadata.AnthropicCostMetricAttributeKeyAnthropicCostDescription)
		}},
		{name: "cost by workspace only", golden: "cost_workspace_only.yaml", mod: func(c *Config) {
			c.Cost.Poll.Enabled = true
			c.Cost.GroupBy = []string{"workspace_id"}
		}},
		{name: "claude code", golden: "claude_code.yaml", mod: func(c *Config) { c.ClaudeCode.Poll.Enabled = true }},
		{name: "claude code hashed actor", golden: "claude_code_hashed.yaml", mod: func(c *Config) {
			c.ClaudeCode.Poll.Enabled = true
			c.ClaudeCode.Actor = actorHash
		}},
		{name: "claude code dropped actor", golden: "claude_code_dropped.yaml", mod: func(c *Config) {
			c.ClaudeCode.Poll.Enabled = true
			c.ClaudeCode.Actor = actorDrop
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fixtureServer(t, map[string]string{
				adminapi.PathCostReport: "cost_report.json",
				adminapi.PathClaudeCode: "claude_code.json",
			})
			cfg := testConfig(srv.URL)
			cfg.Usage.Poll.Enabled = false
			tt.mod(cfg)
			s := startScraper(t, cfg, func() time.Time { return now })
			md, err := s.scrape(context.Background())
			require.NoError(t, err)
			compareGolden(t, tt.golden, md)
		})
	}
}
