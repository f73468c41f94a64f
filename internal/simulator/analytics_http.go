// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// aSpec is the grouping and filtering of an analytics query.
type aSpec struct {
	group                 [nADims]bool
	byCostType, byTokType bool
	filters               [nADims]map[string]bool
	excludeDeleted        bool
}

func (sp *aSpec) match(a *aSeries) bool {
	if sp.excludeDeleted && a.deleted {
		return false
	}
	for d, f := range sp.filters {
		if f == nil {
			continue
		}
		var v string
		switch p := a.vals[d]; {
		case d == aActor:
			// An apikey_ entry matches usage attributed to the key itself:
			// api_actor rows, not a user's or service account's use of it.
			if v = a.actorID(); v == "" {
				return false
			}
		case d == aAPIKey && p == nil:
			v = "" // api_key_ids[]= selects usage no key authenticated
		case d == aInferenceGeo && p == nil:
			v = "not_available"
		case p == nil:
			return false
		default:
			v = *p
		}
		if !f[v] {
			return false
		}
	}
	return true
}

// aQuery is a parsed analytics query.
type aQuery struct {
	cost        bool
	spec        aSpec
	start, end  time.Time
	width       time.Duration // 0: no bucket width
	limit       int
	orderBy     string
	asc         bool
	fingerprint string
}

var usageOrderBy = []string{"output_tokens", "requests", "time", "total_tokens", "uncached_input_tokens"}
var costOrderBy = []string{"amount", "list_amount", "time"}

// maxFilterValues is the Enterprise reports' limit, assumed here [I].
const maxFilterValues = 100

func parseAnalytics(q url.Values, cost bool, now time.Time) (*aQuery, *apiError) {
	aq := &aQuery{cost: cost}
	start, _, err := parseTimeParam(q, "starting_at", true)
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := parseTimeParam(q, "ending_at", false)
	if err != nil {
		return nil, err
	}
	if w := q.Get("time_bucket_width"); w != "" {
		bw, ok := bucketWidths[w]
		if !ok {
			return nil, badRequest("time_bucket_width: unknown value %q; allowed values: \"1d\", \"1h\", \"1m\"", w)
		}
		aq.width = bw.d
		if !hasEnd {
			return nil, badRequest("ending_at: required when time_bucket_width is set")
		}
	}
	switch {
	case start.Before(adminapi.AnalyticsHistoryStart):
		return nil, badRequest("starting_at: must be on or after 2026-01-01T00:00:00Z")
	case start.Before(now.Add(-adminapi.AnalyticsMaxAge)):
		return nil, badRequest("starting_at: must be within the last 365 days")
	}
	if !hasEnd {
		end = start.Add(adminapi.AnalyticsMaxRange)
		if now.Before(end) {
			end = now
		}
	}
	switch {
	case !end.After(start):
		return nil, badRequest("ending_at: must be after starting_at")
	case aq.width == time.Minute && end.Sub(start) > adminapi.AnalyticsMaxRange1m:
		return nil, badRequest("ending_at: with time_bucket_width=1m the range must span at most 24 hours")
	case end.Sub(start) > adminapi.AnalyticsMaxRange:
		return nil, badRequest("ending_at: date range must span at most 31 days")
	}
	if aq.width == 0 {
		// Without a bucket width the report covers whole hours only.
		start, end = start.Truncate(time.Hour), end.Truncate(time.Hour)
	}
	aq.start, aq.end = start, end

	if aq.spec, err = parseASpec(q, cost); err != nil {
		return nil, err
	}
	limit, err := parseLimit(q, 1, adminapi.AnalyticsMaxLimit, adminapi.AnalyticsDefaultLimit, "")
	if err != nil {
		return nil, err
	}
	aq.limit = limit
	orders, def := usageOrderBy, "total_tokens"
	if cost {
		orders, def = costOrderBy, "amount"
	}
	aq.orderBy = q.Get("order_by")
	if aq.orderBy == "" {
		aq.orderBy = def
	}
	if !slices.Contains(orders, aq.orderBy) {
		return nil, badRequest("order_by: unknown value %q; allowed values: %s", aq.orderBy, quoteList(orders))
	}
	if aq.orderBy == "time" && aq.width == 0 {
		aq.orderBy = def
	}
	switch o := q.Get("order"); o {
	case "", "desc":
	case "asc":
		aq.asc = true
	default:
		return nil, badRequest("order: unknown value %q; allowed values: \"asc\", \"desc\"", o)
	}
	var parts []string
	for k, v := range q {
		if k != "page" && k != "limit" {
			parts = append(parts, k+"="+sortedJoin(v))
		}
	}
	sort.Strings(parts)
	aq.fingerprint = fingerprint(append([]string{strconv.FormatBool(cost)}, parts...)...)
	return aq, nil
}

