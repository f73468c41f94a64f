// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reply is one recorded answer of a fixture server.
type reply struct {
	status  int
	fixture string // under testdata/analytics
	// edit rewrites the fixture's text before it is sent.
	edit func(string) string
}

// fixtureServer answers the requests in turn with replies and records
// what it was sent. A request past the last reply fails the test.
type fixtureServer struct {
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	got     []*http.Request
}

func (f *fixtureServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.got)
	f.got = append(f.got, r.Clone(context.Background()))
	f.mu.Unlock()
	if n >= len(f.replies) {
		f.t.Errorf("request %d was not expected: %s", n+1, r.URL)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	rp := f.replies[n]
	body, err := os.ReadFile(filepath.Join("testdata", "analytics", rp.fixture))
	require.NoError(f.t, err)
	text := string(body)
	if rp.edit != nil {
		text = rp.edit(text)
	}
	w.Header().Set("content-type", "application/json")
	w.Header().Set("request-id", "req_fixture")
	w.WriteHeader(rp.status)
	_, _ = w.Write([]byte(text))
}

func (f *fixtureServer) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.got...)
}

func serveFixtures(t *testing.T, replies ...reply) (*Client, *fixtureServer, *waits) {
	t.Helper()
	fs := &fixtureServer{t: t, replies: replies}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	c, w, _ := newTestClient(t, srv.URL)
	return c, fs, w
}

var analyticsDay = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func analyticsQuery() AnalyticsQuery {
	return AnalyticsQuery{
		StartingAt: analyticsDay, EndingAt: analyticsDay.Add(2 * time.Hour), BucketWidth: BucketWidth1h,
		GroupBy: []string{DimModel, DimAPIKeyID}, Limit: 1000, OrderBy: "time", Order: "asc",
		Filters: AnalyticsFilters{APIKeyIDs: []string{"apikey_01BcDeFgHjKmNpQrStUvWxYz", ""}, Products: []string{"claude_code", "messages_api"}},
	}
}

func ok(fixture string) reply { return reply{status: 200, fixture: fixture} }

func TestAnalyticsRequestShape(t *testing.T) {
	c, fs, _ := serveFixtures(t, ok("usage_model_key_page1.json"), ok("usage_model_key_page2.json"))
	w, err := c.AnalyticsUsage(context.Background(), analyticsQuery())
	require.NoError(t, err)
	require.Equal(t, 2, w.Pages)

	got := fs.requests()
	require.Len(t, got, 2)
	first := got[0]
	assert.Equal(t, PathAnalyticsUsage, first.URL.Path)
	assert.Equal(t, testKey, first.Header.Get("x-api-key"))
	assert.Equal(t, BetaAnalytics, first.Header.Get("anthropic-beta"))
	assert.Equal(t, AnthropicVersion, first.Header.Get("anthropic-version"))
	want := url.Values{
		"starting_at":       {"2026-11-20T00:00:00Z"},
		"ending_at":         {"2026-11-20T02:00:00Z"},
		"time_bucket_width": {"1h"},
		"group_by[]":        {"model", "api_key_id"},
		"limit":             {"1000"},
		"order_by":          {"time"},
		"order":             {"asc"},
		"api_key_ids[]":     {"apikey_01BcDeFgHjKmNpQrStUvWxYz", ""},
		"products[]":        {"claude_code", "messages_api"},
	}
	assert.Equal(t, want, first.URL.Query(), "bracket arrays, one pair a value; the empty key id is sent")
	second := got[1].URL.Query()
	assert.Equal(t, "cur_page2", second.Get("page"))
	second.Del("page")
	assert.Equal(t, want, second, "every other parameter unchanged")
	assert.Equal(t, BetaAnalytics, got[1].Header.Get("anthropic-beta"))
}

