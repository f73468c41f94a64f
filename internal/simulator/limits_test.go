// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// limitsClient is the receiver's Admin API client on the simulator, without
// retries: a refused request is the answer under test.
func (e *env) limitsClient() *adminapi.Client {
	e.t.Helper()
	c, err := adminapi.New(e.srv.Client(), adminapi.Settings{
		Endpoint: e.srv.URL, AdminKey: e.sim.AdminKey(), MaxResponseBytes: 1 << 20, MaxPages: 10,
		RequestsPerMinute: 6000, Burst: 100, Logger: zap.NewNop(), Retry: configretry.BackOffConfig{Enabled: false},
	})
	require.NoError(e.t, err)
	return c
}

// The Console mode, read as the receiver reads it: the rate-limit groups of
// the models in use, a workspace's overrides with inherited values, the
// configured spend limits newest first, and the member report refused with
// organization_type_not_supported.
func TestLimitsConsoleMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.limitsClient()
	ctx := context.Background()

	rl, err := c.RateLimits(ctx)
	require.NoError(t, err)
	var names []string
	for _, g := range rl {
		names = append(names, g.Group.Type+" "+g.Group.DisplayName)
		assert.Regexp(t, `^rlg_01[1-9A-HJ-NP-Za-km-z]{22}$`, g.Group.ID)
		assert.Regexp(t, `^ratelimit_01`, g.ID)
		assert.Equal(t, g.Group.Type, g.GroupType, "the deprecated flat group_type under 2023-06-01")
		if g.Group.Type != "model_group" {
			assert.Nil(t, g.Models)
		}
	}
	assert.Equal(t, []string{"model_group Claude Haiku 4.x", "model_group Claude Opus 4.x", "model_group Claude Sonnet 4.x", "batch ", "token_count ", "web_search "}, names)
	assert.Equal(t, []string{"claude-opus-4-6", "claude-opus-4-1"}, rl[1].Models)
	assert.Equal(t, []adminapi.Limiter{{Type: "requests_per_minute", Value: 4000}, {Type: "enqueued_batch_requests", Value: 500000}}, rl[3].Limits)
	other := New(Options{Seed: 99, Now: e.clock.Now})
	assert.Equal(t, rl[0].Group.ID, other.rateGroups()[0].id, "group ids are the same in every organization")
	assert.NotEqual(t, rl[0].ID, other.entryID(other.rateGroups()[0]), "entry ids differ")

	ws := e.sim.listedWorkspaces()
	wrl, err := c.WorkspaceRateLimits(ctx, *ws[0].ID)
	require.NoError(t, err)
	require.Len(t, wrl, len(rl), "include_inherited: every group")
	assert.Equal(t, rl[0].ID, wrl[0].RateLimitID)
	four := int64(4000)
	assert.Equal(t, adminapi.Limiter{Type: "requests_per_minute", Value: 1000, OrgLimit: &four, Source: &adminapi.LimiterScope{Type: "workspace"}}, wrl[0].Limits[0])
	assert.Equal(t, "organization", wrl[0].Limits[1].Source.Type)
	assert.Equal(t, *wrl[0].Limits[1].OrgLimit, wrl[0].Limits[1].Value)

	sl, err := c.SpendLimits(ctx)
	require.NoError(t, err)
	var got []string
	for _, l := range sl {
		assert.Equal(t, "monthly", l.Period)
		assert.Equal(t, "USD", l.Currency)
		assert.True(t, l.Enabled())
		got = append(got, l.Scope.Type+" "+l.Scope.ID()+" "+string(l.Amount))
	}
	assert.Equal(t, []string{"workspace " + *ws[1].ID + " 500000", "workspace " + *ws[0].ID + " 200000", "organization  1000000", "usage_tier  20000000"}, got,
		"newest first: the usage tier, created with the organization, last")

	_, err = c.EffectiveSpendLimits(ctx)
	var ae *adminapi.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.Equal(t, "organization_type_not_supported", ae.Code)
}

func TestLimitsRequestRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ws := *e.sim.listedWorkspaces()[0].ID
	beta := []string{"anthropic-beta", adminapi.BetaSpendLimitReads}

	requireError(t, e.get(adminapi.PathSpendLimits, nil), 400, "invalid_request_error", adminapi.BetaSpendLimitReads)
	requireError(t, e.get(adminapi.PathSpendLimits, vals("scope_type[]", "user"), beta...), 400, "invalid_request_error", "does not apply")
	requireError(t, e.get(adminapi.PathSpendLimits, vals("limit", "0"), beta...), 400, "invalid_request_error", "limit")
	requireError(t, e.get(adminapi.PathRateLimits, vals("model", "claude-unknown-9")), 404, "not_found_error", "no rate limits")
	requireError(t, e.get(adminapi.PathRateLimits, vals("group_type", "bogus")), 400, "invalid_request_error", "group_type")
	requireError(t, e.get(adminapi.WorkspaceRateLimitsPath("wrkspc_01nope"), nil), 404, "not_found_error", "")

	// One entry a page, to the end; a cursor reused with other filters is refused.
	r := e.getOK(adminapi.PathSpendLimits, vals("limit", "1"), beta...)
	first := decode[struct {
		Data     []adminapi.SpendLimit `json:"data"`
		NextPage *string               `json:"next_page"`
	}](t, r.Body)
	require.Len(t, first.Data, 1)
	require.NotNil(t, first.NextPage)
	requireError(t, e.get(adminapi.PathSpendLimits, vals("limit", "1", "page", *first.NextPage, "scope_type[]", "workspace"), beta...), 400, "invalid_request_error", "different query")
	r = e.getOK(adminapi.PathSpendLimits, vals("scope_type[]", "usage_tier"), beta...)
	assert.Contains(t, string(r.Body), `"usage_tier"`)
	assert.NotContains(t, string(r.Body), `"workspace"`)

	// The filter by model, and the workspace endpoint without inherited values.
	r = e.getOK(adminapi.PathRateLimits, vals("model", "claude-sonnet-4-6"))
	assert.Contains(t, string(r.Body), `"Claude Sonnet 4.x"`)
	assert.NotContains(t, string(r.Body), `"Claude Opus 4.x"`)
	r = e.getOK(adminapi.WorkspaceRateLimitsPath(ws), nil)
	only := decode[struct {
		Data []adminapi.WorkspaceRateLimit `json:"data"`
	}](t, r.Body)
	require.Len(t, only.Data, 1, "only the overridden group")
	assert.Len(t, only.Data[0].Limits, 2, "only the overridden limiters")
	// The current API version sends the group object only.
	r = e.getOK(adminapi.PathRateLimits, nil, "anthropic-version", "2026-10-21")
	assert.NotContains(t, string(r.Body), `"group_type"`)
}

func TestLimitsEnterpriseMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{LimitsMode: LimitsEnterprise})
	c := e.limitsClient()
	ctx := context.Background()

	_, err := c.RateLimits(ctx)
	require.True(t, adminapi.IsStatus(err, http.StatusForbidden), "%v", err)
	sl, err := c.SpendLimits(ctx)
	require.NoError(t, err)
	var order []string
	for _, l := range sl {
		order = append(order, l.Scope.Type)
	}
	assert.Equal(t, []string{"organization", "seat_tier", "rbac_group", "user"}, order, "grouped by scope type")
	assert.Equal(t, adminapi.Decimal(""), sl[1].Amount, "a configured row without a cap")

	rows, err := c.EffectiveSpendLimits(ctx)
	require.NoError(t, err)
	want := e.sim.MemberSpends()
	require.Len(t, rows, len(want))
	for i, m := range want {
		assert.Equal(t, m.UserID, rows[i].Scope.UserID)
		assert.Equal(t, m.Source, rows[i].Source.Type)
		assert.Equal(t, m.Period, rows[i].Period)
		nc, err := rows[i].PeriodToDateSpend.NanoCents()
		require.NoError(t, err)
		assert.Equal(t, m.SpendMilliCents*1_000_000, nc)
	}
	// Pages are cut by member: the first member's two periods stay together.
	r := e.getOK(adminapi.PathSpendLimitsEffective, vals("limit", "1"))
	page := decode[struct {
		Data     []adminapi.SpendSummary `json:"data"`
		NextPage *string                 `json:"next_page"`
	}](t, r.Body)
	require.Len(t, page.Data, 2)
	assert.Equal(t, page.Data[0].Scope.UserID, page.Data[1].Scope.UserID)
	require.NotNil(t, page.NextPage)
	requireError(t, e.get(adminapi.PathSpendLimits, vals("workspace_id", "wrkspc_x"), "anthropic-beta", adminapi.BetaSpendLimitReads), 400, "invalid_request_error", "workspace_id")
}

func TestLimitsNoEarlyAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{LimitsMode: LimitsConsoleNoEarlyAccess})
	requireError(t, e.get(adminapi.PathSpendLimits, nil, "anthropic-beta", adminapi.BetaSpendLimitReads), 403, "permission_error", "early access")
	e.getOK(adminapi.PathRateLimits, nil)
}

// The spend-limit endpoints share 60 requests a minute: the 61st within a
// minute is answered 429, on either endpoint; a minute later they are served
// again. Other endpoints are not counted.
func TestSpendEndpointsRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	beta := []string{"anthropic-beta", adminapi.BetaSpendLimitReads}
	for range 30 {
		e.getOK(adminapi.PathSpendLimits, nil, beta...)
		requireError(t, e.get(adminapi.PathSpendLimitsEffective, nil), 400, "invalid_request_error", "Enterprise")
		e.getOK(adminapi.PathRateLimits, nil)
		e.clock.Advance(time.Second / 2)
	}
	requireError(t, e.get(adminapi.PathSpendLimits, nil, beta...), 429, "rate_limit_error", "60 requests per minute")
	requireError(t, e.get(adminapi.PathSpendLimitsEffective, nil), 429, "rate_limit_error", "")
	e.getOK(adminapi.PathRateLimits, nil)
	e.clock.Advance(time.Minute)
	e.getOK(adminapi.PathSpendLimits, nil, beta...)
}
