// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

var betaHeader = []string{"anthropic-beta", "other-beta, " + adminapi.BetaAnalytics}

// client is the receiver's Admin API client on the simulator.
func (e *env) client() *adminapi.Client {
	e.t.Helper()
	c, err := adminapi.New(http.DefaultClient, adminapi.Settings{
		Endpoint: e.srv.URL, AdminKey: e.sim.AdminKey(), MaxResponseBytes: 64 << 20, MaxPages: 10000,
		RequestsPerMinute: 1 << 20, Burst: 1 << 20, Logger: zap.NewNop(),
	})
	require.NoError(e.t, err)
	return c
}

func (e *env) walkUsage(q adminapi.AnalyticsQuery) *adminapi.AnalyticsWalk[adminapi.AnalyticsUsageRow] {
	e.t.Helper()
	w, err := e.client().AnalyticsUsage(context.Background(), q)
	require.NoError(e.t, err)
	return w
}

func (e *env) walkCost(q adminapi.AnalyticsQuery) *adminapi.AnalyticsWalk[adminapi.AnalyticsCostRow] {
	e.t.Helper()
	w, err := e.client().AnalyticsCost(context.Background(), q)
	require.NoError(e.t, err)
	return w
}

// analyticsEnv is an organization with 40 days of history, read at
// testStart, with a revision horizon of horizon.
func analyticsEnv(t *testing.T, horizon time.Duration, mod ...func(*Options)) *env {
	opts := Options{HistoryDays: 40, Analytics: AnalyticsOptions{Horizon: horizon}}
	for _, m := range mod {
		m(&opts)
	}
	return newEnv(t, opts)
}

// lastExport is the export the simulator serves at testStart (4h schedule).
var lastExport = testStart.Truncate(4 * time.Hour)

