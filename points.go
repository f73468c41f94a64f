package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"reflect"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"

	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// Data points are appended here rather than through mdatagen's record
// functions, which grow each point's attribute map one key at a time: four
// allocations a point, half of a one-bucket poll's (BENCHMARKS.md).
// What the points look like still comes from metadata.yaml: the metrics
// (name, description, unit, type, temporality), the scope and the resource
// come from the generated builder, and TestPointsMatchGeneratedBuilder holds
// the keys below, and every point, to what the generated record functions
// make for the same series.
const (
	keyTokenType      = "anthropic.token.type"
	keyGenAITokenType = "gen_ai.token.type"
	keyAPIKeyID       = "anthropic.api_key.id"
	keyAPIKeyName     = "anthropic.api_key.name"
	keyServiceTier    = "anthropic.service_tier"
	keyContextWindow  = "anthropic.context_window"
	keyInferenceGeo   = "anthropic.inference_geo"
	keyCCActor        = "anthropic.claude_code.actor"
	keyCCActorType    = "anthropic.claude_code.actor.type"
	keyCCTerminalType = "anthropic.claude_code.terminal.type"
	keyCCLinesType    = "anthropic.claude_code.lines.type"
	keyCCTool         = "anthropic.claude_code.tool"
	keyCCDecision     = "anthropic.claude_code.decision"
	keyCCTokenType    = "anthropic.claude_code.token.type"
	keyModel          = "gen_ai.request.model"
)

// attr is one attribute of a point. An optional one is left out when it is
// empty; a required one is always set, as the generated record functions do.
type attr struct {
	key, value string
	optional   bool
}

func opt(key, value string) attr { return attr{key, value, true} }

func req(key, value string) attr { return attr{key, value, false} }

// pointKit is what a report's emissions are made of, taken once from the
// generated builder.
type pointKit struct {
	mb     *metadata.MetricsBuilder
	rb     *metadata.ResourceBuilder // reset by each Emit
	scope  pcommon.InstrumentationScope
	shells map[string]pmetric.Metric // every enabled metric, without points
	order  map[string]int            // the generated builder's order of metrics
	// perSeries is the most points a series has had in each metric: the
	// first capacity of a resource's points, so they are allocated once.
	perSeries map[string]int
	// filtered: the configuration filters metrics by resource attribute
	// (metrics_include, metrics_exclude), which only the generated builder
	// implements, so it is asked about every resource.
	filtered bool
}

func newPointKit(cfg metadata.MetricsBuilderConfig, settings receiver.Settings) *pointKit {
	k := &pointKit{
		mb:        metadata.NewMetricsBuilder(cfg, settings),
		scope:     pcommon.NewInstrumentationScope(),
		shells:    map[string]pmetric.Metric{},
		order:     map[string]int{},
		perSeries: map[string]int{},
		filtered:  resourceFilters(cfg.ResourceAttributes),
	}
	k.rb = k.mb.NewResourceBuilder()
	recordOneOfEach(k.mb)
	rms := k.mb.Emit().ResourceMetrics()
	if rms.Len() == 0 {
		return k // every metric is disabled
	}
	sm := rms.At(0).ScopeMetrics().At(0)
	sm.Scope().CopyTo(k.scope)
	ms := sm.Metrics()
	for i := range ms.Len() {
		m := ms.At(i)
		if m.Type() != pmetric.MetricTypeSum {
			continue // every metric of metadata.yaml is a sum
		}
		m.Sum().DataPoints().RemoveIf(func(pmetric.NumberDataPoint) bool { return true })
		k.shells[m.Name()] = m
		k.order[m.Name()] = i
	}
	return k
}

// recordOneOfEach records a point of every metric of metadata.yaml; the
// values do not matter.
func recordOneOfEach(mb *metadata.MetricsBuilder) {
	mb.RecordAnthropicUsageTokensDataPoint(0, 0, metadata.AttributeAnthropicTokenTypeOutputTokens, metadata.AttributeGenAiTokenTypeOutput)
	mb.RecordAnthropicUsageWebSearchRequestsDataPoint(0, 0)
	mb.RecordAnthropicCostDataPoint(0, 0, "")
	mb.RecordAnthropicClaudeCodeSessionsDataPoint(0, 0, "", "")
	mb.RecordAnthropicClaudeCodeLinesOfCodeDataPoint(0, 0, "", "", metadata.AttributeAnthropicClaudeCodeLinesTypeAdded)
	mb.RecordAnthropicClaudeCodeCommitsDataPoint(0, 0, "", "")
	mb.RecordAnthropicClaudeCodePullRequestsDataPoint(0, 0, "", "")
	mb.RecordAnthropicClaudeCodeToolActionsDataPoint(0, 0, "", "", "", metadata.AttributeAnthropicClaudeCodeDecisionAccepted)
	mb.RecordAnthropicClaudeCodeTokensDataPoint(0, 0, "", "", "", metadata.AttributeClaudeCodeTokenTypeInput, metadata.AttributeGenAiTokenTypeInput)
	mb.RecordAnthropicClaudeCodeEstimatedCostDataPoint(0, 0, "", "", "")
}

