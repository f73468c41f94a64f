// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

// Memory of the receiver: the peak heap of a 31-day backfill of a large
// organization read through the real receiver, the peak heap of decoding
// the largest pages, and the accounting's state in steady state. They are
// measurements rather than timings: run them with -benchtime=1x (make
// bench-memory), in a process of their own. See BENCHMARKS.md.

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
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

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
// memory, so that a measured run sees only the receiver's heap. With
// maxLimit set for a path, the server answers that path with at most that
// many buckets a page, whatever limit was asked: the pages a client asking
// for that limit would get.
type pageRecorder struct {
	dir      string
	sim      http.Handler
	maxLimit map[string]int // path -> largest limit served; nil: as asked
	capBytes int64          // bodies over this are not counted as pages read (the client's max_response_bytes)

	mu       sync.Mutex
	sizes    map[string]int64 // file -> body size
	largest  atomic.Int64     // largest body served, up to capBytes
	served   atomic.Int64     // bytes served
	requests atomic.Int64
}

func (p *pageRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if n := p.maxLimit[r.URL.Path]; n > 0 {
		q := r.URL.Query()
		if asked, _ := strconv.Atoi(q.Get("limit")); asked == 0 || asked > n {
			q.Set("limit", strconv.Itoa(n))
			r.URL.RawQuery = q.Encode()
			r.RequestURI = r.URL.RequestURI()
		}
	}
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
	if size > p.largest.Load() && (p.capBytes == 0 || size <= p.capBytes) {
		p.largest.Store(size)
	}
	p.served.Add(size)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", "req_recorded")
	_, _ = io.Copy(w, f)
}

// backfillScale is the large organization of the memory measurements.
const backfillScale = 200

// backfillCase is one way of running the backfill.
type backfillCase struct {
	name string
	// room: the first tick comes a second after the start, as
	// initial_delay (1s by default) has it, so that the pages of the first
	// read can be stamped and delivered one by one. Without it (start and
	// tick at the same instant, initial_delay: 0) the read is one poll.
	room bool
	// maxResponseBytes, when set, replaces the default (128 MiB).
	maxResponseBytes int64
	// maxLimit: the server's page limit per path (see pageRecorder).
	maxLimit map[string]int
}

// backfill is one first read of a 31-day lookback by a real receiver: usage
// at 1h (limit 168: 5 pages) and cost at 1d (limit 31: 2 pages), each
// report ticked once, every batch accepted by next.
func backfill(tb testing.TB, endpoint, key string, c backfillCase, next consumer.Metrics) {
	tb.Helper()
	cfg := testConfig(endpoint)
	cfg.AdminAPIKey = configopaque.String(key)
	cfg.Usage.BucketWidth = "1h"
	cfg.Usage.Poll.Lookback = 744 * time.Hour
	cfg.Cost.Poll.Enabled = true
	cfg.Cost.Poll.Lookback = 744 * time.Hour
	if c.maxResponseBytes > 0 {
		cfg.MaxResponseBytes = c.maxResponseBytes
	}
	require.NoError(tb, cfg.Validate())
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	r, err := newReceiver(cfg, set, next)
	require.NoError(tb, err)
	now := benchNow
	if c.room {
		now = benchNow.Add(-time.Second)
	}
	r.now = func() time.Time { return now }
	require.NoError(tb, r.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(tb, r.Shutdown(context.Background())) }()
	now = benchNow
	for _, rep := range r.reports {
		require.NoError(tb, r.tick(context.Background(), rep))
		require.Nil(tb, rep.pending, "%s: every batch accepted", rep.name)
	}
	usage := r.reports[0]
	require.Equal(tb, "usage", usage.name)
	wm := usage.stream.Watermark()
	require.False(tb, wm.Before(benchNow.Add(-2*time.Hour)), "the usage backfill read everything up to the revision window: watermark %s", wm)
}

