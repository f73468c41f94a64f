// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// limitsWithin bounds how long the limits gauges may take to equal the
// simulator's values once the usage totals did (a few 4 s polls).
const limitsWithin = 30 * time.Second

// checkLimits: the limits report's gauges in Prometheus equal what the
// simulator serves: every organization rate limit, a workspace's rate limits
// with their source, the caps derived from the configured spend limits, and
// the month's spend so far equal to the simulator's ground truth. The member
// report, which a Console organization is answered 400, was read once per
// collector process and reported once in col's log, while the other parts
// were polled all along.
func (e *env) checkLimits(ctx context.Context, t *testing.T, col *process) {
	t.Helper()
	var stats struct {
		Requests map[string]int `json:"requests"`
	}
	if err := getJSON(ctx, e.simURL+"/_sim/stats", nil, &stats); err != nil {
		t.Errorf("simulator stats: %v", err)
	}
	polls, effective := stats.Requests["/v1/organizations/rate_limits"], stats.Requests["/v1/organizations/spend_limits/effective"]
	if effective != 2 || polls < 5 {
		t.Errorf("the member report (400 for Console) was read %d times by the two collector processes, want 2 (one each), over %d limits polls", effective, polls)
	}
	log, err := os.ReadFile(col.log)
	if err != nil {
		t.Error(err)
	}
	if n := strings.Count(string(log), "lacks this part of the limits report"); n != 1 || !strings.Contains(string(log), "organization_type_not_supported") {
		t.Errorf("the collector reported the missing member report %d times, want once with its error code", n)
	}
	t.Logf("limits report: %d polls; the member report read %d times (once per process) and reported once", polls, effective)

	deadline := time.Now().Add(limitsWithin)
	for {
		bad := e.limitsMismatches(ctx)
		if len(bad) == 0 {
			t.Log("limits report: rate limits, caps and month-to-date spend equal the simulator's")
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			for _, m := range bad {
				t.Error(m)
			}
			return
		}
		time.Sleep(2 * time.Second)
	}
}

