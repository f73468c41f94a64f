// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const testKey = "sk-ant-admin01-TESTSECRET-0123456789"

var day = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

// waits is a fake clock: Sleep records the wait and moves time on at once.
type waits struct {
	mu  sync.Mutex
	now time.Time
	d   []time.Duration
}

func (w *waits) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *waits) Sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.now = w.now.Add(d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) slept() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func testSettings(url string) Settings {
	return Settings{
		Endpoint:          url,
		AdminKey:          testKey,
		UserAgent:         "anthropic_usage-receiver/test",
		MaxResponseBytes:  256 << 20,
		MaxPages:          10,
		RequestsPerMinute: 6000,
		Burst:             100,
		Logger:            zap.NewNop(),
		Retry: configretry.BackOffConfig{
			Enabled: true, InitialInterval: time.Second, MaxInterval: 8 * time.Second,
			Multiplier: 2, MaxElapsedTime: time.Minute,
		},
	}
}

func newTestClient(t *testing.T, url string, mod ...func(*Settings)) (*Client, *waits, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	s := testSettings(url)
	s.Logger = zap.New(core)
	for _, m := range mod {
		m(&s)
	}
	c, err := New(http.DefaultClient, s)
	require.NoError(t, err)
	w := &waits{now: time.Now()}
	c.clock = w
	return c, w, logs
}

// drain ranges over pages to the end and returns them and the error, which
// must be the last thing the iterator yields.
func drain[P any](t *testing.T, seq iter.Seq2[*P, error]) ([]*P, error) {
	t.Helper()
	var pages []*P
	var failed error
	for p, err := range seq {
		require.NoError(t, failed, "nothing is yielded after an error")
		if err != nil {
			require.Nil(t, p, "an error comes without a page")
			failed = err
			continue
		}
		require.NotNil(t, p)
		pages = append(pages, p)
	}
	return pages, failed
}

func buckets[R any](pages []*Page[R]) []Bucket[R] {
	var out []Bucket[R]
	for _, p := range pages {
		out = append(out, p.Data...)
	}
	return out
}

func usageQuery() ReportQuery {
	return ReportQuery{
		StartingAt: day, EndingAt: day.Add(2 * time.Hour), BucketWidth: BucketWidth1h, Limit: 168,
		GroupBy: []string{"workspace_id", "model"},
		Filters: map[string][]string{"models": {"claude-sonnet-4-6", "claude-haiku-4-5"}, "context_window": {"0-200k"}},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.Header().Set("request-id", "req_test_1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func page(start time.Time, n int, next string) map[string]any {
	data := []map[string]any{}
	for i := range n {
		s := start.Add(time.Duration(i) * time.Hour)
		data = append(data, map[string]any{
			"starting_at": s.Format(time.RFC3339), "ending_at": s.Add(time.Hour).Format(time.RFC3339),
			"results": []map[string]any{{"uncached_input_tokens": i + 1, "cache_creation": map[string]any{"ephemeral_5m_input_tokens": 2, "ephemeral_1h_input_tokens": 3},
				"cache_read_input_tokens": 4, "output_tokens": 5, "server_tool_use": map[string]any{"web_search_requests": 6},
				"workspace_id": nil, "model": "claude-sonnet-4-6", "api_key_id": nil, "unknown_future_field": map[string]any{"x": 1}}},
		})
	}
	var np any
	if next != "" {
		np = next
	}
	return map[string]any{"data": data, "has_more": next != "", "next_page": np}
}

func errorBody(typ, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}, "request_id": "req_body_1"}
}

func TestRequestShape(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		writeJSON(w, 200, page(day, 1, ""))
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL+"/")
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.NoError(t, err)

	assert.Equal(t, PathUsageMessages, got.URL.Path)
	assert.Equal(t, testKey, got.Header.Get("x-api-key"))
	assert.Equal(t, "2023-06-01", got.Header.Get("anthropic-version"))
	assert.Equal(t, "anthropic_usage-receiver/test", got.Header.Get("User-Agent"))
	q := got.URL.Query()
	assert.Equal(t, []string{"workspace_id", "model"}, q["group_by[]"], "arrays use the bracket form")
	assert.Equal(t, []string{"claude-sonnet-4-6", "claude-haiku-4-5"}, q["models[]"])
	assert.Equal(t, []string{"0-200k"}, q["context_window[]"], "the context window filter's name is singular")
	assert.Equal(t, "2026-09-01T00:00:00Z", q.Get("starting_at"))
	assert.Equal(t, "2026-09-01T02:00:00Z", q.Get("ending_at"))
	assert.Equal(t, "1h", q.Get("bucket_width"))
	assert.Equal(t, "168", q.Get("limit"))
	assert.Empty(t, q.Get("page"))
}