// BenchmarkBackfillPeakHeap reports the peak heap of a 31-day backfill of a
// large organization (simulator scale 200) through the receiver: delivered
// page by page (the first tick a second after the start), as one poll (no
// room to stamp pages), and page by page with smaller pages: a lower
// max_response_bytes (the client halves the limit of a report whose page
// outgrows it) or a server that serves fewer buckets a page.
func BenchmarkBackfillPeakHeap(b *testing.B) {
	sim := simulator.New(simulator.Options{
		Seed: benchSeed, Now: func() time.Time { return benchNow }, HistoryDays: 33,
		Org: simulator.OrgOptions{Scale: backfillScale},
	})
	rec := &pageRecorder{dir: b.TempDir(), sim: sim.Handler(), sizes: map[string]int64{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	cases := []backfillCase{
		{name: "delivery=paged", room: true},
		{name: "delivery=one-poll"},
		{name: "delivery=paged/max_response_bytes=16MiB", room: true, maxResponseBytes: 16 * mib},
		{name: "delivery=paged/limit=usage-24,cost-7", room: true,
			maxLimit: map[string]int{adminapi.PathUsageMessages: 24, adminapi.PathCostReport: 7}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rec.maxLimit = c.maxLimit
			rec.capBytes = c.maxResponseBytes
			if rec.capBytes == 0 {
				rec.capBytes = 128 * mib
			}
			// Record every page once, outside the measurement.
			backfill(b, srv.URL, sim.AdminKey(), c, &pushCounter{})
			b.ResetTimer()
			var peakInuse, peakObjects, base uint64
			var next *pushCounter
			for range b.N {
				next = &pushCounter{}
				rec.largest.Store(0)
				rec.served.Store(0)
				rec.requests.Store(0)
				base = heapAfterGC()
				h := startHeapSampler(time.Millisecond)
				backfill(b, srv.URL, sim.AdminKey(), c, next)
				peakInuse, peakObjects = h.finish()
			}
			page := float64(rec.largest.Load())
			b.ReportMetric(float64(peakInuse)/mib, "peak-inuse-MiB")
			b.ReportMetric(float64(peakObjects)/mib, "peak-alloc-MiB")
			b.ReportMetric(float64(base)/mib, "base-MiB")
			b.ReportMetric(page/mib, "page-MiB")
			b.ReportMetric(float64(rec.served.Load())/mib, "read-MiB")
			b.ReportMetric(float64(rec.requests.Load()), "requests")
			b.ReportMetric((float64(peakInuse)-float64(base))/page, "peak-over-page")
			b.ReportMetric(float64(next.pushes.Load()), "pushes")
		})
	}
}

// BenchmarkSteadyStateLedger polls a large organization (simulator scale
// 200) every minute for 150 minutes at 1m buckets with a 1h revision
// window, through the receiver's tick, and reports the accounting's state:
// ledger entries (asserted to be exactly the rows the API has for the
// window's 61 buckets: bounded by the window and the traffic, not by time),
// the stream's retained heap, the ledger's share of it, and the heap growth
// over the last 90 minutes.
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
		// The revision window's ledger alone; the audit's settled past is
		// BenchmarkMonthOfChurn's (internal/accounting).
		cfg.Usage.Poll.Audit.Interval = 0
		next := &pushCounter{}
		r := startBenchReceiver(b, cfg, clock.Now, next)
		rep := r.reports[0]
		var entries60, maxEntries int
		heapAt := map[int]uint64{}
		b.Logf("%5s %8s %8s %14s %8s %10s %12s", "poll", "buckets", "entries", "rows in window", "series", "heap MiB", "checkpoint B")
		for i := 1; i <= polls; i++ {
			require.NoError(b, r.tick(context.Background(), rep))
			require.Nil(b, rep.pending)
			maxEntries = max(maxEntries, rep.stream.LedgerEntries())
			if i == 1 || i%30 == 0 {
				heapAt[i] = heapAfterGC()
				to := clock.Now().Truncate(time.Minute).Add(time.Minute)
				buckets := int(to.Sub(rep.stream.Watermark()) / time.Minute)
				rows := rowsIn(b, sim, rep.stream.Watermark(), to)
				require.Equal(b, rows, rep.stream.LedgerEntries(), "the ledger holds the rows of the revision window, no more")
				b.Logf("%5d %8d %8d %14d %8d %10.1f %12d", i, buckets, rep.stream.LedgerEntries(), rows, rep.stream.Series(),
					float64(heapAt[i])/mib, len(rep.stream.MarshalBinary(rep.codec)))
			}
			if i == 60 {
				entries60 = rep.stream.LedgerEntries()
			}
			clock.Advance(time.Minute)
		}
		require.Equal(b, int64(polls), next.pushes.Load(), "one batch a poll")
		srv.Close()
		streamBytes, ledgerBytes := streamFootprint(b, rep.stream, rep.codec)
		entries := rep.stream.LedgerEntries()
		b.ReportMetric(float64(entries), "ledger-entries")
		b.ReportMetric(float64(entries60), "ledger-entries@60")
		b.ReportMetric(float64(maxEntries), "ledger-entries-max")
		b.ReportMetric(float64(rep.stream.Series()), "series")
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
	return pageRows(&page)
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
			s.Begin(s.Watermark().Add(48 * time.Hour)).Seal()
			require.Zero(tb, s.LedgerEntries())
		}
		after := heapAfterGC()
		runtime.KeepAlive(s)
		return int64(after) - int64(before)
	}
	full, bare := retained(true), retained(false)
	return full, full - bare
}

