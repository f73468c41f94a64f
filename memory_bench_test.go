package anthropicusagereceiver

// Memory of the receiver: the peak heap of a 31-day backfill of a large
// organization read through the real scraper, and the accounting's state
// in steady state. Both are measurements rather than timings: run them with
// -benchtime=1x (make bench-memory). See BENCHMARKS.md.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

const mib = 1 << 20

// heapSampler records the peak of the heap in use (what
// runtime.MemStats.HeapInuse reports: spans holding objects) and of the
// bytes in heap objects (HeapAlloc), sampled on a ticker from
// runtime/metrics, which does not stop the world.
type heapSampler struct {
	stop        chan struct{}
	done        chan struct{}
	peakInuse   uint64
	peakObjects uint64
}

var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

func readHeap() (inuse, objects uint64) {
	s := []metrics.Sample{{Name: heapMetrics[0]}, {Name: heapMetrics[1]}}
	metrics.Read(s)
	objects = s[0].Value.Uint64()
	return objects + s[1].Value.Uint64(), objects
}

func startHeapSampler(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	sample := func() {
		inuse, objects := readHeap()
		h.peakInuse = max(h.peakInuse, inuse)
		h.peakObjects = max(h.peakObjects, objects)
	}
	sample()
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return h
}

// finish stops the sampler and returns the peaks.
func (h *heapSampler) finish() (peakInuse, peakObjects uint64) {
	close(h.stop)
	<-h.done
	return h.peakInuse, h.peakObjects
}

// heapAfterGC is the heap in objects once garbage is collected.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	_, objects := readHeap()
	return objects
}

// pageRecorder serves the simulator's answers from files: the first request
// of a URL is answered by the simulator and recorded, later ones are served
// from the recording without generating anything or holding the body in
// memory, so that a measured run sees only the receiver's heap.
type pageRecorder struct {
	dir     string
	sim     http.Handler
	mu      sync.Mutex
	sizes   map[string]int64 // file -> body size
	largest atomic.Int64     // largest body served
	served  atomic.Int64     // bytes served
}

func (p *pageRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := sha256.Sum256([]byte(r.URL.RequestURI()))
	file := filepath.Join(p.dir, hex.EncodeToString(h[:12]))
	p.mu.Lock()
	if _, ok := p.sizes[file]; !ok {
		rec := httptest.NewRecorder()
		p.sim.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			p.mu.Unlock()
			http.Error(w, rec.Body.String(), rec.Code)
			return
		}
		if err := os.WriteFile(file, rec.Body.Bytes(), 0o600); err != nil {
			p.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		p.sizes[file] = int64(rec.Body.Len())
	}
	size := p.sizes[file]
	p.mu.Unlock()
	f, err := os.Open(file)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	if size > p.largest.Load() {
		p.largest.Store(size)
	}
	p.served.Add(size)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", "req_recorded")
	_, _ = io.Copy(w, f)
}

// pushCounter is a next consumer that takes every batch and keeps nothing.
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

// backfillScale is the large organization of the memory measurements.
const backfillScale = 200

// backfill is one first poll of a 31-day lookback: usage at 1h (5 pages of
// up to 168 buckets) and cost at 1d (2 pages), with the receiver's default
// max_response_bytes. With next set, the scraper delivers and commits the
// read page by page.
func backfill(tb testing.TB, endpoint, key string, next consumer.Metrics) {
	cfg := testConfig(endpoint)
	cfg.AdminAPIKey = configopaque.String(key)
	cfg.Usage.BucketWidth = "1h"
	cfg.Usage.Poll.Lookback = 744 * time.Hour
	cfg.Cost.Poll.Enabled = true
	cfg.Cost.Poll.Lookback = 744 * time.Hour
	require.NoError(tb, cfg.Validate())
	s := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	// The first scrape comes the controller's initial delay (1s) after the
	// start: pages of a first read are stamped between the two.
	now := benchNow.Add(-time.Second)
	s.now = func() time.Time { return now }
	s.next = next
	require.NoError(tb, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(tb, s.shutdown(context.Background())) }()
	now = benchNow
	md, err := s.scrape(context.Background())
	require.NoError(tb, err)
	if next != nil {
		require.NoError(tb, next.ConsumeMetrics(context.Background(), md))
	}
	s.settle(true)
	wm := time.Unix(0, s.reports[0].health().watermark.Load())
	require.False(tb, wm.Before(benchNow.Add(-2*time.Hour)), "the usage backfill read everything up to the revision window: watermark %s", wm)
}