func TestPaginationToTheEnd(t *testing.T) {
	var pages []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("page")
		pages = append(pages, p)
		assert.Equal(t, []string{"workspace_id", "model"}, r.URL.Query()["group_by[]"], "every page repeats the query")
		switch p {
		case "":
			writeJSON(w, 200, page(day, 2, "cur_a=="))
		case "cur_a==":
			writeJSON(w, 200, page(day.Add(2*time.Hour), 2, "cur_b"))
		case "cur_b":
			writeJSON(w, 200, page(day.Add(4*time.Hour), 1, ""))
		default:
			t.Errorf("unexpected page %q", p)
		}
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL)
	got, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.NoError(t, err)
	assert.Equal(t, []string{"", "cur_a==", "cur_b"}, pages)
	require.Len(t, got, 3)
	var sizes []string
	for _, p := range got {
		next := "<nil>"
		if p.NextPage != nil {
			next = *p.NextPage
		}
		sizes = append(sizes, fmt.Sprintf("%d:%v:%s", len(p.Data), p.HasMore, next))
	}
	assert.Equal(t, []string{"2:true:cur_a==", "2:true:cur_b", "1:false:<nil>"}, sizes, "pages come whole and in order")
	all := buckets(got)
	require.Len(t, all, 5)
	for i, b := range all {
		assert.Equal(t, day.Add(time.Duration(i)*time.Hour), b.StartingAt)
		assert.Equal(t, day.Add(time.Duration(i+1)*time.Hour), b.EndingAt)
		require.Len(t, b.Results, 1)
		r := b.Results[0]
		assert.Equal(t, int64(i%2+1), r.UncachedInputTokens)
		assert.Equal(t, int64(2), r.CacheCreation.Ephemeral5mInputTokens, "nested cache_creation is read")
		assert.Equal(t, int64(3), r.CacheCreation.Ephemeral1hInputTokens)
		assert.Equal(t, int64(6), r.ServerToolUse.WebSearchRequests)
		assert.Nil(t, r.WorkspaceID)
		require.NotNil(t, r.Model)
		assert.Equal(t, "claude-sonnet-4-6", *r.Model)
	}
}

// cursorKind is one way an endpoint pages: what the paginator reads a
// cursor from and where it sends it.
type cursorKind struct {
	name, path, param, field string
	// body is the page the server sends with the given cursor (nil = null).
	body func(n int, cursor *string, more bool) any
	// pages ranges over the endpoint's pages, counting them.
	pages func(ctx context.Context, c *Client) iter.Seq2[int, error]
}

func countPages[P any](seq iter.Seq2[*P, error], size func(*P) int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for p, err := range seq {
			n := 0
			if p != nil {
				n = size(p)
			}
			if !yield(n, err) {
				return
			}
		}
	}
}

var cursorKinds = []cursorKind{
	{
		name: "report: page = next_page, by bucket", path: PathUsageMessages, param: "page", field: "next_page",
		body: func(n int, cur *string, more bool) any {
			p := page(day.Add(time.Duration(n)*time.Hour), 1, "")
			p["next_page"], p["has_more"] = cur, more
			return p
		},
		pages: func(ctx context.Context, c *Client) iter.Seq2[int, error] {
			return countPages(c.UsageReport(ctx, usageQuery()), func(p *UsagePage) int { return len(p.Data) })
		},
	},
	{
		name: "claude code: page = next_page, by record", path: PathClaudeCode, param: "page", field: "next_page",
		body: func(n int, cur *string, more bool) any {
			return map[string]any{"data": []any{map[string]any{"date": "2026-09-01T00:00:00Z", "terminal_type": fmt.Sprint("t", n)}},
				"has_more": more, "next_page": cur}
		},
		pages: func(ctx context.Context, c *Client) iter.Seq2[int, error] {
			return countPages(c.ClaudeCodeReport(ctx, day), func(p *ClaudeCodePage) int { return len(p.Data) })
		},
	},
	{
		name: "list: after_id = last_id", path: PathWorkspaces, param: "after_id", field: "last_id",
		body: func(n int, cur *string, more bool) any {
			id := fmt.Sprint("wrkspc_", n)
			return map[string]any{"data": []any{map[string]any{"id": id, "name": "w"}}, "has_more": more, "first_id": id, "last_id": cur}
		},
		pages: func(ctx context.Context, c *Client) iter.Seq2[int, error] {
			return countPages(paginate(ctx, c, listEndpoint[Workspace](PathWorkspaces), url.Values{"limit": {"1000"}}),
				func(p *listPage[Workspace]) int { return len(p.Data) })
		},
	},
}

// The one paginator behind every list and report: it follows each kind of
// cursor to the end, stops on a cursor it cannot trust, and sends nothing
// once the consumer stops.
func TestPaginator(t *testing.T) {
	str := func(s string) *string { return &s }
	scenarios := []struct {
		name string
		// next is the cursor of the n-th page (1-based) and whether more follow.
		next      func(n int) (*string, bool)
		stopAfter int // the consumer breaks after this many pages; 0 = never
		wantPages int
		wantSent  []string // the cursor parameter of each request
		wantErr   string   // "" = no error; else ErrPagination with this text
	}{
		{"to the end", func(n int) (*string, bool) {
			if n < 3 {
				return str(fmt.Sprint("c", n)), true
			}
			return nil, false
		}, 0, 3, []string{"", "c1", "c2"}, ""},
		{"last page with a stale cursor", func(int) (*string, bool) { return str("ignored"), false }, 0, 1, []string{""}, ""},
		{"repeating cursor", func(int) (*string, bool) { return str("same"), true }, 0, 1, []string{"", "same"}, "repeats"},
		{"has_more without cursor", func(int) (*string, bool) { return nil, true }, 0, 0, []string{""}, "is empty"},
		{"has_more with an empty cursor", func(int) (*string, bool) { return str(""), true }, 0, 0, []string{""}, "is empty"},
		{"more than max_pages", func(n int) (*string, bool) { return str(fmt.Sprint("c", n)), true }, 0, 9,
			[]string{"", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}, "max_pages (10)"},
		{"consumer stops", func(n int) (*string, bool) { return str(fmt.Sprint("c", n)), true }, 2, 2, []string{"", "c1"}, ""},
	}
	for _, kind := range cursorKinds {
		for _, sc := range scenarios {
			t.Run(kind.name+"/"+sc.name, func(t *testing.T) {
				var mu sync.Mutex
				var sent []string
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					assert.Equal(t, kind.path, r.URL.Path)
					mu.Lock()
					sent = append(sent, r.URL.Query().Get(kind.param))
					n := len(sent)
					mu.Unlock()
					cur, more := sc.next(n)
					writeJSON(w, 200, kind.body(n, cur, more))
				}))
				defer srv.Close()
				c, _, _ := newTestClient(t, srv.URL)
				pages, errs := 0, 0
				var err error
				for n, e := range kind.pages(context.Background(), c) {
					if e != nil {
						err = e
						errs++
						continue
					}
					require.Zero(t, errs, "nothing is yielded after an error")
					assert.Equal(t, 1, n, "the page's items are decoded")
					pages++
					if pages == sc.stopAfter {
						break
					}
				}
				assert.Equal(t, sc.wantPages, pages, "pages yielded")
				mu.Lock()
				assert.Equal(t, sc.wantSent, sent, "requests sent")
				mu.Unlock()
				if sc.wantErr == "" {
					require.NoError(t, err)
					return
				}
				assert.Equal(t, 1, errs, "the error is yielded once")
				require.ErrorIs(t, err, ErrPagination)
				assert.Contains(t, err.Error(), sc.wantErr)
				assert.Contains(t, err.Error(), kind.path)
				if sc.wantErr != "max_pages (10)" {
					assert.Contains(t, err.Error(), kind.field)
				}
			})
		}
	}
}

func TestListsFollowLastID(t *testing.T) {
	type req struct{ path, after, limit, archived string }
	var got []req
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		got = append(got, req{r.URL.Path, q.Get("after_id"), q.Get("limit"), q.Get("include_archived")})
		switch r.URL.Path + "?" + q.Get("after_id") {
		case PathWorkspaces + "?":
			writeJSON(w, 200, map[string]any{"data": []any{
				map[string]any{"id": "wrkspc_1", "name": "One", "archived_at": nil},
				map[string]any{"id": "wrkspc_2", "name": "Two", "archived_at": "2026-08-01T00:00:00Z"},
			}, "has_more": true, "first_id": "wrkspc_1", "last_id": "wrkspc_2"})
		case PathWorkspaces + "?wrkspc_2":
			writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "wrkspc_3", "name": "Three"}},
				"has_more": false, "first_id": "wrkspc_3", "last_id": "wrkspc_3"})
		case PathAPIKeys + "?":
			writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "apikey_1", "name": "ci", "workspace_id": nil}},
				"has_more": true, "first_id": "apikey_1", "last_id": "apikey_1"})
		case PathAPIKeys + "?apikey_1":
			// has_more on an empty page: nothing to continue after.
			writeJSON(w, 200, map[string]any{"data": []any{}, "has_more": true, "first_id": nil, "last_id": nil})
		default:
			t.Errorf("unexpected request %s", r.URL)
		}
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL)
	ws, err := c.ListWorkspaces(context.Background())
	require.NoError(t, err)
	require.Len(t, ws, 3)
	assert.Equal(t, []string{"One", "Two", "Three"}, []string{ws[0].Name, ws[1].Name, ws[2].Name})
	assert.Nil(t, ws[0].ArchivedAt)
	require.NotNil(t, ws[1].ArchivedAt)
	keys, err := c.ListAPIKeys(context.Background())
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.Equal(t, "ci", keys[0].Name)
	assert.Equal(t, []req{
		{PathWorkspaces, "", "1000", "true"}, {PathWorkspaces, "wrkspc_2", "1000", "true"},
		{PathAPIKeys, "", "1000", ""}, {PathAPIKeys, "apikey_1", "1000", ""},
	}, got)
}

