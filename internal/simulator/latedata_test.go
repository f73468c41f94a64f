// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// readUsageTotals reads a window and sums the counters per group over all
// buckets.
func (e *env) readUsageTotals(start time.Time, width string, groups []string, hdr ...string) map[string]usageTotals {
	q := vals("starting_at", rfc(start), "bucket_width", width, "limit", strconv.Itoa(adminapi.MaxLimit(width)))
	q["group_by[]"] = groups
	out := map[string]usageTotals{}
	for _, b := range e.readAllUsage(q, hdr...) {
		seen := map[string]bool{}
		for _, r := range b.Results {
			k := usageKey(r, groups)
			require.False(e.t, seen[k], "duplicate row %s in bucket %s", k, b.StartingAt)
			seen[k] = true
			tot := out[k]
			tot.add(totalsOf(r))
			out[k] = tot
		}
	}
	return out
}

func truthMap(rows []UsageTruthRow, groups []string) map[string]usageTotals {
	out := map[string]usageTotals{}
	for _, r := range rows {
		out[truthKey(r.Dims, groups)] = truthTotals(r)
	}
	return out
}

func TestLateDataConverges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	settle := e.sim.Options().UsageSettle
	// Find, a little before now, a minute with activity.
	minute := testStart.Truncate(time.Minute)
	var truth usageTotals
	for i := 0; i < 120; i++ {
		rows := e.sim.TruthUsage(TruthQuery{StartingAt: minute, EndingAt: minute.Add(time.Minute)})
		if len(rows) == 1 && rows[0].UncachedInputTokens > 1000 {
			truth = truthTotals(rows[0])
			break
		}
		minute = minute.Add(time.Minute)
	}
	require.NotZero(t, truth[0], "an active minute")
	var perSeries []usageTotals
	for _, r := range e.sim.TruthUsage(TruthQuery{StartingAt: minute, EndingAt: minute.Add(time.Minute), GroupBy: dimNames[:]}) {
		perSeries = append(perSeries, truthTotals(r))
	}
	hour := minute.Truncate(time.Hour)
	hourTruth := truthTotals(e.sim.TruthUsage(TruthQuery{StartingAt: hour, EndingAt: hour.Add(time.Hour)})[0])

	read := func(start time.Time, width string) usageTotals {
		p := decode[adminapi.UsagePage](t, e.getOK(adminapi.PathUsageMessages, vals("starting_at", rfc(start), "bucket_width", width, "limit", "1")).Body)
		if len(p.Data) == 0 {
			return usageTotals{} // the bucket has not started
		}
		require.Equal(t, start, p.Data[0].StartingAt)
		if len(p.Data[0].Results) == 0 {
			return usageTotals{}
		}
		return totalsOf(p.Data[0].Results[0])
	}
	e.clock.Set(minute.Add(-time.Second))
	require.Equal(t, usageTotals{}, read(minute, "1m"), "nothing before the minute starts")
	var prevM, prevH usageTotals
	sawPartial := false
	for step := time.Duration(0); step <= time.Minute+settle+30*time.Second; step += 20 * time.Second {
		e.clock.Set(minute.Add(step))
		m, h := read(minute, "1m"), read(hour, "1h")
		for i := range m {
			require.GreaterOrEqual(t, m[i], prevM[i], "minute counter %d decreased at +%s", i, step)
			require.GreaterOrEqual(t, h[i], prevH[i], "hour counter %d decreased at +%s", i, step)
			require.LessOrEqual(t, m[i], truth[i])
		}
		if m[0] > 0 && m[0] < truth[0] {
			sawPartial = true
		}
		// The documented formula, per series: floor(F * min(1, (t-S)/(60s+settle))).
		for i := range m {
			var want int64
			for _, f := range perSeries {
				if step < time.Minute+settle {
					want += f[i] * int64(step) / int64(time.Minute+settle)
				} else {
					want += f[i]
				}
			}
			require.Equal(t, want, m[i], "counter %d at +%s", i, step)
		}
		if step >= time.Minute+settle {
			require.Equal(t, truth, m, "settled at +%s", step)
		} else if step > 0 && step < time.Minute {
			require.NotEqual(t, truth, m, "still growing at +%s", step)
		}
		prevM, prevH = m, h
	}
	require.True(t, sawPartial, "the open minute shows partial values")
	// The hour converges once its last minute has settled.
	e.clock.Set(hour.Add(time.Hour + settle))
	require.Equal(t, hourTruth, read(hour, "1h"))
}

