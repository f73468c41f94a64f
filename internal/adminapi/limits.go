// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"context"
	"net/url"
	"strconv"
	"strings"
)

// Limits paths (../shared/anthropic-limits-api.md), relative to the endpoint.
const (
	PathRateLimits           = "/v1/organizations/rate_limits"
	PathSpendLimits          = "/v1/organizations/spend_limits"
	PathSpendLimitsEffective = "/v1/organizations/spend_limits/effective"
)

// WorkspaceRateLimitsPath is the path of one workspace's rate limits.
func WorkspaceRateLimitsPath(workspaceID string) string {
	return PathWorkspaces + "/" + url.PathEscape(workspaceID) + "/rate_limits"
}

// BetaSpendLimitReads is the beta that listing configured spend limits
// requires; no other endpoint the client reads needs one.
const BetaSpendLimitReads = "spend-limit-reads-2026-09-26"

// LimitsPageSize is the largest limit the limits lists accept (1-1000).
const LimitsPageSize = 1000

// cursorList is a page of the limits endpoints (PageCursor): no has_more,
// next_page null on the last page.
type cursorList[T any] struct {
	Data     []T     `json:"data"`
	NextPage *string `json:"next_page"`
}

// cursor: an empty next_page ends the list as null does.
func (p *cursorList[T]) cursor() (*string, bool) {
	return p.NextPage, p.NextPage != nil && *p.NextPage != ""
}

func (p *cursorList[T]) rows() int { return len(p.Data) }

// listCursor follows a PageCursor endpoint to its end.
func listCursor[T any](ctx context.Context, c *Client, path string, params url.Values) ([]T, error) {
	ep := endpoint[*cursorList[T]]{path: path, cursorParam: "page", cursorField: "next_page", decode: decodeInto[cursorList[T]]}
	var out []T
	for p, err := range paginate(ctx, c, ep, params) {
		if err != nil {
			return nil, err
		}
		out = append(out, p.Data...)
	}
	return out, nil
}

// RateLimits lists the organization's rate limits, one entry per group.
func (c *Client) RateLimits(ctx context.Context) ([]RateLimit, error) {
	return listCursor[RateLimit](ctx, c, PathRateLimits, url.Values{"limit": {strconv.Itoa(LimitsPageSize)}})
}

// WorkspaceRateLimits lists a workspace's rate limits with the values it
// inherits from the organization (include_inherited), so that every
// workspace has the full set.
func (c *Client) WorkspaceRateLimits(ctx context.Context, workspaceID string) ([]WorkspaceRateLimit, error) {
	return listCursor[WorkspaceRateLimit](ctx, c, WorkspaceRateLimitsPath(workspaceID),
		url.Values{"limit": {strconv.Itoa(LimitsPageSize)}, "include_inherited": {"true"}})
}

// SpendLimits lists the configured spend limits (beta header sent).
func (c *Client) SpendLimits(ctx context.Context) ([]SpendLimit, error) {
	return listCursor[SpendLimit](withBeta(ctx, BetaSpendLimitReads), c, PathSpendLimits, url.Values{"limit": {strconv.Itoa(LimitsPageSize)}})
}

// EffectiveSpendLimits lists every member's effective limit and spend so far
// in each period (Claude Enterprise only); pages are cut by member.
func (c *Client) EffectiveSpendLimits(ctx context.Context) ([]SpendSummary, error) {
	return listCursor[SpendSummary](ctx, c, PathSpendLimitsEffective, url.Values{"limit": {strconv.Itoa(LimitsPageSize)}})
}

// RateLimit is an entry of GET /v1/organizations/rate_limits.
type RateLimit struct {
	Type   string         `json:"type"`
	ID     string         `json:"id"`
	Group  RateLimitGroup `json:"group"`
	Limits []Limiter      `json:"limits"`
	Models []string       `json:"models"`
	// GroupType is the flat group type entries carried before the group
	// object [U: still sent under older API versions]; read when group is
	// absent.
	GroupType string `json:"group_type"`
}

// RateLimitGroup is the group union: its type, its id (rlg_…, the same in
// every organization) and, for model groups, a display name.
type RateLimitGroup struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
}