func TestAnalyticsValidation(t *testing.T) {
	e := analyticsEnv(t, 0)
	day := lastExport.Truncate(24 * time.Hour)
	base := vals("starting_at", rfc(day.Add(-24*time.Hour)), "ending_at", rfc(day), "time_bucket_width", "1h")
	with := func(kv ...string) url.Values {
		q := cloneValues(base)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
				continue
			}
			q.Add(kv[i], kv[i+1])
			if !strings.HasSuffix(kv[i], "[]") {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	six := with("group_by[]", "model", "group_by[]", "workspace_id", "group_by[]", "api_key_id", "group_by[]", "actor", "group_by[]", "product", "group_by[]", "speed")
	tests := []struct {
		name string
		path string
		q    url.Values
		hdr  []string
		want string // "" = 200
	}{
		{"valid", adminapi.PathAnalyticsUsage, base, betaHeader, ""},
		{"no beta header", adminapi.PathAnalyticsUsage, base, nil, "anthropic-beta"},
		{"another beta only", adminapi.PathAnalyticsCost, base, []string{"anthropic-beta", adminapi.BetaFastMode}, adminapi.BetaAnalytics},
		{"no starting_at", adminapi.PathAnalyticsUsage, with("starting_at", ""), betaHeader, "starting_at"},
		{"before 2026", adminapi.PathAnalyticsUsage, with("starting_at", "2025-12-31T00:00:00Z", "time_bucket_width", "1d"), betaHeader, "2026-01-01"},
		{"bucketed without ending_at", adminapi.PathAnalyticsUsage, with("ending_at", ""), betaHeader, "ending_at: required"},
		{"no bucket, no ending_at", adminapi.PathAnalyticsUsage, with("ending_at", "", "time_bucket_width", ""), betaHeader, ""},
		{"ending_at not after starting_at", adminapi.PathAnalyticsUsage, with("ending_at", rfc(day.Add(-24*time.Hour))), betaHeader, "must be after"},
		{"32 days", adminapi.PathAnalyticsUsage, with("starting_at", rfc(day.Add(-32*24*time.Hour))), betaHeader, "at most 31 days"},
		{"31 days", adminapi.PathAnalyticsCost, with("starting_at", rfc(day.Add(-31*24*time.Hour)), "time_bucket_width", "1d"), betaHeader, ""},
		{"1m over 24h", adminapi.PathAnalyticsUsage, with("starting_at", rfc(day.Add(-25*time.Hour)), "time_bucket_width", "1m"), betaHeader, "24 hours"},
		{"unknown width", adminapi.PathAnalyticsUsage, with("time_bucket_width", "1w"), betaHeader, "time_bucket_width"},
		{"six dimensions", adminapi.PathAnalyticsUsage, six, betaHeader, "at most 5"},
		{"cost: five and the fan-out", adminapi.PathAnalyticsCost, with("group_by[]", "model", "group_by[]", "workspace_id", "group_by[]", "api_key_id",
			"group_by[]", "actor", "group_by[]", "product", "group_by[]", "cost_type", "group_by[]", "token_type"), betaHeader, ""},
		{"usage: no cost_type", adminapi.PathAnalyticsUsage, with("group_by[]", "cost_type"), betaHeader, `unknown value "cost_type"`},
		{"no description", adminapi.PathAnalyticsCost, with("group_by[]", "description"), betaHeader, `unknown value "description"`},
		{"limit 0", adminapi.PathAnalyticsUsage, with("limit", "0"), betaHeader, "limit"},
		{"limit 1001", adminapi.PathAnalyticsCost, with("limit", "1001"), betaHeader, "limit"},
		{"limit 1000", adminapi.PathAnalyticsCost, with("limit", "1000"), betaHeader, ""},
		{"usage order_by amount", adminapi.PathAnalyticsUsage, with("order_by", "amount"), betaHeader, "order_by"},
		{"cost order_by list_amount", adminapi.PathAnalyticsCost, with("order_by", "list_amount"), betaHeader, ""},
		{"bad order", adminapi.PathAnalyticsUsage, with("order", "up"), betaHeader, "order"},
		{"exclude_deleted_users without actor", adminapi.PathAnalyticsUsage, with("exclude_deleted_users", "true"), betaHeader, "group_by[]=actor"},
		{"claude_tag_user_id with rbac_group_id", adminapi.PathAnalyticsUsage, with("group_by[]", "claude_tag_user_id", "rbac_group_ids[]", "rbac_group_1"), betaHeader, "cannot be combined"},
		{"unknown product", adminapi.PathAnalyticsUsage, with("products[]", "claude-tag"), betaHeader, "products[]"},
		{"unknown service tier", adminapi.PathAnalyticsCost, with("service_tiers[]", "premium"), betaHeader, "service_tiers[]"},
		{"plural context_windows", adminapi.PathAnalyticsUsage, with("context_windows[]", "1M"), betaHeader, "context_windows[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(tt.path, tt.q, tt.hdr...)
			if tt.want == "" {
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
				return
			}
			requireError(t, r, http.StatusBadRequest, "invalid_request_error", tt.want)
		})
	}

	t.Run("over 365 days ago", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.clock.Set(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
		requireError(t, e.get(adminapi.PathAnalyticsUsage, vals("starting_at", "2026-02-01T00:00:00Z"), betaHeader...),
			http.StatusBadRequest, "invalid_request_error", "365 days")
	})
}

func TestAnalyticsHIPAAAndRBAC(t *testing.T) {
	q := vals("starting_at", rfc(lastExport.Add(-24*time.Hour)))
	hipaa := analyticsEnv(t, 0, func(o *Options) { o.Analytics.HIPAA = true })
	for _, path := range []string{adminapi.PathAnalyticsUsage, adminapi.PathAnalyticsCost} {
		requireError(t, hipaa.get(path, q, betaHeader...), http.StatusBadRequest, "invalid_request_error", "HIPAA")
	}
	_, err := hipaa.client().AnalyticsCost(context.Background(), adminapi.AnalyticsQuery{StartingAt: lastExport.Add(-24 * time.Hour)})
	require.ErrorIs(t, err, adminapi.ErrHIPAA)
	hipaa.getOK(adminapi.PathUsageMessages, q) // the legacy reports stay

	rbac := analyticsEnv(t, 0, func(o *Options) { o.Analytics.RBACUnavailable = true })
	for _, q := range []url.Values{
		vals("starting_at", rfc(lastExport.Add(-24*time.Hour)), "group_by[]", "rbac_group_id"),
		vals("starting_at", rfc(lastExport.Add(-24*time.Hour)), "rbac_group_ids[]", "rbac_group_1"),
	} {
		requireError(t, rbac.get(adminapi.PathAnalyticsCost, q, betaHeader...), http.StatusServiceUnavailable, "overloaded_error", "RBAC group breakdowns")
	}
	rbac.getOK(adminapi.PathAnalyticsCost, q, betaHeader...)
	assert.True(t, adminapi.Retryable(http.StatusServiceUnavailable), "retried like an overload")
}

