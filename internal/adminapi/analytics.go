// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package adminapi

import (
	"encoding/json"
	"time"
)

// The Usage and Cost Analytics API (beta), ../shared/anthropic-analytics-api.md.
const (
	PathAnalyticsUsage = "/v1/organizations/analytics/usage"
	PathAnalyticsCost  = "/v1/organizations/analytics/cost"

	// BetaAnalytics is required on every analytics request.
	BetaAnalytics = "analytics-usage-cost-2026-08-24"
	// BetaFastMode is required by the legacy usage report for the speed
	// dimension and filter.
	BetaFastMode = "fast-mode-2026-02-01"
)

// Limits of an analytics query (reference §2.1).
const (
	AnalyticsMaxLimit     = 1000
	AnalyticsDefaultLimit = 20
	AnalyticsMaxGroupBy   = 5
	AnalyticsMaxRange     = 31 * 24 * time.Hour
	AnalyticsMaxRange1m   = 24 * time.Hour
	AnalyticsMaxAge       = 365 * 24 * time.Hour
)

// AnalyticsSpan is the longest range one query may span at a bucket width.
func AnalyticsSpan(width time.Duration) time.Duration {
	if width == time.Minute {
		return AnalyticsMaxRange1m
	}
	return AnalyticsMaxRange
}

// AnalyticsHistoryStart is the earliest starting_at either endpoint accepts.
var AnalyticsHistoryStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Group dimensions of the analytics endpoints, as group_by values and as the
// keys of a row's group.
const (
	DimActor             = "actor"
	DimActorType         = "actor_type"
	DimAgentID           = "agent_id"
	DimAPIKeyID          = "api_key_id"
	DimClaudeTagCategory = "claude_tag_category"
	DimClaudeTagUserID   = "claude_tag_user_id"
	DimContextWindow     = "context_window"
	DimDeploymentID      = "deployment_id"
	DimEnvironmentID     = "environment_id"
	DimInferenceGeo      = "inference_geo"
	DimModel             = "model"
	DimOrganizationID    = "organization_id"
	DimProduct           = "product"
	DimRBACGroupID       = "rbac_group_id"
	DimServiceTier       = "service_tier"
	DimSessionID         = "session_id"
	DimSlackChannelID    = "slack_channel_id"
	DimSpeed             = "speed"
	DimUserProfileID     = "user_profile_id"
	DimWorkspaceID       = "workspace_id"
	// Cost only; they fan a combination out into rows that do not count
	// toward limit or toward the five dimensions.
	DimCostType  = "cost_type"
	DimTokenType = "token_type"
)

// AnalyticsUsageGroupBy is the usage endpoint's group_by vocabulary.
var AnalyticsUsageGroupBy = []string{
	DimActor, DimActorType, DimAgentID, DimAPIKeyID, DimClaudeTagCategory, DimClaudeTagUserID,
	DimContextWindow, DimDeploymentID, DimEnvironmentID, DimInferenceGeo, DimModel, DimOrganizationID,
	DimProduct, DimRBACGroupID, DimServiceTier, DimSessionID, DimSlackChannelID, DimSpeed,
	DimUserProfileID, DimWorkspaceID,
}

// AnalyticsCostGroupBy is the cost endpoint's: the usage vocabulary and the
// two fan-out dimensions.
var AnalyticsCostGroupBy = append(append([]string(nil), AnalyticsUsageGroupBy...), DimCostType, DimTokenType)

// NonAdditiveDims are dimensions whose rows overlap (a user in several RBAC
// groups counts in each) or cover only part of the total (Claude Tag usage
// not attributed to one Slack user): their rows do not add up to the
// organization's total.
var NonAdditiveDims = []string{DimRBACGroupID, DimClaudeTagUserID}

// IsFanOutDim reports whether a cost group_by value is one of the fan-out
// dimensions, which the five-dimension limit does not count.
func IsFanOutDim(dim string) bool { return dim == DimCostType || dim == DimTokenType }