// parseASpec reads group_by, the filters and exclude_deleted_users.
func parseASpec(q url.Values, cost bool) (aSpec, *apiError) {
	var spec aSpec
	vocab := adminapi.AnalyticsUsageGroupBy
	if cost {
		vocab = adminapi.AnalyticsCostGroupBy
	}
	dims := 0
	for _, g := range arrayParam(q, "group_by") {
		d := slices.Index(adminapi.AnalyticsUsageGroupBy, g)
		switch {
		case !slices.Contains(vocab, g):
			return spec, badRequest("group_by: unknown value %q; allowed values: %s", g, quoteList(vocab))
		case g == adminapi.DimCostType:
			spec.byCostType = true
		case g == adminapi.DimTokenType:
			spec.byTokType = true
		case !spec.group[d]:
			spec.group[d] = true
			dims++
		}
	}
	if dims > adminapi.AnalyticsMaxGroupBy {
		return spec, badRequest("group_by: at most %d dimensions, got %d", adminapi.AnalyticsMaxGroupBy, dims)
	}
	for d, name := range aFilters {
		vals := q[name+"[]"]
		if d != aAPIKey {
			vals = arrayParam(q, name)
		}
		if len(vals) == 0 {
			continue
		}
		if len(vals) > maxFilterValues {
			return spec, badRequest("%s[]: at most %d values", name, maxFilterValues)
		}
		spec.filters[d] = map[string]bool{}
		for _, v := range vals {
			if enum := aEnums[d]; enum != nil && !slices.Contains(enum, v) {
				return spec, badRequest("%s[]: unknown value %q; allowed values: %s", name, v, quoteList(enum))
			}
			spec.filters[d][v] = true
		}
	}
	if spec.group[aClaudeTagUser] && (spec.group[aRBACGroup] || spec.filters[aRBACGroup] != nil) {
		return spec, badRequest("group_by: claude_tag_user_id cannot be combined with rbac_group_id grouping or the rbac_group_ids filter")
	}
	switch v := q.Get("exclude_deleted_users"); v {
	case "", "false":
	case "true":
		if !spec.group[aActor] {
			return spec, badRequest("exclude_deleted_users: requires group_by[]=actor")
		}
		spec.excludeDeleted = true
	default:
		return spec, badRequest("exclude_deleted_users: %q is not a boolean", v)
	}
	return spec, nil
}

// spans are the query's buckets: aligned down to the width at the start
// and up at the end [U]; the whole range without a width.
func (aq *aQuery) spans() []span {
	if aq.width == 0 {
		return []span{{floorDiv(aq.start.Unix(), 60), floorDiv(aq.end.Unix(), 60)}}
	}
	w := int64(aq.width / time.Minute)
	first := floorDiv(floorDiv(aq.start.Unix(), 60), w) * w
	last := ceilDiv(ceilDiv(aq.end.Unix(), 60), w) * w
	out := make([]span, 0, (last-first)/w)
	for a := first; a < last; a += w {
		out = append(out, span{a, a + w})
	}
	return out
}

// analyticsCache keeps the combinations of the queries read lately, so
// that a walk's pages slice one computation instead of repeating it per
// page, while a usage and a cost walk (or a few receivers) interleave.
type analyticsCache struct {
	mu      sync.Mutex
	entries map[string]cachedRows
}

type cachedRows struct {
	rows  []*aRow
	spans []span
}

// maxCachedQueries bounds the cache; past it, it starts again empty.
const maxCachedQueries = 8

// rows are the query's combinations as export e holds them, in the order
// of order_by and order, ties broken by bucket then group.
func (s *Simulator) analyticsRows(aq *aQuery, e int64) ([]*aRow, []span) {
	c := &s.analytics.cache
	key := aq.fingerprint + "|" + strconv.FormatInt(e, 10) + "|" + strconv.FormatInt(s.freezeNs.Load(), 10)
	c.mu.Lock()
	defer c.mu.Unlock()
	if hit, ok := c.entries[key]; ok {
		return hit.rows, hit.spans
	}
	spans := aq.spans()
	rows := s.aggregateAnalytics(&aq.spec, spans, e, false, aq.cost)
	rows = slices.DeleteFunc(rows, func(r *aRow) bool { return r.empty(aq.cost) })
	metric := func(r *aRow) int64 {
		switch aq.orderBy {
		case "uncached_input_tokens":
			return r.v[cUncached]
		case "output_tokens":
			return r.v[cOutput]
		case "requests":
			return r.v[cRequests]
		case "amount", "time":
			if aq.cost {
				return r.amount().amount
			}
		case "list_amount":
			return r.amount().list
		}
		return r.totalTokens()
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if aq.orderBy == "time" && a.bucket != b.bucket {
			return (a.bucket < b.bucket) == aq.asc
		}
		if ma, mb := metric(a), metric(b); ma != mb {
			if aq.orderBy == "time" {
				return ma > mb // within a bucket, highest first
			}
			return (ma < mb) == aq.asc
		}
		if a.bucket != b.bucket {
			return a.bucket < b.bucket
		}
		return a.key < b.key
	})
	if len(c.entries) >= maxCachedQueries || c.entries == nil {
		c.entries = map[string]cachedRows{}
	}
	c.entries[key] = cachedRows{rows, spans}
	return rows, spans
}

