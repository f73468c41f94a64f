// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/golden from the current output")

// fixedNow is the poll time of the golden tests: within the open bucket
// after the fixture's last one.
var fixedNow = time.Date(2026, 9, 1, 10, 2, 30, 0, time.UTC)

// testHashKey is the hash_key of the tests that hash actors.
const testHashKey = "0123456789abcdef0123456789abcdef"

func testConfig(endpoint string) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.AdminAPIKey = "sk-ant-admin01-test-key"
	cfg.RateLimit = RateLimitConfig{RequestsPerMinute: 60000, Burst: 1000}
	cfg.RetryOnFailure.InitialInterval = time.Millisecond
	cfg.RetryOnFailure.MaxInterval = time.Millisecond
	cfg.RetryOnFailure.MaxElapsedTime = 100 * time.Millisecond
	// Tests enable the reports and lookups they are about.
	cfg.Cost.Poll.Enabled = false
	cfg.Names.Enabled = false
	return cfg
}

// testConsumer is the pipeline after the receiver in unit tests: it refuses
// the calls refuse says, and keeps what it accepted.
type testConsumer struct {
	mu       sync.Mutex
	refuse   func(call int) bool // nil: accept every batch
	calls    int
	refused  int
	accepted []pmetric.Metrics
	taken    int // accepted[:taken] were returned by take
}

func (c *testConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *testConsumer) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.refuse != nil && c.refuse(c.calls) {
		c.refused++
		return errors.New("exporter queue full")
	}
	c.accepted = append(c.accepted, md)
	return nil
}

// take merges what was accepted since the last take.
func (c *testConsumer) take() pmetric.Metrics {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := pmetric.NewMetrics()
	for _, md := range c.accepted[c.taken:] {
		cp := pmetric.NewMetrics()
		md.CopyTo(cp)
		cp.ResourceMetrics().MoveAndAppendTo(out.ResourceMetrics())
	}
	c.taken = len(c.accepted)
	return out
}

// ledger is everything the consumer accepted, as a backend holds it.
func (c *testConsumer) ledger() ledger {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := ledger{}
	for _, md := range c.accepted {
		l.add(md)
	}
	return l
}

// testReceiver is a receiver started without its loops: the test ticks it.
type testReceiver struct {
	*anthropicReceiver
	sink *testConsumer // nil when the test brought another consumer
}

type testSetup struct {
	set  receiver.Settings
	host component.Host
	next consumer.Metrics
}

type testOption func(*testSetup)

func withLogger(l *zap.Logger) testOption { return func(s *testSetup) { s.set.Logger = l } }

func withSettings(set receiver.Settings) testOption { return func(s *testSetup) { s.set = set } }

func withHost(h component.Host) testOption { return func(s *testSetup) { s.host = h } }

func withConsumer(c consumer.Metrics) testOption { return func(s *testSetup) { s.next = c } }

// startReceiver starts a receiver with the test's clock; it is shut down
// when the test ends unless the test did it.
func startReceiver(t *testing.T, cfg *Config, now func() time.Time, opts ...testOption) *testReceiver {
	t.Helper()
	tr, err := tryStartReceiver(t, cfg, now, opts...)
	require.NoError(t, err)
	return tr
}

// tryStartReceiver is startReceiver for a start that may fail.
func tryStartReceiver(t *testing.T, cfg *Config, now func() time.Time, opts ...testOption) (*testReceiver, error) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	setup := testSetup{set: receivertest.NewNopSettings(metadata.Type), host: componenttest.NewNopHost(), next: &testConsumer{}}
	setup.set.ID = component.NewID(metadata.Type) // the same receiver in every process
	for _, o := range opts {
		o(&setup)
	}
	r, err := newReceiver(cfg, setup.set, setup.next)
	require.NoError(t, err)
	r.now = now
	// Polls are scheduled by the test's clock, which only moves when told.
	made := now()
	r.elapsed = func() time.Duration { return now().Sub(made) }
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	if err := r.start(context.Background(), setup.host); err != nil {
		// As the collector does after a failed start.
		require.NoError(t, r.Shutdown(context.Background()))
		return nil, err
	}
	tr := &testReceiver{anthropicReceiver: r}
	tr.sink, _ = setup.next.(*testConsumer)
	return tr, nil
}

// poll ticks every report once, as the loops do: it returns what the
// pipeline accepted during the tick, merged, and the poll errors.
func (tr *testReceiver) poll() (pmetric.Metrics, error) {
	var errs []error
	for _, rep := range tr.reports {
		if err := tr.tick(context.Background(), rep); err != nil {
			errs = append(errs, err)
		}
	}
	if tr.sink == nil {
		return pmetric.NewMetrics(), errors.Join(errs...)
	}
	return tr.sink.take(), errors.Join(errs...)
}

// crash abandons the process without its shutdown: nothing is flushed or
// written; only what dying releases (the database file) is released.
func (tr *testReceiver) crash() {
	if tr.storage != nil {
		_ = tr.storage.Close(context.Background())
		tr.storage = nil
	}
}

func (tr *testReceiver) report(name string) *report {
	for _, rep := range tr.reports {
		if rep.name == name {
			return rep
		}
	}
	panic("no report " + name)
}

func testdataFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "apiresponses", name))
}

