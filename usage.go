// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"iter"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// Positions of a usage series key (the order checkpoints keep).
const (
	usageWorkspace = iota
	usageModel
	usageAPIKey
	usageServiceTier
	usageContextWindow
	usageInferenceGeo
	// The dimensions added later take positions after the first six, so a
	// checkpoint of a grouping without them keeps its six fields.
	usageAccount
	usageServiceAccount
	usageSpeed
	usageAllKeyFields
)

// usageKeyFields is how many key fields a grouping without the later
// dimensions keeps.
const usageKeyFields = usageInferenceGeo + 1

// Positions of the usage report's values in accounting.Counters.
const (
	usageUncached = iota
	usageCacheRead
	usageCacheWrite5m
	usageCacheWrite1h
	usageOutput
	usageWebSearch
)

var usageTokenTypes = [...]struct {
	pos   int
	typ   metadata.AttributeAnthropicTokenType
	genAI metadata.AttributeGenAiTokenType
}{
	{usageUncached, metadata.AttributeAnthropicTokenTypeUncachedInputTokens, metadata.AttributeGenAiTokenTypeInput},
	{usageCacheRead, metadata.AttributeAnthropicTokenTypeCacheReadInputTokens, metadata.AttributeGenAiTokenTypeInput},
	{usageCacheWrite5m, metadata.AttributeAnthropicTokenTypeCacheCreationEphemeral5mInputTokens, metadata.AttributeGenAiTokenTypeInput},
	{usageCacheWrite1h, metadata.AttributeAnthropicTokenTypeCacheCreationEphemeral1hInputTokens, metadata.AttributeGenAiTokenTypeInput},
	{usageOutput, metadata.AttributeAnthropicTokenTypeOutputTokens, metadata.AttributeGenAiTokenTypeOutput},
}

// usageSource is the Messages usage report.
type usageSource struct {
	cfg     UsageConfig
	filters map[string][]string
	grouped [usageAllKeyFields]bool
	names   *nameCache
}

func newUsageSource(cfg UsageConfig, names *nameCache) *usageSource {
	s := &usageSource{cfg: cfg, filters: cfg.filters(), names: names}
	for pos, dim := range [usageAllKeyFields]string{groupWorkspace, groupModel, groupAPIKey, groupServiceTier, groupContextWindow, groupInferenceGeo,
		groupAccount, groupServiceAccount, groupSpeed} {
		s.grouped[pos] = slices.Contains(cfg.GroupBy, dim)
	}
	return s
}

func (s *usageSource) name() string         { return "usage" }
func (s *usageSource) poll() PollConfig     { return s.cfg.Poll }
func (s *usageSource) width() time.Duration { return adminapi.WidthDuration(s.cfg.BucketWidth) }
func (s *usageSource) keyFields() int {
	if slices.Contains(s.grouped[usageKeyFields:], true) {
		return usageAllKeyFields
	}
	return usageKeyFields
}

func (s *usageSource) shape() []string {
	shape := []string{"usage", s.cfg.BucketWidth, sortedJoin(s.cfg.GroupBy)}
	for name, vals := range s.filters {
		shape = append(shape, name+"="+sortedJoin(vals))
	}
	slices.Sort(shape[3:])
	return shape
}

func (s *usageSource) read(ctx context.Context, api reportAPI, from, to time.Time, width time.Duration) iter.Seq2[page, error] {
	w := widthName(width)
	return mapPages(api.UsageReport(ctx, adminapi.ReportQuery{
		StartingAt:  from,
		EndingAt:    to,
		BucketWidth: w,
		Limit:       adminapi.MaxLimit(w),
		GroupBy:     s.cfg.GroupBy,
		Filters:     s.filters,
	}), s.mapPage)
}

// mapPage maps a page of the usage report to series.
func (s *usageSource) mapPage(p *adminapi.UsagePage) page {
	return mapBuckets(p, usageDims, func(r *adminapi.UsageResult) (seriesKey, accounting.Counters, string) {
		c, ok := usageCounters(r)
		if !ok {
			return seriesKey{}, c, "negative count"
		}
		return s.key(r), c, ""
	})
}

// usageCounters reads a row's values; a row with a negative count is not
// usage the API can have meant, and is skipped.
func usageCounters(r *adminapi.UsageResult) (accounting.Counters, bool) {
	var c accounting.Counters
	c[usageUncached] = r.UncachedInputTokens
	c[usageCacheRead] = r.CacheReadInputTokens
	c[usageCacheWrite5m] = r.CacheCreation.Ephemeral5mInputTokens
	c[usageCacheWrite1h] = r.CacheCreation.Ephemeral1hInputTokens
	c[usageOutput] = r.OutputTokens
	c[usageWebSearch] = r.ServerToolUse.WebSearchRequests
	for _, v := range c {
		if v < 0 {
			return c, false
		}
	}
	return c, true
}

