package anthropicusagereceiver

import (
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/filter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// The points the receiver builds must be what mdatagen's generated record
// functions make for the same series: same metrics (names, descriptions,
// units, temporality), attribute keys and values, resources and scope. The
// reference below records every series through the generated builder, the
// way metadata.yaml documents the metrics; the receiver's emission must
// match it exactly.

var (
	pointsStart = time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)
	pointsNow   = time.Date(2026, 9, 10, 15, 27, 30, 0, time.UTC)
)

func testNames() *nameCache {
	n := newNameCache()
	n.workspaces["wrkspc_a"] = "Research"
	n.apiKeys["apikey_1"] = "ci-runner"
	n.org = adminapi.Organization{ID: "org_1", Name: "Acme"}
	return n
}

type series[K comparable] struct {
	key K
	c   accounting.Counters
}

func eachOf[K comparable](ss []series[K]) func(func(accounting.SeriesID, K, accounting.Counters)) {
	return func(fn func(accounting.SeriesID, K, accounting.Counters)) {
		for i, s := range ss {
			fn(accounting.SeriesID(i), s.key, s.c)
		}
	}
}

// emitted is the receiver's emission of ss.
func emitted[K comparable, R comparable](cfg metadata.MetricsBuilderConfig, src source[K, R], ss []series[K], delta bool) pmetric.Metrics {
	r := &streamReport[K, R]{src: src, points: points{kit: newPointKit(cfg, receivertest.NewNopSettings(metadata.Type))}}
	return r.emit(pointsNow, pointsStart, eachOf(ss), delta)
}

// reference is the same emission through the generated record functions.
func reference[K comparable, R comparable](cfg metadata.MetricsBuilderConfig, src source[K, R], ss []series[K], delta bool,
	record func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k K, c accounting.Counters, skipZero bool),
) pmetric.Metrics {
	mb := metadata.NewMetricsBuilder(cfg, receivertest.NewNopSettings(metadata.Type), metadata.WithStartTime(pcommon.NewTimestampFromTime(pointsStart)))
	var order []R
	byRes := map[R][]series[K]{}
	for _, s := range ss {
		res := src.resource(s.key)
		if _, ok := byRes[res]; !ok {
			order = append(order, res)
		}
		byRes[res] = append(byRes[res], s)
	}
	ts := pcommon.NewTimestampFromTime(pointsNow)
	for _, res := range order {
		for _, s := range byRes[res] {
			record(mb, ts, s.key, s.c, delta)
		}
		rb := mb.NewResourceBuilder()
		src.setResource(rb, res)
		mb.EmitForResource(metadata.WithResource(rb.Emit()))
	}
	md := mb.Emit()
	if delta {
		setDelta(md)
	}
	return md
}

func referenceUsage(names *nameCache) func(*metadata.MetricsBuilder, pcommon.Timestamp, usageKey, accounting.Counters, bool) {
	return func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k usageKey, c accounting.Counters, skipZero bool) {
		var opts []metadata.MetricAttributeOption
		if k.apiKey != "" {
			opts = append(opts, metadata.WithAnthropicAPIKeyIDMetricAttribute(k.apiKey))
			if name := names.apiKeyName(k.apiKey); name != "" {
				opts = append(opts, metadata.WithAnthropicAPIKeyNameMetricAttribute(name))
			}
		}
		if k.serviceTier != "" {
			opts = append(opts, metadata.WithAnthropicServiceTierMetricAttribute(k.serviceTier))
		}
		if k.contextWindow != "" {
			opts = append(opts, metadata.WithAnthropicContextWindowMetricAttribute(k.contextWindow))
		}
		if k.inferenceGeo != "" {
			opts = append(opts, metadata.WithAnthropicInferenceGeoMetricAttribute(k.inferenceGeo))
		}
		for _, t := range usageTokenTypes {
			if v := c[t.pos]; v != 0 || !skipZero {
				mb.RecordAnthropicUsageTokensDataPoint(ts, v, t.typ, t.genAI, opts...)
			}
		}
		if v := c[usageWebSearch]; v != 0 || !skipZero {
			mb.RecordAnthropicUsageWebSearchRequestsDataPoint(ts, v, opts...)
		}
	}
}

