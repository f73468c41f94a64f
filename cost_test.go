// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadatatest"
)

// Cost rows to series, without HTTP: amounts in exact nano-cents; a row
// that is not USD, not a decimal, negative or sent twice is skipped with
// its reason; with description grouping the structured fields are kept,
// a null among them left out.
func TestCostRowsToSeries(t *testing.T) {
	row := func(ws, amount string) adminapi.CostResult {
		return adminapi.CostResult{Currency: "USD", Amount: adminapi.Decimal(amount), WorkspaceID: sp(ws)}
	}
	nano := func(n int64) accounting.Counters { return accounting.Counters{n} }
	tests := []struct {
		name    string
		groupBy []string
		rows    []adminapi.CostResult
		want    map[seriesKey]accounting.Counters
		skipped skipCounts
	}{
		{
			name:    "decimal cents to nano-cents, summed per workspace",
			groupBy: []string{groupWorkspace},
			rows: []adminapi.CostResult{row("wrkspc_a", "123.45"), {Currency: "USD", Amount: "0.000000001", WorkspaceID: sp("wrkspc_a"), Model: sp("haiku")},
				{Currency: "USD", Amount: "1"}},
			want: map[seriesKey]accounting.Counters{
				{costWorkspace: "wrkspc_a"}:       nano(123_450_000_001),
				{costWorkspace: defaultWorkspace}: nano(1_000_000_000),
			},
		},
		{
			name:    "amounts the receiver cannot count",
			groupBy: nil,
			rows: []adminapi.CostResult{row("a", "1"), row("b", "NaN"), row("c", ""), row("d", "-3"), row("e", "Infinity"),
				{Currency: "EUR", Amount: "5", WorkspaceID: sp("f")}, row("a", "1")},
			want:    map[seriesKey]accounting.Counters{{}: nano(1_000_000_000)},
			skipped: skipCounts{"amount is not a decimal": 3, "negative amount": 1, "currency is not USD": 1, "row repeated within a bucket": 1},
		},
		{
			name:    "description grouping keeps the structured fields",
			groupBy: []string{groupWorkspace, groupDescription},
			rows: []adminapi.CostResult{
				{Currency: "USD", Amount: "10", WorkspaceID: sp("wrkspc_a"), Description: sp("Claude Sonnet 4.6 Usage - Output Tokens"),
					CostType: sp("tokens"), TokenType: sp("output_tokens"), Model: sp("claude-sonnet-4-6"), ServiceTier: sp("standard"),
					ContextWindow: sp("0-200k"), InferenceGeo: sp("global")},
				{Currency: "USD", Amount: "2", Description: sp("Web Search"), CostType: sp("web_search")},
			},
			want: map[seriesKey]accounting.Counters{
				{"wrkspc_a", "Claude Sonnet 4.6 Usage - Output Tokens", "tokens", "output_tokens", "claude-sonnet-4-6", "standard", "0-200k", "global"}: nano(10_000_000_000),
				{costWorkspace: defaultWorkspace, costDescription: "Web Search", costType: "web_search"}:                                                nano(2_000_000_000),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewDefaultCostConfig()
			cfg.GroupBy = tt.groupBy
			p := newCostSource(cfg, nil).mapPage(&adminapi.CostPage{Data: []adminapi.CostBucket{{
				StartingAt: fixedNow.Truncate(24 * time.Hour), EndingAt: fixedNow.Truncate(24 * time.Hour).Add(24 * time.Hour), Results: tt.rows,
			}}})
			assert.Equal(t, tt.want, collectBuckets(p)[0].rows)
			assertSkipped(t, tt.skipped, p.skipped)
		})
	}
}