// BenchmarkBackfillPeakHeap reports the peak heap of a 31-day backfill of a
// large organization (simulator scale 200), page by page (the scraper has
// a next consumer, as in a collector) and, for comparison, as one poll.
func BenchmarkBackfillPeakHeap(b *testing.B) {
	sim := simulator.New(simulator.Options{
		Seed: benchSeed, Now: func() time.Time { return benchNow }, HistoryDays: 33,
		Org: simulator.OrgOptions{Scale: backfillScale},
	})
	rec := &pageRecorder{dir: b.TempDir(), sim: sim.Handler(), sizes: map[string]int64{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	// Record every page once, outside the measurement.
	backfill(b, srv.URL, sim.AdminKey(), &pushCounter{})

	for _, mode := range []string{"paged", "one-poll"} {
		b.Run("delivery="+mode, func(b *testing.B) {
			var peakInuse, peakObjects, base uint64
			next := &pushCounter{}
			for range b.N {
				var sink consumer.Metrics
				if mode == "paged" {
					sink = next
				}
				rec.largest.Store(0)
				rec.served.Store(0)
				base = heapAfterGC()
				h := startHeapSampler(time.Millisecond)
				backfill(b, srv.URL, sim.AdminKey(), sink)
				peakInuse, peakObjects = h.finish()
			}
			page := float64(rec.largest.Load())
			b.ReportMetric(float64(peakInuse)/mib, "peak-inuse-MiB")
			b.ReportMetric(float64(peakObjects)/mib, "peak-alloc-MiB")
			b.ReportMetric(float64(base)/mib, "base-MiB")
			b.ReportMetric(page/mib, "page-MiB")
			b.ReportMetric(float64(rec.served.Load())/mib, "read-MiB")
			b.ReportMetric((float64(peakInuse)-float64(base))/page, "peak-over-page")
			b.ReportMetric(float64(next.pushes.Load())/float64(b.N), "pushes")
		})
	}
}

// BenchmarkSteadyStateLedger polls a large organization (simulator scale
// 200) every minute for 150 minutes at 1m buckets with a 1h revision
// window, and reports the accounting's state: ledger entries (asserted to be
// exactly the rows the API has for the window's 61 buckets: bounded by the
// window and the traffic, not by time), the stream's retained heap, the
// ledger's share of it, and the heap growth over the last 90 minutes.
func BenchmarkSteadyStateLedger(b *testing.B) {
	const polls = 150
	for range b.N {
		clock := fakeclock.New(benchNow.Add(-polls * time.Minute))
		sim := simulator.New(simulator.Options{Seed: benchSeed, Now: clock.Now, HistoryDays: 2, Org: simulator.OrgOptions{Scale: backfillScale}})
		srv := httptest.NewServer(sim.Handler())
		cfg := testConfig(srv.URL)
		cfg.AdminAPIKey = configopaque.String(sim.AdminKey())
		cfg.Usage.Poll.Lookback = time.Hour
		cfg.Usage.Poll.RevisionWindow = time.Hour
		s := startBenchScraper(b, cfg, clock.Now)
		r := s.reports[0].(*streamReport[usageKey, modelResource])
		var entries60, maxEntries int
		var heapAt = map[int]uint64{}
		b.Logf("%5s %8s %8s %14s %8s %10s %12s", "poll", "buckets", "entries", "rows in window", "series", "heap MiB", "checkpoint B")
		for i := 1; i <= polls; i++ {
			_, err := s.scrape(context.Background())
			require.NoError(b, err)
			s.settle(true)
			maxEntries = max(maxEntries, r.stream.LedgerEntries())
			if i == 1 || i%30 == 0 {
				heapAt[i] = heapAfterGC()
				to := clock.Now().Truncate(time.Minute).Add(time.Minute)
				buckets := int(to.Sub(r.stream.Watermark()) / time.Minute)
				rows := rowsIn(b, sim, r.stream.Watermark(), to)
				require.Equal(b, rows, r.stream.LedgerEntries(), "the ledger holds the rows of the revision window, no more")
				b.Logf("%5d %8d %8d %14d %8d %10.1f %12d", i, buckets, r.stream.LedgerEntries(), rows, r.stream.Series(),
					float64(heapAt[i])/mib, len(r.stream.MarshalBinary(r.src.codec())))
			}
			if i == 60 {
				entries60 = r.stream.LedgerEntries()
			}
			clock.Advance(time.Minute)
		}
		srv.Close()
		streamBytes, ledgerBytes := streamFootprint(b, r.stream, r.src.codec())
		entries := r.stream.LedgerEntries()
		b.ReportMetric(float64(entries), "ledger-entries")
		b.ReportMetric(float64(entries60), "ledger-entries@60")
		b.ReportMetric(float64(maxEntries), "ledger-entries-max")
		b.ReportMetric(float64(r.stream.Series()), "series")
		b.ReportMetric(float64(streamBytes)/mib, "stream-MiB")
		b.ReportMetric(float64(ledgerBytes)/mib, "ledger-MiB")
		b.ReportMetric(float64(ledgerBytes)/float64(entries), "B/entry")
		b.ReportMetric((float64(heapAt[polls])-float64(heapAt[60]))/mib, "heap-growth-60-150-MiB")
	}
}

// rowsIn counts the rows the simulator serves for the 1m buckets of
// [from, to), grouped as the receiver groups them.
func rowsIn(tb testing.TB, sim *simulator.Simulator, from, to time.Time) int {
	q := url.Values{}
	q.Set("starting_at", from.Format(time.RFC3339))
	q.Set("ending_at", to.Format(time.RFC3339))
	q.Set("bucket_width", adminapi.BucketWidth1m)
	q.Set("limit", "1440")
	q["group_by[]"] = benchUsageGroupBy
	req := httptest.NewRequest(http.MethodGet, adminapi.PathUsageMessages+"?"+q.Encode(), nil)
	req.Header.Set("x-api-key", sim.AdminKey())
	req.Header.Set("anthropic-version", adminapi.AnthropicVersion)
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, req)
	require.Equal(tb, http.StatusOK, rec.Code)
	var page adminapi.UsagePage
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &page))
	require.False(tb, page.HasMore)
	rows := 0
	for _, bk := range page.Data {
		rows += len(bk.Results)
	}
	return rows
}

