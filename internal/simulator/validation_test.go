// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Seed: 7})
	require.Regexp(t, `^sk-ant-admin01-`, e.sim.AdminKey())
	require.Regexp(t, `^sk-ant-api03-`, e.sim.APIKey())
	require.Equal(t, e.sim.AdminKey(), New(Options{Seed: 7, Now: e.clock.Now}).AdminKey(), "deterministic from the seed")
	require.NotEqual(t, e.sim.AdminKey(), New(Options{Seed: 8, Now: e.clock.Now}).AdminKey())
	require.Equal(t, "sk-ant-admin01-x", New(Options{AdminKey: "sk-ant-admin01-x", Now: e.clock.Now}).AdminKey())

	for _, path := range []string{adminapi.PathUsageMessages, adminapi.PathCostReport, adminapi.PathClaudeCode, adminapi.PathWorkspaces, adminapi.PathAPIKeys, adminapi.PathUsers, adminapi.PathMe} {
		h := func(key string) map[string]string {
			return map[string]string{"x-api-key": key, "anthropic-version": "2023-06-01"}
		}
		requireError(t, e.do(http.MethodGet, path, nil, h(""), nil), 401, "authentication_error", "x-api-key")
		requireError(t, e.do(http.MethodGet, path, nil, h("sk-ant-admin01-wrong"), nil), 401, "authentication_error", "")
		requireError(t, e.do(http.MethodGet, path, nil, h(e.sim.APIKey()), nil), 403, "permission_error", "")
		requireError(t, e.do(http.MethodGet, path, nil, map[string]string{"x-api-key": e.sim.AdminKey()}, nil), 400, "invalid_request_error", "anthropic-version")
	}
	requireError(t, e.get(adminapi.PathMe+"/extra", nil), 404, "not_found_error", "")
	requireError(t, e.do(http.MethodPost, adminapi.PathMe, nil, map[string]string{"x-api-key": e.sim.AdminKey(), "anthropic-version": "2023-06-01"}, nil), 405, "invalid_request_error", "POST")
	// Success responses carry a request-id too.
	r := e.getOK(adminapi.PathMe, nil)
	require.Regexp(t, `^req_011C[1-9A-HJ-NP-Za-km-z]{20}$`, r.Header.Get("request-id"))
	r2 := e.getOK(adminapi.PathMe, nil)
	require.NotEqual(t, r.Header.Get("request-id"), r2.Header.Get("request-id"))
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	today := dayStart(testStart)
	yesterday := today.Add(-24 * time.Hour)
	ok := rfc(yesterday)
	beta := []string{"anthropic-beta", betaFastMode}

	// A valid cursor for a different usage query.
	r := e.getOK(adminapi.PathUsageMessages, vals("starting_at", rfc(today.Add(-5*24*time.Hour)), "limit", "1"))
	otherPage := *decode[adminapi.UsagePage](t, r.Body).NextPage
	r = e.getOK(adminapi.PathClaudeCode, vals("starting_at", yesterday.Format(time.DateOnly), "limit", "1"))
	ccPage := *decode[adminapi.ClaudeCodePage](t, r.Body).NextPage

	type tc struct {
		name  string
		path  string
		q     url.Values
		hdr   []string
		param string
	}
	u, c, cc := adminapi.PathUsageMessages, adminapi.PathCostReport, adminapi.PathClaudeCode
	cases := []tc{
		{"usage missing starting_at", u, vals(), nil, "starting_at"},
		{"usage malformed starting_at", u, vals("starting_at", "2026-09-01"), nil, "starting_at"},
		{"usage malformed starting_at 2", u, vals("starting_at", "yesterday"), nil, "starting_at"},
		{"usage malformed ending_at", u, vals("starting_at", ok, "ending_at", "2026/09/02"), nil, "ending_at"},
		{"usage ending before start", u, vals("starting_at", ok, "ending_at", rfc(yesterday.Add(-time.Hour))), nil, "ending_at"},
		{"usage unknown group_by", u, vals("starting_at", ok, "group_by[]", "region"), nil, "group_by"},
		{"usage unknown group_by bare", u, vals("starting_at", ok, "group_by", "description"), nil, "group_by"},
		{"usage unknown bucket_width", u, vals("starting_at", ok, "bucket_width", "1w"), nil, "bucket_width"},
		{"usage limit 0", u, vals("starting_at", ok, "limit", "0"), nil, "limit"},
		{"usage limit not int", u, vals("starting_at", ok, "limit", "ten"), nil, "limit"},
		{"usage limit 1d over 31", u, vals("starting_at", ok, "bucket_width", "1d", "limit", "32"), nil, "limit"},
		{"usage limit 1h over 168", u, vals("starting_at", ok, "bucket_width", "1h", "limit", "169"), nil, "limit"},
		{"usage limit 1m over 1440", u, vals("starting_at", ok, "bucket_width", "1m", "limit", "1441"), nil, "limit"},
		{"usage speed without beta", u, vals("starting_at", ok, "group_by[]", "speed"), nil, "speed"},
		{"usage speeds without beta", u, vals("starting_at", ok, "speeds[]", "fast"), nil, "speeds"},
		{"usage unknown speed", u, vals("starting_at", ok, "speeds[]", "warp"), beta, "speeds"},
		{"usage unknown service tier", u, vals("starting_at", ok, "service_tiers[]", "gold"), nil, "service_tiers"},
		{"usage unknown context window", u, vals("starting_at", ok, "context_window[]", "1M+"), nil, "context_window"},
		{"usage unknown inference geo", u, vals("starting_at", ok, "inference_geos[]", "eu"), nil, "inference_geos"},
		{"usage garbage page", u, vals("starting_at", ok, "page", "page_bm9wZQ"), nil, "page"},
		{"usage unknown page", u, vals("starting_at", ok, "page", "not-a-cursor"), nil, "page"},
		{"usage page of other query", u, vals("starting_at", ok, "page", otherPage), nil, "page"},
		{"usage page of other endpoint", u, vals("starting_at", ok, "page", ccPage), nil, "page"},
		{"cost missing starting_at", c, vals(), nil, "starting_at"},
		{"cost malformed starting_at", c, vals("starting_at", "01/09/2026"), nil, "starting_at"},
		{"cost bucket_width 1h", c, vals("starting_at", ok, "bucket_width", "1h"), nil, "bucket_width"},
		{"cost group_by model", c, vals("starting_at", ok, "group_by[]", "model"), nil, "group_by"},
		{"cost group_by api_key_id", c, vals("starting_at", ok, "group_by[]", "api_key_id"), nil, "group_by"},
		{"cost limit 32", c, vals("starting_at", ok, "limit", "32"), nil, "limit"},
		{"cost limit 0", c, vals("starting_at", ok, "limit", "0"), nil, "limit"},
		{"cost too recent", c, vals("starting_at", rfc(today.Add(time.Hour))), nil, "starting_at"},
		{"cost page of other query", c, vals("starting_at", ok, "page", otherPage), nil, "page"},
		{"claude code missing starting_at", cc, vals(), nil, "starting_at"},
		{"claude code timestamp starting_at", cc, vals("starting_at", ok), nil, "starting_at"},
		{"claude code limit 0", cc, vals("starting_at", "2026-09-09", "limit", "0"), nil, "limit"},
		{"claude code limit 1001", cc, vals("starting_at", "2026-09-09", "limit", "1001"), nil, "limit"},
		{"claude code page of other day", cc, vals("starting_at", "2026-09-08", "page", ccPage), nil, "page"},
		{"workspaces limit 0", adminapi.PathWorkspaces, vals("limit", "0"), nil, "limit"},
		{"workspaces limit 1001", adminapi.PathWorkspaces, vals("limit", "1001"), nil, "limit"},
		{"workspaces include_archived", adminapi.PathWorkspaces, vals("include_archived", "maybe"), nil, "include_archived"},
		{"workspaces unknown after_id", adminapi.PathWorkspaces, vals("after_id", "wrkspc_nope"), nil, "after_id"},
		{"api keys status", adminapi.PathAPIKeys, vals("status", "revoked"), nil, "status"},
		{"api keys both cursors", adminapi.PathAPIKeys, vals("after_id", "a", "before_id", "b"), nil, "before_id"},
		{"users unknown before_id", adminapi.PathUsers, vals("before_id", "user_nope"), nil, "before_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(tc.path, tc.q, tc.hdr...)
			requireError(t, r, 400, "invalid_request_error", tc.param)
		})
	}
	// The same queries are fine with the header / within bounds.
	e.getOK(u, vals("starting_at", ok, "group_by[]", "speed"), beta...)
	e.getOK(u, vals("starting_at", ok, "bucket_width", "1m", "limit", "1440"))
	e.getOK(u, vals("starting_at", ok, "bucket_width", "1h", "limit", "168"))
	e.getOK(u, vals("starting_at", "2026-09-09T10:37:12.427722Z", "bucket_width", "1h", "limit", "1"))
	e.getOK(c, vals("starting_at", rfc(today), "bucket_width", "1d", "limit", "31"))
	e.getOK(cc, vals("starting_at", "2026-09-09", "limit", "1000"))
}

