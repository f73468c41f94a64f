// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The analytics source in TestEndToEnd: the collector's second receiver,
// anthropic_usage/analytics in testdata/otelcol-e2e.yaml, reads both
// reports with `source: analytics`, hourly buckets, grouped by API key and
// actor, from a second simulator started with the first one's seed.
//
// Why a second simulator: the simulator revises an hour's values until
// its end plus -analytics-horizon, so an hour with live traffic is revised
// until it is over and its values cannot reach the ground truth (the FINAL
// values) within a test of a few minutes. The second simulator is frozen at
// the start of the current hour: it serves the hours before, exports every
// 2 s, and its horizon is chosen at start so that the last full hour is
// revised up and down for the first analyticsRevisedFor of the run, then
// is final. The receiver meets the revisions (and the SIGKILL in the
// middle of the traffic) and must count what the API lowered in the
// `_corrections` series; once settled, every total minus its corrections
// equals the ground truth.
const (
	// The receiver's settings in testdata/otelcol-e2e.yaml that the
	// expected totals depend on.
	analyticsLookback = 2 * time.Hour
	// The simulator's export schedule and how long its last full hour is
	// revised after it starts.
	analyticsExportEvery = 2 * time.Second
	analyticsRevisedFor  = 15 * time.Second
)

// analyticsEnv is the second simulator, for the analytics source.
type analyticsEnv struct {
	url          string
	frozen       time.Time // the start of the hour it was started in
	revisedUntil time.Time // no export after this revises anything
}

// startAnalyticsSimulator starts the analytics source's simulator with the
// seed of the first, frozen at the start of the current hour, and with a
// revision horizon that ends the revisions of the last full hour
// analyticsRevisedFor from now.
func (e *env) startAnalyticsSimulator(ctx context.Context, t *testing.T, bin string, port int) {
	t.Helper()
	now := time.Now().UTC()
	hour := now.Truncate(time.Hour)
	a := &analyticsEnv{url: fmt.Sprintf("http://127.0.0.1:%d", port), frozen: hour, revisedUntil: now.Add(analyticsRevisedFor)}
	// An hour is revised while its end plus the horizon is after the
	// export: the hour ending at `hour` until revisedUntil, the one
	// before it never again.
	horizon := a.revisedUntil.Sub(hour).Round(time.Millisecond)
	args := append([]string{"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-admin-key", simKey, "-seed", fmt.Sprint(e.seed),
		"-analytics-export-every", analyticsExportEvery.String(), "-analytics-horizon", horizon.String()}, simArgs...)
	p := startProcess(t, "simulator-analytics", bin, args, nil)
	waitReady(t, p, a.url+"/_sim/info", 30*time.Second)
	var frozen struct {
		FrozenAt string `json:"frozen_at"`
	}
	if err := postJSON(ctx, a.url+"/_sim/freeze?at="+hour.Format(time.RFC3339), nil, &frozen); err != nil {
		t.Fatalf("freeze the analytics simulator: %v", err)
	}
	if got, err := time.Parse(time.RFC3339Nano, frozen.FrozenAt); err != nil || !got.Equal(hour) {
		t.Fatalf("the analytics simulator froze at %q (%v), not %s", frozen.FrozenAt, err, hour.Format(time.RFC3339))
	}
	e.analytics = a
	t.Logf("analytics simulator %s (seed %d): frozen at %s, exports every %s, the hour before revised until %s (horizon %s)",
		a.url, e.seed, hour.Format(time.RFC3339), analyticsExportEvery, a.revisedUntil.Format(time.RFC3339), horizon)
}

// analyticsTruthRow is a row of /_sim/truth/analytics.
type analyticsTruthRow struct {
	usageTruthRow
	Requests            int64 `json:"requests"`
	AmountNanoCents     int64 `json:"amount_nano_cents"`
	ListAmountNanoCents int64 `json:"list_amount_nano_cents"`
}

func (r analyticsTruthRow) tokens() int64 {
	var n int64
	for _, v := range r.byTokenType() {
		n += v
	}
	return n
}

// analyticsSeries selects the analytics receiver's series (its exporter's
// external label).
const analyticsSeries = `{e2e_receiver="analytics"}`

// netOf is the PromQL of a counter's total minus its corrections, by the
// labels by, for the analytics receiver's series: what the API serves
// now. A series with no correction has no `_corrections` series, hence the
// `or … * 0`.
func netOf(metric, by string) string {
	return fmt.Sprintf(`sum by (%[2]s) (%[1]s_total%[3]s) - (sum by (%[2]s) (%[1]s_corrections_total%[3]s) or sum by (%[2]s) (%[1]s_total%[3]s) * 0)`,
		metric, by, analyticsSeries)
}

