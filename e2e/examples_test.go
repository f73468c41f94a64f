// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exampleOverride is merged after an example (a second --config): only what
// a test must change. The receiver reads the simulator, polls every second
// (with a rate limit that lets that through) and looks back 30 minutes and
// two days instead of a day and a week; the collector's own telemetry is off
// (every example would open 127.0.0.1:8888). The exporters, their queues and
// retries are as shipped. The admin key, the storage directory and the
// Honeycomb and Datadog Agent endpoints come from the variables the examples
// already read; the Datadog intake's endpoint is set by a line of its own.
const exampleOverride = `receivers:
  anthropic_usage:
    endpoint: ${env:E2E_SIM_ENDPOINT}
    collection_interval: 1s
    usage:
      interval: 1s
      lookback: 30m
      revision_window: 2m
    cost:
      interval: 1s
      lookback: 48h
    claude_code:
      interval: 1s
      lookback: 48h
    rate_limit:
      requests_per_minute: 1200
      burst: 40
service:
  telemetry:
    metrics:
      level: none
`

// TestDeltaExamplesDurable runs the shipped examples for the delta backends
// (Datadog's OTLP intake and Honeycomb over OTLP/HTTP, a Datadog Agent over
// OTLP/gRPC) as they are, with only the receiver pointed at the simulator
// with short intervals and the exporters at the test's sink. The sink
// refuses everything for a while, the collectors are SIGKILLed and started
// again during the refusal, and in the end every example's backend holds the
// simulator's exact totals (one value per series and timestamp, as Datadog
// keeps them): tokens by model and token type, dollars by workspace, Claude
// Code sessions and tokens. The sum of every point received (what Honeycomb
// shows) is logged. Model and workspace arrive where each backend reads them
// (checkLabels), and no Claude Code actor.
func TestDeltaExamplesDurable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	began := time.Now()
	e := &env{root: repoRoot(t)}
	collector, simulator := otelcolBin(t), simBin(t)
	simPort := freePorts(t, 1)[0]
	e.simURL = fmt.Sprintf("http://127.0.0.1:%d", simPort)
	e.startSimulator(ctx, t, simulator, simPort)
	sink := startSink(t)

	examples := []struct {
		file, branch string
		env          []string // points the exporter at the sink
		override     string   // when its endpoint is not a variable
		where        string   // where the backend reads model and workspace
	}{
		{
			file:     "datadog-otlp-intake.yaml",
			branch:   "/datadog-otlp-intake/v1/metrics",
			where:    onPoints,
			override: fmt.Sprintf("exporters:\n  otlp_http/datadog:\n    metrics_endpoint: %s/datadog-otlp-intake/v1/metrics\n", sink.httpURL),
		},
		{
			file:   "honeycomb.yaml",
			branch: "/honeycomb/v1/metrics",
			where:  onResource,
			env:    []string{"HONEYCOMB_ENDPOINT=" + sink.httpURL + "/honeycomb"},
		},
		{
			file:   "datadog-agent.yaml",
			branch: "grpc",
			where:  onPoints,
			env:    []string{"DD_AGENT_OTLP_ENDPOINT=" + sink.grpc},
		},
	}
	dir := t.TempDir()
	if logDir := os.Getenv("E2E_LOG_DIR"); logDir != "" {
		dir = logDir
	}
	type run struct {
		name, branch string
		args, env    []string
		col          *process
	}
	var runs []*run
	var branches []string
	for _, ex := range examples {
		name := strings.TrimSuffix(ex.file, ".yaml")
		override := filepath.Join(dir, "override-"+ex.file)
		writeFile(t, override, exampleOverride+ex.override)
		runs = append(runs, &run{
			name:   name,
			branch: ex.branch,
			args:   []string{"--config", filepath.Join(e.root, "examples", ex.file), "--config", override},
			env: append([]string{
				"E2E_SIM_ENDPOINT=" + e.simURL,
				"ANTHROPIC_ADMIN_API_KEY=" + simKey,
				"ANTHROPIC_STORAGE_DIR=" + t.TempDir(),
				"DD_API_KEY=dummy", "DD_SITE=datadoghq.com", "HONEYCOMB_API_KEY=dummy", "HONEYCOMB_DATASET=anthropic-usage",
			}, ex.env...),
		})
		branches = append(branches, ex.branch)
	}
	start := func(r *run, suffix string) {
		r.col = startProcess(t, "collector-"+r.name+suffix, collector, r.args, r.env)
	}

	waitStartWindow(ctx, t)
	e.started = time.Now().UTC()
	for _, r := range runs {
		start(r, "")
	}
	// The examples have no health check: each is ready when its first reads
	// (usage and cost) reached the sink.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		missing := ""
		for _, r := range runs {
			if r.col.exited() {
				t.Fatalf("%s exited (%v):\n%s", r.col.name, r.col.err, r.col.tail(40))
			}
			if got := sink.totals(r.branch, viewSum); got.sum("tokens ") == 0 || got.sum("dollars ") == 0 {
				missing = r.name
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no usage or no cost at the sink within 30 s of the start", missing)
		}
	}
	ready := time.Now()
	sameLookbackMinute(t, e.started, ready.UTC())
	t.Logf("%d examples running; first reads delivered %.1fs after the start", len(runs), ready.Sub(e.started).Seconds())

	e.outage(ctx, t, sink, branches, ready, func() {
		for _, r := range runs {
			kill(t, r.col)
		}
		sink.nextGeneration()
		for _, r := range runs {
			start(r, "-after-sigkill")
		}
		for _, r := range runs {
			// usage, cost and Claude Code each resume from their checkpoint
			awaitLog(ctx, t, r.col, "Resuming from checkpoint", 3, 15*time.Second)
		}
		t.Logf("collectors killed with SIGKILL %.0fs into the refusal and started again", killAfter.Seconds())
	})

	// The exporters retry with their shipped backoff (up to 30 s apart, with
	// jitter): give them a minute after the settle point.
	deadline := time.Now().Add(60 * time.Second)
	var problems map[string][]string
	var truth totals
	for {
		truth = e.truthTotals(ctx, t, e.started, true)
		problems = map[string][]string{}
		for _, r := range runs {
			if d := truth.diff(sink.totals(r.branch, viewPerTS)); len(d) > 0 {
				problems[r.name] = d
			}
		}
		if len(problems) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(2 * time.Second)
	}

	var table strings.Builder
	fmt.Fprintf(&table, "%-20s %-13s %14s %14s %14s %12s %10s %7s %6s %8s  %s\n",
		"example", "view", "tokens", "vs truth", "sum of points", "dollars", "cc tokens", "points", "reqs", "refused", "result")
	for _, r := range runs {
		got, sum := sink.totals(r.branch, viewPerTS), sink.totals(r.branch, viewSum)
		st := sink.stats(r.branch)
		result := "ok"
		if len(problems[r.name]) > 0 {
			result = "FAIL"
		}
		dollars := got.sum("dollars ") - truth.sum("dollars ")
		if dollars > -5e-7 && dollars < 5e-7 {
			dollars = 0
		}
		fmt.Fprintf(&table, "%-20s %-13s %14.0f %+14.0f %+14.0f %+12.6f %+10.0f %7d %6d %8d  %s\n",
			r.name, viewPerTS, got.sum("tokens "), got.sum("tokens ")-truth.sum("tokens "), sum.sum("tokens ")-truth.sum("tokens "),
			dollars, got["claude_code tokens"]-truth["claude_code tokens"], st.points, st.requests, st.refusedRequests, result)
	}
	table.WriteString("(vs truth, sum of points, dollars, cc tokens: differences from the truth)")
	t.Logf("truth: %.0f tokens, $%.6f, %.0f Claude Code sessions and %.0f tokens\n%s", truth.sum("tokens "), truth.sum("dollars "),
		truth["claude_code sessions"], truth["claude_code tokens"], table.String())
	for _, ex := range examples {
		checkLabels(t, sink, ex.file, ex.branch, ex.where)
	}
	for _, r := range runs {
		if d := problems[r.name]; len(d) > 0 {
			t.Errorf("%s (examples/%s.yaml): %d figures differ from the truth in the per-timestamp view, e.g. %s",
				r.name, r.name, len(d), strings.Join(d[:min(3, len(d))], "; "))
		}
	}
	t.Logf("delta examples run took %.0fs", time.Since(began).Seconds())
}
