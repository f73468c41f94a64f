// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"errors"
	"iter"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// Positions of a Claude Code series key (the order checkpoints keep). A
// record carries a fixed set of counters, a map of tools and a list of
// models; each becomes its own series, so that a tool or a model is
// accounted like any other row.
const (
	ccKind      = iota // one of the kinds below
	ccActor            // as configured: kept, hashed or "" (dropped)
	ccActorType        // user_actor | api_actor
	ccTerminal         // the terminal type
	ccSub              // the tool or the model
	ccKeyFields
)

// Kinds of Claude Code series, as checkpoints keep them.
const (
	ccCore  = "0" // sessions, lines added, removed, commits, pull requests
	ccTool  = "1" // accepted, rejected (sub = the tool)
	ccModel = "2" // input, output, cache_read, cache_creation tokens, cost in cents (sub = the model)
)

var ccTokenTypes = [...]struct {
	typ   metadata.AttributeClaudeCodeTokenType
	genAI metadata.AttributeGenAiTokenType
}{
	{metadata.AttributeClaudeCodeTokenTypeInput, metadata.AttributeGenAiTokenTypeInput},
	{metadata.AttributeClaudeCodeTokenTypeOutput, metadata.AttributeGenAiTokenTypeOutput},
	{metadata.AttributeClaudeCodeTokenTypeCacheRead, metadata.AttributeGenAiTokenTypeInput},
	{metadata.AttributeClaudeCodeTokenTypeCacheCreation, metadata.AttributeGenAiTokenTypeInput},
}

const ccCostCents = 4 // position of the estimated cost among a model's counters

// claudeCodeSource is the Claude Code analytics report. Its actors are
// people: they are reported as its actor policy says.
type claudeCodeSource struct {
	cfg   ClaudeCodeConfig
	actor actorPolicy
	names *nameCache
}

func newClaudeCodeSource(cfg ClaudeCodeConfig, actor actorPolicy, names *nameCache) *claudeCodeSource {
	return &claudeCodeSource{cfg: cfg, actor: actor, names: names}
}

func (s *claudeCodeSource) name() string         { return "claude_code" }
func (s *claudeCodeSource) poll() PollConfig     { return s.cfg.Poll }
func (s *claudeCodeSource) width() time.Duration { return 24 * time.Hour }
func (s *claudeCodeSource) keyFields() int       { return ccKeyFields }
func (s *claudeCodeSource) shape() []string      { return []string{"claude_code", "1d", s.actor.shape()} }

func (s *claudeCodeSource) otherShapes() [][]string {
	var out [][]string
	for _, o := range s.actor.otherOptions() {
		out = append(out, []string{"claude_code", "1d", o})
	}
	return out
}

// read reads the report one UTC day at a time (the endpoint serves a single
// date per query): each day, whatever its number of pages, is one bucket,
// and one page of this report's reading.
func (s *claudeCodeSource) read(ctx context.Context, api reportAPI, from, to time.Time, _ time.Duration) iter.Seq2[page, error] {
	const day = 24 * time.Hour
	return func(yield func(page, error) bool) {
		for d := from; d.Before(to); d = d.Add(day) {
			pg := page{more: d.Add(day).Before(to), skipped: skipCounts{}}
			rows := map[seriesKey]accounting.Counters{}
			var err error
			for p, perr := range api.ClaudeCodeReport(ctx, d) {
				if err = perr; err != nil {
					break
				}
				s.mapRecords(rows, d, p.Data, pg.skipped)
			}
			if err != nil && d.Add(day).Equal(to) && errors.Is(notYetIfRecent(err, d, to), errNotYet) {
				// Today's records appear about an hour after the activity:
				// a 400 for the open day is read again next time; the days
				// before it were read.
				return
			}
			if err != nil {
				yield(page{}, err)
				return
			}
			pg.buckets = func(yield func(bucket) bool) { yield(bucket{start: d, end: d.Add(day), rows: rows}) }
			if !yield(pg, nil) {
				return
			}
		}
	}
}

// mapRecords adds one page of a day's records to the day's series.
func (s *claudeCodeSource) mapRecords(rows map[seriesKey]accounting.Counters, day time.Time, records []adminapi.ClaudeCodeRecord, skipped skipCounts) {
	for i := range records {
		r := &records[i]
		if date, err := adminapi.ParseDate(r.Date); err != nil || !date.Equal(day) {
			skipped.add("record dated outside the requested day")
			continue
		}
		var base seriesKey
		base[ccActor], base[ccActorType], base[ccTerminal] = s.actor.apply(actorName(&r.Actor)), r.Actor.Type, r.TerminalType
		put := func(kind, sub string, vals ...int64) {
			k := base
			k[ccKind], k[ccSub] = kind, sub
			var c accounting.Counters
			for i, v := range vals {
				if v < 0 {
					skipped.add("negative count")
					return
				}
				c[i] = v
			}
			sum := rows[k]
			if !addCounters(&sum, c) {
				skipped.add("sum of the series' rows would overflow")
				return
			}
			rows[k] = sum
		}
		m := r.CoreMetrics
		put(ccCore, "", m.NumSessions, m.LinesOfCode.Added, m.LinesOfCode.Removed, m.CommitsByClaudeCode, m.PullRequestsByClaudeCode)
		for tool, a := range r.ToolActions {
			put(ccTool, tool, a.Accepted, a.Rejected)
		}
		for _, mb := range r.ModelBreakdown {
			if mb.EstimatedCost.Currency != "" && mb.EstimatedCost.Currency != "USD" {
				skipped.add("currency is not USD")
				continue
			}
			put(ccModel, mb.Model, mb.Tokens.Input, mb.Tokens.Output, mb.Tokens.CacheRead, mb.Tokens.CacheCreation, mb.EstimatedCost.Amount)
		}
	}
}