func TestClaudeCodeReport(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{
			"date": "2026-09-01T00:00:00Z", "actor": map[string]any{"type": "api_actor", "api_key_name": "ci"},
			"terminal_type": "vscode", "core_metrics": map[string]any{"num_sessions": 3, "lines_of_code": map[string]any{"added": 10, "removed": 4}},
			"tool_actions":    map[string]any{"edit_tool": map[string]any{"accepted": 5, "rejected": 1}},
			"model_breakdown": []any{map[string]any{"model": "claude-sonnet-4-6", "estimated_cost": map[string]any{"currency": "USD", "amount": 12}}},
		}}, "has_more": false, "next_page": nil})
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL)
	pages, err := drain(t, c.ClaudeCodeReport(context.Background(), day.Add(13*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, "2026-09-01", got.Get("starting_at"), "the report takes a date")
	assert.Equal(t, "1000", got.Get("limit"))
	require.Len(t, pages, 1)
	require.Len(t, pages[0].Data, 1)
	r := pages[0].Data[0]
	assert.Equal(t, ClaudeCodeActor{Type: "api_actor", APIKeyName: "ci"}, r.Actor)
	assert.Equal(t, int64(3), r.CoreMetrics.NumSessions)
	assert.Equal(t, int64(4), r.CoreMetrics.LinesOfCode.Removed)
	assert.Equal(t, ClaudeCodeAction{Accepted: 5, Rejected: 1}, r.ToolActions["edit_tool"])
	require.Len(t, r.ModelBreakdown, 1)
	assert.Equal(t, int64(12), r.ModelBreakdown[0].EstimatedCost.Amount)
}

// Report pages are decoded more strictly than encoding/json would.
func TestReportPageDecoding(t *testing.T) {
	tests := []struct {
		name, body string
		buckets    int
		more       bool
		err        string
	}{
		{"keys without case", `{"DATA":[{"Starting_At":"2026-09-01T00:00:00Z","results":[{"OUTPUT_TOKENS":7}]}],"Has_More":true,"NEXT_PAGE":"p2"}`, 1, true, ""},
		{"unknown keys skipped", `{"future":{"data":[1]},"data":[],"has_more":false}`, 0, false, ""},
		{"data twice", `{"data":[],"data":[{"results":[]}]}`, 0, false, `"data" appears twice`},
		{"data null", `{"data":null}`, 0, false, "expected"},
		{"not an object", `[]`, 0, false, "expected"},
		{"data after the page", `{"data":[]} {}`, 0, false, "data after the JSON value"},
		{"bucket of the wrong type", `{"data":[1]}`, 0, false, "expected"},
		{"row of the wrong type", `{"data":[{"results":[1]}]}`, 0, false, "cannot unmarshal"},
		{"results twice", `{"data":[{"results":[],"RESULTS":[]}]}`, 0, false, `"results" appears twice`},
		{"results null", `{"data":[{"results":null}],"has_more":false}`, 1, false, ""},
		{"cut short", `{"data":[{"results":[`, 0, false, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodeInto[Page[UsageResult]](strings.NewReader(tt.body))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Nil(t, p)
				return
			}
			require.NoError(t, err)
			assert.Len(t, p.Data, tt.buckets)
			assert.Equal(t, tt.more, p.HasMore)
			if tt.more {
				require.NotNil(t, p.NextPage)
				assert.Equal(t, "p2", *p.NextPage)
				assert.Equal(t, int64(7), p.Data[0].Results[0].OutputTokens)
				assert.Equal(t, day, p.Data[0].StartingAt)
			}
		})
	}
}

// A malformed page is not a transient failure: it is not retried.
func TestMalformedPageIsNotRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		_, _ = io.WriteString(w, `{"data":[],"data":[]}`)
	}))
	defer srv.Close()
	c, w, logs := newTestClient(t, srv.URL)
	_, err := drain(t, c.CostReport(context.Background(), usageQuery()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), PathCostReport+": decoding the response")
	assert.Equal(t, int32(1), n.Load())
	assert.Empty(t, w.slept())
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, "decode", logs.All()[0].ContextMap()["error_type"])
}