// Skipped rows are one warning per reason and poll, not one per row, and
// counted in the receiver's telemetry.
func TestSkippedRowsAreOneWarningPerReason(t *testing.T) {
	day := fixedNow.Truncate(24 * time.Hour)
	var rows []string
	for i, amount := range []string{`"123.45"`, `"NaN"`, `""`, `"Infinity"`, `"x"`, `"-3"`} {
		rows = append(rows, fmt.Sprintf(`{"currency":"USD","amount":%s,"workspace_id":"wrkspc_%d"}`, amount, i))
	}
	body := usageBody(bucketJSON(day, 24*time.Hour, rows...))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Usage.Poll.Enabled = false
	cfg.Cost.Poll.Enabled = true
	core, logs := observer.New(zap.WarnLevel)
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	r := startReceiver(t, cfg, func() time.Time { return fixedNow }, withSettings(set))
	md, err := r.poll()
	require.NoError(t, err)
	got := ledger{}
	got.add(md)
	assert.InDelta(t, 1.2345, got.sum("anthropic.cost", nil), 1e-12)
	cost := attribute.String("report", "cost")
	metadatatest.AssertEqualAnthropicUsageSkipped(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(cost, attribute.String("reason", "amount is not a decimal")), Value: 4},
		{Attributes: attribute.NewSet(cost, attribute.String("reason", "negative amount")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	notDecimal := logs.FilterField(zap.String("reason", "amount is not a decimal")).All()
	require.Len(t, notDecimal, 1, "one warning per reason and poll")
	assert.Equal(t, int64(4), notDecimal[0].ContextMap()["rows"])
	assert.Equal(t, 1, logs.FilterField(zap.String("reason", "negative amount")).Len())
}

// The cost report answers 400 for a window that is too recent: not an
// outage. It is logged at debug level, and read again next interval; a 400
// for an older window is a real error.
func TestCostTooRecentIsNotAnOutage(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"invalid_request_error","message":"starting_at is too recent"},"request_id":"req_recent"}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		lookback time.Duration
		wantErr  bool
	}{
		{lookback: 0, wantErr: false},                 // today only: too recent
		{lookback: 7 * 24 * time.Hour, wantErr: true}, // a week back: a real 400
	} {
		requests.Store(0)
		cfg := testConfig(srv.URL)
		cfg.Usage.Poll.Enabled = false
		cfg.Cost.Poll.Enabled = true
		cfg.Cost.Poll.Lookback = tc.lookback
		cfg.Cost.Poll.RevisionWindow = 0
		core, logs := observer.New(zap.DebugLevel)
		clock := fakeclock.New(fixedNow)
		r := startReceiver(t, cfg, clock.Now, withLogger(zap.New(core)))
		_, err := r.poll()
		if tc.wantErr {
			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid_request_error")
			continue
		}
		require.NoError(t, err)
		debug := logs.FilterMessageSnippet("not available yet").All()
		require.Len(t, debug, 1)
		assert.Equal(t, zap.DebugLevel, debug[0].Level)
		clock.Advance(10 * time.Minute)
		_, err = r.poll()
		require.NoError(t, err)
		assert.Equal(t, int32(1), requests.Load(), "read again at the next interval (1h), not every tick")
		clock.Advance(time.Hour)
		_, err = r.poll()
		require.NoError(t, err)
		assert.Equal(t, int32(2), requests.Load())
	}
}

// The reference's example bodies: one cost day and one Claude Code day.
func TestCostAndClaudeCodeGolden(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		golden string
		mod    func(*Config)
	}{
		{name: "cost", golden: "cost_cumulative.yaml", mod: func(c *Config) { c.Cost.Poll.Enabled = true }},
		{name: "cost with description", golden: "cost_description.yaml", mod: func(c *Config) {
			c.Cost.Poll.Enabled = true
			c.MetricsBuilderConfig.Metrics.AnthropicCost.EnabledAttributes = append(c.MetricsBuilderConfig.Metrics.AnthropicCost.EnabledAttributes,
				metadata.AnthropicCostMetricAttributeKeyAnthropicCostDescription)
		}},
		{name: "cost by workspace only", golden: "cost_workspace_only.yaml", mod: func(c *Config) {
			c.Cost.Poll.Enabled = true
			c.Cost.GroupBy = []string{"workspace_id"}
		}},
		{name: "claude code", golden: "claude_code.yaml", mod: func(c *Config) { c.ClaudeCode.Poll.Enabled, c.ClaudeCode.Actor = true, actorKeep }},
		{name: "claude code hashed actor", golden: "claude_code_hashed.yaml", mod: func(c *Config) {
			c.ClaudeCode.Poll.Enabled = true
			c.ClaudeCode.Actor = actorHash
			c.HashKey = testHashKey
		}},
		{name: "claude code dropped actor", golden: "claude_code_dropped.yaml", mod: func(c *Config) {
			c.ClaudeCode.Poll.Enabled = true
			c.ClaudeCode.Actor = actorDrop
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fixtureServer(t, map[string]string{
				adminapi.PathCostReport: "cost_report.json",
				adminapi.PathClaudeCode: "claude_code.json",
			})
			cfg := testConfig(srv.URL)
			cfg.Usage.Poll.Enabled = false
			tt.mod(cfg)
			r := startReceiver(t, cfg, func() time.Time { return now })
			md, err := r.poll()
			require.NoError(t, err)
			compareGolden(t, tt.golden, md)
		})
	}
}

