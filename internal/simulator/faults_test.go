// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

func TestFaultStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	p := adminapi.PathWorkspaces
	e.sim.Faults().Script(p,
		Fault{Status: 429, RetryAfter: "7"},
		Fault{Status: 429, Message: "spend limit reached"},
		Fault{Status: 500},
		Fault{Status: 504},
		Fault{Status: 529, Times: 2},
	)
	r := e.get(p, nil)
	requireError(t, r, 429, "rate_limit_error", "Rate limited")
	require.Equal(t, "7", r.Header.Get("retry-after"))
	r = e.get(p, nil)
	requireError(t, r, 429, "rate_limit_error", "spend limit")
	require.Empty(t, r.Header.Get("retry-after"), "spend-cap 429 has no retry-after")
	requireError(t, e.get(p, nil), 500, "api_error", "Internal server error")
	requireError(t, e.get(p, nil), 504, "timeout_error", "Request timeout")
	requireError(t, e.get(p, nil), 529, "overloaded_error", "Overloaded")
	requireError(t, e.get(p, nil), 529, "overloaded_error", "")
	e.getOK(p, nil)
	require.Zero(t, e.sim.Faults().Pending())

	st := e.sim.Stats()
	require.Equal(t, 7, st.Requests[p])
	require.Equal(t, 7, st.Total)
	require.Equal(t, map[int]int{429: 2, 500: 1, 504: 1, 529: 2, 200: 1}, st.ByStatus)
	require.Zero(t, st.RateLimited, "scripted 429s are not rate limiting")
}

func TestFaultPathsAndClear(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.sim.Faults().Script("*", Fault{Status: 500, Times: 2})
	e.sim.Faults().Script(adminapi.PathUsers, Fault{Status: 529})
	requireError(t, e.get(adminapi.PathUsers, nil), 529, "overloaded_error", "") // own queue first
	requireError(t, e.get(adminapi.PathUsers, nil), 500, "api_error", "")
	requireError(t, e.get(adminapi.PathMe, nil), 500, "api_error", "")
	e.getOK(adminapi.PathMe, nil)
	e.sim.Faults().Script(adminapi.PathMe, Fault{Status: 500, Times: 5})
	require.Equal(t, 5, e.sim.Faults().Pending())
	e.sim.Faults().Clear()
	e.getOK(adminapi.PathMe, nil)
	// A fault for one path does not affect another.
	e.sim.Faults().Script(adminapi.PathUsers, Fault{Status: 500})
	e.getOK(adminapi.PathMe, nil)
	require.Equal(t, 1, e.sim.Faults().Pending())
}

func TestFaultDelayTruncateReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	q := vals("starting_at", rfc(dayStart(testStart).Add(-24*time.Hour)), "bucket_width", "1h")
	normal := e.getOK(adminapi.PathUsageMessages, q)

	e.sim.Faults().Script(adminapi.PathUsageMessages, Fault{Delay: 150 * time.Millisecond})
	start := time.Now()
	r := e.getOK(adminapi.PathUsageMessages, q)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	require.Equal(t, normal.Body, r.Body, "a delay alone serves the normal response")

	e.sim.Faults().Script(adminapi.PathUsageMessages, Fault{Delay: 50 * time.Millisecond, Status: 504})
	start = time.Now()
	requireError(t, e.get(adminapi.PathUsageMessages, q), 504, "timeout_error", "")
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	e.sim.Faults().Script(adminapi.PathUsageMessages, Fault{Truncate: true})
	r = e.get(adminapi.PathUsageMessages, q)
	require.Equal(t, http.StatusOK, r.Status)
	require.Len(t, r.Body, len(normal.Body)/2)
	require.Equal(t, normal.Body[:len(normal.Body)/2], r.Body)
	var v any
	require.Error(t, json.Unmarshal(r.Body, &v))

	e.sim.Faults().Script(adminapi.PathUsageMessages, Fault{Reset: true})
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+adminapi.PathUsageMessages+"?"+q.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("x-api-key", e.sim.AdminKey())
	req.Header.Set("anthropic-version", "2023-06-01")
	// A fresh connection: Go's transport transparently retries a GET whose
	// reused keep-alive connection dies before the first response byte.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err == nil {
		res.Body.Close()
	}
	require.Error(t, err, "the connection is reset")
	e.getOK(adminapi.PathUsageMessages, q)
	st := e.sim.Stats()
	require.Equal(t, 1, st.ByStatus[0], "resets are counted under status 0")
	require.Equal(t, 6, st.Requests[adminapi.PathUsageMessages])
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{RequestsPerMinute: 5})
	for i := 0; i < 5; i++ {
		e.getOK(adminapi.PathMe, nil)
		e.clock.Advance(time.Second)
	}
	// The burst is over the limit: the oldest request frees its slot 60 s
	// after it was made (55 s from now).
	r := e.get(adminapi.PathUsers, nil)
	requireError(t, r, 429, "rate_limit_error", "Rate limited")
	require.Equal(t, "55", r.Header.Get("retry-after"))
	e.clock.Advance(30 * time.Second)
	r = e.get(adminapi.PathMe, nil)
	requireError(t, r, 429, "rate_limit_error", "")
	require.Equal(t, "25", r.Header.Get("retry-after"))
	e.clock.Advance(25 * time.Second)
	e.getOK(adminapi.PathMe, nil)
	requireError(t, e.get(adminapi.PathMe, nil), 429, "rate_limit_error", "")
	// Side paths are not rate limited.
	for i := 0; i < 10; i++ {
		res := e.do(http.MethodGet, "/_sim/stats", nil, nil, nil)
		require.Equal(t, 200, res.Status)
	}
	st := e.sim.Stats()
	require.Equal(t, 3, st.RateLimited)
	require.Equal(t, 3, st.ByStatus[429])
	require.Equal(t, 6, st.ByStatus[200])
	require.Equal(t, 9, st.Total)
}

func TestSidePaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	start := dayStart(testStart).Add(-48 * time.Hour)
	end := dayStart(testStart)

	r := e.do(http.MethodGet, "/_sim/truth/usage", vals("starting_at", rfc(start), "ending_at", rfc(end), "group_by[]", "model", "models[]", "claude-haiku-4-5"), nil, nil)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var usage struct{ Data []UsageTruthRow }
	require.NoError(t, json.Unmarshal(r.Body, &usage))
	want := e.sim.TruthUsage(TruthQuery{StartingAt: start, EndingAt: end, GroupBy: []string{"model"}, Filters: map[string][]string{"models": {"claude-haiku-4-5"}}})
	require.Len(t, want, 1)
	require.Equal(t, want, usage.Data)

	r = e.do(http.MethodGet, "/_sim/truth/cost", vals("starting_at", rfc(start), "ending_at", rfc(end), "group_by[]", "workspace_id"), nil, nil)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var cost struct{ Data []CostTruthRow }
	require.NoError(t, json.Unmarshal(r.Body, &cost))
	require.Equal(t, e.sim.TruthCost(TruthQuery{StartingAt: start, EndingAt: end, GroupBy: []string{"workspace_id"}}), cost.Data)

	r = e.do(http.MethodGet, "/_sim/truth/claude_code", vals("starting_at", start.Format(time.DateOnly), "ending_at", end.Format(time.DateOnly)), nil, nil)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var cc struct{ Data []ClaudeCodeTruthRow }
	require.NoError(t, json.Unmarshal(r.Body, &cc))
	require.Equal(t, mustJSON(t, e.sim.TruthClaudeCode(TruthQuery{StartingAt: start, EndingAt: end})), mustJSON(t, cc.Data))
	require.NotEmpty(t, cc.Data)

	requireError(t, e.do(http.MethodGet, "/_sim/truth/usage", vals("starting_at", rfc(start), "group_by[]", "nope"), nil, nil), 400, "invalid_request_error", "group_by")

	// Faults over HTTP.
	r = e.do(http.MethodPost, "/_sim/faults", nil, nil, []byte(`{"path":"/v1/organizations/me","faults":[{"status":529,"times":2},{"delay":"10ms","status":429,"retry_after":"3"}]}`))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.JSONEq(t, `{"pending":3}`, string(r.Body))
	requireError(t, e.get(adminapi.PathMe, nil), 529, "overloaded_error", "")
	requireError(t, e.get(adminapi.PathMe, nil), 529, "overloaded_error", "")
	r = e.get(adminapi.PathMe, nil)
	requireError(t, r, 429, "rate_limit_error", "")
	require.Equal(t, "3", r.Header.Get("retry-after"))
	r = e.do(http.MethodPost, "/_sim/faults", nil, nil, []byte(`[{"path":"*","faults":[{"status":500,"times":4}]},{"clear":true}]`))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.JSONEq(t, `{"pending":0}`, string(r.Body))
	requireError(t, e.do(http.MethodPost, "/_sim/faults", nil, nil, []byte(`{"faults":[{"status":500}]}`)), 400, "invalid_request_error", "path")

	// Stats over HTTP.
	r = e.do(http.MethodGet, "/_sim/stats", nil, nil, nil)
	require.Equal(t, 200, r.Status)
	var st Stats
	require.NoError(t, json.Unmarshal(r.Body, &st))
	require.Equal(t, e.sim.Stats(), st)
	require.Equal(t, 3, st.Requests[adminapi.PathMe])

	// Freeze over HTTP.
	at := testStart.Add(-time.Hour).Truncate(time.Minute)
	r = e.do(http.MethodPost, "/_sim/freeze", vals("at", rfc(at)), nil, nil)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	got, ok := e.sim.FrozenAt()
	require.True(t, ok)
	require.Equal(t, at, got)
	require.Empty(t, e.sim.TruthUsage(TruthQuery{StartingAt: at, EndingAt: testStart}))
	requireError(t, e.do(http.MethodPost, "/_sim/freeze", vals("at", "soon"), nil, nil), 400, "invalid_request_error", "at")
	requireError(t, e.do(http.MethodGet, "/_sim/freeze", nil, nil, nil), 405, "invalid_request_error", "")

	r = e.do(http.MethodGet, "/_sim/info", nil, nil, nil)
	require.Equal(t, 200, r.Status)
	require.True(t, strings.Contains(string(r.Body), e.sim.AdminKey()))
}