func TestErrorsAreTypedAndNotRetried(t *testing.T) {
	tests := []struct {
		status int
		typ    string
		hint   string
	}{
		{400, "invalid_request_error", ""},
		{401, "authentication_error", "admin_api_key"},
		{403, "permission_error", "not an Admin API key"},
		{404, "not_found_error", "endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n.Add(1)
				writeJSON(w, tt.status, errorBody(tt.typ, "it went wrong"))
			}))
			defer srv.Close()
			c, w, logs := newTestClient(t, srv.URL)
			_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.status, ae.StatusCode)
			assert.Equal(t, tt.typ, ae.Type)
			assert.Equal(t, "it went wrong", ae.Message)
			assert.Equal(t, "req_test_1", ae.RequestID)
			assert.True(t, IsStatus(err, tt.status))
			assert.False(t, Retryable(tt.status))
			assert.Contains(t, err.Error(), tt.hint)
			assert.Contains(t, err.Error(), PathUsageMessages)
			assert.NotContains(t, err.Error(), testKey)
			assert.Equal(t, int32(1), n.Load(), "not retried")
			assert.Empty(t, w.slept())
			require.Equal(t, 1, logs.Len(), "one log line per failed request")
			f := logs.All()[0].ContextMap()
			assert.Equal(t, PathUsageMessages, f["endpoint"])
			assert.Equal(t, int64(tt.status), f["status"])
			assert.Equal(t, tt.typ, f["error_type"])
			assert.Equal(t, "req_test_1", f["request_id"])
		})
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantWait   time.Duration // every wait; 0 = backoff
	}{
		{"429 with retry-after", 429, "3", 3 * time.Second},
		{"429 spend cap without retry-after", 429, "", 0},
		{"500", 500, "", 0},
		{"502", 502, "", 0},
		{"503", 503, "", 0},
		{"504", 504, "", 0},
		{"529", 529, "", 0},
		{"529 with retry-after-ms style seconds", 529, "0.5", 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if n.Add(1) <= 3 {
					if tt.retryAfter != "" {
						w.Header().Set("retry-after", tt.retryAfter)
					}
					writeJSON(w, tt.status, errorBody("rate_limit_error", "slow down"))
					return
				}
				writeJSON(w, 200, page(day, 1, ""))
			}))
			defer srv.Close()
			c, w, logs := newTestClient(t, srv.URL)
			pages, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
			require.NoError(t, err)
			assert.Len(t, buckets(pages), 1)
			assert.Equal(t, int32(4), n.Load())
			if tt.wantWait > 0 {
				assert.Equal(t, []time.Duration{tt.wantWait, tt.wantWait, tt.wantWait}, w.slept(), "retry-after is honoured")
			} else {
				assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, w.slept(), "exponential backoff")
			}
			assert.Equal(t, 3, logs.Len())
		})
	}
}

func TestTransportFailureIsRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			_ = conn.Close()
			return
		}
		writeJSON(w, 200, map[string]any{"id": "org_1", "name": "Acme", "type": "organization"})
	}))
	defer srv.Close()
	c, w, logs := newTestClient(t, srv.URL)
	org, err := c.Organization(context.Background())
	require.NoError(t, err)
	assert.Equal(t, Organization{ID: "org_1", Name: "Acme", Type: "organization"}, org)
	assert.Equal(t, []time.Duration{time.Second}, w.slept())
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, "transport", logs.All()[0].ContextMap()["error_type"])
}

// The waits come from the configured backoff: jittered within the
// randomization factor, capped at max_interval before the jitter.
func TestBackoffJitterAndCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 500, errorBody("api_error", "boom"))
	}))
	defer srv.Close()
	distinct := map[time.Duration]bool{}
	for range 20 {
		c, w, _ := newTestClient(t, srv.URL, func(s *Settings) {
			s.Retry = configretry.BackOffConfig{Enabled: true, InitialInterval: time.Second, MaxInterval: 5 * time.Second,
				Multiplier: 2, RandomizationFactor: 0.5, MaxElapsedTime: 30 * time.Second}
		})
		_, err := c.Organization(context.Background())
		require.True(t, IsStatus(err, 500))
		d := w.slept()
		require.GreaterOrEqual(t, len(d), 5)
		assert.GreaterOrEqual(t, d[0], 500*time.Millisecond)
		assert.LessOrEqual(t, d[0], 1500*time.Millisecond)
		for _, x := range d {
			assert.LessOrEqual(t, x, 7500*time.Millisecond+time.Nanosecond, "capped at max_interval before jitter")
			distinct[x] = true
		}
	}
	assert.Greater(t, len(distinct), 10, "the waits are jittered")
}

func TestRetryBoundedByDeadline(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("retry-after", "120")
			writeJSON(w, 429, errorBody("rate_limit_error", "slow down"))
			return
		}
		writeJSON(w, 200, map[string]any{"id": "org_1"})
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL, func(s *Settings) { s.Retry.MaxElapsedTime = 0 })
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(10*time.Second))
	defer cancel()
	_, err := drain(t, c.UsageReport(ctx, usageQuery()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deadline")
	assert.True(t, IsStatus(err, 429))
	assert.Equal(t, int32(1), n.Load())
	assert.Empty(t, w.slept(), "no wait that cannot end before the deadline")

	// The 429 holds back the next request, to another endpoint too.
	_, err = c.Organization(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{120 * time.Second}, w.slept(), "a 429 holds back every request of the client")
}

func TestRetryGivesUpAfterMaxElapsed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 529, errorBody("overloaded_error", "Overloaded"))
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL, func(s *Settings) { s.Retry.MaxElapsedTime = 8 * time.Second })
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "giving up after 4 attempts")
	assert.True(t, IsStatus(err, 529))
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, w.slept(), "the next wait, 8s, would pass max_elapsed_time")
}

func TestRetryDisabled(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		writeJSON(w, 503, errorBody("api_error", "unavailable"))
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL, func(s *Settings) { s.Retry.Enabled = false })
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	assert.True(t, IsStatus(err, 503))
	assert.Equal(t, int32(1), n.Load())
	assert.Empty(t, w.slept())
}

// A retried request decodes from the start: a body cut short yields
// nothing, and the retry yields the whole page once.
func TestTruncatedBodyIsRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			b, _ := json.Marshal(page(day, 3, ""))
			w.Header().Set("content-length", fmt.Sprint(len(b)))
			_, _ = w.Write(b[:len(b)/2])
			return
		}
		writeJSON(w, 200, page(day, 3, ""))
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL)
	pages, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.NoError(t, err)
	require.Len(t, pages, 1)
	assert.Len(t, pages[0].Data, 3, "every bucket arrives, once")
	assert.Len(t, w.slept(), 1)
}

func TestBodyCap(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		writeJSON(w, 200, page(day, 50, ""))
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL, func(s *Settings) { s.MaxResponseBytes = 2048 })
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.ErrorIs(t, err, ErrBodyTooLarge)
	assert.Contains(t, err.Error(), "a page of 10 buckets is still over it; raise max_response_bytes")
	assert.Equal(t, int32(5), n.Load(), "limit 168, halved down to 10 (168/16), then the report fails")
	assert.Empty(t, w.slept(), "a body over the cap is not retried")

	// The Claude Code report and the lists do not shrink their pages.
	n.Store(0)
	_, err = drain(t, c.ClaudeCodeReport(context.Background(), day))
	require.ErrorIs(t, err, ErrBodyTooLarge)
	_, err = c.ListAPIKeys(context.Background())
	require.ErrorIs(t, err, ErrBodyTooLarge)
	assert.Equal(t, int32(2), n.Load())
}

func TestRedirectToAnotherHostKeepsTheKey(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-api-key") != "" {
			leaked.Store(true)
		}
		writeJSON(w, 200, page(day, 1, ""))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer srv.Close()
	c, w, logs := newTestClient(t, srv.URL)
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing a redirect")
	assert.False(t, leaked.Load(), "the admin key never reaches another host")
	assert.Empty(t, w.slept(), "a refused redirect is not retried")
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, "redirect_refused", logs.All()[0].ContextMap()["error_type"])
}

func TestKeyEchoedByServerIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, errorBody("authentication_error", "invalid x-api-key "+r.Header.Get("x-api-key")))
	}))
	defer srv.Close()
	c, _, logs := newTestClient(t, srv.URL)
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testKey)
	assert.Contains(t, err.Error(), "[REDACTED]")
	require.NotZero(t, logs.Len())
	for _, e := range logs.All() {
		for _, v := range e.ContextMap() {
			assert.NotContains(t, fmt.Sprint(v), testKey)
		}
	}
}

func TestErrorWithoutEnvelope(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>bad gateway</html>")
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL, func(s *Settings) { s.Retry.Enabled = false })
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 502, ae.StatusCode)
	assert.Equal(t, "Bad Gateway", ae.Type)
}

func TestDecimalAcceptsStringAndNumber(t *testing.T) {
	var rows []CostResult
	require.NoError(t, json.Unmarshal([]byte(`[{"amount":"123.45"},{"amount":0.1},{"amount":null}]`), &rows))
	assert.Equal(t, Decimal("123.45"), rows[0].Amount)
	assert.Equal(t, Decimal("0.1"), rows[1].Amount)
	assert.Equal(t, Decimal(""), rows[2].Amount)
	require.Error(t, json.Unmarshal([]byte(`{"amount":{"x":1}}`), &rows[0]))
}

