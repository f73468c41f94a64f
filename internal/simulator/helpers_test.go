// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
)

// fakeClock is the shared settable test clock.
type fakeClock = fakeclock.Clock

func newFakeClock(t time.Time) *fakeClock { return fakeclock.New(t) }

// testStart is a busy Thursday afternoon (UTC), mid-minute.
var testStart = time.Date(2026, 9, 10, 15, 27, 30, 0, time.UTC)

type env struct {
	t     *testing.T
	clock *fakeClock
	sim   *Simulator
	srv   *httptest.Server
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clock := newFakeClock(testStart)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	sim := New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, clock: clock, sim: sim, srv: srv}
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// get sends an authenticated GET with the given query (path may carry its
// own query string) and extra headers.
func (e *env) get(path string, q url.Values, hdr ...string) resp {
	e.t.Helper()
	h := map[string]string{"x-api-key": e.sim.AdminKey(), "anthropic-version": "2023-06-01"}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	return e.do(http.MethodGet, path, q, h, nil)
}

func (e *env) do(method, path string, q url.Values, h map[string]string, body []byte) resp {
	e.t.Helper()
	u := e.srv.URL + path
	if len(q) > 0 {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + q.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(e.t, err)
	for k, v := range h {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (e *env) getOK(path string, q url.Values, hdr ...string) resp {
	e.t.Helper()
	r := e.get(path, q, hdr...)
	require.Equal(e.t, http.StatusOK, r.Status, "GET %s?%s: %s", path, q.Encode(), r.Body)
	return r
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(b, &v), "body: %.500s", b)
	return v
}

// readAllUsage walks every page of a usage query.
func (e *env) readAllUsage(q url.Values, hdr ...string) []adminapi.UsageBucket {
	e.t.Helper()
	return readAllPages[adminapi.UsageResult](e, adminapi.PathUsageMessages, q, hdr...)
}

func (e *env) readAllCost(q url.Values, hdr ...string) []adminapi.CostBucket {
	e.t.Helper()
	return readAllPages[adminapi.CostResult](e, adminapi.PathCostReport, q, hdr...)
}

func readAllPages[R any](e *env, path string, q url.Values, hdr ...string) []adminapi.Bucket[R] {
	e.t.Helper()
	var out []adminapi.Bucket[R]
	q = cloneValues(q)
	for i := 0; ; i++ {
		require.Less(e.t, i, 10000, "too many pages")
		r := e.getOK(path, q, hdr...)
		p := decode[adminapi.Page[R]](e.t, r.Body)
		out = append(out, p.Data...)
		if !p.HasMore {
			require.Nil(e.t, p.NextPage)
			return out
		}
		require.NotNil(e.t, p.NextPage)
		q.Set("page", *p.NextPage)
	}
}

func (e *env) readAllClaudeCode(q url.Values) []adminapi.ClaudeCodeRecord {
	e.t.Helper()
	var out []adminapi.ClaudeCodeRecord
	q = cloneValues(q)
	for i := 0; ; i++ {
		require.Less(e.t, i, 10000, "too many pages")
		r := e.getOK(adminapi.PathClaudeCode, q)
		p := decode[adminapi.ClaudeCodePage](e.t, r.Body)
		out = append(out, p.Data...)
		if !p.HasMore {
			require.Nil(e.t, p.NextPage)
			return out
		}
		require.NotNil(e.t, p.NextPage)
		q.Set("page", *p.NextPage)
	}
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// usageTotals is the six counters of a usage row.
type usageTotals [6]int64

func totalsOf(r adminapi.UsageResult) usageTotals {
	return usageTotals{r.UncachedInputTokens, r.CacheReadInputTokens, r.CacheCreation.Ephemeral5mInputTokens, r.CacheCreation.Ephemeral1hInputTokens, r.OutputTokens, r.ServerToolUse.WebSearchRequests}
}

func truthTotals(r UsageTruthRow) usageTotals {
	return usageTotals{r.UncachedInputTokens, r.CacheReadInputTokens, r.CacheCreation5m, r.CacheCreation1h, r.OutputTokens, r.WebSearchRequests}
}

func (a *usageTotals) add(b usageTotals) {
	for i := range a {
		a[i] += b[i]
	}
}

func ps(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// usageKey renders the grouped dimensions of a usage row.
func usageKey(r adminapi.UsageResult, groups []string) string {
	var parts []string
	for _, g := range groups {
		var v *string
		switch g {
		case "api_key_id":
			v = r.APIKeyID
		case "workspace_id":
			v = r.WorkspaceID
		case "model":
			v = r.Model
		case "service_tier":
			v = r.ServiceTier
		case "context_window":
			v = r.ContextWindow
		case "inference_geo":
			v = r.InferenceGeo
		case "speed":
			v = r.Speed
		case "account_id":
			v = r.AccountID
		case "service_account_id":
			v = r.ServiceAccountID
		}
		parts = append(parts, g+"="+ps(v))
	}
	return strings.Join(parts, "|")
}

func truthKey(dims map[string]*string, groups []string) string {
	var parts []string
	for _, g := range groups {
		parts = append(parts, g+"="+ps(dims[g]))
	}
	return strings.Join(parts, "|")
}

// keyPaths lists every object key path in a JSON document, with "[]" for
// array elements and "{}" for the entries of the given map-valued keys.
func keyPaths(t *testing.T, b []byte, mapKeys ...string) []string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	set := map[string]bool{}
	isMap := map[string]bool{}
	for _, k := range mapKeys {
		isMap[k] = true
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := prefix + "." + k
				set[p] = true
				if isMap[k] {
					if m, ok := c.(map[string]any); ok {
						for _, mc := range m {
							walk(p+"{}", mc)
						}
						continue
					}
				}
				walk(p, c)
			}
		case []any:
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// listPage and errorEnvelope are the wire shapes of a list page and of an
// error response as the reference documents them. The client keeps its own
// unexported; the items of a list page are still decoded into the client's
// models, which checks that the two agree.
type listPage[T any] struct {
	Data    []T     `json:"data"`
	HasMore bool    `json:"has_more"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
}

type errorEnvelope struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID *string `json:"request_id"`
}

// requireError checks an error response: status, error.type, a message
// containing want, and the request-id header equal to the body's request_id.
func requireError(t *testing.T, r resp, status int, typ, want string) errorEnvelope {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	var env errorEnvelope
	require.NoError(t, json.Unmarshal(r.Body, &env), "body: %s", r.Body)
	require.Equal(t, "error", env.Type)
	require.Equal(t, typ, env.Error.Type)
	require.NotEmpty(t, env.Error.Message)
	if want != "" {
		require.Contains(t, env.Error.Message, want)
	}
	rid := r.Header.Get("request-id")
	require.True(t, strings.HasPrefix(rid, "req_"), "request-id header %q", rid)
	require.NotNil(t, env.RequestID)
	require.Equal(t, rid, *env.RequestID)
	return env
}

func dayStart(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }
