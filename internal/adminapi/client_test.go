package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// retryWaits are the waits between attempts, leaving out limiter waits.
func (w *waits) retryWaits() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d
}

func newTestClient(t *testing.T, url string, mod ...func(*Settings)) (*Client, *waits, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	s := Settings{
		Endpoint:  url,
		AdminKey:  testKey,
		UserAgent: "anthropic_usage-receiver/test",
		MaxPages:  10,
		Limiter:   NewLimiter(6000, 100),
		Logger:    zap.New(core),
		Retry: RetryPolicy{
			Enabled: true, InitialInterval: time.Second, MaxInterval: 8 * time.Second,
			Multiplier: 2, MaxElapsedTime: time.Minute,
		},
	}
	for _, m := range mod {
		m(&s)
	}
	c, err := New(http.DefaultClient, s)
	require.NoError(t, err)
	w := &waits{now: time.Now()}
	c.clock = w
	c.settings.Limiter.clock = w
	return c, w, logs
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
	require.NoError(t, c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil))

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
		require.Equal(t, []string{"workspace_id", "model"}, r.URL.Query()["group_by[]"], "every page repeats the query")
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
	var starts []time.Time
	var pageEnds []string
	err := c.UsageReport(context.Background(), usageQuery(), func(b *UsageBucket) error {
		starts = append(starts, b.StartingAt)
		require.Len(t, b.Results, 1)
		r := b.Results[0]
		assert.Equal(t, int64(2), r.CacheCreation.Ephemeral5mInputTokens, "nested cache_creation is read")
		assert.Equal(t, int64(3), r.CacheCreation.Ephemeral1hInputTokens)
		assert.Equal(t, int64(6), r.ServerToolUse.WebSearchRequests)
		assert.Nil(t, r.WorkspaceID)
		return nil
	}, func(more bool) error {
		pageEnds = append(pageEnds, fmt.Sprintf("%d:%v", len(starts), more))
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"", "cur_a==", "cur_b"}, pages)
	assert.Equal(t, []string{"2:true", "4:true", "5:false"}, pageEnds, "onPage follows each page's buckets")
	require.Len(t, starts, 5)
	for i, s := range starts {
		assert.Equal(t, day.Add(time.Duration(i)*time.Hour), s)
	}
}

func TestPaginationGuards(t *testing.T) {
	tests := []struct {
		name string
		next func(n int) string
		want string
	}{
		{"repeating cursor", func(int) string { return "same" }, "repeats"},
		{"has_more without cursor", func(int) string { return "" }, "next_page is empty"},
		{"too many pages", func(n int) string { return fmt.Sprintf("p%d", n) }, "max_pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				i := int(n.Add(1))
				body := page(day, 1, "x")
				body["next_page"] = tt.next(i)
				if tt.next(i) == "" {
					body["next_page"] = nil
				}
				writeJSON(w, 200, body)
			}))
			defer srv.Close()
			c, _, _ := newTestClient(t, srv.URL)
			err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil)
			require.ErrorIs(t, err, ErrPagination)
			assert.Contains(t, err.Error(), tt.want)
			assert.LessOrEqual(t, int(n.Load()), 10)
		})
	}
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
			err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil)
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.status, ae.StatusCode)
			assert.Equal(t, tt.typ, ae.Type)
			assert.Equal(t, "it went wrong", ae.Message)
			assert.Equal(t, "req_test_1", ae.RequestID)
			assert.Contains(t, err.Error(), tt.hint)
			assert.Contains(t, err.Error(), PathUsageMessages)
			assert.NotContains(t, err.Error(), testKey)
			assert.Equal(t, int32(1), n.Load(), "not retried")
			assert.Empty(t, w.d)
			require.Equal(t, 1, logs.Len(), "one log line per failed request")
			f := logs.All()[0].ContextMap()
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
		wantWait   time.Duration // first wait; 0 = backoff
	}{
		{"429 with retry-after", 429, "3", 3 * time.Second},
		{"429 spend cap without retry-after", 429, "", 0},
		{"500", 500, "", 0},
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
			buckets := 0
			require.NoError(t, c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { buckets++; return nil }, nil))
			assert.Equal(t, 1, buckets)
			assert.Equal(t, int32(4), n.Load())
			require.Len(t, w.d, 3)
			if tt.wantWait > 0 {
				assert.Equal(t, []time.Duration{tt.wantWait, tt.wantWait, tt.wantWait}, w.d, "retry-after is honoured")
			} else {
				assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, w.d, "exponential backoff")
			}
			assert.Equal(t, 3, logs.Len())
		})
	}
}

func TestBackoffJitterAndCap(t *testing.T) {
	p := RetryPolicy{InitialInterval: time.Second, MaxInterval: 5 * time.Second, Multiplier: 2, RandomizationFactor: 0.5}
	for range 200 {
		d := backoff(p, 1)
		require.GreaterOrEqual(t, d, 500*time.Millisecond)
		require.LessOrEqual(t, d, 1500*time.Millisecond)
		d = backoff(p, 10)
		require.LessOrEqual(t, d, 7500*time.Millisecond, "capped at max_interval before jitter")
	}
}