// New fills in no default: every missing or bad setting is an error that
// names it.
func TestNewValidatesSettings(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Settings)
		want string
	}{
		{"relative endpoint", func(s *Settings) { s.Endpoint = "api.anthropic.com" }, "Endpoint"},
		{"no key", func(s *Settings) { s.AdminKey = "" }, "AdminKey"},
		{"no body cap", func(s *Settings) { s.MaxResponseBytes = 0 }, "MaxResponseBytes"},
		{"no page cap", func(s *Settings) { s.MaxPages = 0 }, "MaxPages"},
		{"no rate", func(s *Settings) { s.RequestsPerMinute = 0 }, "RequestsPerMinute"},
		{"no burst", func(s *Settings) { s.Burst = -1 }, "Burst"},
		{"no logger", func(s *Settings) { s.Logger = nil }, "Logger"},
		{"no initial interval", func(s *Settings) { s.Retry.InitialInterval = 0 }, "Retry: initial_interval"},
		{"max interval below initial", func(s *Settings) { s.Retry.MaxInterval = time.Millisecond }, "Retry: max_interval"},
		{"shrinking multiplier", func(s *Settings) { s.Retry.Multiplier = 0.5 }, "Retry: multiplier"},
		{"randomization over 1", func(s *Settings) { s.Retry.RandomizationFactor = 2 }, "randomization_factor"},
		{"max elapsed below max interval", func(s *Settings) { s.Retry.MaxElapsedTime = 2 * time.Second }, "max_elapsed_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings("https://api.anthropic.com")
			tt.mod(&s)
			c, err := New(http.DefaultClient, s)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	s := testSettings("https://api.anthropic.com")
	s.Retry = configretry.BackOffConfig{Enabled: false}
	s.UserAgent, s.Observer = "", nil
	_, err := New(http.DefaultClient, s)
	require.NoError(t, err, "retry settings matter only when retries are enabled; user agent and observer are optional")
	_, err = New(http.DefaultClient, Settings{})
	require.Error(t, err)
	for _, name := range []string{"Endpoint", "AdminKey", "MaxResponseBytes", "MaxPages", "RequestsPerMinute", "Burst", "Logger"} {
		assert.Contains(t, err.Error(), name, "every bad setting is named at once")
	}
}

// recorder is an Observer that writes down what it was told.
type recorder struct {
	mu    sync.Mutex
	calls []string
	waits []time.Duration
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) Request(endpoint string, status int, errType string, _ time.Duration) {
	r.add(fmt.Sprintf("request %s %d %s", endpoint, status, errType))
}
func (r *recorder) Retry(endpoint string)          { r.add("retry " + endpoint) }
func (r *recorder) Page(endpoint string, rows int) { r.add(fmt.Sprintf("page %s %d", endpoint, rows)) }
func (r *recorder) RateLimitWait(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, d)
}

// One limiter holds back everything the client sends, whichever endpoint;
// the observer is told about every request, retry, report page and wait.
func TestRateLimitAndObserver(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case PathMe:
			if n.Add(1) == 1 {
				writeJSON(w, 529, errorBody("overloaded_error", "Overloaded"))
				return
			}
			writeJSON(w, 200, map[string]any{"id": "org_1"})
		case PathWorkspaces:
			writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "w"}}, "has_more": false})
		default:
			p := page(day, 2, "")
			p["data"].([]map[string]any)[1]["results"] = []any{}
			writeJSON(w, 200, p)
		}
	}))
	defer srv.Close()
	rec := &recorder{}
	c, w, _ := newTestClient(t, srv.URL, func(s *Settings) {
		s.RequestsPerMinute, s.Burst, s.Observer = 60, 2, rec
	})
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.NoError(t, err)
	_, err = c.ListWorkspaces(context.Background())
	require.NoError(t, err)
	_, err = c.Organization(context.Background())
	require.NoError(t, err)
	// Two tokens at once, then one a second: the third request, to a third
	// endpoint, waits 1s; the 529's backoff of 1s earns the retry's token.
	assert.Equal(t, []time.Duration{time.Second, time.Second}, w.slept())
	assert.Equal(t, []string{
		"request " + PathUsageMessages + " 200 ", "page " + PathUsageMessages + " 1",
		"request " + PathWorkspaces + " 200 ",
		"request " + PathMe + " 529 overloaded_error", "retry " + PathMe, "request " + PathMe + " 200 ",
	}, rec.calls, "lists and lookups are not report pages")
	assert.Equal(t, []time.Duration{time.Second}, rec.waits)

	// A pause after a 429 holds back the next request until it ends.
	c.pauseUntil(w.Now().Add(time.Hour))
	_, err = c.Organization(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Second, time.Second, time.Hour}, w.slept())
	assert.Equal(t, []time.Duration{time.Second, time.Hour}, rec.waits)

	// A request whose context ends while it waits is never sent.
	before := n.Load()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.pauseUntil(w.Now().Add(time.Minute))
	_, err = c.Organization(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, before, n.Load())
}

// A page that outgrows max_response_bytes is asked again with fewer buckets
// a page, and the smaller limit sticks for the endpoint.
func TestPageOverCapHalvesTheLimit(t *testing.T) {
	var limits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limits = append(limits, q.Get("limit"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		from := day
		if p := q.Get("page"); p != "" {
			from, _ = time.Parse(time.RFC3339, p)
		}
		n := min(limit, int(day.Add(100*time.Hour).Sub(from)/time.Hour))
		next := ""
		if end := from.Add(time.Duration(n) * time.Hour); end.Before(day.Add(100 * time.Hour)) {
			next = end.Format(time.RFC3339)
		}
		writeJSON(w, 200, page(from, n, next))
	}))
	defer srv.Close()
	one := len(mustJSON(t, page(day, 1, "")))
	c, _, logs := newTestClient(t, srv.URL, func(s *Settings) { s.MaxResponseBytes = int64(60 * one) })
	pages, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.NoError(t, err)
	starts := map[time.Time]int{}
	for _, b := range buckets(pages) {
		starts[b.StartingAt]++
	}
	assert.Len(t, starts, 100, "every bucket was read")
	assert.Equal(t, []string{"168", "84", "42", "42", "42"}, limits, "100 buckets of which 60 fit a page")
	assert.Equal(t, 2, logs.FilterMessageSnippet("fewer buckets a page").Len())
	limits = nil
	_, err = drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.NoError(t, err)
	assert.Equal(t, "42", limits[0], "the smaller limit sticks")
	limits = nil
	_, err = drain(t, c.CostReport(context.Background(), usageQuery()))
	require.NoError(t, err)
	assert.Equal(t, "168", limits[0], "per endpoint")
}

