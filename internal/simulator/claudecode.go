// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"net/http"
	"sort"
	"time"
)

var ccTools = [4]string{"edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool"}

// ccToolUse is the percent chance that an active hour uses each tool.
var ccToolUse = [4]uint64{80, 30, 45, 5}

type ccModelUse struct{ Input, Output, CacheRead, CacheCreation, Cents int64 }

type ccHourData struct {
	sessions, added, removed, commits, prs int64
	tools                                  [4]ClaudeCodeToolTruth
	toolUsed                               [4]bool
	models                                 [2]ccModelUse
	modelUsed                              [2]bool
}

// ccHour is the FINAL activity of an actor on a terminal in UTC hour h.
func (s *Simulator) ccHour(a *ccActor, ti int, h int64) (d ccHourData, ok bool) {
	k := a.HKey ^ (uint64(ti+1) * 0x9e3779b97f4a7c15)
	x := hash4(s.seed, k, uint64(h), 1)
	r := rhythmAt(h)
	if a.Key != nil {
		r = 500 // automation runs around the clock
	}
	if int64(x%1000) >= a.PActive*r/1000 {
		return d, false
	}
	d.sessions = 1 + int64((x>>10)%2)
	d.added = int64((x >> 12) % 400)
	d.removed = d.added * int64((x>>22)%60) / 100
	if (x>>30)%10 < 2 {
		d.commits = 1
	}
	if (x>>34)%40 == 0 {
		d.prs = 1
	}
	for i := range ccTools {
		y := hash4(s.seed, k, uint64(h), uint64(10+i))
		if y%100 < ccToolUse[i] {
			d.toolUsed[i] = true
			d.tools[i].Accepted = int64(1 + (y>>8)%15)
			d.tools[i].Rejected = int64((y >> 16) % 4)
		}
	}
	for i, m := range a.Models {
		y := hash4(s.seed, k, uint64(h), uint64(20+i))
		if i > 0 && y%4 != 0 {
			continue
		}
		var u ccModelUse
		u.Input = int64(200 + (y>>8)%5000)
		u.Output = int64(1000 + (y>>20)%20000)
		u.CacheRead = int64(50_000 + (y>>36)%450_000)
		u.CacheCreation = int64(5_000 + (y>>50)%45_000)
		if i > 0 {
			u.Input, u.Output, u.CacheRead, u.CacheCreation = u.Input/4, u.Output/4, u.CacheRead/8, u.CacheCreation/8
		}
		nc := u.Input*m.InputNC + u.Output*m.OutputNC + u.CacheRead*m.InputNC/10 + u.CacheCreation*m.InputNC*5/4
		u.Cents = nc / nanoPerCent
		d.models[i], d.modelUsed[i] = u, true
	}
	return d, true
}

// ccRecord is one (day, actor, terminal) record.
type ccRecord struct {
	actor                                  *ccActor
	terminal                               string
	day                                    time.Time
	sessions, added, removed, commits, prs int64
	tools                                  map[string]ClaudeCodeToolTruth
	models                                 map[string]*ccModelUse
}

// ccRecords builds the records of a UTC day: FINAL if final, else as
// visible at clock tNs (an hour appears at hour end + ClaudeCodeDelay).
// Records with nothing visible are left out. Order: actors (users, then
// API keys, in organization order), then terminal type.
func (s *Simulator) ccRecords(day time.Time, final bool, tNs int64) []*ccRecord {
	d0 := floorDiv(day.Unix(), 3600)
	fh := s.freezeHour()
	delay := int64(s.opts.ClaudeCodeDelay)
	var out []*ccRecord
	for _, a := range s.org.Actors {
		for ti, term := range a.Terminals {
			var rec *ccRecord
			for h := d0; h < d0+24; h++ {
				if h < a.FromHour || h >= a.UntilHour || h >= fh {
					continue
				}
				if !final && (h+1)*int64(time.Hour)+delay > tNs {
					break
				}
				d, ok := s.ccHour(a, ti, h)
				if !ok {
					continue
				}
				if rec == nil {
					rec = &ccRecord{actor: a, terminal: term, day: day, tools: map[string]ClaudeCodeToolTruth{}, models: map[string]*ccModelUse{}}
					if a.AllTools {
						for _, t := range ccTools {
							rec.tools[t] = ClaudeCodeToolTruth{}
						}
					}
				}
				rec.sessions += d.sessions
				rec.added += d.added
				rec.removed += d.removed
				rec.commits += d.commits
				rec.prs += d.prs
				for i, t := range ccTools {
					if d.toolUsed[i] {
						ta := rec.tools[t]
						ta.Accepted += d.tools[i].Accepted
						ta.Rejected += d.tools[i].Rejected
						rec.tools[t] = ta
					}
				}
				for i, used := range d.modelUsed {
					if !used {
						continue
					}
					id := a.Models[i].ID
					m := rec.models[id]
					if m == nil {
						m = &ccModelUse{}
						rec.models[id] = m
					}
					u := d.models[i]
					m.Input += u.Input
					m.Output += u.Output
					m.CacheRead += u.CacheRead
					m.CacheCreation += u.CacheCreation
					m.Cents += u.Cents
				}
			}
			if rec != nil {
				out = append(out, rec)
			}
		}
	}
	return out
}