// rawRows decodes a page's rows as raw JSON objects.
func rawRows(t *testing.T, body []byte) (rows []map[string]json.RawMessage, page map[string]json.RawMessage) {
	t.Helper()
	require.NoError(t, json.Unmarshal(body, &page))
	require.NoError(t, json.Unmarshal(page["data"], &rows))
	return rows, page
}

func TestAnalyticsRowShape(t *testing.T) {
	e := analyticsEnv(t, 0)
	from := lastExport.Add(-48 * time.Hour)
	q := vals("starting_at", rfc(from), "ending_at", rfc(lastExport), "time_bucket_width", "1h", "limit", "1000",
		"group_by[]", "workspace_id", "group_by[]", "actor", "group_by[]", "model", "group_by[]", "product", "order_by", "time", "order", "asc")
	r := e.getOK(adminapi.PathAnalyticsUsage, q, betaHeader...)
	rows, page := rawRows(t, r.Body)
	assert.JSONEq(t, `"`+rfc(lastExport)+`"`, string(page["data_refreshed_at"]))
	for _, k := range []string{"data", "has_more", "next_page", "data_refreshed_at"} {
		require.Contains(t, page, k)
	}
	require.NotEmpty(t, rows)
	grouped := map[string]bool{"workspace_id": true, "actor": true, "model": true, "product": true}
	var codeExec, nullActors, users, apiActors, federated, serviceAccounts int
	prev := ""
	for _, row := range rows {
		var group map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(row["group"], &group))
		require.Len(t, group, 20, "every key on every row")
		for k, v := range group {
			if !grouped[k] {
				require.Equal(t, "null", string(v), "%s is not grouped", k)
			}
		}
		g := decode[adminapi.AnalyticsGroup](t, row["group"])
		u := decode[adminapi.AnalyticsUsage](t, row["usage"])
		require.NotNil(t, u.Requests)
		total := u.UncachedInputTokens + u.CacheReadInputTokens + u.CacheCreation.Ephemeral5mInputTokens + u.CacheCreation.Ephemeral1hInputTokens + u.OutputTokens
		assert.Equal(t, total, u.TotalTokens)
		assert.False(t, total == 0 && *u.Requests == 0 && u.ServerToolUse.WebSearchRequests == 0, "no zero rows")
		require.NotNil(t, g.WorkspaceID, "the default workspace has a real id here")
		require.Regexp(t, `^wrkspc_01`, *g.WorkspaceID)
		var start string
		require.NoError(t, json.Unmarshal(row["starting_at"], &start))
		assert.GreaterOrEqual(t, start, prev, "order_by=time&order=asc")
		prev = start
		switch {
		case g.Model == nil:
			codeExec++
			assert.Nil(t, g.Product)
			assert.Nil(t, g.Actor)
			assert.Zero(t, total, "code execution: spans, no tokens")
			assert.Positive(t, *u.Requests)
		case g.Actor == nil:
			nullActors++
		case g.Actor.Type == adminapi.ActorUser:
			users++
			assert.Equal(t, "claude_console", *g.Product)
		case g.Actor.Type == adminapi.ActorAPI:
			apiActors++
			assert.Regexp(t, `^apikey_01`, g.Actor.ID())
		case g.Actor.Type == adminapi.ActorFederated:
			federated++
			assert.Equal(t, "aws", g.Actor.Provider.Type)
		case g.Actor.Type == adminapi.ActorServiceAccount:
			serviceAccounts++
			assert.Regexp(t, `^svac_01`, g.Actor.ID())
		}
	}
	for name, n := range map[string]int{"code execution": codeExec, "null actors": nullActors, "users": users, "api actors": apiActors,
		"federated": federated, "service accounts": serviceAccounts} {
		assert.Positive(t, n, name)
	}

	// Unrenderable actors: rows with identical groups in one bucket.
	q = vals("starting_at", rfc(from), "ending_at", rfc(lastExport), "limit", "1000", "group_by[]", "actor", "group_by[]", "workspace_id")
	rows, _ = rawRows(t, e.getOK(adminapi.PathAnalyticsUsage, q, betaHeader...).Body)
	seen := map[string]int{}
	for _, row := range rows {
		seen[string(row["group"])]++
	}
	dup := 0
	for g, n := range seen {
		if n > 1 {
			dup++
			assert.Contains(t, g, `"actor":null`)
		}
	}
	assert.Positive(t, dup, "duplicate null-actor rows")
}