func TestAnalyticsQueryValues(t *testing.T) {
	q := AnalyticsQuery{
		StartingAt: analyticsDay.In(time.FixedZone("CET", 3600)), ExcludeDeletedUsers: true, GroupBy: []string{DimActor},
		Filters: AnalyticsFilters{
			ActorIDs: []string{"user_1"}, ActorTypes: []string{"user_actor"}, WorkspaceIDs: []string{"w"}, Models: []string{"m"},
			ServiceTiers: []string{"batch"}, ContextWindows: []string{"0-200k"}, InferenceGeos: []string{"not_available"},
			Speeds: []string{"fast"}, OrganizationIDs: []string{"o"}, RBACGroupIDs: []string{"r"}, ClaudeTagCategories: []string{"dm"},
			ClaudeTagUserIDs: []string{"U1"}, SlackChannelIDs: []string{"C1"}, AgentIDs: []string{"a"}, EnvironmentIDs: []string{"e"},
			DeploymentIDs: []string{"d"}, SessionIDs: []string{"sesn_1"}, UserProfileIDs: []string{"uprof_1"},
		},
	}
	v := q.values()
	assert.Equal(t, "2026-11-20T00:00:00Z", v.Get("starting_at"), "sent in UTC")
	for _, absent := range []string{"ending_at", "time_bucket_width", "limit", "order_by", "order", "page"} {
		assert.NotContains(t, v, absent)
	}
	assert.Equal(t, "true", v.Get("exclude_deleted_users"))
	for name, val := range map[string]string{
		"actor_ids[]": "user_1", "actor_types[]": "user_actor", "workspace_ids[]": "w", "models[]": "m", "service_tiers[]": "batch",
		"context_windows[]": "0-200k", "inference_geos[]": "not_available", "speeds[]": "fast", "organization_ids[]": "o",
		"rbac_group_ids[]": "r", "claude_tag_categories[]": "dm", "claude_tag_user_ids[]": "U1", "slack_channel_ids[]": "C1",
		"agent_ids[]": "a", "environment_ids[]": "e", "deployment_ids[]": "d", "session_ids[]": "sesn_1", "user_profile_ids[]": "uprof_1",
	} {
		assert.Equal(t, []string{val}, v[name], name)
	}
}

func TestAnalyticsUsageDecoding(t *testing.T) {
	c, _, _ := serveFixtures(t, ok("usage_model_key_page1.json"), ok("usage_model_key_page2.json"))
	w, err := c.AnalyticsUsage(context.Background(), analyticsQuery())
	require.NoError(t, err)
	require.Len(t, w.Rows, 3)
	require.NotNil(t, w.DataRefreshedAt)
	assert.Equal(t, time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC), *w.DataRefreshedAt)
	assert.Nil(t, w.OrganizationID)

	r := w.Rows[0]
	assert.Equal(t, analyticsDay, r.StartingAt)
	assert.Equal(t, analyticsDay.Add(time.Hour), r.EndingAt)
	assert.Equal(t, "claude-sonnet-5", *r.Group.Value(DimModel))
	assert.Equal(t, "apikey_01BcDeFgHjKmNpQrStUvWxYz", *r.Group.Value(DimAPIKeyID))
	assert.Nil(t, r.Group.Actor)
	assert.Nil(t, r.Group.Value(DimProduct))
	assert.Nil(t, r.Group.Value("no_such_dimension"))
	assert.Equal(t, AnalyticsUsage{
		UncachedInputTokens: 48213, CacheCreation: CacheCreation{Ephemeral5mInputTokens: 12000}, CacheReadInputTokens: 310442,
		OutputTokens: 9120, ServerToolUse: ServerToolUse{WebSearchRequests: 3}, Requests: ptr(int64(57)), TotalTokens: 379775,
	}, r.Usage)

	spans := w.Rows[1]
	assert.Nil(t, spans.Group.Model, "grouped, and null: code-execution spans")
	assert.Nil(t, spans.Group.APIKeyID)
	assert.Equal(t, int64(14), *spans.Usage.Requests)
	assert.Zero(t, spans.Usage.TotalTokens)
	assert.Equal(t, analyticsDay.Add(time.Hour), w.Rows[2].StartingAt, "the second page's bucket follows")
}

func ptr[T any](v T) *T { return &v }