// resourceFilters reports whether any resource attribute has a
// metrics_include or metrics_exclude filter.
func resourceFilters(cfg metadata.ResourceAttributesConfig) bool {
	v := reflect.ValueOf(cfg)
	for i := range v.NumField() {
		if a, ok := v.Field(i).Interface().(metadata.ResourceAttributeConfig); ok && (len(a.MetricsInclude) > 0 || len(a.MetricsExclude) > 0) {
			return true
		}
	}
	return false
}

// keeps reports whether the resource filters let a resource's metrics
// through.
func (k *pointKit) keeps(res pcommon.Resource) bool {
	if !k.filtered {
		return true
	}
	recordOneOfEach(k.mb)
	return k.mb.Emit(metadata.WithResource(res)).ResourceMetrics().Len() > 0
}

// points appends the points of a poll's series, one resource at a time.
type points struct {
	kit       *pointKit
	start, ts pcommon.Timestamp
	metrics   pmetric.MetricSlice // the current resource's
	open      []openMetric
	hint      int // series in the current resource
	attrs     []attr
	generated bool // points were recorded in kit.mb for the current resource
}

// builder is the generated builder, for a metric its record function must
// make (see costSource.record).
func (p *points) builder() *metadata.MetricsBuilder {
	p.generated = true
	return p.kit.mb
}

// endResource moves the points recorded in the generated builder into the
// current resource's metrics, and puts the metrics in the generated
// builder's order.
func (p *points) endResource(res pcommon.Resource) {
	if p.generated {
		p.generated = false
		rms := p.kit.mb.Emit(metadata.WithResource(res)).ResourceMetrics()
		if rms.Len() > 0 {
			rms.At(0).ScopeMetrics().At(0).Metrics().MoveAndAppendTo(p.metrics)
		}
	}
	for _, o := range p.open {
		if !o.enabled {
			continue
		}
		if n := (o.dps.Len() + p.hint - 1) / p.hint; n > p.kit.perSeries[o.name] {
			p.kit.perSeries[o.name] = n
		}
	}
	before := func(a, b pmetric.Metric) bool { return p.kit.order[a.Name()] < p.kit.order[b.Name()] }
	for i := 1; i < p.metrics.Len(); i++ {
		if before(p.metrics.At(i), p.metrics.At(i-1)) {
			p.metrics.Sort(before)
			return
		}
	}
}

type openMetric struct {
	name    string
	dps     pmetric.NumberDataPointSlice
	enabled bool
}

// resource starts the metrics of a resource with n series.
func (p *points) resource(rm pmetric.ResourceMetrics, n int) {
	sm := rm.ScopeMetrics().AppendEmpty()
	p.kit.scope.CopyTo(sm.Scope())
	p.metrics = sm.Metrics()
	p.open = p.open[:0]
	p.hint = n
}

// series starts the points of a series with its attributes.
func (p *points) series(attrs ...attr) {
	p.attrs = p.attrs[:0]
	for _, a := range attrs {
		if a.value != "" || !a.optional {
			p.attrs = append(p.attrs, a)
		}
	}
}

func (p *points) intPoint(metric string, v int64, attrs ...attr) {
	if dp, ok := p.point(metric, attrs); ok {
		dp.SetIntValue(v)
	}
}

func (p *points) doublePoint(metric string, v float64, attrs ...attr) {
	if dp, ok := p.point(metric, attrs); ok {
		dp.SetDoubleValue(v)
	}
}

// point appends a point with the series' attributes and its own; the
// attribute map is sized once.
func (p *points) point(metric string, attrs []attr) (pmetric.NumberDataPoint, bool) {
	dps, ok := p.dataPoints(metric)
	if !ok {
		return pmetric.NumberDataPoint{}, false
	}
	dp := dps.AppendEmpty()
	dp.SetStartTimestamp(p.start)
	dp.SetTimestamp(p.ts)
	m := dp.Attributes()
	m.EnsureCapacity(len(p.attrs) + len(attrs))
	for _, a := range p.attrs {
		m.PutStr(a.key, a.value)
	}
	for _, a := range attrs {
		if a.value != "" || !a.optional {
			m.PutStr(a.key, a.value)
		}
	}
	return dp, true
}

// dataPoints is a metric's points in the current resource, the metric made
// from its shell on first use; false when the metric is disabled.
func (p *points) dataPoints(metric string) (pmetric.NumberDataPointSlice, bool) {
	for _, o := range p.open {
		if o.name == metric {
			return o.dps, o.enabled
		}
	}
	o := openMetric{name: metric}
	if shell, ok := p.kit.shells[metric]; ok {
		m := p.metrics.AppendEmpty()
		shell.CopyTo(m)
		o.dps = m.Sum().DataPoints()
		o.dps.EnsureCapacity(p.hint * max(1, p.kit.perSeries[metric]))
		o.enabled = true
	}
	p.open = append(p.open, o)
	return o.dps, o.enabled
}
