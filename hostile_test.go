package anthropicusagereceiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// A usage row of the bucket starting at start, model m, output tokens out.
func usageRow(m string, out int64) string {
	return fmt.Sprintf(`{"uncached_input_tokens":0,"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},`+
		`"cache_read_input_tokens":0,"output_tokens":%d,"server_tool_use":{"web_search_requests":0},"model":%q,`+
		`"workspace_id":null,"api_key_id":null,"service_tier":null,"context_window":null,"inference_geo":null}`, out, m)
}

func usageBody(buckets ...string) string {
	return `{"data":[` + strings.Join(buckets, ",") + `],"has_more":false,"next_page":null}`
}

func bucketJSON(start time.Time, width time.Duration, rows ...string) string {
	return fmt.Sprintf(`{"starting_at":%q,"ending_at":%q,"results":[%s]}`,
		start.Format(time.RFC3339), start.Add(width).Format(time.RFC3339), strings.Join(rows, ","))
}

// Hostile answers get a clear error or are skipped with a warning, and
// never lose or double what was already counted.
func TestHostileInput(t *testing.T) {
	b0 := fixedNow.Truncate(time.Minute)
	good := usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 100)))
	tests := []struct {
		name     string
		body     string
		header   map[string]string
		wantErr  string // the scrape fails with this
		wantWarn string // or the scrape succeeds and warns this
		want     int64  // sonnet output tokens after the hostile answer
	}{
		{name: "body over the cap", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 100), strings.Repeat(" ", 4096))), wantErr: "max_response_bytes", want: 100},
		{name: "deeply nested", body: `{"data":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`, wantErr: "decoding the response", want: 100},
		{name: "huge number", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 100)[:0]+`{"output_tokens":1e30,"model":"sonnet"}`)), wantErr: "decoding the response", want: 100},
		{name: "not JSON", body: `<html>maintenance</html>`, wantErr: "decoding the response", want: 100},
		{name: "negative count", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 150), usageRow("haiku", -5))), wantWarn: "negative count", want: 150},
		{name: "repeated row", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 130), usageRow("sonnet", 130))), wantWarn: "row repeated within a bucket", want: 130},
		{name: "misaligned bucket", body: usageBody(bucketJSON(b0.Add(7*time.Second), time.Minute, usageRow("sonnet", 999))), wantWarn: "outside the requested range", want: 100},
		{name: "bucket after the range", body: usageBody(bucketJSON(b0.Add(time.Hour), time.Minute, usageRow("sonnet", 999))), wantWarn: "outside the requested range", want: 100},
		{name: "bucket before the lookback", body: usageBody(bucketJSON(b0.Add(-72*time.Hour), time.Minute, usageRow("sonnet", 999)), bucketJSON(b0, time.Minute, usageRow("sonnet", 120))), want: 120},
		{name: "buckets out of order", body: usageBody(bucketJSON(b0, time.Minute, usageRow("sonnet", 110)), bucketJSON(b0.Add(-time.Minute), time.Minute, usageRow("sonnet", 5))), want: 115},
		{name: "next_page loop", body: `{"data":[],"has_more":true,"next_page":"again"}`, wantErr: "pagination", want: 100},
		{name: "has_more without cursor", body: `{"data":[],"has_more":true,"next_page":null}`, wantErr: "pagination", want: 100},
		{name: "empty body", body: ``, wantErr: "decoding the response", want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body atomic.Value
			body.Store(good)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("request-id", "req_hostile")
				_, _ = w.Write([]byte(body.Load().(string)))
			}))
			defer srv.Close()
			cfg := testConfig(srv.URL)
			cfg.MaxResponseBytes = 2048
			cfg.Usage.GroupBy = []string{"model"}
			core, logs := observer.New(zap.DebugLevel)
			set := receivertest.NewNopSettings(metadata.Type)
			set.Logger = zap.New(core)
			s := newScraper(cfg, set)
			clock := fakeclock.New(fixedNow)
			s.now = clock.Now
			require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(t, s.shutdown(context.Background())) }()

			got := exported{}
			md, err := s.scrape(context.Background())
			require.NoError(t, err)
			got.add(md, TemporalityCumulative)
			s.settle(true)
			require.Equal(t, int64(100), got["sonnet"])

			body.Store(tt.body)
			clock.Advance(time.Minute)
			md, err = s.scrape(context.Background())
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), adminapi.PathUsageMessages, "the error names the endpoint")
			} else {
				require.NoError(t, err)
				got.add(md, TemporalityCumulative)
			}
			s.settle(err == nil)
			if tt.wantWarn != "" {
				assert.Positive(t, logs.FilterMessageSnippet(tt.wantWarn).Len()+logs.FilterField(zap.String("reason", tt.wantWarn)).Len(),
					"warns %q", tt.wantWarn)
			}

			// Whatever happened, the counted total is intact and the
			// receiver goes on.
			body.Store(good)
			clock.Advance(time.Minute)
			md, err = s.scrape(context.Background())
			require.NoError(t, err)
			got.add(md, TemporalityCumulative)
			assert.Equal(t, tt.want, got["sonnet"])
		})
	}
}

