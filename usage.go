package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"slices"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

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

// usageKey is a series of the usage report: the grouped dimensions, "" for
// those not grouped.
type usageKey struct {
	workspace, model, apiKey, serviceTier, contextWindow, inferenceGeo string
}

// modelResource is the resource of usage and cost series.
type modelResource struct {
	workspace, model string
}

// usageSource maps the Messages usage report.
type usageSource struct {
	width   string
	groupBy []string
	filters map[string][]string
	grouped struct{ workspace, model, apiKey, serviceTier, contextWindow, inferenceGeo bool }
	names   *nameCache
	rows    map[usageKey]accounting.Counters // one bucket's; reads never overlap
}

func newUsageSource(cfg UsageConfig, names *nameCache) *usageSource {
	s := &usageSource{width: cfg.BucketWidth, groupBy: cfg.GroupBy, filters: cfg.filters(), names: names, rows: map[usageKey]accounting.Counters{}}
	g := func(d string) bool { return slices.Contains(cfg.GroupBy, d) }
	s.grouped.workspace = g(groupWorkspace)
	s.grouped.model = g(groupModel)
	s.grouped.apiKey = g(groupAPIKey)
	s.grouped.serviceTier = g(groupServiceTier)
	s.grouped.contextWindow = g(groupContextWindow)
	s.grouped.inferenceGeo = g(groupInferenceGeo)
	return s
}

func (s *usageSource) read(ctx context.Context, api reportAPI, from, to time.Time, obs observeFunc[usageKey], onPage adminapi.PageFunc, skip *rowSkips) error {
	q := adminapi.ReportQuery{
		StartingAt:  from,
		EndingAt:    to,
		BucketWidth: s.width,
		Limit:       adminapi.MaxLimit(s.width),
		GroupBy:     s.groupBy,
		Filters:     s.filters,
	}
	rows := s.rows
	dups := newRepeats(usageDims)
	return api.UsageReport(ctx, q, func(b *adminapi.UsageBucket) error {
		clear(rows)
		dups.reset()
		for i := range b.Results {
			c, ok := usageCounters(&b.Results[i])
			if !ok {
				skip.add("negative count")
				continue
			}
			k := s.key(&b.Results[i])
			sum, seen := rows[k]
			if seen && dups.repeated(b.Results, i) {
				skip.add("row repeated within a bucket")
				continue
			}
			for j := range c {
				sum[j] += c[j]
			}
			rows[k] = sum
		}
		return obs(b.StartingAt, b.EndingAt, rows)
	}, onPage)
}

func (s *usageSource) codec() accounting.KeyCodec[usageKey] {
	return accounting.KeyCodec[usageKey]{
		Encode: func(k usageKey) []string {
			return []string{k.workspace, k.model, k.apiKey, k.serviceTier, k.contextWindow, k.inferenceGeo}
		},
		Decode: func(f []string) (usageKey, error) {
			if len(f) != 6 {
				return usageKey{}, errKeyFields
			}
			return usageKey{f[0], f[1], f[2], f[3], f[4], f[5]}, nil
		},
	}
}

// shape is what a checkpoint of this report must match.
func (s *usageSource) shape() []string {
	shape := []string{"usage", s.width, sortedJoin(s.groupBy)}
	for name, vals := range s.filters {
		shape = append(shape, name+"="+sortedJoin(vals))
	}
	slices.Sort(shape[3:])
	return shape
}

// usageDims is every dimension a usage row carries.
func usageDims(r *adminapi.UsageResult) [9]string {
	return [9]string{orNil(r.APIKeyID), orNil(r.WorkspaceID), orNil(r.Model), orNil(r.ServiceTier), orNil(r.ContextWindow),
		orNil(r.InferenceGeo), orNil(r.AccountID), orNil(r.ServiceAccountID), orNil(r.Speed)}
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

func (s *usageSource) key(r *adminapi.UsageResult) usageKey {
	return usageKey{
		workspace:     dimension(s.grouped.workspace, r.WorkspaceID, defaultWorkspace),
		model:         dimension(s.grouped.model, r.Model, unknownValue),
		apiKey:        dimension(s.grouped.apiKey, r.APIKeyID, consoleAPIKey),
		serviceTier:   dimension(s.grouped.serviceTier, r.ServiceTier, unknownValue),
		contextWindow: dimension(s.grouped.contextWindow, r.ContextWindow, unknownValue),
		inferenceGeo:  dimension(s.grouped.inferenceGeo, r.InferenceGeo, unknownValue),
	}
}

func (s *usageSource) resource(k usageKey) modelResource {
	return modelResource{workspace: k.workspace, model: k.model}
}

func (s *usageSource) setResource(rb *metadata.ResourceBuilder, r modelResource) {
	setModelResource(rb, r)
	s.names.setResource(rb, r.workspace)
}

func setModelResource(rb *metadata.ResourceBuilder, r modelResource) {
	rb.SetGenAiProviderName("anthropic")
	if r.workspace != "" {
		rb.SetAnthropicWorkspaceID(r.workspace)
	}
	if r.model != "" {
		rb.SetGenAiRequestModel(r.model)
	}
}

func (s *usageSource) record(w *points, k usageKey, c accounting.Counters, skipZero bool) {
	var name string
	if k.apiKey != "" {
		name = s.names.apiKeyName(k.apiKey)
	}
	w.series(opt(keyAPIKeyID, k.apiKey), opt(keyAPIKeyName, name), opt(keyServiceTier, k.serviceTier),
		opt(keyContextWindow, k.contextWindow), opt(keyInferenceGeo, k.inferenceGeo))
	for _, t := range usageTokenTypes {
		if v := c[t.pos]; v != 0 || !skipZero {
			w.intPoint(metadata.MetricsInfo.AnthropicUsageTokens.Name, v, req(keyTokenType, t.typ.String()), req(keyGenAITokenType, t.genAI.String()))
		}
	}
	if v := c[usageWebSearch]; v != 0 || !skipZero {
		w.intPoint(metadata.MetricsInfo.AnthropicUsageWebSearchRequests.Name, v)
	}
}