// AnalyticsPage is one page of either analytics endpoint.
type AnalyticsPage[R any] struct {
	Data     []R     `json:"data"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
	// DataRefreshedAt is the export the page was served from; data after
	// it is partial. Null when no export covers the range.
	DataRefreshedAt *time.Time `json:"data_refreshed_at"`
	// OrganizationID is sent by the Enterprise reports; here [U].
	OrganizationID *string `json:"organization_id"`
}

func (p *AnalyticsPage[R]) cursor() (*string, bool) { return p.NextPage, p.HasMore }

func (p *AnalyticsPage[R]) rows() int { return len(p.Data) }

// AnalyticsUsagePage is a page of GET /v1/organizations/analytics/usage.
type AnalyticsUsagePage = AnalyticsPage[AnalyticsUsageRow]

// AnalyticsCostPage is a page of GET /v1/organizations/analytics/cost.
type AnalyticsCostPage = AnalyticsPage[AnalyticsCostRow]

// AnalyticsUsageRow is one combination of the grouped dimensions in one time
// bucket (or over the whole range without a bucket width). Rows are not
// unique by their group: identical groups are to be summed.
type AnalyticsUsageRow struct {
	StartingAt time.Time      `json:"starting_at"`
	EndingAt   time.Time      `json:"ending_at"`
	Group      AnalyticsGroup `json:"group"`
	Usage      AnalyticsUsage `json:"usage"`
}

// AnalyticsUsage holds a usage row's metrics.
type AnalyticsUsage struct {
	UncachedInputTokens  int64         `json:"uncached_input_tokens"`
	CacheCreation        CacheCreation `json:"cache_creation"`
	CacheReadInputTokens int64         `json:"cache_read_input_tokens"`
	OutputTokens         int64         `json:"output_tokens"`
	ServerToolUse        ServerToolUse `json:"server_tool_use"`
	// Requests counts execution spans, not HTTP requests, on code-execution
	// rows. Documented as always sent; nil if null [U].
	Requests    *int64 `json:"requests"`
	TotalTokens int64  `json:"total_tokens"`
}

// AnalyticsCostRow is a cost row. With cost_type or token_type grouped, one
// combination is several rows (the fan-out), counted once toward limit.
type AnalyticsCostRow struct {
	StartingAt time.Time      `json:"starting_at"`
	EndingAt   time.Time      `json:"ending_at"`
	Group      AnalyticsGroup `json:"group"`
	Cost       AnalyticsCost  `json:"cost"`
}

// AnalyticsCost holds a cost row's metrics. Amounts are in cents, as
// decimal strings with fractional cents.
type AnalyticsCost struct {
	// Amount is post-discount and pre-credit.
	Amount Decimal `json:"amount"`
	// ListAmount is the list price, before discounts.
	ListAmount Decimal `json:"list_amount"`
	Currency   string  `json:"currency"`
	// Requests is null whenever cost_type or token_type is grouped.
	Requests *int64 `json:"requests"`
}

// AnalyticsGroup is a row's dimension values. Every key is sent on every
// row, null unless grouped; a grouped key can be null too (see Value).
type AnalyticsGroup struct {
	Actor             *Actor  `json:"actor"`
	ActorType         *string `json:"actor_type"`
	AgentID           *string `json:"agent_id"`
	APIKeyID          *string `json:"api_key_id"`
	ClaudeTagCategory *string `json:"claude_tag_category"`
	ClaudeTagUserID   *string `json:"claude_tag_user_id"`
	ContextWindow     *string `json:"context_window"`
	DeploymentID      *string `json:"deployment_id"`
	EnvironmentID     *string `json:"environment_id"`
	InferenceGeo      *string `json:"inference_geo"`
	Model             *string `json:"model"`
	OrganizationID    *string `json:"organization_id"`
	Product           *string `json:"product"`
	RBACGroupID       *string `json:"rbac_group_id"`
	ServiceTier       *string `json:"service_tier"`
	SessionID         *string `json:"session_id"`
	SlackChannelID    *string `json:"slack_channel_id"`
	Speed             *string `json:"speed"`
	UserProfileID     *string `json:"user_profile_id"`
	WorkspaceID       *string `json:"workspace_id"`
	CostType          *string `json:"cost_type"`
	TokenType         *string `json:"token_type"`
}

// Value is the string value of a dimension other than actor (use Actor);
// nil when null, or when dim is not a known dimension.
func (g *AnalyticsGroup) Value(dim string) *string {
	switch dim {
	case DimActorType:
		return g.ActorType
	case DimAgentID:
		return g.AgentID
	case DimAPIKeyID:
		return g.APIKeyID
	case DimClaudeTagCategory:
		return g.ClaudeTagCategory
	case DimClaudeTagUserID:
		return g.ClaudeTagUserID
	case DimContextWindow:
		return g.ContextWindow
	case DimDeploymentID:
		return g.DeploymentID
	case DimEnvironmentID:
		return g.EnvironmentID
	case DimInferenceGeo:
		return g.InferenceGeo
	case DimModel:
		return g.Model
	case DimOrganizationID:
		return g.OrganizationID
	case DimProduct:
		return g.Product
	case DimRBACGroupID:
		return g.RBACGroupID
	case DimServiceTier:
		return g.ServiceTier
	case DimSessionID:
		return g.SessionID
	case DimSlackChannelID:
		return g.SlackChannelID
	case DimSpeed:
		return g.Speed
	case DimUserProfileID:
		return g.UserProfileID
	case DimWorkspaceID:
		return g.WorkspaceID
	case DimCostType:
		return g.CostType
	case DimTokenType:
		return g.TokenType
	}
	return nil
}

// Actor types of the actor union.
const (
	ActorUser           = "user_actor"
	ActorServiceAccount = "service_account_actor"
	ActorFederated      = "federated_actor"
	ActorAPI            = "api_actor"
)

// Actor is the actor union, discriminated by Type: the user if one is
// attributed, else the service account, else the federated identity, else
// the API key. The union may grow: an unknown Type keeps its JSON in Raw.
type Actor struct {
	Type string `json:"type"`
	// user_actor
	UserID       *string `json:"user_id"`
	EmailAddress *string `json:"email_address"`
	Name         *string `json:"name"`
	// Deleted: the account is deleted or the person is no longer a member.
	Deleted bool `json:"deleted"`
	// service_account_actor
	ServiceAccountID *string `json:"service_account_id"`
	// federated_actor
	Provider *FederatedProvider `json:"provider"`
	Subject  *string            `json:"subject"`
	// api_actor
	APIKeyID *string `json:"api_key_id"`

	Raw json.RawMessage `json:"-"`
}

// FederatedProvider is the cloud platform of a federated actor, itself a
// union on Type (aws, azure, gcp, oidc).
type FederatedProvider struct {
	Type            string  `json:"type"`
	AccountID       *string `json:"account_id"`       // aws
	SignedPrincipal *string `json:"signed_principal"` // aws
	SubscriptionID  *string `json:"subscription_id"`  // azure
	ProjectNumber   *string `json:"project_number"`   // gcp
	Issuer          *string `json:"issuer"`           // oidc
}

// UnmarshalJSON decodes every variant into the one struct and keeps the
// JSON of a variant this client does not know.
func (a *Actor) UnmarshalJSON(b []byte) error {
	type plain Actor
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Actor(p)
	switch a.Type {
	case ActorUser, ActorServiceAccount, ActorFederated, ActorAPI:
	default:
		a.Raw = append(json.RawMessage(nil), b...)
	}
	return nil
}

// ID identifies the actor within its type: the user, service account or
// API key id, or the federated subject; "" for an unknown type or a
// variant sent without its id.
func (a *Actor) ID() string {
	var id *string
	switch a.Type {
	case ActorUser:
		id = a.UserID
	case ActorServiceAccount:
		id = a.ServiceAccountID
	case ActorFederated:
		id = a.Subject
	case ActorAPI:
		id = a.APIKeyID
	}
	if id == nil {
		return ""
	}
	return *id
}
