// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

// The guarantee: under late data, revisions up and down long after the
// revision window (found by the audit), injected faults, a downstream that
// refuses batches, graceful restarts, crashes (one of them after the
// pipeline accepted a batch and before the checkpoint noted it) and a long
// downtime, the totals the pipeline accepted minus their corrections equal
// the API's final totals exactly, as a backend that keeps one value per
// series and timestamp holds them.
func TestGuaranteeUnderFaultsAndRestarts(t *testing.T) {
	for _, tc := range []struct {
		temporality Temporality
	}{
		{TemporalityCumulative},
		{TemporalityDelta},
	} {
		t.Run(string(tc.temporality), func(t *testing.T) {
			clock := fakeclock.New(time.Date(2026, 9, 2, 6, 0, 30, 0, time.UTC))
			sim := simulator.New(simulator.Options{Seed: 7, Now: clock.Now, HistoryDays: 6, RequestsPerMinute: 20,
				Revisions: simulator.Revisions{Every: 4, After: 90 * time.Minute}})
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
			// Hourly audits of the last two days at 1h (the whole test):
			// revisions 90 minutes after an hour ends are past usage's
			// 15-minute window.
			cfg.Usage.Poll.Audit = AuditConfig{Interval: time.Hour, Window: 48 * time.Hour, BucketWidth: "1h"}
			cfg.Cost.Poll.Audit = AuditConfig{Interval: time.Hour, Window: 72 * time.Hour, BucketWidth: "1d"}
			start := clock.Now()

			host := &storageHost{dir: t.TempDir()}
			host.start(t)
			next := &testConsumer{refuse: func(call int) bool { return call%9 == 4 }}
			r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
			tick := func() {
				if _, err := r.poll(); err != nil {
					t.Logf("poll: %v", err) // faults: the next tick reads it again
				}
			}

			restarts, crashes := 0, 0
			maxLag := map[string]time.Duration{}
			observeLag := func() {
				for _, rep := range r.reports {
					if wm := rep.health.watermark.Load(); wm != 0 {
						maxLag[rep.name] = max(maxLag[rep.name], clock.Now().Sub(time.Unix(0, wm)))
					}
				}
			}
			restart := func(abrupt bool) {
				if abrupt {
					r.crash()
					crashes++
				} else {
					require.NoError(t, r.Shutdown(context.Background()))
					restarts++
				}
				host.stop(t) // the process is gone: its database too
				host.start(t)
				r = startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
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
				case i == 50:
					restart(true)
				case i == 110:
					// The worst moment: the exporter took the batch, the
					// process died before the checkpoint noted it. The next
					// process sends the same batch again, unchanged.
					for _, rep := range r.reports {
						rep.store.client = noteless{rep.store.client}
					}
					refuse := next.refuse
					next.refuse = nil // accepted, whatever the refusal schedule says
					tick()
					next.refuse = refuse
					clock.Advance(time.Second)
					restart(true)
				case i == 70:
					// A downtime longer than the revision window, and a day:
					// the catch-up follows several pages.
					require.NoError(t, r.Shutdown(context.Background()))
					restarts++
					host.stop(t)
					clock.Advance(26 * time.Hour)
					host.start(t)
					r = startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
				}
				tick()
				if i < 70 || i > 75 { // the downtime's catch-up is not steady state
					observeLag()
				}
				clock.Advance(time.Minute)
			}
			freeze := clock.Now().Truncate(time.Minute)
			sim.Freeze(freeze)
			before := sim.Stats()
			// Every revision of the frozen past is made within 2.5 hours, and
			// audited within the next.
			for range 240 {
				tick()
				clock.Advance(time.Minute)
			}
			steady := sim.Stats().Total - before.Total
			require.NoError(t, r.Shutdown(context.Background()))
			host.stop(t)
			got := next.ledger()

			usageFrom := start.Add(-2 * time.Hour).Truncate(time.Minute)
			truth := sim.TruthUsage(simulator.TruthQuery{StartingAt: usageFrom, EndingAt: freeze, GroupBy: cfg.Usage.GroupBy})
			var tokens int64
			net := func(metric string, match map[string]any) float64 {
				return got.sum(metric, match) - got.sum(metric+".corrections", match)
			}
			for _, row := range truth {
				match := truthAttrs(row.Dims)
				sum := row.UncachedInputTokens + row.CacheReadInputTokens + row.CacheCreation5m + row.CacheCreation1h + row.OutputTokens
				require.Equal(t, float64(sum), net("anthropic.usage.tokens", match), "tokens of %v", match)
				tokens += sum
			}
			require.Equal(t, float64(tokens), net("anthropic.usage.tokens", nil))
			corrections := got.sum("anthropic.usage.tokens.corrections", nil)
			require.Positive(t, corrections, "the API lowered some values: the corrections say so")
			if tc.temporality == TemporalityDelta {
				// What a backend that adds every point would hold: the batch
				// sent again after the crash that followed its acceptance.
				raw := got.rawSum("anthropic.usage.tokens", nil)
				assert.GreaterOrEqual(t, raw, float64(tokens))
				t.Logf("delta: a backend adding every point holds %.0f tokens, %.0f more than the truth", raw, raw-float64(tokens))
			}

			costTruth := sim.TruthCost(simulator.TruthQuery{StartingAt: start.Add(-48 * time.Hour).Truncate(24 * time.Hour), EndingAt: freeze})
			require.Len(t, costTruth, 1)
			assert.InDelta(t, adminapi.NanoCentsToDollars(costTruth[0].AmountNanoCents), net("anthropic.cost", nil), 1e-6)

			var sessions int64
			for _, row := range sim.TruthClaudeCode(simulator.TruthQuery{StartingAt: start.Add(-48 * time.Hour).Truncate(24 * time.Hour), EndingAt: freeze}) {
				sessions += row.Sessions
			}
			assert.Equal(t, float64(sessions), got.sum("anthropic.claude_code.sessions", nil))

			stats := sim.Stats()
			assert.Zero(t, stats.RateLimited, "the simulator's rate limit (20 requests a minute) was never exceeded")
			t.Logf("%s: %d tokens (%.0f exported, %.0f corrected), $%.2f ($%.2f corrected), %d sessions exact after %d graceful restarts, %d crashes, "+
				"%d refused batches (%d accepted), faults %v; %d requests in all, %d in the last 4 hours (%.0f an hour); largest lag %v",
				tc.temporality, tokens, got.sum("anthropic.usage.tokens", nil), corrections, adminapi.NanoCentsToDollars(costTruth[0].AmountNanoCents),
				got.sum("anthropic.cost.corrections", nil), sessions, restarts, crashes,
				next.refused, len(next.accepted), stats.ByStatus, stats.Total, steady, float64(steady)/4, maxLag)
		})
	}
}
