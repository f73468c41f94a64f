// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// dummyEnv stands in for the secrets and addresses the configurations read
// from the environment. Keep it in step with scripts/validate-configs.sh.
var dummyEnv = []string{
	"ANTHROPIC_ADMIN_API_KEY=sk-ant-admin01-dummy-for-validation",
	"DD_API_KEY=dummy", "DD_SITE=datadoghq.com", "DD_AGENT_OTLP_ENDPOINT=127.0.0.1:4317",
	"HONEYCOMB_API_KEY=dummy", "HONEYCOMB_DATASET=anthropic-usage",
	"GRAFANA_CLOUD_OTLP_ENDPOINT=https://otlp-gateway-prod-eu-west-2.grafana.net/otlp",
	"GRAFANA_CLOUD_BASIC_AUTH=MTIzNDU2OmR1bW15",
	"PROMETHEUS_REMOTE_WRITE_URL=http://127.0.0.1:9090/api/v1/write",
	"OTLP_ENDPOINT=127.0.0.1:4317",
	// testdata/otelcol-e2e.yaml
	"E2E_SIM_ENDPOINT=http://127.0.0.1:8089", "E2E_SIM_ANALYTICS_ENDPOINT=http://127.0.0.1:8090", "E2E_SIM_KEY=sk-ant-admin01-dummy",
	"E2E_REMOTE_WRITE_URL=http://127.0.0.1:9090/api/v1/write",
	"E2E_HEALTH_ENDPOINT=127.0.0.1:13133", "E2E_TELEMETRY_PORT=8888", "E2E_STORAGE_DIR=/tmp", "E2E_ANALYTICS_STORAGE_DIR=/tmp",
}

// TestConfigsValidate: every collector configuration the project ships
// (examples/, config/, and the e2e test's own) passes `otelcol-anthropic
// validate`.
func TestConfigsValidate(t *testing.T) {
	bin := otelcolBin(t)
	root := repoRoot(t)
	var files []string
	for _, pattern := range []string{"examples/*.yaml", "config/*.yaml", "e2e/testdata/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 8 {
		t.Fatalf("only %d configurations found: %v", len(files), files)
	}
	// validate does check: without the admin key a configuration fails.
	cmd := exec.Command(bin, "validate", "--config", filepath.Join(root, "examples", "otlp.yaml"))
	cmd.Env = append(cmd.Environ(), append(dummyEnv, "ANTHROPIC_ADMIN_API_KEY=")...)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("validate accepted a configuration without an admin key:\n%s", out)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "validate", "--config", f)
			cmd.Dir = root
			cmd.Env = append(cmd.Environ(), dummyEnv...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s validate --config %s: %v\n%s", filepath.Base(bin), rel, err, out)
			}
		})
	}
}
