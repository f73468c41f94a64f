// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"iter"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// analyticsAPI is what the analytics sources read: whole walks, all pages
// of one export or nothing.
type analyticsAPI interface {
	AnalyticsUsage(ctx context.Context, q adminapi.AnalyticsQuery) (*adminapi.AnalyticsWalk[adminapi.AnalyticsUsageRow], error)
	AnalyticsCost(ctx context.Context, q adminapi.AnalyticsQuery) (*adminapi.AnalyticsWalk[adminapi.AnalyticsCostRow], error)
}

var _ analyticsAPI = (*adminapi.Client)(nil)

// Positions of an analytics series key. The resource's dimensions come
// first; then what the counters are (usage: tokens or requests; cost: the
// fan-out's cost type and token type); then the other grouped dimensions,
// at most five, in the order of group_by.
const (
	aWorkspace = iota
	aModel
	aOrganization
	aKind
	aFirstDim
)

// Kinds of analytics usage series.
const (
	aTokens   = "t" // the usage report's counters: tokens and web searches
	aRequests = "r" // requests
)

// Positions of an analytics cost series' values.
const (
	aAmount = iota // nano-cents, post-discount, pre-credit
	aListAmount
)

// analyticsSource is the usage or the cost report read from the Usage and
// Cost Analytics API: the same metrics as the legacy reports, and the new
// dimensions as point attributes.
type analyticsSource struct {
	report  string // usage | cost
	cost    bool
	cfg     PollConfig
	bucket  string // the bucket width, as configured
	groupBy []string
	// dims are the grouped dimensions that are point attributes, in the
	// order of group_by: key positions aFirstDim on.
	dims []string
	// Worked out once from group_by, for every row: whether the resource's
	// dimensions are grouped, and the position of api_key_id among dims.
	byWorkspace, byModel, byOrganization bool
	apiKeyDim                            int // -1: not grouped
	filters                              adminapi.AnalyticsFilters
	// actor reports the person behind a user actor (email or name), with
	// actor grouped: actor_details.
	actor actorPolicy
	names *nameCache
}

func newAnalyticsUsageSource(cfg UsageConfig, actor actorPolicy, names *nameCache) *analyticsSource {
	f := adminapi.AnalyticsFilters{APIKeyIDs: cfg.APIKeyIDs, WorkspaceIDs: cfg.WorkspaceIDs, Models: cfg.Models,
		ServiceTiers: cfg.ServiceTiers, ContextWindows: cfg.ContextWindows, InferenceGeos: cfg.InferenceGeos}
	return newAnalyticsSource("usage", false, cfg.Poll, cfg.BucketWidth, cfg.GroupBy, f, actor, names)
}

func newAnalyticsCostSource(cfg CostConfig, actor actorPolicy, names *nameCache) *analyticsSource {
	return newAnalyticsSource("cost", true, cfg.Poll, cfg.BucketWidth, cfg.GroupBy, adminapi.AnalyticsFilters{}, actor, names)
}

func newAnalyticsSource(report string, cost bool, p PollConfig, width string, groupBy []string, f adminapi.AnalyticsFilters, actor actorPolicy, names *nameCache) *analyticsSource {
	s := &analyticsSource{report: report, cost: cost, cfg: p, bucket: width, groupBy: groupBy, filters: f, actor: actor, names: names}
	for _, d := range groupBy {
		switch d {
		case adminapi.DimWorkspaceID, adminapi.DimModel, adminapi.DimOrganizationID, adminapi.DimCostType, adminapi.DimTokenType:
		default:
			s.dims = append(s.dims, d)
		}
	}
	s.byWorkspace = slices.Contains(groupBy, adminapi.DimWorkspaceID)
	s.byModel = slices.Contains(groupBy, adminapi.DimModel)
	s.byOrganization = slices.Contains(groupBy, adminapi.DimOrganizationID)
	s.apiKeyDim = slices.Index(s.dims, adminapi.DimAPIKeyID)
	return s
}

