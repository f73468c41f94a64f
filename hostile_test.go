// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
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
			clock := fakeclock.New(fixedNow)
			next := &testConsumer{}
			r := startReceiver(t, cfg, clock.Now, withLogger(zap.New(core)), withConsumer(next))

			_, err := r.poll()
			require.NoError(t, err)
			require.Equal(t, map[string]int64{"sonnet": 100}, outputTokens(next.ledger()))

			body.Store(tt.body)
			clock.Advance(time.Minute)
			_, err = r.poll()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), adminapi.PathUsageMessages, "the error names the endpoint")
			} else {
				require.NoError(t, err)
			}
			if tt.wantWarn != "" {
				assert.Positive(t, logs.FilterMessageSnippet(tt.wantWarn).Len()+logs.FilterField(zap.String("reason", tt.wantWarn)).Len(),
					"warns %q", tt.wantWarn)
			}

			// Whatever happened, the counted total is intact and the
			// receiver goes on.
			body.Store(good)
			clock.Advance(time.Minute)
			_, err = r.poll()
			require.NoError(t, err)
			assert.Equal(t, tt.want, outputTokens(next.ledger())["sonnet"])
		})
	}
}
