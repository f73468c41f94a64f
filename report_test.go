// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// scriptedUsage serves the usage report from a table the test rewrites
// between polls: minute bucket start -> model -> output tokens; in pages of
// pageSize buckets when it is set.
type scriptedUsage struct {
	mu       sync.Mutex
	buckets  map[time.Time]map[string]int64
	pageSize int
	requests atomic.Int32
}

func newScriptedUsage() *scriptedUsage {
	return &scriptedUsage{buckets: map[time.Time]map[string]int64{}}
}

// scriptedSetup is the usage report grouped by model, in temporality, read
// from a scripted API with a fake clock at fixedNow.
func scriptedSetup(t *testing.T, temporality Temporality) (*scriptedUsage, *fakeclock.Clock, *Config) {
	t.Helper()
	api := newScriptedUsage()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	cfg.Temporality = temporality
	cfg.Usage.GroupBy = []string{"model"}
	return api, fakeclock.New(fixedNow), cfg
}

func (s *scriptedUsage) set(start time.Time, model string, v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[start] == nil {
		s.buckets[start] = map[string]int64{}
	}
	s.buckets[start][model] = v
}

func (s *scriptedUsage) get(start time.Time, model string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buckets[start][model]
}

func (s *scriptedUsage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	q := r.URL.Query()
	from, _ := time.Parse(time.RFC3339, q.Get("starting_at"))
	to, _ := time.Parse(time.RFC3339, q.Get("ending_at"))
	if cursor := q.Get("page"); cursor != "" { // the cursor is the next bucket's start
		from, _ = time.Parse(time.RFC3339, cursor)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	page := adminapi.UsagePage{Data: []adminapi.UsageBucket{}}
	b := from
	for ; b.Before(to) && (s.pageSize == 0 || len(page.Data) < s.pageSize); b = b.Add(time.Minute) {
		bucket := adminapi.UsageBucket{StartingAt: b, EndingAt: b.Add(time.Minute), Results: []adminapi.UsageResult{}}
		for model, v := range s.buckets[b] {
			m := model
			bucket.Results = append(bucket.Results, adminapi.UsageResult{OutputTokens: v, Model: &m})
		}
		page.Data = append(page.Data, bucket)
	}
	if b.Before(to) {
		next := b.Format(time.RFC3339)
		page.HasMore, page.NextPage = true, &next
	}
	w.Header().Set("request-id", "req_scripted")
	_ = json.NewEncoder(w).Encode(page)
}

// outputTokens is the output tokens per model a backend holds.
func outputTokens(l ledger) map[string]int64 { return outputTokensOf(l, "anthropic.usage.tokens") }

// outputCorrections is the output tokens' corrections per model a backend
// holds.
func outputCorrections(l ledger) map[string]int64 {
	return outputTokensOf(l, "anthropic.usage.tokens.corrections")
}

func outputTokensOf(l ledger, metric string) map[string]int64 {
	out := map[string]int64{}
	for _, e := range l {
		if e.metric == metric && e.attrs["anthropic.token.type"] == "output_tokens" {
			out[e.attrs["resource.gen_ai.request.model"].(string)] += int64(e.value())
		}
	}
	return out
}

// The same buckets are read on every poll while their values grow, some
// batches are refused, and at the end the totals the pipeline accepted equal
// the final values exactly, in both temporalities; a bucket older than the
// revision window is final.
func TestGrowingBucketsExactTotals(t *testing.T) {
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		t.Run(string(temporality), func(t *testing.T) {
			api, clock, cfg := scriptedSetup(t, temporality)
			cfg.Usage.Poll.RevisionWindow = 5 * time.Minute
			refuse := map[int]bool{}
			next := &testConsumer{refuse: func(call int) bool { return refuse[call] }}
			r := startReceiver(t, cfg, clock.Now, withConsumer(next))

			b0 := fixedNow.Truncate(time.Minute)
			b1 := b0.Add(time.Minute)
			steps := []struct {
				set    func()
				refuse bool
			}{
				{func() { api.set(b0, "sonnet", 10) }, false},
				{func() { api.set(b0, "sonnet", 15); api.set(b0, "haiku", 3) }, false},
				{func() { api.set(b0, "sonnet", 18); api.set(b1, "haiku", 4) }, true}, // refused downstream
				{func() { api.set(b1, "haiku", 6) }, false},
				{func() { api.set(b0, "sonnet", 17) }, false}, // a correction
				{func() { api.set(b0, "sonnet", 20); api.set(b1, "sonnet", 1) }, true},
				{func() {}, false},
				{func() {}, false},
				{func() {}, false},
			}
			for i, step := range steps {
				step.set()
				refuse[next.calls+1] = step.refuse
				_, err := r.poll()
				require.NoError(t, err, "step %d", i)
				clock.Advance(time.Minute)
			}
			// sonnet: b0 went 10, 15, 18, 17, 20 and b1 1: 22 counted up, 1
			// down, 21 now.
			assert.Equal(t, map[string]int64{"sonnet": 22, "haiku": 9}, outputTokens(next.ledger()))
			assert.Equal(t, map[string]int64{"sonnet": 1}, outputCorrections(next.ledger()))

			// Long after the window, the buckets are final and not read
			// again but by the audit, which is not due yet.
			api.set(b0, "sonnet", 1000)
			clock.Advance(time.Hour)
			for range 2 {
				_, err := r.poll()
				require.NoError(t, err)
			}
			assert.Equal(t, map[string]int64{"sonnet": 22, "haiku": 9}, outputTokens(next.ledger()), "a bucket outside the revision window is final")
		})
	}
}