func (s *analyticsSource) name() string         { return s.report }
func (s *analyticsSource) poll() PollConfig     { return s.cfg }
func (s *analyticsSource) width() time.Duration { return adminapi.WidthDuration(s.bucket) }
func (s *analyticsSource) keyFields() int       { return aFirstDim + len(s.dims) }

func (s *analyticsSource) shape() []string { return s.shapeWith(s.actor.shape()) }

// otherShapes are the report's shapes under the other actor_details
// options: their checkpoints hold the actors in another form.
func (s *analyticsSource) otherShapes() [][]string {
	var out [][]string
	for _, o := range s.actor.otherOptions() {
		out = append(out, s.shapeWith(o))
	}
	return out
}

func (s *analyticsSource) shapeWith(actor string) []string {
	shape := []string{s.report, sourceAnalytics, s.bucket, strings.Join(s.groupBy, ","), actor}
	for _, f := range [][]string{s.filters.APIKeyIDs, s.filters.WorkspaceIDs, s.filters.Models, s.filters.ServiceTiers,
		s.filters.ContextWindows, s.filters.InferenceGeos} {
		shape = append(shape, sortedJoin(f))
	}
	return shape
}

// read walks [from, to) in queries of at most the span the API allows,
// each one page of this report's reading: a walk is all or nothing, and its
// buckets are whole. Every bucket of the range is yielded, those without a
// row too: the API sends no zero rows, so a combination missing from a
// bucket read again has become zero.
func (s *analyticsSource) read(ctx context.Context, api reportAPI, from, to time.Time, width time.Duration) iter.Seq2[page, error] {
	span := adminapi.AnalyticsSpan(width)
	// The API keeps 365 days from 2026-01-01 on: nothing to read before.
	floor := to.Add(-adminapi.AnalyticsMaxAge).Add(time.Hour)
	if floor.Before(adminapi.AnalyticsHistoryStart) {
		floor = adminapi.AnalyticsHistoryStart
	}
	floor = floor.Truncate(width).Add(width)
	return func(yield func(page, error) bool) {
		for start := from; start.Before(to); {
			end := start.Add(span).Truncate(width)
			if end.After(to) {
				end = to
			}
			qStart := start
			if qStart.Before(floor) {
				qStart = floor
			}
			if !qStart.Before(end) { // nothing the API keeps: the buckets are empty
				if !yield(page{more: end.Before(to), skipped: skipCounts{}, buckets: everyBucket(start, end, width, nil)}, nil) {
					return
				}
				start = end
				continue
			}
			q := adminapi.AnalyticsQuery{
				StartingAt: qStart, EndingAt: end, BucketWidth: widthName(width),
				GroupBy: s.groupBy, Limit: adminapi.AnalyticsMaxLimit, OrderBy: "time", Order: "asc", Filters: s.filters,
			}
			skipped := skipCounts{}
			rows := map[int64]map[seriesKey]accounting.Counters{}
			if _, err := s.walk(ctx, api, q, rows, skipped); err != nil {
				yield(page{}, err)
				return
			}
			if !yield(page{more: end.Before(to), skipped: skipped, buckets: everyBucket(start, end, width, rows)}, nil) {
				return
			}
			start = end
		}
	}
}

// refreshed is the time of the export the API serves [from, to) from (nil:
// none covers it), read with one small request: while it is the export the
// last read saw, a read can find nothing new. Exports are hours apart, so
// a report polled every few minutes walks its window once an export, not
// once a poll.
func (s *analyticsSource) refreshed(ctx context.Context, api reportAPI, from, to time.Time) (*time.Time, error) {
	q := adminapi.AnalyticsQuery{StartingAt: from.Truncate(time.Hour), EndingAt: to.Truncate(time.Hour).Add(time.Hour), Limit: 1, Filters: s.filters}
	// Its one row, a total without buckets, is not counted.
	return s.walk(ctx, api, q, map[int64]map[seriesKey]accounting.Counters{}, skipCounts{})
}