func TestHostileCostAmounts(t *testing.T) {
	day := fixedNow.Truncate(24 * time.Hour)
	n := 0
	row := func(amount string) string {
		n++ // distinct rows: identical ones would be one row sent twice
		return fmt.Sprintf(`{"currency":"USD","amount":%s,"workspace_id":"wrkspc_%d","description":null,"cost_type":null,"context_window":null,"model":null,"service_tier":null,"token_type":null,"inference_geo":null}`, amount, n)
	}
	body := usageBody(bucketJSON(day, 24*time.Hour,
		row(`"123.45"`), row(`"1e5"`), row(`"NaN"`), row(`""`), row(`"-3"`), row(`"Infinity"`), row(`"0.000000001"`)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Usage.Poll.Enabled = false
	cfg.Cost.Poll.Enabled = true
	cfg.Cost.GroupBy = nil
	core, logs := observer.New(zap.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	s := newScraper(cfg, set)
	s.now = func() time.Time { return fixedNow }
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	got := ledger{}
	got.add(md)
	assert.InDelta(t, 1.23450000001, got.sum("anthropic.cost", nil), 1e-14, "only the decimal amounts are counted, exactly")
	notDecimal := logs.FilterField(zap.String("reason", "amount is not a decimal")).All()
	require.Len(t, notDecimal, 1, "one warning per reason and poll")
	assert.Equal(t, int64(4), notDecimal[0].ContextMap()["rows"])
	assert.Equal(t, 1, logs.FilterField(zap.String("reason", "negative amount")).Len())
}

// The cost report answers 400 for a window that is too recent: not an
// outage. It is logged at debug level, and read again next interval; a 400
// for an older window is a real error.
func TestCostTooRecentIsNotAnOutage(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"invalid_request_error","message":"starting_at is too recent"},"request_id":"req_recent"}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		lookback time.Duration
		wantErr  bool
	}{
		{lookback: 0, wantErr: false},                 // today only: too recent
		{lookback: 7 * 24 * time.Hour, wantErr: true}, // a week back: a real 400
	} {
		requests.Store(0)
		cfg := testConfig(srv.URL)
		cfg.Usage.Poll.Enabled = false
		cfg.Cost.Poll.Enabled = true
		cfg.Cost.Poll.Lookback = tc.lookback
		cfg.Cost.Poll.RevisionWindow = 0
		core, logs := observer.New(zap.DebugLevel)
		set := receivertest.NewNopSettings(metadata.Type)
		set.Logger = zap.New(core)
		s := newScraper(cfg, set)
		clock := fakeclock.New(fixedNow)
		s.now = clock.Now
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		_, err := s.scrape(context.Background())
		s.settle(err == nil)
		if tc.wantErr {
			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid_request_error")
		} else {
			require.NoError(t, err)
			debug := logs.FilterMessageSnippet("not available yet").All()
			require.Len(t, debug, 1)
			assert.Equal(t, zap.DebugLevel, debug[0].Level)
			clock.Advance(10 * time.Minute)
			_, err = s.scrape(context.Background())
			require.NoError(t, err)
			assert.Equal(t, int32(1), requests.Load(), "read again at the next interval (1h), not every scrape")
			clock.Advance(time.Hour)
			_, err = s.scrape(context.Background())
			require.NoError(t, err)
			assert.Equal(t, int32(2), requests.Load())
		}
		require.NoError(t, s.shutdown(context.Background()))
	}
}