// When a later page outgrows the cap, the query restarts from its first
// page: the pages yielded before come again, with fewer buckets each.
func TestPageOverCapRestartsTheQuery(t *testing.T) {
	type req struct{ limit, page string }
	var sent []req
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sent = append(sent, req{q.Get("limit"), q.Get("page")})
		limit, _ := strconv.Atoi(q.Get("limit"))
		from := 0
		if p := q.Get("page"); p != "" {
			from, _ = strconv.Atoi(p)
		}
		n := min(limit, 60-from)
		next := ""
		if from+n < 60 {
			next = strconv.Itoa(from + n)
		}
		body := page(day.Add(time.Duration(from)*time.Hour), n, next)
		if from > 0 && limit > 20 {
			body["padding"] = strings.Repeat("x", 1<<20) // the second page of 40 outgrows the cap
		}
		writeJSON(w, 200, body)
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL, func(s *Settings) { s.MaxResponseBytes = 1 << 20 })
	q := usageQuery()
	q.Limit = 40
	pages, err := drain(t, c.UsageReport(context.Background(), q))
	require.NoError(t, err)
	assert.Equal(t, []req{{"40", ""}, {"40", "40"}, {"20", ""}, {"20", "20"}, {"20", "40"}}, sent)
	var sizes []int
	starts := map[time.Time]int{}
	for _, p := range pages {
		sizes = append(sizes, len(p.Data))
		for _, b := range p.Data {
			starts[b.StartingAt]++
		}
	}
	assert.Equal(t, []int{40, 20, 20, 20}, sizes)
	assert.Equal(t, 2, starts[day], "yielded before the restart and again after it")
	assert.Equal(t, 2, starts[day.Add(39*time.Hour)])
	assert.Equal(t, 1, starts[day.Add(40*time.Hour)])
	assert.Len(t, starts, 60)
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// A retry-after is the server's word, but not an unbounded one: a 429 pauses
// every report, so a value of a year (or a garbage number) must not stop the
// receiver for a year.
func TestRetryAfterHeader(t *testing.T) {
	future := time.Now().Add(400 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name, ms, s string
		want        time.Duration
	}{
		{"seconds", "", "3", 3 * time.Second},
		{"fractional seconds", "", "0.5", 500 * time.Millisecond},
		{"milliseconds first", "1500", "3", 1500 * time.Millisecond},
		{"absent", "", "", 0},
		{"negative", "", "-1", 0},
		{"not a number", "", "soon", 0},
		{"NaN", "NaN", "NaN", 0},
		{"infinite", "", "+Inf", maxRetryAfter},
		{"a year", "", "31536000", maxRetryAfter},
		{"overflowing duration", "", "1e300", maxRetryAfter},
		{"overflowing milliseconds", "1e308", "", maxRetryAfter},
		{"bad milliseconds, good seconds", "x", "2", 2 * time.Second},
		{"a date over a year ahead", "", future, maxRetryAfter},
		{"a date in the past", "", "Mon, 02 Jan 2006 15:04:05 GMT", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ms != "" {
				h.Set("retry-after-ms", tt.ms)
			}
			if tt.s != "" {
				h.Set("retry-after", tt.s)
			}
			assert.Equal(t, tt.want, retryAfter(h))
		})
	}
}

func TestRetryAfterOfAYearPausesAnHourAtMost(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("retry-after", "31536000")
			writeJSON(w, 429, errorBody("rate_limit_error", "slow down"))
			return
		}
		writeJSON(w, 200, map[string]any{"id": "org_1"})
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL)
	_, err := drain(t, c.UsageReport(context.Background(), usageQuery()))
	require.Error(t, err, "an hour is past max_elapsed_time")
	_, err = c.Organization(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{maxRetryAfter}, w.slept(), "every request waits an hour at most")
}

// A context canceled between two pages ends the report with its error,
// without sending the next request or logging a failed one.
func TestContextCanceledMidReport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, page(day, 1, fmt.Sprint("p", r.URL.Query().Get("page"))))
	}))
	defer srv.Close()
	c, _, logs := newTestClient(t, srv.URL)
	pages := 0
	var err error
	for p, e := range c.UsageReport(ctx, usageQuery()) {
		if e != nil {
			err = e
			break
		}
		require.NotNil(t, p)
		pages++
		cancel()
	}
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, pages)
	assert.Equal(t, int32(1), n.Load(), "a canceled context sends nothing more")
	assert.Zero(t, logs.Len(), "a canceled request is not a failed request")
	assert.False(t, errors.Is(err, ErrPagination))
}