func firstPoint(md pmetric.Metrics) (pmetric.Sum, pmetric.NumberDataPoint) {
	sum := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum()
	return sum, sum.DataPoints().At(0)
}

// Cumulative points start at the start of the first lookback; delta points
// start where the previous batch ended; every poll has its own timestamp.
func TestPointTimestamps(t *testing.T) {
	api := newScriptedUsage()
	srv := httptest.NewServer(api)
	defer srv.Close()
	b0 := fixedNow.Truncate(time.Minute)
	value := int64(10)
	api.set(b0, "sonnet", value)
	start := fixedNow.Add(-24 * time.Hour).Truncate(time.Minute)

	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		clock := fakeclock.New(fixedNow)
		cfg := testConfig(srv.URL)
		cfg.Temporality = temporality
		r := startReceiver(t, cfg, clock.Now)
		var starts, times []time.Time
		for range 3 {
			md, err := r.poll()
			require.NoError(t, err)
			value++
			api.set(b0, "sonnet", value)
			sum, dp := firstPoint(md)
			if temporality == TemporalityDelta {
				assert.Equal(t, pmetric.AggregationTemporalityDelta, sum.AggregationTemporality())
			} else {
				assert.Equal(t, pmetric.AggregationTemporalityCumulative, sum.AggregationTemporality())
			}
			starts = append(starts, dp.StartTimestamp().AsTime().UTC())
			times = append(times, dp.Timestamp().AsTime().UTC())
			clock.Advance(time.Minute)
		}
		assert.Equal(t, []time.Time{fixedNow, fixedNow.Add(time.Minute), fixedNow.Add(2 * time.Minute)}, times, "one timestamp per poll")
		if temporality == TemporalityCumulative {
			assert.Equal(t, []time.Time{start, start, start}, starts, "cumulative points start at the lookback")
		} else {
			assert.Equal(t, []time.Time{start, fixedNow, fixedNow.Add(time.Minute)}, starts, "delta points start at the previous batch")
		}
	}
}

// Between two polls of a report, cumulative totals are repeated without a
// request; delta sends nothing.
func TestReportIntervalBetweenTicks(t *testing.T) {
	api := newScriptedUsage()
	srv := httptest.NewServer(api)
	defer srv.Close()
	api.set(fixedNow.Truncate(time.Minute), "sonnet", 10)
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		api.requests.Store(0)
		clock := fakeclock.New(fixedNow)
		cfg := testConfig(srv.URL)
		cfg.Temporality = temporality
		cfg.Usage.Poll.Interval = 5 * time.Minute
		r := startReceiver(t, cfg, clock.Now)
		points := 0
		for range 10 {
			md, err := r.poll()
			require.NoError(t, err)
			if md.DataPointCount() > 0 {
				points++
			}
			clock.Advance(time.Minute)
		}
		assert.Equal(t, int32(2), api.requests.Load(), "%s: one request per report interval", temporality)
		if temporality == TemporalityCumulative {
			assert.Equal(t, 10, points, "cumulative totals are repeated every tick")
		} else {
			assert.Equal(t, 1, points, "delta sends only increases")
		}
	}
}

