// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

// The guarantee on the analytics source: exports every hour, each revising
// the last six hours' values up and down (past the two-hour revision
// window: the hourly audit finds them), an export refreshed in the middle
// of a walk, batches refused, a restart and a crash; once the horizon has
// passed, the tokens, requests and dollars the pipeline accepted minus their
// corrections equal the simulator's ground truth, per key and per actor, in
// both temporalities.
func TestAnalyticsSourceGuarantee(t *testing.T) {
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		t.Run(string(temporality), func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New(time.Date(2026, 9, 2, 6, 0, 30, 0, time.UTC))
			sim := simulator.New(simulator.Options{Seed: 5, Now: clock.Now, HistoryDays: 3, Org: simulator.OrgOptions{Scale: 8},
				Analytics: simulator.AnalyticsOptions{ExportEvery: time.Hour, Horizon: 6 * time.Hour}})
			// The first time a walk asks for a second page, the next export
			// is published first: the walk meets a new data_refreshed_at (or
			// a 410) and must start again.
			var midWalk atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("page") != "" && strings.Contains(r.URL.Path, "/analytics/") && midWalk.Add(1) == 1 {
					clock.Advance(time.Hour)
				}
				sim.Handler().ServeHTTP(w, r)
			}))
			defer srv.Close()

			usageGroups := []string{"workspace_id", "model", "api_key_id", "actor", "product"}
			costGroups := []string{"workspace_id", "model", "actor", "cost_type", "token_type"}
			cfg := testConfig(srv.URL)
			cfg.AdminAPIKey = configopaque.String(sim.AdminKey())
			cfg.Temporality = temporality
			cfg.Storage = &storageID
			cfg.CollectionInterval = time.Minute
			cfg.Usage.Source, cfg.Usage.BucketWidth, cfg.Usage.GroupBy = sourceAnalytics, "1h", usageGroups
			cfg.Usage.Poll.Interval, cfg.Usage.Poll.Lookback, cfg.Usage.Poll.RevisionWindow = 10*time.Minute, 24*time.Hour, 2*time.Hour
			cfg.Usage.Poll.Audit = AuditConfig{Interval: time.Hour, Window: 24 * time.Hour, BucketWidth: "1h"}
			cfg.Cost.Poll.Enabled = true
			cfg.Cost.Source, cfg.Cost.BucketWidth, cfg.Cost.GroupBy = sourceAnalytics, "1h", costGroups
			cfg.Cost.Poll.Interval, cfg.Cost.Poll.Lookback, cfg.Cost.Poll.RevisionWindow = 10*time.Minute, 24*time.Hour, 2*time.Hour
			cfg.Cost.Poll.Audit = AuditConfig{Interval: time.Hour, Window: 24 * time.Hour, BucketWidth: "1h"}
			start := clock.Now()

			host := &storageHost{dir: t.TempDir()}
			host.start(t)
			next := &testConsumer{refuse: func(call int) bool { return call%7 == 3 }}
			core, logs := observer.New(zap.DebugLevel)
			logger := withLogger(zap.New(core))
			r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next), logger)
			restart := func(abrupt bool) {
				if abrupt {
					r.crash()
				} else {
					require.NoError(t, r.Shutdown(context.Background()))
				}
				host.stop(t)
				host.start(t)
				r = startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next), logger)
			}
			tick := func() {
				_, err := r.poll()
				require.NoError(t, err)
				clock.Advance(5 * time.Minute)
			}
			for i := range 8 * 12 { // eight hours, a tick every five minutes
				switch i {
				case 30:
					restart(false)
				case 60:
					restart(true)
				}
				tick()
			}
			freeze := clock.Now().Truncate(time.Hour)
			sim.Freeze(freeze)
			for range 10 * 12 { // past the horizon, and audited
				tick()
			}
			require.NoError(t, r.Shutdown(context.Background()))
			host.stop(t)
			got := next.ledger()
			net := func(metric string, match map[string]any) float64 {
				return got.sum(metric, match) - got.sum(metric+".corrections", match)
			}

			from := start.Add(-24 * time.Hour).Truncate(time.Hour)
			var tokens, requests int64
			perActor := map[string]int64{}
			for _, row := range sim.TruthAnalytics(simulator.TruthQuery{StartingAt: from, EndingAt: freeze, GroupBy: usageGroups}) {
				sum := row.UncachedInputTokens + row.CacheReadInputTokens + row.CacheCreation5m + row.CacheCreation1h + row.OutputTokens
				tokens += sum
				requests += row.Requests
				if a := row.Dims["actor"]; a != nil {
					perActor[*a] += sum
				}
			}
			require.Positive(t, tokens)
			assert.Equal(t, float64(tokens), net("anthropic.usage.tokens", nil))
			assert.Equal(t, float64(requests), net("anthropic.usage.requests", nil))
			for actor, want := range perActor {
				assert.Equal(t, float64(want), net("anthropic.usage.tokens", map[string]any{"anthropic.actor.id": actor}), "tokens of %s", actor)
			}
			var amount int64
			for _, row := range sim.TruthAnalytics(simulator.TruthQuery{StartingAt: from, EndingAt: freeze, GroupBy: costGroups}) {
				amount += row.AmountNanoCents
			}
			assert.InDelta(t, adminapi.NanoCentsToDollars(amount), net("anthropic.cost", nil), 1e-6)
			// Exports are an hour apart and the reports polled every ten
			// minutes: most polls find the export they read already.
			skipped := logs.FilterMessage("No new export since the last read").Len()
			assert.Greater(t, skipped, 100)
			require.Positive(t, midWalk.Load(), "a walk followed a cursor, and met a new export")
			restarted := logs.FilterMessage("Restarting an analytics walk from its first page").Len()
			require.Positive(t, restarted, "the walk met the new export and started again")
			t.Logf("%s: %d tokens (%.0f corrected), %d requests, $%.2f ($%.2f corrected), %d actors; %d refused batches; %d requests to the API, %d polls that found no new export",
				temporality, tokens, got.sum("anthropic.usage.tokens.corrections", nil), requests, adminapi.NanoCentsToDollars(amount),
				got.sum("anthropic.cost.corrections", nil), len(perActor), next.refused, sim.Stats().Total, skipped)
		})
	}
}

// The person behind a user actor is reported as actor_details says: left
// out, as is, or keyed-hashed; the actor's id and type always.
func TestAnalyticsActorDetails(t *testing.T) {
	email, name, id := "dana@example.com", "Dana", "user_01"
	g := adminapi.AnalyticsGroup{Actor: &adminapi.Actor{Type: adminapi.ActorUser, UserID: &id, EmailAddress: &email, Name: &name}}
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		option string
		want   string
	}{
		{actorDrop, ""},
		{actorKeep, email},
		{actorHash, newActorPolicy(actorHash, configopaque.String(key)).apply(email)},
	} {
		s := newAnalyticsSource("usage", false, PollConfig{}, "1h", []string{"actor"}, adminapi.AnalyticsFilters{},
			newActorPolicy(tc.option, configopaque.String(key)), nil)
		k := s.key(&g, aTokens)
		typ, rest, _ := strings.Cut(k[aFirstDim], "\x1f")
		gotID, person, _ := strings.Cut(rest, "\x1f")
		assert.Equal(t, adminapi.ActorUser, typ)
		assert.Equal(t, id, gotID)
		assert.Equal(t, tc.want, person, tc.option)
		if tc.option == actorHash {
			assert.Len(t, person, 32)
			assert.NotContains(t, k[aFirstDim], email)
		}
	}
}
