package anthropicusagereceiver

// Benchmarks of one poll on simulator-shaped pages, stage by stage, so that
// benchstat can compare the stages of one size:
//
//	stage=decode  the models alone: json.NewDecoder(body).Decode into
//	              adminapi.UsagePage / adminapi.CostPage; the baseline of the
//	              2x target;
//	stage=unmarshal, stage=stream  two other decodes, for comparison:
//	              json.Unmarshal of the body read into a buffer of its
//	              Content-Length, and adminapi.DecodeReportPage, one bucket at
//	              a time (the client's way);
//	stage=map     bytes in, pdata out, accounting included: streamReport.collect
//	              of a started scraper fed the page's bytes through
//	              adminapi.DecodeReportPage (the client's page decoder): decode,
//	              the source's per-bucket mapping, Stream.Begin/Observe and the
//	              emission of pmetric.Metrics; no request;
//	stage=poll    the same poll through the scraper's adminapi.Client, which
//	              reads the page from an in-memory http.RoundTripper (no
//	              socket): the map stage plus building the request, the
//	              http.Client, the response cap and the client's telemetry;
//	stage=reread  (not for the largest pages) the same poll after the page was
//	              committed once: every value is already counted;
//	stage=scrape  anthropicScraper.scrape against an httptest server that
//	              returns the page, through the confighttp client.
//
// Each benchmark reports ns/row, B/row and allocs/row, rows being the results
// in the page. The pages are produced once per size (per test process) from
// the simulator's own handler, outside the timed loop. See BENCHMARKS.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
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
	reread  bool // also benchmark a re-read of the committed page
}

// The sizes. "large" is 1440 one-minute buckets at simulator scale 200:
// 2,194 series, 354,836 rows, 155 MB, under the ~300 MB a page may take
// here (the simulator's series grow slowly past scale 100; see
// BENCHMARKS.md). "steady" is the poll the same organization makes every
// minute in steady state: the revision window (1h) plus the open bucket.
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