func TestFreezeThenSettleUsage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.sim.Freeze(testStart)
	start := dayStart(e.sim.Origin())
	// Before settling, the recent data is still incomplete.
	before := e.readUsageTotals(start, "1d", nil)
	e.clock.Advance(time.Minute + e.sim.Options().UsageSettle)
	groupSets := [][]string{
		nil,
		{"model"},
		{"workspace_id", "api_key_id"},
		{"model", "service_tier", "context_window", "inference_geo"},
		{"account_id", "service_account_id", "workspace_id"},
		{"api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo", "account_id", "service_account_id"},
	}
	var ungrouped usageTotals
	for i, groups := range groupSets {
		width := []string{"1d", "1h"}[i%2]
		got := e.readUsageTotals(start, width, groups)
		want := truthMap(e.sim.TruthUsage(TruthQuery{StartingAt: start, EndingAt: e.clock.Now(), GroupBy: groups}), groups)
		require.Equal(t, want, got, "group_by %v (%s)", groups, width)
		var sum usageTotals
		for _, v := range got {
			sum.add(v)
		}
		if i == 0 {
			ungrouped = sum
			require.NotEqual(t, before[""], sum, "late data arrived after the freeze")
		}
		require.Equal(t, ungrouped, sum, "grouped totals equal ungrouped totals for %v", groups)
	}
	// The speed dimension too (beta header).
	groups := []string{"speed", "model"}
	got := e.readUsageTotals(start, "1d", groups, "anthropic-beta", betaFastMode)
	require.Equal(t, truthMap(e.sim.TruthUsage(TruthQuery{StartingAt: start, EndingAt: e.clock.Now(), GroupBy: groups}), groups), got)
	// Nothing after the freeze, ever.
	e.clock.Advance(6 * time.Hour)
	require.Equal(t, ungrouped, e.readUsageTotals(start, "1d", nil)[""])
	after := e.sim.TruthUsage(TruthQuery{StartingAt: testStart.Add(time.Minute), EndingAt: e.clock.Now()})
	require.Empty(t, after)
}

// TestGroupedEqualsUngroupedWhileUnsettled checks there is no double
// counting even for partially visible data.
func TestGroupedEqualsUngroupedWhileUnsettled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	start := testStart.Add(-3 * time.Hour).Truncate(time.Hour)
	total := e.readUsageTotals(start, "1m", nil)[""]
	require.NotZero(t, total[0])
	for _, groups := range [][]string{{"workspace_id"}, {"api_key_id"}, {"model", "service_tier"}, {"inference_geo", "context_window", "account_id"}} {
		var sum usageTotals
		for _, v := range e.readUsageTotals(start, "1m", groups) {
			sum.add(v)
		}
		require.Equal(t, total, sum, "%v", groups)
		sum = usageTotals{}
		for _, v := range e.readUsageTotals(start, "1h", groups) {
			sum.add(v)
		}
		require.Equal(t, total, sum, "%v hourly", groups)
	}
}

