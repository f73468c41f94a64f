// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestPaginationUsage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	for _, tc := range []struct {
		width string
		start time.Time
		k     int
		end   bool
	}{
		{"1d", e.sim.Origin(), 3, false},
		{"1h", testStart.Add(-200 * time.Hour), 7, true},
		{"1m", testStart.Add(-30 * time.Hour), 500, false},
	} {
		t.Run(tc.width, func(t *testing.T) {
			q := vals("starting_at", rfc(tc.start), "bucket_width", tc.width)
			if tc.end {
				q.Set("ending_at", rfc(testStart.Add(-time.Hour)))
			}
			q["group_by[]"] = []string{"model", "workspace_id"}
			q.Set("limit", strconv.Itoa(tc.k))
			small := e.readAllUsage(q)
			q.Set("limit", strconv.Itoa(adminapi.MaxLimit(tc.width)))
			big := e.readAllUsage(q)
			require.Greater(t, len(small), tc.k, "several pages")
			require.Equal(t, mustJSON(t, big), mustJSON(t, small))
			for i := 1; i < len(big); i++ {
				require.Equal(t, big[i-1].EndingAt, big[i].StartingAt, "contiguous buckets")
			}
		})
	}
}

func TestPaginationCost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	q := vals("starting_at", rfc(e.sim.Origin()), "limit", "2")
	q["group_by[]"] = []string{"workspace_id", "description"}
	small := e.readAllCost(q)
	q.Set("limit", "31")
	big := e.readAllCost(q)
	require.Len(t, big, 9, "8 days of history and today")
	require.Equal(t, mustJSON(t, big), mustJSON(t, small))
	// Default limit is 7 days.
	p := decode[adminapi.CostPage](t, e.getOK(adminapi.PathCostReport, vals("starting_at", rfc(e.sim.Origin()))).Body)
	require.Len(t, p.Data, 7)
	require.True(t, p.HasMore)
}

func TestPaginationClaudeCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Org: OrgOptions{ClaudeCodeUsers: 6}})
	day := dayStart(testStart).Add(-24 * time.Hour).Format(time.DateOnly)
	small := e.readAllClaudeCode(vals("starting_at", day, "limit", "1"))
	big := e.readAllClaudeCode(vals("starting_at", day, "limit", "1000"))
	require.Greater(t, len(big), 3)
	require.Equal(t, mustJSON(t, big), mustJSON(t, small))
	// Default limit is 20 records.
	p := decode[adminapi.ClaudeCodePage](t, e.getOK(adminapi.PathClaudeCode, vals("starting_at", day)).Body)
	require.Len(t, p.Data, min(20, len(big)))

	// The cursor pins the data boundary: today's records grow as the clock
	// moves, but the pages of one query stay consistent with its first page.
	e2 := newEnv(t, Options{Org: OrgOptions{ClaudeCodeUsers: 6}})
	today := dayStart(testStart).Format(time.DateOnly)
	q := vals("starting_at", today, "limit", "1")
	first := decode[adminapi.ClaudeCodePage](t, e2.getOK(adminapi.PathClaudeCode, q).Body)
	require.True(t, first.HasMore)
	pinned := e2.readAllClaudeCode(vals("starting_at", today, "limit", "1000"))
	e2.clock.Advance(4 * time.Hour)
	got := append([]adminapi.ClaudeCodeRecord{}, first.Data...)
	q.Set("page", *first.NextPage)
	got = append(got, e2.readAllClaudeCode(q)...)
	require.Equal(t, mustJSON(t, pinned), mustJSON(t, got))
	later := e2.readAllClaudeCode(vals("starting_at", today, "limit", "1000"))
	require.NotEqual(t, mustJSON(t, pinned), mustJSON(t, later), "a new query sees newer data")
}

func TestPaginationLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Org: OrgOptions{Workspaces: 5, APIKeysPerWorkspace: 3, ClaudeCodeUsers: 4}})
	walk := func(path string, q url.Values, backwards bool) []string {
		q = cloneValues(q)
		var ids []string
		for i := 0; i < 1000; i++ {
			p := decode[listPage[json.RawMessage]](t, e.getOK(path, q).Body)
			var page []string
			for _, raw := range p.Data {
				var obj struct{ ID string }
				require.NoError(t, json.Unmarshal(raw, &obj))
				page = append(page, obj.ID)
			}
			if l := q.Get("limit"); l != "" {
				n, _ := strconv.Atoi(l)
				require.LessOrEqual(t, len(page), n, "page size")
			} else {
				require.LessOrEqual(t, len(page), 20, "default page size")
			}
			if len(page) > 0 {
				require.Equal(t, page[0], *p.FirstID)
				require.Equal(t, page[len(page)-1], *p.LastID)
			} else {
				require.Nil(t, p.FirstID)
				require.Nil(t, p.LastID)
			}
			if backwards {
				ids = append(page, ids...)
			} else {
				ids = append(ids, page...)
			}
			if !p.HasMore || len(page) == 0 {
				return ids
			}
			if backwards {
				q.Set("before_id", *p.FirstID)
			} else {
				q.Set("after_id", *p.LastID)
			}
		}
		t.Fatal("too many pages")
		return nil
	}
	for _, tc := range []struct {
		path string
		q    url.Values
		n    int
	}{
		{adminapi.PathWorkspaces, vals(), 5},
		{adminapi.PathWorkspaces, vals("include_archived", "true"), 6},
		{adminapi.PathAPIKeys, vals(), 21},
		{adminapi.PathAPIKeys, vals("status", "active"), 21 - 3 - 2},
		{adminapi.PathUsers, vals(), 6},
	} {
		t.Run(tc.path+"?"+tc.q.Encode(), func(t *testing.T) {
			big := walk(tc.path, tc.q, false)
			require.Len(t, big, tc.n)
			q := cloneValues(tc.q)
			q.Set("limit", "2")
			require.Equal(t, big, walk(tc.path, q, false))
			// Backwards from the end with before_id.
			last := big[len(big)-1]
			q.Set("before_id", last)
			require.Equal(t, big[:len(big)-1], walk(tc.path, q, true))
			q.Del("before_id")
			q.Set("after_id", last)
			require.Empty(t, walk(tc.path, q, false))
		})
	}
}