// fixtureServer serves recorded responses: API path -> file under
// testdata/apiresponses.
func fixtureServer(t *testing.T, files map[string]string) *httptest.Server {
	t.Helper()
	bodies := map[string][]byte{}
	for path, file := range files {
		b, err := testdataFile(file)
		require.NoError(t, err)
		bodies[path] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("request-id", "req_fixture")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func compareGolden(t *testing.T, name string, actual pmetric.Metrics) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		require.NoError(t, golden.WriteMetrics(t, path, actual))
	}
	expected, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	// The golden writer normalizes timestamps and sorts resources; the
	// timestamps are asserted by TestPointTimestamps.
	require.NoError(t, pmetrictest.CompareMetrics(expected, actual,
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		pmetrictest.IgnoreResourceMetricsOrder(), pmetrictest.IgnoreMetricDataPointsOrder()))
}

var storageID = component.MustNewID("file_storage")

// storageHost is a collector host with one real file_storage extension.
// Restarting it is what a new process does: the database is closed and
// opened again from disk. Its clients fail the reads and writes faults says.
type storageHost struct {
	dir    string
	ext    extension.Extension
	faults storageFaults
}

func (h *storageHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{storageID: &faultyStorage{Extension: h.ext, faults: &h.faults}}
}

// storageFaults is how many of the next reads and writes fail (-1: all).
type storageFaults struct {
	reads, writes atomic.Int32
}

func (f *storageFaults) fail(n *atomic.Int32) bool {
	for {
		v := n.Load()
		if v == 0 {
			return false
		}
		if v < 0 || n.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// faultyStorage is the file_storage extension whose clients fail as told.
type faultyStorage struct {
	extension.Extension
	faults *storageFaults
}

func (s *faultyStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := s.Extension.(storage.Extension).GetClient(ctx, kind, id, name)
	if err != nil {
		return nil, err
	}
	return &faultyClient{Client: c, faults: s.faults}, nil
}

type faultyClient struct {
	storage.Client
	faults *storageFaults
}

func (c *faultyClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	reads := true
	for _, op := range ops {
		reads = reads && op.Type == storage.Get
	}
	if reads && c.faults.fail(&c.faults.reads) || !reads && c.faults.fail(&c.faults.writes) {
		return errors.New("input/output error")
	}
	return c.Client.Batch(ctx, ops...)
}

func (h *storageHost) start(t *testing.T) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = h.dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	h.ext = ext
}

func (h *storageHost) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, h.ext.Shutdown(context.Background()))
}

// ledger is what a backend holds of the accepted batches, per metric and
// attribute set (resource attributes prefixed "resource."): for a
// cumulative series the value at the latest timestamp; for a delta series
// one value per timestamp, the last received (what a backend that keeps one
// value per series and timestamp holds), and also the sum of every point
// received (what a backend that adds every point holds).
type ledger map[string]*exportedSeries

type exportedSeries struct {
	metric string
	attrs  map[string]any
	delta  bool
	last   float64
	lastTS pcommon.Timestamp
	byTS   map[pcommon.Timestamp]float64
	raw    float64
	points int
}

func (e *exportedSeries) value() float64 {
	if !e.delta {
		return e.last
	}
	total := 0.0
	for _, v := range e.byTS {
		total += v
	}
	return total
}

func (l ledger) add(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		res := rms.At(i).Resource().Attributes().AsRaw()
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			m := ms.At(j)
			delta := m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityDelta
			dps := m.Sum().DataPoints()
			for k := range dps.Len() {
				dp := dps.At(k)
				attrs := dp.Attributes().AsRaw()
				for rk, rv := range res {
					attrs["resource."+rk] = rv
				}
				key := m.Name() + fmt.Sprint(attrs) // fmt prints maps sorted
				v := dp.DoubleValue()
				if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
					v = float64(dp.IntValue())
				}
				e := l[key]
				if e == nil {
					e = &exportedSeries{metric: m.Name(), attrs: attrs, delta: delta, byTS: map[pcommon.Timestamp]float64{}}
					l[key] = e
				}
				e.points++
				e.raw += v
				e.byTS[dp.Timestamp()] = v
				if dp.Timestamp() >= e.lastTS {
					e.last, e.lastTS = v, dp.Timestamp()
				}
			}
		}
	}
}

// sum adds the series of a metric whose attributes include all of match.
func (l ledger) sum(metric string, match map[string]any) float64 {
	return l.total(metric, match, (*exportedSeries).value)
}

// rawSum is sum as a backend that adds every delta point received holds it.
func (l ledger) rawSum(metric string, match map[string]any) float64 {
	return l.total(metric, match, func(e *exportedSeries) float64 { return e.raw })
}

func (l ledger) total(metric string, match map[string]any, value func(*exportedSeries) float64) float64 {
	total := 0.0
	for _, e := range l {
		if e.metric != metric {
			continue
		}
		ok := true
		for k, v := range match {
			if e.attrs[k] != v {
				ok = false
				break
			}
		}
		if ok {
			total += value(e)
		}
	}
	return total
}

// assertSkipped compares what a mapping skipped with want; nil wants none.
func assertSkipped(t *testing.T, want, got skipCounts) {
	t.Helper()
	if want == nil {
		want = skipCounts{}
	}
	assert.Equal(t, want, got)
}