func TestNonAlignedAndOpenEnded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	// A non-aligned starting_at is floored; a non-aligned ending_at includes
	// the bucket it falls in.
	p := decode[adminapi.UsagePage](t, e.getOK(adminapi.PathUsageMessages,
		vals("starting_at", "2026-09-09T10:37:12.427722Z", "ending_at", "2026-09-09T12:05:00Z", "bucket_width", "1h")).Body)
	require.Len(t, p.Data, 3)
	require.Equal(t, time.Date(2026, 9, 9, 10, 0, 0, 0, time.UTC), p.Data[0].StartingAt)
	require.Equal(t, time.Date(2026, 9, 9, 13, 0, 0, 0, time.UTC), p.Data[2].EndingAt)
	// ending_at omitted: `limit` buckets, then pages up to the open bucket.
	p = decode[adminapi.UsagePage](t, e.getOK(adminapi.PathUsageMessages, vals("starting_at", rfc(testStart.Add(-3*time.Hour)), "bucket_width", "1h", "limit", "2")).Body)
	require.Len(t, p.Data, 2)
	require.True(t, p.HasMore)
	all := e.readAllUsage(vals("starting_at", rfc(testStart.Add(-3*time.Hour)), "bucket_width", "1h", "limit", "2"))
	require.Len(t, all, 4)
	require.Equal(t, testStart.Truncate(time.Hour), all[3].StartingAt, "the open bucket is returned")
	// Never past the bucket containing now, even with a future ending_at.
	all = e.readAllUsage(vals("starting_at", rfc(dayStart(testStart)), "ending_at", rfc(testStart.Add(72*time.Hour)), "bucket_width", "1d"))
	require.Len(t, all, 1)
	// A window entirely in the future is empty.
	p = decode[adminapi.UsagePage](t, e.getOK(adminapi.PathUsageMessages, vals("starting_at", rfc(testStart.Add(48*time.Hour)))).Body)
	require.Empty(t, p.Data)
	require.False(t, p.HasMore)
	// Before the history: buckets exist, with results [].
	p = decode[adminapi.UsagePage](t, e.getOK(adminapi.PathUsageMessages, vals("starting_at", rfc(e.sim.Origin().Add(-72*time.Hour)), "limit", "2")).Body)
	require.Len(t, p.Data, 2)
	for _, b := range p.Data {
		require.NotNil(t, b.Results)
		require.Empty(t, b.Results)
	}
}
