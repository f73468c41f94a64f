// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

// Package adminapi is a small, typed client for the Anthropic Admin API
// endpoints the receiver reads: the Messages usage report, the cost report,
// the Claude Code analytics report and the id-to-name lookups.
//
// The models follow ../shared/anthropic-admin-api.md. Every field the
// reference marks as nullable or unconfirmed is decoded so that a missing key
// and an explicit null mean the same thing, and unknown fields are ignored.
package adminapi // import "github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// Report paths, relative to the configured endpoint.
const (
	PathUsageMessages = "/v1/organizations/usage_report/messages"
	PathCostReport    = "/v1/organizations/cost_report"
	PathClaudeCode    = "/v1/organizations/usage_report/claude_code"
	PathWorkspaces    = "/v1/organizations/workspaces"
	PathAPIKeys       = "/v1/organizations/api_keys"
	PathUsers         = "/v1/organizations/users"
	PathMe            = "/v1/organizations/me"
)

// Paths is every path the client reads.
var Paths = [...]string{PathUsageMessages, PathCostReport, PathClaudeCode, PathWorkspaces, PathAPIKeys, PathUsers, PathMe,
	PathAnalyticsUsage, PathAnalyticsCost}

// Bucket widths accepted by the report endpoints.
const (
	BucketWidth1m = "1m"
	BucketWidth1h = "1h"
	BucketWidth1d = "1d"
)

// MaxLimit is the largest `limit` (time buckets per page) the API accepts for
// a bucket width on the usage report; the cost report accepts 1d only, with
// the same maximum of 31.
func MaxLimit(bucketWidth string) int {
	switch bucketWidth {
	case BucketWidth1m:
		return 1440
	case BucketWidth1h:
		return 168
	case BucketWidth1d:
		return 31
	}
	return 0
}

// WidthDuration is the length of one bucket of the given width.
func WidthDuration(bucketWidth string) time.Duration {
	switch bucketWidth {
	case BucketWidth1m:
		return time.Minute
	case BucketWidth1h:
		return time.Hour
	case BucketWidth1d:
		return 24 * time.Hour
	}
	return 0
}

// Page is one page of a time-bucketed report (usage or cost).
type Page[R any] struct {
	Data     []Bucket[R] `json:"data"`
	HasMore  bool        `json:"has_more"`
	NextPage *string     `json:"next_page"`
}

// Bucket is one time bucket, [StartingAt, EndingAt) in UTC.
type Bucket[R any] struct {
	StartingAt time.Time `json:"starting_at"`
	EndingAt   time.Time `json:"ending_at"`
	Results    []R       `json:"results"`
}

// UsagePage is a page of GET /v1/organizations/usage_report/messages.
type UsagePage = Page[UsageResult]

// UsageBucket is a time bucket of the usage report.
type UsageBucket = Bucket[UsageResult]

// UsageResult is one row of a usage bucket: one combination of the grouped
// dimensions. A dimension that is not grouped is null (or, defensively,
// absent). A grouped workspace_id is null for the default workspace and a
// grouped api_key_id is null for Console/Workbench use.
type UsageResult struct {
	UncachedInputTokens  int64         `json:"uncached_input_tokens"`
	CacheCreation        CacheCreation `json:"cache_creation"`
	CacheReadInputTokens int64         `json:"cache_read_input_tokens"`
	OutputTokens         int64         `json:"output_tokens"`
	ServerToolUse        ServerToolUse `json:"server_tool_use"`

	APIKeyID         *string `json:"api_key_id"`
	WorkspaceID      *string `json:"workspace_id"`
	Model            *string `json:"model"`
	ServiceTier      *string `json:"service_tier"`
	ContextWindow    *string `json:"context_window"`
	InferenceGeo     *string `json:"inference_geo"`
	AccountID        *string `json:"account_id"`
	ServiceAccountID *string `json:"service_account_id"`
	Speed            *string `json:"speed,omitempty"`
}

// CacheCreation holds the nested prompt-cache write counts. Parsers that
// expect the Messages API's flat cache_creation_input_tokens read these as 0.
type CacheCreation struct {
	Ephemeral1hInputTokens int64 `json:"ephemeral_1h_input_tokens"`
	Ephemeral5mInputTokens int64 `json:"ephemeral_5m_input_tokens"`
}

// ServerToolUse counts server-side tool calls.
type ServerToolUse struct {
	WebSearchRequests int64 `json:"web_search_requests"`
}

// CostPage is a page of GET /v1/organizations/cost_report.
type CostPage = Page[CostResult]

// CostBucket is a (daily) time bucket of the cost report.
type CostBucket = Bucket[CostResult]

// CostResult is one row of a cost bucket. Amount is in cents (the lowest
// currency unit) as a decimal string with fractional cents: "123.45" is $1.23.
type CostResult struct {
	Currency      string  `json:"currency"`
	Amount        Decimal `json:"amount"`
	WorkspaceID   *string `json:"workspace_id"`
	Description   *string `json:"description"`
	CostType      *string `json:"cost_type"`
	ContextWindow *string `json:"context_window"`
	Model         *string `json:"model"`
	ServiceTier   *string `json:"service_tier"`
	TokenType     *string `json:"token_type"`
	InferenceGeo  *string `json:"inference_geo"`
	Speed         *string `json:"speed,omitempty"`
}

// Decimal is the text of a decimal number exactly as the API sent it. The
// API documents a JSON string; a bare JSON number is accepted defensively.
// It is never converted through a float.
type Decimal string

// UnmarshalJSON accepts "123.45" and 123.45 alike.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Decimal(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*d = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("amount is neither a decimal string nor a number")
	}
	*d = Decimal(n)
	return nil
}