func TestRetryBoundedByDeadline(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.Header().Set("retry-after", "120")
		writeJSON(w, 429, errorBody("rate_limit_error", "slow down"))
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL, func(s *Settings) { s.Retry.MaxElapsedTime = 0 })
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(10*time.Second))
	defer cancel()
	err := c.UsageReport(ctx, usageQuery(), func(*UsageBucket) error { return nil }, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deadline")
	assert.True(t, IsStatus(err, 429))
	assert.Equal(t, int32(1), n.Load())
	assert.Empty(t, w.d, "no wait that cannot end before the deadline")
	assert.Greater(t, c.settings.Limiter.reserve(w.Now()), 100*time.Second, "a 429 holds back every report")
}

func TestRetryGivesUpAfterMaxElapsed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 529, errorBody("overloaded_error", "Overloaded"))
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL, func(s *Settings) { s.Retry.MaxElapsedTime = time.Millisecond })
	err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "giving up after 1 attempts")
	assert.True(t, IsStatus(err, 529))
}

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
	starts := map[time.Time]int{}
	require.NoError(t, c.UsageReport(context.Background(), usageQuery(), func(b *UsageBucket) error { starts[b.StartingAt]++; return nil }, nil))
	assert.Len(t, starts, 3, "every bucket arrives")
	assert.Equal(t, 2, starts[day], "the buckets read before the body broke arrive again with the retry")
	assert.Len(t, w.d, 1)
}

func TestBodyCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, page(day, 50, ""))
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL, func(s *Settings) { s.MaxResponseBytes = 2048 })
	err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil)
	require.ErrorIs(t, err, ErrBodyTooLarge)
	assert.Empty(t, w.d, "a body over the cap is not retried")
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
	c, w, _ := newTestClient(t, srv.URL)
	err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing a redirect")
	assert.False(t, leaked.Load(), "the admin key never reaches another host")
	assert.Empty(t, w.d, "a refused redirect is not retried")
}

func TestKeyEchoedByServerIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, errorBody("authentication_error", "invalid x-api-key "+r.Header.Get("x-api-key")))
	}))
	defer srv.Close()
	c, _, logs := newTestClient(t, srv.URL)
	err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testKey)
	assert.Contains(t, err.Error(), "[REDACTED]")
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
	err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 502, ae.StatusCode)
	assert.Equal(t, "Bad Gateway", ae.Type)
}

func TestCallbackErrorStopsReading(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		writeJSON(w, 200, page(day, 2, "next"))
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, srv.URL)
	stop := errors.New("stop")
	err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return stop }, nil)
	require.ErrorIs(t, err, stop)
	assert.Equal(t, int32(1), n.Load())
}

func TestDecimalAcceptsStringAndNumber(t *testing.T) {
	var rows []CostResult
	require.NoError(t, json.Unmarshal([]byte(`[{"amount":"123.45"},{"amount":0.1},{"amount":null}]`), &rows))
	assert.Equal(t, Decimal("123.45"), rows[0].Amount)
	assert.Equal(t, Decimal("0.1"), rows[1].Amount)
	assert.Equal(t, Decimal(""), rows[2].Amount)
	require.Error(t, json.Unmarshal([]byte(`{"amount":{"x":1}}`), &rows[0]))
}

func TestNewRejectsRelativeEndpoint(t *testing.T) {
	_, err := New(http.DefaultClient, Settings{Endpoint: "api.anthropic.com"})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "absolute"))
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(60, 2)
	now := time.Now()
	assert.Zero(t, l.reserve(now))
	assert.Zero(t, l.reserve(now))
	d := l.reserve(now)
	assert.InDelta(t, float64(time.Second), float64(d), float64(10*time.Millisecond), "one token a second")
	assert.Zero(t, l.reserve(now.Add(time.Second)))
	l.PauseUntil(now.Add(time.Hour))
	assert.InDelta(t, float64(time.Hour), float64(l.reserve(now.Add(2*time.Second))), float64(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.Error(t, l.Wait(ctx))
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
	starts := map[time.Time]bool{}
	require.NoError(t, c.UsageReport(context.Background(), usageQuery(), func(b *UsageBucket) error { starts[b.StartingAt] = true; return nil }, nil))
	assert.Len(t, starts, 100, "every bucket was read")
	assert.Equal(t, []string{"168", "84", "42", "42", "42"}, limits, "100 buckets of which 60 fit a page")
	assert.Equal(t, 2, logs.FilterMessageSnippet("fewer buckets a page").Len())
	limits = nil
	require.NoError(t, c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil))
	assert.Equal(t, "42", limits[0], "the smaller limit sticks")
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
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("retry-after", "31536000")
		writeJSON(w, 429, errorBody("rate_limit_error", "slow down"))
	}))
	defer srv.Close()
	c, w, _ := newTestClient(t, srv.URL)
	err := c.UsageReport(context.Background(), usageQuery(), func(*UsageBucket) error { return nil }, nil)
	require.Error(t, err)
	assert.LessOrEqual(t, c.settings.Limiter.reserve(w.Now()), maxRetryAfter, "every report waits an hour at most")
}
