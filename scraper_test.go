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

func fixtureServer(t *testing.T, path, file string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "apiresponses", file))
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
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
			srv := fixtureServer(t, adminapi.PathUsageMessages, "usage_report_1m.json")
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