func TestAnalyticsCostFanOutAndLimit(t *testing.T) {
	for _, zero := range []bool{false, true} {
		e := analyticsEnv(t, 0, func(o *Options) { o.Analytics.ZeroFanOut = zero })
		from := lastExport.Add(-72 * time.Hour).Truncate(24 * time.Hour)
		base := vals("starting_at", rfc(from), "ending_at", rfc(from.Add(48*time.Hour)), "time_bucket_width", "1d", "group_by[]", "workspace_id")
		combos := func(rows []map[string]json.RawMessage) int {
			c := map[string]bool{}
			for _, r := range rows {
				g := decode[adminapi.AnalyticsGroup](t, r["group"])
				c[string(r["starting_at"])+*g.WorkspaceID] = true
			}
			return len(c)
		}
		plain, _ := rawRows(t, e.getOK(adminapi.PathAnalyticsCost, base, betaHeader...).Body)
		require.NotEmpty(t, plain)
		for _, r := range plain {
			c := decode[adminapi.AnalyticsCost](t, r["cost"])
			require.NotNil(t, c.Requests, "requests without fan-out")
			assert.Equal(t, "USD", c.Currency)
			_, frac, _ := strings.Cut(string(c.Amount), ".")
			assert.GreaterOrEqual(t, len(frac), 6, "six decimals at least: %s", c.Amount)
		}

		q := cloneValues(base)
		q.Add("group_by[]", "cost_type")
		q.Add("group_by[]", "token_type")
		q.Set("limit", "2")
		fanned, page := rawRows(t, e.getOK(adminapi.PathAnalyticsCost, q, betaHeader...).Body)
		assert.Equal(t, 2, combos(fanned), "limit counts combinations")
		assert.Greater(t, len(fanned), 2, "fan-out rows do not count toward limit")
		assert.Equal(t, "true", string(page["has_more"]))
		zeros := 0
		for _, r := range fanned {
			g := decode[adminapi.AnalyticsGroup](t, r["group"])
			c := decode[adminapi.AnalyticsCost](t, r["cost"])
			assert.Nil(t, c.Requests, "null under fan-out")
			require.NotNil(t, g.CostType)
			assert.Equal(t, *g.CostType == "tokens", g.TokenType != nil)
			if n, err := c.Amount.NanoCents(); assert.NoError(t, err) && n == 0 {
				zeros++
			}
		}
		assert.Equal(t, zero, zeros > 0, "zero fan-out rows only when configured")

		// The fan-out adds up to the plain rows, exactly.
		q.Set("limit", "1000")
		all := e.walkCost(adminapi.AnalyticsQuery{StartingAt: from, EndingAt: from.Add(48 * time.Hour), BucketWidth: "1d",
			GroupBy: []string{"workspace_id", "cost_type", "token_type"}, Limit: 1000})
		sum := func(rows []adminapi.AnalyticsCostRow) (a, l int64) {
			for _, r := range rows {
				x, err := r.Cost.Amount.NanoCents()
				require.NoError(t, err)
				y, err := r.Cost.ListAmount.NanoCents()
				require.NoError(t, err)
				a, l = a+x, l+y
			}
			return a, l
		}
		plainAll := e.walkCost(adminapi.AnalyticsQuery{StartingAt: from, EndingAt: from.Add(48 * time.Hour), BucketWidth: "1d", GroupBy: []string{"workspace_id"}, Limit: 1000})
		a1, l1 := sum(all.Rows)
		a2, l2 := sum(plainAll.Rows)
		assert.Equal(t, a2, a1)
		assert.Equal(t, l2, l1)
		assert.Greater(t, l1, a1, "list price is before the discount")
	}
}

