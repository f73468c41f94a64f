// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

// Benchmarks of one poll on simulator-shaped pages, stage by stage, so that
// benchstat can compare the stages of one size:
//
//	stage=decode  the models alone: json.NewDecoder(body).Decode into
//	              adminapi.UsagePage / adminapi.CostPage; the baseline;
//	stage=fetch   the client alone: adminapi.Client.UsageReport (CostReport)
//	              through an http.RoundTripper that serves the page from
//	              memory: the request, the rate-limit check, http.Client, the
//	              response cap, the client's strict decoder (the whole typed
//	              page) and its telemetry; nothing is mapped;
//	stage=poll    the report's poll through that client: fetch, plus the
//	              source's mapping, Stream.Begin/Observe, the emission through
//	              mdatagen's generated builder (report.build), Seal and the
//	              marshalling of the sealed batch kept for a resend. The
//	              report's stream is replaced by a fresh one before each
//	              iteration, so that every iteration is the same first poll;
//	stage=emit    report.build alone: the cumulative emission of the page's
//	              series (after the page was polled once), through the
//	              generated Record…DataPoint functions and EmitForResource;
//	stage=reread  (not for the largest pages) the poll after the page was
//	              sealed once: every value is already counted;
//	stage=tick    anthropicReceiver.tick against an httptest server that
//	              returns the page, through the confighttp client, the
//	              receiver obsreport and a next consumer that accepts; the
//	              stream is reset before each tick (the same first poll).
//
// Each benchmark reports ns/row, B/row and allocs/row, rows being the results
// in the page. The pages are produced once per size (per test process) from
// the simulator's own handler, outside the timed loop. See BENCHMARKS.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

// benchNow is the poll time of the page benchmarks: a busy Thursday
// afternoon (UTC), mid-minute. Every page ends with the bucket open at
// benchNow, so that it is the last page of the poll's query.
var benchNow = time.Date(2026, 9, 10, 15, 27, 30, 0, time.UTC)

// benchSeed is the simulator seed of every benchmark.
const benchSeed = 1

// pageSpec is one benchmarked page.
type pageSpec struct {
	name    string
	cost    bool // the cost report (1d buckets); else the usage report (1m)
	scale   int  // simulator.OrgOptions.Scale
	buckets int  // buckets in the page, the last one open at benchNow
	reread  bool // also benchmark a re-read of the sealed page
}

// The sizes. "large" is 1440 one-minute buckets at simulator scale 200:
// 2,194 series, 354,836 rows, 155 MB (the simulator's series grow slowly
// past scale 100; see BENCHMARKS.md). "steady" is the poll the same
// organization makes every minute in steady state: the revision window (1h)
// plus the open bucket.
var (
	usagePageSpecs = []pageSpec{
		{name: "small", scale: 1, buckets: 1, reread: true},
		{name: "medium", scale: 30, buckets: 60, reread: true},
		{name: "steady", scale: 200, buckets: 61, reread: true},
		{name: "large", scale: 200, buckets: 1440},
	}
	costPageSpecs = []pageSpec{
		{name: "large", cost: true, scale: 200, buckets: 31},
	}
)

// benchPage is a page's bytes and what is in it.
type benchPage struct {
	body    []byte
	buckets int
	rows    int // results in the page
	series  int // distinct grouped series
}

var (
	benchPagesMu sync.Mutex
	benchPages   = map[string]*benchPage{}
)

// benchUsageGroupBy and benchCostGroupBy are the receiver's default
// groupings, which the pages are requested with.
var (
	benchUsageGroupBy = []string{"workspace_id", "model", "api_key_id", "service_tier", "context_window"}
	benchCostGroupBy  = []string{"workspace_id", "description"}
)

// pageFor returns the page of spec, asking the simulator's handler for it
// the first time; the page is kept for the rest of the process.
func pageFor(tb testing.TB, spec pageSpec) *benchPage {
	tb.Helper()
	key := fmt.Sprintf("%v/%d/%d", spec.cost, spec.scale, spec.buckets)
	benchPagesMu.Lock()
	defer benchPagesMu.Unlock()
	if p := benchPages[key]; p != nil {
		return p
	}
	p := generatePage(tb, spec)
	benchPages[key] = p
	return p
}

