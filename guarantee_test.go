package anthropicusagereceiver

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

var storageID = component.MustNewID("file_storage")

// storageHost is a collector host with one real file_storage extension.
// Restarting it is what a new process does: the database is closed and
// opened again from disk.
type storageHost struct {
	dir string
	ext extension.Extension
}

func (h *storageHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{storageID: h.ext}
}

func (h *storageHost) start(t *testing.T) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = h.dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttestHost{}))
	h.ext = ext
}

func (h *storageHost) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, h.ext.Shutdown(context.Background()))
}

type componenttestHost struct{}

func (componenttestHost) GetExtensions() map[component.ID]component.Component { return nil }

// downstream is the pipeline after the receiver: it refuses some batches,
// and keeps what it accepted.
type downstream struct {
	mu       sync.Mutex
	got      ledger
	calls    int
	refuse   func(call int) bool
	refused  int
	accepted int
}

func (d *downstream) Capabilities() consumerCapabilities { return consumerCapabilities{} }

func (d *downstream) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.refuse(d.calls) {
		d.refused++
		return errors.New("exporter queue full")
	}
	d.accepted++
	d.got.add(md)
	return nil
}

// run is one receiver process: a scraper driven by the test like the
// scraper controller drives it (scrape, then ConsumeMetrics).
type run struct {
	s   *anthropicScraper
	coa *commitOnAccept
}

func startRun(t *testing.T, cfg *Config, host component.Host, now func() time.Time, next *downstream) *run {
	t.Helper()
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type) // the same receiver in every process
	s := newScraper(cfg, set)
	s.now = now
	s.next = next
	require.NoError(t, s.start(context.Background(), host))
	return &run{s: s, coa: &commitOnAccept{next: next, s: s}}
}

func (r *run) tick(t *testing.T) {
	md, err := r.s.scrape(context.Background())
	if err != nil {
		t.Logf("scrape: %v", err) // faults: the next tick reads it again
	}
	_ = r.coa.ConsumeMetrics(context.Background(), md)
}

// crash abandons the process without its shutdown: nothing is flushed or
// written; only what dying releases (the database file) is released.
func (r *run) crash() {
	r.s.cancel()
	_ = r.s.storage.Close(context.Background())
}