// ClaudeCodePage is a page of GET /v1/organizations/usage_report/claude_code.
// Pagination is per record, not per bucket.
type ClaudeCodePage struct {
	Data     []ClaudeCodeRecord `json:"data"`
	HasMore  bool               `json:"has_more"`
	NextPage *string            `json:"next_page"`
}

// ClaudeCodeRecord is one day of one actor on one terminal type.
type ClaudeCodeRecord struct {
	// Date is documented as YYYY-MM-DD but sent as an RFC 3339 midnight
	// timestamp; ParseDate accepts both.
	Date             string                `json:"date"`
	Actor            ClaudeCodeActor       `json:"actor"`
	OrganizationID   string                `json:"organization_id"`
	CustomerType     string                `json:"customer_type"`
	SubscriptionType *string               `json:"subscription_type"`
	TerminalType     string                `json:"terminal_type"`
	CoreMetrics      ClaudeCodeCoreMetrics `json:"core_metrics"`
	ToolActions      ClaudeCodeTools       `json:"tool_actions"`
	ModelBreakdown   ClaudeCodeModels      `json:"model_breakdown"`
}

// extraCost: the tools' map slots and the models beyond the record's JSON.
func (r *ClaudeCodeRecord) extraCost() int64 {
	return int64(len(r.ToolActions))*toolEntryCost + int64(len(r.ModelBreakdown))*int64(unsafe.Sizeof(ClaudeCodeModelBreakdown{}))
}

// ClaudeCodeTools are a record's tool actions by tool. The reference
// documents four tools and allows more [U]: at most maxRecordEntries are
// decoded, so that one record cannot hold more than its share of a page.
type ClaudeCodeTools map[string]ClaudeCodeAction

func (t *ClaudeCodeTools) UnmarshalJSON(b []byte) error {
	*t = ClaudeCodeTools{}
	return decodeBounded(b, '{', func(dec *json.Decoder) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var a ClaudeCodeAction
		if err := dec.Decode(&a); err != nil {
			return err
		}
		(*t)[tok.(string)] = a
		return nil
	})
}

// ClaudeCodeModels are a record's figures by model, at most
// maxRecordEntries of them.
type ClaudeCodeModels []ClaudeCodeModelBreakdown

func (m *ClaudeCodeModels) UnmarshalJSON(b []byte) error {
	*m = nil
	return decodeBounded(b, '[', func(dec *json.Decoder) error {
		*m = append(*m, ClaudeCodeModelBreakdown{})
		return dec.Decode(&(*m)[len(*m)-1])
	})
}

// decodeBounded decodes the object or array b (null is empty), calling each
// for every member, at most maxRecordEntries times.
func decodeBounded(b []byte, open json.Delim, each func(*json.Decoder) error) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := expectDelim(dec, open); err != nil {
		return err
	}
	for n := 0; dec.More(); n++ {
		if n == maxRecordEntries {
			return &shapeError{fmt.Sprintf("a Claude Code record with more than %d tools or models", maxRecordEntries)}
		}
		if err := each(dec); err != nil {
			return err
		}
	}
	return nil
}

// ClaudeCodeActor is a tagged union: a user (by email) or an API key (by name).
type ClaudeCodeActor struct {
	Type         string `json:"type"` // user_actor | api_actor
	EmailAddress string `json:"email_address,omitempty"`
	APIKeyName   string `json:"api_key_name,omitempty"`
}

// ClaudeCodeCoreMetrics are the per-record productivity counters.
type ClaudeCodeCoreMetrics struct {
	NumSessions int64 `json:"num_sessions"`
	LinesOfCode struct {
		Added   int64 `json:"added"`
		Removed int64 `json:"removed"`
	} `json:"lines_of_code"`
	CommitsByClaudeCode      int64 `json:"commits_by_claude_code"`
	PullRequestsByClaudeCode int64 `json:"pull_requests_by_claude_code"`
}

// ClaudeCodeAction counts accepted and rejected proposals of one tool.
type ClaudeCodeAction struct {
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
}

// ClaudeCodeModelBreakdown is the token use and estimated cost of one model.
type ClaudeCodeModelBreakdown struct {
	Model  string `json:"model"`
	Tokens struct {
		Input         int64 `json:"input"`
		Output        int64 `json:"output"`
		CacheRead     int64 `json:"cache_read"`
		CacheCreation int64 `json:"cache_creation"`
	} `json:"tokens"`
	// EstimatedCost.Amount is an integer number of cents.
	EstimatedCost struct {
		Currency string `json:"currency"`
		Amount   int64  `json:"amount"`
	} `json:"estimated_cost"`
}

// ParseDate reads a Claude Code record date in either documented form.
func ParseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, s)
}

// Workspace is an item of GET /v1/organizations/workspaces.
type Workspace struct {
	ID           string     `json:"id"`
	Type         string     `json:"type"`
	Name         string     `json:"name"`
	CreatedAt    time.Time  `json:"created_at"`
	ArchivedAt   *time.Time `json:"archived_at"`
	DisplayColor string     `json:"display_color"`
}

// APIKey is an item of GET /v1/organizations/api_keys.
type APIKey struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	Name           string    `json:"name"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"created_at"`
	WorkspaceID    *string   `json:"workspace_id"`
	PartialKeyHint *string   `json:"partial_key_hint"`
}

// User is an item of GET /v1/organizations/users.
type User struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Email   string    `json:"email"`
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	AddedAt time.Time `json:"added_at"`
}

// Organization is the body of GET /v1/organizations/me.
type Organization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}
