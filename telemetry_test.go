// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadatatest"
)

// The receiver's own telemetry counts requests by outcome, retries, pages
// and rows, and reports each report's lag and last successful poll.
func TestOwnTelemetry(t *testing.T) {
	body, err := testdataFile("usage_report_1m.json")
	require.NoError(t, err)
	var calls atomic.Int32
	grown := bytes.Replace(body, []byte(`"output_tokens": 9120`), []byte(`"output_tokens": 9200`), 1)
	require.NotEqual(t, body, grown)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(529)
			_, _ = w.Write([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
		case 2:
			_, _ = w.Write(body)
		default:
			_, _ = w.Write(grown) // late data in the first bucket
		}
	}))
	defer srv.Close()

	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(context.Background())) }()
	cfg := testConfig(srv.URL)
	cfg.Usage.Poll.RevisionWindow = 10 * time.Minute
	clock := fakeclock.New(fixedNow)
	r := startReceiver(t, cfg, clock.Now, withSettings(metadatatest.NewSettings(tt)))

	_, err = r.poll()
	require.NoError(t, err)

	endpoint := attribute.String("endpoint", adminapi.PathUsageMessages)
	metadatatest.AssertEqualAnthropicUsageRequests(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(endpoint, attribute.String("status_class", "5xx"), attribute.String("error_type", "overloaded_error")), Value: 1},
		{Attributes: attribute.NewSet(endpoint, attribute.String("status_class", "2xx"), attribute.String("error_type", "")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAnthropicUsageRetries(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(endpoint), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAnthropicUsagePages(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(endpoint), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAnthropicUsageRows(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(endpoint), Value: 3},
	}, metricdatatest.IgnoreTimestamp())

	// The lag is how old the watermark is: the start of the lookback
	// until buckets become final, then the revision window.
	report := attribute.NewSet(attribute.String("report", "usage"))
	metadatatest.AssertEqualAnthropicUsageLag(t, tt, []metricdata.DataPoint[float64]{
		{Attributes: report, Value: fixedNow.Sub(fixedNow.Add(-10 * time.Minute).Truncate(time.Minute)).Seconds()},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAnthropicUsageLastSuccessTimestamp(t, tt, []metricdata.DataPoint[float64]{
		{Attributes: report, Value: float64(fixedNow.UnixNano()) / 1e9},
	}, metricdatatest.IgnoreTimestamp())

	_, err = tt.GetMetric("otelcol_anthropic_usage_buckets_revised")
	require.Error(t, err, "nothing revised yet")

	// A bucket that grew when read again is a revision (late data seen).
	clock.Advance(time.Minute)
	_, err = r.poll()
	require.NoError(t, err)
	metadatatest.AssertEqualAnthropicUsageBucketsRevised(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: report, Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	assert.Equal(t, int32(3), calls.Load())
}