// The guarantee: under late data, injected faults, a downstream that
// refuses batches, graceful restarts, crashes and a long downtime, the
// exported totals equal the API's final totals exactly.
func TestGuaranteeUnderFaultsAndRestarts(t *testing.T) {
	for _, tc := range []struct {
		temporality Temporality
		crashes     bool
	}{
		{TemporalityCumulative, true},
		{TemporalityDelta, false}, // delta is exact under graceful restarts
	} {
		t.Run(string(tc.temporality), func(t *testing.T) {
			clock := fakeclock.New(time.Date(2026, 9, 2, 6, 0, 30, 0, time.UTC))
			sim := simulator.New(simulator.Options{Seed: 7, Now: clock.Now, HistoryDays: 6, RequestsPerMinute: 20})
			srv := httptest.NewServer(sim.Handler())
			defer srv.Close()

			cfg := testConfig(srv.URL)
			cfg.AdminAPIKey = configopaque.String(sim.AdminKey())
			cfg.Temporality = tc.temporality
			cfg.Storage = &storageID
			cfg.Usage.Poll.Lookback = 2 * time.Hour
			cfg.Usage.Poll.RevisionWindow = 15 * time.Minute
			cfg.Cost.Poll.Enabled = true
			cfg.Cost.Poll.Lookback = 48 * time.Hour
			cfg.ClaudeCode.Poll.Enabled = true
			cfg.ClaudeCode.Poll.Lookback = 48 * time.Hour
			cfg.RetryOnFailure.MaxElapsedTime = 3 * time.Second
			start := clock.Now()

			host := &storageHost{dir: t.TempDir()}
			host.start(t)
			next := &downstream{got: ledger{}, refuse: func(call int) bool { return call%9 == 4 }}
			r := startRun(t, cfg, host, clock.Now, next)

			restarts, crashes := 0, 0
			maxLag := map[string]time.Duration{}
			observeLag := func() {
				for _, rep := range r.s.reports {
					if wm := rep.health().watermark.Load(); wm != 0 {
						maxLag[rep.name()] = max(maxLag[rep.name()], clock.Now().Sub(time.Unix(0, wm)))
					}
				}
			}
			restart := func(abrupt bool) {
				if abrupt {
					r.crash()
					crashes++
				} else {
					require.NoError(t, r.s.shutdown(context.Background()))
					restarts++
				}
				host.stop(t) // the process is gone: its database too
				host.start(t)
				r = startRun(t, cfg, host, clock.Now, next)
			}
			faults := map[int][]simulator.Fault{
				5:   {{Status: 429, RetryAfter: "1"}},
				9:   {{Status: 429}, {Status: 500}},
				14:  {{Status: 504}, {Status: 529}},
				20:  {{Delay: 300 * time.Millisecond}},
				27:  {{Truncate: true}},
				33:  {{Reset: true, Times: 2}},
				41:  {{Status: 529}, {Status: 529}, {Status: 529}, {Status: 529}, {Status: 529}, {Status: 529}, {Status: 529}, {Status: 529}},
				55:  {{Status: 500}},
				130: {{Status: 429}},
			}
			const minutes = 150
			for i := range minutes {
				if f := faults[i]; f != nil {
					sim.Faults().Script("*", f...)
				}
				switch {
				case i == 30 || i == 90:
					restart(false)
				case tc.crashes && i == 50:
					restart(true)
				case tc.crashes && i == 110:
					// The worst moment: the exporter took the batch, the
					// process died before the checkpoint was written. The
					// next process emits the same running totals again.
					md, err := r.s.scrape(context.Background())
					require.NoError(t, err)
					next.mu.Lock()
					next.got.add(md) // accepted, whatever the refusal schedule says
					next.mu.Unlock()
					restart(true)
				case i == 70:
					// A downtime longer than the revision window, and a day:
					// the catch-up follows several pages.
					require.NoError(t, r.s.shutdown(context.Background()))
					restarts++
					host.stop(t)
					clock.Advance(26 * time.Hour)
					host.start(t)
					r = startRun(t, cfg, host, clock.Now, next)
				}
				r.tick(t)
				if i < 70 || i > 75 { // the downtime's catch-up is not steady state
					observeLag()
				}
				clock.Advance(time.Minute)
			}
			freeze := clock.Now().Truncate(time.Minute)
			sim.Freeze(freeze)
			before := sim.Stats()
			for range 180 {
				r.tick(t)
				clock.Advance(time.Minute)
			}
			steady := sim.Stats().Total - before.Total
			require.NoError(t, r.s.shutdown(context.Background()))
			host.stop(t)

			usageFrom := start.Add(-2 * time.Hour).Truncate(time.Minute)
			truth := sim.TruthUsage(simulator.TruthQuery{StartingAt: usageFrom, EndingAt: freeze, GroupBy: cfg.Usage.GroupBy})
			var tokens int64
			for _, row := range truth {
				match := truthAttrs(row.Dims)
				sum := row.UncachedInputTokens + row.CacheReadInputTokens + row.CacheCreation5m + row.CacheCreation1h + row.OutputTokens
				require.Equal(t, float64(sum), next.got.sum("anthropic.usage.tokens", match), "tokens of %v", match)
				tokens += sum
			}
			require.Equal(t, float64(tokens), next.got.sum("anthropic.usage.tokens", nil))

			costTruth := sim.TruthCost(simulator.TruthQuery{StartingAt: start.Add(-48 * time.Hour).Truncate(24 * time.Hour), EndingAt: freeze})
			require.Len(t, costTruth, 1)
			assert.InDelta(t, adminapi.NanoCentsToDollars(costTruth[0].AmountNanoCents), next.got.sum("anthropic.cost", nil), 1e-6)

			var sessions int64
			for _, row := range sim.TruthClaudeCode(simulator.TruthQuery{StartingAt: start.Add(-48 * time.Hour).Truncate(24 * time.Hour), EndingAt: freeze}) {
				sessions += row.Sessions
			}
			assert.Equal(t, float64(sessions), next.got.sum("anthropic.claude_code.sessions", nil))

			stats := sim.Stats()
			assert.Zero(t, stats.RateLimited, "the simulator's rate limit (20 requests a minute) was never exceeded")
			t.Logf("%s: %d tokens, $%.2f, %d sessions exact after %d graceful restarts, %d crashes, %d refused batches (%d accepted), faults %v; "+
				"%d requests in all, %d in the last 3 hours (%.0f an hour); largest lag %v",
				tc.temporality, tokens, adminapi.NanoCentsToDollars(costTruth[0].AmountNanoCents), sessions, restarts, crashes,
				next.refused, next.accepted, stats.ByStatus, stats.Total, steady, float64(steady)/3, maxLag)
		})
	}
}