// usageDims is every dimension a usage row carries, grouped or not.
func usageDims(r *adminapi.UsageResult) [9]string {
	return [9]string{orNil(r.APIKeyID), orNil(r.WorkspaceID), orNil(r.Model), orNil(r.ServiceTier), orNil(r.ContextWindow),
		orNil(r.InferenceGeo), orNil(r.AccountID), orNil(r.ServiceAccountID), orNil(r.Speed)}
}

func (s *usageSource) key(r *adminapi.UsageResult) seriesKey {
	var k seriesKey
	k[usageWorkspace] = dimension(s.grouped[usageWorkspace], r.WorkspaceID, defaultWorkspace)
	k[usageModel] = dimension(s.grouped[usageModel], r.Model, unknownValue)
	k[usageAPIKey] = dimension(s.grouped[usageAPIKey], r.APIKeyID, consoleAPIKey)
	k[usageServiceTier] = dimension(s.grouped[usageServiceTier], r.ServiceTier, unknownValue)
	k[usageContextWindow] = dimension(s.grouped[usageContextWindow], r.ContextWindow, unknownValue)
	k[usageInferenceGeo] = dimension(s.grouped[usageInferenceGeo], r.InferenceGeo, unknownValue)
	k[usageAccount] = dimension(s.grouped[usageAccount], r.AccountID, unknownValue)
	k[usageServiceAccount] = dimension(s.grouped[usageServiceAccount], r.ServiceAccountID, unknownValue)
	k[usageSpeed] = dimension(s.grouped[usageSpeed], r.Speed, unknownValue)
	return k
}

func (s *usageSource) resourceOf(k seriesKey) resourceKey {
	return resourceKey{workspace: k[usageWorkspace], model: k[usageModel]}
}

func (s *usageSource) resource(rb *metadata.ResourceBuilder, res resourceKey) {
	setModelResource(rb, res)
	s.names.setResource(rb, res.workspace)
}

// setModelResource sets the attributes of a usage or cost resource.
func setModelResource(rb *metadata.ResourceBuilder, res resourceKey) {
	rb.SetGenAiProviderName("anthropic")
	if res.workspace != "" {
		rb.SetAnthropicWorkspaceID(res.workspace)
	}
	if res.model != "" {
		rb.SetGenAiRequestModel(res.model)
	}
}

func (s *usageSource) overflow(seriesKey) seriesKey { return seriesKey{keyOverflow: "true"} }

func (s *usageSource) record(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k seriesKey, v accounting.Totals, skipZero, corrections bool) {
	tokens, webSearch := mb.RecordAnthropicUsageTokensDataPoint, mb.RecordAnthropicUsageWebSearchRequestsDataPoint
	if corrections {
		tokens, webSearch = mb.RecordAnthropicUsageTokensCorrectionsDataPoint, mb.RecordAnthropicUsageWebSearchRequestsCorrectionsDataPoint
	}
	attrs := overflowAttribute(k, optionalAttributes(
		optional{k[usageAPIKey], metadata.WithAnthropicAPIKeyIDMetricAttribute},
		optional{s.names.apiKeyName(k[usageAPIKey]), metadata.WithAnthropicAPIKeyNameMetricAttribute},
		optional{k[usageServiceTier], metadata.WithAnthropicServiceTierMetricAttribute},
		optional{k[usageContextWindow], metadata.WithAnthropicContextWindowMetricAttribute},
		optional{k[usageInferenceGeo], metadata.WithAnthropicInferenceGeoMetricAttribute},
		optional{k[usageAccount], metadata.WithAnthropicAccountIDMetricAttribute},
		optional{k[usageServiceAccount], metadata.WithAnthropicServiceAccountIDMetricAttribute},
		optional{k[usageSpeed], metadata.WithAnthropicSpeedMetricAttribute},
	))
	for _, t := range usageTokenTypes {
		if !v[t.pos].IsZero() || !skipZero {
			tokens(ts, count(v[t.pos]), t.typ, t.genAI, attrs...)
		}
	}
	if !v[usageWebSearch].IsZero() || !skipZero {
		webSearch(ts, count(v[usageWebSearch]), attrs...)
	}
}

// optional is a conditionally required attribute: set when it has a value.
type optional struct {
	value string
	with  func(string) metadata.MetricAttributeOption
}

func optionalAttributes(attrs ...optional) []metadata.MetricAttributeOption {
	opts := make([]metadata.MetricAttributeOption, 0, len(attrs))
	for _, a := range attrs {
		if a.value != "" {
			opts = append(opts, a.with(a.value))
		}
	}
	return opts
}