func TestAnalyticsActorUnion(t *testing.T) {
	c, _, _ := serveFixtures(t, ok("usage_actors.json"))
	q := analyticsQuery()
	q.GroupBy = []string{DimActor, DimActorType, DimProduct}
	w, err := c.AnalyticsUsage(context.Background(), q)
	require.NoError(t, err)
	require.NotNil(t, w.OrganizationID)
	assert.Equal(t, "5f2b1c1e-8d55-4a8e-9a3e-1c2d3e4f5a6b", *w.OrganizationID)
	tests := []struct {
		typ, id string
		check   func(*testing.T, *Actor)
	}{
		{ActorUser, "user_01WxYzAbCdEfGhJkMnPqRsTu", func(t *testing.T, a *Actor) {
			assert.Equal(t, "dev@example.com", *a.EmailAddress)
			assert.Equal(t, "Dana Dev", *a.Name)
			assert.False(t, a.Deleted)
		}},
		{ActorUser, "user_01DeLeTeDaBcDeFgHjKmNpQr", func(t *testing.T, a *Actor) {
			assert.Nil(t, a.EmailAddress, "null for a deleted account")
			assert.True(t, a.Deleted)
		}},
		{ActorServiceAccount, "svac_01Hk3R9TWxq7CfQak00OiVw4", nil},
		{ActorFederated, "arn:aws:iam::123456789012:role/ci", func(t *testing.T, a *Actor) {
			assert.Equal(t, "aws", a.Provider.Type)
			assert.Equal(t, "123456789012", *a.Provider.AccountID)
			assert.Equal(t, "arn:aws:sts::123456789012:assumed-role/ci/session-1", *a.Provider.SignedPrincipal)
		}},
		{ActorFederated, "serviceAccount:ci@proj.iam.gserviceaccount.com", func(t *testing.T, a *Actor) {
			assert.Equal(t, "gcp", a.Provider.Type)
			assert.Equal(t, "987654321", *a.Provider.ProjectNumber)
		}},
		{ActorAPI, "apikey_01BcDeFgHjKmNpQrStUvWxYz", nil},
		{"robot_actor", "", func(t *testing.T, a *Actor) {
			assert.JSONEq(t, `{"type":"robot_actor","robot_id":"rbt_01","future":{"x":1}}`, string(a.Raw), "an unknown variant keeps its JSON")
		}},
	}
	require.Len(t, w.Rows, len(tests)+2)
	for i, tt := range tests {
		t.Run(tt.typ+"/"+tt.id, func(t *testing.T) {
			a := w.Rows[i].Group.Actor
			require.NotNil(t, a)
			assert.Equal(t, tt.typ, a.Type)
			assert.Equal(t, tt.id, a.ID())
			assert.Equal(t, tt.typ, *w.Rows[i].Group.ActorType)
			if tt.typ != "robot_actor" {
				assert.Nil(t, a.Raw)
			}
			if tt.check != nil {
				tt.check(t, a)
			}
		})
	}
	a, b := w.Rows[len(tests)], w.Rows[len(tests)+1]
	assert.Nil(t, a.Group.Actor)
	assert.Equal(t, a.Group, b.Group, "unrenderable actors: two rows with identical groups, both kept")
	assert.NotEqual(t, a.Usage, b.Usage)
	assert.Equal(t, "claude_code", *w.Rows[0].Group.Product)
}