func TestAnalyticsCursorOutlivesAnExport(t *testing.T) {
	e := analyticsEnv(t, 0)
	q := vals("starting_at", rfc(lastExport.Add(-48*time.Hour)), "ending_at", rfc(lastExport), "time_bucket_width", "1h", "limit", "5")
	_, page := rawRows(t, e.getOK(adminapi.PathAnalyticsUsage, q, betaHeader...).Body)
	var next string
	require.NoError(t, json.Unmarshal(page["next_page"], &next))

	changed := cloneValues(q)
	changed.Set("time_bucket_width", "1d")
	changed.Set("page", next)
	requireError(t, e.get(adminapi.PathAnalyticsUsage, changed, betaHeader...), http.StatusBadRequest, "invalid_request_error", "different query")

	q.Set("page", next)
	e.getOK(adminapi.PathAnalyticsUsage, q, betaHeader...)
	e.clock.Set(lastExport.Add(4*time.Hour - time.Second))
	q.Set("limit", "7") // limit may change with the cursor
	e.getOK(adminapi.PathAnalyticsUsage, q, betaHeader...)
	e.clock.Advance(time.Second) // the next export
	requireError(t, e.get(adminapi.PathAnalyticsUsage, q, betaHeader...), http.StatusGone, "invalid_request_error", "refreshed")
}

// The receiver's walk restarts when an export lands mid-walk, and returns
// what a walk of the new export alone returns.
func TestAnalyticsWalkAcrossAnExport(t *testing.T) {
	e := analyticsEnv(t, 0)
	var n atomic.Int32
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			e.clock.Advance(4 * time.Hour)
		}
		e.sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	q := adminapi.AnalyticsQuery{StartingAt: lastExport.Add(-72 * time.Hour), EndingAt: lastExport.Add(4 * time.Hour), BucketWidth: "1h",
		GroupBy: []string{"workspace_id", "model"}, Limit: 50, OrderBy: "time", Order: "asc"}
	w := e.walkUsage(q)
	assert.Equal(t, 1, w.Restarts)
	assert.Equal(t, lastExport.Add(4*time.Hour), *w.DataRefreshedAt)
	again := e.walkUsage(q)
	assert.Zero(t, again.Restarts)
	require.Len(t, w.Rows, len(again.Rows))
	assert.True(t, reflect.DeepEqual(again.Rows, w.Rows), "the walk is the new export's alone")
	assert.Greater(t, w.Pages, 2)
}

// analyticsTotals sums a walk's usage per group of dims (the actor as its
// id), summing rows with identical groups.
func analyticsTotals(rows []adminapi.AnalyticsUsageRow, dims []string) map[string][7]int64 {
	out := map[string][7]int64{}
	for _, r := range rows {
		var k []string
		for _, d := range dims {
			v := "null"
			if d == "actor" {
				if r.Group.Actor != nil {
					v = r.Group.Actor.ID()
				}
			} else if p := r.Group.Value(d); p != nil {
				v = *p
			}
			k = append(k, v)
		}
		key := strings.Join(k, "|")
		t := out[key]
		u := r.Usage
		for i, x := range []int64{u.UncachedInputTokens, u.CacheReadInputTokens, u.CacheCreation.Ephemeral5mInputTokens,
			u.CacheCreation.Ephemeral1hInputTokens, u.OutputTokens, u.ServerToolUse.WebSearchRequests, *u.Requests} {
			t[i] += x
		}
		out[key] = t
	}
	return out
}