func (s *Simulator) handleAnalyticsUsage(r *http.Request) (any, *apiError) {
	return s.handleAnalytics(r, false)
}

func (s *Simulator) handleAnalyticsCost(r *http.Request) (any, *apiError) {
	return s.handleAnalytics(r, true)
}

func (s *Simulator) handleAnalytics(r *http.Request, cost bool) (any, *apiError) {
	o := &s.opts.Analytics
	if !hasBeta(r, adminapi.BetaAnalytics) {
		return nil, badRequest("anthropic-beta: this endpoint requires the beta header anthropic-beta: %s", adminapi.BetaAnalytics)
	}
	if o.HIPAA {
		return nil, badRequest("This organization has HIPAA readiness enabled; the Usage and Cost Analytics API is not available to HIPAA-enabled organizations.")
	}
	now := s.now()
	q := r.URL.Query()
	aq, err := parseAnalytics(q, cost, now)
	if err != nil {
		return nil, err
	}
	if o.RBACUnavailable && (aq.spec.group[aRBACGroup] || aq.spec.filters[aRBACGroup] != nil) {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Type: "overloaded_error",
			Message: "Team membership data is not ready yet; RBAC group breakdowns and filters are temporarily unavailable."}
	}
	e := s.analytics.exportAt(now.UnixNano())
	name := "analytics_usage"
	if cost {
		name = "analytics_cost"
	}
	c, err := parsePage(q, name, aq.fingerprint)
	if err != nil {
		return nil, err
	}
	if c != nil && c.A != e {
		return nil, &apiError{Status: http.StatusGone, Type: "invalid_request_error",
			Message: "page: the page token has expired because the data was refreshed; restart the query without page"}
	}
	rows, spans := s.analyticsRows(aq, e)
	offset := 0
	if c != nil {
		if c.N < 0 || c.N > int64(len(rows)) {
			return nil, badRequest("page: the page token does not fit this query")
		}
		offset = int(c.N)
	}
	n := min(aq.limit, len(rows)-offset)
	out := analyticsPageJSON{Data: []any{}}
	if aq.start.UnixNano() < e {
		refreshed := fmtTime(time.Unix(0, e))
		out.DataRefreshedAt = &refreshed
	}
	for _, row := range rows[offset : offset+n] {
		out.Data = s.renderAnalytics(out.Data, aq, row, spans[row.bucket])
	}
	if offset+n < len(rows) {
		out.HasMore = true
		next := cursor{E: name, Q: aq.fingerprint, N: int64(offset + n), A: e}.encode()
		out.NextPage = &next
	}
	return out, nil
}

type analyticsPageJSON struct {
	Data            []any   `json:"data"`
	HasMore         bool    `json:"has_more"`
	NextPage        *string `json:"next_page"`
	DataRefreshedAt *string `json:"data_refreshed_at"`
}

// aGroupJSON sends every key on every row, null unless grouped.
type aGroupJSON struct {
	Actor             map[string]any `json:"actor"`
	ActorType         *string        `json:"actor_type"`
	AgentID           *string        `json:"agent_id"`
	APIKeyID          *string        `json:"api_key_id"`
	ClaudeTagCategory *string        `json:"claude_tag_category"`
	ClaudeTagUserID   *string        `json:"claude_tag_user_id"`
	ContextWindow     *string        `json:"context_window"`
	DeploymentID      *string        `json:"deployment_id"`
	EnvironmentID     *string        `json:"environment_id"`
	InferenceGeo      *string        `json:"inference_geo"`
	Model             *string        `json:"model"`
	OrganizationID    *string        `json:"organization_id"`
	Product           *string        `json:"product"`
	RBACGroupID       *string        `json:"rbac_group_id"`
	ServiceTier       *string        `json:"service_tier"`
	SessionID         *string        `json:"session_id"`
	SlackChannelID    *string        `json:"slack_channel_id"`
	Speed             *string        `json:"speed"`
	UserProfileID     *string        `json:"user_profile_id"`
	WorkspaceID       *string        `json:"workspace_id"`
}