// A day the API continues on the next page (the reference has seen has_more
// within one grouped day) is counted whole: its rows on both pages, summed
// per series where they meet, and the day is final only once all of it was
// read. Before, a long read sealed the first page through the end of that
// day, and the rest of it, older than the revision window, was skipped.
func TestBucketSplitAcrossPagesIsCountedWhole(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 8, 28+d, 0, 0, 0, 0, time.UTC) }
	row := func(ws, model, amount string) string {
		return fmt.Sprintf(`{"currency":"USD","amount":%q,"workspace_id":%q,"model":%q}`, amount, ws, model)
	}
	pages := map[string]string{
		"": `{"data":[` + bucketJSON(day(1), 24*time.Hour, row("wrkspc_a", "m1", "500")) + `,` +
			bucketJSON(day(2), 24*time.Hour, row("wrkspc_a", "m1", "300"), row("wrkspc_b", "m1", "200")) +
			`],"has_more":true,"next_page":"p2"}`,
		"p2": `{"data":[` + bucketJSON(day(2), 24*time.Hour, row("wrkspc_c", "m1", "400"), row("wrkspc_a", "m2", "200")) + `,` +
			bucketJSON(day(3), 24*time.Hour, row("wrkspc_a", "m1", "100")) + `,` +
			bucketJSON(day(4), 24*time.Hour, row("wrkspc_a", "m1", "100")) + `],"has_more":false,"next_page":null}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(pages[r.URL.Query().Get("page")]))
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Usage.Poll.Enabled = false
	cfg.Cost.Poll.Enabled = true
	cfg.Cost.GroupBy = []string{groupWorkspace}
	cfg.Cost.Poll.Lookback = 72 * time.Hour
	cfg.Cost.Poll.RevisionWindow = 24 * time.Hour // days 1 and 2 are final in this first read
	clock := fakeclock.New(fixedNow)
	next := &testConsumer{}
	r := startReceiver(t, cfg, clock.Now, withConsumer(next))
	clock.Advance(time.Second) // initial_delay: room to deliver page by page
	_, err := r.poll()
	require.NoError(t, err)
	require.Len(t, next.accepted, 2, "page by page")
	got := next.ledger()
	assert.InDelta(t, 18.0, got.sum("anthropic.cost", nil), 1e-9, "every row of every day")
	for ws, want := range map[string]float64{"wrkspc_a": 12, "wrkspc_b": 2, "wrkspc_c": 4} {
		assert.InDelta(t, want, got.sum("anthropic.cost", map[string]any{"resource.anthropic.workspace.id": ws}), 1e-9, ws)
	}
	assert.Equal(t, day(3), r.report("cost").stream.Watermark())
}

// The last bucket of a page that another follows waits for the next page,
// and joins the next page's first bucket when it is the same bucket.
func TestWholeBuckets(t *testing.T) {
	b := func(d int, results ...int) adminapi.Bucket[int] {
		start := time.Date(2026, 9, d, 0, 0, 0, 0, time.UTC)
		return adminapi.Bucket[int]{StartingAt: start, EndingAt: start.Add(24 * time.Hour), Results: results}
	}
	pages := []*adminapi.Page[int]{
		{Data: []adminapi.Bucket[int]{b(1, 1), b(2, 2)}, HasMore: true},
		{Data: []adminapi.Bucket[int]{b(2, 3), b(3, 4)}, HasMore: true},
		{Data: []adminapi.Bucket[int]{b(4, 5)}, HasMore: true},
		{Data: []adminapi.Bucket[int]{}, HasMore: false},
	}
	var got [][]adminapi.Bucket[int]
	seq := func(yield func(*adminapi.Page[int], error) bool) {
		for _, p := range pages {
			if !yield(p, nil) {
				return
			}
		}
	}
	for p, err := range wholeBuckets(seq) {
		require.NoError(t, err)
		got = append(got, slices.Clone(p.Data))
	}
	assert.Equal(t, [][]adminapi.Bucket[int]{
		{b(1, 1)},
		{b(2, 2, 3)},
		{b(3, 4)},
		{b(4, 5)},
	}, got)
}

// A series' running total passes int64 nano-cents (about $92 million) and
// keeps counting, exactly: $120 million on one series.
func TestCostTotalsBeyondInt64(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 8, 30+d, 0, 0, 0, 0, time.UTC) }
	row := `{"currency":"USD","amount":"6000000000.00","workspace_id":"wrkspc_a"}` // $60 million
	body := `{"data":[` + bucketJSON(day(0), 24*time.Hour, row) + `,` + bucketJSON(day(1), 24*time.Hour, row) + `],"has_more":false,"next_page":null}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
	defer srv.Close()
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		cfg := testConfig(srv.URL)
		cfg.Temporality = temporality
		cfg.Usage.Poll.Enabled = false
		cfg.Cost.Poll.Enabled = true
		cfg.Cost.GroupBy = []string{groupWorkspace}
		cfg.Cost.Poll.Lookback = 48 * time.Hour
		next := &testConsumer{}
		r := startReceiver(t, cfg, func() time.Time { return fixedNow }, withConsumer(next))
		_, err := r.poll()
		require.NoError(t, err)
		assert.Equal(t, 1.2e8, next.ledger().sum("anthropic.cost", nil), "%s: $120 million, not stopped at $92 million", temporality)
	}
}