func TestAnalyticsCostDecoding(t *testing.T) {
	t.Run("fan-out", func(t *testing.T) {
		c, fs, _ := serveFixtures(t, ok("cost_fanout.json"))
		q := analyticsQuery()
		q.BucketWidth, q.GroupBy, q.Limit = BucketWidth1d, []string{DimWorkspaceID, DimCostType, DimTokenType}, 1
		w, err := c.AnalyticsCost(context.Background(), q)
		require.NoError(t, err)
		assert.Equal(t, PathAnalyticsCost, fs.requests()[0].URL.Path)
		assert.Equal(t, BetaAnalytics, fs.requests()[0].Header.Get("anthropic-beta"))
		require.Len(t, w.Rows, 8, "one combination, eight rows, limit 1")
		var amount, list int64
		types := map[string]int{}
		for _, r := range w.Rows {
			assert.Nil(t, r.Cost.Requests, "null under fan-out")
			assert.Equal(t, "USD", r.Cost.Currency)
			assert.Equal(t, "wrkspc_01AbCdEfGhJkLmNpQrStUvWx", *r.Group.WorkspaceID)
			a, err := r.Cost.Amount.NanoCents()
			require.NoError(t, err)
			l, err := r.Cost.ListAmount.NanoCents()
			require.NoError(t, err)
			amount, list = amount+a, list+l
			types[*r.Group.CostType]++
			if *r.Group.CostType != "tokens" {
				assert.Nil(t, r.Group.TokenType)
			}
		}
		assert.Equal(t, map[string]int{"tokens": 5, "web_search": 1, "code_execution": 1, "session_usage": 1}, types)
		assert.Equal(t, int64(3852_123450000), amount, "exact: 3852.12345 cents")
		assert.Equal(t, int64(4265_359389000), list)
		assert.Equal(t, "cache_creation.ephemeral_5m_input_tokens", *w.Rows[3].Group.Value(DimTokenType))
	})
	t.Run("requests without fan-out", func(t *testing.T) {
		c, _, _ := serveFixtures(t, ok("cost_key.json"))
		w, err := c.AnalyticsCost(context.Background(), analyticsQuery())
		require.NoError(t, err)
		require.Len(t, w.Rows, 1)
		assert.Equal(t, int64(1234), *w.Rows[0].Cost.Requests)
		assert.Equal(t, Decimal("3852.123450"), w.Rows[0].Cost.Amount)
		assert.Nil(t, w.DataRefreshedAt, "null: no export covers the range")
	})
}

func refreshedAt(at string) func(string) string {
	return func(s string) string { return strings.ReplaceAll(s, "2026-11-20T04:00:00Z", at) }
}

// A walk is all or nothing: whatever interrupts it, the rows returned are
// those of one complete walk, never rows of an abandoned one.
func TestAnalyticsWalkRestarts(t *testing.T) {
	page1, page2 := ok("usage_model_key_page1.json"), ok("usage_model_key_page2.json")
	newPage1 := reply{status: 200, fixture: "usage_model_key_page1.json", edit: refreshedAt("2026-11-20T08:00:00Z")}
	newPage2 := reply{status: 200, fixture: "usage_model_key_page2.json", edit: refreshedAt("2026-11-20T08:00:00Z")}
	expired := reply{status: 410, fixture: "error_cursor_expired.json"}
	refused := reply{status: 400, fixture: "error_cursor_expired.json"}
	tests := []struct {
		name      string
		replies   []reply
		restarts  int
		refreshed string // of the walk returned; "" = an error
		err       error
	}{
		{"no interruption", []reply{page1, page2}, 0, "2026-11-20T04:00:00Z", nil},
		{"410 on the second page", []reply{page1, expired, newPage1, newPage2}, 1, "2026-11-20T08:00:00Z", nil},
		{"400 for the cursor on the second page", []reply{page1, refused, newPage1, newPage2}, 1, "2026-11-20T08:00:00Z", nil},
		{"data_refreshed_at changes between pages", []reply{page1, newPage2, newPage1, newPage2}, 1, "2026-11-20T08:00:00Z", nil},
		{"data_refreshed_at becomes null", []reply{page1, {status: 200, fixture: "usage_model_key_page2.json", edit: func(s string) string {
			return strings.ReplaceAll(s, `"2026-11-20T04:00:00Z"`, "null")
		}}, page1, page2}, 1, "2026-11-20T04:00:00Z", nil},
		{"a refresh on every try", []reply{page1, expired, page1, expired, page1, expired, page1, expired}, 0, "", ErrWalkUnstable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fs, _ := serveFixtures(t, tt.replies...)
			w, err := c.AnalyticsUsage(context.Background(), analyticsQuery())
			assert.Len(t, fs.requests(), len(tt.replies))
			for i, r := range fs.requests() {
				assert.Equal(t, i > 0 && tt.replies[i-1].fixture == "usage_model_key_page1.json" && tt.replies[i-1].status == 200,
					r.URL.Query().Has("page"), "request %d: a restart starts without a cursor", i+1)
			}
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Nil(t, w, "nothing from a half walk")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.restarts, w.Restarts)
			assert.Equal(t, 2, w.Pages)
			require.Len(t, w.Rows, 3, "one walk's rows, none of the abandoned one")
			assert.Equal(t, tt.refreshed, w.DataRefreshedAt.Format(time.RFC3339))
		})
	}
}

