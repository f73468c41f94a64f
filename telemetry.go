// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// requestObserver feeds the client's requests into the receiver's own
// telemetry. The attributes of each path's pages and successful requests
// are the same on every poll, so they are built once.
type requestObserver struct {
	tb    *metadata.TelemetryBuilder
	paths map[string]pathAttributes // read-only after newRequestObserver
}

type pathAttributes struct {
	endpoint, succeeded metric.MeasurementOption
}

func newRequestObserver(tb *metadata.TelemetryBuilder) requestObserver {
	o := requestObserver{tb: tb, paths: map[string]pathAttributes{}}
	for _, p := range adminapi.Paths {
		o.paths[p] = pathAttributes{
			endpoint:  metric.WithAttributeSet(attribute.NewSet(attribute.String("endpoint", p))),
			succeeded: requestAttributes(p, "2xx", ""),
		}
	}
	return o
}

func requestAttributes(endpoint, class, errType string) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(
		attribute.String("endpoint", endpoint),
		attribute.String("status_class", class),
		attribute.String("error_type", errType)))
}

func (o requestObserver) endpoint(path string) metric.MeasurementOption {
	path = adminapi.Endpoint(path)
	if a, ok := o.paths[path]; ok {
		return a.endpoint
	}
	return metric.WithAttributes(attribute.String("endpoint", path))
}

func (o requestObserver) Request(endpoint string, status int, errType string, _ time.Duration) {
	endpoint = adminapi.Endpoint(endpoint)
	if a, ok := o.paths[endpoint]; ok && status/100 == 2 && errType == "" {
		o.tb.AnthropicUsageRequests.Add(context.Background(), 1, a.succeeded)
		return
	}
	class := "none"
	if status > 0 {
		class = strconv.Itoa(status/100) + "xx"
	}
	o.tb.AnthropicUsageRequests.Add(context.Background(), 1, requestAttributes(endpoint, class, errType))
}

func (o requestObserver) Retry(endpoint string) {
	o.tb.AnthropicUsageRetries.Add(context.Background(), 1, o.endpoint(endpoint))
}

func (o requestObserver) Page(endpoint string, rows int) {
	attrs := o.endpoint(endpoint)
	o.tb.AnthropicUsagePages.Add(context.Background(), 1, attrs)
	o.tb.AnthropicUsageRows.Add(context.Background(), int64(rows), attrs)
}

func (o requestObserver) RateLimitWait(d time.Duration) {
	o.tb.AnthropicUsageRateLimitWait.Add(context.Background(), d.Seconds())
}

// registerHealth reports each report's lag (the age of its newest final
// bucket) and the time of its last successful poll.
func registerHealth(tb *metadata.TelemetryBuilder, reports []*report, now func() time.Time) error {
	if err := tb.RegisterAnthropicUsageLagCallback(func(_ context.Context, o metric.Float64Observer) error {
		t := now()
		for _, r := range reports {
			if wm := r.health.watermark.Load(); wm != 0 {
				o.Observe(t.Sub(time.Unix(0, wm)).Seconds(), metric.WithAttributes(attribute.String("report", r.name)))
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return tb.RegisterAnthropicUsageLastSuccessTimestampCallback(func(_ context.Context, o metric.Float64Observer) error {
		for _, r := range reports {
			if ts := r.health.lastSuccess.Load(); ts != 0 {
				o.Observe(float64(ts)/1e9, metric.WithAttributes(attribute.String("report", r.name)))
			}
		}
		return nil
	})
}