// fileTransport answers every request with the file's content, read as a
// body is read from the network.
type fileTransport struct{ file string }

func (t fileTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f, err := os.Open(t.file)
	if err != nil {
		return nil, err
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: f, ContentLength: -1, Request: req,
	}, nil
}

// BenchmarkDecodePeakHeap reports the peak heap of decoding the largest
// pages alone, read from a file as a body is read from the network: the
// client's own decoder (adminapi.Client.UsageReport / CostReport through a
// transport that reads the file; it yields the whole typed page), a
// json.Decoder into the page, and json.Unmarshal of a buffer of the body's
// size. Each decoded page
// is alive when the sampler stops, as a page is while the receiver maps it;
// decoded-MiB is what stays alive after a GC. Run it in a process of its own (make
// bench-memory): pages the other benchmarks keep in memory would count in
// base-MiB and move the GC's pacing.
func BenchmarkDecodePeakHeap(b *testing.B) {
	dir := b.TempDir()
	for _, spec := range []pageSpec{usagePageSpecs[3], costPageSpecs[0]} {
		report := "usage"
		if spec.cost {
			report = "cost"
		}
		b.Run("page="+report+"-"+spec.name, func(b *testing.B) {
			file := filepath.Join(dir, report+"-"+spec.name+".json")
			size, rows := func() (int64, int) { // the page is garbage once written
				page := generatePage(b, spec)
				require.NoError(b, os.WriteFile(file, page.body, 0o600))
				return int64(len(page.body)), page.rows
			}()
			client, err := adminapi.New(&http.Client{Transport: fileTransport{file}}, adminapi.Settings{
				Endpoint: "http://127.0.0.1:9", AdminKey: "sk-ant-admin01-bench", MaxResponseBytes: 1 << 30, MaxPages: 1,
				RequestsPerMinute: 1 << 30, Burst: 1 << 20, Logger: zap.NewNop(),
			})
			require.NoError(b, err)
			open := func() *os.File {
				f, err := os.Open(file)
				require.NoError(b, err)
				return f
			}
			q := adminapi.ReportQuery{StartingAt: benchNow.Add(-24 * time.Hour), EndingAt: benchNow, Limit: 1440}
			decoders := []struct {
				name string
				fn   func() (any, int, error) // the page, its rows
			}{
				{"client", func() (any, int, error) {
					if spec.cost {
						for p, err := range client.CostReport(context.Background(), q) {
							if err != nil {
								return nil, 0, err
							}
							return p, pageRows(p), nil
						}
					}
					for p, err := range client.UsageReport(context.Background(), q) {
						if err != nil {
							return nil, 0, err
						}
						return p, pageRows(p), nil
					}
					return nil, 0, nil
				}},
				{"json.Decoder", func() (any, int, error) {
					f := open()
					defer f.Close()
					if spec.cost {
						var p adminapi.CostPage
						err := json.NewDecoder(f).Decode(&p)
						return &p, pageRows(&p), err
					}
					var p adminapi.UsagePage
					err := json.NewDecoder(f).Decode(&p)
					return &p, pageRows(&p), err
				}},
				{"unmarshal", func() (any, int, error) {
					f := open()
					defer f.Close()
					buf := make([]byte, size)
					if _, err := io.ReadFull(f, buf); err != nil {
						return nil, 0, err
					}
					if spec.cost {
						var p adminapi.CostPage
						err := json.Unmarshal(buf, &p)
						return &p, pageRows(&p), err
					}
					var p adminapi.UsagePage
					err := json.Unmarshal(buf, &p)
					return &p, pageRows(&p), err
				}},
			}
			for _, d := range decoders {
				b.Run("decoder="+d.name, func(b *testing.B) {
					var peak, base, held uint64
					for range b.N {
						base = heapAfterGC()
						h := startHeapSampler(time.Millisecond)
						page, n, err := d.fn()
						peak, _ = h.finish()
						require.NoError(b, err)
						held = heapAfterGC() - base // the decoded page alone
						runtime.KeepAlive(page)
						require.Equal(b, rows, n)
					}
					b.ReportMetric(float64(peak)/mib, "peak-inuse-MiB")
					b.ReportMetric(float64(base)/mib, "base-MiB")
					b.ReportMetric(float64(size)/mib, "page-MiB")
					b.ReportMetric(float64(held)/mib, "decoded-MiB")
					b.ReportMetric((float64(peak)-float64(base))/float64(size), "peak-over-page")
				})
			}
		})
	}
}
