// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The receiver's own telemetry (otelcol_anthropic_usage_*, from the
// collector's telemetry endpoint) feeds these panels of
// dashboards/anthropic-usage.json. They are checked only while
// checkTelemetryPanels is true: set it to false to check the usage, cost and
// Claude Code panels alone (for a receiver without that telemetry).
const checkTelemetryPanels = true

var telemetryPanels = []string{
	"Data lag by report",
	"Admin API errors per minute (non-2xx)",
	"Time since the last successful poll",
	"Retries per minute by endpoint",
	"Late revisions per minute by report",
}

// Values of Grafana's built-in variables when the test runs a panel's
// query; a panel's own "interval" (1d for per-day bars) replaces
// $__interval.
var builtinVars = map[string]string{
	"__range":         "1h",
	"__range_s":       "3600",
	"__interval":      "1m",
	"__rate_interval": "1m",
}

type dashboard struct {
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			IncludeAll bool   `json:"includeAll"`
			AllValue   string `json:"allValue"`
			Current    struct {
				Value any `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Interval    string `json:"interval"`
	TimeFrom    string `json:"timeFrom"`
	GridPos     struct {
		H, W, X, Y int
	} `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
		Instant      bool   `json:"instant"`
	} `json:"targets"`
}

// panelQuery is one target of a panel with its variables substituted.
type panelQuery struct {
	Panel  *panel
	RefID  string
	Expr   string
	Legend string
}

var varRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

func loadDashboard(root string) (*dashboard, error) {
	b, err := os.ReadFile(filepath.Join(root, "dashboards", "anthropic-usage.json"))
	if err != nil {
		return nil, err
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("dashboards/anthropic-usage.json: %w", err)
	}
	return &d, nil
}

// queries returns every panel target with the dashboard's variables at
// their defaults ("All" for the multi-value ones).
func (d *dashboard) queries() ([]panelQuery, error) {
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		switch {
		case v.IncludeAll:
			vars[v.Name] = v.AllValue
		default:
			if s, ok := v.Current.Value.(string); ok {
				vars[v.Name] = s
			}
		}
	}
	var out []panelQuery
	for i := range d.Panels {
		p := &d.Panels[i]
		if p.Type == "row" {
			continue
		}
		for _, tg := range p.Targets {
			var missing []string
			expr := varRE.ReplaceAllStringFunc(tg.Expr, func(m string) string {
				sub := varRE.FindStringSubmatch(m)
				name := sub[1] + sub[2]
				if name == "__interval" && p.Interval != "" {
					return p.Interval
				}
				if v, ok := vars[name]; ok {
					return v
				}
				if v, ok := builtinVars[name]; ok {
					return v
				}
				missing = append(missing, m)
				return m
			})
			if len(missing) > 0 {
				return nil, fmt.Errorf("panel %q: unknown variables %v", p.Title, missing)
			}
			out = append(out, panelQuery{Panel: p, RefID: tg.RefID, Expr: expr, Legend: tg.LegendFormat})
		}
	}
	return out, nil
}

// checkDashboard runs every query of every panel against Prometheus and
// fails on one that returns nothing (the telemetry panels only while
// checkTelemetryPanels is set). It returns the queries for the picture.
func (e *env) checkDashboard(ctx context.Context, t *testing.T) []panelQuery {
	t.Helper()
	d, err := loadDashboard(e.root)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := d.queries()
	if err != nil {
		t.Fatal(err)
	}
	isTelemetry := map[string]bool{}
	for _, title := range telemetryPanels {
		isTelemetry[title] = true
	}
	seen := map[string]bool{}
	for _, q := range qs {
		seen[q.Panel.Title] = true
	}
	for _, title := range telemetryPanels {
		if !seen[title] {
			t.Errorf("telemetryPanels names %q, which the dashboard does not have", title)
		}
	}
	pending := qs
	// The collector's telemetry is scraped every 2 s: allow a few rounds.
	for round := 0; round < 10 && len(pending) > 0; round++ {
		if round > 0 {
			time.Sleep(2 * time.Second)
		}
		var empty []panelQuery
		for _, q := range pending {
			if isTelemetry[q.Panel.Title] && !checkTelemetryPanels {
				continue
			}
			s, err := e.prom.query(ctx, q.Expr)
			if err != nil {
				t.Errorf("panel %q %s: %v", q.Panel.Title, q.RefID, err)
				continue
			}
			if len(s) == 0 {
				empty = append(empty, q)
			}
		}
		pending = empty
	}
	for _, q := range pending {
		t.Errorf("panel %q (%s) returns nothing: %s", q.Panel.Title, q.RefID, q.Expr)
	}
	skipped := ""
	if !checkTelemetryPanels {
		skipped = fmt.Sprintf(" (%d telemetry panels not checked)", len(telemetryPanels))
	}
	t.Logf("%d dashboard queries checked%s", len(qs), skipped)
	return qs
}

// Test that the dashboard's queries are complete and its variables known,
// without any server.
func TestDashboardQueriesParse(t *testing.T) {
	d, err := loadDashboard(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := d.queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if strings.Contains(q.Expr, "$") {
			t.Errorf("panel %q: unsubstituted variable in %s", q.Panel.Title, q.Expr)
		}
	}
	if len(qs) < 15 {
		t.Errorf("only %d queries", len(qs))
	}
}
