// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"fmt"
	"net/url"
	"time"
)

// TruthQuery selects a window and a grouping for the Truth functions.
//
// The window is taken at minute granularity: minutes starting in
// [floor_minute(StartingAt), EndingAt). A zero StartingAt means the start of
// the history; a zero EndingAt means "up to the current minute, inclusive". For Claude Code the window is a range of UTC
// days [day(StartingAt), EndingAt) (zero EndingAt: the one day).
type TruthQuery struct {
	StartingAt, EndingAt time.Time
	// GroupBy uses the report's group_by vocabulary (usage: api_key_id,
	// workspace_id, model, service_tier, context_window, inference_geo,
	// speed, account_id, service_account_id; cost: workspace_id,
	// description). Ignored for Claude Code.
	GroupBy []string
	// Filters restricts usage truth like the report's filter arrays, keyed
	// by parameter name without brackets ("models", "workspace_ids",
	// "api_key_ids", "service_tiers", "context_window", "inference_geos",
	// "speeds", "account_ids", "service_account_ids").
	Filters map[string][]string
}

// UsageTruthRow is the FINAL usage of one group over the whole window.
type UsageTruthRow struct {
	// Dims maps each group_by dimension to its value (nil = null: the
	// default workspace, Workbench use, or no value).
	Dims                 map[string]*string `json:"dims"`
	UncachedInputTokens  int64              `json:"uncached_input_tokens"`
	CacheReadInputTokens int64              `json:"cache_read_input_tokens"`
	CacheCreation5m      int64              `json:"cache_creation_ephemeral_5m_input_tokens"`
	CacheCreation1h      int64              `json:"cache_creation_ephemeral_1h_input_tokens"`
	OutputTokens         int64              `json:"output_tokens"`
	WebSearchRequests    int64              `json:"web_search_requests"`
}

// CostTruthRow is the FINAL cost of one group over the whole window.
type CostTruthRow struct {
	Dims            map[string]*string `json:"dims"`
	AmountCents     string             `json:"amount"` // exact decimal string in cents
	AmountNanoCents int64              `json:"amount_nano_cents"`
	// The structured fields of the line, set when grouped by description.
	CostType      *string `json:"cost_type"`
	Model         *string `json:"model"`
	TokenType     *string `json:"token_type"`
	ServiceTier   *string `json:"service_tier"`
	ContextWindow *string `json:"context_window"`
	InferenceGeo  *string `json:"inference_geo"`
	Speed         *string `json:"speed"`
}

// ClaudeCodeTruthRow is the FINAL record of one (day, actor, terminal type).
type ClaudeCodeTruthRow struct {
	Date         time.Time                       `json:"date"`
	Actor        string                          `json:"actor"`      // email (user_actor) or API key name (api_actor)
	ActorType    string                          `json:"actor_type"` // user_actor | api_actor
	TerminalType string                          `json:"terminal_type"`
	Sessions     int64                           `json:"num_sessions"`
	LinesAdded   int64                           `json:"lines_added"`
	LinesRemoved int64                           `json:"lines_removed"`
	Commits      int64                           `json:"commits"`
	PullRequests int64                           `json:"pull_requests"`
	ToolActions  map[string]ClaudeCodeToolTruth  `json:"tool_actions"`
	Models       map[string]ClaudeCodeModelTruth `json:"models"`
}

// ClaudeCodeToolTruth counts the accepted and rejected proposals of one tool.
type ClaudeCodeToolTruth struct {
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
}

// ClaudeCodeModelTruth is the token use and estimated cost of one model.
type ClaudeCodeModelTruth struct {
	Input              int64 `json:"input"`
	Output             int64 `json:"output"`
	CacheRead          int64 `json:"cache_read"`
	CacheCreation      int64 `json:"cache_creation"`
	EstimatedCostCents int64 `json:"estimated_cost_cents"`
}

func (s *Simulator) truthSpan(q TruthQuery) span {
	start := q.StartingAt
	if start.IsZero() || start.Before(s.org.Origin) {
		start = s.org.Origin // nothing exists earlier
	}
	a := floorDiv(start.UnixNano(), int64(time.Minute))
	var b int64
	if q.EndingAt.IsZero() {
		b = floorDiv(s.now().UnixNano(), int64(time.Minute)) + 1
	} else {
		b = ceilDiv(q.EndingAt.UnixNano(), int64(time.Minute))
	}
	return span{a, b}
}