// everyBucket yields every bucket of [from, to), with its rows or none.
func everyBucket(from, to time.Time, width time.Duration, rows map[int64]map[seriesKey]accounting.Counters) iter.Seq[bucket] {
	return func(yield func(bucket) bool) {
		for b := from; b.Before(to); b = b.Add(width) {
			r := rows[b.Unix()]
			if r == nil {
				r = map[seriesKey]accounting.Counters{}
			}
			if !yield(bucket{start: b, end: b.Add(width), rows: r}) {
				return
			}
		}
	}
}

// addRow sums a row into its bucket and series: the API sends several rows for
// one combination where it cannot tell identities apart (null actors), and
// they are all usage.
func addRow(rows map[int64]map[seriesKey]accounting.Counters, start time.Time, k seriesKey, c accounting.Counters, skipped skipCounts) {
	b := rows[start.Unix()]
	if b == nil {
		b = map[seriesKey]accounting.Counters{}
		rows[start.Unix()] = b
	}
	sum := b[k]
	if !addCounters(&sum, c) {
		skipped.add("sum of the series' rows would overflow")
		return
	}
	b[k] = sum
}

// walk reads every page of q from the report's endpoint and sums its rows
// into their buckets and series; it returns the export they came from.
func (s *analyticsSource) walk(ctx context.Context, api reportAPI, q adminapi.AnalyticsQuery, rows map[int64]map[seriesKey]accounting.Counters, skipped skipCounts) (*time.Time, error) {
	if s.cost {
		w, err := api.AnalyticsCost(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := range w.Rows {
			if r := &w.Rows[i]; s.inRange(r.StartingAt, r.EndingAt, q, skipped) {
				s.mapCost(r, rows, skipped)
			}
		}
		return w.DataRefreshedAt, nil
	}
	w, err := api.AnalyticsUsage(ctx, q)
	if err != nil {
		return nil, err
	}
	for i := range w.Rows {
		if r := &w.Rows[i]; s.inRange(r.StartingAt, r.EndingAt, q, skipped) {
			s.mapUsage(r, rows, skipped)
		}
	}
	return w.DataRefreshedAt, nil
}

// mapUsage maps a usage row to its token series and, when the API counted
// them, its request series.
func (s *analyticsSource) mapUsage(r *adminapi.AnalyticsUsageRow, rows map[int64]map[seriesKey]accounting.Counters, skipped skipCounts) {
	u := &r.Usage
	c := accounting.Counters{usageUncached: u.UncachedInputTokens, usageCacheRead: u.CacheReadInputTokens,
		usageCacheWrite5m: u.CacheCreation.Ephemeral5mInputTokens, usageCacheWrite1h: u.CacheCreation.Ephemeral1hInputTokens,
		usageOutput: u.OutputTokens, usageWebSearch: u.ServerToolUse.WebSearchRequests}
	if slices.ContainsFunc(c[:], func(v int64) bool { return v < 0 }) || u.Requests != nil && *u.Requests < 0 {
		skipped.add("negative count")
		return
	}
	k := s.key(&r.Group, aTokens)
	addRow(rows, r.StartingAt, k, c, skipped)
	if u.Requests != nil {
		k[aKind] = aRequests
		addRow(rows, r.StartingAt, k, accounting.Counters{*u.Requests}, skipped)
	}
}

// mapCost maps a cost row to its series: amount and list amount, by the
// fan-out's cost type and token type.
func (s *analyticsSource) mapCost(r *adminapi.AnalyticsCostRow, rows map[int64]map[seriesKey]accounting.Counters, skipped skipCounts) {
	if r.Cost.Currency != "" && r.Cost.Currency != "USD" {
		skipped.add("amount not in USD")
		return
	}
	amount, err1 := r.Cost.Amount.NanoCents()
	list, err2 := r.Cost.ListAmount.NanoCents()
	if err1 != nil || err2 != nil || amount < 0 || list < 0 {
		skipped.add("amount is not a non-negative decimal")
		return
	}
	fanOut := deref(r.Group.CostType) + "\x1f" + deref(r.Group.TokenType)
	addRow(rows, r.StartingAt, s.key(&r.Group, fanOut), accounting.Counters{aAmount: amount, aListAmount: list}, skipped)
}

// inRange keeps the rows of whole buckets of the query's width and range.
func (s *analyticsSource) inRange(start, end time.Time, q adminapi.AnalyticsQuery, skipped skipCounts) bool {
	w := adminapi.WidthDuration(q.BucketWidth)
	if start.Before(q.StartingAt) || !start.Before(q.EndingAt) || !end.Equal(start.Add(w)) || !start.Equal(start.Truncate(w)) {
		skipped.add("row outside the requested buckets")
		return false
	}
	return true
}

// key maps a row's group to its series.
func (s *analyticsSource) key(g *adminapi.AnalyticsGroup, kind string) seriesKey {
	var k seriesKey
	k[aWorkspace] = dimension(s.byWorkspace, g.WorkspaceID, defaultWorkspace)
	k[aModel] = dimension(s.byModel, g.Model, unknownValue)
	k[aOrganization] = dimension(s.byOrganization, g.OrganizationID, unknownValue)
	k[aKind] = kind
	for i, d := range s.dims {
		k[aFirstDim+i] = s.value(g, d)
	}
	return k
}

// Stand-ins of the analytics nulls that mean something.
const (
	noAPIKey     = "none"         // a null api_key_id: usage no API key authenticated
	unattributed = "unattributed" // a null actor: usage attributed to no one
)

// value is a grouped dimension's value in a key. The actor is its type,
// its id and, when wanted, the person's email or name, separated by 0x1f.
func (s *analyticsSource) value(g *adminapi.AnalyticsGroup, dim string) string {
	switch dim {
	case adminapi.DimActor:
		a := g.Actor
		if a == nil {
			return unattributed
		}
		v := a.Type + "\x1f" + a.ID()
		if s.actor.option != actorDrop && a.Type == adminapi.ActorUser {
			person := deref(a.EmailAddress)
			if person == "" {
				person = deref(a.Name)
			}
			if person != "" {
				v += "\x1f" + s.actor.apply(person)
			}
		}
		return v
	case adminapi.DimAPIKeyID:
		return dimension(true, g.APIKeyID, noAPIKey)
	case adminapi.DimActorType:
		return dimension(true, g.ActorType, unattributed)
	}
	return dimension(true, g.Value(dim), unknownValue)
}

func (s *analyticsSource) overflow(k seriesKey) seriesKey {
	return seriesKey{aKind: k[aKind], keyOverflow: "true"}
}

func (s *analyticsSource) resourceOf(k seriesKey) resourceKey {
	return resourceKey{workspace: k[aWorkspace], model: k[aModel], organization: k[aOrganization]}
}

func (s *analyticsSource) resource(rb *metadata.ResourceBuilder, res resourceKey) {
	setModelResource(rb, res)
	s.names.setResource(rb, res.workspace)
	if res.organization != "" {
		// The organization the usage belongs to: on a parent organization's
		// report grouped by organization_id, not the one polled.
		rb.SetAnthropicOrganizationID(res.organization)
	}
}

// analyticsAttributes are the point attributes of the analytics dimensions.
var analyticsAttributes = map[string]func(string) metadata.MetricAttributeOption{
	adminapi.DimAPIKeyID:          metadata.WithAnthropicAPIKeyIDMetricAttribute,
	adminapi.DimServiceTier:       metadata.WithAnthropicServiceTierMetricAttribute,
	adminapi.DimContextWindow:     metadata.WithAnthropicContextWindowMetricAttribute,
	adminapi.DimInferenceGeo:      metadata.WithAnthropicInferenceGeoMetricAttribute,
	adminapi.DimSpeed:             metadata.WithAnthropicSpeedMetricAttribute,
	adminapi.DimProduct:           metadata.WithAnthropicProductMetricAttribute,
	adminapi.DimActorType:         metadata.WithAnthropicActorTypeMetricAttribute,
	adminapi.DimAgentID:           metadata.WithAnthropicAgentIDMetricAttribute,
	adminapi.DimClaudeTagCategory: metadata.WithAnthropicClaudeTagCategoryMetricAttribute,
	adminapi.DimClaudeTagUserID:   metadata.WithAnthropicClaudeTagUserIDMetricAttribute,
	adminapi.DimDeploymentID:      metadata.WithAnthropicDeploymentIDMetricAttribute,
	adminapi.DimEnvironmentID:     metadata.WithAnthropicEnvironmentIDMetricAttribute,
	adminapi.DimRBACGroupID:       metadata.WithAnthropicRbacGroupIDMetricAttribute,
	adminapi.DimSessionID:         metadata.WithAnthropicSessionIDMetricAttribute,
	adminapi.DimSlackChannelID:    metadata.WithAnthropicSlackChannelIDMetricAttribute,
	adminapi.DimUserProfileID:     metadata.WithAnthropicUserProfileIDMetricAttribute,
}

// attributes are a series' point attributes.
func (s *analyticsSource) attributes(k seriesKey) []metadata.MetricAttributeOption {
	var opts []metadata.MetricAttributeOption
	for i, d := range s.dims {
		v := k[aFirstDim+i]
		if d != adminapi.DimActor {
			if with := analyticsAttributes[d]; with != nil && v != "" {
				opts = append(opts, with(v))
			}
			continue
		}
		typ, rest, _ := strings.Cut(v, "\x1f")
		id, person, _ := strings.Cut(rest, "\x1f")
		opts = append(opts, optionalAttributes(
			optional{typ, metadata.WithAnthropicActorTypeMetricAttribute},
			optional{id, metadata.WithAnthropicActorIDMetricAttribute},
			optional{person, metadata.WithAnthropicActorEmailMetricAttribute},
		)...)
	}
	if s.apiKeyDim >= 0 {
		opts = append(opts, optionalAttributes(optional{s.names.apiKeyName(k[aFirstDim+s.apiKeyDim]), metadata.WithAnthropicAPIKeyNameMetricAttribute})...)
	}
	return overflowAttribute(k, opts)
}

func (s *analyticsSource) record(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k seriesKey, v accounting.Totals, skipZero, corrections bool) {
	attrs := s.attributes(k)
	emit := func(t accounting.Total) bool { return !t.IsZero() || !skipZero }
	if s.cost {
		costType, tokenType, _ := strings.Cut(k[aKind], "\x1f")
		attrs = append(attrs, optionalAttributes(
			optional{costType, metadata.WithAnthropicCostTypeMetricAttribute},
			optional{tokenType, metadata.WithCostTokenTypeMetricAttribute},
		)...)
		cost, list := mb.RecordAnthropicCostDataPoint, mb.RecordAnthropicCostListAmountDataPoint
		if corrections {
			cost, list = mb.RecordAnthropicCostCorrectionsDataPoint, mb.RecordAnthropicCostListAmountCorrectionsDataPoint
		}
		if emit(v[aAmount]) {
			cost(ts, adminapi.NanoCentsToDollars(v[aAmount].Float64()), "", attrs...)
		}
		if emit(v[aListAmount]) {
			list(ts, adminapi.NanoCentsToDollars(v[aListAmount].Float64()), "", attrs...)
		}
		return
	}
	if k[aKind] == aRequests {
		requests := mb.RecordAnthropicUsageRequestsDataPoint
		if corrections {
			requests = mb.RecordAnthropicUsageRequestsCorrectionsDataPoint
		}
		if emit(v[0]) {
			requests(ts, count(v[0]), attrs...)
		}
		return
	}
	tokens, webSearch := mb.RecordAnthropicUsageTokensDataPoint, mb.RecordAnthropicUsageWebSearchRequestsDataPoint
	if corrections {
		tokens, webSearch = mb.RecordAnthropicUsageTokensCorrectionsDataPoint, mb.RecordAnthropicUsageWebSearchRequestsCorrectionsDataPoint
	}
	for _, t := range usageTokenTypes {
		if emit(v[t.pos]) {
			tokens(ts, count(v[t.pos]), t.typ, t.genAI, attrs...)
		}
	}
	if emit(v[usageWebSearch]) {
		webSearch(ts, count(v[usageWebSearch]), attrs...)
	}
}
