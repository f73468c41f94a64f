// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// AnalyticsQuery is the query of either analytics endpoint. Every page of
// a walk sends it unchanged: the API refuses a cursor with other parameters.
type AnalyticsQuery struct {
	// StartingAt is inclusive, EndingAt exclusive; both are sent in UTC.
	// Send bounds aligned to the bucket width: what the API does with
	// others is [U].
	StartingAt time.Time
	EndingAt   time.Time
	// BucketWidth is time_bucket_width: 1m, 1h, 1d, or "" for one row per
	// combination over the whole range.
	BucketWidth string
	GroupBy     []string
	// Limit is rows per page (1–1000); 0 leaves the API's default of 20.
	Limit int
	// OrderBy and Order: "" leaves the API's defaults.
	OrderBy, Order string
	// ExcludeDeletedUsers needs group_by actor.
	ExcludeDeletedUsers bool
	Filters             AnalyticsFilters
}

// AnalyticsFilters are the filter arrays. An empty string is a value too:
// APIKeyIDs [""] selects usage that no API key authenticated.
type AnalyticsFilters struct {
	ActorIDs            []string
	ActorTypes          []string
	APIKeyIDs           []string
	WorkspaceIDs        []string
	Models              []string
	ServiceTiers        []string
	ContextWindows      []string
	InferenceGeos       []string
	Speeds              []string
	Products            []string
	OrganizationIDs     []string
	RBACGroupIDs        []string
	ClaudeTagCategories []string
	ClaudeTagUserIDs    []string
	SlackChannelIDs     []string
	AgentIDs            []string
	EnvironmentIDs      []string
	DeploymentIDs       []string
	SessionIDs          []string
	UserProfileIDs      []string
}

// params pairs each filter with its wire name (without brackets).
func (f *AnalyticsFilters) params() []struct {
	name string
	vals []string
} {
	return []struct {
		name string
		vals []string
	}{
		{"actor_ids", f.ActorIDs}, {"actor_types", f.ActorTypes}, {"api_key_ids", f.APIKeyIDs},
		{"workspace_ids", f.WorkspaceIDs}, {"models", f.Models}, {"service_tiers", f.ServiceTiers},
		{"context_windows", f.ContextWindows}, {"inference_geos", f.InferenceGeos}, {"speeds", f.Speeds},
		{"products", f.Products}, {"organization_ids", f.OrganizationIDs}, {"rbac_group_ids", f.RBACGroupIDs},
		{"claude_tag_categories", f.ClaudeTagCategories}, {"claude_tag_user_ids", f.ClaudeTagUserIDs},
		{"slack_channel_ids", f.SlackChannelIDs}, {"agent_ids", f.AgentIDs}, {"environment_ids", f.EnvironmentIDs},
		{"deployment_ids", f.DeploymentIDs}, {"session_ids", f.SessionIDs}, {"user_profile_ids", f.UserProfileIDs},
	}
}

// values encodes the query; arrays in the bracket form, one pair a value.
func (q *AnalyticsQuery) values() url.Values {
	v := url.Values{}
	v.Set("starting_at", q.StartingAt.UTC().Format(time.RFC3339))
	if !q.EndingAt.IsZero() {
		v.Set("ending_at", q.EndingAt.UTC().Format(time.RFC3339))
	}
	if q.BucketWidth != "" {
		v.Set("time_bucket_width", q.BucketWidth)
	}
	for _, g := range q.GroupBy {
		v.Add("group_by[]", g)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.OrderBy != "" {
		v.Set("order_by", q.OrderBy)
	}
	if q.Order != "" {
		v.Set("order", q.Order)
	}
	if q.ExcludeDeletedUsers {
		v.Set("exclude_deleted_users", "true")
	}
	for _, f := range q.Filters.params() {
		for _, x := range f.vals {
			v.Add(f.name+"[]", x)
		}
	}
	return v
}

// groupsBy reports whether the query groups by dim.
func (q *AnalyticsQuery) groupsBy(dim string) bool { return slices.Contains(q.GroupBy, dim) }

// ErrAnalyticsQuery reports a query the API documents as invalid.
var ErrAnalyticsQuery = errors.New("invalid analytics query")

// Check reports, at once, every documented limit the query breaks, as of
// now: the API would answer each with a 400. cost selects the cost
// endpoint's vocabulary, where cost_type and token_type do not count
// toward the five dimensions.
func (q *AnalyticsQuery) Check(cost bool, now time.Time) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	vocab := AnalyticsUsageGroupBy
	if cost {
		vocab = AnalyticsCostGroupBy
	}
	dims := 0
	seen := map[string]bool{}
	for _, g := range q.GroupBy {
		switch {
		case !slices.Contains(vocab, g):
			bad("group_by %q is not a dimension of this endpoint", g)
		case seen[g]:
			bad("group_by %q is listed twice", g)
		case !IsFanOutDim(g):
			dims++
		}
		seen[g] = true
	}
	if dims > AnalyticsMaxGroupBy {
		bad("group_by has %d dimensions, at most %d", dims, AnalyticsMaxGroupBy)
	}
	if seen[DimClaudeTagUserID] && (seen[DimRBACGroupID] || len(q.Filters.RBACGroupIDs) > 0) {
		bad("claude_tag_user_id cannot be combined with rbac_group_id")
	}
	if q.ExcludeDeletedUsers && !seen[DimActor] {
		bad("exclude_deleted_users needs group_by actor")
	}
	width := WidthDuration(q.BucketWidth)
	if q.BucketWidth != "" && width == 0 {
		bad("time_bucket_width %q is not 1m, 1h or 1d", q.BucketWidth)
	}
	if q.Limit < 0 || q.Limit > AnalyticsMaxLimit {
		bad("limit %d is not within 1–%d", q.Limit, AnalyticsMaxLimit)
	}
	if q.StartingAt.Before(AnalyticsHistoryStart) {
		bad("starting_at %s is before %s", q.StartingAt.UTC().Format(time.RFC3339), AnalyticsHistoryStart.Format(time.RFC3339))
	}
	if q.StartingAt.Before(now.Add(-AnalyticsMaxAge)) {
		bad("starting_at %s is more than 365 days ago", q.StartingAt.UTC().Format(time.RFC3339))
	}
	switch {
	case q.EndingAt.IsZero():
		if q.BucketWidth != "" {
			bad("ending_at is required with time_bucket_width")
		}
	case !q.EndingAt.After(q.StartingAt):
		bad("ending_at must be after starting_at")
	case q.BucketWidth == BucketWidth1m && q.EndingAt.Sub(q.StartingAt) > AnalyticsMaxRange1m:
		bad("a range of 1m buckets spans at most 24h, not %s", q.EndingAt.Sub(q.StartingAt))
	case q.EndingAt.Sub(q.StartingAt) > AnalyticsMaxRange:
		bad("the range spans at most 31 days, not %s", q.EndingAt.Sub(q.StartingAt))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrAnalyticsQuery, errors.Join(errs...))
	}
	return nil
}