// actorName is the user's email, or the API key's name.
func actorName(a *adminapi.ClaudeCodeActor) string {
	if a.Type == "api_actor" || a.EmailAddress == "" {
		return a.APIKeyName
	}
	return a.EmailAddress
}

// Claude Code metrics all belong to the organization's resource.
func (s *claudeCodeSource) resourceOf(seriesKey) resourceKey { return resourceKey{} }

func (s *claudeCodeSource) resource(rb *metadata.ResourceBuilder, _ resourceKey) {
	rb.SetGenAiProviderName("anthropic")
	s.names.setResource(rb, "")
}

// The overflow series of Claude Code keep their kind: the kind decides
// what the counters are.
func (s *claudeCodeSource) overflow(k seriesKey) seriesKey {
	return seriesKey{ccKind: k[ccKind], keyOverflow: "true"}
}

// ccRecorders are the Claude Code metrics, or their corrections.
type ccRecorders struct {
	sessions, commits, pullRequests func(pcommon.Timestamp, int64, string, string, ...metadata.MetricAttributeOption)
	lines                           func(pcommon.Timestamp, int64, string, string, metadata.AttributeAnthropicClaudeCodeLinesType, ...metadata.MetricAttributeOption)
	toolActions                     func(pcommon.Timestamp, int64, string, string, string, metadata.AttributeAnthropicClaudeCodeDecision, ...metadata.MetricAttributeOption)
	tokens                          func(pcommon.Timestamp, int64, string, string, string, metadata.AttributeClaudeCodeTokenType, metadata.AttributeGenAiTokenType, ...metadata.MetricAttributeOption)
	cost                            func(pcommon.Timestamp, float64, string, string, string, ...metadata.MetricAttributeOption)
}

func ccRecordersOf(mb *metadata.MetricsBuilder, corrections bool) ccRecorders {
	if corrections {
		return ccRecorders{mb.RecordAnthropicClaudeCodeSessionsCorrectionsDataPoint, mb.RecordAnthropicClaudeCodeCommitsCorrectionsDataPoint,
			mb.RecordAnthropicClaudeCodePullRequestsCorrectionsDataPoint, mb.RecordAnthropicClaudeCodeLinesOfCodeCorrectionsDataPoint,
			mb.RecordAnthropicClaudeCodeToolActionsCorrectionsDataPoint, mb.RecordAnthropicClaudeCodeTokensCorrectionsDataPoint,
			mb.RecordAnthropicClaudeCodeEstimatedCostCorrectionsDataPoint}
	}
	return ccRecorders{mb.RecordAnthropicClaudeCodeSessionsDataPoint, mb.RecordAnthropicClaudeCodeCommitsDataPoint,
		mb.RecordAnthropicClaudeCodePullRequestsDataPoint, mb.RecordAnthropicClaudeCodeLinesOfCodeDataPoint,
		mb.RecordAnthropicClaudeCodeToolActionsDataPoint, mb.RecordAnthropicClaudeCodeTokensDataPoint,
		mb.RecordAnthropicClaudeCodeEstimatedCostDataPoint}
}

func (s *claudeCodeSource) record(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, k seriesKey, v accounting.Totals, skipZero, corrections bool) {
	emit := func(t accounting.Total) bool { return !t.IsZero() || !skipZero }
	c := func(i int) int64 { return count(v[i]) }
	rec := ccRecordersOf(mb, corrections)
	actor := overflowAttribute(k, optionalAttributes(optional{k[ccActor], metadata.WithAnthropicClaudeCodeActorMetricAttribute}))
	actorType, terminal := k[ccActorType], k[ccTerminal]
	switch k[ccKind] {
	case ccCore:
		if emit(v[0]) {
			rec.sessions(ts, c(0), actorType, terminal, actor...)
		}
		if emit(v[1]) {
			rec.lines(ts, c(1), actorType, terminal, metadata.AttributeAnthropicClaudeCodeLinesTypeAdded, actor...)
		}
		if emit(v[2]) {
			rec.lines(ts, c(2), actorType, terminal, metadata.AttributeAnthropicClaudeCodeLinesTypeRemoved, actor...)
		}
		if emit(v[3]) {
			rec.commits(ts, c(3), actorType, terminal, actor...)
		}
		if emit(v[4]) {
			rec.pullRequests(ts, c(4), actorType, terminal, actor...)
		}
	case ccTool:
		if emit(v[0]) {
			rec.toolActions(ts, c(0), actorType, terminal, k[ccSub], metadata.AttributeAnthropicClaudeCodeDecisionAccepted, actor...)
		}
		if emit(v[1]) {
			rec.toolActions(ts, c(1), actorType, terminal, k[ccSub], metadata.AttributeAnthropicClaudeCodeDecisionRejected, actor...)
		}
	case ccModel:
		for i, t := range ccTokenTypes {
			if emit(v[i]) {
				rec.tokens(ts, c(i), actorType, terminal, k[ccSub], t.typ, t.genAI, actor...)
			}
		}
		if emit(v[ccCostCents]) {
			rec.cost(ts, v[ccCostCents].Float64()/100, actorType, terminal, k[ccSub], actor...)
		}
	}
}
