// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// Limits modes: which kind of organization the limits endpoints serve
// (../shared/anthropic-limits-api.md).
const (
	// LimitsConsole: a Claude Console organization with early access to the
	// spend-limit list: rate limits, usage-tier, organization and workspace
	// spend limits; the member report answers 400
	// organization_type_not_supported.
	LimitsConsole = "console"
	// LimitsConsoleNoEarlyAccess: the same without early access: the
	// spend-limit list answers 403 [U: the reference does not say which 4xx].
	LimitsConsoleNoEarlyAccess = "console-no-early-access"
	// LimitsEnterprise: a Claude Enterprise organization: seat-tier, group,
	// organization and member spend limits, the member report; the Rate
	// Limits API answers 403 [U: documented for Console keys only].
	LimitsEnterprise = "enterprise"
)

// LimitsModes lists the modes, for flags.
var LimitsModes = []string{LimitsConsole, LimitsConsoleNoEarlyAccess, LimitsEnterprise}

// The simulated Console caps, in cents: the Scale tier's usage-tier cap,
// the organization's own limit, and the first two workspaces' limits.
const (
	SimUsageTierCents    = 20_000_000
	SimOrganizationCents = 1_000_000
)

// SimWorkspaceCents are the monthly limits of the first listed workspaces.
var SimWorkspaceCents = []int64{200_000, 500_000}

// rateGroup is a rate-limit group of the simulated organization.
type rateGroup struct {
	typ, id, name string
	models        []string
	limits        []rateLimiter
}

type rateLimiter struct {
	typ   string
	value int64
}

// rateGroups are the organization's rate limits: one model group per model
// family in use, and the batch, token counting and web search groups.
func (s *Simulator) rateGroups() []rateGroup {
	families := map[string]*rateGroup{}
	var order []string
	for _, m := range s.org.Models {
		fam := modelFamily(m.Display)
		g, ok := families[fam]
		if !ok {
			g = &rateGroup{typ: "model_group", id: groupID(fam), name: fam}
			switch {
			case strings.Contains(fam, "Haiku"):
				g.limits = []rateLimiter{{"requests_per_minute", 4000}, {"input_tokens_per_minute_cache_aware", 4_000_000}, {"output_tokens_per_minute", 800_000}}
			default:
				g.limits = []rateLimiter{{"requests_per_minute", 4000}, {"input_tokens_per_minute_cache_aware", 2_000_000}, {"output_tokens_per_minute", 400_000}}
			}
			families[fam] = g
			order = append(order, fam)
		}
		g.models = append(g.models, m.ID)
	}
	sort.Strings(order)
	out := make([]rateGroup, 0, len(order)+3)
	for _, fam := range order {
		out = append(out, *families[fam])
	}
	return append(out,
		rateGroup{typ: "batch", id: groupID("batch"), limits: []rateLimiter{{"requests_per_minute", 4000}, {"enqueued_batch_requests", 500_000}}},
		rateGroup{typ: "token_count", id: groupID("token_count"), limits: []rateLimiter{{"requests_per_minute", 8000}}},
		rateGroup{typ: "web_search", id: groupID("web_search"), limits: []rateLimiter{{"tool_uses_per_second", 30}}},
	)
}

// modelFamily: "Claude Sonnet 4.6" -> "Claude Sonnet 4.x".
func modelFamily(display string) string {
	if i := strings.LastIndexByte(display, ' '); i > 0 {
		major, _, _ := strings.Cut(display[i+1:], ".")
		return display[:i] + " " + major + ".x"
	}
	return display
}

// groupID is the same in every organization, as the reference says.
func groupID(name string) string {
	return "rlg_01" + base58ID(hashString("rate-limit-group "+name), 22)
}

func (s *Simulator) entryID(g rateGroup) string {
	return "ratelimit_01" + base58ID(hash4(s.seed, 0x7a7e, hashString(g.id), 0), 22)
}

// workspaceOverrides are the simulated workspace rate-limit overrides: the
// first listed workspace lowers the first model group's requests and output
// tokens; the second sets requests above the organization's (stored, not
// effective).
func (s *Simulator) workspaceOverrides(wsIndex int, g rateGroup, first bool) map[string]int64 {
	if !first {
		return nil
	}
	switch wsIndex {
	case 0:
		return map[string]int64{"requests_per_minute": 1000, "output_tokens_per_minute": 100_000}
	case 1:
		return map[string]int64{"requests_per_minute": 5000}
	}
	return nil
}

