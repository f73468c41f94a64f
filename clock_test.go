// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

// The collector's wall clock steps forward or back by two hours, for one
// poll, for a while, or before a restart; the API's clock (the simulator's,
// sent in its Date header) does not. Buckets become final by the earlier of
// the two clocks and polls are scheduled on the monotonic clock, so nothing
// is lost or counted twice: the exported totals equal the truth, and the
// report keeps polling through a backward step.
func TestClockStepsNeitherLoseNorDouble(t *testing.T) {
	for _, tc := range []struct {
		name string
		// offset of the collector's wall clock at minute i of the run
		offset  func(i int) time.Duration
		restart int // restart before this minute; 0: none
	}{
		{"2h ahead for one poll", during(20, 21, 2*time.Hour), 0},
		{"2h ahead for a while", during(20, 50, 2*time.Hour), 0},
		{"2h behind for a while", during(20, 50, -2*time.Hour), 0},
		{"30m ahead before a restart", during(20, 40, 30*time.Minute), 40},
		{"2h behind after a restart", during(40, 60, -2*time.Hour), 40},
	} {
		for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
			t.Run(tc.name+"/"+string(temporality), func(t *testing.T) {
				t.Parallel()
				t0 := time.Date(2026, 9, 3, 9, 0, 30, 0, time.UTC)
				api := fakeclock.New(t0)
				sim := simulator.New(simulator.Options{Seed: 11, Now: api.Now, HistoryDays: 2})
				srv := httptest.NewServer(sim.Handler())
				defer srv.Close()

				cfg := testConfig(srv.URL)
				cfg.AdminAPIKey = configopaque.String(sim.AdminKey())
				cfg.Temporality = temporality
				cfg.Storage = &storageID
				cfg.Usage.Poll.Lookback = time.Hour
				cfg.Usage.Poll.RevisionWindow = 10 * time.Minute // the simulator's minutes grow for 5
				var offset atomic.Int64
				local := func() time.Time { return api.Now().Add(time.Duration(offset.Load())) }
				host := &storageHost{dir: t.TempDir()}
				host.start(t)
				next := &testConsumer{}
				start := func() *testReceiver {
					r := startReceiver(t, cfg, local, withHost(host), withConsumer(next))
					// The monotonic clock follows the API's, whatever the wall clock does.
					made := api.Now()
					r.elapsed = func() time.Duration { return api.Now().Sub(made) }
					return r
				}
				r := start()
				polls := 0
				for i := range 90 {
					if i == tc.restart && i > 0 {
						require.NoError(t, r.Shutdown(context.Background()))
						host.stop(t)
						host.start(t)
						r = start()
					}
					offset.Store(int64(tc.offset(i)))
					rep := r.report("usage")
					if rep.due(r.elapsed()) {
						polls++
					}
					_, err := r.poll()
					require.NoError(t, err)
					api.Advance(time.Minute)
				}
				freeze := api.Now().Truncate(time.Minute)
				sim.Freeze(freeze)
				offset.Store(0)
				for range 20 {
					_, err := r.poll()
					require.NoError(t, err)
					api.Advance(time.Minute)
				}
				require.GreaterOrEqual(t, polls, 89, "the report is polled every minute, whatever the wall clock does")
				got := next.ledger()
				truth := sim.TruthUsage(simulator.TruthQuery{StartingAt: t0.Add(-time.Hour).Truncate(time.Minute), EndingAt: freeze})
				require.Len(t, truth, 1)
				row := truth[0]
				want := row.UncachedInputTokens + row.CacheReadInputTokens + row.CacheCreation5m + row.CacheCreation1h + row.OutputTokens
				require.Equal(t, float64(want), got.sum("anthropic.usage.tokens", nil)-got.sum("anthropic.usage.tokens.corrections", nil))
				require.Zero(t, got.sum("anthropic.usage.tokens.corrections", nil), "the simulator never lowers a value here")
			})
		}
	}
}

// during is a clock offset of d from minute from until minute to.
func during(from, to int, d time.Duration) func(int) time.Duration {
	return func(i int) time.Duration {
		if i >= from && i < to {
			return d
		}
		return 0
	}
}