func TestFreezeThenSettleCost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	start := dayStart(e.sim.Origin())
	e.sim.Freeze(testStart)
	readCost := func(groups []string) map[string]int64 {
		q := vals("starting_at", rfc(start), "limit", "31")
		q["group_by[]"] = groups
		out := map[string]int64{}
		for _, b := range e.readAllCost(q) {
			for _, r := range b.Results {
				nc, ok := ParseCents(string(r.Amount))
				require.True(t, ok, "amount %q", r.Amount)
				k := ""
				for _, g := range groups {
					switch g {
					case "workspace_id":
						k += "ws=" + ps(r.WorkspaceID) + "|"
					case "description":
						k += "desc=" + ps(r.Description) + "|"
					}
				}
				out[k] += nc
			}
		}
		return out
	}
	truth := func(groups []string) map[string]int64 {
		out := map[string]int64{}
		for _, r := range e.sim.TruthCost(TruthQuery{StartingAt: start, EndingAt: e.clock.Now(), GroupBy: groups}) {
			k := ""
			for _, g := range groups {
				switch g {
				case "workspace_id":
					k += "ws=" + ps(r.Dims["workspace_id"]) + "|"
				case "description":
					k += "desc=" + ps(r.Dims["description"]) + "|"
				}
			}
			nc, ok := ParseCents(r.AmountCents)
			require.True(t, ok)
			require.Equal(t, r.AmountNanoCents, nc)
			out[k] = r.AmountNanoCents
		}
		return out
	}
	// Today's cost is still incomplete before CostSettle has passed.
	unsettled := readCost(nil)[""]
	e.clock.Advance(e.sim.Options().CostSettle + time.Minute)
	var total int64
	for _, groups := range [][]string{nil, {"workspace_id"}, {"description"}, {"workspace_id", "description"}} {
		got, want := readCost(groups), truth(groups)
		require.Equal(t, want, got, "group_by %v", groups)
		var sum int64
		for _, v := range got {
			sum += v
		}
		if groups == nil {
			total = sum
			require.Less(t, unsettled, total, "cost kept arriving after the freeze")
		}
		require.Equal(t, total, sum, "no double counting for %v", groups)
	}
}

func TestCostGrowsThroughTheDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	today := dayStart(testStart)
	read := func() int64 {
		p := decode[adminapi.CostPage](t, e.getOK(adminapi.PathCostReport, vals("starting_at", rfc(today), "limit", "1")).Body)
		require.Len(t, p.Data, 1)
		if len(p.Data[0].Results) == 0 {
			return 0
		}
		nc, ok := ParseCents(string(p.Data[0].Results[0].Amount))
		require.True(t, ok)
		return nc
	}
	truth := func(end time.Time) int64 {
		rows := e.sim.TruthCost(TruthQuery{StartingAt: today, EndingAt: end})
		if len(rows) == 0 {
			return 0
		}
		return rows[0].AmountNanoCents
	}
	settle := e.sim.Options().CostSettle
	e.clock.Set(today.Add(settle).Add(-time.Second))
	require.Zero(t, read(), "nothing before CostSettle has passed")
	prev := int64(0)
	sawLess := false
	for step := 2 * time.Hour; step < 24*time.Hour; step += 3*time.Hour + 17*time.Minute + 20*time.Second {
		now := today.Add(step)
		e.clock.Set(now)
		v := read()
		require.GreaterOrEqual(t, v, prev)
		// Exactly the minutes that ended at least CostSettle ago.
		require.Equal(t, truth(now.Add(-settle).Truncate(time.Minute)), v, "at %s", now)
		if v < truth(now) {
			sawLess = true
		}
		prev = v
	}
	require.True(t, sawLess, "recent cost is not visible yet")
	require.Positive(t, prev)
	e.clock.Set(today.Add(25*time.Hour + time.Minute))
	final := read()
	require.Greater(t, final, prev)
	tr := e.sim.TruthCost(TruthQuery{StartingAt: today, EndingAt: today.Add(24 * time.Hour)})
	require.Equal(t, tr[0].AmountNanoCents, final, "the day settles the next day")
}