var rateGroupTypes = []string{"batch", "files", "model_group", "skills", "token_count", "web_search"}

type rateGroupJSON struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name,omitempty"`
}

type limiterJSON struct {
	Type     string          `json:"type"`
	Value    int64           `json:"value"`
	OrgLimit *int64          `json:"org_limit,omitempty"`
	Source   *map[string]any `json:"source,omitempty"`
}

type rateLimitJSON struct {
	Type        string        `json:"type"`
	ID          string        `json:"id,omitempty"`
	WorkspaceID string        `json:"workspace_id,omitempty"`
	RateLimitID string        `json:"rate_limit_id,omitempty"`
	Group       rateGroupJSON `json:"group"`
	GroupType   string        `json:"group_type,omitempty"` // deprecated; sent under 2023-06-01 only [U]
	Models      []string      `json:"models"`
	Limits      []limiterJSON `json:"limits"`
}

type cursorPageJSON[T any] struct {
	Data     []T     `json:"data"`
	NextPage *string `json:"next_page"`
}

// pageUnits cuts units (a row, or a member's rows) into pages of limit
// units; limit 0 means all in one page.
func pageUnits[T any](q url.Values, endpoint, fp string, units [][]T, limit int) (cursorPageJSON[T], *apiError) {
	out := cursorPageJSON[T]{Data: []T{}}
	c, err := parsePage(q, endpoint, fp)
	if err != nil {
		return out, err
	}
	start := 0
	if c != nil {
		start = int(c.N)
	}
	end := len(units)
	if limit > 0 && start+limit < end {
		end = start + limit
		next := cursor{E: endpoint, Q: fp, N: int64(end)}.encode()
		out.NextPage = &next
	}
	for _, u := range units[min(start, len(units)):end] {
		out.Data = append(out.Data, u...)
	}
	return out, nil
}

func rows[T any](items []T) [][]T {
	out := make([][]T, len(items))
	for i, it := range items {
		out[i] = []T{it}
	}
	return out
}

// optionalLimit: omitted means everything in one page (rate-limit lists).
func optionalLimit(q url.Values) (int, *apiError) {
	if q.Get("limit") == "" {
		return 0, nil
	}
	return parseLimit(q, 1, 1000, 0, "")
}

func (s *Simulator) rateLimitsAvailable() *apiError {
	if s.opts.LimitsMode == LimitsEnterprise {
		return &apiError{Status: 403, Type: "permission_error", Message: "Permission denied: the Rate Limits API is not available for this organization"}
	}
	return nil
}

// rateListParams are the parameters both rate-limit lists take: the
// group_type filter and the optional limit.
func rateListParams(q url.Values) (string, int, *apiError) {
	gt := q.Get("group_type")
	if gt != "" && !oneOf(gt, rateGroupTypes) {
		return "", 0, badRequest("group_type: unknown value %q; allowed values: %s", gt, quoteList(rateGroupTypes))
	}
	limit, err := optionalLimit(q)
	return gt, limit, err
}

// rateEntry is what both rate-limit lists say of a group; the deprecated
// flat group_type is sent under the 2023-06-01 API version only [U].
func rateEntry(r *http.Request, g rateGroup) rateLimitJSON {
	e := rateLimitJSON{Group: rateGroupJSON{g.typ, g.id, g.name}, Models: g.models}
	if r.Header.Get("anthropic-version") == "2023-06-01" {
		e.GroupType = g.typ
	}
	return e
}

func (s *Simulator) handleRateLimits(r *http.Request) (any, *apiError) {
	if err := s.rateLimitsAvailable(); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	gt, limit, err := rateListParams(q)
	if err != nil {
		return nil, err
	}
	model := q.Get("model")
	var items []rateLimitJSON
	for _, g := range s.rateGroups() {
		if gt != "" && g.typ != gt || model != "" && !oneOf(model, g.models) {
			continue
		}
		e := rateEntry(r, g)
		e.Type, e.ID = "rate_limit", s.entryID(g)
		for _, l := range g.limits {
			e.Limits = append(e.Limits, limiterJSON{Type: l.typ, Value: l.value})
		}
		items = append(items, e)
	}
	if model != "" && len(items) == 0 {
		return nil, &apiError{Status: 404, Type: "not_found_error", Message: fmt.Sprintf("model: %q has no rate limits in this organization", model)}
	}
	return pageUnits(q, adminapi.PathRateLimits, fingerprint(gt, model), rows(items), limit)
}