func referenceClaudeCode(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k ccKey, c accounting.Counters, skipZero bool) {
	var opts []metadata.MetricAttributeOption
	if k.actor != "" {
		opts = append(opts, metadata.WithAnthropicClaudeCodeActorMetricAttribute(k.actor))
	}
	emit := func(v int64) bool { return v != 0 || !skipZero }
	switch k.kind {
	case ccCore:
		if emit(c[0]) {
			mb.RecordAnthropicClaudeCodeSessionsDataPoint(ts, c[0], k.actorType, k.terminal, opts...)
		}
		if emit(c[1]) {
			mb.RecordAnthropicClaudeCodeLinesOfCodeDataPoint(ts, c[1], k.actorType, k.terminal, metadata.AttributeAnthropicClaudeCodeLinesTypeAdded, opts...)
		}
		if emit(c[2]) {
			mb.RecordAnthropicClaudeCodeLinesOfCodeDataPoint(ts, c[2], k.actorType, k.terminal, metadata.AttributeAnthropicClaudeCodeLinesTypeRemoved, opts...)
		}
		if emit(c[3]) {
			mb.RecordAnthropicClaudeCodeCommitsDataPoint(ts, c[3], k.actorType, k.terminal, opts...)
		}
		if emit(c[4]) {
			mb.RecordAnthropicClaudeCodePullRequestsDataPoint(ts, c[4], k.actorType, k.terminal, opts...)
		}
	case ccTool:
		if emit(c[0]) {
			mb.RecordAnthropicClaudeCodeToolActionsDataPoint(ts, c[0], k.actorType, k.terminal, k.sub, metadata.AttributeAnthropicClaudeCodeDecisionAccepted, opts...)
		}
		if emit(c[1]) {
			mb.RecordAnthropicClaudeCodeToolActionsDataPoint(ts, c[1], k.actorType, k.terminal, k.sub, metadata.AttributeAnthropicClaudeCodeDecisionRejected, opts...)
		}
	case ccModel:
		for i, t := range ccTokenTypes {
			if emit(c[i]) {
				mb.RecordAnthropicClaudeCodeTokensDataPoint(ts, c[i], k.actorType, k.terminal, k.sub, t.typ, t.genAI, opts...)
			}
		}
		if emit(c[ccCostCents]) {
			mb.RecordAnthropicClaudeCodeEstimatedCostDataPoint(ts, float64(c[ccCostCents])/100, k.actorType, k.terminal, k.sub, opts...)
		}
	}
}

// Configurations the comparison runs under: the defaults, a metric and a
// resource attribute disabled, and resource filters.
func pointsConfigs() map[string]metadata.MetricsBuilderConfig {
	def := metadata.DefaultMetricsBuilderConfig()
	noWebSearch := metadata.DefaultMetricsBuilderConfig()
	noWebSearch.Metrics.AnthropicUsageWebSearchRequests.Enabled = false
	noWebSearch.Metrics.AnthropicClaudeCodeCommits.Enabled = false
	noWebSearch.ResourceAttributes.AnthropicWorkspaceName.Enabled = false
	include := metadata.DefaultMetricsBuilderConfig()
	include.ResourceAttributes.AnthropicWorkspaceID.MetricsInclude = []filter.Config{{Strict: "wrkspc_a"}}
	exclude := metadata.DefaultMetricsBuilderConfig()
	exclude.ResourceAttributes.GenAiRequestModel.MetricsExclude = []filter.Config{{Regex: "^claude-haiku"}}
	return map[string]metadata.MetricsBuilderConfig{
		"defaults": def,
		"a metric and a resource attribute disabled": noWebSearch,
		"metrics_include": include,
		"metrics_exclude": exclude,
	}
}