// generatePage asks the simulator's handler for the page of spec.
func generatePage(tb testing.TB, spec pageSpec) *benchPage {
	tb.Helper()
	sim := simulator.New(simulator.Options{
		Seed: benchSeed, Now: func() time.Time { return benchNow }, HistoryDays: 33,
		Org: simulator.OrgOptions{Scale: spec.scale},
	})
	q := url.Values{}
	path := adminapi.PathUsageMessages
	if spec.cost {
		path = adminapi.PathCostReport
		q.Set("starting_at", benchNow.Truncate(24*time.Hour).AddDate(0, 0, 1-spec.buckets).Format(time.RFC3339))
		q.Set("bucket_width", adminapi.BucketWidth1d)
		q.Set("limit", "31")
		q["group_by[]"] = benchCostGroupBy
	} else {
		q.Set("starting_at", benchNow.Truncate(time.Minute).Add(-time.Duration(spec.buckets-1)*time.Minute).Format(time.RFC3339))
		q.Set("bucket_width", adminapi.BucketWidth1m)
		q.Set("limit", "1440")
		q["group_by[]"] = benchUsageGroupBy
	}
	req := httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
	req.Header.Set("x-api-key", sim.AdminKey())
	req.Header.Set("anthropic-version", adminapi.AnthropicVersion)
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, req)
	require.Equal(tb, http.StatusOK, rec.Code, "%s", rec.Body.String())
	p := &benchPage{body: rec.Body.Bytes()}
	series := map[string]struct{}{}
	if spec.cost {
		var page adminapi.CostPage
		require.NoError(tb, json.Unmarshal(p.body, &page))
		require.False(tb, page.HasMore, "the page must be the last one of its query")
		p.buckets = len(page.Data)
		for _, b := range page.Data {
			p.rows += len(b.Results)
			for _, r := range b.Results {
				series[deref(r.WorkspaceID)+"\x00"+deref(r.Description)] = struct{}{}
			}
		}
	} else {
		var page adminapi.UsagePage
		require.NoError(tb, json.Unmarshal(p.body, &page))
		require.False(tb, page.HasMore, "the page must be the last one of its query")
		p.buckets = len(page.Data)
		for _, b := range page.Data {
			p.rows += len(b.Results)
			for _, r := range b.Results {
				series[fmt.Sprint(deref(r.WorkspaceID), deref(r.Model), deref(r.APIKeyID), deref(r.ServiceTier), deref(r.ContextWindow))] = struct{}{}
			}
		}
	}
	require.Equal(tb, spec.buckets, p.buckets)
	require.Positive(tb, p.rows)
	p.series = len(series)
	return p
}

// pageConfig is the receiver's configuration for a poll of spec's page: the
// defaults, with a lookback that covers the page, and a response cap above
// the page (the default max_response_bytes, 128 MiB, is smaller than the
// large usage page: see BENCHMARKS.md).
func pageConfig(endpoint string, spec pageSpec) *Config {
	cfg := testConfig(endpoint)
	cfg.MaxResponseBytes = 1 << 30
	// The client-side rate limit is not what is measured.
	cfg.RateLimit = RateLimitConfig{RequestsPerMinute: 1 << 30, Burst: 1 << 20}
	if spec.cost {
		cfg.Usage.Poll.Enabled = false
		cfg.Cost.Poll.Enabled = true
		cfg.Cost.Poll.Lookback = time.Duration(spec.buckets) * 24 * time.Hour
	}
	return cfg
}

// startBenchReceiver starts a receiver without its loops, as startReceiver
// does, for benchmarks; next is the pipeline after it.
func startBenchReceiver(tb testing.TB, cfg *Config, now func() time.Time, next consumer.Metrics) *anthropicReceiver {
	tb.Helper()
	require.NoError(tb, cfg.Validate())
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	r, err := newReceiver(cfg, set, next)
	require.NoError(tb, err)
	r.now = now
	require.NoError(tb, r.start(context.Background(), componenttest.NewNopHost()))
	tb.Cleanup(func() { require.NoError(tb, r.Shutdown(context.Background())) })
	return r
}

// pushCounter is a next consumer that accepts every batch and keeps nothing.
type pushCounter struct {
	pushes atomic.Int64
	points atomic.Int64
}

func (*pushCounter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *pushCounter) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	c.pushes.Add(1)
	c.points.Add(int64(md.DataPointCount()))
	return nil
}

// pageTransport answers every request with the page, in memory.
type pageTransport struct{ body []byte }

func (t pageTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_bench"}},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       req,
	}, nil
}

// benchReport is the one report of a started receiver, with what it takes
// to make its next poll a first poll again.
type benchReport struct {
	r      *anthropicReceiver
	rep    *report
	client *adminapi.Client // serves the page from memory
	cfg    accounting.Config
}