func truthAnalyticsTotals(rows []AnalyticsTruthRow, dims []string) map[string][7]int64 {
	out := map[string][7]int64{}
	for _, r := range rows {
		var k []string
		for _, d := range dims {
			v := "null"
			if p := r.Dims[d]; p != nil {
				v = *p
			}
			k = append(k, v)
		}
		if r.UncachedInputTokens+r.CacheReadInputTokens+r.CacheCreation5m+r.CacheCreation1h+r.OutputTokens+r.WebSearchRequests+r.Requests == 0 {
			continue // cost only
		}
		out[strings.Join(k, "|")] = [7]int64{r.UncachedInputTokens, r.CacheReadInputTokens, r.CacheCreation5m, r.CacheCreation1h,
			r.OutputTokens, r.WebSearchRequests, r.Requests}
	}
	return out
}

// Within the horizon exports revise values up and down and drop
// combinations; past it, every grouping and width reads the ground truth,
// and the analytics totals equal the legacy reports'.
func TestAnalyticsRevisionsSettleToTheTruth(t *testing.T) {
	e := analyticsEnv(t, 48*time.Hour)
	from := lastExport.Add(-24 * time.Hour)
	to := lastExport.Add(-4 * time.Hour)
	dims := []string{"workspace_id", "api_key_id", "model", "actor"}
	q := adminapi.AnalyticsQuery{StartingAt: from, EndingAt: to, BucketWidth: "1h", GroupBy: dims, Limit: 1000}
	truth := truthAnalyticsTotals(e.sim.TruthAnalytics(TruthQuery{StartingAt: from, EndingAt: to, GroupBy: dims}), dims)
	require.NotEmpty(t, truth)

	var up, down, missing int
	for range 3 {
		rows := e.walkUsage(q).Rows
		for h := from; h.Before(to); h = h.Add(time.Hour) {
			var bucket []adminapi.AnalyticsUsageRow
			for _, r := range rows {
				if r.StartingAt.Equal(h) {
					bucket = append(bucket, r)
				}
			}
			got := analyticsTotals(bucket, dims)
			for k, want := range truthAnalyticsTotals(e.sim.TruthAnalytics(TruthQuery{StartingAt: h, EndingAt: h.Add(time.Hour), GroupBy: dims}), dims) {
				g, ok := got[k]
				switch {
				case !ok:
					missing++
				case g[0] > want[0]:
					up++
				case g[0] < want[0]:
					down++
				}
			}
		}
		e.clock.Advance(4 * time.Hour)
	}
	assert.Positive(t, up, "revised up")
	assert.Positive(t, down, "revised down")
	assert.Positive(t, missing, "a combination missing from an export")

	e.clock.Set(to.Add(48*time.Hour + 4*time.Hour))
	for _, width := range []string{"1h", "1d", ""} {
		q := q
		q.BucketWidth = width
		if width == "1d" {
			q.StartingAt, q.EndingAt = from.Truncate(24*time.Hour), to.Truncate(24*time.Hour)
		}
		got := analyticsTotals(e.walkUsage(q).Rows, dims)
		want := truthAnalyticsTotals(e.sim.TruthAnalytics(TruthQuery{StartingAt: q.StartingAt, EndingAt: q.EndingAt, GroupBy: dims}), dims)
		assert.Equal(t, want, got, "width %q", width)
	}

	// The legacy reports over the same day: tokens per workspace and
	// model, cost per workspace.
	dayFrom := from.Truncate(24 * time.Hour)
	dayTo := dayFrom.Add(24 * time.Hour)
	usage := analyticsTotals(e.walkUsage(adminapi.AnalyticsQuery{StartingAt: dayFrom, EndingAt: dayTo, GroupBy: []string{"workspace_id", "model"}, Limit: 1000}).Rows,
		[]string{"workspace_id", "model"})
	legacy := map[string][7]int64{}
	for _, r := range e.sim.TruthUsage(TruthQuery{StartingAt: dayFrom, EndingAt: dayTo, GroupBy: []string{"workspace_id", "model"}}) {
		ws := e.sim.analytics.series[0].vals[aWorkspace] // replaced below for named workspaces
		for _, a := range e.sim.analytics.series {
			if a.s.WS.ID == nil && r.Dims["workspace_id"] == nil || a.s.WS.ID != nil && r.Dims["workspace_id"] != nil && *a.s.WS.ID == *r.Dims["workspace_id"] {
				ws = a.vals[aWorkspace]
				break
			}
		}
		legacy[*ws+"|"+*r.Dims["model"]] = [7]int64{r.UncachedInputTokens, r.CacheReadInputTokens, r.CacheCreation5m, r.CacheCreation1h, r.OutputTokens, r.WebSearchRequests}
	}
	for k, v := range usage {
		if strings.HasSuffix(k, "|null") {
			assert.Zero(t, v[0]+v[1]+v[2]+v[3]+v[4], "code execution has no tokens")
			continue
		}
		v[6] = 0 // the legacy report has no requests
		assert.Equal(t, legacy[k], v, k)
		delete(legacy, k)
	}
	assert.Empty(t, legacy)

	var legacyCost, analyticsCost int64
	for _, r := range e.sim.TruthCost(TruthQuery{StartingAt: dayFrom, EndingAt: dayTo}) {
		legacyCost += r.AmountNanoCents
	}
	for _, r := range e.walkCost(adminapi.AnalyticsQuery{StartingAt: dayFrom, EndingAt: dayTo, BucketWidth: "1d", Limit: 1000}).Rows {
		n, err := r.Cost.Amount.NanoCents()
		require.NoError(t, err)
		analyticsCost += n
	}
	assert.Equal(t, legacyCost, analyticsCost, "amount is the legacy report's cost")
	assert.Positive(t, legacyCost)
}