// reconcileAnalytics compares, per API key and per actor, the analytics
// receiver's tokens, requests and dollars (list price too) net of their
// corrections with the second simulator's ground truth over the hours the
// receiver reads: [start - 2h aligned down to the hour, the freeze).
func (e *env) reconcileAnalytics(ctx context.Context, t *testing.T) []string {
	t.Helper()
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	from := e.started.Add(-analyticsLookback).Truncate(time.Hour)
	for _, dim := range []struct{ groupBy, label, null string }{
		{"api_key_id", "anthropic_api_key_id", "none"},
		{"actor", "anthropic_actor_id", ""},
	} {
		var rows []analyticsTruthRow
		if err := e.truthOf(ctx, e.analytics.url, "analytics", from, e.analytics.frozen, []string{dim.groupBy}, &rows); err != nil {
			fail("analytics truth: %v", err)
			continue
		}
		tokens, requests, dollars, list := map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}
		for _, r := range rows {
			k := orNull(r.Dims[dim.groupBy], dim.null)
			if n := r.tokens(); n != 0 {
				tokens[k] += float64(n)
			}
			if r.Requests != 0 {
				requests[k] += float64(r.Requests)
			}
			if r.AmountNanoCents != 0 {
				dollars[k] += float64(r.AmountNanoCents) / 1e11
			}
			if r.ListAmountNanoCents != 0 {
				list[k] += float64(r.ListAmountNanoCents) / 1e11
			}
		}
		got := func(metric string) map[string]float64 {
			s, err := e.prom.query(ctx, netOf(metric, dim.label))
			if err != nil {
				fail("%v", err)
				return nil
			}
			return byLabel(s, dim.label)
		}
		bad = append(bad, compareTotals("analytics tokens net of corrections, "+dim.groupBy, tokens, got("anthropic_usage_tokens"), 0)...)
		bad = append(bad, compareTotals("analytics requests net of corrections, "+dim.groupBy, requests, got("anthropic_usage_requests"), 0)...)
		bad = append(bad, compareTotals("analytics dollars net of corrections, "+dim.groupBy, dollars, got("anthropic_cost"), 1e-6)...)
		bad = append(bad, compareTotals("analytics list dollars net of corrections, "+dim.groupBy, list, got("anthropic_cost_list_amount"), 1e-6)...)
	}
	return bad
}

// checkAnalyticsCorrections: the revisions the receiver met were counted
// as corrections (tokens or dollars lowered by the API), and the figures
// checked are logged.
func (e *env) checkAnalyticsCorrections(ctx context.Context, t *testing.T) {
	t.Helper()
	one := func(q string) float64 {
		s, err := e.prom.query(ctx, q)
		if err != nil {
			t.Errorf("%v", err)
			return 0
		}
		v := 0.0
		for _, x := range s {
			v += x.Value
		}
		return v
	}
	keys, _ := e.prom.query(ctx, netOf("anthropic_cost", "anthropic_api_key_id"))
	actors, _ := e.prom.query(ctx, netOf("anthropic_cost", "anthropic_actor_id"))
	tokens := one(`sum(anthropic_usage_tokens_total` + analyticsSeries + `)`)
	tokenCorr := one(`sum(anthropic_usage_tokens_corrections_total` + analyticsSeries + `)`)
	dollars := one(`sum(anthropic_cost_total` + analyticsSeries + `)`)
	dollarCorr := one(`sum(anthropic_cost_corrections_total` + analyticsSeries + `)`)
	requests := one(`sum(anthropic_usage_requests_total`+analyticsSeries+`)`) - one(`sum(anthropic_usage_requests_corrections_total`+analyticsSeries+`)`)
	t.Logf("analytics source: %d API keys and %d actors reconciled; tokens %.0f (%.0f corrected), requests %.0f, dollars $%.2f ($%.2f corrected)",
		len(keys), len(actors), tokens-tokenCorr, tokenCorr, requests, dollars-dollarCorr, dollarCorr)
	if tokenCorr == 0 && dollarCorr == 0 {
		t.Errorf("the analytics receiver counted no correction: the simulator's revisions until %s did not reach it", e.analytics.revisedUntil.Format(time.RFC3339))
	}
}
