// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Where a backend reads the model and the workspace from.
const (
	onPoints   = "data point attributes" // Datadog tags, Grafana Cloud labels
	onResource = "resource attributes"   // Honeycomb fields, an OTLP gateway
)

// checkLabels fails unless every token point a branch of the sink received
// carries the model and the workspace where the backend reads them, every
// cost point the workspace, and unless Claude Code figures arrived without
// any actor (the examples' privacy default).
func checkLabels(t *testing.T, sink *otlpSink, example, branch, where string) {
	t.Helper()
	for _, c := range []struct {
		metric string
		model  bool
	}{{"anthropic.usage.tokens", true}, {"anthropic.cost", false}} {
		lp := sink.labelPlaces(branch, c.metric)
		model, workspace := lp.resModel, lp.resWorkspace
		if where == onPoints {
			model, workspace = lp.dpModel, lp.dpWorkspace
		}
		switch {
		case lp.points == 0:
			t.Errorf("%s: no %s point received", example, c.metric)
		case workspace != lp.points || (c.model && model != lp.points):
			t.Errorf("%s: of %d %s points, %d carry the workspace and %d the model in their %s (resource: %d and %d)",
				example, lp.points, c.metric, workspace, model, where, lp.resWorkspace, lp.resModel)
		}
	}
	if sink.totals(branch, viewSum)["claude_code sessions"] == 0 {
		t.Errorf("%s: no Claude Code sessions received", example)
	}
	if sink.sawKey(branch, "anthropic.claude_code.actor") {
		t.Errorf("%s sends anthropic.claude_code.actor: personal data by default", example)
	}
}

// TestExampleLabels runs the cumulative OTLP examples (Grafana Cloud, an
// OTLP/gRPC gateway) against the test's sink and the Prometheus scrape
// example as shipped, with only the receiver pointed at the simulator
// (exampleOverride), and checks that model and workspace arrive where each
// backend reads them: on the points for Grafana Cloud (which keeps resource
// attributes in target_info), in the resource for a gateway, as labels of
// every usage and cost series for Prometheus; and no Claude Code actor. The
// delta examples are checked the same way in TestDeltaExamplesDurable.
func TestExampleLabels(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{root: repoRoot(t)}
	collector := otelcolBin(t)
	ports := freePorts(t, 2)
	e.simURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	e.startSimulator(ctx, t, simBin(t), ports[0])
	sink := startSink(t)
	scrape := fmt.Sprintf("127.0.0.1:%d", ports[1])

	dir := t.TempDir()
	if logDir := os.Getenv("E2E_LOG_DIR"); logDir != "" {
		dir = logDir
	}
	override := filepath.Join(dir, "override-labels.yaml")
	writeFile(t, override, exampleOverride)
	examples := []struct {
		file, branch, where string
		env                 []string
	}{
		{"grafana-cloud.yaml", "/grafana-cloud/v1/metrics", onPoints,
			[]string{"GRAFANA_CLOUD_OTLP_ENDPOINT=" + sink.httpURL + "/grafana-cloud", "GRAFANA_CLOUD_BASIC_AUTH=ZHVtbXk6ZHVtbXk="}},
		{"otlp.yaml", "grpc", onResource, []string{"OTLP_ENDPOINT=" + sink.grpc, "OTLP_INSECURE=true"}},
		{"prometheus-scrape.yaml", "", "", []string{"PROMETHEUS_EXPORTER_ENDPOINT=" + scrape}},
	}
	for _, ex := range examples {
		startProcess(t, "collector-"+strings.TrimSuffix(ex.file, ".yaml"), collector,
			[]string{"--config", filepath.Join(e.root, "examples", ex.file), "--config", override},
			append([]string{"E2E_SIM_ENDPOINT=" + e.simURL, "ANTHROPIC_ADMIN_API_KEY=" + simKey, "ANTHROPIC_STORAGE_DIR=" + t.TempDir()}, ex.env...))
	}

	// Usage and cost are read first, Claude Code one day per request after
	// them: wait until every example delivered all three.
	var page string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		done := true
		for _, ex := range examples[:2] {
			got := sink.totals(ex.branch, viewSum)
			done = done && got.sum("tokens ") > 0 && got.sum("dollars ") > 0 && got["claude_code sessions"] > 0
		}
		page, _ = getText(ctx, "http://"+scrape+"/metrics")
		done = done && strings.Contains(page, "\nanthropic_cost_total{") && strings.Contains(page, "\nanthropic_claude_code_sessions_total{")
		if done || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
	}
	for _, ex := range examples[:2] {
		checkLabels(t, sink, ex.file, ex.branch, ex.where)
	}
	checkScrapeLabels(t, page)
}

var seriesRE = regexp.MustCompile(`^(anthropic_[a-z_]+)\{([^}]*)\}`)

// checkScrapeLabels: every usage and cost series of a Prometheus exposition
// page carries the workspace (and the token series the model) as labels,
// and no series carries a Claude Code actor.
func checkScrapeLabels(t *testing.T, page string) {
	t.Helper()
	n := map[string]int{}
	for _, line := range strings.Split(page, "\n") {
		m := seriesRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, labels := m[1], m[2]
		n[name]++
		if strings.Contains(labels, "anthropic_claude_code_actor=") {
			t.Errorf("prometheus-scrape.yaml exposes a Claude Code actor: %s", line)
		}
		if name != "anthropic_usage_tokens_total" && name != "anthropic_cost_total" {
			continue
		}
		if !strings.Contains(labels, "anthropic_workspace_id=") || (name == "anthropic_usage_tokens_total" && !strings.Contains(labels, "gen_ai_request_model=")) {
			t.Errorf("prometheus-scrape.yaml: series without workspace or model label: %s", line)
		}
	}
	for _, name := range []string{"anthropic_usage_tokens_total", "anthropic_cost_total", "anthropic_claude_code_sessions_total"} {
		if n[name] == 0 {
			t.Errorf("prometheus-scrape.yaml: no %s series scraped", name)
		}
	}
}

// TestRemoteWriteExampleShape: the prometheus_remote_write exporter of
// TestEndToEnd's collector (whose labels the test checks in a real
// Prometheus) is the example's, but for its endpoint and comments.
func TestRemoteWriteExampleShape(t *testing.T) {
	root := repoRoot(t)
	block := func(file string) string {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		in := false
		for _, line := range strings.Split(string(b), "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case line == "  prometheus_remote_write:":
				in = true
			case in && line != "" && !strings.HasPrefix(line, "    "):
				in = false
			case in && trimmed != "" && !strings.HasPrefix(trimmed, "#") && !strings.HasPrefix(trimmed, "endpoint:"):
				out = append(out, line)
			}
		}
		return strings.Join(out, "\n")
	}
	example, e2e := block("examples/prometheus-remote-write.yaml"), block("e2e/testdata/otelcol-e2e.yaml")
	if !strings.Contains(example, "resource_constant_labels") {
		t.Errorf("examples/prometheus-remote-write.yaml does not turn resource attributes into labels:\n%s", example)
	}
	if example != e2e {
		t.Errorf("the e2e collector's remote-write exporter differs from the example's:\nexample:\n%s\ne2e:\n%s", example, e2e)
	}
}

// getText returns a page's body; an error for a status other than 200.
func getText(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return string(b), err
}