// Requests per walk of a 30-day horizon with limit 1000, as the simulator
// serves it: one page per thousand combinations of the grouping.
func TestAnalyticsWalkRequests(t *testing.T) {
	e := analyticsEnv(t, 0)
	to := lastExport.Truncate(24 * time.Hour)
	from := to.Add(-30 * 24 * time.Hour)
	groupBy := []string{"workspace_id", "model", "api_key_id", "actor", "product"}
	for _, tt := range []struct {
		width string
		cost  bool
	}{{"1h", false}, {"1d", false}, {"1h", true}, {"1d", true}} {
		q := adminapi.AnalyticsQuery{StartingAt: from, EndingAt: to, BucketWidth: tt.width, GroupBy: groupBy, Limit: 1000}
		var pages, rows, combos int
		if tt.cost {
			q.GroupBy = append(q.GroupBy, "cost_type", "token_type")
			w := e.walkCost(q)
			pages, rows = w.Pages, len(w.Rows)
			seen := map[string]bool{}
			for _, r := range w.Rows {
				g := r.Group
				g.CostType, g.TokenType = nil, nil
				b, _ := json.Marshal(g)
				seen[r.StartingAt.String()+string(b)] = true
			}
			combos = len(seen)
		} else {
			w := e.walkUsage(q)
			pages, rows, combos = w.Pages, len(w.Rows), len(w.Rows)
		}
		assert.Equal(t, int(math.Ceil(float64(combos)/1000)), pages, "%s cost=%v", tt.width, tt.cost)
		t.Logf("30 days at %s, cost=%v: %d rows, %d combinations, %d requests", tt.width, tt.cost, rows, combos, pages)
	}
}