// startBenchScraper starts a scraper as startScraper does, for benchmarks.
func startBenchScraper(tb testing.TB, cfg *Config, now func() time.Time) *anthropicScraper {
	tb.Helper()
	require.NoError(tb, cfg.Validate())
	s := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	s.now = now
	require.NoError(tb, s.start(context.Background(), componenttest.NewNopHost()))
	tb.Cleanup(func() { require.NoError(tb, s.shutdown(context.Background())) })
	return s
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

// inMemoryClient replaces the scraper's client with one of the same
// settings whose transport serves body from memory.
func inMemoryClient(tb testing.TB, s *anthropicScraper, body []byte) {
	tb.Helper()
	c, err := adminapi.New(&http.Client{Transport: pageTransport{body}}, s.clientSettings())
	require.NoError(tb, err)
	s.client = c
}

// makeDue makes a report poll on its next collect, as if its interval had
// passed.
func makeDue(c collector) {
	switch r := c.(type) {
	case *streamReport[usageKey, modelResource]:
		r.nextPoll = time.Time{}
	case *streamReport[costKey, modelResource]:
		r.nextPoll = time.Time{}
	default:
		panic(fmt.Sprintf("unexpected report %T", c))
	}
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

func unmarshalStage[P any](b *testing.B, page *benchPage) {
	perRow(b, page, func() {
		buf := make([]byte, len(page.body))
		if _, err := io.ReadFull(bytes.NewReader(page.body), buf); err != nil {
			b.Fatal(err)
		}
		var p P
		if err := json.Unmarshal(buf, &p); err != nil {
			b.Fatal(err)
		}
	})
}

func streamStage[R any](b *testing.B, page *benchPage) {
	perRow(b, page, func() {
		rows := 0
		_, err := adminapi.DecodeReportPage(bytes.NewReader(page.body), func(bk *adminapi.Bucket[R]) error {
			rows += len(bk.Results)
			return nil
		})
		if err != nil || rows != page.rows {
			b.Fatalf("%d rows of %d: %v", rows, page.rows, err)
		}
	})
}

// pageBytes hands a page to the sources as the client's page decoder reads
// it, without a request: the "bytes in" of the map stage.
type pageBytes struct{ body []byte }

func (p pageBytes) UsageReport(_ context.Context, _ adminapi.ReportQuery, fn func(*adminapi.UsageBucket) error, onPage adminapi.PageFunc) error {
	return decodePageBytes(p.body, fn, onPage)
}

func (p pageBytes) CostReport(_ context.Context, _ adminapi.ReportQuery, fn func(*adminapi.CostBucket) error, onPage adminapi.PageFunc) error {
	return decodePageBytes(p.body, fn, onPage)
}

func (pageBytes) ClaudeCodeReport(context.Context, time.Time, func(*adminapi.ClaudeCodeRecord) error) error {
	return errors.New("the Claude Code report has no benchmark page")
}

func decodePageBytes[R any](body []byte, fn func(*adminapi.Bucket[R]) error, onPage adminapi.PageFunc) error {
	more, err := adminapi.DecodeReportPage(bytes.NewReader(body), fn)
	switch {
	case err != nil:
		return err
	case more:
		return errors.New("a benchmark page must be the last of its query")
	case onPage != nil:
		return onPage(false)
	}
	return nil
}

// pollStage runs the poll of a started scraper on the page: through its
// client (from an in-memory transport), or from the page's bytes (map).
func pollStage(b *testing.B, spec pageSpec, page *benchPage, reread, fromBytes bool) {
	s := startBenchScraper(b, pageConfig("http://127.0.0.1:9", spec), func() time.Time { return benchNow })
	inMemoryClient(b, s, page.body)
	var api reportAPI = s.client
	if fromBytes {
		api = pageBytes{page.body}
	}
	r := s.reports[0]
	if reread {
		_, commit, err := r.collect(context.Background(), api, benchNow)
		require.NoError(b, err)
		commit()
		makeDue(r)
	}
	var md pmetric.Metrics
	perRow(b, page, func() {
		var commit func()
		var err error
		// Never committed: every iteration is the same poll.
		md, commit, err = r.collect(context.Background(), api, benchNow)
		if err != nil || commit == nil {
			b.Fatalf("poll: %v", err)
		}
	})
	b.ReportMetric(float64(md.DataPointCount()), "points")
}

func scrapeStage(b *testing.B, spec pageSpec, page *benchPage) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("request-id", "req_bench")
		_, _ = w.Write(page.body)
	}))
	defer srv.Close()
	s := startBenchScraper(b, pageConfig(srv.URL, spec), func() time.Time { return benchNow })
	perRow(b, page, func() {
		if _, err := s.scrape(context.Background()); err != nil {
			b.Fatal(err)
		}
		s.settle(false) // refused: the next scrape is the same poll
	})
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
			b.Run("stage=unmarshal", func(b *testing.B) {
				if spec.cost {
					unmarshalStage[adminapi.CostPage](b, page)
				} else {
					unmarshalStage[adminapi.UsagePage](b, page)
				}
			})
			b.Run("stage=stream", func(b *testing.B) {
				if spec.cost {
					streamStage[adminapi.CostResult](b, page)
				} else {
					streamStage[adminapi.UsageResult](b, page)
				}
			})
			b.Run("stage=map", func(b *testing.B) { pollStage(b, spec, page, false, true) })
			b.Run("stage=poll", func(b *testing.B) { pollStage(b, spec, page, false, false) })
			if spec.reread {
				b.Run("stage=reread", func(b *testing.B) { pollStage(b, spec, page, true, false) })
			}
			b.Run("stage=scrape", func(b *testing.B) { scrapeStage(b, spec, page) })
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
// outside the poll's range, and the committed totals are the page's sums.
func TestBenchPagePollCountsEveryRow(t *testing.T) {
	for _, spec := range []pageSpec{usagePageSpecs[0], {name: "medium", scale: 10, buckets: 60}, {name: "cost", cost: true, scale: 1, buckets: 31}} {
		t.Run(spec.name, func(t *testing.T) {
			page := pageFor(t, spec)
			s := startBenchScraper(t, pageConfig("http://127.0.0.1:9", spec), func() time.Time { return benchNow })
			inMemoryClient(t, s, page.body)
			md, commit, err := s.reports[0].collect(context.Background(), s.client, benchNow)
			require.NoError(t, err)
			commit()
			var want, got accounting.Counters
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
				stream := s.reports[0].(*streamReport[costKey, modelResource]).stream
				stream.Totals(func(_ accounting.SeriesID, _ costKey, c accounting.Counters) { got[0] += c[0] })
				require.Equal(t, page.series, stream.Series())
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
				stream := s.reports[0].(*streamReport[usageKey, modelResource]).stream
				stream.Totals(func(_ accounting.SeriesID, _ usageKey, c accounting.Counters) {
					for j := range c {
						got[j] += c[j]
					}
				})
				require.Equal(t, page.series, stream.Series())
				require.Equal(t, 6*page.series, md.DataPointCount(), "five token types and web searches per series")
			}
			require.Equal(t, want, got)
			require.Positive(t, md.DataPointCount())
		})
	}
}