func TestAnalyticsErrors(t *testing.T) {
	rbac := analyticsQuery()
	rbac.GroupBy = []string{DimRBACGroupID}
	tests := []struct {
		name     string
		q        AnalyticsQuery
		replies  []reply
		want     error // nil: the walk succeeds
		says     []string
		requests int
	}{
		{"HIPAA organization", analyticsQuery(), []reply{{status: 400, fixture: "error_hipaa.json"}}, ErrHIPAA,
			[]string{"HIPAA", "source: legacy", "req_fixture"}, 1},
		{"no beta entitlement", analyticsQuery(), []reply{{status: 400, fixture: "error_beta.json"}}, ErrAnalyticsBeta,
			[]string{BetaAnalytics, "source: legacy"}, 1},
		{"beta refused with 403", analyticsQuery(), []reply{{status: 403, fixture: "error_beta.json"}}, ErrAnalyticsBeta, []string{BetaAnalytics}, 1},
		{"key without the scope", analyticsQuery(), []reply{{status: 403, fixture: "error_scope.json"}}, ErrAnalyticsScope,
			[]string{"read:analytics", "Admin API key"}, 1},
		{"rbac_group_id 503 is retried", rbac, []reply{{status: 503, fixture: "error_rbac.json"}, {status: 503, fixture: "error_rbac.json"},
			ok("usage_model_key_page1.json"), ok("usage_model_key_page2.json")}, nil, nil, 4},
		// Waits of 1, 2, 4, then 8 s: the tenth try would pass max_elapsed_time (1m).
		{"rbac_group_id 503 until the retries give up", rbac, slices.Repeat([]reply{{status: 503, fixture: "error_rbac.json"}}, 10),
			ErrRBACUnavailable, []string{"RBAC group breakdowns", "next poll", "Team membership data is not ready yet"}, 10},
		{"a 400 on the first page is not a restart", analyticsQuery(), []reply{{status: 400, fixture: "error_cursor_expired.json"}}, nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fs, _ := serveFixtures(t, tt.replies...)
			w, err := c.AnalyticsUsage(context.Background(), tt.q)
			assert.Len(t, fs.requests(), tt.requests)
			if tt.requests == 1 && tt.want == nil {
				require.Error(t, err)
				assert.True(t, IsStatus(err, 400))
				for _, e := range []error{ErrHIPAA, ErrAnalyticsBeta, ErrAnalyticsScope, ErrWalkUnstable} {
					assert.NotErrorIs(t, err, e)
				}
				return
			}
			if tt.want == nil {
				require.NoError(t, err)
				assert.Len(t, w.Rows, 3)
				return
			}
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, w)
			var ae *APIError
			require.ErrorAs(t, err, &ae, "the API's answer stays reachable")
			for _, s := range tt.says {
				assert.Contains(t, err.Error(), s)
			}
			assert.NotContains(t, err.Error(), testKey)
		})
	}
}

