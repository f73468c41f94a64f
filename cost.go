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

// Positions of a cost series key (the order checkpoints keep). With
// description grouping the API fills the structured fields; a null among
// them means "not applicable" (a web search has no model), so it stays ""
// and is not emitted.
const (
	costWorkspace = iota
	costDescription
	costType
	costTokenType
	costModel
	costServiceTier
	costContextWindow
	costInferenceGeo
	costKeyFields
)

// costSource is the cost report; amounts are counted in nano-cents (the
// first counter), so that sums are exact.
type costSource struct {
	cfg         CostConfig
	workspace   bool
	description bool
	names       *nameCache
}

func newCostSource(cfg CostConfig, names *nameCache) *costSource {
	return &costSource{
		cfg:         cfg,
		workspace:   slices.Contains(cfg.GroupBy, groupWorkspace),
		description: slices.Contains(cfg.GroupBy, groupDescription),
		names:       names,
	}
}

func (s *costSource) name() string         { return "cost" }
func (s *costSource) poll() PollConfig     { return s.cfg.Poll }
func (s *costSource) width() time.Duration { return 24 * time.Hour }
func (s *costSource) keyFields() int       { return costKeyFields }
func (s *costSource) shape() []string      { return []string{"cost", "1d", sortedJoin(s.cfg.GroupBy)} }

// read reads daily buckets, the only width of the cost report.
func (s *costSource) read(ctx context.Context, api reportAPI, from, to time.Time, _ time.Duration) iter.Seq2[page, error] {
	pages := api.CostReport(ctx, adminapi.ReportQuery{
		StartingAt:  from,
		EndingAt:    to,
		BucketWidth: adminapi.BucketWidth1d,
		Limit:       adminapi.MaxLimit(adminapi.BucketWidth1d),
		GroupBy:     s.cfg.GroupBy,
	})
	return func(yield func(page, error) bool) {
		for p, err := range mapPages(pages, s.mapPage) {
			if !yield(p, notYetIfRecent(err, from, to)) || err != nil {
				return
			}
		}
	}
}

// mapPage maps a page of the cost report to series, in nano-cents.
func (s *costSource) mapPage(p *adminapi.CostPage) page {
	return mapBuckets(p, costDims, func(r *adminapi.CostResult) (seriesKey, accounting.Counters, string) {
		var c accounting.Counters
		if r.Currency != "" && r.Currency != "USD" {
			return seriesKey{}, c, "currency is not USD"
		}
		n, err := r.Amount.NanoCents()
		switch {
		case err != nil:
			return seriesKey{}, c, "amount is not a decimal"
		case n < 0:
			return seriesKey{}, c, "negative amount"
		}
		c[0] = n
		return s.key(r), c, ""
	})
}

func (s *costSource) key(r *adminapi.CostResult) seriesKey {
	var k seriesKey
	k[costWorkspace] = dimension(s.workspace, r.WorkspaceID, defaultWorkspace)
	if s.description {
		k[costDescription] = dimension(true, r.Description, unknownValue)
		k[costType] = deref(r.CostType)
		k[costTokenType] = deref(r.TokenType)
		k[costModel] = deref(r.Model)
		k[costServiceTier] = deref(r.ServiceTier)
		k[costContextWindow] = deref(r.ContextWindow)
		k[costInferenceGeo] = deref(r.InferenceGeo)
	}
	return k
}

// costDims is every dimension a cost row carries.
func costDims(r *adminapi.CostResult) [10]string {
	return [10]string{orNil(r.WorkspaceID), orNil(r.Description), orNil(r.CostType), orNil(r.ContextWindow), orNil(r.Model),
		orNil(r.ServiceTier), orNil(r.TokenType), orNil(r.InferenceGeo), orNil(r.Speed), r.Currency}
}

func deref(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

func (s *costSource) resourceOf(k seriesKey) resourceKey {
	return resourceKey{workspace: k[costWorkspace], model: k[costModel]}
}

func (s *costSource) resource(rb *metadata.ResourceBuilder, res resourceKey) {
	setModelResource(rb, res)
	s.names.setResource(rb, res.workspace)
}

// record: the description is an opt-in attribute; when it is left out, the
// generated builder sums the series that differ only by it.
func (s *costSource) overflow(seriesKey) seriesKey { return seriesKey{keyOverflow: "true"} }

func (s *costSource) record(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k seriesKey, v accounting.Totals, skipZero, corrections bool) {
	if v[0].IsZero() && skipZero {
		return
	}
	cost := mb.RecordAnthropicCostDataPoint
	if corrections {
		cost = mb.RecordAnthropicCostCorrectionsDataPoint
	}
	cost(ts, adminapi.NanoCentsToDollars(v[0].Float64()), k[costDescription], overflowAttribute(k, optionalAttributes(
		optional{k[costType], metadata.WithAnthropicCostTypeMetricAttribute},
		optional{k[costTokenType], metadata.WithCostTokenTypeMetricAttribute},
		optional{k[costServiceTier], metadata.WithAnthropicServiceTierMetricAttribute},
		optional{k[costContextWindow], metadata.WithAnthropicContextWindowMetricAttribute},
		optional{k[costInferenceGeo], metadata.WithAnthropicInferenceGeoMetricAttribute},
	))...)
}
