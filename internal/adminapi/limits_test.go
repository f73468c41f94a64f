// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func limitsFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "limits", name))
	require.NoError(t, err)
	return b
}

// TestLimitsEndpoints: each limits list is read with the documented
// parameters (limit 1000, include_inherited for workspaces), the beta header
// only where the reference requires it, and the reference's example bodies
// decode into the models.
func TestLimitsEndpoints(t *testing.T) {
	type seen struct{ query, beta string }
	var mu sync.Mutex
	got := map[string]seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = seen{r.URL.RawQuery, r.Header.Get("anthropic-beta")}
		mu.Unlock()
		files := map[string]string{
			PathRateLimits: "rate_limits.json",
			"/v1/organizations/workspaces/wrkspc_01H2kP7sD4fL9qN3xB6vC8eJ/rate_limits": "workspace_rate_limits.json",
			PathSpendLimits: "spend_limits_enterprise.json",
		}
		f, ok := files[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(limitsFixture(t, f))
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL)
	ctx := context.Background()

	rl, err := c.RateLimits(ctx)
	require.NoError(t, err)
	require.Len(t, rl, 2)
	assert.Equal(t, RateLimitGroup{Type: "model_group", ID: "rlg_01Tz6Yx5Wv4Ut3Sr2Qp1On9Ml", DisplayName: "Claude Sonnet 4.x"}, rl[0].Group)
	assert.Equal(t, []Limiter{{Type: "requests_per_minute", Value: 2000}, {Type: "enqueued_batch_requests", Value: 300000}}, rl[1].Limits)
	assert.Nil(t, rl[1].Models)

	wrl, err := c.WorkspaceRateLimits(ctx, "wrkspc_01H2kP7sD4fL9qN3xB6vC8eJ")
	require.NoError(t, err)
	require.Len(t, wrl, 1)
	require.Len(t, wrl[0].Limits, 3)
	assert.Equal(t, int64(500), wrl[0].Limits[0].Value)
	require.NotNil(t, wrl[0].Limits[0].OrgLimit)
	assert.Equal(t, int64(2000), *wrl[0].Limits[0].OrgLimit)
	assert.Equal(t, "workspace", wrl[0].Limits[0].Source.Type)
	assert.Equal(t, "organization", wrl[0].Limits[1].Source.Type)

	sl, err := c.SpendLimits(ctx)
	require.NoError(t, err)
	require.Len(t, sl, 4)
	assert.False(t, sl[0].Enabled(), "extra usage switched off")
	assert.Equal(t, Decimal(""), sl[1].Amount, "null amount")
	assert.Equal(t, "enterprise_standard", sl[1].Scope.ID())
	assert.Equal(t, "rbacgrp_01Pq2Rs3Tu4Vw5Xy6Za7Bc8De", sl[2].Scope.ID())
	assert.Equal(t, "user_01Xy8Za7Bc6De5Fg4Hj3Kl2Mn", sl[3].Scope.ID())
	assert.Equal(t, Decimal("150000"), sl[3].Amount)

	assert.Equal(t, map[string]seen{
		PathRateLimits: {"limit=1000", ""},
		"/v1/organizations/workspaces/wrkspc_01H2kP7sD4fL9qN3xB6vC8eJ/rate_limits": {"include_inherited=true&limit=1000", ""},
		PathSpendLimits: {"limit=1000", BetaSpendLimitReads},
	}, got)
}

// TestEffectiveSpendLimitsFollowNextPage: the effective list is followed
// through next_page (passed back unchanged as page) until it is null.
func TestEffectiveSpendLimitsFollowNextPage(t *testing.T) {
	var pages []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages = append(pages, r.URL.Query().Get("page"))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("page") == "" {
			_, _ = w.Write(limitsFixture(t, "spend_limits_effective.json"))
			return
		}
		_, _ = w.Write([]byte(`{"data":[],"next_page":null}`))
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL)
	rows, err := c.EffectiveSpendLimits(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"", "page_c3BlbmRfbGltaXRzX2VmZmVjdGl2ZQ"}, pages)
	require.Len(t, rows, 3)
	assert.Equal(t, SpendActor{Type: "user_actor", UserID: "user_01Qw3Er4Ty5Ui6Op7As8Df9Gh"}, rows[0].Actor)
	assert.Equal(t, "rbac_group", rows[0].Source.Type)
	assert.Equal(t, Decimal("47312.375"), rows[0].PeriodToDateSpend)
	assert.Equal(t, "daily", rows[2].Period)
}

// TestErrorCodeIsRead: the machine-readable error.details.error_code of a
// 400 is kept on the error (its message wording must not be matched), and
// the request is not retried.
func TestErrorCodeIsRead(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.Header().Set("request-id", "req_x")
		writeJSON(w, http.StatusBadRequest, map[string]any{"type": "error", "error": map[string]any{
			"type": "invalid_request_error", "message": "Not supported for this organization",
			"details": map[string]any{"error_code": "organization_type_not_supported"}}})
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL)
	_, err := c.EffectiveSpendLimits(context.Background())
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "organization_type_not_supported", ae.Code)
	assert.Equal(t, 1, calls)
	assert.Contains(t, err.Error(), "HTTP 400 invalid_request_error (organization_type_not_supported): Not supported")
}

func TestGroupTypeFallsBackToTheFlatField(t *testing.T) {
	assert.Equal(t, "batch", GroupTypeOf(RateLimitGroup{}, "batch"))
	assert.Equal(t, "model_group", GroupTypeOf(RateLimitGroup{Type: "model_group"}, "batch"))
}