func TestAnalyticsQueryCheck(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	base := func() AnalyticsQuery {
		return AnalyticsQuery{
			StartingAt: now.Add(-30 * 24 * time.Hour).Truncate(time.Hour), EndingAt: now.Truncate(time.Hour),
			BucketWidth: BucketWidth1h, GroupBy: []string{DimWorkspaceID, DimModel, DimAPIKeyID, DimActor, DimProduct}, Limit: 1000,
		}
	}
	tests := []struct {
		name string
		cost bool
		edit func(*AnalyticsQuery)
		want string // "" = valid
	}{
		{"valid", false, func(*AnalyticsQuery) {}, ""},
		{"no bucket and no end", false, func(q *AnalyticsQuery) { q.BucketWidth, q.EndingAt = "", time.Time{} }, ""},
		{"six dimensions", false, func(q *AnalyticsQuery) { q.GroupBy = append(q.GroupBy, DimSpeed) }, "at most 5"},
		{"cost: fan-out dimensions do not count", true, func(q *AnalyticsQuery) { q.GroupBy = append(q.GroupBy, DimCostType, DimTokenType) }, ""},
		{"usage: no cost_type", false, func(q *AnalyticsQuery) { q.GroupBy = []string{DimCostType} }, `"cost_type" is not a dimension`},
		{"unknown dimension", true, func(q *AnalyticsQuery) { q.GroupBy = []string{"description"} }, `"description" is not a dimension`},
		{"repeated dimension", false, func(q *AnalyticsQuery) { q.GroupBy = []string{DimModel, DimModel} }, "listed twice"},
		{"claude_tag_user_id with rbac_group_id", false, func(q *AnalyticsQuery) { q.GroupBy = []string{DimClaudeTagUserID, DimRBACGroupID} }, "cannot be combined"},
		{"claude_tag_user_id with the rbac filter", false, func(q *AnalyticsQuery) {
			q.GroupBy = []string{DimClaudeTagUserID}
			q.Filters.RBACGroupIDs = []string{"rbac_group_1"}
		}, "cannot be combined"},
		{"exclude_deleted_users without actor", false, func(q *AnalyticsQuery) { q.GroupBy, q.ExcludeDeletedUsers = []string{DimModel}, true }, "needs group_by actor"},
		{"exclude_deleted_users with actor", false, func(q *AnalyticsQuery) { q.ExcludeDeletedUsers = true }, ""},
		{"bad width", false, func(q *AnalyticsQuery) { q.BucketWidth = "1w" }, "not 1m, 1h or 1d"},
		{"limit too large", false, func(q *AnalyticsQuery) { q.Limit = 1001 }, "limit 1001"},
		{"before 2026", false, func(q *AnalyticsQuery) {
			q.StartingAt, q.EndingAt = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
		}, "before 2026-01-01"},
		{"over 365 days ago", false, func(q *AnalyticsQuery) {
			q.StartingAt = now.Add(-366 * 24 * time.Hour)
			q.EndingAt = q.StartingAt.Add(time.Hour)
		}, "365 days"},
		{"end required when bucketed", false, func(q *AnalyticsQuery) { q.EndingAt = time.Time{} }, "ending_at is required"},
		{"end before start", false, func(q *AnalyticsQuery) { q.EndingAt = q.StartingAt }, "must be after"},
		{"32 days", false, func(q *AnalyticsQuery) { q.StartingAt = q.EndingAt.Add(-32 * 24 * time.Hour) }, "at most 31 days"},
		{"31 days", false, func(q *AnalyticsQuery) { q.StartingAt = q.EndingAt.Add(-31 * 24 * time.Hour) }, ""},
		{"1m over 24h", false, func(q *AnalyticsQuery) { q.BucketWidth = BucketWidth1m }, "at most 24h"},
		{"1m over 24h", false, func(q *AnalyticsQuery) {
			q.BucketWidth = BucketWidth1m
			q.StartingAt = q.EndingAt.Add(-24 * time.Hour)
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := base()
			tt.edit(&q)
			err := q.Check(tt.cost, now)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrAnalyticsQuery)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// The legacy usage report's speed dimension and filter need the fast-mode
// beta; nothing else sends a beta header.
func TestUsageReportFastModeBeta(t *testing.T) {
	tests := []struct {
		name    string
		groupBy []string
		filters map[string][]string
		want    string
	}{
		{"speed grouped", []string{"model", "speed"}, nil, BetaFastMode},
		{"speeds filtered", nil, map[string][]string{"speeds": {"fast"}}, BetaFastMode},
		{"no speed", []string{"model", "account_id", "service_account_id"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
				writeJSON(w, 200, page(day, 1, ""))
			}))
			defer srv.Close()
			c, _, _ := newTestClient(t, srv.URL)
			q := usageQuery()
			q.GroupBy, q.Filters = tt.groupBy, tt.filters
			_, err := drain(t, c.UsageReport(context.Background(), q))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Get("anthropic-beta"))
		})
	}
}

func TestWithBetaJoins(t *testing.T) {
	ctx := withBeta(withBeta(context.Background(), BetaAnalytics), BetaFastMode)
	assert.Equal(t, BetaAnalytics+","+BetaFastMode, betaHeader(ctx))
	assert.Empty(t, betaHeader(context.Background()))
	assert.False(t, errors.Is(ErrHIPAA, ErrAnalyticsBeta))
}
