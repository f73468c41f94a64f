// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
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

// truthAttrs are the attributes the receiver emits for a usage truth row
// grouped by the default group_by: nulls become the documented stand-ins.
func truthAttrs(dims map[string]*string) map[string]any {
	return map[string]any{
		"resource.anthropic.workspace.id": orNull(dims["workspace_id"], defaultWorkspace),
		"resource.gen_ai.request.model":   orNull(dims["model"], unknownValue),
		"anthropic.api_key.id":            orNull(dims["api_key_id"], consoleAPIKey),
		"anthropic.service_tier":          orNull(dims["service_tier"], unknownValue),
		"anthropic.context_window":        orNull(dims["context_window"], unknownValue),
	}
}

func orNull(v *string, null string) string {
	if v == nil {
		return null
	}
	return *v
}

// The receiver polls the simulator for hours of simulated time while every
// bucket keeps growing after it closes, some exports are refused and some
// requests fail; then traffic stops, everything settles, and every exported
// total equals the simulator's ground truth exactly: tokens per workspace,
// model, API key, tier and context window; dollars per workspace and cost
// line; and Claude Code figures per actor.
func TestReconcilesWithSimulatorGroundTruth(t *testing.T) {
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		t.Run(string(temporality), func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New(time.Date(2026, 9, 2, 7, 0, 30, 0, time.UTC))
			sim := simulator.New(simulator.Options{Seed: 42, Now: clock.Now, HistoryDays: 10})
			srv := httptest.NewServer(sim.Handler())
			defer srv.Close()

			cfg := testConfig(srv.URL)
			cfg.AdminAPIKey = configopaque.String(sim.AdminKey())
			cfg.Temporality = temporality
			cfg.Usage.Poll.Lookback = 3 * time.Hour
			cfg.Usage.Poll.RevisionWindow = 10 * time.Minute
			cfg.Cost.Poll.Enabled = true
			cfg.Cost.Poll.Lookback = 72 * time.Hour
			cfg.ClaudeCode.Poll.Enabled = true
			cfg.ClaudeCode.Poll.Lookback = 48 * time.Hour
			start := clock.Now()
			next := &testConsumer{refuse: func(call int) bool { return call%7 == 3 }}
			r := startReceiver(t, cfg, clock.Now, withConsumer(next))
			tick := func(i int) {
				_, err := r.poll()
				require.NoError(t, err, "tick %d", i)
			}
			// 100 minutes of traffic, one tick a minute; every seventh batch
			// is refused; a few requests fail and are retried.
			for i := range 100 {
				switch i {
				case 11:
					sim.Faults().Script(adminapi.PathUsageMessages, simulator.Fault{Status: 429}, simulator.Fault{Status: 529})
				case 23:
					sim.Faults().Script(adminapi.PathCostReport, simulator.Fault{Status: 500})
				case 37:
					sim.Faults().Script(adminapi.PathUsageMessages, simulator.Fault{Truncate: true})
				}
				tick(i)
				clock.Advance(time.Minute)
			}
			freeze := clock.Now().Truncate(time.Minute)
			sim.Freeze(freeze)
			// Everything settles: usage in minutes, cost and Claude Code
			// within about an hour; reports poll hourly.
			next.refuse = nil
			for i := range 200 {
				tick(100 + i)
				clock.Advance(time.Minute)
			}
			got := next.ledger()

			usageFrom := start.Add(-3 * time.Hour).Truncate(time.Minute)
			rows := sim.TruthUsage(simulator.TruthQuery{StartingAt: usageFrom, EndingAt: freeze, GroupBy: cfg.Usage.GroupBy})
			require.NotEmpty(t, rows)
			var tokens, checked int64
			for _, r := range rows {
				match := truthAttrs(r.Dims)
				for tt, want := range map[string]int64{
					"uncached_input_tokens":                    r.UncachedInputTokens,
					"cache_read_input_tokens":                  r.CacheReadInputTokens,
					"cache_creation.ephemeral_5m_input_tokens": r.CacheCreation5m,
					"cache_creation.ephemeral_1h_input_tokens": r.CacheCreation1h,
					"output_tokens":                            r.OutputTokens,
				} {
					m := map[string]any{"anthropic.token.type": tt}
					for k, v := range match {
						m[k] = v
					}
					require.Equal(t, float64(want), got.sum("anthropic.usage.tokens", m), "tokens %s %v", tt, match)
					tokens += want
					checked++
				}
				require.Equal(t, float64(r.WebSearchRequests), got.sum("anthropic.usage.web_search.requests", match), "web searches %v", match)
			}
			assert.Equal(t, float64(tokens), got.sum("anthropic.usage.tokens", nil), "no series beyond the truth's")
			assert.Positive(t, tokens)

			costFrom := start.Add(-72 * time.Hour).Truncate(24 * time.Hour)
			costRows := sim.TruthCost(simulator.TruthQuery{StartingAt: costFrom, EndingAt: freeze, GroupBy: []string{"workspace_id"}})
			var nano int64
			for _, r := range costRows {
				ws := orNull(r.Dims["workspace_id"], "default")
				want := adminapi.NanoCentsToDollars(r.AmountNanoCents)
				assert.InDelta(t, want, got.sum("anthropic.cost", map[string]any{"resource.anthropic.workspace.id": ws}), 1e-9, "cost of %s", ws)
				nano += r.AmountNanoCents
			}
			assert.InDelta(t, adminapi.NanoCentsToDollars(nano), got.sum("anthropic.cost", nil), 1e-9)
			assert.Positive(t, nano)
			if temporality == TemporalityCumulative {
				// Exact to the nano-cent: the receiver's own totals.
				var exported int64
				for _, c := range r.report("cost").stream.Totals() {
					exported += count(c[0])
				}
				assert.Equal(t, nano, exported, "cost in nano-cents")
			}

			ccRows := sim.TruthClaudeCode(simulator.TruthQuery{StartingAt: start.Add(-48 * time.Hour).Truncate(24 * time.Hour), EndingAt: freeze})
			require.NotEmpty(t, ccRows)
			var sessions, cents, ccTokens int64
			for _, r := range ccRows {
				sessions += r.Sessions
				for _, m := range r.Models {
					cents += m.EstimatedCostCents
					ccTokens += m.Input + m.Output + m.CacheRead + m.CacheCreation
				}
			}
			assert.Equal(t, float64(sessions), got.sum("anthropic.claude_code.sessions", nil))
			assert.Equal(t, float64(ccTokens), got.sum("anthropic.claude_code.tokens", nil))
			assert.InDelta(t, float64(cents)/100, got.sum("anthropic.claude_code.estimated_cost", nil), 1e-9)
			t.Logf("%s: %d usage groups, %d tokens, %d cost groups ($%.2f), %d Claude Code records; %d requests, %v",
				temporality, len(rows), tokens, len(costRows), adminapi.NanoCentsToDollars(nano), len(ccRows), sim.Stats().Total, sim.Stats().ByStatus)
		})
	}
}