func checkpointTestConfig(t *testing.T) (*Config, *fakeclock.Clock, *simulator.Simulator) {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 9, 2, 6, 0, 30, 0, time.UTC))
	sim := simulator.New(simulator.Options{Seed: 3, Now: clock.Now, HistoryDays: 2})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	cfg.AdminAPIKey = configopaque.String(sim.AdminKey())
	cfg.Storage = &storageID
	cfg.Usage.Poll.Lookback = time.Hour
	cfg.Usage.GroupBy = []string{"model"}
	return cfg, clock, sim
}

func usageStream(r *run) *accounting.Stream[usageKey] {
	return r.s.reports[0].(*streamReport[usageKey, modelResource]).stream
}

// A checkpoint that cannot be read is reported, and the report starts
// fresh from its lookback; the receiver neither crashes nor refuses to
// start.
func TestCorruptCheckpointStartsFresh(t *testing.T) {
	cfg, clock, _ := checkpointTestConfig(t)
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	client, err := storageClient(context.Background(), host, storageID, component.NewID(metadata.Type))
	require.NoError(t, err)
	key := checkpointKey("usage", newUsageSource(cfg.Usage, nil).shape()...)
	require.NoError(t, client.Set(context.Background(), key, []byte("AUACCT02 not really a checkpoint")))
	require.NoError(t, client.Close(context.Background()))

	next := &downstream{got: ledger{}, refuse: func(int) bool { return false }}
	r := startRun(t, cfg, host, clock.Now, next)
	defer func() { require.NoError(t, r.s.shutdown(context.Background())) }()
	assert.Equal(t, clock.Now().Add(-time.Hour).Truncate(time.Minute), usageStream(r).Start(), "fresh from the lookback")
	r.tick(t)
	assert.Positive(t, next.got.sum("anthropic.usage.tokens", nil))
}

// The checkpoint belongs to a query shape: another group_by starts a new
// stream (a new start time), and going back resumes the old one.
func TestShapeChangeStartsANewStream(t *testing.T) {
	cfg, clock, _ := checkpointTestConfig(t)
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	next := &downstream{got: ledger{}, refuse: func(int) bool { return false }}

	r := startRun(t, cfg, host, clock.Now, next)
	for range 3 {
		r.tick(t)
		clock.Advance(time.Minute)
	}
	firstStart, firstWatermark := usageStream(r).Start(), usageStream(r).Watermark()
	require.NoError(t, r.s.shutdown(context.Background()))

	clock.Advance(10 * time.Minute)
	other := *cfg
	other.Usage.GroupBy = []string{"model", "workspace_id"}
	r = startRun(t, &other, host, clock.Now, next)
	assert.Equal(t, clock.Now().Add(-time.Hour).Truncate(time.Minute), usageStream(r).Start(), "a new shape is a new stream")
	r.tick(t)
	require.NoError(t, r.s.shutdown(context.Background()))

	r = startRun(t, cfg, host, clock.Now, next)
	defer func() { require.NoError(t, r.s.shutdown(context.Background())) }()
	assert.Equal(t, firstStart, usageStream(r).Start(), "the old shape resumes its own stream")
	assert.Equal(t, firstWatermark, usageStream(r).Watermark())
}