// newBenchReport starts a receiver for spec's page whose only report reads
// the page from memory (client); the receiver's own client is left as
// configured (endpoint), for the tick stage.
func newBenchReport(tb testing.TB, spec pageSpec, page *benchPage, endpoint string, next consumer.Metrics) *benchReport {
	tb.Helper()
	r := startBenchReceiver(tb, pageConfig(endpoint, spec), func() time.Time { return benchNow }, next)
	require.Len(tb, r.reports, 1)
	c, err := adminapi.New(&http.Client{Transport: pageTransport{page.body}}, r.clientSettings())
	require.NoError(tb, err)
	rep := r.reports[0]
	return &benchReport{r: r, rep: rep, client: c, cfg: accounting.Config{
		BucketWidth: rep.src.width(), RevisionWindow: rep.src.poll().RevisionWindow, Start: rep.stream.Start(),
	}}
}

// reset makes the report's next poll the same first poll: a fresh stream,
// due, nothing pending.
func (b *benchReport) reset() {
	b.rep.stream, _ = accounting.NewStream[seriesKey](b.cfg)
	b.rep.nextPoll = 0
	b.rep.pending = nil
}

// poll is one poll of the page through the in-memory client: the batches
// it sealed.
func (b *benchReport) poll() ([]pmetric.Metrics, error) {
	var out []pmetric.Metrics
	for md, err := range b.rep.poll(context.Background(), b.client, benchNow, 0) {
		if err != nil {
			return out, err
		}
		out = append(out, md)
	}
	return out, nil
}

// perRow runs op in b.Loop and reports ns/row, B/row and allocs/row.
func perRow(b *testing.B, page *benchPage, op func()) {
	b.ReportAllocs()
	b.SetBytes(int64(len(page.body)))
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	n := 0
	for b.Loop() {
		op()
		n++
	}
	runtime.ReadMemStats(&m1)
	rows := float64(n) * float64(page.rows)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/rows, "B/row")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/rows, "allocs/row")
}

func decodeStage[P any](b *testing.B, page *benchPage) {
	perRow(b, page, func() {
		var p P
		if err := json.NewDecoder(bytes.NewReader(page.body)).Decode(&p); err != nil {
			b.Fatal(err)
		}
	})
}

func fetchStage(b *testing.B, spec pageSpec, page *benchPage) {
	br := newBenchReport(b, spec, page, "http://127.0.0.1:9", nil)
	q := adminapi.ReportQuery{StartingAt: benchNow.Add(-time.Hour), EndingAt: benchNow, Limit: 1440}
	perRow(b, page, func() {
		rows := 0
		if spec.cost {
			for p, err := range br.client.CostReport(context.Background(), q) {
				if err != nil {
					b.Fatal(err)
				}
				rows += pageRows(p)
			}
		} else {
			for p, err := range br.client.UsageReport(context.Background(), q) {
				if err != nil {
					b.Fatal(err)
				}
				rows += pageRows(p)
			}
		}
		if rows != page.rows {
			b.Fatalf("%d rows of %d", rows, page.rows)
		}
	})
}

// pageRows is the number of results in a page.
func pageRows[R any](p *adminapi.Page[R]) int {
	n := 0
	for i := range p.Data {
		n += len(p.Data[i].Results)
	}
	return n
}

// pollStage runs the report's poll on the page through the in-memory client:
// a first poll each time, or (reread) the poll of a page already sealed.
func pollStage(b *testing.B, spec pageSpec, page *benchPage, reread bool) {
	br := newBenchReport(b, spec, page, "http://127.0.0.1:9", nil)
	if reread {
		_, err := br.poll()
		require.NoError(b, err)
	}
	var out []pmetric.Metrics
	perRow(b, page, func() {
		if !reread {
			br.reset()
		}
		var err error
		if out, err = br.poll(); err != nil || len(out) != 1 {
			b.Fatalf("poll: %d batches, %v", len(out), err)
		}
	})
	b.ReportMetric(float64(out[0].DataPointCount()), "points")
}

func emitStage(b *testing.B, spec pageSpec, page *benchPage) {
	br := newBenchReport(b, spec, page, "http://127.0.0.1:9", nil)
	_, err := br.poll()
	require.NoError(b, err)
	rep := br.rep
	var md pmetric.Metrics
	perRow(b, page, func() {
		md = rep.build(rep.stream.Totals(), rep.stream.CorrectionTotals(), rep.stream.Start(), benchNow, false)
	})
	b.ReportMetric(float64(md.DataPointCount()), "points")
}

func tickStage(b *testing.B, spec pageSpec, page *benchPage) {
	srv := httptest.NewServer(pageHandler(page.body))
	defer srv.Close()
	next := &pushCounter{}
	br := newBenchReport(b, spec, page, srv.URL, next)
	n := int64(0)
	perRow(b, page, func() {
		br.reset()
		if err := br.r.tick(context.Background(), br.rep); err != nil {
			b.Fatal(err)
		}
		n++
	})
	require.Equal(b, n, next.pushes.Load(), "one accepted batch a tick")
}

