// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// Claude Code records to series, without HTTP: core counters, each tool and
// each model its own series; the actor kept, hashed or dropped; records of
// another day, negative counts and other currencies skipped.
func TestClaudeCodeRecordsToSeries(t *testing.T) {
	day := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	record := func(date, email string, sessions int64) adminapi.ClaudeCodeRecord {
		r := adminapi.ClaudeCodeRecord{Date: date, Actor: adminapi.ClaudeCodeActor{Type: "user_actor", EmailAddress: email}, TerminalType: "vscode"}
		r.CoreMetrics.NumSessions = sessions
		r.CoreMetrics.LinesOfCode.Added = 10
		r.ToolActions = map[string]adminapi.ClaudeCodeAction{"edit_tool": {Accepted: 3, Rejected: 1}}
		mb := adminapi.ClaudeCodeModelBreakdown{Model: "claude-sonnet-4-6"}
		mb.Tokens.Input, mb.Tokens.Output = 100, 20
		mb.EstimatedCost.Currency, mb.EstimatedCost.Amount = "USD", 42
		r.ModelBreakdown = []adminapi.ClaudeCodeModelBreakdown{mb}
		return r
	}
	key := func(kind, actor, sub string) seriesKey {
		return seriesKey{ccKind: kind, ccActor: actor, ccActorType: "user_actor", ccTerminal: "vscode", ccSub: sub}
	}
	tests := []struct {
		name    string
		actor   string
		records []adminapi.ClaudeCodeRecord
		want    map[seriesKey]accounting.Counters
		skipped skipCounts
	}{
		{
			name:    "kept actor, RFC 3339 date",
			actor:   actorKeep,
			records: []adminapi.ClaudeCodeRecord{record("2026-09-01T00:00:00Z", "ada@example.com", 2)},
			want: map[seriesKey]accounting.Counters{
				key(ccCore, "ada@example.com", ""):                   {2, 10},
				key(ccTool, "ada@example.com", "edit_tool"):          {3, 1},
				key(ccModel, "ada@example.com", "claude-sonnet-4-6"): {100, 20, 0, 0, 42},
			},
		},
		{
			name:    "hashed actor (HMAC-SHA256 keyed with hash_key, 128 bits), plain date, two records of one actor summed",
			actor:   actorHash,
			records: []adminapi.ClaudeCodeRecord{record("2026-09-01", "ada@example.com", 2), record("2026-09-01", "ada@example.com", 1)},
			want: map[seriesKey]accounting.Counters{
				key(ccCore, "e3e30b4d50224a4ba14084607085d072", ""):                   {3, 20},
				key(ccTool, "e3e30b4d50224a4ba14084607085d072", "edit_tool"):          {6, 2},
				key(ccModel, "e3e30b4d50224a4ba14084607085d072", "claude-sonnet-4-6"): {200, 40, 0, 0, 84},
			},
		},
		{
			name:    "dropped actor, a record of another day skipped",
			actor:   actorDrop,
			records: []adminapi.ClaudeCodeRecord{record("2026-09-01", "ada@example.com", 2), record("2026-08-31", "bob@example.com", 5)},
			want: map[seriesKey]accounting.Counters{
				key(ccCore, "", ""):                   {2, 10},
				key(ccTool, "", "edit_tool"):          {3, 1},
				key(ccModel, "", "claude-sonnet-4-6"): {100, 20, 0, 0, 42},
			},
			skipped: skipCounts{"record dated outside the requested day": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewDefaultClaudeCodeConfig()
			cfg.Actor = tt.actor
			rows, skipped := map[seriesKey]accounting.Counters{}, skipCounts{}
			newClaudeCodeSource(cfg, newActorPolicy(cfg.Actor, testHashKey), nil).mapRecords(rows, day, tt.records, skipped)
			assert.Equal(t, tt.want, rows)
			assertSkipped(t, tt.skipped, skipped)
		})
	}
}