// TestCostMatchesPricedUsage re-derives the token and web-search cost from
// the usage truth with an independent price list: priority usage has no
// cost, code execution exists only in the cost report.
func TestCostMatchesPricedUsage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	start := dayStart(e.sim.Origin())
	win := TruthQuery{StartingAt: start, EndingAt: testStart}
	per := map[string][2]int64{ // $/MTok input, output, as nano-cents per token
		"claude-opus-4-6":   {500_000, 2_500_000},
		"claude-sonnet-4-6": {300_000, 1_500_000},
		"claude-haiku-4-5":  {100_000, 500_000},
		"claude-opus-4-1":   {1_500_000, 7_500_000},
	}
	win.GroupBy = []string{"model", "service_tier", "context_window", "inference_geo", "speed"}
	want := map[string]int64{} // model|token_type -> nano-cents
	var wantWeb, priorityTokens, priorityWeb int64
	for _, r := range e.sim.TruthUsage(win) {
		model, tier, cw, geo, speed := *r.Dims["model"], *r.Dims["service_tier"], *r.Dims["context_window"], *r.Dims["inference_geo"], *r.Dims["speed"]
		if tier == "priority" {
			priorityTokens += r.UncachedInputTokens + r.OutputTokens
			priorityWeb += r.WebSearchRequests
			continue
		}
		in, out := float64(per[model][0]), float64(per[model][1])
		mult := 1.0
		if tier == "batch" || tier == "flex" {
			mult *= 0.5
		}
		if geo == "us" {
			mult *= 1.1
		}
		if speed == "fast" {
			mult *= 6
		}
		if cw == "200k-1M" {
			in, out = in*2, out*1.5
		}
		round := func(x float64) int64 { return int64(x + 0.5) }
		want[model+"|uncached_input_tokens"] += r.UncachedInputTokens * round(in*mult)
		want[model+"|cache_read_input_tokens"] += r.CacheReadInputTokens * round(in*mult*0.1)
		want[model+"|cache_creation.ephemeral_5m_input_tokens"] += r.CacheCreation5m * round(in*mult*1.25)
		want[model+"|cache_creation.ephemeral_1h_input_tokens"] += r.CacheCreation1h * round(in*mult*2)
		want[model+"|output_tokens"] += r.OutputTokens * round(out*mult)
		wantWeb += r.WebSearchRequests * nanoPerCent
	}
	require.Positive(t, priorityTokens, "the org has priority-tier usage")
	require.Positive(t, priorityWeb, "and priority-tier web searches (not billed either)")
	got := map[string]int64{}
	var gotWeb, gotCode int64
	for _, r := range e.sim.TruthCost(TruthQuery{StartingAt: start, EndingAt: testStart, GroupBy: []string{"description"}}) {
		switch *r.CostType {
		case "tokens":
			require.NotEqual(t, "priority", *r.ServiceTier)
			got[*r.Model+"|"+*r.TokenType] += r.AmountNanoCents
		case "web_search":
			gotWeb += r.AmountNanoCents
		case "code_execution":
			gotCode += r.AmountNanoCents
		}
	}
	for k, v := range want {
		if v == 0 {
			delete(want, k)
		}
	}
	require.Equal(t, want, got)
	require.Equal(t, wantWeb, gotWeb)
	require.Positive(t, gotCode, "code execution has a cost")

	// Code execution is not in the usage report: usage models are only the
	// org's models, and no usage row mentions code execution.
	for _, r := range e.sim.TruthUsage(TruthQuery{StartingAt: start, EndingAt: testStart, GroupBy: []string{"model"}}) {
		require.Contains(t, DefaultModels, *r.Dims["model"])
	}
	q := vals("starting_at", rfc(dayStart(testStart).Add(-24*time.Hour)), "limit", "1")
	q["group_by[]"] = []string{"model"}
	body := string(e.getOK(adminapi.PathUsageMessages, q).Body)
	require.NotContains(t, body, "code_execution")
	// Priority usage is in the usage report.
	q["service_tiers[]"] = []string{"priority"}
	p := decode[adminapi.UsagePage](t, e.getOK(adminapi.PathUsageMessages, q).Body)
	require.NotEmpty(t, p.Data[0].Results)
}

func TestFreezeThenSettleClaudeCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.sim.Freeze(testStart)
	today := dayStart(testStart)
	partial := e.readAllClaudeCode(vals("starting_at", today.Format(time.DateOnly), "limit", "1000"))
	e.clock.Advance(time.Hour + e.sim.Options().ClaudeCodeDelay)
	for day := dayStart(e.sim.Origin()); !day.After(today); day = day.Add(24 * time.Hour) {
		got := e.readAllClaudeCode(vals("starting_at", day.Format(time.DateOnly), "limit", "7"))
		want := e.sim.TruthClaudeCode(TruthQuery{StartingAt: day})
		require.Len(t, got, len(want), "day %s", day)
		for i, w := range want {
			g := got[i]
			require.Equal(t, rfc(w.Date), g.Date)
			require.Equal(t, w.ActorType, g.Actor.Type)
			require.Equal(t, w.Actor, g.Actor.EmailAddress+g.Actor.APIKeyName)
			require.Equal(t, w.TerminalType, g.TerminalType)
			require.Equal(t, w.Sessions, g.CoreMetrics.NumSessions)
			require.Equal(t, w.LinesAdded, g.CoreMetrics.LinesOfCode.Added)
			require.Equal(t, w.LinesRemoved, g.CoreMetrics.LinesOfCode.Removed)
			require.Equal(t, w.Commits, g.CoreMetrics.CommitsByClaudeCode)
			require.Equal(t, w.PullRequests, g.CoreMetrics.PullRequestsByClaudeCode)
			require.Equal(t, w.ToolActions, toTruth([]adminapi.ClaudeCodeRecord{g})[0].ToolActions)
			require.Len(t, g.ModelBreakdown, len(w.Models))
			for _, m := range g.ModelBreakdown {
				tm := w.Models[m.Model]
				require.Equal(t, ClaudeCodeModelTruth{Input: m.Tokens.Input, Output: m.Tokens.Output, CacheRead: m.Tokens.CacheRead, CacheCreation: m.Tokens.CacheCreation, EstimatedCostCents: m.EstimatedCost.Amount}, tm)
			}
		}
		if day.Equal(today) {
			require.NotEqual(t, mustJSON(t, partial), mustJSON(t, got), "today's records grew after the freeze")
		}
	}
	// Activity appears only ClaudeCodeDelay after its hour ends.
	e2 := newEnv(t, Options{})
	hourEnd := today.Add(15 * time.Hour)
	e2.sim.Freeze(hourEnd)
	want := mustJSON(t, e2.sim.TruthClaudeCode(TruthQuery{StartingAt: today}))
	e2.clock.Set(hourEnd.Add(e2.sim.Options().ClaudeCodeDelay - time.Second))
	require.NotEqual(t, want, mustJSON(t, toTruth(e2.readAllClaudeCode(vals("starting_at", today.Format(time.DateOnly), "limit", "1000")))))
	e2.clock.Set(hourEnd.Add(e2.sim.Options().ClaudeCodeDelay))
	require.Equal(t, want, mustJSON(t, toTruth(e2.readAllClaudeCode(vals("starting_at", today.Format(time.DateOnly), "limit", "1000")))))
	e2.clock.Set(today.Add(59 * time.Minute))
	require.Empty(t, e2.readAllClaudeCode(vals("starting_at", today.Format(time.DateOnly))))
	require.Empty(t, e2.readAllClaudeCode(vals("starting_at", today.Add(24*time.Hour).Format(time.DateOnly))))
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(testStart)
	a := New(Options{Seed: 3, Now: clock.Now})
	b := New(Options{Seed: 3, Now: clock.Now})
	c := New(Options{Seed: 4, Now: clock.Now})
	q := TruthQuery{StartingAt: testStart.Add(-48 * time.Hour), EndingAt: testStart, GroupBy: []string{"api_key_id", "model"}}
	require.Equal(t, a.TruthUsage(q), b.TruthUsage(q))
	require.NotEqual(t, a.TruthUsage(q), c.TruthUsage(q))
	require.Equal(t, a.org.ID, b.org.ID)
	require.NotEqual(t, a.org.ID, c.org.ID)
}

