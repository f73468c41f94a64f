package anthropicusagereceiver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// scriptedUsage serves the usage report from a table the test rewrites
// between polls: minute bucket start -> model -> output tokens.
type scriptedUsage struct {
	mu       sync.Mutex
	buckets  map[time.Time]map[string]int64
	requests atomic.Int32
}

func (s *scriptedUsage) set(start time.Time, model string, v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[start] == nil {
		s.buckets[start] = map[string]int64{}
	}
	s.buckets[start][model] = v
}

func (s *scriptedUsage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	from, _ := time.Parse(time.RFC3339, r.URL.Query().Get("starting_at"))
	to, _ := time.Parse(time.RFC3339, r.URL.Query().Get("ending_at"))
	s.mu.Lock()
	defer s.mu.Unlock()
	page := adminapi.UsagePage{Data: []adminapi.UsageBucket{}}
	for b := from; b.Before(to); b = b.Add(time.Minute) {
		bucket := adminapi.UsageBucket{StartingAt: b, EndingAt: b.Add(time.Minute), Results: []adminapi.UsageResult{}}
		for model, v := range s.buckets[b] {
			m := model
			bucket.Results = append(bucket.Results, adminapi.UsageResult{OutputTokens: v, Model: &m})
		}
		page.Data = append(page.Data, bucket)
	}
	w.Header().Set("request-id", "req_scripted")
	_ = json.NewEncoder(w).Encode(page)
}

// outputTokens sums the output token points per model: the last value of a
// cumulative series, or the sum of all delta points.
type exported map[string]int64

func (e exported) add(md pmetric.Metrics, temporality Temporality) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		model, _ := rms.At(i).Resource().Attributes().Get("gen_ai.request.model")
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			if ms.At(j).Name() != "anthropic.usage.tokens" {
				continue
			}
			dps := ms.At(j).Sum().DataPoints()
			for k := range dps.Len() {
				if tt, _ := dps.At(k).Attributes().Get("anthropic.token.type"); tt.Str() != "output_tokens" {
					continue
				}
				if temporality == TemporalityDelta {
					e[model.Str()] += dps.At(k).IntValue()
				} else {
					e[model.Str()] = dps.At(k).IntValue()
				}
			}
		}
	}
}

// The same buckets are read on every poll while their values grow, some
// exports are refused, and at the end the exported totals equal the final
// values exactly, in both temporalities.
func TestGrowingBucketsExactTotals(t *testing.T) {
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		t.Run(string(temporality), func(t *testing.T) {
			api := &scriptedUsage{buckets: map[time.Time]map[string]int64{}}
			srv := httptest.NewServer(api)
			defer srv.Close()
			clock := fakeclock.New(fixedNow)
			cfg := testConfig(srv.URL)
			cfg.Temporality = temporality
			cfg.Usage.GroupBy = []string{"model"}
			cfg.Usage.Poll.RevisionWindow = 5 * time.Minute
			s := startScraper(t, cfg, clock.Now)

			b0 := fixedNow.Truncate(time.Minute)
			b1 := b0.Add(time.Minute)
			steps := []struct {
				set    func()
				accept bool
			}{
				{func() { api.set(b0, "sonnet", 10) }, true},
				{func() { api.set(b0, "sonnet", 15); api.set(b0, "haiku", 3) }, true},
				{func() { api.set(b0, "sonnet", 18); api.set(b1, "haiku", 4) }, false}, // refused downstream
				{func() { api.set(b1, "haiku", 6) }, true},
				{func() { api.set(b0, "sonnet", 17) }, true}, // a correction: never backwards
				{func() { api.set(b0, "sonnet", 20); api.set(b1, "sonnet", 1) }, false},
				{func() {}, true},
				{func() {}, true},
			}
			got := exported{}
			for i, step := range steps {
				step.set()
				md, err := s.scrape(context.Background())
				require.NoError(t, err, "step %d", i)
				if step.accept {
					got.add(md, temporality)
				}
				s.settle(step.accept)
				clock.Advance(time.Minute)
			}
			assert.Equal(t, exported{"sonnet": 21, "haiku": 9}, got)

			// Long after the window, the buckets are final and never read again.
			api.set(b0, "sonnet", 1000)
			clock.Advance(time.Hour)
			for range 2 {
				md, err := s.scrape(context.Background())
				require.NoError(t, err)
				got.add(md, temporality)
				s.settle(true)
			}
			assert.Equal(t, exported{"sonnet": 21, "haiku": 9}, got, "a bucket outside the revision window is final")
		})
	}
}