// simAPI reads a /v1 endpoint of the simulator as the receiver does.
func (e *env) simAPI(ctx context.Context, path string, q url.Values, v any) error {
	h := http.Header{"X-Api-Key": {simKey}, "Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"spend-limit-reads-2026-09-26"}}
	return getJSON(ctx, e.simURL+path+"?"+q.Encode(), h, v)
}

type simRateLimits struct {
	Data []struct {
		Group struct {
			ID string `json:"id"`
		} `json:"group"`
		Limits []struct {
			Type   string `json:"type"`
			Value  int64  `json:"value"`
			Source *struct {
				Type string `json:"type"`
			} `json:"source"`
		} `json:"limits"`
	} `json:"data"`
}

func (e *env) limitsMismatches(ctx context.Context) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	compare := func(what string, want map[string]float64, q string, key func(map[string]string) string, tol float64) {
		s, err := e.prom.query(ctx, q)
		if err != nil {
			fail("%s: %v", what, err)
			return
		}
		got := map[string]float64{}
		for _, x := range s {
			got[key(x.Labels)] = x.Value
		}
		for _, k := range unionKeys(want, got) {
			w, okW := want[k]
			g, okG := got[k]
			if !okW || !okG || math.Abs(w-g) > tol {
				fail("%s %q: Prometheus %v (%v), simulator %v (%v)", what, k, g, okG, w, okW)
			}
		}
		if len(want) == 0 {
			fail("%s: the simulator serves nothing", what)
		}
	}

	// The organization's rate limits, and the first workspace's.
	var org simRateLimits
	if err := e.simAPI(ctx, "/v1/organizations/rate_limits", url.Values{"limit": {"1000"}}, &org); err != nil {
		return []string{fmt.Sprintf("rate limits: %v", err)}
	}
	want := map[string]float64{}
	for _, g := range org.Data {
		for _, l := range g.Limits {
			want[g.Group.ID+" "+l.Type] = float64(l.Value)
		}
	}
	byGroup := func(l map[string]string) string {
		return l["anthropic_limits_rate_group_id"] + " " + l["anthropic_limits_rate_type"] + sourceOf(l)
	}
	compare("organization rate limit", want, `{__name__=~"anthropic_limits_rate_.+", anthropic_limits_scope="organization"}`, byGroup, 0)

	var wss struct {
		Data []struct {
			ID         string  `json:"id"`
			ArchivedAt *string `json:"archived_at"`
		} `json:"data"`
	}
	if err := e.simAPI(ctx, "/v1/organizations/workspaces", url.Values{"limit": {"1000"}}, &wss); err != nil || len(wss.Data) == 0 {
		return append(bad, fmt.Sprintf("workspaces: %v (%d)", err, len(wss.Data)))
	}
	ws := wss.Data[0].ID
	var wrl simRateLimits
	if err := e.simAPI(ctx, "/v1/organizations/workspaces/"+ws+"/rate_limits", url.Values{"include_inherited": {"true"}}, &wrl); err != nil {
		return append(bad, fmt.Sprintf("workspace rate limits: %v", err))
	}
	want = map[string]float64{}
	for _, g := range wrl.Data {
		for _, l := range g.Limits {
			want[g.Group.ID+" "+l.Type+" from "+l.Source.Type] = float64(l.Value)
		}
	}
	compare("workspace rate limit", want, fmt.Sprintf(`{__name__=~"anthropic_limits_rate_.+", anthropic_limits_scope="workspace", anthropic_workspace_id=%q}`, ws), byGroup, 0)

	// The caps: the organization's is the lower of the usage tier's and its
	// own; a workspace's the lower of its own and the organization's.
	var spend struct {
		Data []struct {
			Scope struct {
				Type        string `json:"type"`
				WorkspaceID string `json:"workspace_id"`
			} `json:"scope"`
			Amount *string `json:"amount"`
		} `json:"data"`
	}
	if err := e.simAPI(ctx, "/v1/organizations/spend_limits", url.Values{"limit": {"1000"}}, &spend); err != nil {
		return append(bad, fmt.Sprintf("spend limits: %v", err))
	}
	orgCap := math.Inf(1)
	wsCaps := map[string]float64{}
	for _, l := range spend.Data {
		cents, err := strconv.ParseFloat(*l.Amount, 64)
		if err != nil {
			return append(bad, fmt.Sprintf("spend limit amount %q: %v", *l.Amount, err))
		}
		switch l.Scope.Type {
		case "usage_tier", "organization":
			orgCap = math.Min(orgCap, cents/100)
		case "workspace":
			wsCaps[l.Scope.WorkspaceID] = cents / 100
		}
	}
	want = map[string]float64{"organization ": orgCap}
	for id, c := range wsCaps {
		want["workspace "+id] = math.Min(c, orgCap)
	}
	byScope := func(l map[string]string) string {
		return l["anthropic_limits_scope"] + " " + l["anthropic_workspace_id"]
	}
	compare("spend cap", want, `anthropic_limits_spend_effective{anthropic_limits_period="monthly"}`, byScope, 1e-9)

	// The month to date: the simulator's final cost since the 1st (frozen
	// and settled by now), in all and per workspace.
	monthStart := time.Date(e.frozen.Year(), e.frozen.Month(), 1, 0, 0, 0, 0, time.UTC)
	var rows []costTruthRow
	if err := e.truth(ctx, "cost", monthStart, e.frozen, []string{"workspace_id"}, &rows); err != nil {
		return append(bad, fmt.Sprintf("cost truth: %v", err))
	}
	want = map[string]float64{}
	for _, r := range rows {
		d := float64(r.AmountNanoCents) / 1e11
		want["workspace "+orNull(r.Dims["workspace_id"], "default")] += d
		want["organization "] += d
	}
	compare("month-to-date spend", want, `anthropic_limits_spend_period_to_date{anthropic_limits_period="monthly"}`, byScope, 1e-6)
	sort.Strings(bad)
	return bad
}

func sourceOf(l map[string]string) string {
	if s := l["anthropic_limits_rate_source"]; s != "" {
		return " from " + s
	}
	return ""
}