// A failed request is a failed poll: an error naming the report, the
// endpoint and the request id, nothing sealed, and the same range read on
// the next tick.
func TestPollFailure(t *testing.T) {
	var deny atomic.Bool
	deny.Store(true)
	ok := fixtureServer(t, map[string]string{adminapi.PathUsageMessages: "usage_report_1m.json"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !deny.Load() {
			ok.Config.Handler.ServeHTTP(w, r)
			return
		}
		w.Header().Set("request-id", "req_denied")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"permission_error","message":"Permission denied"},"request_id":"req_denied"}`))
	}))
	defer srv.Close()
	r := startReceiver(t, testConfig(srv.URL), func() time.Time { return fixedNow })
	md, err := r.poll()
	require.Error(t, err)
	for _, want := range []string{"usage report", adminapi.PathUsageMessages, "permission_error", "req_denied"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "sk-ant-admin01-test-key")
	assert.Equal(t, 0, md.DataPointCount(), "nothing sealed, nothing repeated yet")
	usage := r.report("usage")
	assert.Equal(t, fixedNow.Add(-24*time.Hour).Truncate(time.Minute), usage.stream.Watermark(), "a failed poll seals nothing")
	assert.Nil(t, usage.pending)

	deny.Store(false)
	md, err = r.poll()
	require.NoError(t, err)
	assert.Positive(t, md.DataPointCount(), "the next tick reads the same range")
}

// A read of several pages (a first lookback, a catch-up) is sealed and
// delivered page by page, each page stamped after the last and before now:
// cumulative pages whole milliseconds apart, delta pages in distinct seconds
// (what a backend keeping one value per series and second needs).
func TestLongReadIsDeliveredPageByPage(t *testing.T) {
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		t.Run(string(temporality), func(t *testing.T) {
			api, clock, cfg := scriptedSetup(t, temporality)
			api.pageSize = 60
			for b := fixedNow.Add(-3 * time.Hour).Truncate(time.Minute); !b.After(fixedNow); b = b.Add(time.Minute) {
				api.set(b, "sonnet", 1)
			}
			cfg.Usage.Poll.Lookback = 3 * time.Hour
			next := &testConsumer{}
			tel := componenttest.NewTelemetry()
			defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
			set := receivertest.NewNopSettings(metadata.Type)
			set.TelemetrySettings = tel.NewTelemetrySettings()
			r := startReceiver(t, cfg, clock.Now, withConsumer(next), withSettings(set))
			clock.Advance(time.Second) // the first tick comes after initial_delay
			_, err := r.poll()
			require.NoError(t, err)
			assert.Equal(t, int32(4), api.requests.Load(), "3 h and the open bucket: four pages of 60 minutes")
			require.Len(t, next.accepted, 4, "one batch a page")
			var last time.Time
			for i, md := range next.accepted {
				ts := outputPoint(t, md).Timestamp().AsTime()
				if temporality == TemporalityDelta {
					assert.True(t, ts.Truncate(time.Second).After(last.Truncate(time.Second)), "page %d stamped in a later second", i)
				} else {
					assert.True(t, ts.After(last), "page %d stamped after the one before", i)
				}
				assert.False(t, ts.After(clock.Now()), "page %d not after now", i)
				last = ts
			}
			assert.Equal(t, map[string]int64{"sonnet": 181}, outputTokens(next.ledger()), "every minute counted once: 3 h and the open minute")
			points := 0
			for _, md := range next.accepted {
				points += md.DataPointCount()
			}
			assert.Equal(t, int64(points), sumOf(t, tel, "otelcol_receiver_accepted_metric_points", receiverAttrs(set.ID)),
				"the collector's receiver telemetry counts the points of every page")
		})
	}
}