// TruthUsage returns the FINAL usage (as if fully settled, honouring Freeze)
// over the window, one row per group. It panics on an invalid group_by or
// filter value (a test bug).
func (s *Simulator) TruthUsage(q TruthQuery) []UsageTruthRow {
	rows, err := s.truthUsage(q)
	if err != nil {
		panic(fmt.Sprintf("simulator: TruthUsage: %s", err.Message))
	}
	return rows
}

func (s *Simulator) truthUsage(q TruthQuery) ([]UsageTruthRow, *apiError) {
	v := url.Values{}
	v["group_by[]"] = q.GroupBy
	for k, vals := range q.Filters {
		v[k+"[]"] = vals
	}
	spec, _, err := parseUsageSpec(v, true)
	if err != nil {
		return nil, err
	}
	sp := s.truthSpan(q)
	out := []UsageTruthRow{}
	if sp.b <= sp.a {
		return out, nil
	}
	for _, r := range s.aggregateUsage(&spec, []span{sp}, true, 0)[0] {
		row := UsageTruthRow{
			Dims:                 map[string]*string{},
			UncachedInputTokens:  r.v[cUncached],
			CacheReadInputTokens: r.v[cCacheRead],
			CacheCreation5m:      r.v[cCache5m],
			CacheCreation1h:      r.v[cCache1h],
			OutputTokens:         r.v[cOutput],
			WebSearchRequests:    r.v[cWebSearch],
		}
		for d := 0; d < nDims; d++ {
			if spec.group[d] {
				row.Dims[dimNames[d]] = r.dims[d]
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// TruthCost returns the FINAL cost (as if fully settled, honouring Freeze)
// over the window, one row per group. It panics on an invalid group_by.
func (s *Simulator) TruthCost(q TruthQuery) []CostTruthRow {
	rows, err := s.truthCost(q)
	if err != nil {
		panic(fmt.Sprintf("simulator: TruthCost: %s", err.Message))
	}
	return rows
}

func (s *Simulator) truthCost(q TruthQuery) ([]CostTruthRow, *apiError) {
	spec, err := parseCostGroupBy(q.GroupBy)
	if err != nil {
		return nil, err
	}
	sp := s.truthSpan(q)
	out := []CostTruthRow{}
	if sp.b <= sp.a {
		return out, nil
	}
	for _, r := range s.aggregateCost(spec, []span{sp}, true, 0)[0] {
		row := CostTruthRow{Dims: map[string]*string{}, AmountCents: FormatNanoCents(r.nc), AmountNanoCents: r.nc}
		if spec.byWorkspace {
			row.Dims["workspace_id"] = r.ws
		}
		if l := r.line; l != nil {
			row.Dims["description"] = &l.Description
			row.CostType, row.Model, row.TokenType = &l.CostType, l.Model, l.TokenType
			row.ServiceTier, row.ContextWindow, row.InferenceGeo, row.Speed = l.ServiceTier, l.ContextWindow, l.InferenceGeo, l.Speed
		}
		out = append(out, row)
	}
	return out, nil
}

// TruthClaudeCode returns the FINAL Claude Code records (as if every hour
// were visible, honouring Freeze) of the UTC days in the window, in report
// order per day.
func (s *Simulator) TruthClaudeCode(q TruthQuery) []ClaudeCodeTruthRow {
	out := []ClaudeCodeTruthRow{}
	day := q.StartingAt.UTC().Truncate(24 * time.Hour)
	end := q.EndingAt
	if end.IsZero() {
		end = day.Add(24 * time.Hour)
	}
	for ; day.Before(end); day = day.Add(24 * time.Hour) {
		for _, r := range s.ccRecords(day, true, 0) {
			row := ClaudeCodeTruthRow{
				Date: day, Actor: r.actor.name(), ActorType: r.actor.actorType(), TerminalType: r.terminal,
				Sessions: r.sessions, LinesAdded: r.added, LinesRemoved: r.removed, Commits: r.commits, PullRequests: r.prs,
				ToolActions: map[string]ClaudeCodeToolTruth{}, Models: map[string]ClaudeCodeModelTruth{},
			}
			for k, v := range r.tools {
				row.ToolActions[k] = v
			}
			for id, m := range r.models {
				row.Models[id] = ClaudeCodeModelTruth{Input: m.Input, Output: m.Output, CacheRead: m.CacheRead, CacheCreation: m.CacheCreation, EstimatedCostCents: m.Cents}
			}
			out = append(out, row)
		}
	}
	return out
}

// SeriesCount is the number of usage series of the organization.
func (s *Simulator) SeriesCount() int { return len(s.org.Series) }
