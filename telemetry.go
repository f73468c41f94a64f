package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// requestObserver feeds the client's requests into the receiver's own
// telemetry.
type requestObserver struct {
	tb *metadata.TelemetryBuilder
}

func (o requestObserver) Request(endpoint string, status int, errType string, _ time.Duration) {
	class := "none"
	if status > 0 {
		class = strconv.Itoa(status/100) + "xx"
	}
	o.tb.AnthropicUsageRequests.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("endpoint", endpoint),
		attribute.String("status_class", class),
		attribute.String("error_type", errType)))
}

func (o requestObserver) Retry(endpoint string) {
	o.tb.AnthropicUsageRetries.Add(context.Background(), 1, metric.WithAttributes(attribute.String("endpoint", endpoint)))
}

func (o requestObserver) Page(endpoint string, rows int) {
	attrs := metric.WithAttributes(attribute.String("endpoint", endpoint))
	o.tb.AnthropicUsagePages.Add(context.Background(), 1, attrs)
	o.tb.AnthropicUsageRows.Add(context.Background(), int64(rows), attrs)
}

func (o requestObserver) RateLimitWait(d time.Duration) {
	o.tb.AnthropicUsageRateLimitWait.Add(context.Background(), d.Seconds())
}

// registerHealth reports each report's lag (the age of its newest final
// bucket) and the time of its last successful poll.
func registerHealth(tb *metadata.TelemetryBuilder, reports []collector, now func() time.Time) error {
	if err := tb.RegisterAnthropicUsageLagCallback(func(_ context.Context, o metric.Float64Observer) error {
		t := now()
		for _, r := range reports {
			if wm := r.health().watermark.Load(); wm != 0 {
				o.Observe(t.Sub(time.Unix(0, wm)).Seconds(), metric.WithAttributes(attribute.String("report", r.name())))
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return tb.RegisterAnthropicUsageLastSuccessTimestampCallback(func(_ context.Context, o metric.Float64Observer) error {
		for _, r := range reports {
			if ts := r.health().lastSuccess.Load(); ts != 0 {
				o.Observe(float64(ts)/1e9, metric.WithAttributes(attribute.String("report", r.name())))
			}
		}
		return nil
	})
}