type ccActorJSON struct {
	Type         string `json:"type"`
	EmailAddress string `json:"email_address,omitempty"`
	APIKeyName   string `json:"api_key_name,omitempty"`
}

type ccLinesJSON struct {
	Added   int64 `json:"added"`
	Removed int64 `json:"removed"`
}

type ccCoreJSON struct {
	NumSessions              int64       `json:"num_sessions"`
	LinesOfCode              ccLinesJSON `json:"lines_of_code"`
	CommitsByClaudeCode      int64       `json:"commits_by_claude_code"`
	PullRequestsByClaudeCode int64       `json:"pull_requests_by_claude_code"`
}

type ccActionJSON struct {
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
}

type ccTokensJSON struct {
	Input         int64 `json:"input"`
	Output        int64 `json:"output"`
	CacheRead     int64 `json:"cache_read"`
	CacheCreation int64 `json:"cache_creation"`
}

type ccCostJSON struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

type ccModelJSON struct {
	Model         string       `json:"model"`
	Tokens        ccTokensJSON `json:"tokens"`
	EstimatedCost ccCostJSON   `json:"estimated_cost"`
}

type ccRecordJSON struct {
	Date             string                  `json:"date"`
	Actor            ccActorJSON             `json:"actor"`
	OrganizationID   string                  `json:"organization_id"`
	CustomerType     string                  `json:"customer_type"`
	SubscriptionType *string                 `json:"subscription_type"`
	TerminalType     string                  `json:"terminal_type"`
	CoreMetrics      ccCoreJSON              `json:"core_metrics"`
	ToolActions      map[string]ccActionJSON `json:"tool_actions"`
	ModelBreakdown   []ccModelJSON           `json:"model_breakdown"`
}

type ccPageJSON struct {
	Data     []ccRecordJSON `json:"data"`
	HasMore  bool           `json:"has_more"`
	NextPage *string        `json:"next_page"`
}

func (s *Simulator) ccRecordJSON(r *ccRecord) ccRecordJSON {
	out := ccRecordJSON{
		Date:           fmtTime(r.day),
		Actor:          ccActorJSON{Type: r.actor.actorType()},
		OrganizationID: s.org.ID,
		CustomerType:   "api",
		TerminalType:   r.terminal,
		CoreMetrics: ccCoreJSON{
			NumSessions:              r.sessions,
			LinesOfCode:              ccLinesJSON{Added: r.added, Removed: r.removed},
			CommitsByClaudeCode:      r.commits,
			PullRequestsByClaudeCode: r.prs,
		},
		ToolActions:    map[string]ccActionJSON{},
		ModelBreakdown: []ccModelJSON{},
	}
	if r.actor.User != nil {
		out.Actor.EmailAddress = r.actor.User.Email
	} else {
		out.Actor.APIKeyName = r.actor.Key.Name
	}
	for k, v := range r.tools {
		out.ToolActions[k] = ccActionJSON(v)
	}
	for _, id := range sortedModelIDs(r.models) {
		m := r.models[id]
		out.ModelBreakdown = append(out.ModelBreakdown, ccModelJSON{
			Model:         id,
			Tokens:        ccTokensJSON{Input: m.Input, Output: m.Output, CacheRead: m.CacheRead, CacheCreation: m.CacheCreation},
			EstimatedCost: ccCostJSON{Currency: "USD", Amount: m.Cents},
		})
	}
	return out
}

func sortedModelIDs(m map[string]*ccModelUse) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// handleClaudeCode serves the Claude Code report: one UTC day per query,
// paginated per record. The cursor pins the data boundary (the clock time of
// the first page), so the pages of one query neither miss nor repeat
// records even while new activity becomes visible.
func (s *Simulator) handleClaudeCode(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	v := q.Get("starting_at")
	if v == "" {
		return nil, badRequest("starting_at: field required (a UTC date in YYYY-MM-DD format)")
	}
	day, perr := time.Parse(time.DateOnly, v)
	if perr != nil {
		return nil, badRequest("starting_at: must be a UTC date in YYYY-MM-DD format, got %q", v)
	}
	limit, err := parseLimit(q, 1, 1000, 20, "")
	if err != nil {
		return nil, err
	}
	fp := fingerprint("claude_code", v)
	c, err := parsePage(q, "claude_code", fp)
	if err != nil {
		return nil, err
	}
	asOf, off := s.now().UnixNano(), int64(0)
	if c != nil {
		asOf, off = c.A, c.N
	}
	recs := s.ccRecords(day.UTC(), false, asOf)
	if off < 0 || off > int64(len(recs)) {
		return nil, badRequest("page: the page token does not fit this query")
	}
	end := min(off+int64(limit), int64(len(recs)))
	page := ccPageJSON{Data: make([]ccRecordJSON, 0, end-off)}
	for _, r := range recs[off:end] {
		page.Data = append(page.Data, s.ccRecordJSON(r))
	}
	if end < int64(len(recs)) {
		page.HasMore = true
		next := cursor{E: "claude_code", Q: fp, N: end, A: asOf}.encode()
		page.NextPage = &next
	}
	return page, nil
}