func TestScrapeTimestamps(t *testing.T) {
	api := &scriptedUsage{buckets: map[time.Time]map[string]int64{}}
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
		s := startScraper(t, cfg, clock.Now)
		var starts, times []time.Time
		for range 3 {
			md, err := s.scrape(context.Background())
			require.NoError(t, err)
			s.settle(true)
			value++
			api.set(b0, "sonnet", value)
			dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum()
			if temporality == TemporalityDelta {
				assert.Equal(t, pmetric.AggregationTemporalityDelta, dps.AggregationTemporality())
			} else {
				assert.Equal(t, pmetric.AggregationTemporalityCumulative, dps.AggregationTemporality())
			}
			dp := dps.DataPoints().At(0)
			starts = append(starts, dp.StartTimestamp().AsTime().UTC())
			times = append(times, dp.Timestamp().AsTime().UTC())
			clock.Advance(time.Minute)
		}
		assert.Equal(t, []time.Time{fixedNow, fixedNow.Add(time.Minute), fixedNow.Add(2 * time.Minute)}, times, "one timestamp per scrape")
		if temporality == TemporalityCumulative {
			assert.Equal(t, []time.Time{start, start, start}, starts, "cumulative points start at the lookback")
		} else {
			assert.Equal(t, []time.Time{start, fixedNow, fixedNow.Add(time.Minute)}, starts, "delta points start at the previous emission")
		}
	}
}

// Between two polls of a report, cumulative totals are repeated without a
// request; delta sends nothing.
func TestReportIntervalBetweenScrapes(t *testing.T) {
	api := &scriptedUsage{buckets: map[time.Time]map[string]int64{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	api.set(fixedNow.Truncate(time.Minute), "sonnet", 10)
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		api.requests.Store(0)
		clock := fakeclock.New(fixedNow)
		cfg := testConfig(srv.URL)
		cfg.Temporality = temporality
		cfg.Usage.Poll.Interval = 5 * time.Minute
		s := startScraper(t, cfg, clock.Now)
		points := 0
		for range 10 {
			md, err := s.scrape(context.Background())
			require.NoError(t, err)
			s.settle(true)
			if md.DataPointCount() > 0 {
				points++
			}
			clock.Advance(time.Minute)
		}
		assert.Equal(t, int32(2), api.requests.Load(), "%s: one request per report interval", temporality)
		if temporality == TemporalityCumulative {
			assert.Equal(t, 10, points, "cumulative totals are repeated every scrape")
		} else {
			assert.Equal(t, 1, points, "delta emits only increases")
		}
	}
}

// failing refuses the first n batches.
type failing struct {
	consumer.Metrics
	n atomic.Int32
}

func (f *failing) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if f.n.Add(-1) >= 0 {
		return errors.New("downstream refused")
	}
	return f.Metrics.ConsumeMetrics(ctx, md)
}

// The whole receiver, driven by the scraper controller: refused batches are
// counted again, accepted ones once.
func TestReceiverCommitsOnlyAccepted(t *testing.T) {
	api := &scriptedUsage{buckets: map[time.Time]map[string]int64{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	b0 := fixedNow.Truncate(time.Minute)
	api.set(b0, "sonnet", 7)

	clock := fakeclock.New(fixedNow)
	cfg := testConfig(srv.URL)
	cfg.Temporality = TemporalityDelta
	cfg.Usage.GroupBy = []string{"model"}
	cfg.ControllerConfig.InitialDelay = 0
	sink := &consumertest.MetricsSink{}
	next := &failing{Metrics: sink}
	next.n.Store(2)
	set := receivertest.NewNopSettings(metadata.Type)
	s := newScraper(cfg, set)
	s.now = clock.Now
	ticks := make(chan time.Time)
	rcv, err := newReceiverWithScraper(cfg, set, next, s, scraperhelperTicker(ticks))
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, rcv.Shutdown(context.Background())) }()

	tick := func() {
		ticks <- time.Now()
	}
	// The controller scrapes once at start, then on every tick; each scrape
	// is followed by ConsumeMetrics.
	for i := range 4 {
		clock.Advance(time.Minute)
		if i == 2 {
			api.set(b0.Add(time.Minute), "sonnet", 5)
		}
		tick()
	}
	require.Eventually(t, func() bool { return len(sink.AllMetrics()) >= 3 }, 5*time.Second, 10*time.Millisecond)
	got := exported{}
	for _, md := range sink.AllMetrics() {
		got.add(md, TemporalityDelta)
	}
	assert.Equal(t, exported{"sonnet": 12}, got, "refused batches are emitted again, accepted ones once")
}

// Shutdown does not wait for a scrape stuck in retries: it cancels it.
func TestShutdownCancelsAScrapeInFlight(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("retry-after", "600")
		w.WriteHeader(529)
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.RetryOnFailure.MaxElapsedTime = time.Hour
	cfg.ControllerConfig.InitialDelay = 0
	rcv, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return requests.Load() > 0 }, 5*time.Second, 5*time.Millisecond)
	start := time.Now()
	require.NoError(t, rcv.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), 2*time.Second, "a 600 s retry-after does not hold the collector's exit")
}