type aCostGroupJSON struct {
	aGroupJSON
	CostType  *string `json:"cost_type"`
	TokenType *string `json:"token_type"`
}

type aUsageJSON struct {
	tokensJSON
	Requests    int64 `json:"requests"`
	TotalTokens int64 `json:"total_tokens"`
}

type aCostJSON struct {
	Amount     string `json:"amount"`
	ListAmount string `json:"list_amount"`
	Currency   string `json:"currency"`
	Requests   *int64 `json:"requests"`
}

type aRowJSON struct {
	StartingAt string `json:"starting_at"`
	EndingAt   string `json:"ending_at"`
	Group      any    `json:"group"`
	Usage      any    `json:"usage,omitempty"`
	Cost       any    `json:"cost,omitempty"`
}

func (sp *aSpec) groupJSON(rep *aSeries) aGroupJSON {
	var g aGroupJSON
	v := func(d int) *string {
		if sp.group[d] {
			return rep.vals[d]
		}
		return nil
	}
	if sp.group[aActor] {
		g.Actor = rep.actor
	}
	g.ActorType, g.AgentID, g.APIKeyID = v(aActorType), v(aAgent), v(aAPIKey)
	g.ClaudeTagCategory, g.ClaudeTagUserID, g.ContextWindow = v(aClaudeTagCategory), v(aClaudeTagUser), v(aContextWindow)
	g.DeploymentID, g.EnvironmentID, g.InferenceGeo = v(aDeployment), v(aEnvironment), v(aInferenceGeo)
	g.Model, g.OrganizationID, g.Product, g.RBACGroupID = v(aModel), v(aOrganization), v(aProduct), v(aRBACGroup)
	g.ServiceTier, g.SessionID, g.SlackChannelID = v(aServiceTier), v(aSession), v(aSlackChannel)
	g.Speed, g.UserProfileID, g.WorkspaceID = v(aSpeed), v(aUserProfile), v(aWorkspace)
	return g
}

// renderAnalytics appends the rows of one combination: one for usage, the
// fan-out for cost.
func (s *Simulator) renderAnalytics(out []any, aq *aQuery, r *aRow, b span) []any {
	row := aRowJSON{StartingAt: fmtTime(time.Unix(b.a*60, 0)), EndingAt: fmtTime(time.Unix(b.b*60, 0))}
	g := aq.spec.groupJSON(r.rep)
	if !aq.cost {
		row.Group = g
		row.Usage = aUsageJSON{tokensJSON: tokensOf(&r.v), Requests: r.v[cRequests], TotalTokens: r.totalTokens()}
		return append(out, row)
	}
	emit := func(costType, tokenType *string, m money, requests *int64) {
		if m == (money{}) && !s.opts.Analytics.ZeroFanOut {
			return
		}
		rr := row
		rr.Group = aCostGroupJSON{aGroupJSON: g, CostType: costType, TokenType: tokenType}
		rr.Cost = aCostJSON{Amount: formatCents(m.amount), ListAmount: formatCents(m.list), Currency: "USD", Requests: requests}
		out = append(out, rr)
	}
	sum := func(parts ...int) (m money) {
		for _, p := range parts {
			m.amount += r.cost[p].amount
			m.list += r.cost[p].list
		}
		return m
	}
	tokens := sp(costTokens)
	switch {
	case !aq.spec.byCostType && !aq.spec.byTokType:
		requests := r.v[cRequests]
		emit(nil, nil, r.amount(), &requests)
	case !aq.spec.byTokType:
		emit(tokens, nil, sum(0, 1, 2, 3, 4), nil)
	default:
		for k := 0; k < 5; k++ {
			emit(tokens, &tokenTypes[k], r.cost[k], nil)
		}
	}
	switch {
	case aq.spec.byCostType:
		emit(sp(costWebSearch), nil, r.cost[partWebSearch], nil)
		emit(sp(costCodeExecution), nil, r.cost[partCodeExec], nil)
		emit(sp("session_usage"), nil, money{}, nil)
	case aq.spec.byTokType:
		// What the API does with non-token costs when only token_type is
		// grouped is [U]: here they stay in one row with neither set, so
		// the rows still add up to the total.
		emit(nil, nil, sum(partWebSearch, partCodeExec), nil)
	}
	return out
}

// formatCents renders nano-cents as cents with at least six decimals, as
// the Enterprise reports do, and more when six would not be exact.
func formatCents(nc int64) string {
	s := FormatNanoCents(nc)
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 6 {
		frac += "0"
	}
	return whole + "." + frac
}