func (s *Simulator) handleWorkspaceRateLimits(wsID string, r *http.Request) (any, *apiError) {
	if err := s.rateLimitsAvailable(); err != nil {
		return nil, err
	}
	wsIndex := -1
	for i, w := range s.listedWorkspaces() {
		if *w.ID == wsID {
			wsIndex = i
		}
	}
	if wsIndex < 0 {
		return nil, &apiError{Status: 404, Type: "not_found_error", Message: "Not found: no workspace with id " + wsID}
	}
	q := r.URL.Query()
	inherited, err := parseBool(q, "include_inherited")
	if err != nil {
		return nil, err
	}
	gt, limit, err := rateListParams(q)
	if err != nil {
		return nil, err
	}
	var items []rateLimitJSON
	firstModelGroup := true
	for _, g := range s.rateGroups() {
		over := s.workspaceOverrides(wsIndex, g, g.typ == "model_group" && firstModelGroup)
		if g.typ == "model_group" {
			firstModelGroup = false
		}
		if gt != "" && g.typ != gt || len(over) == 0 && !inherited {
			continue
		}
		e := rateEntry(r, g)
		e.Type, e.WorkspaceID, e.RateLimitID = "workspace_rate_limit", wsID, s.entryID(g)
		for _, l := range g.limits {
			org := l.value
			v, overridden := over[l.typ]
			switch {
			case overridden:
				e.Limits = append(e.Limits, limiterJSON{Type: l.typ, Value: v, OrgLimit: &org, Source: &map[string]any{"type": "workspace"}})
			case inherited:
				e.Limits = append(e.Limits, limiterJSON{Type: l.typ, Value: org, OrgLimit: &org, Source: &map[string]any{"type": "organization"}})
			}
		}
		items = append(items, e)
	}
	return pageUnits(q, "workspace_rate_limits", fingerprint(wsID, strconv.FormatBool(inherited), gt), rows(items), limit)
}

type spendScopeJSON map[string]string