func benchmarkPages(b *testing.B, specs []pageSpec) {
	for _, spec := range specs {
		b.Run("size="+spec.name, func(b *testing.B) {
			page := pageFor(b, spec)
			b.Run("stage=decode", func(b *testing.B) {
				if spec.cost {
					decodeStage[adminapi.CostPage](b, page)
				} else {
					decodeStage[adminapi.UsagePage](b, page)
				}
			})
			b.Run("stage=fetch", func(b *testing.B) { fetchStage(b, spec, page) })
			b.Run("stage=poll", func(b *testing.B) { pollStage(b, spec, page, false) })
			b.Run("stage=emit", func(b *testing.B) { emitStage(b, spec, page) })
			if spec.reread {
				b.Run("stage=reread", func(b *testing.B) { pollStage(b, spec, page, true) })
			}
			b.Run("stage=tick", func(b *testing.B) { tickStage(b, spec, page) })
		})
	}
}

// BenchmarkUsagePage: one poll of the Messages usage report, 1m buckets,
// grouped by workspace_id, model, api_key_id, service_tier, context_window.
func BenchmarkUsagePage(b *testing.B) { benchmarkPages(b, usagePageSpecs) }

// BenchmarkCostPage: one poll of the cost report, 31 daily buckets, grouped
// by workspace_id and description.
func BenchmarkCostPage(b *testing.B) { benchmarkPages(b, costPageSpecs) }

// The benchmarked path counts every row of the page: no bucket falls
// outside the poll's range, the sealed totals are the page's sums exactly,
// and after a reset the poll, and the tick, are the same first poll again.
func TestBenchPagePollCountsEveryRow(t *testing.T) {
	for _, spec := range []pageSpec{usagePageSpecs[0], {name: "medium", scale: 10, buckets: 60}, {name: "cost", cost: true, scale: 1, buckets: 31}} {
		t.Run(spec.name, func(t *testing.T) {
			page := pageFor(t, spec)
			br := newBenchReport(t, spec, page, "http://127.0.0.1:9", nil)
			var want accounting.Counters
			if spec.cost {
				var p adminapi.CostPage
				require.NoError(t, json.Unmarshal(page.body, &p))
				for _, b := range p.Data {
					for _, r := range b.Results {
						n, err := r.Amount.NanoCents()
						require.NoError(t, err)
						want[0] += n
					}
				}
			} else {
				var p adminapi.UsagePage
				require.NoError(t, json.Unmarshal(page.body, &p))
				for _, b := range p.Data {
					for i := range b.Results {
						c, ok := usageCounters(&b.Results[i])
						require.True(t, ok)
						for j := range c {
							want[j] += c[j]
						}
					}
				}
			}
			var points []int
			for range 2 { // the second time after a reset: the same first poll
				br.reset()
				out, err := br.poll()
				require.NoError(t, err)
				require.Len(t, out, 1, "one page, one batch")
				require.Equal(t, want, sumTotals(br.rep.stream))
				require.Equal(t, page.series, br.rep.stream.Series())
				points = append(points, out[0].DataPointCount())
			}
			require.Positive(t, points[0])
			require.Equal(t, points[0], points[1])
			if !spec.cost {
				require.Equal(t, 6*page.series, points[0], "five token types and web searches per series")
			}
			md := br.rep.build(br.rep.stream.Totals(), br.rep.stream.CorrectionTotals(), br.rep.stream.Start(), benchNow, false)
			require.Equal(t, points[0], md.DataPointCount(), "the emit stage builds what the poll sealed")

			// The tick stage, against a server, as the benchmark runs it.
			srv := httptest.NewServer(pageHandler(page.body))
			defer srv.Close()
			next := &pushCounter{}
			tr := newBenchReport(t, spec, page, srv.URL, next)
			for range 2 {
				tr.reset()
				require.NoError(t, tr.r.tick(context.Background(), tr.rep))
				require.Equal(t, want, sumTotals(tr.rep.stream))
				require.Nil(t, tr.rep.pending, "the batch was accepted")
			}
			require.Equal(t, int64(2), next.pushes.Load())
			require.Equal(t, int64(2*points[0]), next.points.Load())
		})
	}
}

// sumTotals adds up a stream's sealed totals, every series together.
func sumTotals(s *accounting.Stream[seriesKey]) (sum accounting.Counters) {
	for _, c := range s.Totals() {
		for j := range c {
			sum[j] += count(c[j])
		}
	}
	return sum
}

// pageHandler serves body to every request.
func pageHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("request-id", "req_bench")
		_, _ = w.Write(body)
	})
}