// streamFootprint measures the heap a stream retains by restoring its
// checkpoint, and the ledger's share by restoring it again and letting
// every bucket become final.
func streamFootprint[K comparable](tb testing.TB, st *accounting.Stream[K], codec accounting.KeyCodec[K]) (streamBytes, ledgerBytes int64) {
	data := st.MarshalBinary(codec)
	cfg := accounting.Config{BucketWidth: time.Minute, RevisionWindow: time.Hour, Start: st.Start()}
	retained := func(withLedger bool) int64 {
		before := heapAfterGC()
		s, err := accounting.RestoreStream[K](cfg, data, codec)
		require.NoError(tb, err)
		if !withLedger {
			s.Begin(s.Watermark().Add(48 * time.Hour)).Commit()
			require.Zero(tb, s.LedgerEntries())
		}
		after := heapAfterGC()
		runtime.KeepAlive(s)
		return int64(after) - int64(before)
	}
	full, bare := retained(true), retained(false)
	return full, full - bare
}

// BenchmarkDecodePeakHeap reports the peak heap of decoding the largest
// pages alone, read from a file as a body is read from the network: the
// whole page through a json.Decoder (the client before it streamed),
// json.Unmarshal of a buffer of the body's size, and the client's
// bucket-at-a-time adminapi.DecodeReportPage. Run it in a process of its
// own (make bench-memory): pages the other benchmarks keep in memory would
// count in base-MiB and move the GC's pacing.
func BenchmarkDecodePeakHeap(b *testing.B) {
	dir := b.TempDir()
	for _, spec := range []pageSpec{usagePageSpecs[3], costPageSpecs[0]} {
		report := "usage"
		if spec.cost {
			report = "cost"
		}
		b.Run("page="+report+"-"+spec.name, func(b *testing.B) {
			file := filepath.Join(dir, report+"-"+spec.name+".json")
			size := int64(0)
			if fi, err := os.Stat(file); err == nil {
				size = fi.Size()
			} else {
				page := generatePage(b, spec)
				require.NoError(b, os.WriteFile(file, page.body, 0o600))
				size = int64(len(page.body))
			}
			open := func() *os.File {
				f, err := os.Open(file)
				require.NoError(b, err)
				return f
			}
			decoders := []struct {
				name string
				fn   func() error
			}{
				{"client", func() error {
					f := open()
					defer f.Close()
					if spec.cost {
						var p adminapi.CostPage
						return json.NewDecoder(f).Decode(&p)
					}
					var p adminapi.UsagePage
					return json.NewDecoder(f).Decode(&p)
				}},
				{"unmarshal", func() error {
					f := open()
					defer f.Close()
					buf := make([]byte, size)
					if _, err := io.ReadFull(f, buf); err != nil {
						return err
					}
					if spec.cost {
						var p adminapi.CostPage
						return json.Unmarshal(buf, &p)
					}
					var p adminapi.UsagePage
					return json.Unmarshal(buf, &p)
				}},
				{"stream", func() error {
					f := open()
					defer f.Close()
					if spec.cost {
						_, err := adminapi.DecodeReportPage(f, func(*adminapi.CostBucket) error { return nil })
						return err
					}
					_, err := adminapi.DecodeReportPage(f, func(*adminapi.UsageBucket) error { return nil })
					return err
				}},
			}
			for _, d := range decoders {
				b.Run("decoder="+d.name, func(b *testing.B) {
					var peak, base uint64
					for range b.N {
						base = heapAfterGC()
						h := startHeapSampler(time.Millisecond)
						require.NoError(b, d.fn())
						peak, _ = h.finish()
					}
					b.ReportMetric(float64(peak)/mib, "peak-inuse-MiB")
					b.ReportMetric(float64(base)/mib, "base-MiB")
					b.ReportMetric(float64(size)/mib, "page-MiB")
					b.ReportMetric((float64(peak)-float64(base))/float64(size), "peak-over-page")
				})
			}
		})
	}
}