func TestPointsMatchGeneratedBuilder(t *testing.T) {
	names := testNames()
	usageSeries := []series[usageKey]{
		{usageKey{"wrkspc_a", "claude-sonnet-4-6", "apikey_1", "standard", "0-200k", ""}, accounting.Counters{100, 20, 3, 0, 50, 2}},
		{usageKey{"wrkspc_a", "claude-sonnet-4-6", "apikey_2", "batch", "0-200k", ""}, accounting.Counters{7, 0, 0, 0, 9, 0}},
		{usageKey{"default", "claude-haiku-4-5", consoleAPIKey, "standard", "200k-1M", "us"}, accounting.Counters{1, 2, 3, 4, 5, 6}},
		{usageKey{"wrkspc_a", "claude-haiku-4-5", "", "", "", ""}, accounting.Counters{}},
		{usageKey{"", "", "", "", "", ""}, accounting.Counters{0, 0, 0, 0, 11, 0}},
	}
	ccSeries := []series[ccKey]{
		{ccKey{ccCore, "ana@example.com", "user_actor", "vscode", ""}, accounting.Counters{3, 120, 40, 2, 1}},
		{ccKey{ccTool, "", "api_actor", "", "edit_tool"}, accounting.Counters{5, 0}},
		{ccKey{ccModel, "3f1a", "user_actor", "iTerm.app", "claude-opus-4-6"}, accounting.Counters{1000, 200, 0, 50, 137}},
		{ccKey{ccCore, "", "", "", ""}, accounting.Counters{}},
	}
	const input, output = "Claude Sonnet 4.6 Usage - Input Tokens", "Claude Sonnet 4.6 Usage - Output Tokens"
	costSeries := []series[costKey]{
		// Two descriptions of the same tokens: summed while the description
		// attribute is off (its default).
		{costKey{"wrkspc_a", input, "tokens", "uncached_input_tokens", "claude-sonnet-4-6", "standard", "0-200k", ""}, accounting.Counters{150_000_000_000}},
		{costKey{"wrkspc_a", input + " (batch)", "tokens", "uncached_input_tokens", "claude-sonnet-4-6", "standard", "0-200k", ""}, accounting.Counters{25_500_000_000}},
		{costKey{"wrkspc_a", output, "tokens", "output_tokens", "claude-sonnet-4-6", "standard", "0-200k", ""}, accounting.Counters{0}},
		{costKey{"default", "Web Search", "web_search", "", "", "", "", ""}, accounting.Counters{1_000_000_000}},
	}
	configs := pointsConfigs()
	withDescription := metadata.DefaultMetricsBuilderConfig()
	withDescription.Metrics.AnthropicCost.EnabledAttributes = append(withDescription.Metrics.AnthropicCost.EnabledAttributes,
		metadata.AnthropicCostMetricAttributeKeyAnthropicCostDescription)
	configs["the cost description enabled"] = withDescription
	for name, cfg := range configs {
		for _, delta := range []bool{false, true} {
			t.Run(name+"/delta="+map[bool]string{false: "false", true: "true"}[delta], func(t *testing.T) {
				us := &usageSource{names: names}
				want := reference(cfg, us, usageSeries, delta, referenceUsage(names))
				got := emitted(cfg, us, usageSeries, delta)
				require.NoError(t, pmetrictest.CompareMetrics(want, got), "usage")
				require.Positive(t, want.DataPointCount(), "usage: the comparison must compare points")

				cc := &claudeCodeSource{names: names}
				want = reference(cfg, cc, ccSeries, delta, referenceClaudeCode)
				got = emitted(cfg, cc, ccSeries, delta)
				require.NoError(t, pmetrictest.CompareMetrics(want, got), "claude code")

				// The cost metric is recorded by its generated function in
				// both: what is compared is the emission around it.
				cs := &costSource{names: names}
				want = reference(cfg, cs, costSeries, delta, func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k costKey, c accounting.Counters, skipZero bool) {
					cs.record(&points{kit: &pointKit{mb: mb}, ts: ts}, k, c, skipZero)
				})
				got = emitted(cfg, cs, costSeries, delta)
				require.NoError(t, pmetrictest.CompareMetrics(want, got), "cost")
			})
		}
	}
}

// The resource filters are the generated builder's: with metrics_include on
// the workspace, only that workspace's resources are emitted.
func TestPointsResourceFilter(t *testing.T) {
	cfg := pointsConfigs()["metrics_include"]
	us := &usageSource{names: testNames()}
	md := emitted(cfg, us, []series[usageKey]{
		{usageKey{"wrkspc_a", "claude-sonnet-4-6", "apikey_1", "", "", ""}, accounting.Counters{1}},
		{usageKey{"wrkspc_b", "claude-sonnet-4-6", "apikey_1", "", "", ""}, accounting.Counters{2}},
		{usageKey{"wrkspc_a", "claude-haiku-4-5", "apikey_1", "", "", ""}, accounting.Counters{3}},
	}, false)
	rms := md.ResourceMetrics()
	require.Equal(t, 2, rms.Len())
	for i := range rms.Len() {
		ws, ok := rms.At(i).Resource().Attributes().Get("anthropic.workspace.id")
		require.True(t, ok)
		require.Equal(t, "wrkspc_a", ws.Str())
	}
}