type spendLimitJSON struct {
	Type      string         `json:"type"`
	ID        string         `json:"id"`
	Scope     spendScopeJSON `json:"scope"`
	Period    string         `json:"period"`
	Amount    *string        `json:"amount"`
	Currency  string         `json:"currency"`
	IsEnabled bool           `json:"is_enabled"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
}

func cents(n int64) *string {
	v := strconv.FormatInt(n, 10)
	return &v
}

func (s *Simulator) spendLimitID(scope string) string {
	return "spl_01" + base58ID(hash4(s.seed, 0x5b1, hashString(scope), 0), 22)
}

// spendLimits are the configured limits of the mode, in the documented
// order: Console newest first (the usage tier, created with the
// organization, last); Enterprise grouped by scope type.
func (s *Simulator) spendLimits() []spendLimitJSON {
	created := fmtTime(s.org.Origin)
	row := func(scope spendScopeJSON, amount *string, enabled bool) spendLimitJSON {
		key := scope["type"] + "/" + scope["workspace_id"] + scope["seat_tier"] + scope["rbac_group_id"] + scope["user_id"]
		return spendLimitJSON{Type: "spend_limit", ID: s.spendLimitID(key), Scope: scope, Period: "monthly", Amount: amount,
			Currency: "USD", IsEnabled: enabled, CreatedAt: created, UpdatedAt: created}
	}
	if s.opts.LimitsMode == LimitsEnterprise {
		out := []spendLimitJSON{
			row(spendScopeJSON{"type": "organization"}, cents(enterpriseDefaultCents), true),
			row(spendScopeJSON{"type": "seat_tier", "seat_tier": "enterprise_standard"}, nil, true),
			row(spendScopeJSON{"type": "rbac_group", "rbac_group_id": s.rbacGroupID()}, cents(enterpriseGroupCents), true),
		}
		if len(s.org.Users) > 0 {
			out = append(out, row(spendScopeJSON{"type": "user", "user_id": s.org.Users[0].ID}, cents(enterpriseUserCents), true))
		}
		return out
	}
	var out []spendLimitJSON
	ws := s.listedWorkspaces()
	for i := len(SimWorkspaceCents) - 1; i >= 0; i-- {
		if i < len(ws) && ws[i].ArchivedAt == nil {
			out = append(out, row(spendScopeJSON{"type": "workspace", "workspace_id": *ws[i].ID}, cents(SimWorkspaceCents[i]), true))
		}
	}
	return append(out,
		row(spendScopeJSON{"type": "organization"}, cents(SimOrganizationCents), true),
		row(spendScopeJSON{"type": "usage_tier"}, cents(SimUsageTierCents), true))
}

// Enterprise per-member limits, in cents.
const (
	enterpriseDefaultCents = 20_000
	enterpriseGroupCents   = 60_000
	enterpriseUserCents    = 150_000
	enterpriseDailyCents   = 5_000
)

func (s *Simulator) rbacGroupID() string {
	return "rbacgrp_01" + base58ID(hash4(s.seed, 0x6bac, 1, 0), 22)
}

var spendScopeTypes = []string{"organization", "organization_service", "rbac_group", "seat_tier", "usage_tier", "user", "workspace"}

// spendRequestsPerMinute is the limit the eight spend-limit endpoints share
// per organization.
const spendRequestsPerMinute = 60

// spendRateLimit answers 429 past spendRequestsPerMinute [U: whether with a
// retry-after; this one sends none].
func (s *Simulator) spendRateLimit() *apiError {
	if wait, ok := s.slidingWindow(&s.spendRL, spendRequestsPerMinute); !ok {
		return &apiError{Status: 429, Type: "rate_limit_error",
			Message: fmt.Sprintf("Rate limited: the spend limit endpoints allow %d requests per minute; retry after %d seconds", spendRequestsPerMinute, wait)}
	}
	return nil
}

func (s *Simulator) handleSpendLimits(r *http.Request) (any, *apiError) {
	if err := s.spendRateLimit(); err != nil {
		return nil, err
	}
	if !hasBeta(r, adminapi.BetaSpendLimitReads) {
		return nil, badRequest("anthropic-beta: listing spend limits requires the %s beta", adminapi.BetaSpendLimitReads)
	}
	if s.opts.LimitsMode == LimitsConsoleNoEarlyAccess {
		return nil, &apiError{Status: 403, Type: "permission_error", Message: "Permission denied: listing spend limits is in early access for Claude Console organizations"}
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, 1, 1000, 20, "")
	if err != nil {
		return nil, err
	}
	enterprise := s.opts.LimitsMode == LimitsEnterprise
	types := arrayParam(q, "scope_type")
	for _, t := range types {
		applies := oneOf(t, []string{"organization", "workspace", "usage_tier"})
		if enterprise {
			applies = oneOf(t, []string{"organization", "organization_service", "rbac_group", "seat_tier", "user"})
		}
		if !oneOf(t, spendScopeTypes) || !applies {
			return nil, badRequest("scope_type: %q does not apply to this organization", t)
		}
	}
	wsID := q.Get("workspace_id")
	if wsID != "" && enterprise {
		return nil, badRequest("workspace_id: only Claude Console organizations have workspace spend limits")
	}
	var items []spendLimitJSON
	for _, l := range s.spendLimits() {
		if len(types) > 0 && !oneOf(l.Scope["type"], types) || wsID != "" && l.Scope["workspace_id"] != wsID {
			continue
		}
		items = append(items, l)
	}
	return pageUnits(q, adminapi.PathSpendLimits, fingerprint(sortedJoin(types), wsID), rows(items), limit)
}

type spendSummaryJSON struct {
	Actor             map[string]any `json:"actor"`
	Scope             spendScopeJSON `json:"scope"`
	Source            spendScopeJSON `json:"source"`
	SpendLimitID      string         `json:"spend_limit_id"`
	Period            string         `json:"period"`
	Amount            *string        `json:"amount"`
	Currency          string         `json:"currency"`
	PeriodToDateSpend string         `json:"period_to_date_spend"`
}

// MemberSpend is a member's simulated effective limit and spend so far in a
// period, in cents (spend with up to three decimals).
type MemberSpend struct {
	UserID, Period, Source string
	LimitCents             int64
	SpendMilliCents        int64
}

// MemberSpends are the effective rows of the Enterprise mode: the first
// member has a monthly override and a daily limit from the organization;
// every other member inherits the group limit (odd) or the organization
// default (even). Spend is a fixed fraction of the limit per member.
func (s *Simulator) MemberSpends() []MemberSpend {
	var out []MemberSpend
	for i, u := range s.org.Users {
		limit, source := int64(enterpriseDefaultCents), "organization"
		switch {
		case i == 0:
			limit, source = enterpriseUserCents, "user"
		case i%2 == 1:
			limit, source = enterpriseGroupCents, "rbac_group"
		}
		frac := int64(hash4(s.seed, 0x5be4d, uint64(i), 0) % 1000) // per mille of the limit
		out = append(out, MemberSpend{UserID: u.ID, Period: "monthly", Source: source, LimitCents: limit, SpendMilliCents: limit * frac})
		if i == 0 {
			out = append(out, MemberSpend{UserID: u.ID, Period: "daily", Source: "organization", LimitCents: enterpriseDailyCents})
		}
	}
	return out
}

func milliCents(n int64) string {
	s := strconv.FormatInt(n/1000, 10)
	if f := n % 1000; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", f), "0")
	}
	return s
}

func (s *Simulator) handleEffectiveSpendLimits(r *http.Request) (any, *apiError) {
	if err := s.spendRateLimit(); err != nil {
		return nil, err
	}
	if s.opts.LimitsMode != LimitsEnterprise {
		return nil, &apiError{Status: 400, Type: "invalid_request_error", Code: "organization_type_not_supported",
			Message: "Effective spend limits are only available for Claude Enterprise organizations"}
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, 1, 1000, 20, " members")
	if err != nil {
		return nil, err
	}
	periods, users := arrayParam(q, "period"), arrayParam(q, "user_ids")
	if len(periods) > 3 || len(users) > 100 {
		return nil, badRequest("period[]: at most 3 items; user_ids[]: at most 100")
	}
	byUser := map[string]int{}
	var members [][]spendSummaryJSON
	for _, m := range s.MemberSpends() {
		if len(periods) > 0 && !oneOf(m.Period, periods) || len(users) > 0 && !oneOf(m.UserID, users) {
			continue
		}
		source := spendScopeJSON{"type": m.Source}
		switch m.Source {
		case "user":
			source["user_id"] = m.UserID
		case "rbac_group":
			source["rbac_group_id"] = s.rbacGroupID()
		}
		row := spendSummaryJSON{
			Actor:  map[string]any{"type": "user_actor", "user_id": m.UserID, "name": nil, "email_address": nil, "deleted": false},
			Scope:  spendScopeJSON{"type": "user", "user_id": m.UserID},
			Source: source, SpendLimitID: s.spendLimitID(m.Source + "/" + source["user_id"] + source["rbac_group_id"]),
			Period: m.Period, Amount: cents(m.LimitCents), Currency: "USD", PeriodToDateSpend: milliCents(m.SpendMilliCents),
		}
		i, ok := byUser[m.UserID]
		if !ok {
			i = len(members)
			byUser[m.UserID] = i
			members = append(members, nil)
		}
		members[i] = append(members[i], row)
	}
	return pageUnits(q, adminapi.PathSpendLimitsEffective, fingerprint(sortedJoin(periods), sortedJoin(users)), members, limit)
}

// limitsEndpoint routes the limits paths.
func (s *Simulator) limitsEndpoint(path string) endpointFunc {
	switch path {
	case adminapi.PathRateLimits:
		return s.handleRateLimits
	case adminapi.PathSpendLimits:
		return s.handleSpendLimits
	case adminapi.PathSpendLimitsEffective:
		return s.handleEffectiveSpendLimits
	}
	if rest, ok := strings.CutPrefix(path, adminapi.PathWorkspaces+"/"); ok {
		if id, ok := strings.CutSuffix(rest, "/rate_limits"); ok && id != "" && !strings.Contains(id, "/") {
			return func(r *http.Request) (any, *apiError) { return s.handleWorkspaceRateLimits(id, r) }
		}
	}
	return nil
}

// ActiveWorkspaceIDs are the listed workspaces not archived now: those whose
// rate limits a client reads.
func (s *Simulator) ActiveWorkspaceIDs() []string {
	var out []string
	now := s.now()
	for _, w := range s.listedWorkspaces() {
		if w.ArchivedAt == nil || w.ArchivedAt.After(now) {
			out = append(out, *w.ID)
		}
	}
	return out
}
