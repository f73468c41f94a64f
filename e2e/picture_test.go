// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"html"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// renderDashboardHTML writes a static page (inline SVG, no script, no
// network) that plots the answers of the real Prometheus to the dashboard's
// queries: line charts over the run for the time series panels, bars for
// the per-day, bar gauge and stat panels. make dashboard-picture takes its
// screenshot with headless Chromium.
func renderDashboardHTML(ctx context.Context, e *env, qs []panelQuery, out string) error {
	end := time.Now()
	start := e.started.Add(-30 * time.Second)
	step := end.Sub(start) / 90
	if step < time.Second {
		step = time.Second
	}

	// Panels in dashboard order, each with its queries.
	var order []*panel
	byPanel := map[*panel][]panelQuery{}
	for _, q := range qs {
		if _, ok := byPanel[q.Panel]; !ok {
			order = append(order, q.Panel)
		}
		byPanel[q.Panel] = append(byPanel[q.Panel], q)
	}

	var b strings.Builder
	b.WriteString(pageHead)
	fmt.Fprintf(&b, `<header><h1>Anthropic usage</h1><span>dashboards/anthropic-usage.json: each panel's PromQL answered by Prometheus, fed by otelcol-anthropic from the Admin API simulator · %s UTC · last %s</span></header><main>`,
		end.UTC().Format("2006-01-02 15:04"), end.Sub(start).Round(time.Second))
	for _, p := range order {
		var body string
		var err error
		switch {
		case p.Type == "timeseries" && p.Interval == "":
			body, err = lineChart(ctx, e.prom, p, byPanel[p], start, end, step)
		case p.Type == "stat":
			body, err = statBlock(ctx, e.prom, p, byPanel[p])
		default: // bar gauges, and per-day bars: today's value per series
			body, err = barChart(ctx, e.prom, p, byPanel[p])
		}
		if err != nil {
			return fmt.Errorf("panel %q: %w", p.Title, err)
		}
		note := ""
		if p.Interval == "1d" {
			note = " · today"
		}
		if p.TimeFrom != "" {
			note = " · " + p.TimeFrom
		}
		fmt.Fprintf(&b, `<section><h2>%s<small>%s</small></h2>%s</section>`, html.EscapeString(p.Title), html.EscapeString(note), body)
	}
	b.WriteString("</main></body></html>\n")
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Anthropic usage dashboard</title>
<style>
*{box-sizing:border-box}
body{margin:0;background:#111217;color:#ccccdc;font:11px/1.25 "DejaVu Sans",Arial,sans-serif;width:1200px}
header{height:34px;padding:6px 10px;display:flex;gap:14px;align-items:baseline;border-bottom:1px solid #2a2c33}
h1{font-size:16px;margin:0;color:#fff;white-space:nowrap}
header span{color:#8e8ea0;font-size:10.5px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
main{display:grid;grid-template-columns:repeat(4,1fr);grid-auto-rows:143px;gap:4px;padding:4px}
section{background:#181b1f;border:1px solid #2a2c33;border-radius:3px;padding:3px 6px;overflow:hidden}
h2{font-size:11px;margin:0 0 2px;color:#e0e0ec;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
h2 small{color:#8e8ea0;font-weight:normal}
svg{display:block}
.legend{display:flex;flex-wrap:wrap;gap:0 8px;font-size:9.5px;color:#a8a8b8;max-height:24px;overflow:hidden}
.legend i{display:inline-block;width:8px;height:8px;margin-right:3px;border-radius:1px}
.stat{display:flex;flex-direction:column;gap:4px;padding-top:6px}
.stat div{display:flex;justify-content:space-between;align-items:baseline}
.stat b{font-size:22px;color:#73bf69}
.stat span{color:#a8a8b8;font-size:11px}
.empty{color:#f2495c;padding-top:30px;text-align:center}
</style></head><body>
`

var palette = []string{"#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0", "#37872d", "#fade2a"}

var legendRE = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

// legendName fills a Grafana legend format with a series' labels.
func legendName(format string, labels map[string]string) string {
	if format == "" || format == "__auto" {
		var parts []string
		for k, v := range labels {
			if k != "__name__" {
				parts = append(parts, k+"="+v)
			}
		}
		sort.Strings(parts)
		if len(parts) == 0 {
			return "value"
		}
		return strings.Join(parts, ",")
	}
	s := legendRE.ReplaceAllStringFunc(format, func(m string) string {
		return labels[legendRE.FindStringSubmatch(m)[1]]
	})
	s = strings.TrimSpace(strings.ReplaceAll(s, "()", ""))
	if s == "" {
		return "value"
	}
	return s
}

// formatValue renders a value in the panel's unit.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "–"
	}
	switch unit {
	case "currencyUSD":
		switch a := math.Abs(v); {
		case a >= 1e6:
			return fmt.Sprintf("$%.2fM", v/1e6)
		case a >= 1e4:
			return fmt.Sprintf("$%.1fk", v/1e3)
		default:
			return fmt.Sprintf("$%.2f", v)
		}
	case "percentunit":
		return fmt.Sprintf("%.1f%%", v*100)
	case "s":
		switch a := math.Abs(v); {
		case a >= 86400:
			return fmt.Sprintf("%.1f d", v/86400)
		case a >= 3600:
			return fmt.Sprintf("%.1f h", v/3600)
		case a >= 60:
			return fmt.Sprintf("%.1f min", v/60)
		default:
			return fmt.Sprintf("%.0f s", v)
		}
	}
	switch a := math.Abs(v); {
	case a >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	case a < 0.1:
		return fmt.Sprintf("%.2g", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

type named struct {
	name  string
	value float64
}

func lineChart(ctx context.Context, prom promClient, p *panel, qs []panelQuery, start, end time.Time, step time.Duration) (string, error) {
	type line struct {
		name string
		pts  []point
		last float64
	}
	var lines []line
	for _, q := range qs {
		ss, err := prom.queryRange(ctx, q.Expr, start, end, step)
		if err != nil {
			return "", err
		}
		for _, s := range ss {
			l := line{name: legendName(q.Legend, s.Labels), pts: s.Points, last: math.NaN()}
			for i := len(s.Points) - 1; i >= 0; i-- {
				if !math.IsNaN(s.Points[i].V) {
					l.last = s.Points[i].V
					break
				}
			}
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return `<div class="empty">no data</div>`, nil
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].last > lines[j].last })
	if len(lines) > len(palette) {
		lines = lines[:len(palette)]
	}
	const w, h, left, bottom = 282.0, 88.0, 40.0, 12.0
	lo, hi := 0.0, 0.0
	for _, l := range lines {
		for _, pt := range l.pts {
			if !math.IsNaN(pt.V) && !math.IsInf(pt.V, 0) {
				hi = math.Max(hi, pt.V)
				lo = math.Min(lo, pt.V)
			}
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	x := func(t time.Time) float64 {
		return left + (w-left-2)*float64(t.Sub(start))/float64(end.Sub(start))
	}
	y := func(v float64) float64 { return 7 + (h-bottom-9)*(1-(v-lo)/(hi-lo)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`, w, h, w, h)
	for _, v := range []float64{lo, (lo + hi) / 2, hi} {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#2a2c33"/>`, left, w, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" fill="#8e8ea0" font-size="9" text-anchor="end">%s</text>`, left-3, y(v)+3, html.EscapeString(formatValue(v, p.FieldConfig.Defaults.Unit)))
	}
	for i, t := range []time.Time{start, start.Add(end.Sub(start) / 2), end} {
		anchor := []string{"start", "middle", "end"}[i]
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" fill="#8e8ea0" font-size="9" text-anchor="%s">%s</text>`, math.Min(x(t), w-1), h-1, anchor, t.UTC().Format("15:04:05"))
	}
	for i, l := range lines {
		var d strings.Builder
		pen := "M"
		for _, pt := range l.pts {
			if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
				pen = "M"
				continue
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", pen, x(pt.T), y(pt.V))
			pen = "L"
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.4"/>`, d.String(), palette[i])
	}
	b.WriteString(`</svg><div class="legend">`)
	for i, l := range lines {
		if i == 4 {
			fmt.Fprintf(&b, `<span>+%d more</span>`, len(lines)-4)
			break
		}
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s %s</span>`, palette[i], html.EscapeString(shorten(l.name, 34)), html.EscapeString(formatValue(l.last, p.FieldConfig.Defaults.Unit)))
	}
	b.WriteString(`</div>`)
	return b.String(), nil
}

func instantValues(ctx context.Context, prom promClient, qs []panelQuery) ([]named, error) {
	var vals []named
	for _, q := range qs {
		ss, err := prom.query(ctx, q.Expr)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			vals = append(vals, named{legendName(q.Legend, s.Labels), s.Value})
		}
	}
	sort.SliceStable(vals, func(i, j int) bool { return vals[i].value > vals[j].value })
	return vals, nil
}

func barChart(ctx context.Context, prom promClient, p *panel, qs []panelQuery) (string, error) {
	vals, err := instantValues(ctx, prom, qs)
	if err != nil {
		return "", err
	}
	if len(vals) == 0 {
		return `<div class="empty">no data</div>`, nil
	}
	if len(vals) > 6 {
		vals = vals[:6]
	}
	top := 0.0
	for _, v := range vals {
		top = math.Max(top, v.value)
	}
	if top <= 0 {
		top = 1
	}
	const w, rowH, label = 282.0, 18.0, 112.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%.0f" height="%.0f">`, w, rowH*float64(len(vals)))
	for i, v := range vals {
		yy := float64(i) * rowH
		bw := math.Max(1, (w-label-56)*math.Max(v.value, 0)/top)
		fmt.Fprintf(&b, `<text x="0" y="%.0f" fill="#ccccdc" font-size="9.5">%s</text>`, yy+12, html.EscapeString(shorten(v.name, 22)))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.1f" height="%.0f" fill="%s" rx="1"/>`, label, yy+3, bw, rowH-6, palette[i%len(palette)])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" fill="#ccccdc" font-size="9.5">%s</text>`, label+bw+4, yy+12, html.EscapeString(formatValue(v.value, p.FieldConfig.Defaults.Unit)))
	}
	b.WriteString(`</svg>`)
	return b.String(), nil
}

func statBlock(ctx context.Context, prom promClient, p *panel, qs []panelQuery) (string, error) {
	vals, err := instantValues(ctx, prom, qs)
	if err != nil {
		return "", err
	}
	if len(vals) == 0 {
		return `<div class="empty">no data</div>`, nil
	}
	sort.SliceStable(vals, func(i, j int) bool { return vals[i].name < vals[j].name })
	var b strings.Builder
	b.WriteString(`<div class="stat">`)
	for i, v := range vals {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, `<div><span>%s</span><b>%s</b></div>`, html.EscapeString(shorten(v.name, 24)), html.EscapeString(formatValue(v.value, p.FieldConfig.Defaults.Unit)))
	}
	b.WriteString(`</div>`)
	return b.String(), nil
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
