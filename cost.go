package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"slices"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// costKey is a series of the cost report. With description grouping the
// API fills the structured fields; a null among them means "not applicable"
// (a web search has no model), so it stays "" and is not emitted.
type costKey struct {
	workspace, description, costType, tokenType, model, serviceTier, contextWindow, inferenceGeo string
}

// costSource maps the cost report; amounts are kept in nano-cents.
type costSource struct {
	groupBy     []string
	workspace   bool
	description bool
	names       *nameCache
}

func newCostSource(cfg CostConfig, names *nameCache) *costSource {
	return &costSource{
		groupBy:     cfg.GroupBy,
		workspace:   slices.Contains(cfg.GroupBy, groupWorkspace),
		description: slices.Contains(cfg.GroupBy, groupDescription),
		names:       names,
	}
}

func (s *costSource) read(ctx context.Context, api reportAPI, from, to time.Time, obs observeFunc[costKey], onPage adminapi.PageFunc, skip *rowSkips) error {
	q := adminapi.ReportQuery{
		StartingAt:  from,
		EndingAt:    to,
		BucketWidth: adminapi.BucketWidth1d,
		Limit:       adminapi.MaxLimit(adminapi.BucketWidth1d),
		GroupBy:     s.groupBy,
	}
	rows := map[costKey]accounting.Counters{}
	dups := newRepeats(costDims)
	err := api.CostReport(ctx, q, func(b *adminapi.CostBucket) error {
		clear(rows)
		dups.reset()
		for i := range b.Results {
			r := &b.Results[i]
			if r.Currency != "" && r.Currency != "USD" {
				skip.add("currency is not USD")
				continue
			}
			n, err := r.Amount.NanoCents()
			if err != nil {
				skip.add("amount is not a decimal")
				continue
			}
			if n < 0 {
				skip.add("negative amount")
				continue
			}
			k := s.key(r)
			c, seen := rows[k]
			if seen && dups.repeated(b.Results, i) {
				skip.add("row repeated within a bucket")
				continue
			}
			c[0] += n
			rows[k] = c
		}
		return obs(b.StartingAt, b.EndingAt, rows)
	}, onPage)
	return notYetIfRecent(err, from, to)
}

func (s *costSource) codec() accounting.KeyCodec[costKey] {
	return accounting.KeyCodec[costKey]{
		Encode: func(k costKey) []string {
			return []string{k.workspace, k.description, k.costType, k.tokenType, k.model, k.serviceTier, k.contextWindow, k.inferenceGeo}
		},
		Decode: func(f []string) (costKey, error) {
			if len(f) != 8 {
				return costKey{}, errKeyFields
			}
			return costKey{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]}, nil
		},
	}
}

func (s *costSource) shape() []string { return []string{"cost", "1d", sortedJoin(s.groupBy)} }

func (s *costSource) key(r *adminapi.CostResult) costKey {
	k := costKey{workspace: dimension(s.workspace, r.WorkspaceID, defaultWorkspace)}
	if s.description {
		k.description = dimension(true, r.Description, unknownValue)
		k.costType = deref(r.CostType)
		k.tokenType = deref(r.TokenType)
		k.model = deref(r.Model)
		k.serviceTier = deref(r.ServiceTier)
		k.contextWindow = deref(r.ContextWindow)
		k.inferenceGeo = deref(r.InferenceGeo)
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

func (s *costSource) resource(k costKey) modelResource {
	return modelResource{workspace: k.workspace, model: k.model}
}

func (s *costSource) setResource(rb *metadata.ResourceBuilder, r modelResource) {
	setModelResource(rb, r)
	s.names.setResource(rb, r.workspace)
}

// record goes through the generated builder: the cost metric has an
// opt-in attribute (the description), and the builder sums the series that
// differ only by attributes left out.
func (s *costSource) record(w *points, k costKey, c accounting.Counters, skipZero bool) {
	if c[0] == 0 && skipZero {
		return
	}
	opts := make([]metadata.MetricAttributeOption, 0, 5)
	for _, o := range []struct {
		v   string
		opt func(string) metadata.MetricAttributeOption
	}{
		{k.costType, metadata.WithAnthropicCostTypeMetricAttribute},
		{k.tokenType, metadata.WithCostTokenTypeMetricAttribute},
		{k.serviceTier, metadata.WithAnthropicServiceTierMetricAttribute},
		{k.contextWindow, metadata.WithAnthropicContextWindowMetricAttribute},
		{k.inferenceGeo, metadata.WithAnthropicInferenceGeoMetricAttribute},
	} {
		if o.v != "" {
			opts = append(opts, o.opt(o.v))
		}
	}
	w.builder().RecordAnthropicCostDataPoint(w.ts, adminapi.NanoCentsToDollars(c[0]), k.description, opts...)
}