func TestAnalyticsFilters(t *testing.T) {
	e := analyticsEnv(t, 0)
	from, to := lastExport.Add(-24*time.Hour), lastExport
	dims := []string{"api_key_id", "actor", "product"}
	all := e.walkUsage(adminapi.AnalyticsQuery{StartingAt: from, EndingAt: to, GroupBy: dims, Limit: 1000})
	var keys []string
	for _, r := range all.Rows {
		if r.Group.APIKeyID != nil && r.Group.Actor != nil && r.Group.Actor.Type == adminapi.ActorAPI {
			keys = append(keys, *r.Group.APIKeyID)
		}
	}
	require.NotEmpty(t, keys)
	sort.Strings(keys)
	tests := []struct {
		name string
		f    adminapi.AnalyticsFilters
		keep func(r adminapi.AnalyticsUsageRow) bool
	}{
		{"a key", adminapi.AnalyticsFilters{APIKeyIDs: keys[:1]}, func(r adminapi.AnalyticsUsageRow) bool {
			return r.Group.APIKeyID != nil && *r.Group.APIKeyID == keys[0]
		}},
		{"no key", adminapi.AnalyticsFilters{APIKeyIDs: []string{""}}, func(r adminapi.AnalyticsUsageRow) bool { return r.Group.APIKeyID == nil }},
		{"user actors", adminapi.AnalyticsFilters{ActorTypes: []string{adminapi.ActorUser}}, func(r adminapi.AnalyticsUsageRow) bool {
			return r.Group.Actor != nil && r.Group.Actor.Type == adminapi.ActorUser
		}},
		{"actor id of a key", adminapi.AnalyticsFilters{ActorIDs: keys[:1]}, func(r adminapi.AnalyticsUsageRow) bool {
			return r.Group.Actor != nil && r.Group.Actor.ID() == keys[0]
		}},
		{"batch product", adminapi.AnalyticsFilters{Products: []string{"message_batches_api"}}, func(r adminapi.AnalyticsUsageRow) bool {
			return r.Group.Product != nil && *r.Group.Product == "message_batches_api"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []adminapi.AnalyticsUsageRow
			for _, r := range all.Rows {
				if tt.keep(r) {
					want = append(want, r)
				}
			}
			require.NotEmpty(t, want)
			got := e.walkUsage(adminapi.AnalyticsQuery{StartingAt: from, EndingAt: to, GroupBy: dims, Limit: 1000, Filters: tt.f})
			assert.Equal(t, analyticsTotals(want, dims), analyticsTotals(got.Rows, dims))
		})
	}
	t.Run("exclude deleted users", func(t *testing.T) {
		got := e.walkUsage(adminapi.AnalyticsQuery{StartingAt: from, EndingAt: to, GroupBy: dims, Limit: 1000, ExcludeDeletedUsers: true})
		deleted := 0
		for _, r := range all.Rows {
			if r.Group.Actor != nil && r.Group.Actor.Deleted {
				deleted++
			}
		}
		require.Positive(t, deleted)
		assert.Len(t, got.Rows, len(all.Rows)-deleted)
	})
}

func TestAnalyticsTruthSidePath(t *testing.T) {
	e := analyticsEnv(t, 0)
	from, to := lastExport.Add(-24*time.Hour), lastExport
	r := e.do(http.MethodGet, "/_sim/truth/analytics", vals("starting_at", rfc(from), "ending_at", rfc(to),
		"group_by[]", "actor", "group_by[]", "product", "products[]", "messages_api"), nil, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	got := decode[struct {
		Data []AnalyticsTruthRow `json:"data"`
	}](t, r.Body)
	want := e.sim.TruthAnalytics(TruthQuery{StartingAt: from, EndingAt: to, GroupBy: []string{"actor", "product"},
		Filters: map[string][]string{"products": {"messages_api"}}})
	require.NotEmpty(t, want)
	assert.Equal(t, want, got.Data)
	for _, row := range want {
		assert.Equal(t, "messages_api", *row.Dims["product"])
	}
	requireError(t, e.do(http.MethodGet, "/_sim/truth/analytics", vals("starting_at", rfc(from), "group_by[]", "description"), nil, nil),
		http.StatusBadRequest, "invalid_request_error", "group_by")
}

func TestAnalyticsInfo(t *testing.T) {
	e := analyticsEnv(t, 48*time.Hour, func(o *Options) { o.Analytics.HIPAA = true })
	r := e.do(http.MethodGet, "/_sim/info", nil, nil, nil)
	require.Equal(t, http.StatusOK, r.Status)
	info := decode[map[string]any](t, r.Body)
	assert.Equal(t, "4h0m0s", info["analytics_export_every"])
	assert.Equal(t, "48h0m0s", info["analytics_horizon"])
	assert.Equal(t, true, info["analytics_hipaa"])
	assert.Equal(t, rfc(lastExport), info["analytics_data_refreshed_at"])
}
