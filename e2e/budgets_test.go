// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// budgetRuleFiles are the budget rules TestEndToEnd loads into Prometheus,
// as shipped, beside anthropic-usage.rules.yml; e2eBudgets (written by the
// test) adds a budget for an API key of the simulated organization.
var budgetRuleFiles = []string{"budgets.rules.yml", "anthropic-budgets.rules.yml"}

const e2eBudgets = "e2e-budgets.rules.yml"

// checkBudgets: against the real Prometheus, the budget rules as shipped
// give every workspace a month to date between zero and its total and a
// forecast no lower, each labelled with its organization; the shipped
// budget of the `default` workspace ($2000) yields its ratio; and a budget
// added for an API key of the simulator (written, then loaded with a
// configuration reload) yields that key's ratio.
func (e *env) checkBudgets(ctx context.Context, t *testing.T, promDir string) {
	t.Helper()
	one := func(q string) (map[string]sample, error) {
		s, err := e.prom.query(ctx, q)
		out := map[string]sample{}
		for _, x := range s {
			out[x.Labels["anthropic_organization_id"]+"/"+x.Labels["anthropic_workspace_id"]+x.Labels["anthropic_api_key_id"]] = x
		}
		return out, err
	}
	mtd, err := one(`anthropic_workspace:cost_usd:month_to_date`)
	if err != nil || len(mtd) == 0 {
		t.Errorf("anthropic_workspace:cost_usd:month_to_date: %d series, %v", len(mtd), err)
		return
	}
	total, _ := one(`anthropic_workspace:cost_usd:total`)
	forecast, _ := one(`anthropic_workspace:cost_usd:forecast_month_end`)
	for k, m := range mtd {
		if m.Labels["anthropic_organization_id"] == "" {
			t.Errorf("month to date %s has no anthropic_organization_id", k)
		}
		if m.Value < 0 || m.Value > total[k].Value+1e-9 {
			t.Errorf("month to date %s: $%.6f, total $%.6f", k, m.Value, total[k].Value)
		}
		if f, ok := forecast[k]; !ok || f.Value < m.Value-1e-9 {
			t.Errorf("forecast %s: %v (present %v), month to date $%.6f", k, f.Value, ok, m.Value)
		}
	}
	ratio, _ := one(`anthropic_workspace:cost_usd:month_to_date_budget_ratio{anthropic_workspace_id="default"}`)
	if len(ratio) != 1 {
		t.Errorf("budget ratio of the default workspace: %d series, want 1", len(ratio))
	}
	for k, r := range ratio {
		if math.Abs(r.Value*2000-mtd[k].Value) > 1e-6 {
			t.Errorf("budget ratio %s: %v, month to date $%.6f of $2000", k, r.Value, mtd[k].Value)
		}
	}

	// A token budget for the simulator's busiest key: twice its month to date.
	keys, err := one(`topk(1, anthropic_api_key:usage_tokens:month_to_date)`)
	if err != nil || len(keys) != 1 {
		t.Errorf("API keys' month to date: %d series, %v", len(keys), err)
		return
	}
	var key sample
	for _, key = range keys {
	}
	id, budget := key.Labels["anthropic_api_key_id"], math.Max(2*key.Value, 1)
	writeFile(t, filepath.Join(promDir, e2eBudgets), fmt.Sprintf(`groups:
  - name: e2e-budgets
    rules:
      - record: anthropic_api_key:budget_tokens:monthly
        labels: {anthropic_api_key_id: %q}
        expr: vector(%.0f)
`, id, budget))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.prom.base+"/-/reload", nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Errorf("reload Prometheus: %v", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("reload Prometheus: HTTP %d", resp.StatusCode)
		return
	}
	q := fmt.Sprintf(`anthropic_api_key:usage_tokens:month_to_date_budget_ratio{anthropic_api_key_id=%q} * %.0f - anthropic_api_key:usage_tokens:month_to_date`, id, budget)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Second) {
		s, err := e.prom.query(ctx, q)
		if err == nil && len(s) == 1 && math.Abs(s[0].Value) < 1e-6 {
			t.Logf("budgets: %d workspaces with a month to date; API key %s at %.0f%% of a budget of %.0f tokens", len(mtd), id, 100*key.Value/budget, budget)
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("API key budget ratio of %s never matched its month to date over %.0f tokens: %v %v", id, budget, s, err)
			return
		}
	}
}