// Limiter is one limiter value. OrgLimit and Source are set on workspace
// entries only; OrgLimit is null when the organization has no such limiter.
type Limiter struct {
	Type     string        `json:"type"`
	Value    int64         `json:"value"`
	OrgLimit *int64        `json:"org_limit"`
	Source   *LimiterScope `json:"source"`
}

// LimiterScope says where a workspace limiter value comes from: workspace
// (an override) or organization (inherited).
type LimiterScope struct {
	Type string `json:"type"`
}

// WorkspaceRateLimit is an entry of the workspace rate limits list.
type WorkspaceRateLimit struct {
	Type        string         `json:"type"`
	WorkspaceID string         `json:"workspace_id"`
	RateLimitID string         `json:"rate_limit_id"`
	Group       RateLimitGroup `json:"group"`
	GroupType   string         `json:"group_type"`
	Limits      []Limiter      `json:"limits"`
	Models      []string       `json:"models"`
}

// GroupTypeOf is the group's type, from the group object or the deprecated
// flat group_type.
func GroupTypeOf(g RateLimitGroup, flat string) string {
	if g.Type != "" {
		return g.Type
	}
	return flat
}

// SpendLimit is a configured spend limit. Amount is an integer in the minor
// unit of Currency (cents for USD); "" when the API sent null (no numeric
// cap at this scope) or nothing.
type SpendLimit struct {
	Type      string     `json:"type"`
	ID        string     `json:"id"`
	Scope     SpendScope `json:"scope"`
	Period    string     `json:"period"`
	Amount    Decimal    `json:"amount"`
	Currency  string     `json:"currency"`
	IsEnabled *bool      `json:"is_enabled"`
}

// Enabled: is_enabled is false only for an organization limit whose extra
// usage is switched off; absent reads as enabled.
func (l SpendLimit) Enabled() bool { return l.IsEnabled == nil || *l.IsEnabled }

// SpendScope is the scope union; its set of types is open. ID is the one
// identifying field the scope's type carries.
type SpendScope struct {
	Type        string `json:"type"`
	WorkspaceID string `json:"workspace_id"`
	SeatTier    string `json:"seat_tier"`
	RBACGroupID string `json:"rbac_group_id"`
	Service     string `json:"service"`
	UserID      string `json:"user_id"`
}

// ID is the scope's identifying value: "" for the organization and the
// usage tier, the workspace id for a workspace, and so on.
func (s SpendScope) ID() string {
	for _, v := range []string{s.WorkspaceID, s.SeatTier, s.RBACGroupID, s.Service, s.UserID} {
		if v != "" {
			return v
		}
	}
	return ""
}

// SpendSummary is a row of the effective spend limits: one member, one
// period. Amount "" is unlimited; PeriodToDateSpend may carry fractions of
// the minor unit, and reads "0" when the reading is unavailable.
type SpendSummary struct {
	Actor             SpendActor `json:"actor"`
	Scope             SpendScope `json:"scope"`
	Source            SpendScope `json:"source"`
	Period            string     `json:"period"`
	Amount            Decimal    `json:"amount"`
	Currency          string     `json:"currency"`
	PeriodToDateSpend Decimal    `json:"period_to_date_spend"`
}

// SpendActor is the member of an effective row. Only ids are decoded: the
// name and email address are personal data the receiver never emits.
type SpendActor struct {
	Type           string `json:"type"`
	UserID         string `json:"user_id"`
	ScopedAPIKeyID string `json:"scoped_api_key_id"`
}

// workspaceRateLimitsEndpoint names every workspace's rate-limit path in
// telemetry, so that an endpoint label does not grow with the workspaces.
const workspaceRateLimitsEndpoint = PathWorkspaces + "/{workspace_id}/rate_limits"

// Endpoint is the path as telemetry names it: the path itself, but one name
// for all the workspaces' rate-limit paths.
func Endpoint(path string) string {
	if rest, ok := strings.CutPrefix(path, PathWorkspaces+"/"); ok && strings.HasSuffix(rest, "/rate_limits") {
		return workspaceRateLimitsEndpoint
	}
	return path
}
