package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// A Claude Code record carries a fixed set of counters, a map of tools and
// a list of models. Each becomes its own series, so that a tool or a model
// is accounted like any other row.
type ccKind uint8

const (
	ccCore  ccKind = iota // sessions, lines added, removed, commits, pull requests
	ccTool                // accepted, rejected (sub = the tool)
	ccModel               // input, output, cache_read, cache_creation tokens, cost in cents (sub = the model)
)

type ccKey struct {
	kind      ccKind
	actor     string // as configured: kept, hashed or "" (dropped)
	actorType string
	terminal  string
	sub       string
}

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

type claudeCodeSource struct {
	actor string
	names *nameCache
}

// read reads the report one UTC day at a time: the endpoint serves a single
// date per query.
func (s *claudeCodeSource) read(ctx context.Context, api reportAPI, from, to time.Time, obs observeFunc[ccKey], onPage adminapi.PageFunc, skip *rowSkips) error {
	const day = 24 * time.Hour
	rows := map[ccKey]accounting.Counters{}
	for d := from; d.Before(to); d = d.Add(day) {
		clear(rows)
		err := api.ClaudeCodeReport(ctx, d, func(r *adminapi.ClaudeCodeRecord) error {
			if date, err := adminapi.ParseDate(r.Date); err != nil || !date.Equal(d) {
				skip.add("record dated outside the requested day")
				return nil
			}
			s.add(rows, r, skip)
			return nil
		})
		if err != nil {
			// Today's records appear about an hour after the activity:
			// a 400 for the open day is read again next time.
			if d.Add(day).Equal(to) {
				if err = notYetIfRecent(err, d, to); err == nil {
					continue
				}
			}
			return err
		}
		if err := obs(d, d.Add(day), rows); err != nil {
			return err
		}
		if onPage != nil {
			if err := onPage(d.Add(day).Before(to)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *claudeCodeSource) codec() accounting.KeyCodec[ccKey] {
	return accounting.KeyCodec[ccKey]{
		Encode: func(k ccKey) []string {
			return []string{strconv.Itoa(int(k.kind)), k.actor, k.actorType, k.terminal, k.sub}
		},
		Decode: func(f []string) (ccKey, error) {
			if len(f) != 5 {
				return ccKey{}, errKeyFields
			}
			kind, err := strconv.Atoi(f[0])
			if err != nil || kind < int(ccCore) || kind > int(ccModel) {
				return ccKey{}, errKeyFields
			}
			return ccKey{ccKind(kind), f[1], f[2], f[3], f[4]}, nil
		},
	}
}

func (s *claudeCodeSource) shape() []string { return []string{"claude_code", "1d", s.actor} }

func (s *claudeCodeSource) add(rows map[ccKey]accounting.Counters, r *adminapi.ClaudeCodeRecord, skip *rowSkips) {
	base := ccKey{actorType: r.Actor.Type, terminal: r.TerminalType, actor: s.actorName(&r.Actor)}
	put := func(k ccKey, vals ...int64) {
		c := rows[k]
		for i, v := range vals {
			if v < 0 {
				skip.add("negative count")
				return
			}
			c[i] += v
		}
		rows[k] = c
	}
	m := r.CoreMetrics
	core := base
	core.kind = ccCore
	put(core, m.NumSessions, m.LinesOfCode.Added, m.LinesOfCode.Removed, m.CommitsByClaudeCode, m.PullRequestsByClaudeCode)
	for tool, a := range r.ToolActions {
		k := base
		k.kind, k.sub = ccTool, tool
		put(k, a.Accepted, a.Rejected)
	}
	for _, mb := range r.ModelBreakdown {
		if mb.EstimatedCost.Currency != "" && mb.EstimatedCost.Currency != "USD" {
			skip.add("currency is not USD")
			continue
		}
		k := base
		k.kind, k.sub = ccModel, mb.Model
		put(k, mb.Tokens.Input, mb.Tokens.Output, mb.Tokens.CacheRead, mb.Tokens.CacheCreation, mb.EstimatedCost.Amount)
	}
}

func (s *claudeCodeSource) actorName(a *adminapi.ClaudeCodeActor) string {
	name := a.EmailAddress
	if a.Type == "api_actor" || name == "" {
		name = a.APIKeyName
	}
	switch s.actor {
	case actorDrop:
		return ""
	case actorHash:
		sum := sha256.Sum256([]byte(name))
		return hex.EncodeToString(sum[:8])
	}
	return name
}

// Claude Code metrics all belong to the organization's resource.
func (s *claudeCodeSource) resource(ccKey) struct{} { return struct{}{} }

func (s *claudeCodeSource) setResource(rb *metadata.ResourceBuilder, _ struct{}) {
	rb.SetGenAiProviderName("anthropic")
	s.names.setResource(rb, "")
}

func (s *claudeCodeSource) record(w *points, k ccKey, c accounting.Counters, skipZero bool) {
	w.series(opt(keyCCActor, k.actor), req(keyCCActorType, k.actorType), req(keyCCTerminalType, k.terminal))
	emit := func(v int64) bool { return v != 0 || !skipZero }
	info := &metadata.MetricsInfo
	switch k.kind {
	case ccCore:
		if emit(c[0]) {
			w.intPoint(info.AnthropicClaudeCodeSessions.Name, c[0])
		}
		if emit(c[1]) {
			w.intPoint(info.AnthropicClaudeCodeLinesOfCode.Name, c[1], req(keyCCLinesType, metadata.AttributeAnthropicClaudeCodeLinesTypeAdded.String()))
		}
		if emit(c[2]) {
			w.intPoint(info.AnthropicClaudeCodeLinesOfCode.Name, c[2], req(keyCCLinesType, metadata.AttributeAnthropicClaudeCodeLinesTypeRemoved.String()))
		}
		if emit(c[3]) {
			w.intPoint(info.AnthropicClaudeCodeCommits.Name, c[3])
		}
		if emit(c[4]) {
			w.intPoint(info.AnthropicClaudeCodePullRequests.Name, c[4])
		}
	case ccTool:
		if emit(c[0]) {
			w.intPoint(info.AnthropicClaudeCodeToolActions.Name, c[0], req(keyCCTool, k.sub), req(keyCCDecision, metadata.AttributeAnthropicClaudeCodeDecisionAccepted.String()))
		}
		if emit(c[1]) {
			w.intPoint(info.AnthropicClaudeCodeToolActions.Name, c[1], req(keyCCTool, k.sub), req(keyCCDecision, metadata.AttributeAnthropicClaudeCodeDecisionRejected.String()))
		}
	case ccModel:
		for i, t := range ccTokenTypes {
			if emit(c[i]) {
				w.intPoint(info.AnthropicClaudeCodeTokens.Name, c[i], req(keyModel, k.sub), req(keyCCTokenType, t.typ.String()), req(keyGenAITokenType, t.genAI.String()))
			}
		}
		if emit(c[ccCostCents]) {
			w.doublePoint(info.AnthropicClaudeCodeEstimatedCost.Name, float64(c[ccCostCents])/100, req(keyModel, k.sub))
		}
	}
}