// TestScale checks a large organization stays cheap: series grow with
// Scale, and a full-history daily read is quick.
func TestScale(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(testStart)
	small := New(Options{Seed: 1, Now: clock.Now})
	big := New(Options{Seed: 1, Now: clock.Now, Org: OrgOptions{Scale: 50}})
	ratio := float64(big.SeriesCount()) / float64(small.SeriesCount())
	require.Greater(t, ratio, 25.0)
	require.Less(t, ratio, 100.0)
	start := time.Now()
	rows := big.TruthUsage(TruthQuery{StartingAt: big.Origin(), EndingAt: testStart, GroupBy: []string{"workspace_id"}})
	require.Greater(t, len(rows), 100)
	require.Less(t, time.Since(start), 10*time.Second)
}

// toTruth converts report records to truth rows (for whole comparisons).
func toTruth(recs []adminapi.ClaudeCodeRecord) []ClaudeCodeTruthRow {
	out := []ClaudeCodeTruthRow{}
	for _, r := range recs {
		d, _ := adminapi.ParseDate(r.Date)
		row := ClaudeCodeTruthRow{
			Date: d, Actor: r.Actor.EmailAddress + r.Actor.APIKeyName, ActorType: r.Actor.Type, TerminalType: r.TerminalType,
			Sessions: r.CoreMetrics.NumSessions, LinesAdded: r.CoreMetrics.LinesOfCode.Added, LinesRemoved: r.CoreMetrics.LinesOfCode.Removed,
			Commits: r.CoreMetrics.CommitsByClaudeCode, PullRequests: r.CoreMetrics.PullRequestsByClaudeCode,
			ToolActions: map[string]ClaudeCodeToolTruth{}, Models: map[string]ClaudeCodeModelTruth{},
		}
		for tool, a := range r.ToolActions {
			row.ToolActions[tool] = ClaudeCodeToolTruth{Accepted: a.Accepted, Rejected: a.Rejected}
		}
		for _, m := range r.ModelBreakdown {
			row.Models[m.Model] = ClaudeCodeModelTruth{Input: m.Tokens.Input, Output: m.Tokens.Output, CacheRead: m.Tokens.CacheRead, CacheCreation: m.Tokens.CacheCreation, EstimatedCostCents: m.EstimatedCost.Amount}
		}
		out = append(out, row)
	}
	return out
}

// With revisions, an hour long settled changes once more, up for some
// series and down for others, at the hour's end plus After; the truth is
// the revised values, and a read after every revision equals it.
func TestRevisionsAfterTheWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Revisions: Revisions{Every: 3, After: 30 * time.Hour}})
	groups := []string{"workspace_id", "model", "api_key_id"}
	from := testStart.Add(-3 * 24 * time.Hour).Truncate(24 * time.Hour)
	to := from.Add(24 * time.Hour)
	truth := truthMap(e.sim.TruthUsage(TruthQuery{StartingAt: from, EndingAt: to, GroupBy: groups}), groups)
	read := func() map[string]usageTotals {
		q := vals("starting_at", rfc(from), "ending_at", rfc(to), "bucket_width", "1h", "limit", "24")
		q["group_by[]"] = groups
		out := map[string]usageTotals{}
		for _, b := range e.readAllUsage(q) {
			for _, r := range b.Results {
				tot := out[usageKey(r, groups)]
				tot.add(totalsOf(r))
				out[usageKey(r, groups)] = tot
			}
		}
		return out
	}
	// Settled, but the revisions of these hours are not due until 30 h
	// after each: some series differ from the truth both ways.
	e.clock.Set(to.Add(time.Hour))
	before := read()
	up, down := 0, 0
	for k, want := range truth {
		got := before[k]
		for c := range want {
			switch {
			case got[c] < want[c]:
				up++
			case got[c] > want[c]:
				down++
			}
		}
	}
	t.Logf("%d series, %d values revised up, %d down", len(truth), up, down)
	require.Positive(t, up, "some series are revised up")
	require.Positive(t, down, "some series are revised down")
	e.clock.Set(to.Add(30*time.Hour + time.Minute))
	require.Equal(t, truth, read(), "after the revisions, the API says the truth")
}
